// The player's AudioWorkletProcessor ("rnb-player"), bundled on its own into a string
// (scripts/build.mjs, `?worklet` imports) and loaded from a Blob URL: one node per player
// context, kept for the whole session (an underrun never ends it).
//
// Messages in: {cmd: "push", stream, data: Float32Array} | {cmd: "done", stream} |
// {cmd: "stop", id, streams: string[] | null}.
// Messages out: {type: "tick", frame, total, events, current} every 50 ms while something
// plays (every 0.5 s when idle; at once when a stream starts or ends), and
// {type: "stopped", id, frame, total, stopped} in answer to "stop".

import { type PlayerEvent, PlayerQueue } from "./queue";

declare const sampleRate: number;
declare const currentFrame: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, ctor: unknown): void;

export interface PlayerCmd {
  cmd: "push" | "done" | "stop";
  stream?: string;
  data?: Float32Array;
  id?: number;
  streams?: string[] | null;
}

function define(): unknown {
  const REPORT_FRAMES = Math.round(sampleRate * 0.05);
  const IDLE_REPORT_FRAMES = Math.round(sampleRate * 0.5); // the page maps its clock on them
  return class Player extends AudioWorkletProcessor {
    private readonly q = new PlayerQueue({
      prebuffer: Math.round(sampleRate * 0.05),
      maxWait: Math.round(sampleRate * 0.5),
    });
    private lastReport = 0;
    private wasBusy = false;

    constructor() {
      super();
      this.port.onmessage = (e: MessageEvent<PlayerCmd>) => this.command(e.data);
    }

    private command(c: PlayerCmd): void {
      if (c.cmd === "push" && c.stream && c.data) this.q.push(c.stream, c.data);
      else if (c.cmd === "done" && c.stream) this.q.finish(c.stream);
      else if (c.cmd === "stop") {
        const stopped = this.q.stop(c.streams ?? null);
        this.port.postMessage({ type: "stopped", id: c.id, frame: currentFrame, total: this.q.total, stopped });
      }
    }

    process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
      const channels = outputs[0];
      const out = channels?.[0];
      if (!channels || !out) return true;
      const events: PlayerEvent[] = this.q.render(out);
      for (let c = 1; c < channels.length; c++) channels[c]!.set(out);
      const busy = this.q.busy;
      const every = busy || this.wasBusy ? REPORT_FRAMES : IDLE_REPORT_FRAMES;
      if (events.length || currentFrame - this.lastReport >= every) {
        this.lastReport = currentFrame;
        this.port.postMessage({ type: "tick", frame: currentFrame, total: this.q.total, events, current: this.q.current() });
      }
      this.wasBusy = busy;
      return true;
    }
  };
}

if (typeof registerProcessor === "function") registerProcessor("rnb-player", define());
