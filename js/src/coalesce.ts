// Delta coalescing: streamed deltas are queued and applied at most once per animation frame.
//
// Consecutive deltas for the same (item, field, content_index) are merged into one string, so
// a frame that received 200 tiny deltas patches one row once. Only adjacent deltas are merged:
// the applied sequence is then exactly the received one (the item's joined `text` too).
// Before any other change message is applied, the owner calls flush() so the order of
// messages is kept (a final `updated` must never be overwritten by an older queued delta).

import type { DeltaField } from "./types";

export interface FrameScheduler {
  request(cb: () => void): number;
  cancel(handle: number): void;
}

/** requestAnimationFrame, with a timer fallback where there is none (tests, hidden pages). */
export const animationFrameScheduler: FrameScheduler = {
  request(cb) {
    if (typeof requestAnimationFrame === "function") return requestAnimationFrame(() => cb());
    return setTimeout(cb, 16) as unknown as number;
  },
  cancel(handle) {
    if (typeof cancelAnimationFrame === "function") cancelAnimationFrame(handle);
    else clearTimeout(handle);
  },
};

export interface MergedDelta {
  item_id: string;
  field: DeltaField;
  content_index: number | null;
  text: string;
  /** How many received deltas were merged into this one. */
  count: number;
}

interface Pending {
  item_id: string;
  field: DeltaField;
  content_index: number | null;
  parts: string[];
}

export type ApplyDeltas = (deltas: MergedDelta[], inFrame: boolean) => void;

export class DeltaCoalescer {
  private queue: Pending[] = [];
  private handle: number | null = null;
  /** Frames that flushed something (for tests and diagnostics). */
  flushes = 0;

  constructor(
    private readonly apply: ApplyDeltas,
    private readonly scheduler: FrameScheduler = animationFrameScheduler,
  ) {}

  get size(): number {
    return this.queue.length;
  }

  push(d: { item_id: string; field: DeltaField; content_index: number | null; text: string }): void {
    const last = this.queue[this.queue.length - 1];
    if (
      last &&
      last.item_id === d.item_id &&
      last.field === d.field &&
      last.content_index === d.content_index
    ) {
      last.parts.push(d.text);
    } else {
      this.queue.push({
        item_id: d.item_id,
        field: d.field,
        content_index: d.content_index,
        parts: [d.text],
      });
    }
    if (this.handle === null) {
      this.handle = this.scheduler.request(() => {
        this.handle = null;
        this.drain(true);
      });
    }
  }

  /** Apply everything queued now (synchronously), e.g. before a non-delta message. */
  flush(): void {
    if (this.handle !== null) {
      this.scheduler.cancel(this.handle);
      this.handle = null;
    }
    this.drain(false);
  }

  /** Drop the queue without applying it (e.g. a snapshot replaces everything). */
  clear(): void {
    if (this.handle !== null) {
      this.scheduler.cancel(this.handle);
      this.handle = null;
    }
    this.queue = [];
  }

  private drain(inFrame: boolean): void {
    if (this.queue.length === 0) return;
    const queue = this.queue;
    this.queue = [];
    this.flushes += 1;
    this.apply(
      queue.map((p) => ({
        item_id: p.item_id,
        field: p.field,
        content_index: p.content_index,
        text: p.parts.join(""),
        count: p.parts.length,
      })),
      inFrame,
    );
  }
}
