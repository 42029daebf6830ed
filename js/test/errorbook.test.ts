import { describe, expect, it } from "vitest";
import { ErrorBook, MAX_ERRORS } from "../src/errorbook";
import { rowKeyTarget } from "../src/follow";
import type { ErrorView } from "../src/types";

const err = (message: string, item_id: string | null = null): ErrorView => ({
  message, code: null, type: null, param: null, event_id: null, item_id, request_id: null, ts: 0,
});

describe("ErrorBook", () => {
  it("an error belongs to its item while the item is listed, else to the top", () => {
    const b = new ErrorBook();
    b.add(err("a", "i1"));
    b.add(err("b"));
    b.add(err("c", "gone"));
    const has = (id: string) => id === "i1";
    expect(b.forItem("i1").map((e) => e.error.message)).toEqual(["a"]);
    expect(b.orphans(has).map((e) => e.error.message)).toEqual(["b", "c"]);
    b.dismissOrphans(has);
    expect(b.orphans(has)).toEqual([]);
    expect(b.forItem("i1")).toHaveLength(1);
  });

  it("dismiss says which item lost an error; an item's removal takes its errors", () => {
    const b = new ErrorBook();
    b.add(err("a", "i1"));
    b.add(err("b", "i1"));
    const [first] = b.forItem("i1");
    expect(b.dismiss(first!.key)).toBe("i1");
    expect(b.dismiss(first!.key)).toBeNull();
    b.itemGone("i1");
    expect(b.forItem("i1")).toEqual([]);
  });

  it("keeps the newest MAX_ERRORS, with keys never reused", () => {
    const b = new ErrorBook();
    b.reset(Array.from({ length: MAX_ERRORS + 5 }, (_, i) => err(`e${i}`)));
    const all = b.orphans(() => false);
    expect(all).toHaveLength(MAX_ERRORS);
    expect(all[0]!.error.message).toBe("e5");
    b.add(err("new"));
    const keys = b.orphans(() => false).map((e) => e.key);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe("rowKeyTarget", () => {
  it("moves by one, a page (clamped), or to either end; other keys do not move", () => {
    expect(rowKeyTarget("ArrowDown", 3, 10, 4)).toBe(4);
    expect(rowKeyTarget("ArrowUp", 3, 10, 4)).toBe(2);
    expect(rowKeyTarget("PageDown", 8, 10, 4)).toBe(9);
    expect(rowKeyTarget("PageUp", 2, 10, 4)).toBe(0);
    expect(rowKeyTarget("Home", 5, 10, 4)).toBe(0);
    expect(rowKeyTarget("End", 5, 10, 4)).toBe(9);
    expect(rowKeyTarget("a", 5, 10, 4)).toBeNull();
  });
});
