// The player's queue (pure; runs inside the player worklet, tested directly by vitest).
//
// Audio comes as streams: one per assistant item as it streams in (the stream id is the item
// id), or one per replay of a stored item. Streams play one after another in the order they
// first got audio; chunks are copied across block boundaries (no tail is lost). A stream starts
// once `prebuffer` samples are queued or it is complete (a jitter buffer against a choppy
// start), or when it waited longer than `maxWait`; an underrun outputs silence that is not
// counted. Each stream counts the samples it has played.

export type PlayerEventType = "started" | "ended" | "stopped";

export interface PlayerEvent {
  type: PlayerEventType;
  stream: string;
  /** Samples of the stream played so far (all of it for "ended"). */
  played: number;
  /** For "started": the offset of its first sample in the rendered block. */
  at: number;
}

interface Stream {
  id: string;
  chunks: Float32Array[];
  pos: number; // read position in chunks[0]
  queued: number; // samples queued, not yet played
  played: number;
  done: boolean;
  started: boolean;
  waited: number; // samples of silence spent waiting (before the start, or starving)
}

export interface QueueOptions {
  /** Samples queued before a stream starts (unless it is complete). */
  prebuffer: number;
  /** A stream waiting this many samples for its prebuffer starts anyway; a started stream
   * starving this long while another waits behind it is ended. */
  maxWait: number;
  /** How many closed stream ids are remembered (late chunks of them are dropped). */
  remember?: number;
}

export class PlayerQueue {
  private order: Stream[] = [];
  private readonly byId = new Map<string, Stream>();
  private readonly closed = new Map<string, number>(); // id -> played, oldest first
  /** Samples played by every stream since the queue was made. */
  total = 0;

  constructor(private readonly opts: QueueOptions) {}

  /** Queue samples of a stream; false when the stream was stopped or ended (dropped). */
  push(id: string, data: Float32Array): boolean {
    if (this.closed.has(id)) return false;
    let s = this.byId.get(id);
    if (!s) {
      s = { id, chunks: [], pos: 0, queued: 0, played: 0, done: false, started: false, waited: 0 };
      this.byId.set(id, s);
      this.order.push(s);
    }
    if (s.done || data.length === 0) return !s.done;
    s.chunks.push(data);
    s.queued += data.length;
    return true;
  }

  /** The stream is complete: it may start below the prebuffer and ends when drained. */
  finish(id: string): void {
    const s = this.byId.get(id);
    if (s) s.done = true;
  }

  /** Drop streams (all with `ids` null); returns what each had played. */
  stop(ids: readonly string[] | null): PlayerEvent[] {
    const out: PlayerEvent[] = [];
    for (const s of [...this.order]) {
      if (ids !== null && !ids.includes(s.id)) continue;
      out.push({ type: "stopped", stream: s.id, played: s.played, at: 0 });
      this.close(s);
    }
    return out;
  }

  /** The stream playing now (started, not ended), if any. */
  current(): { stream: string; played: number } | null {
    const s = this.order[0];
    return s && s.started ? { stream: s.id, played: s.played } : null;
  }

  /** Whether anything is queued or playing. */
  get busy(): boolean {
    return this.order.length > 0;
  }

  played(id: string): number {
    return this.byId.get(id)?.played ?? this.closed.get(id) ?? 0;
  }

  /** Fill `out` with the next samples (silence where there are none); returns the events. */
  render(out: Float32Array): PlayerEvent[] {
    const events: PlayerEvent[] = [];
    let i = 0;
    const n = out.length;
    while (i < n) {
      const s = this.order[0];
      if (!s) break;
      if (!s.started) {
        const ready = s.done || s.queued >= this.opts.prebuffer || (s.queued > 0 && s.waited >= this.opts.maxWait);
        if (!ready) {
          s.waited += n - i;
          break;
        }
        s.started = true;
        s.waited = 0;
        events.push({ type: "started", stream: s.id, played: 0, at: i });
      }
      if (s.queued === 0) {
        if (s.done || (s.waited >= this.opts.maxWait && this.order.length > 1)) {
          events.push({ type: "ended", stream: s.id, played: s.played, at: i });
          this.close(s);
          continue;
        }
        s.waited += n - i; // underrun: silence, not counted
        break;
      }
      s.waited = 0;
      const chunk = s.chunks[0]!;
      const take = Math.min(n - i, chunk.length - s.pos);
      out.set(chunk.subarray(s.pos, s.pos + take), i);
      i += take;
      s.pos += take;
      s.queued -= take;
      s.played += take;
      this.total += take;
      if (s.pos === chunk.length) {
        s.chunks.shift();
        s.pos = 0;
      }
    }
    if (i < n) out.fill(0, i);
    return events;
  }

  private close(s: Stream): void {
    this.byId.delete(s.id);
    this.order = this.order.filter((x) => x !== s);
    this.closed.set(s.id, s.played);
    const keep = this.opts.remember ?? 2000;
    while (this.closed.size > keep) {
      const first = this.closed.keys().next().value;
      if (first === undefined) break;
      this.closed.delete(first);
    }
  }
}
