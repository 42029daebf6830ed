// The model-level journal: every kernel message since the last full snapshot, kept once per
// widget model (not per view), so that a view can start from it without a round trip to the
// kernel. That round trip cannot be relied on: browser-to-kernel messages are handled only when
// the kernel is idle, and a view may open while a cell is busy.
//
// The kernel seeds it with the `snapshot` trait (the state when the widget was created) and
// then every change message carries `seq` (+1 each). The journal notices a gap (a message lost
// while the front end was still loading, or a `change_seq` trait ahead of what it has seen) and
// asks the kernel for a fresh snapshot; the reply (request_id "journal") resets the journal and
// every view applies it.

import { JOURNAL_REQUEST_ID } from "./constants";
import { parseKernelMsg, parseKernelMsgs } from "./protocol";
import type { KernelMsg, ModelLike, SnapshotMsg } from "./types";

/** Past this many messages the journal asks for a fresh snapshot to stay small. */
export const COMPACT_AFTER = 20_000;

export class Journal {
  snapshot: SnapshotMsg | null = null;
  messages: KernelMsg[] = [];
  lastSeq: number | null = null;
  /** The newest event count from the kernel (a new view shows it, not the snapshot's). */
  counts: KernelMsg | null = null;
  private requested = false;

  constructor(private readonly request: () => void) {}

  /** Record one kernel message. */
  record(msg: KernelMsg): void {
    switch (msg.kind) {
      case "result":
        return;
      case "counts":
        this.counts = msg;
        return;
      case "log":
        if (msg.reset) return; // one view's reply to its log_watch
        break;
      case "snapshot":
        this.snapshot = msg;
        this.messages = [];
        this.lastSeq = msg.seq ?? null;
        this.counts = null; // the snapshot's own count is newer
        this.requested = false;
        return;
      case "inserted":
      case "updated":
      case "delta":
      case "removed":
      case "tool":
        if (msg.seq != null) {
          if (this.lastSeq !== null && msg.seq <= this.lastSeq) return; // already reflected
          if (this.lastSeq !== null && msg.seq > this.lastSeq + 1) this.ask();
          this.lastSeq = msg.seq;
        }
        break;
      default:
        break;
    }
    this.messages.push(msg);
    if (this.messages.length > COMPACT_AFTER) this.ask();
  }

  /** The kernel says it has sent `seq` changes: ask for a snapshot if some never arrived. */
  checkSeq(seq: number): void {
    if (this.snapshot !== null && (this.lastSeq ?? 0) < seq) this.ask();
  }

  /** What a new view applies, in order: the snapshot, then every message since. */
  replay(): KernelMsg[] {
    if (this.snapshot === null) return [];
    const out = [this.snapshot, ...this.messages];
    if (this.counts !== null) out.push(this.counts);
    return out;
  }

  private ask(): void {
    if (this.requested) return;
    this.requested = true;
    this.request();
  }
}

// Keyed by the `journal_key` trait, not by the model object: anywidget hands `initialize` and
// `render` different proxies of the same model.
const journals = new Map<string, Journal>();

function keyOf(model: ModelLike): string | null {
  const key = model.get("journal_key");
  return typeof key === "string" && key !== "" ? key : null;
}

/** The journal of a model, if `initialize` created one. */
export function journalOf(model: ModelLike): Journal | undefined {
  const key = keyOf(model);
  return key === null ? undefined : journals.get(key);
}

/** Create the journal of a model and subscribe it; returns an unsubscribe function. */
export function attachJournal(model: ModelLike): () => void {
  const journal = new Journal(() =>
    model.send({ kind: "snapshot_request", request_id: JOURNAL_REQUEST_ID }),
  );
  const seed = parseKernelMsg(model.get("snapshot"));
  if (seed && seed.kind === "snapshot") journal.record(seed);
  const onMsg = (raw: unknown): void => {
    for (const msg of parseKernelMsgs(raw)) journal.record(msg);
  };
  const onSeq = (): void => {
    const seq = model.get("change_seq");
    if (typeof seq === "number") journal.checkSeq(seq);
  };
  model.on("msg:custom", onMsg);
  model.on("change:change_seq", onSeq);
  onSeq(); // a page opened later gets the current change_seq with the state: catch up at once
  const key = keyOf(model);
  if (key !== null) journals.set(key, journal);
  return () => {
    model.off("msg:custom", onMsg);
    model.off("change:change_seq", onSeq);
    if (key !== null) journals.delete(key);
  };
}
