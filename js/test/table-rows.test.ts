import { describe, expect, it } from "vitest";
import { RowModel, type TableRow, cellText, countLine, parseRow, parseTableMsg } from "../src/table/rows";

function row(item_id: string, key: number, extra: Partial<TableRow> = {}): TableRow {
  return { item_id, key, deleted: false, type: "message", role: "user", status: "completed", text: item_id, ...extra };
}

function numbers(m: RowModel): (number | null)[] {
  return m.numbering().map((r) => r.n);
}

describe("RowModel", () => {
  it("keeps rows sorted by key, then item_id, whatever the arrival order", () => {
    const m = new RowModel();
    expect(m.upsert(row("c", 3))).toEqual({ op: "insert", id: "c", before: null });
    expect(m.upsert(row("a", 1))).toEqual({ op: "insert", id: "a", before: "c" });
    expect(m.upsert(row("b2", 2))).toEqual({ op: "insert", id: "b2", before: "c" });
    expect(m.upsert(row("b1", 2))).toEqual({ op: "insert", id: "b1", before: "b2" });
    expect(m.upsert(row("z", -1))).toEqual({ op: "insert", id: "z", before: "a" });
    expect(m.upsert(row("mid", 1.5))).toEqual({ op: "insert", id: "mid", before: "b1" });
    expect(m.ids()).toEqual(["z", "a", "mid", "b1", "b2", "c"]);
    expect(numbers(m)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(m.size).toBe(6);
  });

  it("an upsert with the same key updates in place; a key change moves the row", () => {
    const m = new RowModel();
    for (const r of [row("a", 1), row("b", 2), row("c", 3)]) m.upsert(r);
    expect(m.upsert(row("b", 2, { text: "new" }))).toEqual({ op: "update", id: "b" });
    expect(m.get("b")?.text).toBe("new");
    expect(m.ids()).toEqual(["a", "b", "c"]);
    expect(m.upsert(row("a", 5))).toEqual({ op: "move", id: "a", before: null });
    expect(m.ids()).toEqual(["b", "c", "a"]);
    expect(m.upsert(row("c", 0))).toEqual({ op: "move", id: "c", before: "b" });
    expect(m.ids()).toEqual(["c", "b", "a"]);
    // moving to the same (key, item_id) neighbourhood: the tie is broken by item_id
    expect(m.upsert(row("a", 2))).toEqual({ op: "move", id: "a", before: "b" });
    expect(m.ids()).toEqual(["c", "a", "b"]);
    expect(m.size).toBe(3);
  });

  it("reset forgets every row", () => {
    const m = new RowModel();
    m.upsert(row("a", 1));
    m.upsert(row("b", 2, { deleted: true }));
    m.reset();
    expect(m.size).toBe(0);
    expect(m.ids()).toEqual([]);
    expect(m.get("a")).toBeUndefined();
    expect(m.countText()).toBe("0 items (0 deleted)");
    expect(m.upsert(row("b", 2))).toEqual({ op: "insert", id: "b", before: null });
  });

  it("deleted rows keep their place but are not numbered or counted as items", () => {
    const m = new RowModel();
    m.upsert(row("a", 1));
    m.upsert(row("b", 2, { deleted: true }));
    m.upsert(row("c", 3));
    expect(m.ids()).toEqual(["a", "b", "c"]);
    expect(numbers(m)).toEqual([0, null, 1]);
    expect(m.counts()).toEqual({ live: 2, deleted: 1 });
    expect(m.countText()).toBe("2 items (1 deleted)");
    m.upsert(row("a", 1, { deleted: true }));
    expect(numbers(m)).toEqual([null, null, 0]);
    expect(m.countText()).toBe("1 item (2 deleted)");
    m.upsert(row("b", 2, { deleted: false }));
    expect(numbers(m)).toEqual([null, 0, 1]);
    expect(m.countText()).toBe("2 items (1 deleted)");
  });
});

describe("count line", () => {
  it("uses correct plurals", () => {
    expect(countLine(0, 0)).toBe("0 items (0 deleted)");
    expect(countLine(1, 0)).toBe("1 item (0 deleted)");
    expect(countLine(2, 1)).toBe("2 items (1 deleted)");
    expect(countLine(1, 3)).toBe("1 item (3 deleted)");
  });
});

describe("parsing", () => {
  it("reads rows leniently: needs a string item_id, a missing key is 0, deleted is a bool", () => {
    expect(parseRow({ item_id: "a", key: 1.5, type: "message", latency_s: 0.25, total_tokens: null, deleted: 1 }))
      .toEqual({ item_id: "a", key: 1.5, type: "message", latency_s: 0.25, total_tokens: null, deleted: true });
    expect(parseRow({ item_id: "a" })).toEqual({ item_id: "a", key: 0, deleted: false });
    expect(parseRow({ item_id: "a", key: "x" })?.key).toBe(0);
    for (const bad of [null, 1, "a", [], {}, { item_id: 3 }]) expect(parseRow(bad)).toBeNull();
  });

  it("reads reset / rows messages and nothing else", () => {
    expect(parseTableMsg({ kind: "reset", rows: [{ item_id: "a", key: 1 }, { nope: 1 }] }))
      .toEqual({ kind: "reset", rows: [{ item_id: "a", key: 1, deleted: false }] });
    expect(parseTableMsg({ kind: "rows" })).toEqual({ kind: "rows", rows: [] });
    expect(parseTableMsg({ kind: "rows", rows: { item_id: "a" } })).toEqual({ kind: "rows", rows: [] });
    for (const bad of [null, 1, "reset", [], {}, { kind: "snapshot_request" }, { kind: "snapshot", rows: [] }]) {
      expect(parseTableMsg(bad)).toBeNull();
    }
  });

  it("cell text: null and undefined are empty, the rest is String(value)", () => {
    expect(cellText(null)).toBe("");
    expect(cellText(undefined)).toBe("");
    expect(cellText(0)).toBe("0");
    expect(cellText(0.123)).toBe("0.123");
    expect(cellText(false)).toBe("false");
    expect(cellText("<b>x</b>")).toBe("<b>x</b>");
  });
});
