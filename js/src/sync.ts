// Per-view ordering of kernel messages around the snapshot (pure, no DOM).
//
// A view asks for its own snapshot. Until one arrives, change / error / log messages are
// buffered; when it arrives, the snapshot is applied first and then the buffered messages that
// it does not already reflect:
//  - change messages carrying `seq` (PROTOCOL.md) are dropped when seq <= snapshot.seq;
//    without seq, inserted/updated/removed are applied anyway (they are idempotent), and deltas
//    are applied unless the snapshot already contains them (see alreadyReflected);
//  - log entries whose seq is <= the newest seq in the snapshot's log are dropped;
//  - errors equal to one in the snapshot (same ts and message) are dropped.
// After the snapshot, change messages with seq <= the last applied seq are dropped (a change
// the kernel sent late but that was already reflected in the snapshot).
// The snapshot reply to another view's request (request_id set and not ours) is ignored once
// this view has a snapshot: it only restates what this view already has.

import { JOURNAL_REQUEST_ID } from "./constants";
import { isFinal } from "./store";
import type { DeltaField, ErrorView, ItemView, KernelMsg, LogEntry, SnapshotMsg } from "./types";

type Buffered = Exclude<KernelMsg, SnapshotMsg | { kind: "result" } | { kind: "counts" }>;

export class SnapshotGate {
  private ready = false;
  private buffer: Buffered[] = [];
  private lastSeq: number | null = null;
  /** request_id of this view's snapshot_request. */
  requestId: string | null = null;

  get hasSnapshot(): boolean {
    return this.ready;
  }

  /** Number of messages waiting for the snapshot. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Feed one message; returns the messages to apply now, in order. */
  receive(msg: KernelMsg): KernelMsg[] {
    switch (msg.kind) {
      case "result":
      case "counts":
        return [msg];
      case "snapshot":
        return this.onSnapshot(msg);
      case "inserted":
      case "updated":
      case "delta":
      case "removed":
      case "tool":
        if (!this.ready) {
          this.buffer.push(msg);
          return [];
        }
        if (msg.seq != null) {
          if (this.lastSeq !== null && msg.seq <= this.lastSeq) return [];
          this.lastSeq = msg.seq;
        }
        return [msg];
      case "error":
      case "log":
        if (!this.ready) {
          this.buffer.push(msg);
          return [];
        }
        return [msg];
    }
  }

  private onSnapshot(snap: SnapshotMsg): KernelMsg[] {
    // the journal's snapshot (request_id "journal") is for every view: it repairs a gap
    const foreign = snap.request_id != null && snap.request_id !== this.requestId &&
      snap.request_id !== JOURNAL_REQUEST_ID;
    if (this.ready && foreign) return [];
    this.ready = true;
    this.lastSeq = snap.seq ?? null;
    const buffered = this.buffer;
    this.buffer = [];
    const out: KernelMsg[] = [snap];
    if (buffered.length === 0) return out;

    const snapSeq = snap.seq ?? null;
    let items: Map<string, ItemView> | null = null;
    const itemsById = (): Map<string, ItemView> =>
      (items ??= new Map(snap.items.map((it) => [it.id, it])));
    const logSeq = maxSeq(snap.log);
    const errorKeys = new Set(snap.errors.map(errorKey));

    const skip = alreadyReflected(buffered, itemsById, snapSeq !== null);
    buffered.forEach((msg, i) => {
      switch (msg.kind) {
        case "log": {
          const entries = logSeq === null ? msg.entries : msg.entries.filter((e) => e.seq > logSeq);
          if (entries.length) out.push({ kind: "log", entries });
          break;
        }
        case "error":
          if (!errorKeys.has(errorKey(msg.error))) out.push(msg);
          break;
        default: {
          if (msg.seq != null && snapSeq !== null) {
            if (msg.seq <= snapSeq) break;
            if (this.lastSeq === null || msg.seq > this.lastSeq) this.lastSeq = msg.seq;
            out.push(msg);
            break;
          }
          if (!skip.has(i)) out.push(msg);
        }
      }
    });
    return out;
  }
}

/**
 * Without seq: which buffered deltas (by index) the snapshot already contains.
 * For each (item, field, content_index), the leading run of buffered deltas (before any other
 * buffered change of that item) is matched against the end of the snapshot's field: the longest
 * prefix of the run whose joined text the field ends with is taken as already applied. A
 * delta for an item that is final in the snapshot is always dropped. Any mistake here is
 * transient: the item's final `updated` replaces its whole text.
 */
function alreadyReflected(
  buffered: readonly Buffered[],
  itemsById: () => Map<string, ItemView>,
  haveSeq: boolean,
): Set<number> {
  const skip = new Set<number>();
  const runs = new Map<string, { idx: number[]; texts: string[]; itemId: string; field: DeltaField; ci: number | null }>();
  const touched = new Set<string>(); // items with a non-delta change seen in the buffer
  buffered.forEach((msg, i) => {
    if (msg.kind === "log" || msg.kind === "error" || msg.kind === "tool") return;
    if (msg.seq != null && haveSeq) return;
    if (msg.kind !== "delta") {
      touched.add(msg.kind === "removed" ? msg.item_id : msg.item.id);
      return;
    }
    const item = itemsById().get(msg.item_id);
    if (item && isFinal(item)) {
      skip.add(i);
      return;
    }
    if (touched.has(msg.item_id)) return;
    const key = `${msg.item_id}\u0000${msg.field}\u0000${msg.content_index ?? 0}`;
    let run = runs.get(key);
    if (!run) {
      run = { idx: [], texts: [], itemId: msg.item_id, field: msg.field, ci: msg.content_index };
      runs.set(key, run);
    }
    run.idx.push(i);
    run.texts.push(msg.text);
  });
  for (const run of runs.values()) {
    const item = itemsById().get(run.itemId);
    if (!item) continue;
    const value = fieldValue(item, run.field, run.ci);
    let joined = run.texts.join("");
    for (let j = run.texts.length; j > 0; j--) {
      if (joined && value.endsWith(joined)) {
        for (const i of run.idx.slice(0, j)) skip.add(i);
        break;
      }
      joined = joined.slice(0, joined.length - run.texts[j - 1]!.length);
    }
  }
  return skip;
}

function fieldValue(item: ItemView, field: DeltaField, ci: number | null): string {
  if (field === "arguments") return typeof item.arguments === "string" ? item.arguments : "";
  const part = item.content?.[ci ?? 0];
  const v = part?.[field];
  return typeof v === "string" ? v : "";
}

function maxSeq(log: readonly LogEntry[]): number | null {
  let m: number | null = null;
  for (const e of log) if (e.seq >= 0 && (m === null || e.seq > m)) m = e.seq;
  return m;
}

function errorKey(e: ErrorView): string {
  return `${e.ts}\u0000${e.message}\u0000${e.item_id ?? ""}`;
}
