// The event-log panel: events in both directions, with type, time and a collapsible JSON
// payload. Consecutive `*.delta` events of the same direction, type and item collapse into one
// row with a count, so a streamed answer is one line, not hundreds.
//
// LogModel is pure (no DOM). LogPanel renders it only while the panel is open.

import { h, setAttr } from "./dom";
import { formatTime, jsonDump, plural } from "./format";
import type { LogDirection, LogEntry } from "./types";

export interface LogRow {
  key: number;
  direction: LogDirection;
  type: string;
  itemId: string | null;
  count: number;
  firstTs: number;
  lastTs: number;
  /** Payload of the newest event in the row. */
  payload: unknown;
}

const DIRECTION_TEXT: Record<LogDirection, string> = { in: "\u2193 in", out: "\u2191 out", local: "\u2022 local" };
const DIRECTION_TITLE: Record<LogDirection, string> = {
  in: "server -> client",
  out: "client -> server",
  local: "this client's own note",
};

export function isDeltaType(type: string): boolean {
  return type.endsWith(".delta");
}

/** The item an entry concerns: its item_id, else the payload's. */
export function entryItemId(e: LogEntry): string | null {
  return e.item_id ?? payloadItemId(e.payload);
}

export function payloadItemId(payload: unknown): string | null {
  if (payload && typeof payload === "object" && !Array.isArray(payload)) {
    const v = (payload as Record<string, unknown>).item_id;
    if (typeof v === "string") return v;
  }
  return null;
}

/** Whether entry `e` folds into row `last`. */
export function collapses(last: LogRow | undefined, e: LogEntry): boolean {
  return (
    last !== undefined &&
    isDeltaType(e.type) &&
    last.type === e.type &&
    last.direction === e.direction &&
    last.itemId === entryItemId(e)
  );
}

export interface LogChanges {
  appended: LogRow[];
  updated: LogRow[];
}

export class LogModel {
  rows: LogRow[] = [];
  /** Events seen (sum of counts, including dropped rows). */
  events = 0;
  /** The kernel's own event count, when it sent one (entries stream only while a panel is
   * open, so `events` alone can fall behind). */
  total: number | null = null;
  /** The newest entry's seq: entries at or below it are already here. */
  lastSeq = -1;
  private nextKey = 0;

  constructor(readonly maxRows = 5000) {}

  /** Events to show in counts: the kernel's figure when known. */
  get count(): number {
    return this.total ?? this.events;
  }

  reset(entries: readonly LogEntry[]): void {
    this.rows = [];
    this.events = 0;
    this.lastSeq = -1;
    this.add(entries);
  }

  add(entries: readonly LogEntry[]): LogChanges {
    const appended: LogRow[] = [];
    const fresh = new Set<number>();
    const updated = new Set<LogRow>();
    for (const e of entries) {
      let n = e.count ?? 1;
      if (e.seq >= 0) {
        if (e.seq <= this.lastSeq) continue; // a repeat (a tail sent again on a panel opening)
        // a collapsed run that began at or before what we have: count only the new part
        if (e.first_seq != null && e.first_seq <= this.lastSeq) n = e.seq - this.lastSeq;
        this.lastSeq = e.seq;
      }
      this.events += n;
      const last = this.rows[this.rows.length - 1];
      if (last && collapses(last, e)) {
        last.count += n;
        last.lastTs = e.ts;
        last.payload = e.payload;
        if (!fresh.has(last.key)) updated.add(last);
      } else {
        const row: LogRow = {
          key: this.nextKey++,
          direction: e.direction,
          type: e.type,
          itemId: entryItemId(e),
          count: n,
          firstTs: e.first_ts ?? e.ts,
          lastTs: e.ts,
          payload: e.payload,
        };
        this.rows.push(row);
        appended.push(row);
        fresh.add(row.key);
      }
    }
    if (this.rows.length > this.maxRows) {
      this.rows.splice(0, this.rows.length - this.maxRows);
    }
    return { appended, updated: [...updated] };
  }
}

/** The panel. Hidden by default; toggle() shows it. */
export class LogPanel {
  readonly el: HTMLElement;
  readonly model: LogModel;
  private readonly list: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly dom = new Map<number, HTMLElement>();
  private pending: LogChanges = { appended: [], updated: [] };
  private full = true;
  open = false;

  constructor(
    readonly maxDomRows = 1000,
    model?: LogModel,
  ) {
    this.model = model ?? new LogModel();
    this.summary = h("span", { className: "rnb-log-summary" });
    this.list = h("div", { className: "rnb-log-list", attrs: { role: "log", "aria-live": "off" } });
    this.el = h("section", { className: "rnb-log", attrs: { "aria-label": "Event log" } }, [
      h("div", { className: "rnb-log-head" }, [h("span", { className: "rnb-log-title", text: "Event log" }), this.summary]),
      this.list,
    ]);
    this.el.hidden = true;
  }

  reset(entries: readonly LogEntry[]): void {
    this.model.reset(entries);
    this.full = true;
    this.pending = { appended: [], updated: [] };
  }

  /** Replace the rows with `entries` (the kernel's tail when this panel opened), keeping the
   * kernel's event count. */
  replace(entries: readonly LogEntry[]): void {
    const total = this.model.total;
    this.reset(entries);
    this.model.total = total;
    this.paint();
  }

  add(entries: readonly LogEntry[]): void {
    if (!entries.length) return;
    const c = this.model.add(entries);
    if (this.full) return;
    this.pending.appended.push(...c.appended);
    for (const r of c.updated) if (!this.pending.updated.includes(r)) this.pending.updated.push(r);
  }

  setOpen(open: boolean): void {
    if (open === this.open) return;
    this.open = open;
    this.el.hidden = !open;
    if (open) this.full = true;
    this.paint();
  }

  toggle(): boolean {
    this.setOpen(!this.open);
    return this.open;
  }

  /** Bring the DOM up to date (cheap when closed). */
  paint(): void {
    this.summary.textContent = plural(this.model.count, "event");
    if (!this.open) {
      this.full = true; // rebuild on open
      this.pending = { appended: [], updated: [] };
      return;
    }
    const stick = this.atBottom();
    if (this.full) {
      this.full = false;
      this.pending = { appended: [], updated: [] };
      this.dom.clear();
      const rows = this.model.rows.slice(-this.maxDomRows);
      this.list.replaceChildren(...rows.map((r) => this.rowEl(r)));
    } else {
      const { appended, updated } = this.pending;
      this.pending = { appended: [], updated: [] };
      for (const r of updated) {
        const el = this.dom.get(r.key);
        if (el) this.fillRow(el, r);
      }
      for (const r of appended) this.list.append(this.rowEl(r));
      while (this.list.childElementCount > this.maxDomRows) {
        const first = this.list.firstElementChild as HTMLElement;
        this.dom.delete(Number(first.dataset.key));
        first.remove();
      }
    }
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }

  private atBottom(): boolean {
    const l = this.list;
    return l.scrollHeight - l.clientHeight - l.scrollTop <= 8;
  }

  private rowEl(r: LogRow): HTMLElement {
    // The row is a <details>: its summary is the line, the JSON payload is built on opening.
    const pre = h("pre", { className: "rnb-log-json" });
    const el = h("details", { className: "rnb-log-row" }, [
      h("summary", { className: "rnb-log-line" }, [
        h("span", { className: "rnb-log-dir" }),
        h("span", { className: "rnb-log-time" }),
        h("span", { className: "rnb-log-type" }),
        h("span", { className: "rnb-log-count" }),
      ]),
      pre,
    ]);
    el.addEventListener("toggle", () => {
      if (el.open) pre.textContent = jsonDump(this.rowByKey(Number(el.dataset.key))?.payload);
    });
    this.fillRow(el, r);
    this.dom.set(r.key, el);
    return el;
  }

  private rowByKey(key: number): LogRow | undefined {
    // Rows are appended in key order: binary search.
    const rows = this.model.rows;
    let lo = 0;
    let hi = rows.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const k = rows[mid]!.key;
      if (k === key) return rows[mid];
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  private fillRow(el: HTMLElement, r: LogRow): void {
    el.dataset.key = String(r.key);
    setAttr(el, "data-direction", r.direction);
    setAttr(el, "data-type", r.type);
    setAttr(el, "data-item-id", r.itemId);
    const [dir, time, type, count] = Array.from(el.firstElementChild!.children) as HTMLElement[];
    dir!.textContent = DIRECTION_TEXT[r.direction];
    dir!.title = DIRECTION_TITLE[r.direction];
    time!.textContent = formatTime(r.lastTs);
    if (type!.dataset.type !== r.type) {
      type!.dataset.type = r.type;
      type!.replaceChildren(...breakable(r.type));
    }
    count!.textContent = r.count > 1 ? String(r.count) : "";
    count!.hidden = r.count <= 1;
    setAttr(count!, "aria-label", r.count > 1 ? plural(r.count, "event") : null);
    const d = el as HTMLDetailsElement;
    if (d.open) d.querySelector("pre")!.textContent = jsonDump(r.payload);
  }
}

/** An event type with a line-break opportunity after each dot (never inside a word). */
function breakable(type: string): Node[] {
  const out: Node[] = [];
  type.split(".").forEach((part, i, all) => {
    out.push(document.createTextNode(i < all.length - 1 ? `${part}.` : part));
    if (i < all.length - 1) out.push(document.createElement("wbr"));
  });
  return out;
}
