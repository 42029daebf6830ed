// The tool-call strip of a row (the row of a function_call or an mcp_approval_request): the
// call's state in words, a spinner and the elapsed time while it runs (ticked here, from the
// kernel's `started_at`: the kernel sends nothing while a tool runs), the error or reason, and
// Approve / Deny (with an optional reason) while it waits for a person. PROTOCOL.md "Tool calls".
//
// One element per call, kept across row renders (the reason typed so far and the focus survive
// a repaint); the view mounts it in the row (row.ts `RowState.tool`). The buttons send
// `approve` / `deny`; the strip changes only when the kernel's `tool` message says the call's
// state changed, never on a guess. Every string from the kernel is set as text.

import { button, h, setAttr } from "../dom";
import type { FrontMsg, ResultMsg, SnapshotMsg, ToolMsg, ToolView } from "../types";
import { ToolBoard, browserNow, describeCall, elapsedOf, formatElapsed } from "./model";

export interface ToolHost {
  send(msg: FrontMsg): void;
  /** The strip of this item's row changed shape: render the row again. */
  changed(itemId: string): void;
  newId(): string;
  /** Seconds an action waits for the kernel's answer. */
  timeout(): number;
  /** The kernel is running a cell (it answers browser messages only when idle). */
  busy(): boolean;
}

export interface ToolClock {
  /** Unix seconds. */
  now(): number;
  every(ms: number, fn: () => void): () => void;
  after(ms: number, fn: () => void): () => void;
}

export const browserClock: ToolClock = {
  now: browserNow,
  every: (ms, fn) => {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
  after: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** How often a running call's elapsed time is redrawn (only its text changes). */
export const TICK_MS = 200;
const REASON_MAX = 500;

interface Pending {
  requestId: string;
  /** The kernel accepted it: wait for the call's new state. */
  accepted: boolean;
  cancel: () => void;
}

interface Strip {
  root: HTMLElement;
  spinner: HTMLElement;
  status: HTMLElement;
  elapsed: HTMLElement;
  detail: HTMLElement;
  decide: HTMLElement;
  reason: HTMLInputElement;
  approve: HTMLButtonElement;
  deny: HTMLButtonElement;
  error: HTMLElement;
}

export class ToolPanel {
  readonly board = new ToolBoard();
  private readonly strips = new Map<string, Strip>();
  private readonly pending = new Map<string, Pending>(); // by call id
  private readonly errors = new Map<string, string>(); // by call id
  private stopTicking: (() => void) | null = null;

  constructor(
    private readonly host: ToolHost,
    private readonly clock: ToolClock = browserClock,
  ) {}

  /** A snapshot: every call. */
  reset(snap: SnapshotMsg): void {
    const clock = snap.request_id != null && snap.received !== undefined ? { now: snap.now ?? null, received: snap.received } : null;
    for (const id of this.board.reset(snap.tools ?? [], clock)) this.host.changed(id);
    for (const callId of [...this.pending.keys()]) if (this.board.get(callId)?.status !== "waiting") this.settle(callId);
    this.tick();
  }

  /** One call's new state. */
  apply(msg: ToolMsg): void {
    for (const id of this.board.apply(msg)) this.host.changed(id);
    if (msg.call.status !== "waiting") this.settle(msg.call.id);
    this.tick();
  }

  /** The kernel's answer to an action; false when it is not one of ours. */
  handleResult(m: ResultMsg): boolean {
    for (const [callId, p] of this.pending) {
      if (p.requestId !== m.request_id) continue;
      const call = this.board.get(callId);
      if (m.ok) {
        p.cancel();
        p.accepted = true;
      } else {
        this.settle(callId);
        // refused because it was answered meanwhile: its new state says enough
        if (call?.status === "waiting") this.errors.set(callId, m.error ?? "refused");
      }
      if (call) this.host.changed(call.item_id);
      return true;
    }
    return false;
  }

  /** The strip for this item's row, or null when no call is shown there. */
  elementFor(itemId: string, live: boolean): HTMLElement | null {
    const call = this.board.forItem(itemId);
    if (!call) return null;
    let strip = this.strips.get(call.id);
    if (!strip) {
      strip = this.build(call.id);
      this.strips.set(call.id, strip);
    }
    this.paint(strip, call, live);
    return strip.root;
  }

  destroy(): void {
    this.stopTicking?.();
    this.stopTicking = null;
    for (const p of this.pending.values()) p.cancel();
    this.pending.clear();
  }

  // -- actions -----------------------------------------------------------------------------

  private decide(callId: string, approved: boolean): void {
    const call = this.board.get(callId);
    const strip = this.strips.get(callId);
    if (!call || !strip || call.status !== "waiting" || this.pending.has(callId)) return;
    const requestId = this.host.newId();
    const reason = strip.reason.value.trim();
    const msg: Extract<FrontMsg, { call_id: string }> = { kind: approved ? "approve" : "deny", request_id: requestId, call_id: callId };
    if (reason) msg.reason = reason;
    this.errors.delete(callId);
    const p: Pending = { requestId, accepted: false, cancel: () => {} };
    this.pending.set(callId, p);
    this.wait(callId, p);
    this.host.send(msg);
    this.host.changed(call.item_id);
  }

  /** No answer in `timeout()` seconds (while the kernel is not busy): say so, offer again. */
  private wait(callId: string, p: Pending): void {
    p.cancel = this.clock.after(this.host.timeout() * 1000, () => {
      if (this.pending.get(callId) !== p) return;
      if (this.host.busy()) {
        this.wait(callId, p);
        return;
      }
      this.pending.delete(callId);
      this.errors.set(callId, "no answer from the kernel");
      const call = this.board.get(callId);
      if (call) this.host.changed(call.item_id);
    });
  }

  private settle(callId: string): void {
    this.pending.get(callId)?.cancel();
    this.pending.delete(callId);
    this.errors.delete(callId);
  }

  // -- the elapsed time ----------------------------------------------------------------------

  /** Tick while a call runs; stop when none does. */
  private tick(): void {
    const running = this.board.anyRunning();
    if (running && !this.stopTicking) {
      this.stopTicking = this.clock.every(TICK_MS, () => this.redrawElapsed());
    } else if (!running && this.stopTicking) {
      this.stopTicking();
      this.stopTicking = null;
    }
  }

  private redrawElapsed(): void {
    for (const [callId, strip] of this.strips) {
      const call = this.board.get(callId);
      if (call?.status === "running") setText(strip.elapsed, this.elapsedText(call));
    }
  }

  private elapsedText(call: ToolView): string {
    const s = elapsedOf(call, this.clock.now(), this.board.skew);
    return s === null ? "" : formatElapsed(s);
  }

  // -- DOM -----------------------------------------------------------------------------------

  private build(callId: string): Strip {
    const reason = h("input", {
      className: "rnb-tool-reason",
      attrs: { type: "text", "aria-label": "Reason (optional)", placeholder: "Reason (optional)", maxlength: REASON_MAX, autocomplete: "off" },
    });
    const approve = button("Approve", "Approve", "rnb-btn rnb-btn-small rnb-btn-primary rnb-tool-approve");
    const deny = button("Deny", "Deny", "rnb-btn rnb-btn-small rnb-tool-deny");
    approve.addEventListener("click", () => this.decide(callId, true));
    deny.addEventListener("click", () => this.decide(callId, false));
    const strip: Strip = {
      root: h("div", { className: "rnb-tool", attrs: { role: "group", "data-call-id": callId } }),
      spinner: h("span", { className: "rnb-spinner", attrs: { "aria-hidden": "true" } }),
      status: h("span", { className: "rnb-chip rnb-tool-status" }),
      elapsed: h("span", { className: "rnb-tool-elapsed" }),
      detail: h("div", { className: "rnb-tool-detail", attrs: { dir: "auto" } }),
      decide: h("div", { className: "rnb-tool-decide" }, [reason, approve, deny]),
      reason,
      approve,
      deny,
      error: h("div", { className: "rnb-error rnb-tool-error", attrs: { role: "alert" } }),
    };
    const said = h("span", { className: "rnb-tool-said", attrs: { "aria-live": "polite" } }, [strip.status]);
    strip.root.append(
      h("div", { className: "rnb-tool-line" }, [strip.spinner, said, strip.elapsed]),
      strip.detail,
      strip.decide,
      strip.error,
    );
    return strip;
  }

  private paint(strip: Strip, call: ToolView, live: boolean): void {
    const state = describeCall(call);
    const pending = this.pending.get(call.id);
    const root = strip.root;
    setAttr(root, "data-tool-status", call.status);
    setAttr(root, "data-kind", call.kind);
    setAttr(root, "aria-label", `${call.kind === "mcp" ? "MCP tool" : "Tool"} ${call.name || "call"}: ${state.label}`);
    setAttr(root, "aria-busy", pending ? "true" : null);
    strip.spinner.hidden = !state.running;
    setText(strip.status, state.label);
    setAttr(strip.status, "data-tone", state.tone);
    const elapsed = this.elapsedText(call);
    setText(strip.elapsed, elapsed);
    strip.elapsed.hidden = elapsed === "";
    setText(strip.detail, state.detail);
    strip.detail.hidden = state.detail === "";
    strip.decide.hidden = !state.waiting;
    const off = !live || pending !== undefined;
    strip.approve.disabled = off;
    strip.deny.disabled = off;
    strip.reason.disabled = !live;
    const error = state.waiting ? (this.errors.get(call.id) ?? "") : "";
    setText(strip.error, error);
    strip.error.hidden = error === "";
  }
}

function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}
