// Lenient parsing of kernel messages into the typed shapes of types.ts.
// A message that does not fit is dropped (parseKernelMsg returns null), never half-applied.

import { browserNow, numOrNull, parseToolList, parseToolMsg } from "./tools/model";
import type {
  ContentPart,
  DeltaField,
  ErrorView,
  ItemView,
  KernelMsg,
  LogDirection,
  LogEntry,
} from "./types";

type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function strOrNull(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return null;
}

function intOrNull(v: unknown): number | null {
  return typeof v === "number" && Number.isInteger(v) ? v : null;
}

function numOr(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}

/** Coerce an object into an ItemView; null when it has no usable id. */
export function parseItem(v: unknown): ItemView | null {
  if (!isObj(v)) return null;
  const id = strOrNull(v.id);
  if (!id) return null;
  const content: ContentPart[] = [];
  if (Array.isArray(v.content)) {
    for (const p of v.content) {
      if (isObj(p)) content.push({ ...p, type: strOrNull(p.type) ?? "unknown" });
    }
  }
  const prev = v.previous_item_id;
  return {
    ...v,
    id,
    type: strOrNull(v.type) ?? "unknown",
    role: strOrNull(v.role),
    status: strOrNull(v.status),
    content,
    previous_item_id: typeof prev === "string" ? prev : null,
    text: typeof v.text === "string" ? v.text : itemText(v, content),
    flagged: v.flagged === true,
    done: v.done === true,
  };
}

/** What a person reads of an item, joined (the kernel's `item_text`): part texts or
 * transcripts, mcp tool names, arguments, output, reason. The kernel does not send it. */
export function itemText(v: Obj, content: readonly ContentPart[]): string {
  const pieces: string[] = [];
  for (const p of content) {
    const t = typeof p.text === "string" && p.text ? p.text : p.transcript;
    if (typeof t === "string" && t) pieces.push(t);
  }
  if (v.type === "mcp_list_tools" && Array.isArray(v.tools)) {
    pieces.push(v.tools.filter(isObj).map((t) => String(t.name)).join(", "));
  }
  for (const key of ["arguments", "output", "reason"] as const) {
    const x = v[key];
    if (typeof x === "string" && x) pieces.push(x);
  }
  return pieces.join("\n");
}

export function parseError(v: unknown): ErrorView | null {
  if (!isObj(v)) return null;
  return {
    message: strOrNull(v.message) ?? "error",
    code: strOrNull(v.code),
    type: strOrNull(v.type),
    param: strOrNull(v.param),
    event_id: strOrNull(v.event_id),
    item_id: strOrNull(v.item_id),
    request_id: strOrNull(v.request_id),
    ts: numOr(v.ts, Date.now() / 1000),
  };
}

const DIRECTIONS: readonly LogDirection[] = ["in", "out", "local"];

export function parseLogEntry(v: unknown): LogEntry | null {
  if (!isObj(v)) return null;
  const direction = DIRECTIONS.find((d) => d === v.direction);
  if (direction === undefined) return null;
  return {
    seq: numOr(v.seq, -1),
    ts: numOr(v.ts, Date.now() / 1000),
    direction,
    type: strOrNull(v.type) ?? "unknown",
    payload: v.payload,
    item_id: strOrNull(v.item_id),
    count: Math.max(1, Math.floor(numOr(v.count, 1))),
    first_ts: numOr(v.first_ts, numOr(v.ts, Date.now() / 1000)),
    first_seq: intOrNull(v.first_seq),
  };
}

function list<T>(v: unknown, parse: (x: unknown) => T | null): T[] {
  if (!Array.isArray(v)) return [];
  const out: T[] = [];
  for (const x of v) {
    const p = parse(x);
    if (p !== null) out.push(p);
  }
  return out;
}

const DELTA_FIELDS: readonly DeltaField[] = ["text", "transcript", "arguments"];

/**
 * Parse one `msg:custom` payload into the messages it carries, in order: a `batch`
 * (`{"kind": "batch", "events": int, "messages": [...]}`) gives its messages then a `counts`;
 * any other message gives itself (and a `counts` when it carries `events`: the kernel sends a
 * batch of one as the message itself). Unknown kinds and malformed messages are left out.
 */
export function parseKernelMsgs(raw: unknown): KernelMsg[] {
  if (!isObj(raw)) return [];
  let out: KernelMsg[];
  if (raw.kind === "batch") {
    out = list(raw.messages, (m) => (isObj(m) && m.kind === "batch" ? null : parseKernelMsg(m)));
  } else {
    const one = parseKernelMsg(raw);
    if (!one) return [];
    out = [one];
    if (one.kind === "snapshot") return out;
  }
  const events = intOrNull(raw.events);
  if (events !== null) out.push({ kind: "counts", events });
  return out;
}

/** Parse one `msg:custom` payload. Unknown kinds and malformed messages give null. */
export function parseKernelMsg(raw: unknown): KernelMsg | null {
  if (!isObj(raw)) return null;
  const seq = intOrNull(raw.seq);
  switch (raw.kind) {
    case "snapshot":
      return {
        kind: "snapshot",
        items: list(raw.items, parseItem),
        errors: list(raw.errors, parseError),
        log: list(raw.log, parseLogEntry),
        request_id: strOrNull(raw.request_id),
        seq,
        events: intOrNull(raw.events),
        tools: parseToolList(raw.tools),
        now: numOrNull(raw.now),
        received: browserNow(),
      };
    case "tool":
      return parseToolMsg(raw, seq);
    case "inserted":
    case "updated": {
      const item = parseItem(raw.item);
      return item ? { kind: raw.kind, item, seq } : null;
    }
    case "delta": {
      const item_id = strOrNull(raw.item_id);
      const field = DELTA_FIELDS.find((f) => f === raw.field);
      if (!item_id || !field || typeof raw.text !== "string") return null;
      const ci = intOrNull(raw.content_index);
      return {
        kind: "delta",
        item_id,
        field,
        content_index: ci !== null && ci >= 0 ? ci : null,
        text: raw.text,
        seq,
      };
    }
    case "removed": {
      const item_id = strOrNull(raw.item_id);
      return item_id ? { kind: "removed", item_id, seq } : null;
    }
    case "error": {
      const error = parseError(raw.error);
      return error ? { kind: "error", error } : null;
    }
    case "log":
      return {
        kind: "log",
        entries: list(raw.entries, parseLogEntry),
        reset: raw.reset === true,
        request_id: strOrNull(raw.request_id),
      };
    case "result": {
      const request_id = strOrNull(raw.request_id);
      if (!request_id) return null;
      return {
        kind: "result",
        request_id,
        ok: raw.ok === true,
        error: strOrNull(raw.error),
        field: strOrNull(raw.field),
        item_id: strOrNull(raw.item_id),
      };
    }
    default:
      return null;
  }
}

let counter = 0;
/** A fresh request id, unique per page (random prefix + counter). */
export function newRequestId(prefix = "rnb"): string {
  counter += 1;
  const c = globalThis.crypto as Crypto | undefined;
  const rand =
    c && typeof c.randomUUID === "function"
      ? c.randomUUID().slice(0, 8)
      : Math.random().toString(36).slice(2, 10);
  return `${prefix}-${rand}-${counter}`;
}
