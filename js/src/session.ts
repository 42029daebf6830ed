// The session panel: instructions, voice, output modalities, tools (JSON) and turn detection
// (threshold and silence sliders), edited here and sent as one `session` action (the kernel
// turns it into `session.update` in the server's dialect). The fields show what the server
// reported last (`session.created` / `session.updated`, the `session` trait); a rejected change
// shows the server's error beside the field its `param` names.

import { button, h, setAttr } from "./dom";
import { formatTime } from "./format";
import type { ErrorView, SessionFields } from "./types";

export const VOICES = ["alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"];
type Field = "instructions" | "voice" | "modalities" | "tools" | "turn_detection";
const FIELDS: readonly Field[] = ["instructions", "voice", "modalities", "tools", "turn_detection"];

type Obj = Record<string, unknown>;
function obj(v: unknown): Obj {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {};
}

/** The panel's flat view of a session object (GA nests voice and turn detection in `audio`). */
export function readSession(cfg: Obj): SessionFields {
  const audio = obj(cfg.audio);
  const voice = cfg.voice ?? obj(audio.output).voice;
  const td = "turn_detection" in cfg ? cfg.turn_detection : obj(audio.input).turn_detection;
  const mods = cfg.output_modalities ?? cfg.modalities;
  const tdObj = td && typeof td === "object" ? (td as Obj) : null;
  return {
    instructions: typeof cfg.instructions === "string" ? cfg.instructions : "",
    voice: typeof voice === "string" ? voice : typeof obj(voice).id === "string" ? String(obj(voice).id) : "",
    modalities: Array.isArray(mods) ? mods.map(String) : ["text"],
    tools: Array.isArray(cfg.tools) ? cfg.tools : [],
    turn_detection: tdObj
      ? {
          type: String(tdObj.type ?? "server_vad"),
          threshold: typeof tdObj.threshold === "number" ? tdObj.threshold : 0.5,
          silence_duration_ms: typeof tdObj.silence_duration_ms === "number" ? tdObj.silence_duration_ms : 500,
        }
      : null,
  };
}

/** Which panel field a server error's `param` is about (null: the panel as a whole). */
export function fieldOfParam(param: string | null): Field | null {
  if (!param) return null;
  for (const f of ["turn_detection", "voice", "tools", "instructions"] as const) if (param.includes(f)) return f;
  return param.includes("modalities") ? "modalities" : null;
}

export class SessionPanel {
  readonly el: HTMLElement;
  open = false;
  pending: string | null = null;
  private server: SessionFields = readSession({});
  private updatedAt: number | null = null;
  private dirty = false;
  private readonly instructions: HTMLTextAreaElement;
  private readonly voice: HTMLSelectElement;
  private readonly modality: HTMLSelectElement;
  private readonly tools: HTMLTextAreaElement;
  private readonly vad: HTMLInputElement;
  private readonly threshold: HTMLInputElement;
  private readonly silence: HTMLInputElement;
  private readonly thresholdOut: HTMLOutputElement;
  private readonly silenceOut: HTMLOutputElement;
  private readonly applyBtn: HTMLButtonElement;
  private readonly statusEl: HTMLElement;
  private readonly errors = new Map<Field | "panel", HTMLElement>();
  private live = true;

  constructor(private readonly apply: (fields: SessionFields) => void) {
    const id = `rnb-s-${Math.random().toString(36).slice(2, 8)}`;
    const errBox = (f: Field | "panel"): HTMLElement => {
      const e = h("div", { className: "rnb-field-error", attrs: { role: "alert", id: `${id}-${f}-err` } });
      e.hidden = true;
      this.errors.set(f, e);
      return e;
    };
    const label = (f: string, text: string): HTMLElement => h("label", { className: "rnb-label", text, attrs: { for: `${id}-${f}` } });
    this.instructions = h("textarea", { className: "rnb-session-instructions", attrs: { id: `${id}-instructions`, rows: 3, "data-lm-suppress-shortcuts": "true" } });
    this.voice = h("select", { attrs: { id: `${id}-voice` } });
    for (const v of VOICES) this.voice.append(h("option", { text: v, attrs: { value: v } }));
    this.modality = h("select", { attrs: { id: `${id}-modalities` } });
    this.modality.append(h("option", { text: "text", attrs: { value: "text" } }), h("option", { text: "audio (with transcript)", attrs: { value: "audio" } }));
    this.tools = h("textarea", { className: "rnb-mono", attrs: { id: `${id}-tools`, rows: 4, spellcheck: "false", "data-lm-suppress-shortcuts": "true" } });
    this.vad = h("input", { attrs: { type: "checkbox", id: `${id}-vad` } });
    this.threshold = h("input", { attrs: { type: "range", min: 0, max: 1, step: 0.05, id: `${id}-threshold` } });
    this.silence = h("input", { attrs: { type: "range", min: 100, max: 2000, step: 50, id: `${id}-silence` } });
    this.thresholdOut = h("output", { attrs: { for: `${id}-threshold` } });
    this.silenceOut = h("output", { attrs: { for: `${id}-silence` } });
    this.applyBtn = button("Apply session settings", "Apply", "rnb-btn rnb-btn-primary");
    const reset = button("Reset session settings", "Reset", "rnb-btn");
    this.statusEl = h("span", { className: "rnb-session-status rnb-muted", attrs: { "aria-live": "polite" } });

    const row = (f: Field, ...children: HTMLElement[]): HTMLElement =>
      h("div", { className: "rnb-session-field", attrs: { "data-field": f } }, [...children, errBox(f)]);
    this.el = h("section", { className: "rnb-session", attrs: { "aria-label": "Session settings" } }, [
      h("div", { className: "rnb-panel-head" }, [h("span", { className: "rnb-panel-title", text: "Session" }), this.statusEl]),
      row("instructions", label("instructions", "Instructions"), this.instructions),
      h("div", { className: "rnb-session-row" }, [
        row("voice", label("voice", "Voice"), this.voice),
        row("modalities", label("modalities", "Output"), this.modality),
      ]),
      row("tools", label("tools", "Tools (JSON array)"), this.tools),
      row(
        "turn_detection",
        h("div", { className: "rnb-check" }, [this.vad, label("vad", "Turn detection (server VAD)")]),
        h("div", { className: "rnb-sliders" }, [
          h("div", {}, [label("threshold", "Threshold"), this.threshold, this.thresholdOut]),
          h("div", {}, [label("silence", "Silence (ms)"), this.silence, this.silenceOut]),
        ]),
      ),
      errBox("panel"),
      h("div", { className: "rnb-editor-actions" }, [this.applyBtn, reset]),
    ]);
    this.el.hidden = true;
    const touched = (): void => {
      this.dirty = true;
      this.sync();
    };
    for (const el of [this.instructions, this.tools, this.voice, this.modality, this.vad, this.threshold, this.silence]) {
      el.addEventListener("input", touched);
      el.addEventListener("change", touched);
    }
    this.applyBtn.addEventListener("click", () => this.submit());
    reset.addEventListener("click", () => {
      this.dirty = false;
      this.clearErrors();
      this.fill(this.server);
    });
    this.fill(this.server);
  }

  toggle(): boolean {
    this.open = !this.open;
    this.el.hidden = !this.open;
    return this.open;
  }

  /** The server's session changed (`session` trait). */
  setServer(cfg: Obj): void {
    this.server = readSession(cfg);
    if (Object.keys(cfg).length) this.updatedAt = Date.now() / 1000;
    if (this.pending !== null) {
      this.pending = null;
      this.dirty = false;
    }
    if (!this.dirty) this.fill(this.server);
    this.sync();
  }

  setLive(live: boolean): void {
    this.live = live;
    this.sync();
  }

  /** The kernel answered the `session` action (ok: sent; the server answers next). */
  result(ok: boolean, error: string | null, field: string | null): void {
    if (ok) return;
    this.pending = null;
    this.showError(fieldOfParam(field) ?? "panel", error ?? "rejected");
    this.sync();
  }

  /** A server error for this panel's request. */
  serverError(e: ErrorView): void {
    this.pending = null;
    this.showError(fieldOfParam(e.param) ?? "panel", e.message);
    this.sync();
  }

  /** The panel's values that differ from the server's, or an error text. */
  changes(): SessionFields | string {
    const out: SessionFields = {};
    const now = this.values();
    if (typeof now === "string") return now;
    for (const f of FIELDS) {
      if (JSON.stringify(now[f]) !== JSON.stringify(this.server[f])) (out as Record<string, unknown>)[f] = now[f];
    }
    return out;
  }

  private values(): SessionFields | string {
    let tools: unknown;
    try {
      tools = JSON.parse(this.tools.value.trim() || "[]");
    } catch (e) {
      return `tools: not valid JSON (${(e as Error).message})`;
    }
    if (!Array.isArray(tools)) return "tools: must be a JSON array";
    return {
      instructions: this.instructions.value,
      voice: this.voice.value,
      modalities: [this.modality.value],
      tools,
      turn_detection: this.vad.checked
        ? { type: this.server.turn_detection?.type ?? "server_vad", threshold: Number(this.threshold.value), silence_duration_ms: Number(this.silence.value) }
        : null,
    };
  }

  private submit(): void {
    this.clearErrors();
    const ch = this.changes();
    if (typeof ch === "string") {
      this.showError(ch.startsWith("tools") ? "tools" : "panel", ch);
      return;
    }
    if (!Object.keys(ch).length) {
      this.dirty = false;
      this.sync();
      return;
    }
    this.apply(ch);
  }

  private fill(s: SessionFields): void {
    this.instructions.value = s.instructions ?? "";
    if (s.voice && !Array.from(this.voice.options).some((o) => o.value === s.voice)) {
      this.voice.append(h("option", { text: s.voice, attrs: { value: s.voice } }));
    }
    this.voice.value = s.voice || "alloy";
    this.modality.value = s.modalities?.includes("audio") ? "audio" : "text";
    this.tools.value = JSON.stringify(s.tools ?? [], null, 2);
    const td = s.turn_detection;
    this.vad.checked = !!td;
    this.threshold.value = String(td?.threshold ?? 0.5);
    this.silence.value = String(td?.silence_duration_ms ?? 500);
    this.sync();
  }

  private showError(f: Field | "panel", message: string): void {
    const box = this.errors.get(f)!;
    box.textContent = message;
    box.hidden = false;
  }

  private clearErrors(): void {
    for (const e of this.errors.values()) {
      e.textContent = "";
      e.hidden = true;
    }
  }

  private sync(): void {
    const vad = this.vad.checked;
    this.threshold.disabled = !vad || !this.live;
    this.silence.disabled = !vad || !this.live;
    this.thresholdOut.textContent = Number(this.threshold.value).toFixed(2);
    this.silenceOut.textContent = `${this.silence.value} ms`;
    setAttr(this.threshold, "aria-valuetext", this.thresholdOut.textContent);
    setAttr(this.silence, "aria-valuetext", this.silenceOut.textContent);
    for (const el of [this.instructions, this.tools, this.voice, this.modality, this.vad]) el.disabled = !this.live;
    this.applyBtn.disabled = !this.live || this.pending !== null;
    this.el.toggleAttribute("data-pending", this.pending !== null);
    this.statusEl.textContent = this.pending !== null
      ? "sending\u2026"
      : this.dirty
        ? "changed, not applied"
        : this.updatedAt !== null
          ? `as the server reported at ${formatTime(this.updatedAt).slice(0, 8)}`
          : "";
  }
}
