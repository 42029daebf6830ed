// Cuts the resampled microphone signal into fixed-size PCM16 chunks (pure; runs in the capture
// worklet, tested by vitest). Each chunk is a fresh Int16Array over its own whole ArrayBuffer:
// JupyterLab sends a view's whole underlying buffer, so a sub-view must never be handed over.

import { floatToInt16 } from "./pcm";

export interface MicChunk {
  pcm: Int16Array;
  /** RMS level of the chunk, dBFS (-100 for silence). */
  level: number;
}

export class Chunker {
  private buf: Int16Array;
  private fill = 0;
  private sumSq = 0;

  constructor(readonly size: number) {
    if (!(size > 0)) throw new RangeError("chunk size must be positive");
    this.buf = new Int16Array(size);
  }

  /** Add samples (-1..1); returns the chunks they complete. */
  push(samples: Float32Array): MicChunk[] {
    const out: MicChunk[] = [];
    let i = 0;
    while (i < samples.length) {
      const take = Math.min(this.size - this.fill, samples.length - i);
      const part = samples.subarray(i, i + take);
      floatToInt16(part, this.buf, this.fill);
      for (let j = 0; j < part.length; j++) this.sumSq += part[j]! * part[j]!;
      this.fill += take;
      i += take;
      if (this.fill === this.size) out.push(this.take());
    }
    return out;
  }

  /** The partial chunk (a shorter Int16Array), or null when empty. */
  flush(): MicChunk | null {
    if (this.fill === 0) return null;
    return this.take();
  }

  private take(): MicChunk {
    const n = this.fill;
    const pcm = n === this.size ? this.buf : this.buf.slice(0, n);
    const rms = Math.sqrt(this.sumSq / n);
    this.buf = new Int16Array(this.size);
    this.fill = 0;
    this.sumSq = 0;
    return { pcm, level: rms > 1e-5 ? Math.max(-100, 20 * Math.log10(rms)) : -100 };
  }
}
