// The microphone: getUserMedia, a context at the device's rate, and one "rnb-capture" worklet
// node (mono, no outputs) that resamples to the session's input rate and posts PCM16 chunks.

import { type MicEnv, type MicError, micFailure, micPrecheck } from "./errors";
import type { AudioPlatform, ContextLike, NodeLike, SourceLike } from "./platform";

export interface MicOptions {
  /** The session's input rate: chunks come at this rate. */
  rate: number;
  /** Samples per chunk. */
  chunk: number;
  /** Echo cancellation, noise suppression and automatic gain (off: the samples as captured). */
  processing: boolean;
}

export class Mic {
  private stream: MediaStream | null = null;
  private ctx: ContextLike | null = null;
  private source: SourceLike | null = null;
  private node: NodeLike | null = null;
  private flushes = new Map<number, () => void>();
  private nextFlush = 1;
  private generation = 0;
  rate = 0;
  deviceRate = 0;

  constructor(
    private readonly platform: AudioPlatform,
    private readonly onChunk: (pcm: ArrayBuffer, level: number) => void,
  ) {}

  get running(): boolean {
    return this.node !== null;
  }

  env(): MicEnv {
    return this.platform.micEnv();
  }

  /** Open the microphone; resolves null when it runs, else why not. */
  async start(o: MicOptions): Promise<MicError | null> {
    if (this.node && this.rate === o.rate) return null;
    this.stop();
    const gen = ++this.generation;
    const env = this.platform.micEnv();
    const pre = micPrecheck(env);
    if (pre) return pre;
    const url = this.platform.workletUrl("capture");
    if (!url) return micPrecheck({ ...env, hasWorklet: false });
    let stream: MediaStream;
    try {
      stream = await this.platform.getUserMedia({
        audio: {
          channelCount: 1,
          echoCancellation: o.processing,
          noiseSuppression: o.processing,
          autoGainControl: o.processing,
        },
      });
    } catch (err) {
      return micFailure(err, env);
    }
    if (gen !== this.generation) {
      for (const t of stream.getTracks()) t.stop();
      return null; // stopped meanwhile
    }
    try {
      const track = stream.getAudioTracks()[0];
      const settings = track && typeof track.getSettings === "function" ? track.getSettings() : {};
      const deviceRate = typeof settings.sampleRate === "number" ? settings.sampleRate : undefined;
      const ctx = this.platform.context(deviceRate ? { sampleRate: deviceRate } : {});
      if (!ctx) throw new Error("no AudioContext");
      this.stream = stream;
      this.ctx = ctx;
      await ctx.audioWorklet.addModule(url);
      if (gen !== this.generation) return null;
      const node = this.platform.node(ctx, "rnb-capture", {
        numberOfInputs: 1,
        numberOfOutputs: 0,
        channelCount: 1,
        channelCountMode: "explicit",
        channelInterpretation: "speakers",
        processorOptions: { outRate: o.rate, chunk: o.chunk },
      });
      node.port.onmessage = (e: MessageEvent) => this.message(e.data);
      const source = ctx.createMediaStreamSource(stream);
      source.connect(node);
      this.source = source;
      this.node = node;
      this.rate = o.rate;
      this.deviceRate = ctx.sampleRate;
      if (ctx.state === "suspended") await ctx.resume();
      return null;
    } catch (err) {
      this.stop();
      return micFailure(err, env);
    }
  }

  /** Post the partial chunk now; resolves once it has been handed to `onChunk`. */
  flush(): Promise<void> {
    if (!this.node) return Promise.resolve();
    const id = this.nextFlush++;
    const done = new Promise<void>((resolve) => this.flushes.set(id, resolve));
    this.node.port.postMessage({ cmd: "flush", id });
    setTimeout(() => this.settle(id), 300); // a context that stopped running never answers
    return done;
  }

  stop(): void {
    this.generation++;
    this.source?.disconnect();
    this.node?.disconnect();
    if (this.node) this.node.port.onmessage = null;
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.ctx?.close().catch(() => undefined);
    this.stream = null;
    this.ctx = null;
    this.source = null;
    this.node = null;
    for (const id of [...this.flushes.keys()]) this.settle(id);
  }

  private settle(id: number): void {
    const r = this.flushes.get(id);
    this.flushes.delete(id);
    r?.();
  }

  private message(m: { type?: string; pcm?: ArrayBuffer; level?: number; id?: number }): void {
    if (m.type === "chunk" && m.pcm instanceof ArrayBuffer) this.onChunk(m.pcm, typeof m.level === "number" ? m.level : -100);
    else if (m.type === "flushed" && typeof m.id === "number") this.settle(m.id);
  }
}
