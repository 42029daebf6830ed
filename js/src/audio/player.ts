// The player: one AudioContext at the audio's rate and one "rnb-player" worklet node, kept for
// the session (re-made only if the rate changes). Commands sent before the node is ready wait
// in order. See player.worklet.ts for the messages.

import type { PlayerEvent } from "./queue";
import type { AudioPlatform, ContextLike, NodeLike } from "./platform";

export interface Tick {
  type: "tick";
  /** The context frame at the start of the block the events happened in. */
  frame: number;
  /** Samples played since the node was made. */
  total: number;
  events: PlayerEvent[];
  current: { stream: string; played: number } | null;
}

export interface Stopped {
  stopped: PlayerEvent[];
  /** The first frame not rendered for them (null: no answer). */
  frame: number | null;
}

interface StopReply {
  type: "stopped";
  id: number;
  frame: number;
  total: number;
  stopped: PlayerEvent[];
}

export class Player {
  ctx: ContextLike | null = null;
  private node: NodeLike | null = null;
  private pending: [unknown, Transferable[]][] = [];
  private stops = new Map<number, (s: Stopped) => void>();
  /** Recent (page time of a report - context time of its frame), ms: the smallest is the
   * report that waited least for the page's main thread (see renderedAt). */
  private offsets: number[] = [];
  private nextStop = 1;
  /** Samples played by contexts closed before this one (the total survives a rate change). */
  private base = 0;
  private lastTotal = 0;
  failed = "";

  constructor(
    private readonly platform: AudioPlatform,
    private readonly onTick: (t: Tick) => void,
    private readonly onState: () => void,
  ) {}

  get rate(): number {
    return this.ctx?.sampleRate ?? 0;
  }

  get suspended(): boolean {
    return this.ctx !== null && this.ctx.state === "suspended";
  }

  /** Samples played in all (every context). */
  get total(): number {
    return this.base + this.lastTotal;
  }

  /** Make the context and node for `rate` if they are not there (returns false without Web Audio). */
  ensure(rate: number): boolean {
    if (this.ctx && this.ctx.sampleRate === rate) return true;
    if (this.failed) return false;
    this.close();
    const ctx = this.platform.context({ sampleRate: rate, latencyHint: "interactive" });
    const url = this.platform.workletUrl("player");
    if (!ctx || !url) {
      this.failed = "This page cannot play audio (no Web Audio).";
      return false;
    }
    this.ctx = ctx;
    ctx.onstatechange = () => this.onState();
    ctx.audioWorklet.addModule(url).then(
      () => {
        if (this.ctx !== ctx) return;
        const node = this.platform.node(ctx, "rnb-player", {
          numberOfInputs: 0,
          numberOfOutputs: 1,
          outputChannelCount: [1],
        });
        node.port.onmessage = (e: MessageEvent) => this.message(e.data as Tick | StopReply);
        node.connect(ctx.destination);
        this.node = node;
        for (const [m, t] of this.pending) node.port.postMessage(m, t);
        this.pending = [];
        if (ctx.state === "suspended") ctx.resume().catch(() => undefined);
        this.onState();
      },
      (err: unknown) => {
        this.failed = `The audio player could not start: ${String(err)}`;
        this.onState();
      },
    );
    if (ctx.state === "suspended") ctx.resume().catch(() => undefined);
    return true;
  }

  post(message: unknown, transfer: Transferable[] = []): void {
    if (this.node) this.node.port.postMessage(message, transfer);
    else if (this.ctx) this.pending.push([message, transfer]);
  }

  /** Stop streams (all with null); resolves with what each had played. */
  stop(streams: string[] | null): Promise<Stopped> {
    if (!this.ctx) return Promise.resolve({ stopped: [], frame: null });
    const id = this.nextStop++;
    const done = new Promise<Stopped>((resolve) => this.stops.set(id, resolve));
    this.post({ cmd: "stop", id, streams });
    // a context that never runs (suspended, closed) never answers: do not hang
    setTimeout(() => {
      const r = this.stops.get(id);
      if (r) {
        this.stops.delete(id);
        r({ stopped: [], frame: null });
      }
    }, 500);
    return done;
  }

  resume(): void {
    if (this.ctx && this.ctx.state === "suspended") this.ctx.resume().then(() => this.onState(), () => undefined);
  }

  /** Seconds between a sample leaving the worklet and being heard. */
  latency(): number {
    const c = this.ctx;
    if (!c) return 0;
    const s = (Number(c.outputLatency) || 0) + (Number(c.baseLatency) || 0);
    return Math.min(0.5, Math.max(0, s));
  }

  /** When context frame `frame` is (or was) heard, as wall-clock ms. */
  wallOf(frame: number): number {
    const c = this.ctx;
    const now = this.platform.now();
    if (!c || typeof c.getOutputTimestamp !== "function") return now;
    const ts = c.getOutputTimestamp();
    if (!ts.performanceTime || ts.contextTime === undefined) return now + this.latency() * 1000;
    const perfAtFrame = ts.performanceTime + (frame / c.sampleRate - ts.contextTime) * 1000;
    return now + (perfAtFrame - this.platform.perfNow());
  }

  close(): void {
    if (this.ctx) {
      this.base += this.lastTotal;
      this.lastTotal = 0;
      this.ctx.onstatechange = null;
      this.ctx.close().catch(() => undefined);
    }
    this.node?.disconnect();
    this.ctx = null;
    this.node = null;
    this.pending = [];
    for (const r of this.stops.values()) r({ stopped: [], frame: null });
    this.offsets = [];
    this.stops.clear();
  }

  /** By when the worklet had rendered context frame `frame`, as wall-clock ms. The worklet
   * has no clock of its own; its reports reach the page when the page's main thread is free,
   * so each report's (arrival - frame time) is the true offset plus a wait: the smallest of
   * the recent ones is the offset, to within one render quantum, which is added (an estimate
   * that errs late, never early). */
  renderedAt(frame: number): number {
    const c = this.ctx;
    if (!c || this.offsets.length === 0) return this.platform.now();
    const offset = Math.min(...this.offsets);
    return this.platform.now() - this.platform.perfNow() + offset + ((frame + 128) * 1000) / c.sampleRate;
  }

  private noteClock(frame: number): void {
    if (!this.ctx) return;
    this.offsets.push(this.platform.perfNow() - (frame * 1000) / this.ctx.sampleRate);
    if (this.offsets.length > 200) this.offsets.shift();
  }

  private message(m: Tick | StopReply): void {
    if (!m || typeof m !== "object") return;
    this.lastTotal = m.total;
    if (m.type === "tick") this.noteClock(m.frame);
    if (m.type === "stopped") {
      const r = this.stops.get(m.id);
      this.stops.delete(m.id);
      r?.({ stopped: m.stopped, frame: m.frame });
      this.onTick({ type: "tick", frame: m.frame, total: m.total, events: [], current: null });
      return;
    }
    this.onTick(m);
  }
}
