// The audio engine with a fake model and a fake Web Audio platform: one engine per model for
// any number of views, what goes to the worklets and to the kernel, barge-in, push-to-talk,
// replay, the microphone's error messages, autoplay held back.
import { afterEach, describe, expect, it, vi } from "vitest";
import { audioOf, attachEngine } from "../src/audio/engine";
import type { MicEnv } from "../src/audio/errors";
import type { AudioPlatform, ContextLike, NodeLike } from "../src/audio/platform";
import { VoiceBar } from "../src/audio/ui";
import widget from "../src/widget";
import { FakeModel } from "./helpers";

class BufModel extends FakeModel {
  buffers: unknown[][] = [];
  override send(content: any, _callbacks?: unknown, buffers?: unknown[]): void {
    super.send(content);
    this.buffers.push(buffers ?? []);
  }
  kinds(): string[] {
    return this.sent.map((m) => (m.kind === "ptt" ? `ptt ${m.down ? "down" : "up"}` : m.kind === "played" ? `played ${m.event}` : m.kind));
  }
}

class FakePort {
  posted: any[] = [];
  onmessage: ((e: MessageEvent) => void) | null = null;
  postMessage(m: unknown): void {
    this.posted.push(m);
  }
  reply(data: unknown): void {
    this.onmessage?.({ data } as MessageEvent);
  }
  last(cmd: string): any {
    return [...this.posted].reverse().find((m) => m.cmd === cmd);
  }
}

class FakeNode implements NodeLike {
  port = new FakePort();
  constructor(readonly name: string, readonly options: Record<string, any>) {}
  connect(): void {}
  disconnect(): void {}
}

class FakeCtx implements ContextLike {
  destination = {};
  outputLatency = 0.02;
  baseLatency = 0.005;
  onstatechange: ((ev: Event) => unknown) | null = null;
  audioWorklet = { addModule: async (_url: string) => undefined };
  constructor(readonly sampleRate: number, public state = "running", private readonly gate = { blocked: false }) {}
  resume(): Promise<void> {
    if (this.gate.blocked) return new Promise(() => undefined); // no user activation yet
    this.state = "running";
    this.onstatechange?.({} as Event);
    return Promise.resolve();
  }
  async close(): Promise<void> {
    this.state = "closed";
  }
  createMediaStreamSource(): { connect(): void; disconnect(): void } {
    return { connect() {}, disconnect() {} };
  }
}

interface Fake {
  platform: AudioPlatform;
  contexts: FakeCtx[];
  nodes: FakeNode[];
  gum: any[];
  env: MicEnv;
  fail: unknown;
  initialState: string;
  gate: { blocked: boolean };
}

function fakePlatform(): Fake {
  const track = { stop: vi.fn(), getSettings: () => ({ sampleRate: 48000 }) };
  const f: Fake = {
    contexts: [],
    nodes: [],
    gum: [],
    env: { secure: true, hasGetUserMedia: true, hasWorklet: true, policyAllows: true, inFrame: false, origin: "http://127.0.0.1:8888" },
    fail: null,
    initialState: "running",
    gate: { blocked: false },
    platform: undefined as unknown as AudioPlatform,
  };
  let t = 1_000_000;
  f.platform = {
    context: (o) => {
      const c = new FakeCtx(o.sampleRate ?? 44100, f.initialState, f.gate);
      f.contexts.push(c);
      return c;
    },
    node: (_ctx, name, options) => {
      const n = new FakeNode(name, options);
      f.nodes.push(n);
      return n;
    },
    workletUrl: (kind) => `blob:${kind}`,
    getUserMedia: async (c) => {
      f.gum.push(c);
      if (f.fail) throw f.fail;
      return { getTracks: () => [track], getAudioTracks: () => [track] } as unknown as MediaStream;
    },
    micEnv: () => f.env,
    now: () => (t += 10),
    perfNow: () => t - 1_000_000,
  };
  return f;
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const VOICE = { in_rate: 24000, out_rate: 24000, mode: "ptt" };

function setup(traits: Record<string, unknown> = {}) {
  const model = new BufModel({ journal_key: `k-${Math.random()}`, voice: VOICE, mic_processing: false, ...traits });
  const fake = fakePlatform();
  const stop = attachEngine(model, fake.platform);
  const roots = [document.createElement("div"), document.createElement("div")];
  const bars = roots.map((r) => {
    document.body.append(r);
    const bar = new VoiceBar(model, r);
    r.append(bar.el);
    return bar;
  });
  const cleanup = () => {
    for (const b of bars) b.destroy();
    for (const r of roots) r.remove();
    stop();
  };
  cleanups.push(cleanup);
  return { model, fake, roots, bars, engine: audioOf(model)! };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function pcm(n: number, value = 1000): DataView {
  const a = new Int16Array(n).fill(value);
  return new DataView(a.buffer);
}

describe("one engine per model, shared by its views", () => {
  it("plays a stream once for two views and reports start and end to the kernel", async () => {
    const { model, fake, roots } = setup();
    model.emit("msg:custom", { kind: "audio", item_id: "a", offset: 0, rate: 24000 }, [pcm(2400)]);
    model.emit("msg:custom", { kind: "audio_done", item_id: "a", samples: 2400 }, []);
    await tick();
    expect(fake.contexts).toHaveLength(1);
    expect(fake.contexts[0]!.sampleRate).toBe(24000);
    const player = fake.nodes.find((n) => n.name === "rnb-player")!;
    expect(player.port.posted.map((m) => m.cmd)).toEqual(["push", "done"]);
    expect(player.port.posted[0].data).toBeInstanceOf(Float32Array);
    expect(player.port.posted[0].data[0]).toBeCloseTo(1000 / 32768);
    player.port.reply({ type: "tick", frame: 0, total: 128, events: [{ type: "started", stream: "a", played: 0, at: 0 }], current: { stream: "a", played: 128 } });
    for (const r of roots) {
      expect(r.dataset.playedSamples).toBe("128");
      expect(r.dataset.audioItem).toBe("a");
      expect(r.dataset.audioState).toBe("playing");
    }
    const started = model.sent.find((m) => m.event === "started");
    expect(started).toMatchObject({ kind: "played", item_id: "a", rate: 24000 });
    expect(typeof started.started_at).toBe("number");
    player.port.reply({ type: "tick", frame: 2400, total: 2400, events: [{ type: "ended", stream: "a", played: 2400, at: 0 }], current: null });
    expect(model.sent.find((m) => m.event === "ended")).toMatchObject({ item_id: "a", samples: 2400 });
    for (const r of roots) {
      expect(r.dataset.playedSamples).toBe("2400");
      expect(r.dataset.audioState).toBe("idle");
      expect(r.dataset.firstSample?.startsWith("a ")).toBe(true);
    }
  });

  it("anywidget's initialize makes the engine; render only finds it (jsdom: no Web Audio)", async () => {
    const model = new BufModel({ journal_key: "k-widget", voice: VOICE });
    const stop = (widget.initialize as (c: { model: unknown }) => () => void)({ model });
    const el = document.createElement("div");
    const cleanup = widget.render({ model: model as never, el } as never) as () => void;
    expect(audioOf(model)).toBeDefined();
    expect(el.querySelector(".rnb-voice .rnb-talk")).not.toBeNull();
    model.emit("msg:custom", { kind: "audio", item_id: "a", offset: 0, rate: 24000 }, [pcm(10)]);
    await tick();
    expect(el.querySelector<HTMLElement>(".rnb-root")!.dataset.audioState).toBe("unsupported");
    expect(el.querySelector(".rnb-voice-status")!.textContent).toContain("cannot play audio");
    expect(model.sent.filter((m) => m.kind !== "snapshot_request")).toEqual([]);
    cleanup();
    stop();
    expect(audioOf(model)).toBeUndefined();
    expect(model.listenerCount("msg:custom")).toBe(0);
  });

  it("a view without an engine shows its controls off", () => {
    const model = new BufModel({ journal_key: "k-none" });
    const root = document.createElement("div");
    const bar = new VoiceBar(model, root);
    expect(bar.el.querySelector<HTMLButtonElement>(".rnb-talk")!.disabled).toBe(true);
    expect(bar.el.textContent).toContain("not available");
    bar.destroy();
  });
});

describe("barge-in", () => {
  it("audio_stop stops the player and reports what was heard (minus the output latency)", async () => {
    const { model, fake, roots } = setup();
    model.emit("msg:custom", { kind: "audio", item_id: "a", offset: 0, rate: 24000 }, [pcm(48000)]);
    await tick();
    const player = fake.nodes[0]!;
    player.port.reply({ type: "tick", frame: 0, total: 6000, events: [{ type: "started", stream: "a", played: 0, at: 0 }], current: { stream: "a", played: 6000 } });
    model.emit("msg:custom", { kind: "audio_stop", reason: "speech_started" }, []);
    expect(roots[0]!.dataset.audioItem).toBeUndefined(); // at once, before the worklet answers
    const stop = player.port.last("stop");
    expect(stop.streams).toEqual(["a"]);
    player.port.reply({ type: "stopped", id: stop.id, frame: 6000, total: 6100, stopped: [{ type: "stopped", stream: "a", played: 6100, at: 0 }] });
    await tick();
    const report = model.sent.find((m) => m.event === "stopped");
    // 25 ms of output latency at 24 kHz = 600 samples not heard yet
    expect(report).toMatchObject({ item_id: "a", samples: 5500, played: 6100, received: 48000, barge_in: true, reason: "speech_started" });
    // late chunks of a stopped item are not played
    model.emit("msg:custom", { kind: "audio", item_id: "a", offset: 48000, rate: 24000 }, [pcm(100)]);
    expect(player.port.posted.filter((m) => m.cmd === "push")).toHaveLength(1);
    expect(roots[1]!.dataset.playedSamples).toBe("6100");
  });
});

describe("push-to-talk", () => {
  it("stops playback, opens the microphone without processing, sends whole-buffer chunks, then ptt up", async () => {
    const { model, fake, engine, roots } = setup();
    model.emit("msg:custom", { kind: "audio", item_id: "a", offset: 0, rate: 24000 }, [pcm(48000)]);
    await tick();
    const player = fake.nodes[0]!;
    player.port.reply({ type: "tick", frame: 0, total: 2400, events: [{ type: "started", stream: "a", played: 0, at: 0 }], current: { stream: "a", played: 2400 } });
    const down = engine.talkDown();
    expect(roots[0]!.dataset.talking).toBe("");
    const stop = player.port.last("stop");
    player.port.reply({ type: "stopped", id: stop.id, frame: 2400, total: 2400, stopped: [{ type: "stopped", stream: "a", played: 2400, at: 0 }] });
    await down;
    expect(fake.gum[0].audio).toMatchObject({ channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false });
    const capture = fake.nodes.find((n) => n.name === "rnb-capture")!;
    expect(capture.options).toMatchObject({ numberOfOutputs: 0, channelCount: 1, channelCountMode: "explicit", processorOptions: { outRate: 24000, chunk: 1024 } });
    expect(fake.contexts[1]!.sampleRate).toBe(48000); // the device's rate
    const chunk = new Int16Array(1024).fill(7).buffer;
    capture.port.reply({ type: "chunk", pcm: chunk, level: -20 });
    expect(roots[0]!.dataset.micLevel).toBe("-20");
    capture.port.reply({ type: "chunk", pcm: new Int16Array(1024).buffer, level: -20 });
    capture.port.reply({ type: "chunk", pcm: new Int16Array(1024).buffer, level: -20 });
    const up = engine.talkUp();
    await tick();
    const flush = capture.port.last("flush");
    capture.port.reply({ type: "chunk", pcm: new Int16Array(100).buffer, level: -30 });
    capture.port.reply({ type: "flushed", id: flush.id });
    await up;
    // two chunks a message; the rest and the partial one before "ptt up"
    expect(model.kinds().filter((k) => k !== "played started")).toEqual(["played stopped", "ptt down", "mic", "mic", "ptt up"]);
    const sentBuffers = model.buffers.filter((b) => b.length);
    expect(sentBuffers.map((b) => b.map((x) => (x as ArrayBuffer).byteLength))).toEqual([[2048, 2048], [2048, 200]]);
    expect(sentBuffers[0]![0]).toBe(chunk); // the worklet's whole buffer, as is
    expect(roots[1]!.dataset.micSentSamples).toBe(String(3 * 1024 + 100));
  });

  it("T held in the widget talks; in a text field it is a letter", async () => {
    const { engine, roots } = setup();
    const spy = vi.spyOn(engine, "talkDown");
    const field = document.createElement("textarea");
    roots[0]!.append(field);
    field.dispatchEvent(new KeyboardEvent("keydown", { key: "t", bubbles: true }));
    expect(spy).not.toHaveBeenCalled();
    const ev = new KeyboardEvent("keydown", { key: "t", bubbles: true, cancelable: true });
    roots[0]!.querySelector(".rnb-handsfree")!.dispatchEvent(ev);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(ev.defaultPrevented).toBe(true);
    roots[0]!.querySelector(".rnb-handsfree")!.dispatchEvent(new KeyboardEvent("keydown", { key: "t", bubbles: true, repeat: true }));
    expect(spy).toHaveBeenCalledTimes(1);
    expect(roots[0]!.querySelector(".rnb-voice")!.hasAttribute("data-lm-suppress-shortcuts")).toBe(true);
  });
});

describe("hands-free", () => {
  it("asks the kernel for server VAD and streams every chunk; off stops both", async () => {
    const { model, fake, engine, roots } = setup();
    await engine.setHandsFree(true);
    expect(model.sent[0]).toEqual({ kind: "voice_mode", mode: "vad" });
    const capture = fake.nodes.find((n) => n.name === "rnb-capture")!;
    capture.port.reply({ type: "chunk", pcm: new Int16Array(1024).buffer, level: -10 });
    expect(model.kinds()).toEqual(["voice_mode"]); // two chunks a message
    capture.port.reply({ type: "chunk", pcm: new Int16Array(1024).buffer, level: -10 });
    capture.port.reply({ type: "chunk", pcm: new Int16Array(1024).buffer, level: -10 });
    expect(model.kinds()).toEqual(["voice_mode", "mic"]);
    model.set("voice", { ...VOICE, mode: "vad" });
    expect(roots[0]!.dataset.voiceMode).toBe("vad");
    expect(roots[0]!.querySelector<HTMLElement>(".rnb-talk")!.hidden).toBe(true);
    await engine.setHandsFree(false);
    expect(model.kinds()).toEqual(["voice_mode", "mic", "mic", "voice_mode"]); // the last one sent
    expect(model.sent.at(-1)).toEqual({ kind: "voice_mode", mode: "ptt" });
    expect(roots[0]!.dataset.micState).toBe("off");
  });
});

describe("the microphone's problems, in words", () => {
  const cases: [string, (f: Fake) => void, string][] = [
    ["an insecure page", (f) => (f.env = { ...f.env, secure: false, origin: "http://192.0.2.2:8888" }), "secure page (https, or http://localhost); this page is http://192.0.2.2:8888"],
    ["a front end that gives no microphone", (f) => (f.env = { ...f.env, policyAllows: false, inFrame: true }), "does not give its outputs a microphone"],
    ["permission denied", (f) => (f.fail = Object.assign(new Error("Permission denied"), { name: "NotAllowedError" })), "permission denied"],
    ["permission denied in a frame", (f) => {
      f.env = { ...f.env, inFrame: true };
      f.fail = Object.assign(new Error("x"), { name: "NotAllowedError" });
    }, "VS Code"],
    ["no device", (f) => (f.fail = Object.assign(new Error("Requested device not found"), { name: "NotFoundError" })), "No microphone found"],
    ["a busy device", (f) => (f.fail = Object.assign(new Error("x"), { name: "NotReadableError" })), "another application"],
  ];
  for (const [what, arrange, message] of cases) {
    it(what, async () => {
      const { fake, engine, roots, model } = setup();
      arrange(fake);
      await engine.talkDown();
      expect(roots[0]!.dataset.micState).toBe("error");
      expect(roots[0]!.dataset.talking).toBeUndefined();
      const status = roots[0]!.querySelector(".rnb-voice-status")!;
      expect(status.textContent).toContain(message);
      expect(status.getAttribute("data-error")).toBe("true");
      expect(model.sent.filter((m) => m.kind === "ptt" || m.kind === "mic")).toEqual([]);
    });
  }
});

describe("the play button", () => {
  function row(root: HTMLElement, id: string, ms: number | null): HTMLElement {
    const el = document.createElement("div");
    el.className = "rnb-item";
    el.dataset.itemId = id;
    const b = document.createElement("button");
    b.className = "rnb-play";
    b.dataset.action = "play-audio";
    if (ms !== null) b.dataset.audioMs = String(ms);
    el.append(b);
    root.append(el);
    return b;
  }

  it("replays what the page holds, else asks the kernel and plays its clip", async () => {
    const { model, fake, roots } = setup();
    model.emit("msg:custom", { kind: "audio", item_id: "a", offset: 0, rate: 24000 }, [pcm(2400)]);
    model.emit("msg:custom", { kind: "audio_done", item_id: "a", samples: 2400 }, []);
    await tick();
    const player = fake.nodes[0]!;
    row(roots[0]!, "a", 100).click();
    const pushes = player.port.posted.filter((m) => m.cmd === "push");
    expect(pushes.map((m) => m.stream)).toEqual(["a", "replay:a:1"]);
    expect(pushes[1].data.length).toBe(2400);
    expect(model.sent.filter((m) => m.kind === "audio_fetch")).toEqual([]);
    expect(roots[1]!.dataset.replaying).toBe("a");
    // a duration the page does not hold (truncated since, or another client's item): fetch
    row(roots[0]!, "b", 300).click();
    const fetch = model.sent.find((m) => m.kind === "audio_fetch");
    expect(fetch).toMatchObject({ item_id: "b" });
    expect(player.port.last("stop").streams).toEqual(["replay:a:1"]);
    model.emit("msg:custom", { kind: "audio_clip", request_id: fetch.request_id, item_id: "b", rate: 24000, samples: 7200 }, [pcm(7200)]);
    expect(player.port.posted.filter((m) => m.cmd === "push").at(-1)).toMatchObject({ stream: "replay:b:2" });
    expect(player.port.posted.at(-1)).toEqual({ cmd: "done", stream: "replay:b:2" });
    // an error instead of a clip is shown
    row(roots[0]!, "c", null).click();
    const again = model.sent.filter((m) => m.kind === "audio_fetch").at(-1);
    model.emit("msg:custom", { kind: "audio_clip", request_id: again.request_id, item_id: "c", error: "No audio to play: item c has no audio" }, []);
    expect(roots[0]!.querySelector(".rnb-voice-status")!.textContent).toBe("No audio to play: item c has no audio");
  });
});

describe("autoplay", () => {
  it("a context the browser holds back shows Enable sound; a click resumes it", async () => {
    const { model, fake, roots } = setup();
    fake.initialState = "suspended";
    fake.gate.blocked = true;
    model.emit("msg:custom", { kind: "audio", item_id: "a", offset: 0, rate: 24000 }, [pcm(100)]);
    await tick();
    expect(roots[0]!.dataset.audioState).toBe("suspended");
    const btn = roots[0]!.querySelector<HTMLButtonElement>(".rnb-enable-sound")!;
    expect(btn.hidden).toBe(false);
    expect(roots[0]!.querySelector(".rnb-voice-status")!.textContent).toContain("Enable sound");
    fake.gate.blocked = false; // the click is the user's gesture
    btn.click();
    await tick();
    expect(fake.contexts[0]!.state).toBe("running");
    expect(roots[0]!.dataset.audioState).not.toBe("suspended");
  });
});
