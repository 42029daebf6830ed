import { describe, expect, it } from "vitest";
import { DeltaCoalescer, type MergedDelta } from "../src/coalesce";
import { ConversationStore } from "../src/store";
import { ManualScheduler, msg } from "./helpers";

describe("DeltaCoalescer", () => {
  it("many deltas in one frame give one flush with the exact joined text", () => {
    const sched = new ManualScheduler();
    const flushed: MergedDelta[][] = [];
    const c = new DeltaCoalescer((d) => flushed.push(d), sched);
    const words: string[] = [];
    for (let i = 0; i < 500; i++) {
      const w = `w${i} `;
      words.push(w);
      c.push({ item_id: "a", field: "text", content_index: 0, text: w });
    }
    expect(flushed).toHaveLength(0);
    expect(sched.pending).toBe(1); // one frame requested, not 500
    sched.frame();
    expect(flushed).toHaveLength(1);
    expect(flushed[0]).toEqual([
      { item_id: "a", field: "text", content_index: 0, text: words.join(""), count: 500 },
    ]);
    sched.frame();
    expect(flushed).toHaveLength(1); // nothing new, no flush
  });

  it("one flush per frame across frames", () => {
    const sched = new ManualScheduler();
    let flushes = 0;
    const c = new DeltaCoalescer(() => flushes++, sched);
    for (let f = 0; f < 10; f++) {
      for (let i = 0; i < 20; i++) c.push({ item_id: "a", field: "text", content_index: 0, text: "x" });
      sched.frame();
    }
    expect(flushes).toBe(10);
    expect(c.flushes).toBe(10);
  });

  it("interleaved items/fields keep the received order (exact text per field and item)", () => {
    const sched = new ManualScheduler();
    const store = new ConversationStore();
    store.insert(msg("a", null, "", { content: [], role: "assistant" }));
    store.insert({ id: "f", type: "function_call", previous_item_id: "a", arguments: "" });
    const c = new DeltaCoalescer((ds) => ds.forEach((d) => store.applyDelta(d)), sched);
    const seq: [string, "text" | "transcript" | "arguments", number | null, string][] = [
      ["a", "text", 0, "Hel"],
      ["a", "text", 0, "lo"],
      ["f", "arguments", null, '{"x"'],
      ["a", "transcript", 1, "hi "],
      ["a", "text", 0, " world"],
      ["f", "arguments", null, ": 1}"],
      ["a", "transcript", 1, "there"],
    ];
    for (const [item_id, field, content_index, text] of seq) c.push({ item_id, field, content_index, text });
    sched.frame();
    const a = store.get("a")!.item;
    expect(a.content![0]!.text).toBe("Hello world");
    expect(a.content![1]!.transcript).toBe("hi there");
    expect(a.text).toBe("Hellohi  worldthere");
    expect(store.get("f")!.item.arguments).toBe('{"x": 1}');
  });

  it("flush() applies synchronously and cancels the frame", () => {
    const sched = new ManualScheduler();
    const calls: boolean[] = [];
    const c = new DeltaCoalescer((_d, inFrame) => calls.push(inFrame), sched);
    c.push({ item_id: "a", field: "text", content_index: 0, text: "x" });
    c.flush();
    expect(calls).toEqual([false]);
    expect(sched.pending).toBe(0);
    c.push({ item_id: "a", field: "text", content_index: 0, text: "y" });
    sched.frame();
    expect(calls).toEqual([false, true]);
  });
});
