// The header: connection state in words (and "responding" while a response runs), provider
// and model (the endpoint in a tooltip), counts in words, and the panel toggles. Below it, one
// notice says why the controls are off (a closed session, a kernel that went away), once.

import { button, h, setAttr } from "./dom";
import { plural } from "./format";

const STATUSES = new Set(["connecting", "open", "reconnecting", "closed", "error"]);
const STATUS_TEXT: Record<string, string> = {
  connecting: "connecting\u2026",
  open: "connected",
  reconnecting: "reconnecting\u2026",
  closed: "closed",
  error: "error",
  disconnected: "disconnected",
};
const PROVIDERS: Record<string, string> = {
  embedded: "Embedded server",
  openai: "OpenAI",
  yandex: "Yandex AI Studio",
  offline: "Saved session",
};

export interface HeaderState {
  status: string;
  reason: string;
  /** The kernel went away (restart, shutdown): why, in words; empty while it is there. */
  kernelGone: string;
  responding: boolean;
  provider: string;
  model: string;
  endpoint: string;
  dialect: string;
  items: number;
  events: number;
}

export class Header {
  readonly el: HTMLElement;
  readonly notice: HTMLElement;
  readonly logToggle: HTMLButtonElement;
  readonly sessionToggle: HTMLButtonElement;
  private readonly statusEl: HTMLElement;
  private readonly respondingEl: HTMLElement;
  private readonly endpointEl: HTMLElement;
  private readonly itemCount: HTMLElement;
  private readonly itemWord: HTMLElement;
  private readonly eventCount: HTMLElement;
  private readonly eventWord: HTMLElement;
  private last = "";

  constructor() {
    this.statusEl = h("span", { className: "rnb-status", attrs: { role: "status" } });
    this.respondingEl = h("span", { className: "rnb-responding", text: "responding\u2026" });
    this.respondingEl.hidden = true;
    this.endpointEl = h("span", { className: "rnb-endpoint" });
    this.itemCount = h("span", { className: "rnb-count-items", text: "0" });
    this.itemWord = h("span", { text: " items" });
    this.eventCount = h("span", { className: "rnb-count-events", text: "0" });
    this.eventWord = h("span", { text: " events" });
    this.sessionToggle = button("Toggle session panel", "Session", "rnb-btn rnb-btn-small rnb-toggle");
    this.logToggle = button("Toggle event log", "Event log", "rnb-btn rnb-btn-small rnb-toggle");
    for (const b of [this.sessionToggle, this.logToggle]) setAttr(b, "aria-pressed", "false");
    this.el = h("div", { className: "rnb-header" }, [
      h("span", { className: "rnb-state" }, [this.statusEl, this.respondingEl]),
      h("span", { className: "rnb-endpoint-wrap" }, [this.endpointEl]),
      h("span", { className: "rnb-counts" }, [
        this.itemCount,
        this.itemWord,
        h("span", { className: "rnb-sep", text: " \u00b7 ", attrs: { "aria-hidden": "true" } }),
        this.eventCount,
        this.eventWord,
      ]),
      h("span", { className: "rnb-toggles" }, [this.sessionToggle, this.logToggle]),
    ]);
    this.notice = h("div", { className: "rnb-notice", attrs: { role: "status" } });
    this.notice.hidden = true;
  }

  update(s: HeaderState): void {
    const key = JSON.stringify(s);
    if (key === this.last) return;
    this.last = key;
    const status = s.kernelGone ? "disconnected" : STATUSES.has(s.status) ? s.status : "unknown";
    this.statusEl.textContent = STATUS_TEXT[status] ?? s.status;
    setAttr(this.statusEl, "data-status", status);
    setAttr(this.statusEl, "aria-label", `connection: ${this.statusEl.textContent}`);
    this.respondingEl.hidden = !s.responding || status !== "open";

    const provider = PROVIDERS[s.provider] ?? hostOf(s.endpoint);
    const model = s.model && s.model !== s.provider ? s.model : ""; // "embedded" says nothing new
    this.endpointEl.textContent = [provider, model].filter(Boolean).join(" \u00b7 ");
    this.endpointEl.title = `${s.endpoint}${s.dialect ? ` (${s.dialect} protocol)` : ""}`;

    this.itemCount.textContent = String(s.items);
    this.itemWord.textContent = ` ${plural(s.items, "item").split(" ")[1]}`;
    this.eventCount.textContent = String(s.events);
    this.eventWord.textContent = ` ${plural(s.events, "event").split(" ")[1]}`;

    const notice = s.kernelGone
      ? `Disconnected: ${s.kernelGone}. Run the cell again to get a live widget.`
      : status === "closed" || status === "error"
        ? `The session is ${status === "closed" ? "closed" : "in error"}${s.reason ? `: ${s.reason}` : ""}. ` +
          "The list stays readable; connect again for a new conversation."
        : "";
    this.notice.textContent = notice;
    this.notice.hidden = !notice;
  }
}

function hostOf(endpoint: string): string {
  const m = /^[a-z]+:\/\/([^/?#]+)/i.exec(endpoint.replace(/^\S+\s+/, ""));
  return m?.[1] ?? endpoint;
}
