import { describe, expect, it } from "vitest";
import { ConversationStore } from "../src/store";
import { SnapshotGate } from "../src/sync";
import type { KernelMsg } from "../src/types";
import { msg } from "./helpers";

function run(gate: SnapshotGate, store: ConversationStore, input: KernelMsg[]): KernelMsg[] {
  const applied: KernelMsg[] = [];
  for (const m of input) {
    for (const out of gate.receive(m)) {
      applied.push(out);
      if (out.kind === "snapshot") store.reset(out.items);
      else if (out.kind === "inserted" || out.kind === "updated" || out.kind === "removed" || out.kind === "delta") {
        store.apply(out);
      }
    }
  }
  return applied;
}

const snap = (items = [msg("a", null)], extra: Partial<Extract<KernelMsg, { kind: "snapshot" }>> = {}): KernelMsg => ({
  kind: "snapshot",
  items,
  errors: [],
  log: [],
  ...extra,
});

describe("SnapshotGate", () => {
  it("buffers changes until the snapshot, then applies them after it", () => {
    const gate = new SnapshotGate();
    const store = new ConversationStore();
    const applied = run(gate, store, [
      { kind: "inserted", item: msg("b", "a") },
      { kind: "delta", item_id: "b", field: "text", content_index: 0, text: "!" },
    ]);
    expect(applied).toEqual([]);
    expect(gate.pending).toBe(2);
    run(gate, store, [snap([msg("a", null)])]);
    expect([...store.ids()]).toEqual(["a", "b"]);
    expect(store.get("b")!.item.content![0]!.text).toBe("text of b!");
    expect(gate.hasSnapshot).toBe(true);
  });

  it("an inserted already in the snapshot is applied idempotently (no duplicate)", () => {
    const gate = new SnapshotGate();
    const store = new ConversationStore();
    run(gate, store, [{ kind: "inserted", item: msg("b", "a") }, snap([msg("a", null), msg("b", "a")])]);
    expect([...store.ids()]).toEqual(["a", "b"]);
  });

  it("without seq, a buffered delta for an item the snapshot has final is dropped", () => {
    const gate = new SnapshotGate();
    const store = new ConversationStore();
    run(gate, store, [
      { kind: "delta", item_id: "a", field: "text", content_index: 0, text: "XX" },
      snap([msg("a", null, "done text")]),
    ]);
    expect(store.get("a")!.item.content![0]!.text).toBe("done text");
  });

  it("without seq, buffered deltas the snapshot already contains are not applied twice", () => {
    const gate = new SnapshotGate();
    const store = new ConversationStore();
    const d = (text: string, item_id = "a") => ({ kind: "delta" as const, item_id, field: "text" as const, content_index: 0, text });
    run(gate, store, [
      d("He"), d("llo"), d("!"), // the snapshot below was built after the first two
      d("x", "b"), // b's snapshot text does not end with "x": applied
      snap([
        msg("a", null, "He" + "llo", { status: "in_progress", done: false }),
        msg("b", "a", "", { status: "in_progress", done: false, content: [] }),
      ]),
    ]);
    expect(store.get("a")!.item.content![0]!.text).toBe("Hello!");
    expect(store.get("b")!.item.content![0]!.text).toBe("x");
  });

  it("without seq, deltas after a buffered update of the same item are applied as they come", () => {
    const gate = new SnapshotGate();
    const store = new ConversationStore();
    const d = (text: string) => ({ kind: "delta" as const, item_id: "a", field: "text" as const, content_index: 0, text });
    const partial = msg("a", null, "ab", { status: "in_progress", done: false });
    run(gate, store, [{ kind: "updated", item: partial }, d("b"), snap([partial])]);
    expect(store.get("a")!.item.content![0]!.text).toBe("abb");
  });

  it("with seq, drops buffered changes the snapshot reflects and late duplicates", () => {
    const gate = new SnapshotGate();
    const store = new ConversationStore();
    const streaming = msg("a", null, "He", { status: "in_progress", done: false });
    run(gate, store, [
      { kind: "delta", item_id: "a", field: "text", content_index: 0, text: "He", seq: 4 },
      { kind: "delta", item_id: "a", field: "text", content_index: 0, text: "llo", seq: 5 },
      snap([streaming], { seq: 4 }),
      { kind: "delta", item_id: "a", field: "text", content_index: 0, text: "llo", seq: 5 }, // resent: dropped
      { kind: "delta", item_id: "a", field: "text", content_index: 0, text: "!", seq: 6 },
    ]);
    expect(store.get("a")!.item.content![0]!.text).toBe("Hello!");
  });

  it("ignores another view's snapshot once it has its own", () => {
    const gate = new SnapshotGate();
    gate.requestId = "mine";
    const store = new ConversationStore();
    run(gate, store, [snap([msg("a", null)], { request_id: "mine" })]);
    run(gate, store, [{ kind: "inserted", item: msg("b", "a") }]);
    const out = run(gate, store, [snap([msg("other", null)], { request_id: "theirs" })]);
    expect(out).toEqual([]);
    expect([...store.ids()]).toEqual(["a", "b"]);
  });

  it("accepts any snapshot before its own, and snapshots without request_id always", () => {
    const gate = new SnapshotGate();
    gate.requestId = "mine";
    const store = new ConversationStore();
    run(gate, store, [snap([msg("x", null)], { request_id: "theirs" })]);
    expect([...store.ids()]).toEqual(["x"]);
    run(gate, store, [snap([msg("y", null)])]);
    expect([...store.ids()]).toEqual(["y"]);
  });

  it("drops buffered log entries and errors already in the snapshot", () => {
    const gate = new SnapshotGate();
    const err = { message: "bad", code: null, type: null, param: null, event_id: null, item_id: null, request_id: null, ts: 1 };
    const e = (seq: number) => ({ seq, ts: seq, direction: "in" as const, type: "t", payload: {} });
    gate.receive({ kind: "log", entries: [e(1), e(2), e(3)] });
    gate.receive({ kind: "error", error: err });
    gate.receive({ kind: "error", error: { ...err, message: "new", ts: 2 } });
    const out = gate.receive({ kind: "snapshot", items: [], errors: [err], log: [e(0), e(1), e(2)] });
    expect(out.map((m) => m.kind)).toEqual(["snapshot", "log", "error"]);
    expect(out[1]).toEqual({ kind: "log", entries: [e(3)] });
    expect((out[2] as { error: { message: string } }).error.message).toBe("new");
  });

  it("passes results through before the snapshot", () => {
    const gate = new SnapshotGate();
    const r: KernelMsg = { kind: "result", request_id: "r1", ok: true, error: null, field: null };
    expect(gate.receive(r)).toEqual([r]);
  });
});
