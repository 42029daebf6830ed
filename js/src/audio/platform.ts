// What the audio code needs from the browser, behind one interface so vitest can fake it.

import type { MicEnv } from "./errors";

export interface PortLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent) => void) | null;
}

export interface NodeLike {
  readonly port: PortLike;
  connect(destination: unknown): unknown;
  disconnect(): void;
}

export interface SourceLike {
  connect(destination: unknown): unknown;
  disconnect(): void;
}

export interface ContextLike {
  readonly sampleRate: number;
  readonly state: string;
  readonly destination: unknown;
  readonly audioWorklet: { addModule(url: string): Promise<void> };
  outputLatency?: number;
  baseLatency?: number;
  onstatechange: ((ev: Event) => unknown) | null;
  resume(): Promise<void>;
  close(): Promise<void>;
  createMediaStreamSource(stream: MediaStream): SourceLike;
  getOutputTimestamp?(): { contextTime?: number; performanceTime?: number };
}

export interface AudioPlatform {
  /** A new AudioContext, or null when the page has no Web Audio. */
  context(options: { sampleRate?: number; latencyHint?: string }): ContextLike | null;
  node(ctx: ContextLike, name: string, options: Record<string, unknown>): NodeLike;
  workletUrl(kind: "player" | "capture"): string | null;
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  micEnv(): MicEnv;
  /** Wall-clock milliseconds (epoch), sub-millisecond where the browser allows. */
  now(): number;
  /** performance.now() */
  perfNow(): number;
}

/** The real browser, or a platform without Web Audio where there is none (jsdom). */
export function browserPlatform(workletUrl: (kind: "player" | "capture") => string | null): AudioPlatform {
  const g = globalThis as unknown as {
    AudioContext?: new (o?: object) => ContextLike;
    AudioWorkletNode?: new (c: unknown, n: string, o?: object) => NodeLike;
    isSecureContext?: boolean;
    location?: Location;
    navigator?: Navigator;
    document?: Document & { featurePolicy?: { allowsFeature(f: string): boolean } };
    top?: unknown;
    self?: unknown;
  };
  const perf = typeof performance !== "undefined" ? performance : null;
  return {
    context(options) {
      if (!g.AudioContext) return null;
      try {
        return new g.AudioContext(options);
      } catch {
        return new g.AudioContext({ latencyHint: options.latencyHint });
      }
    },
    node(ctx, name, options) {
      if (!g.AudioWorkletNode) throw new Error("no AudioWorkletNode");
      return new g.AudioWorkletNode(ctx, name, options);
    },
    workletUrl,
    getUserMedia(constraints) {
      const md = g.navigator?.mediaDevices;
      if (!md || typeof md.getUserMedia !== "function") return Promise.reject(new Error("no getUserMedia"));
      return md.getUserMedia(constraints);
    },
    micEnv() {
      let policyAllows: boolean | null = null;
      try {
        const fp = g.document?.featurePolicy;
        if (fp && typeof fp.allowsFeature === "function") policyAllows = fp.allowsFeature("microphone");
      } catch {
        policyAllows = null;
      }
      let inFrame = false;
      try {
        inFrame = g.top !== g.self;
      } catch {
        inFrame = true;
      }
      return {
        secure: g.isSecureContext !== false,
        hasGetUserMedia: typeof g.navigator?.mediaDevices?.getUserMedia === "function",
        hasWorklet: !!g.AudioContext && !!g.AudioWorkletNode,
        policyAllows,
        inFrame,
        origin: g.location?.origin ?? "",
      };
    },
    now: () => (perf ? perf.timeOrigin + perf.now() : Date.now()),
    perfNow: () => (perf ? perf.now() : Date.now()),
  };
}
