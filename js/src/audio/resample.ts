// A streaming resampler for the microphone: the device's rate (44.1 or 48 kHz) to the
// session's input rate (24 kHz for OpenAI, 44.1 kHz and others for Yandex). Pure, stateful
// across blocks, used inside the capture worklet and tested directly by vitest.
//
// Downsampling averages each input over a box about one output period wide (a cheap low-pass
// against aliasing), then interpolates linearly; upsampling and ratio 1 only interpolate (ratio 1
// is an exact passthrough). Output sample k sits at input time k * inRate / outRate, computed
// from integer counters, so a long run never drifts: after n input samples the output has
// floor((n - 1) * outRate / inRate) + 1 samples, whatever the block sizes.

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  private readonly width: number;
  private readonly hist: Float32Array; // the last width - 1 inputs (box filter)
  private histSum = 0;
  private histPos = 0;
  private prev = 0; // the previous block's last filtered sample (index -1)
  private consumed = 0; // input samples before the current block
  private produced = 0; // output samples so far

  constructor(inRate: number, outRate: number) {
    if (!(inRate > 0 && outRate > 0)) throw new RangeError("rates must be positive");
    this.inRate = Math.round(inRate);
    this.outRate = Math.round(outRate);
    this.width = Math.max(1, Math.round(this.inRate / this.outRate));
    this.hist = new Float32Array(this.width);
  }

  /** Resample one block; returns the output samples it completes (possibly none). */
  process(input: Float32Array): Float32Array {
    const n = input.length;
    if (n === 0) return new Float32Array(0);
    const filtered = this.width === 1 ? input : this.box(input);
    // outputs whose time t (relative to this block) lies in [-1, n - 1]
    const last = this.consumed + n - 1; // absolute index of this block's last input
    const maxK = Math.floor((last * this.outRate) / this.inRate);
    const count = Math.max(0, maxK - this.produced + 1);
    const out = new Float32Array(count);
    for (let j = 0; j < count; j++) {
      const k = this.produced + j;
      const num = k * this.inRate; // t = num / outRate, absolute
      const i = Math.floor(num / this.outRate);
      const f = (num - i * this.outRate) / this.outRate;
      const r = i - this.consumed; // relative index, >= -1
      const a = r < 0 ? this.prev : filtered[r]!;
      const b = r + 1 < n ? filtered[r + 1]! : a;
      out[j] = f === 0 ? a : a + (b - a) * f;
    }
    this.produced += count;
    this.consumed += n;
    this.prev = filtered[n - 1]!;
    return out;
  }

  /** Moving average over `width` samples, continued across blocks. */
  private box(input: Float32Array): Float32Array {
    const w = this.width;
    const out = new Float32Array(input.length);
    const hist = this.hist;
    let sum = this.histSum;
    let pos = this.histPos;
    for (let i = 0; i < input.length; i++) {
      const x = input[i]!;
      sum += x - hist[pos]!;
      hist[pos] = x;
      pos = pos + 1 === w ? 0 : pos + 1;
      out[i] = sum / w;
    }
    this.histSum = sum;
    this.histPos = pos;
    return out;
  }
}
