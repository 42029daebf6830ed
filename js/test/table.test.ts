import { describe, expect, it } from "vitest";
import table from "../src/table/index";
import { FakeModel } from "./helpers";

const HEADERS = ["#", "item_id", "type", "role", "status", "text", "response_id", "latency_s", "total_tokens"];

function mount(): { model: FakeModel; el: HTMLElement; cleanup: () => void } {
  const model = new FakeModel();
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = table.render({ model: model as never, el } as never) as () => void;
  return {
    model,
    el,
    cleanup: () => {
      cleanup();
      el.remove();
    },
  };
}

function row(item_id: string, key: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    item_id, key, type: "message", role: "user", status: "completed", text: `text ${item_id}`,
    response_id: null, latency_s: 0.5, total_tokens: 12, deleted: false, ...extra,
  };
}

/** The table body as [#, item_id] pairs. */
function body(el: HTMLElement): string[][] {
  return [...el.querySelectorAll("tbody tr")].map((tr) => [...tr.children].slice(0, 2).map((td) => td.textContent ?? ""));
}

describe("live table entry", () => {
  it("exports default { render }: mounts, asks for a snapshot, cleans up", () => {
    expect(Object.keys(table)).toEqual(["render"]);
    const { model, el, cleanup } = mount();
    expect(model.sent).toEqual([{ kind: "snapshot_request" }]);
    expect([...el.querySelectorAll(".rnb-table thead th")].map((th) => th.textContent)).toEqual(HEADERS);
    expect(el.querySelector(".rnb-table .rnb-count")?.textContent).toBe("");
    expect(model.listenerCount("msg:custom")).toBe(1);
    cleanup();
    expect(model.listenerCount("msg:custom")).toBe(0);
    expect(el.querySelector(".rnb-table")).toBeNull();
  });

  it("reset fills the table in key order; rows upserts insert, update and move", () => {
    const { model, el, cleanup } = mount();
    model.custom({ kind: "reset", rows: [row("b", 2), row("a", 1), row("c", 3, { deleted: true })] });
    expect(body(el)).toEqual([["0", "a"], ["1", "b"], ["", "c"]]);
    expect(el.querySelector(".rnb-count")?.textContent).toBe("2 items (1 deleted)");
    const cells = [...el.querySelectorAll('tr[data-item-id="a"] td')].map((td) => td.textContent);
    expect(cells).toEqual(["0", "a", "message", "user", "completed", "text a", "", "0.5", "12"]);
    expect(el.querySelector('tr[data-item-id="c"]')?.className).toBe("deleted");

    model.custom({ kind: "rows", rows: [row("root", 0.5), row("b", 2, { text: "edited", deleted: true })] });
    expect(body(el)).toEqual([["0", "root"], ["1", "a"], ["", "b"], ["", "c"]]);
    expect(el.querySelector('tr[data-item-id="b"] td:nth-child(6)')?.textContent).toBe("edited");
    expect(el.querySelector('tr[data-item-id="b"]')?.className).toBe("deleted");
    expect(el.querySelector(".rnb-count")?.textContent).toBe("2 items (2 deleted)");

    const trA = el.querySelector('tr[data-item-id="a"]');
    model.custom({ kind: "rows", rows: [row("a", 9)] }); // key changed: the row moves
    expect(body(el)).toEqual([["0", "root"], ["", "b"], ["", "c"], ["1", "a"]]);
    expect(el.querySelectorAll('tr[data-item-id="a"]')).toHaveLength(1);
    expect(el.querySelector('tr[data-item-id="a"]')).toBe(trA);

    model.custom({ kind: "rows", rows: [row("b", 2, { deleted: false })] });
    expect(body(el)).toEqual([["0", "root"], ["1", "b"], ["", "c"], ["2", "a"]]);
    expect(el.querySelector('tr[data-item-id="b"]')?.className).toBe("");
    expect(el.querySelector(".rnb-count")?.textContent).toBe("3 items (1 deleted)");

    model.custom({ kind: "reset", rows: [row("x", 1)] });
    expect(body(el)).toEqual([["0", "x"]]);
    expect(el.querySelector(".rnb-count")?.textContent).toBe("1 item (0 deleted)");
    model.custom({ kind: "reset", rows: [] });
    expect(body(el)).toEqual([]);
    expect(el.querySelector(".rnb-count")?.textContent).toBe("0 items (0 deleted)");
    cleanup();
  });

  it("ignores malformed messages and rows", () => {
    const { model, el, cleanup } = mount();
    model.custom({ kind: "reset", rows: [row("a", 1)] });
    for (const bad of [null, 1, "x", [], {}, { kind: "nope" }, { kind: "rows" }, { kind: "rows", rows: 5 },
      { kind: "rows", rows: [null, 1, {}, { item_id: 7 }] }, { kind: "snapshot_request" }]) {
      expect(() => model.custom(bad)).not.toThrow();
    }
    expect(body(el)).toEqual([["0", "a"]]);
    expect(model.sent).toEqual([{ kind: "snapshot_request" }]);
    cleanup();
  });

  it("shows server values as text, never markup", () => {
    const { model, el, cleanup } = mount();
    const p = "<img src=x onerror=alert(1)><script>alert(1)</script>";
    model.custom({ kind: "reset", rows: [row(p, 1, { type: p, role: p, status: p, text: p, response_id: p })] });
    expect(el.querySelectorAll("img, script, a, svg, iframe, style")).toHaveLength(0);
    expect(el.querySelector("tbody tr td:nth-child(6)")?.textContent).toBe(p);
    expect(el.querySelector("tbody tr")?.getAttribute("data-item-id")).toBe(p);
    cleanup();
  });
});
