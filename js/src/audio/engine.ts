// The audio of one widget model: one player and one microphone, shared by every view of the
// model (two views never play or capture twice). `initialize` attaches it (attach.ts); views
// find it with `audioOf(model)` and only subscribe. Keyed by the `journal_key` trait, like the
// journal: anywidget hands `initialize` and each `render` different proxies of one model.
//
// Kernel -> engine (custom messages, PCM16 little-endian mono in the binary buffers, never in
// the JSON; PROTOCOL.md "Audio"): `audio` (a chunk of an item's output audio, played as it
// streams), `audio_done`, `audio_stop` (the user started speaking: stop now), `audio_clip`
// (the answer to `audio_fetch`). Engine -> kernel: `mic` (a chunk, buffer = a whole
// ArrayBuffer), `ptt`, `played`, `audio_fetch`, `voice_mode`.

import type { ModelLike } from "../types";
import type { MicError } from "./errors";
import { Mic } from "./mic";
import { asDataView, int16ToFloat } from "./pcm";
import type { AudioPlatform } from "./platform";
import { Player, type Tick } from "./player";
import type { PlayerEvent } from "./queue";
import { Resampler } from "./resample";

/** Microphone chunk: 1024 samples (42.7 ms at 24 kHz). */
export const MIC_CHUNK_MS = 1024 / 24;
/** Chunks per message to the kernel (85 ms of audio a message). Every browser message costs
 * the page's main thread ~20 ms in JupyterLab on a slow machine (the kernel goes busy and idle
 * for each, and the page updates its status UI twice): one chunk a message (23 a second) kept
 * it ~80% busy and delayed the kernel's messages (audio, "stop") by ~40 ms at the median;
 * two a message, ~45% and ~25 ms (measured in Chromium on 2 cores; PROTOCOL.md "Audio"). */
export const MIC_CHUNKS_PER_MESSAGE = 2;
/** How often the played position of a live item is reported to the kernel. */
export const PROGRESS_MS = 500;
/** The microphone closes this long after the last push-to-talk (a browser shows it in use). */
export const MIC_IDLE_MS = 20_000;
/** Output audio kept for replay, in seconds (the oldest items are dropped first). */
export const CACHE_S = 300;

export type AudioState = "idle" | "buffering" | "playing" | "suspended" | "unsupported";
export type MicState = "off" | "starting" | "on" | "error";

export interface EngineState {
  audio: AudioState;
  /** Samples the player has played (every stream, live and replayed). */
  played: number;
  /** The live item playing now. */
  playing: string | null;
  /** The item being replayed (play button), or fetched for a replay. */
  replaying: string | null;
  mic: MicState;
  micError: MicError | null;
  /** The last microphone chunk's level, dBFS. */
  level: number;
  /** Samples sent to the kernel from the microphone. */
  sent: number;
  /** Push-to-talk is held. */
  talking: boolean;
  /** The session's turn detection: "vad" (server VAD) or "ptt" (none). */
  mode: "ptt" | "vad";
  /** Hands-free: the microphone streams all the time and the server detects turns. */
  handsFree: boolean;
  /** The live item whose first sample the player rendered last: when it was rendered (wall
   * ms), when the page got the worklet's report of it, and when the page received the item's
   * first chunk. */
  firstSample: { item: string; wall: number; reported: number; arrived: number } | null;
  /** A message about playback (a fetch that failed, no Web Audio). */
  notice: string;
}

interface Live {
  item: string;
  arrived: number; // wall ms of the first chunk
  rate: number;
  received: number;
  done: boolean;
  started: boolean;
  ended: boolean;
  stopped: boolean;
  played: number;
  reported: number;
  chunks: DataView[];
}

export class AudioEngine {
  readonly state: EngineState = {
    audio: "idle",
    played: 0,
    playing: null,
    replaying: null,
    mic: "off",
    micError: null,
    level: -100,
    sent: 0,
    talking: false,
    mode: "ptt",
    handsFree: false,
    firstSample: null,
    notice: "",
  };
  readonly player: Player;
  readonly mic: Mic;
  private readonly listeners = new Set<() => void>();
  private readonly lives = new Map<string, Live>();
  private cached = 0; // samples held in lives' chunks
  private replays = 0;
  private replayStream: string | null = null;
  private fetches = new Map<string, string>(); // request id -> item id
  private pttSending = false;
  private pttBuffer: ArrayBuffer[] = [];
  private micOut: ArrayBuffer[] = [];
  private chain: Promise<void> = Promise.resolve();
  private micTimer: ReturnType<typeof setTimeout> | null = null;
  private destroyed = false;

  constructor(
    private readonly model: ModelLike,
    private readonly platform: AudioPlatform,
  ) {
    this.player = new Player(platform, (t) => this.tick(t), () => this.changed());
    this.mic = new Mic(platform, (pcm, level) => this.chunk(pcm, level));
    this.readVoice();
  }

  // -- views ---------------------------------------------------------------------------------

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    const s = this.state;
    if (this.player.failed) {
      s.audio = "unsupported";
      s.notice = this.player.failed;
    } else if (this.player.suspended) s.audio = "suspended";
    else if (s.playing !== null || this.replayStream !== null) s.audio = "playing";
    else if ([...this.lives.values()].some((l) => !l.ended && !l.stopped && l.received > 0) || this.fetches.size) s.audio = "buffering";
    else s.audio = "idle";
    for (const fn of [...this.listeners]) fn();
  }

  // -- traits --------------------------------------------------------------------------------

  /** The `voice` trait: {in_rate, out_rate, mode}. */
  readVoice(): void {
    const v = this.model.get("voice");
    const o = v && typeof v === "object" ? (v as Record<string, unknown>) : {};
    this.state.mode = o.mode === "vad" ? "vad" : "ptt";
    if (this.state.mode !== "vad" && this.state.handsFree) {
      this.state.handsFree = false; // a cell turned turn detection off
      this.stopMic();
    }
    const rate = this.inRate();
    if (this.mic.running && this.mic.rate !== rate) void this.startMic(); // the session's rate changed
    this.changed();
  }

  inRate(): number {
    return rateOf(this.model.get("voice"), "in_rate");
  }

  outRate(): number {
    return rateOf(this.model.get("voice"), "out_rate");
  }

  // -- kernel -> engine ----------------------------------------------------------------------

  /** A `msg:custom` payload; true when it was an audio message. */
  receive(msg: unknown, buffers: unknown): boolean {
    if (!msg || typeof msg !== "object" || this.destroyed) return false;
    const m = msg as Record<string, unknown>;
    const bufs = Array.isArray(buffers) ? buffers : [];
    switch (m.kind) {
      case "audio":
        this.audio(str(m.item_id), num(m.rate, this.outRate()), asDataView(bufs[0]));
        return true;
      case "audio_done":
        this.audioDone(str(m.item_id));
        return true;
      case "audio_stop":
        void this.bargeIn(str(m.reason) || "speech_started");
        return true;
      case "audio_clip":
        this.clip(m, asDataView(bufs[0]));
        return true;
      default:
        return false;
    }
  }

  private audio(item: string, rate: number, view: DataView | null): void {
    if (!item || !view || view.byteLength < 2) return;
    let live = this.lives.get(item);
    if (!live) {
      live = { item, arrived: this.platform.now(), rate, received: 0, done: false, started: false, ended: false, stopped: false, played: 0, reported: 0, chunks: [] };
      this.lives.set(item, live);
    }
    if (live.stopped || live.done) return;
    live.received += view.byteLength >> 1;
    live.chunks.push(view);
    this.cached += view.byteLength >> 1;
    this.trimCache();
    if (!this.player.ensure(rate)) {
      this.changed();
      return;
    }
    const samples = this.toPlayerRate(int16ToFloat(view), rate);
    this.player.post({ cmd: "push", stream: item, data: samples }, [samples.buffer]);
    if (this.state.audio === "idle") this.changed();
  }

  private audioDone(item: string): void {
    const live = this.lives.get(item);
    if (!live || live.done) return;
    live.done = true;
    this.player.post({ cmd: "done", stream: item });
  }

  // -- the player's reports --------------------------------------------------------------------

  private tick(t: Tick): void {
    const s = this.state;
    for (const e of t.events) this.event(e, t.frame);
    const cur = t.current;
    if (cur && this.lives.has(cur.stream)) {
      const live = this.lives.get(cur.stream)!;
      live.played = cur.played;
      s.playing = cur.stream;
      const now = this.platform.now();
      if (now - live.reported >= PROGRESS_MS) {
        live.reported = now;
        this.send({ kind: "played", event: "progress", item_id: live.item, samples: this.heard(live.played, live), rate: live.rate });
      }
    } else if (!cur || cur.stream !== this.replayStream) {
      s.playing = null;
    }
    s.played = this.player.total;
    this.changed();
  }

  private event(e: PlayerEvent, frame: number): void {
    const live = this.lives.get(e.stream);
    if (e.stream === this.replayStream && e.type !== "started") {
      this.replayStream = null;
      this.state.replaying = null;
    }
    if (!live) return;
    if (e.type === "started") {
      live.started = true;
      live.reported = this.platform.now();
      this.state.playing = live.item;
      const reported = this.platform.now();
      const wall = Math.max(live.arrived, Math.min(reported, this.player.renderedAt(frame + e.at)));
      this.state.firstSample = { item: live.item, wall, reported, arrived: live.arrived };
      const heardAt = this.player.wallOf(frame + e.at);
      this.send({ kind: "played", event: "started", item_id: live.item, started_at: heardAt / 1000, rate: live.rate });
    } else if (e.type === "ended") {
      live.ended = true;
      live.played = e.played;
      if (this.state.playing === live.item) this.state.playing = null;
      this.send({ kind: "played", event: "ended", item_id: live.item, samples: e.played, rate: live.rate });
    }
  }

  /** Samples of a live item heard by now: what left the worklet minus the output latency. */
  private heard(played: number, live: Live): number {
    const lag = Math.round(this.player.latency() * this.player.rate);
    return Math.max(0, Math.min(live.received, played - lag));
  }

  /** Stop everything that plays now (the user speaks); tell the kernel what was heard of each
   * live item, so it cancels and truncates there. Resolves once reported. */
  bargeIn(reason: string): Promise<void> {
    const liveIds = [...this.lives.values()].filter((l) => !l.ended && !l.stopped).map((l) => l.item);
    for (const id of liveIds) this.lives.get(id)!.stopped = true;
    const replay = this.replayStream;
    this.replayStream = null;
    this.state.replaying = null;
    this.state.playing = null;
    this.changed();
    if (!liveIds.length && replay === null) return Promise.resolve();
    const asked = this.platform.now();
    return this.player.stop(replay === null ? liveIds : [...liveIds, replay]).then(({ stopped, frame }) => {
      // when the player stopped rendering them (the page may learn it later)
      const at = Math.min(this.platform.now(), frame === null ? Infinity : this.player.renderedAt(frame));
      for (const e of stopped) {
        const live = this.lives.get(e.stream);
        if (!live) continue;
        live.played = e.played;
        this.send({
          kind: "played", event: "stopped", item_id: live.item, samples: this.heard(e.played, live),
          played: e.played, received: live.received, rate: live.rate, barge_in: true, reason,
          asked_at: asked / 1000, stopped_at: Math.max(asked, at) / 1000,
        });
      }
      this.state.played = this.player.total;
      this.changed();
    });
  }

  // -- replay (the play button) ----------------------------------------------------------------

  /** Play an item's audio: from what this page holds when it is complete (and `expectMs`,
   * the kernel's duration, agrees), else asked of the kernel. Pressing it again stops. */
  play(item: string, expectMs: number | null): void {
    if (this.state.replaying === item) {
      this.stopReplay();
      return;
    }
    this.stopReplay();
    const live = this.lives.get(item);
    const heldMs = live ? (live.received * 1000) / live.rate : -1;
    if (live && live.done && !live.stopped && (expectMs === null || Math.abs(heldMs - expectMs) <= 2)) {
      this.startReplay(item, live.rate, live.chunks);
      return;
    }
    const request = `audio-${Math.random().toString(36).slice(2, 10)}`;
    this.fetches.set(request, item);
    this.state.replaying = item;
    this.state.notice = "";
    this.send({ kind: "audio_fetch", request_id: request, item_id: item });
    this.changed();
  }

  stopReplay(): void {
    const stream = this.replayStream;
    this.replayStream = null;
    this.state.replaying = null;
    this.fetches.clear();
    if (stream) void this.player.stop([stream]).then(() => this.changed());
    this.changed();
  }

  private clip(m: Record<string, unknown>, view: DataView | null): void {
    const item = this.fetches.get(str(m.request_id));
    if (item === undefined) return; // another page's, or cancelled
    this.fetches.delete(str(m.request_id));
    if (typeof m.error === "string" && m.error) {
      this.state.notice = m.error;
      this.state.replaying = null;
      this.changed();
      return;
    }
    if (!view || view.byteLength < 2) {
      this.state.notice = "This item has no audio.";
      this.state.replaying = null;
      this.changed();
      return;
    }
    this.startReplay(item, num(m.rate, this.outRate()), [view]);
  }

  private startReplay(item: string, rate: number, chunks: DataView[]): void {
    const playRate = this.player.rate || rate;
    if (!this.player.ensure(playRate)) {
      this.state.replaying = null;
      this.changed();
      return;
    }
    const stream = `replay:${item}:${++this.replays}`;
    this.replayStream = stream;
    this.state.replaying = item;
    const rs = rate === playRate ? null : new Resampler(rate, playRate);
    for (const c of chunks) {
      const f = int16ToFloat(c);
      const data = rs ? rs.process(f) : f;
      this.player.post({ cmd: "push", stream, data }, [data.buffer]);
    }
    this.player.post({ cmd: "done", stream });
    this.changed();
  }

  // -- the microphone -----------------------------------------------------------------------

  /** Push-to-talk pressed: stop what plays (and tell the kernel), open the microphone, send. */
  talkDown(): Promise<void> {
    if (this.state.talking || this.state.mode === "vad" || this.state.handsFree) return this.chain;
    this.state.talking = true;
    this.clearMicTimer();
    const barge = this.bargeIn("talk"); // at once, not after the microphone opened
    this.changed();
    return this.serial(async () => {
      await barge;
      const ok = await this.startMic();
      if (!ok || !this.state.talking) {
        if (!ok) this.state.talking = false;
        this.pttBuffer = [];
        this.changed();
        return;
      }
      this.send({ kind: "ptt", down: true });
      this.pttSending = true;
      for (const pcm of this.pttBuffer) this.sendMic(pcm);
      this.pttBuffer = [];
    });
  }

  /** Push-to-talk released: send the last partial chunk, then `ptt up` (the kernel commits). */
  talkUp(): Promise<void> {
    if (!this.state.talking) return this.chain;
    this.state.talking = false;
    this.changed();
    return this.serial(async () => {
      if (!this.pttSending) return;
      await this.mic.flush();
      this.flushMic();
      this.pttSending = false;
      this.send({ kind: "ptt", down: false });
      this.clearMicTimer();
      this.micTimer = setTimeout(() => {
        if (!this.state.talking && !this.state.handsFree) this.stopMic();
      }, MIC_IDLE_MS);
    });
  }

  /** Hands-free on: server VAD and a microphone that streams all the time; off: neither. */
  setHandsFree(on: boolean): Promise<void> {
    return this.serial(async () => {
      if (on) {
        if (this.state.mode !== "vad") this.send({ kind: "voice_mode", mode: "vad" });
        this.state.handsFree = true;
        this.changed();
        if (!(await this.startMic())) {
          this.state.handsFree = false;
          this.send({ kind: "voice_mode", mode: "ptt" });
        }
      } else {
        this.flushMic();
        this.state.handsFree = false;
        this.stopMic();
        this.send({ kind: "voice_mode", mode: "ptt" });
      }
      this.changed();
    });
  }

  private async startMic(): Promise<boolean> {
    const rate = this.inRate();
    if (this.mic.running && this.mic.rate === rate) return true;
    this.state.mic = "starting";
    this.state.micError = null;
    this.changed();
    const processing = this.model.get("mic_processing") !== false;
    const err = await this.mic.start({ rate, chunk: Math.round((MIC_CHUNK_MS * rate) / 1000), processing });
    this.state.mic = err ? "error" : this.mic.running ? "on" : "off";
    this.state.micError = err;
    this.changed();
    return err === null && this.mic.running;
  }

  private stopMic(): void {
    this.clearMicTimer();
    this.mic.stop();
    this.state.mic = this.state.mic === "error" ? "error" : "off";
    this.state.level = -100;
    this.changed();
  }

  private chunk(pcm: ArrayBuffer, level: number): void {
    this.state.level = level;
    if (this.state.handsFree) this.sendMic(pcm);
    else if (this.pttSending) this.sendMic(pcm);
    else if (this.state.talking) this.pttBuffer.push(pcm);
    this.changed();
  }

  private sendMic(pcm: ArrayBuffer): void {
    this.state.sent += pcm.byteLength >> 1;
    this.micOut.push(pcm);
    if (this.micOut.length >= MIC_CHUNKS_PER_MESSAGE) this.flushMic();
  }

  /** One message of the chunks waiting, each its own whole buffer. */
  private flushMic(): void {
    if (!this.micOut.length) return;
    const buffers = this.micOut;
    this.micOut = [];
    this.send({ kind: "mic" }, buffers);
  }

  private clearMicTimer(): void {
    if (this.micTimer !== null) clearTimeout(this.micTimer);
    this.micTimer = null;
  }

  // -- misc ------------------------------------------------------------------------------------

  /** A user gesture in the widget: make the player ready and let it sound. */
  unlock(): void {
    if (this.player.ensure(this.player.rate || this.outRate())) this.player.resume();
  }

  destroy(): void {
    this.destroyed = true;
    this.clearMicTimer();
    this.mic.stop();
    this.player.close();
    this.listeners.clear();
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn, fn);
    return this.chain;
  }

  private send(content: Record<string, unknown>, buffers?: ArrayBuffer[]): void {
    if (this.destroyed) return;
    try {
      if (buffers) this.model.send(content, undefined, buffers);
      else this.model.send(content);
    } catch {
      // a closed comm (the kernel went away): nothing to tell
    }
  }

  private toPlayerRate(samples: Float32Array, rate: number): Float32Array {
    return rate === this.player.rate || !this.player.rate ? samples : new Resampler(rate, this.player.rate).process(samples);
  }

  private trimCache(): void {
    const cap = CACHE_S * (this.outRate() || 24000);
    for (const live of this.lives.values()) {
      if (this.cached <= cap) break;
      if (!live.done && !live.stopped) continue;
      this.cached -= live.received;
      this.lives.delete(live.item);
    }
  }
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function num(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : fallback;
}

function rateOf(voice: unknown, key: string): number {
  const o = voice && typeof voice === "object" ? (voice as Record<string, unknown>) : {};
  return num(o[key], 24000);
}

// -- one engine per model ----------------------------------------------------------------------

const engines = new Map<string, AudioEngine>();

function keyOf(model: ModelLike): string | null {
  const key = model.get("journal_key");
  return typeof key === "string" && key !== "" ? key : null;
}

/** The engine of a model, if `initialize` attached one. */
export function audioOf(model: ModelLike): AudioEngine | undefined {
  const key = keyOf(model);
  return key === null ? undefined : engines.get(key);
}

/** Make the model's engine and route its audio messages to it; returns the clean-up. */
export function attachEngine(model: ModelLike, platform: AudioPlatform): () => void {
  const engine = new AudioEngine(model, platform);
  const onMsg = (msg: unknown, buffers: unknown): void => {
    engine.receive(msg, buffers);
  };
  const onVoice = (): void => engine.readVoice();
  model.on("msg:custom", onMsg);
  model.on("change:voice", onVoice);
  const key = keyOf(model);
  if (key !== null) engines.get(key)?.destroy();
  if (key !== null) engines.set(key, engine);
  return () => {
    model.off("msg:custom", onMsg);
    model.off("change:voice", onVoice);
    engine.destroy();
    if (key !== null && engines.get(key) === engine) engines.delete(key);
  };
}
