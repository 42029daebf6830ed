import { describe, expect, it } from "vitest";
import { ConversationStore, appendDelta } from "../src/store";
import type { ItemView } from "../src/types";
import { msg } from "./helpers";

const ids = (s: ConversationStore) => [...s.ids()];

describe("ConversationStore ordering", () => {
  it("inserts after previous_item_id, null = head, unknown anchor = append", () => {
    const s = new ConversationStore();
    s.insert(msg("a", null));
    s.insert(msg("c", "a"));
    s.insert(msg("b", "a")); // between a and c
    s.insert(msg("z", null)); // new head
    s.insert(msg("x", "never-seen")); // unknown anchor: append
    expect(ids(s)).toEqual(["z", "a", "b", "c", "x"]);
    expect(s.indexOf("b")).toBe(2);
    expect(s.at(4)?.item.id).toBe("x");
    expect(s.lastId()).toBe("x");
    expect(s.prevOf("a")).toBe("z");
  });

  it("snapshot keeps array order and replaces everything", () => {
    const s = new ConversationStore();
    s.insert(msg("old", null));
    s.reset([msg("a", null), msg("b", "a"), msg("c", "b")]);
    expect(ids(s)).toEqual(["a", "b", "c"]);
    expect(s.has("old")).toBe(false);
  });

  it("removes and keeps the links right (head, middle, tail)", () => {
    const s = new ConversationStore();
    s.reset(["a", "b", "c", "d", "e"].map((id, i, arr) => msg(id, i ? arr[i - 1]! : null)));
    s.remove("c");
    expect(ids(s)).toEqual(["a", "b", "d", "e"]);
    s.remove("a");
    s.remove("e");
    expect(ids(s)).toEqual(["b", "d"]);
    s.insert(msg("f", "b"));
    expect(ids(s)).toEqual(["b", "f", "d"]);
    expect(s.indexOf("d")).toBe(2);
    expect(s.indexOf("a")).toBe(-1);
  });
});

describe("ConversationStore idempotency", () => {
  it("inserted of a known id updates in place", () => {
    const s = new ConversationStore();
    s.insert(msg("a", null));
    s.insert(msg("b", "a"));
    const changes = s.insert(msg("a", null, "new text"));
    expect(changes).toEqual([{ kind: "item", id: "a" }]);
    expect(ids(s)).toEqual(["a", "b"]);
    expect(s.get("a")?.item.text).toBe("new text");
    expect(s.size).toBe(2);
  });

  it("inserted of a known id naming another known anchor moves it", () => {
    const s = new ConversationStore();
    s.reset([msg("a", null), msg("b", "a"), msg("c", "b")]);
    s.insert(msg("a", "c"));
    expect(ids(s)).toEqual(["b", "c", "a"]);
  });

  it("updated of an unknown id inserts at the end; position otherwise unchanged", () => {
    const s = new ConversationStore();
    s.insert(msg("a", null));
    s.update(msg("q", null));
    expect(ids(s)).toEqual(["a", "q"]);
    s.update(msg("a", "q", "changed")); // updated never moves
    expect(ids(s)).toEqual(["a", "q"]);
    expect(s.get("a")?.item.text).toBe("changed");
  });

  it("removed of an unknown id and delta of an unknown id are no-ops", () => {
    const s = new ConversationStore();
    s.insert(msg("a", null));
    expect(s.remove("nope")).toEqual([]);
    expect(s.applyDelta({ item_id: "nope", field: "text", content_index: 0, text: "x" })).toEqual([]);
    expect(ids(s)).toEqual(["a"]);
  });

  it("applying the same inserted/updated/removed twice equals applying it once", () => {
    const ops = [
      { kind: "inserted" as const, item: msg("a", null) },
      { kind: "inserted" as const, item: msg("b", "a") },
      { kind: "updated" as const, item: msg("a", null, "A") },
      { kind: "removed" as const, item_id: "b" },
      { kind: "inserted" as const, item: msg("c", "a") },
    ];
    const once = new ConversationStore();
    const twice = new ConversationStore();
    for (const op of ops) {
      once.apply(op);
      twice.apply(op);
      twice.apply(op);
    }
    expect(ids(twice)).toEqual(ids(once));
    expect(twice.get("a")?.item.text).toBe("A");
  });
});

describe("deltas and streaming", () => {
  it("appends text/transcript/arguments, creating parts when needed", () => {
    const s = new ConversationStore();
    s.insert({ id: "m", type: "message", role: "assistant", content: [], previous_item_id: null, status: null });
    s.applyDelta({ item_id: "m", field: "transcript", content_index: 1, text: "Hel" });
    s.applyDelta({ item_id: "m", field: "transcript", content_index: 1, text: "lo" });
    const m = s.get("m")!;
    expect(m.streaming).toBe(true);
    expect(m.item.status).toBe("in_progress");
    expect(m.item.content).toHaveLength(2);
    expect(m.item.content![1]).toEqual({ type: "output_audio", transcript: "Hello" });
    expect(m.item.text).toBe("Hello");

    s.insert({ id: "f", type: "function_call", name: "f", arguments: "", previous_item_id: "m" });
    s.applyDelta({ item_id: "f", field: "arguments", content_index: null, text: '{"a":' });
    s.applyDelta({ item_id: "f", field: "arguments", content_index: null, text: "1}" });
    expect(s.get("f")!.item.arguments).toBe('{"a":1}');
  });

  it("user transcript deltas create an input_audio part", () => {
    const item: ItemView = { id: "u", type: "message", role: "user", previous_item_id: null };
    appendDelta(item, "transcript", null, "hi");
    expect(item.content).toEqual([{ type: "input_audio", transcript: "hi" }]);
  });

  it("streaming ends with an updated carrying a final status", () => {
    const s = new ConversationStore();
    s.insert(msg("a", null, "", { status: "in_progress", done: false, role: "assistant" }));
    s.applyDelta({ item_id: "a", field: "text", content_index: 0, text: "x" });
    expect(s.get("a")!.streaming).toBe(true);
    s.update(msg("a", null, "x", { status: "in_progress", done: false }));
    expect(s.get("a")!.streaming).toBe(true);
    s.update(msg("a", null, "x", { status: "incomplete", done: false }));
    expect(s.get("a")!.streaming).toBe(false);
  });
});

describe("order index against a reference model", () => {
  it("random inserts/removes/moves keep ids() equal to a naive array", () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const s = new ConversationStore();
    const ref: string[] = [];
    for (let step = 0; step < 3000; step++) {
      const op = rnd(10);
      if (op < 6 || ref.length === 0) {
        const id = `i${step}`;
        const r = rnd(4);
        const anchor = r === 0 ? null : r === 1 ? "missing" : ref.length ? ref[rnd(ref.length)]! : null;
        s.insert(msg(id, anchor));
        if (anchor === null) ref.unshift(id);
        else if (anchor === "missing") ref.push(id);
        else ref.splice(ref.indexOf(anchor) + 1, 0, id);
      } else if (op < 9) {
        const id = rnd(3) === 0 ? ref[ref.length - 1]! : ref[rnd(ref.length)]!;
        s.remove(id);
        ref.splice(ref.indexOf(id), 1);
      } else {
        const id = ref[rnd(ref.length)]!;
        const anchor = ref[rnd(ref.length)]!;
        if (anchor !== id) {
          s.insert(msg(id, anchor));
          ref.splice(ref.indexOf(id), 1);
          ref.splice(ref.indexOf(anchor) + 1, 0, id);
        }
      }
      if (step % 97 === 0) {
        expect(ids(s)).toEqual(ref);
        if (ref.length) expect(s.indexOf(ref[ref.length - 1]!)).toBe(ref.length - 1);
      }
    }
    expect(ids(s)).toEqual(ref);
    expect(s.size).toBe(ref.length);
  });

  it("10,000 appends with index access stay linear", () => {
    const s = new ConversationStore();
    const t0 = performance.now();
    let prev: string | null = null;
    for (let i = 0; i < 10_000; i++) {
      const id: string = `x${i}`;
      s.insert(msg(id, prev));
      prev = id;
      // the virtual list reads the tail every change: must not rebuild the order
      expect(s.at(s.size - 1)?.item.id).toBe(id);
    }
    for (let i = 9_999; i >= 5_000; i--) {
      s.remove(`x${i}`); // tail removals
      s.at(s.size - 1);
    }
    expect(s.size).toBe(5_000);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});
