// One view's voice controls (the engine itself is per model, engine.ts): push-to-talk (hold
// the button, or hold T while the widget has focus), hands-free (server VAD), a level meter,
// "Stop audio", "Enable sound" when the browser holds audio back, and a status line that says
// why the microphone cannot be used. It mirrors the engine's state onto the widget root as
// data attributes (for tests): data-played-samples, data-audio-state, data-mic-state,
// data-mic-level, data-mic-sent-samples, data-voice-mode, data-talking, data-replaying,
// data-audio-item, data-first-sample. Plays an item when its row's play button is clicked.

import "./audio.css";
import { button, h, setAttr } from "../dom";
import type { ModelLike } from "../types";
import { type AudioEngine, audioOf } from "./engine";

const PTT_KEY = "t";

function editable(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  if (!el || typeof el.closest !== "function") return false;
  return !!el.closest("textarea, input, select, [contenteditable=''], [contenteditable='true']");
}

export class VoiceBar {
  readonly el: HTMLElement;
  private readonly talk: HTMLButtonElement;
  private readonly handsFree: HTMLButtonElement;
  private readonly stopBtn: HTMLButtonElement;
  private readonly soundBtn: HTMLButtonElement;
  private readonly meter: HTMLElement;
  private readonly status: HTMLElement;
  private readonly engine: AudioEngine | undefined;
  private readonly unsubscribe: () => void;
  private live = true;
  private keyHeld = false;
  private last = "";
  private readonly attrs = new Map<string, string | number | boolean | null>();

  constructor(
    model: ModelLike,
    private readonly root: HTMLElement,
  ) {
    this.engine = audioOf(model);
    this.talk = button("Hold to talk", "Hold to talk", "rnb-btn rnb-talk");
    this.talk.title = "Hold to talk (or hold T while the widget has focus); release to send";
    this.handsFree = button("Hands-free", "Hands-free", "rnb-btn rnb-handsfree");
    this.handsFree.title = "Hands-free: the microphone stays on and the server detects your turns (server VAD)";
    setAttr(this.handsFree, "aria-pressed", "false");
    this.stopBtn = button("Stop audio", "Stop audio", "rnb-btn rnb-btn-small rnb-stop-audio");
    this.soundBtn = button("Enable sound", "Enable sound", "rnb-btn rnb-btn-small rnb-enable-sound");
    this.soundBtn.title = "The browser holds the sound back until you click in the page";
    const fill = h("span", { className: "rnb-meter-fill" });
    this.meter = h("span", {
      className: "rnb-meter",
      attrs: { role: "meter", "aria-label": "Microphone level", "aria-valuemin": -60, "aria-valuemax": 0, "aria-valuenow": -60 },
    }, [fill]);
    this.status = h("span", { className: "rnb-voice-status", attrs: { role: "status", "aria-live": "polite" } });
    this.el = h("div", { className: "rnb-voice", attrs: { "data-lm-suppress-shortcuts": "true" } }, [
      this.talk, this.handsFree, this.meter, this.stopBtn, this.soundBtn, this.status,
    ]);

    const e = this.engine;
    if (!e) {
      for (const b of [this.talk, this.handsFree]) b.disabled = true;
      this.stopBtn.hidden = this.soundBtn.hidden = true;
      this.status.textContent = "Audio is not available in this view.";
      this.unsubscribe = () => undefined;
      return;
    }
    this.talk.addEventListener("pointerdown", this.onTalkDown);
    for (const ev of ["pointerup", "pointercancel", "lostpointercapture"]) this.talk.addEventListener(ev, this.onTalkUp);
    this.talk.addEventListener("keydown", this.onTalkKey);
    this.talk.addEventListener("keyup", this.onTalkKey);
    this.handsFree.addEventListener("click", () => void e.setHandsFree(!e.state.handsFree));
    this.stopBtn.addEventListener("click", () => {
      void e.bargeIn("stop");
    });
    this.soundBtn.addEventListener("click", () => e.unlock());
    root.addEventListener("pointerdown", this.onGesture, true);
    root.addEventListener("keydown", this.onKey);
    root.addEventListener("keyup", this.onKey);
    root.addEventListener("click", this.onClick);
    window.addEventListener("blur", this.onBlur);
    this.unsubscribe = e.subscribe(() => this.paint());
    this.paint();
  }

  /** The kernel is there and the session open (else no talking). */
  setLive(live: boolean): void {
    if (this.live === live) return;
    this.live = live;
    if (!live && this.engine?.state.talking) void this.engine.talkUp();
    this.last = "";
    this.paint();
  }

  destroy(): void {
    this.unsubscribe();
    this.root.removeEventListener("pointerdown", this.onGesture, true);
    this.root.removeEventListener("keydown", this.onKey);
    this.root.removeEventListener("keyup", this.onKey);
    this.root.removeEventListener("click", this.onClick);
    window.removeEventListener("blur", this.onBlur);
    if (this.engine?.state.talking) void this.engine.talkUp();
    this.el.remove();
  }

  // -- events -------------------------------------------------------------------------------

  private onTalkDown = (ev: PointerEvent): void => {
    if (ev.button !== 0 || !this.engine || !this.live) return;
    ev.preventDefault();
    try {
      this.talk.setPointerCapture(ev.pointerId);
    } catch {
      // synthetic events have no active pointer
    }
    void this.engine.talkDown();
  };

  private onTalkUp = (): void => {
    if (this.engine?.state.talking && !this.keyHeld) void this.engine.talkUp();
  };

  /** Space or Enter held on the talk button. */
  private onTalkKey = (ev: KeyboardEvent): void => {
    if (ev.key !== " " && ev.key !== "Enter") return;
    ev.preventDefault();
    ev.stopPropagation();
    this.key(ev.type === "keydown", ev.repeat);
  };

  /** T held anywhere in the widget but a text field. JupyterLab's shortcuts never see it. */
  private onKey = (ev: KeyboardEvent): void => {
    if (ev.key.toLowerCase() !== PTT_KEY || ev.ctrlKey || ev.metaKey || ev.altKey || editable(ev.target)) return;
    ev.preventDefault();
    ev.stopPropagation();
    this.key(ev.type === "keydown", ev.repeat);
  };

  private key(down: boolean, repeat: boolean): void {
    const e = this.engine;
    if (!e || repeat) return;
    if (down && this.live && !this.keyHeld) {
      this.keyHeld = true;
      void e.talkDown();
    } else if (!down && this.keyHeld) {
      this.keyHeld = false;
      void e.talkUp();
    }
  }

  private onBlur = (): void => {
    this.keyHeld = false;
    if (this.engine?.state.talking) void this.engine.talkUp();
  };

  private onGesture = (): void => {
    this.engine?.unlock();
  };

  private onClick = (ev: MouseEvent): void => {
    const btn = (ev.target as Element | null)?.closest<HTMLElement>('[data-action="play-audio"]');
    if (!btn || !this.root.contains(btn) || !this.engine) return;
    const id = btn.closest<HTMLElement>(".rnb-item")?.dataset.itemId;
    if (!id) return;
    const ms = btn.dataset.audioMs;
    this.engine.play(id, ms === undefined ? null : Number(ms));
  };

  // -- painting -----------------------------------------------------------------------------

  private paint(): void {
    const e = this.engine;
    if (!e) return;
    const s = e.state;
    const root = this.root;
    const first = s.firstSample;
    this.attr(root, "data-played-samples", s.played);
    this.attr(root, "data-audio-state", s.audio);
    this.attr(root, "data-mic-state", s.mic);
    this.attr(root, "data-mic-level", Math.round(s.level));
    this.attr(root, "data-mic-sent-samples", s.sent);
    this.attr(root, "data-voice-mode", s.handsFree ? "vad" : s.mode);
    this.attr(root, "data-talking", s.talking);
    this.attr(root, "data-replaying", s.replaying);
    this.attr(root, "data-audio-item", s.playing);
    this.attr(root, "data-first-sample", first ? `${first.item} ${first.wall.toFixed(1)} ${first.arrived.toFixed(1)} ${first.reported.toFixed(1)}` : null);
    const level = Math.round(Math.max(-60, s.level));
    if (this.attrs.get("level") !== level) {
      this.attrs.set("level", level);
      this.meter.style.setProperty("--rnb-level", ((level + 60) / 60).toFixed(3));
      setAttr(this.meter, "aria-valuenow", level);
    }
    this.meter.hidden = s.mic !== "on";

    const key = [s.audio, s.mic, s.micError?.code, s.talking, s.mode, s.handsFree, s.replaying, s.playing, s.notice, this.live].join("|");
    if (key !== this.last) {
      this.last = key;
      const vad = s.mode === "vad" || s.handsFree;
      this.talk.hidden = vad;
      this.talk.disabled = !this.live;
      setAttr(this.talk, "aria-pressed", s.talking ? "true" : "false");
      this.talk.textContent = s.talking ? "Talking\u2026 release to send" : "Hold to talk";
      this.handsFree.disabled = !this.live && !s.handsFree;
      setAttr(this.handsFree, "aria-pressed", s.handsFree ? "true" : "false");
      this.stopBtn.hidden = s.playing === null && s.replaying === null;
      this.soundBtn.hidden = s.audio !== "suspended";
      this.status.textContent = this.statusText();
      setAttr(this.status, "data-error", s.mic === "error" || s.audio === "unsupported" ? "true" : null);
      for (const b of root.querySelectorAll<HTMLElement>(".rnb-play")) {
        const id = b.closest<HTMLElement>(".rnb-item")?.dataset.itemId;
        setAttr(b, "aria-pressed", id !== undefined && id === s.replaying ? "true" : "false");
      }
    }
  }

  /** Set an attribute of the root only when it changes (this runs ~40 times a second). */
  private attr(el: HTMLElement, name: string, value: string | number | boolean | null): void {
    if (this.attrs.get(name) === value) return;
    this.attrs.set(name, value);
    setAttr(el, name, value);
  }

  private statusText(): string {
    const s = this.engine!.state;
    if (s.mic === "error" && s.micError) return s.micError.message;
    if (s.audio === "unsupported") return s.notice || "This page cannot play audio.";
    if (s.notice) return s.notice;
    if (s.audio === "suspended") return "Sound is held back by the browser: click Enable sound.";
    if (s.mic === "starting") return "Opening the microphone\u2026";
    if (s.talking) return "Listening\u2026";
    if (s.handsFree && s.mic === "on") return "Hands-free: listening (the server detects your turns)";
    if (s.mode === "vad" && !s.handsFree) return "Turn detection is on: press Hands-free to speak";
    if (s.playing !== null) return "Speaking\u2026";
    if (s.replaying !== null) return "Playing\u2026";
    return "";
  }
}
