// The microphone's AudioWorkletProcessor ("rnb-capture"), bundled on its own into a string
// (scripts/build.mjs, `?worklet` imports) and loaded from a Blob URL. It runs at the device's
// rate, mixes to mono (the node is made with channelCount 1, "explicit"), resamples to the
// session's input rate and posts chunks of `chunk` PCM16 samples with their level:
// {type: "chunk", pcm: ArrayBuffer (transferred), level}. {cmd: "flush"} answers with the
// partial chunk, if any, then {type: "flushed", id}.

import { Chunker, type MicChunk } from "./chunker";
import { Resampler } from "./resample";

declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, ctor: unknown): void;

export interface CaptureOptions {
  outRate: number;
  chunk: number;
}

function define(): unknown {
  return class Capture extends AudioWorkletProcessor {
    private readonly resampler: Resampler;
    private readonly chunker: Chunker;

    constructor(options: { processorOptions?: CaptureOptions }) {
      super();
      const o = options.processorOptions ?? { outRate: sampleRate, chunk: Math.round(sampleRate / 25) };
      this.resampler = new Resampler(sampleRate, o.outRate);
      this.chunker = new Chunker(o.chunk);
      this.port.onmessage = (e: MessageEvent<{ cmd: string; id?: number }>) => {
        if (e.data.cmd !== "flush") return;
        const rest = this.chunker.flush();
        if (rest) this.post(rest);
        this.port.postMessage({ type: "flushed", id: e.data.id });
      };
    }

    private post(c: MicChunk): void {
      this.port.postMessage({ type: "chunk", pcm: c.pcm.buffer, level: c.level }, [c.pcm.buffer]);
    }

    process(inputs: Float32Array[][]): boolean {
      const input = inputs[0]?.[0];
      if (input && input.length) {
        for (const c of this.chunker.push(this.resampler.process(input))) this.post(c);
      }
      return true;
    }
  };
}

if (typeof registerProcessor === "function") registerProcessor("rnb-capture", define());
