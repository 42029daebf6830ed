// The pure parts of the audio code: conversions, the microphone's resampler and chunker, the
// player's queue (they run inside the worklets; here they are tested directly).
import { describe, expect, it } from "vitest";
import { Chunker } from "../src/audio/chunker";
import { asDataView, floatToInt16, int16ToFloat, levelDb } from "../src/audio/pcm";
import { PlayerQueue } from "../src/audio/queue";
import { Resampler } from "../src/audio/resample";

function sine(n: number, rate: number, hz: number, amp = 0.5): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amp * Math.sin((2 * Math.PI * hz * i) / rate);
  return out;
}

function run(rs: Resampler, input: Float32Array, blocks: number[]): Float32Array {
  const parts: Float32Array[] = [];
  let at = 0;
  let k = 0;
  while (at < input.length) {
    const size = blocks[k++ % blocks.length]!;
    parts.push(rs.process(input.subarray(at, at + size)));
    at += size;
  }
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function rms(x: Float32Array, from = 0): number {
  let s = 0;
  for (let i = from; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (x.length - from));
}

/** The frequency of a sine from its zero crossings. */
function freq(x: Float32Array, rate: number): number {
  let crossings = 0;
  for (let i = 1; i < x.length; i++) if (x[i - 1]! < 0 && x[i]! >= 0) crossings++;
  return (crossings * rate) / x.length;
}

describe("PCM16 conversions", () => {
  it("clamps and scales like the kernel (0x8000 below zero, 0x7fff above)", () => {
    expect([...floatToInt16(new Float32Array([0, 1, -1, 2, -2, 0.5]))]).toEqual([0, 32767, -32768, 32767, -32768, 16384]);
  });

  it("reads little-endian PCM16 from any view, unaligned too", () => {
    const bytes = new Uint8Array([0xff, 0x00, 0x80, 0x00, 0x40]);
    const view = new DataView(bytes.buffer, 1, 4); // odd offset: an Int16Array could not
    expect([...int16ToFloat(view)]).toEqual([-32768 / 32768, 0x4000 / 32768]);
    expect(asDataView(bytes.buffer)?.byteLength).toBe(5);
    expect(asDataView(bytes.subarray(1, 3))?.byteOffset).toBe(1);
    expect(asDataView("x")).toBeNull();
  });

  it("levels in dBFS", () => {
    expect(levelDb(new Float32Array(100))).toBe(-100);
    expect(levelDb(new Float32Array(100).fill(1))).toBeCloseTo(0, 5);
    expect(levelDb(sine(4800, 48000, 100, 1))).toBeCloseTo(-3.01, 1);
  });
});

describe("Resampler", () => {
  for (const from of [48000, 44100]) {
    it(`${from} Hz -> 24 kHz keeps a 1 kHz tone's frequency and level`, () => {
      const input = sine(from, from, 1000);
      const out = new Resampler(from, 24000).process(input);
      expect(freq(out, 24000)).toBeCloseTo(1000, -1);
      const dB = 20 * Math.log10(rms(out, 100) / rms(input));
      expect(Math.abs(dB)).toBeLessThan(0.5);
    });
  }

  it("gives floor((n - 1) * out / in) + 1 samples whatever the block sizes, and the same samples", () => {
    const input = sine(100_000, 44100, 440);
    const whole = new Resampler(44100, 24000).process(input);
    expect(whole.length).toBe(Math.floor((99_999 * 24000) / 44100) + 1);
    let seed = 3;
    const random = Array.from({ length: 200 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), 1 + (seed % 400)));
    for (const blocks of [[128], [1], [127, 3, 500], random]) {
      const got = run(new Resampler(44100, 24000), input, blocks);
      expect(got.length).toBe(whole.length);
      let maxDiff = 0;
      for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - whole[i]!));
      expect(maxDiff).toBeLessThan(1e-6);
    }
  });

  it("is an exact passthrough at equal rates and interpolates upwards", () => {
    const input = sine(1000, 24000, 300);
    expect([...run(new Resampler(24000, 24000), input, [128])]).toEqual([...input]);
    const up = new Resampler(16000, 24000).process(sine(16000, 16000, 500));
    expect(up.length).toBe(Math.floor((15999 * 24000) / 16000) + 1);
    expect(freq(up, 24000)).toBeCloseTo(500, -1);
  });
});

describe("Chunker", () => {
  it("cuts fixed chunks, each over its own whole buffer, and flushes the rest", () => {
    const c = new Chunker(1024);
    const chunks = [...c.push(new Float32Array(1000).fill(0.5)), ...c.push(new Float32Array(1500).fill(0.5))];
    expect(chunks.map((x) => x.pcm.length)).toEqual([1024, 1024]);
    for (const x of chunks) expect(x.pcm.buffer.byteLength).toBe(x.pcm.byteLength);
    expect(chunks[0]!.pcm.buffer).not.toBe(chunks[1]!.pcm.buffer);
    expect(chunks[0]!.level).toBeCloseTo(20 * Math.log10(0.5), 3);
    const rest = c.flush()!;
    expect(rest.pcm.length).toBe(2500 - 2048);
    expect(rest.pcm.buffer.byteLength).toBe(rest.pcm.byteLength);
    expect(c.flush()).toBeNull();
  });
});

describe("PlayerQueue", () => {
  const opts = { prebuffer: 100, maxWait: 1000 };
  const render = (q: PlayerQueue, n = 128) => {
    const out = new Float32Array(n);
    return { out, events: q.render(out) };
  };

  it("waits for the prebuffer (or the end), then plays every sample, tails below a block included", () => {
    const q = new PlayerQueue(opts);
    q.push("a", new Float32Array(60).fill(0.1));
    expect(render(q).events).toEqual([]); // 60 < 100: silence
    q.push("a", new Float32Array(70).fill(0.2));
    const r = render(q);
    expect(r.events).toEqual([{ type: "started", stream: "a", played: 0, at: 0 }]);
    expect(r.out[59]).toBeCloseTo(0.1);
    expect(r.out[60]).toBeCloseTo(0.2);
    q.finish("a");
    const tail = render(q);
    expect(tail.out[1]).toBeCloseTo(0.2);
    expect(tail.out[2]).toBe(0);
    expect(tail.events).toEqual([{ type: "ended", stream: "a", played: 130, at: 2 }]);
    expect(q.total).toBe(130);
  });

  it("an underrun outputs silence it does not count; streams play in turn", () => {
    const q = new PlayerQueue(opts);
    q.push("a", new Float32Array(100).fill(0.1));
    q.push("b", new Float32Array(50).fill(0.3));
    q.finish("b");
    render(q);
    expect(q.played("a")).toBe(100);
    render(q); // a starves; b waits behind it
    expect(q.total).toBe(100);
    q.finish("a");
    const r = render(q);
    expect(r.events.map((e) => `${e.type}:${e.stream}`)).toEqual(["ended:a", "started:b", "ended:b"]);
    expect(r.out[0]).toBeCloseTo(0.3);
    expect(r.out[50]).toBe(0);
    expect(q.total).toBe(150);
  });

  it("stop drops streams, reports what they played, and refuses their late chunks", () => {
    const q = new PlayerQueue(opts);
    q.push("a", new Float32Array(1000));
    render(q);
    render(q);
    expect(q.current()).toEqual({ stream: "a", played: 256 });
    expect(q.stop(["a"])).toEqual([{ type: "stopped", stream: "a", played: 256, at: 0 }]);
    expect(q.push("a", new Float32Array(10))).toBe(false);
    expect(q.busy).toBe(false);
    expect(q.played("a")).toBe(256);
  });

  it("a stream short of its prebuffer starts after maxWait; a starving one ends when another waits", () => {
    const q = new PlayerQueue({ prebuffer: 1000, maxWait: 256 });
    q.push("a", new Float32Array(10));
    render(q);
    render(q);
    expect(render(q).events.map((e) => e.type)).toEqual(["started"]);
    q.push("b", new Float32Array(2000));
    render(q);
    render(q);
    expect(render(q).events.map((e) => `${e.type}:${e.stream}`)).toEqual(["ended:a", "started:b"]);
  });
});
