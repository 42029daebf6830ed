// PCM16 <-> float conversions (pure; used by the worklets, the engine and vitest).

/** Float samples (-1..1) as PCM16: clamped, scaled by 0x8000 below zero and 0x7fff above. */
export function floatToInt16(src: Float32Array, out: Int16Array = new Int16Array(src.length), at = 0): Int16Array {
  for (let i = 0; i < src.length; i++) {
    const s = src[i]!;
    const c = s < -1 ? -1 : s > 1 ? 1 : s;
    out[at + i] = c < 0 ? Math.round(c * 0x8000) : Math.round(c * 0x7fff);
  }
  return out;
}

/** PCM16 little-endian bytes as float samples (-1..1). Reads through a DataView, so any
 * alignment and any view (the kernel's buffers arrive as DataViews) works. */
export function int16ToFloat(view: DataView): Float32Array {
  const n = view.byteLength >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true) / 0x8000;
  return out;
}

/** Any binary buffer form an anywidget host may hand over, as a DataView. */
export function asDataView(b: unknown): DataView | null {
  if (b instanceof DataView) return b;
  if (b instanceof ArrayBuffer) return new DataView(b);
  if (ArrayBuffer.isView(b)) return new DataView(b.buffer, b.byteOffset, b.byteLength);
  return null;
}

/** The root-mean-square level of some samples, in dBFS (-100 for silence). */
export function levelDb(samples: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  const rms = samples.length ? Math.sqrt(sum / samples.length) : 0;
  return rms > 1e-5 ? Math.max(-100, 20 * Math.log10(rms)) : -100;
}
