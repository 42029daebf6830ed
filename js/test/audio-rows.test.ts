// Items with audio in the list: the play button and duration on their row, the cut mark of a
// truncated item, and transcripts that grow live as their deltas arrive (input transcription
// of a user's audio, the assistant's output transcript).
import { afterEach, describe, expect, it } from "vitest";
import { audioControl, formatDuration } from "../src/audio/chip";
import { ConversationView } from "../src/view";
import { FakeModel, ManualScheduler } from "./helpers";

const views: (() => void)[] = [];
afterEach(() => {
  for (const c of views.splice(0)) c();
});

function mount() {
  const model = new FakeModel();
  const sched = new ManualScheduler();
  const host = document.createElement("div");
  document.body.append(host);
  const view = new ConversationView(model, host, { scheduler: sched, newId: () => "req-1" });
  view.start();
  views.push(() => {
    view.destroy();
    host.remove();
  });
  const text = (id: string) => host.querySelector(`.rnb-item[data-item-id="${id}"] .rnb-text`)?.textContent;
  const q = (sel: string) => host.querySelector<HTMLElement>(sel);
  return { model, sched, host, text, q };
}

const user = { id: "u", type: "message", role: "user", status: "completed", done: true, previous_item_id: null,
  content: [{ type: "input_audio", transcript: null }], audio_s: 1.66 };
const assistant = { id: "a", type: "message", role: "assistant", status: "in_progress", previous_item_id: "u",
  content: [{ type: "output_audio", transcript: "" }] };

describe("transcripts stream in", () => {
  it("input transcription and output transcript deltas show as they arrive", () => {
    const t = mount();
    t.model.custom({ kind: "snapshot", items: [user, assistant], errors: [], log: [], seq: 0 });
    t.sched.frame();
    t.model.custom({ kind: "delta", item_id: "u", field: "transcript", content_index: 0, text: "(1.7 s", seq: 1 });
    t.model.custom({ kind: "delta", item_id: "a", field: "transcript", content_index: 0, text: "Hello", seq: 2 });
    t.sched.frame();
    expect(t.text("u")).toBe("(1.7 s");
    expect(t.text("a")).toBe("Hello");
    t.model.custom({ kind: "delta", item_id: "u", field: "transcript", content_index: 0, text: " of speech)", seq: 3 });
    t.model.custom({ kind: "delta", item_id: "a", field: "transcript", content_index: 0, text: " there", seq: 4 });
    t.sched.frame();
    expect(t.text("u")).toBe("(1.7 s of speech)");
    expect(t.text("a")).toBe("Hello there");
    expect(t.q('.rnb-item[data-item-id="a"]')?.dataset.streaming).toBe("true");
  });
});

describe("the audio control of a row", () => {
  it("a play button and the duration; the cut when truncated; off the Tab order on other rows", () => {
    const t = mount();
    const cut = { ...assistant, status: "incomplete", done: true, audio_s: 0.812, audio_cut_ms: 812 };
    t.model.custom({ kind: "snapshot", items: [user, cut], errors: [], log: [], seq: 0 });
    t.sched.frame();
    const play = t.q('.rnb-item[data-item-id="u"] .rnb-audio .rnb-play')!;
    expect(play.getAttribute("aria-label")).toBe("Play audio");
    expect(play.dataset.action).toBe("play-audio");
    expect(play.dataset.audioMs).toBe("1660");
    expect(play.tabIndex).toBe(-1); // the last row is the list's Tab stop
    expect(t.q('.rnb-item[data-item-id="u"] .rnb-audio-duration')?.textContent).toBe("1.7 s");
    const dur = t.q('.rnb-item[data-item-id="a"] .rnb-audio-duration')!;
    expect(dur.textContent).toBe("0.8 s (cut)");
    expect(dur.title).toContain("0.81 s");
    expect(t.q('.rnb-item[data-item-id="a"] .rnb-play')!.tabIndex).toBe(0);
  });

  it("items without audio have none; durations read well", () => {
    expect(audioControl({ id: "x", type: "message", previous_item_id: null, content: [{ type: "input_text", text: "hi" }] })).toBeNull();
    const held = audioControl({ id: "y", type: "message", previous_item_id: null, content: [{ type: "input_audio" }] })!;
    expect(held.querySelector(".rnb-audio-duration")!.textContent).toBe(""); // length not known
    expect([0.04, 12.34, 65.2].map(formatDuration)).toEqual(["0.0 s", "12.3 s", "1:05"]);
  });
});
