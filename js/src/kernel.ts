// Is the kernel still there? A widget whose kernel restarted or stopped keeps its page: without
// this it would show a green "connected", accept text, and wait forever for answers.
//
// Two signals, both optional (the view works without either):
// - the model's `comm_live_update` event: ipywidgets' widget manager sets `comm_live = false`
//   on every model when the kernel restarts (it is set true only while the model is created),
//   and anywidget passes model events through;
// - the widget manager's kernel (JupyterLab and Notebook 7 expose it on `widget_manager`):
//   its status tells "dead" / "restarting" and "busy" (a busy kernel answers the browser only
//   when the running cell ends).

import type { ModelLike } from "./types";

export interface KernelWatch {
  /** Why the kernel is gone, or "" while it is there. */
  gone: string;
  /** The kernel is running a cell (browser actions wait until it ends). */
  busy: boolean;
  dispose(): void;
}

interface SignalLike {
  connect(fn: (sender: unknown, value: unknown) => void): unknown;
  disconnect(fn: (sender: unknown, value: unknown) => void): unknown;
}

interface KernelLike {
  status?: unknown;
  statusChanged?: SignalLike;
}

// "starting" too: a kernel restarted through the server's REST API goes straight to it (the
// page never sees "restarting"), and a widget exists only once its kernel ran a cell
const GONE: Record<string, string> = {
  dead: "the kernel stopped",
  restarting: "the kernel restarted",
  autorestarting: "the kernel restarted",
  starting: "the kernel restarted",
  terminating: "the kernel stopped",
};

function kernelOf(model: ModelLike): KernelLike | null {
  try {
    const k = (model.widget_manager as { kernel?: unknown } | undefined)?.kernel;
    return k && typeof k === "object" ? (k as KernelLike) : null;
  } catch {
    return null;
  }
}

/** Watch the kernel of `model`; `changed` runs whenever `gone` or `busy` changes. */
export function watchKernel(model: ModelLike, changed: () => void): KernelWatch {
  const kernel = kernelOf(model);
  const watch: KernelWatch = {
    gone: "",
    busy: false,
    dispose: () => {
      model.off("comm_live_update", onComm);
      signal?.disconnect(onStatus);
    },
  };
  const set = (gone: string, busy: boolean): void => {
    if (watch.gone && !gone) return; // a widget whose kernel went away never comes back
    if (gone === watch.gone && busy === watch.busy) return;
    watch.gone = gone;
    watch.busy = busy;
    changed();
  };
  const onComm = (): void => set("the kernel restarted or stopped", false);
  const onStatus = (_: unknown, status: unknown): void => {
    const s = String(status);
    set(GONE[s] ?? "", s === "busy");
  };
  model.on("comm_live_update", onComm);
  const signal = kernel?.statusChanged && typeof kernel.statusChanged.connect === "function"
    ? kernel.statusChanged
    : null;
  signal?.connect(onStatus);
  if (kernel && typeof kernel.status === "string" && kernel.status !== "starting") {
    watch.gone = GONE[kernel.status] ?? "";
    watch.busy = kernel.status === "busy";
  }
  return watch;
}
