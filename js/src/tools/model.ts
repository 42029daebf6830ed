// Tool calls, pure (no DOM): lenient parsing of the kernel's `tool` messages and the snapshot's
// `tools`, the state of each call (ToolBoard), what a row says about it (describeCall) and the
// elapsed time of a running call, ticked in the browser from the kernel's `started_at`.
// PROTOCOL.md "Tool calls". Imports nothing of ours but types, so protocol.ts can use it.

import type { ToolMsg, ToolView } from "../types";

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function strOr(v: unknown, fallback: string): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : fallback;
}

function strOrNull(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

export function numOrNull(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** The browser's clock in unix seconds. */
export function browserNow(): number {
  return Date.now() / 1000;
}

/** Coerce one call; null when it names no call or no item to show it on. */
export function parseToolView(v: unknown): ToolView | null {
  if (!isObj(v)) return null;
  const id = strOrNull(v.id);
  const item_id = strOrNull(v.item_id);
  if (id === null || item_id === null) return null;
  return {
    id,
    kind: strOr(v.kind, "function"),
    name: strOr(v.name, ""),
    item_id,
    status: strOr(v.status, "unknown"),
    response_id: strOrNull(v.response_id),
    server_label: strOrNull(v.server_label),
    started_at: numOrNull(v.started_at),
    finished_at: numOrNull(v.finished_at),
    elapsed_s: numOrNull(v.elapsed_s),
    error: strOrNull(v.error),
    reason: strOrNull(v.reason),
  };
}

export function parseToolList(v: unknown): ToolView[] {
  if (!Array.isArray(v)) return [];
  const out: ToolView[] = [];
  for (const x of v) {
    const call = parseToolView(x);
    if (call) out.push(call);
  }
  return out;
}

/** Parse a `tool` message; `received` is the browser's clock when it arrived. */
export function parseToolMsg(raw: Obj, seq: number | null, received = browserNow()): ToolMsg | null {
  const call = parseToolView(raw.call);
  return call ? { kind: "tool", call, now: numOrNull(raw.now), received, seq } : null;
}

// -- what a row says ----------------------------------------------------------------------

export type Tone = "wait" | "busy" | "ok" | "bad" | "muted";

export interface CallState {
  /** The status in words ("waiting for approval", "running", "timed out"...). */
  label: string;
  tone: Tone;
  /** Approve / Deny are offered. */
  waiting: boolean;
  /** The call runs: spinner on, elapsed time ticking. */
  running: boolean;
  /** What else to say: the error, the reason, why it was dropped ("" when nothing). */
  detail: string;
}

const STATES: Record<string, Omit<CallState, "detail">> = {
  waiting: { label: "waiting for approval", tone: "wait", waiting: true, running: false },
  approved: { label: "approved", tone: "ok", waiting: false, running: false },
  running: { label: "running", tone: "busy", waiting: false, running: true },
  completed: { label: "completed", tone: "ok", waiting: false, running: false },
  failed: { label: "failed", tone: "bad", waiting: false, running: false },
  timeout: { label: "timed out", tone: "bad", waiting: false, running: false },
  denied: { label: "denied", tone: "bad", waiting: false, running: false },
  dropped: { label: "dropped", tone: "muted", waiting: false, running: false },
};

/** What a row shows about a call in its status. An unknown status is shown as it is. */
export function describeCall(call: ToolView): CallState {
  const known = STATES[call.status];
  const base = known ?? { label: call.status.replace(/_/g, " "), tone: "muted" as const, waiting: false, running: false };
  let detail = "";
  if (call.status === "dropped") detail = "its response was lost with the connection and asked for again";
  else if (call.kind === "mcp") detail = call.reason ?? "";
  else if (call.status !== "completed") detail = call.error ?? "";
  return { ...base, detail };
}

/** A duration in words: "0.4 s", "9.9 s", "12 s", "2 min 05 s", "1 h 02 min". */
export function formatElapsed(seconds: number): string {
  const s = Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
  // cut, never rounded up past what ran (with room for float error: 1.5 may be 1.4999999)
  if (s < 10) return `${(Math.floor(s * 10 + 1e-6) / 10).toFixed(1)} s`;
  const whole = Math.floor(s + 1e-6);
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
  return `${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, "0")} min`;
}

/**
 * Seconds a call ran: while running, from its `started_at` to now on the kernel's clock
 * (`now` = the browser's clock, `skew` = how far the browser's clock is ahead of the
 * kernel's); once finished, what the kernel measured. Null before it started.
 */
export function elapsedOf(call: ToolView, now: number, skew: number): number | null {
  if (call.elapsed_s !== null) return call.elapsed_s;
  if (call.started_at === null) return null;
  const end = call.finished_at ?? now - skew;
  return Math.max(0, end - call.started_at);
}

// -- the calls ------------------------------------------------------------------------------

/**
 * Every call one view knows, by id and by the item that shows it, with the browser's estimate
 * of the clock skew. Messages reach it in `seq` order (sync.ts drops the ones a snapshot
 * already holds), so the newest state simply replaces the one before.
 */
export class ToolBoard {
  private calls = new Map<string, ToolView>();
  private byItem = new Map<string, string>();
  /** Browser clock minus kernel clock, as small as any message showed it (transit only
   * adds); 0 until a message says otherwise. */
  private skewMin: number | null = null;

  get skew(): number {
    return this.skewMin ?? 0;
  }

  get size(): number {
    return this.calls.size;
  }

  /** Replace every call with a snapshot's; returns the item ids whose rows change. The
   * snapshot the widget was created with (no `request_id`) may be long stale: its clock is not
   * a sample of the skew. */
  reset(calls: readonly ToolView[], clock: { now: number | null; received: number } | null): string[] {
    const touched = new Set(this.byItem.keys());
    this.calls.clear();
    this.byItem.clear();
    for (const c of calls) {
      this.put(c);
      touched.add(c.item_id);
    }
    if (clock) this.sample(clock.now, clock.received);
    return [...touched];
  }

  /** One call's new state; returns the item ids whose rows change. */
  apply(msg: ToolMsg): string[] {
    this.sample(msg.now, msg.received);
    const before = this.calls.get(msg.call.id);
    this.put(msg.call);
    return before && before.item_id !== msg.call.item_id ? [before.item_id, msg.call.item_id] : [msg.call.item_id];
  }

  get(id: string): ToolView | undefined {
    return this.calls.get(id);
  }

  /** The call shown on this item's row, if any. */
  forItem(itemId: string): ToolView | undefined {
    const id = this.byItem.get(itemId);
    return id === undefined ? undefined : this.calls.get(id);
  }

  /** Whether some call is running (its elapsed time ticks). */
  anyRunning(): boolean {
    for (const c of this.calls.values()) if (c.status === "running") return true;
    return false;
  }

  all(): ToolView[] {
    return [...this.calls.values()];
  }

  private put(call: ToolView): void {
    const before = this.calls.get(call.id);
    if (before && before.item_id !== call.item_id && this.byItem.get(before.item_id) === call.id) {
      this.byItem.delete(before.item_id);
    }
    this.calls.set(call.id, call);
    this.byItem.set(call.item_id, call.id);
  }

  private sample(now: number | null, received: number): void {
    if (now === null || !Number.isFinite(received)) return;
    const s = received - now;
    if (this.skewMin === null || s < this.skewMin) this.skewMin = s;
  }
}
