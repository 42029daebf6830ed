// The composer at the bottom of the list: send a user message, ask for or stop a response.

import { insertNewline, SUPPRESS } from "./editor";
import { button, h } from "./dom";
import type { ControlState } from "./types";

/** The composer at the bottom: send a user message, ask for / stop a response. Its buttons
 * follow the state: send needs text, respond is off while a response runs, stop is on only
 * then, and everything is off when the session or the kernel is gone. */
export class Composer {
  readonly el: HTMLElement;
  readonly textarea: HTMLTextAreaElement;
  readonly sendBtn: HTMLButtonElement;
  readonly respondBtn: HTMLButtonElement;
  readonly stopBtn: HTMLButtonElement;
  private readonly errorBox: HTMLElement;
  private readonly pendingEl: HTMLElement;
  pendingSend: string | null = null;
  private state: ControlState = { live: true, reason: "", responding: false };

  constructor(actions: { send(text: string, respond: boolean): void; respond(): void; cancel(): void }) {
    this.textarea = h("textarea", {
      className: "rnb-composer-text",
      attrs: {
        "aria-label": "Message",
        rows: 2,
        dir: "auto",
        placeholder: "Message \u2014 Enter to send, Shift+Enter for a new line, Ctrl+Enter to send and get an answer",
        [SUPPRESS]: "true",
      },
    });
    this.sendBtn = button("Send message", "Send", "rnb-btn rnb-btn-primary");
    this.respondBtn = button("Ask for a response", "Respond", "rnb-btn");
    this.stopBtn = button("Stop response", "Stop", "rnb-btn rnb-btn-stop");
    this.errorBox = h("div", { className: "rnb-composer-errors", attrs: { "aria-live": "polite" } });
    this.pendingEl = h("span", { className: "rnb-pending", text: "sending\u2026" });
    this.el = h("div", { className: "rnb-composer" }, [
      this.textarea,
      h("div", { className: "rnb-composer-actions" }, [this.sendBtn, this.respondBtn, this.stopBtn, this.pendingEl]),
      this.errorBox,
    ]);
    const doSend = (respond: boolean): void => {
      if (this.pendingSend !== null || !this.state.live) return;
      const text = this.textarea.value;
      if (!text.trim()) {
        if (respond && !this.state.responding) actions.respond();
        return;
      }
      if (respond && this.state.responding) return;
      actions.send(text, respond);
    };
    this.sendBtn.addEventListener("click", () => doSend(false));
    this.respondBtn.addEventListener("click", () => {
      if (this.state.live && !this.state.responding) actions.respond();
    });
    this.stopBtn.addEventListener("click", () => {
      if (this.state.live && this.state.responding) actions.cancel();
    });
    this.textarea.addEventListener("input", () => this.sync());
    this.textarea.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || e.isComposing) return;
      e.stopPropagation();
      e.preventDefault();
      if (e.ctrlKey || e.metaKey) doSend(true);
      else if (e.shiftKey) insertNewline(this.textarea);
      else doSend(false);
    });
    this.sync();
  }

  setPending(requestId: string | null): void {
    this.pendingSend = requestId;
    this.sync();
  }

  setControls(state: ControlState): void {
    this.state = state;
    this.sync();
  }

  clear(): void {
    this.textarea.value = "";
    this.sync();
  }

  setError(message: string | null): void {
    this.errorBox.replaceChildren(
      ...(message ? [h("div", { className: "rnb-error", text: message, attrs: { role: "alert" } })] : []),
    );
  }

  private sync(): void {
    const pending = this.pendingSend !== null;
    const { live, responding } = this.state;
    this.el.toggleAttribute("data-pending", pending);
    this.el.toggleAttribute("data-responding", responding);
    this.textarea.readOnly = pending;
    this.textarea.disabled = !live;
    this.sendBtn.disabled = !live || pending;
    this.respondBtn.disabled = !live || responding;
    this.stopBtn.disabled = !live || !responding;
    this.pendingEl.hidden = !pending;
  }
}

