import { describe, expect, it } from "vitest";
import widget from "../src/widget";
import { FakeModel, msg } from "./helpers";

describe("anywidget entry", () => {
  it("exports default { render } that mounts, requests a snapshot, and cleans up", async () => {
    expect(typeof widget.render).toBe("function");
    const model = new FakeModel();
    const el = document.createElement("div");
    const cleanup = widget.render({ model: model as never, el } as never);
    expect(el.querySelector(".rnb-root")).not.toBeNull();
    expect(model.sent).toEqual([{ kind: "snapshot_request", request_id: expect.any(String) }]);
    model.custom({ kind: "snapshot", request_id: model.sent[0].request_id, items: [msg("a", null, "hi")], errors: [], log: [] });
    await new Promise((r) => setTimeout(r, 50)); // default scheduler: animation frame / timer
    expect(el.querySelector('.rnb-item[data-item-id="a"] .rnb-text')?.textContent).toBe("hi");
    expect(typeof cleanup).toBe("function");
    (cleanup as () => void)();
    expect(el.querySelector(".rnb-root")).toBeNull();
    expect(model.listenerCount("msg:custom")).toBe(0);
  });

  it("ignores malformed messages", () => {
    const model = new FakeModel();
    const el = document.createElement("div");
    const cleanup = widget.render({ model: model as never, el } as never) as () => void;
    for (const bad of [null, 1, "x", [], {}, { kind: "nope" }, { kind: "inserted" }, { kind: "inserted", item: { type: "message" } },
      { kind: "delta", item_id: "a", field: "evil", text: "x" }, { kind: "result" }]) {
      expect(() => model.custom(bad)).not.toThrow();
    }
    cleanup();
  });

  it("a journal seeded with an old snapshot asks to catch up when change_seq is ahead", () => {
    const snapshot = { kind: "snapshot", items: [msg("a", null, "hi")], errors: [], log: [], seq: 3 };
    const model = new FakeModel({ snapshot, change_seq: 9, journal_key: "k-catch-up" });
    const stop = (widget.initialize as (ctx: { model: unknown }) => () => void)({ model });
    expect(model.sent).toEqual([{ kind: "snapshot_request", request_id: "journal" }]);
    stop();
    const fresh = new FakeModel({ snapshot, change_seq: 3, journal_key: "k-current" });
    (widget.initialize as (ctx: { model: unknown }) => () => void)({ model: fresh })();
    expect(fresh.sent).toEqual([]);
  });

  it("a view opened later shows the newest event count, not the snapshot's", async () => {
    const snapshot = { kind: "snapshot", items: [msg("a", null, "hi")], errors: [], log: [], seq: 0, events: 3 };
    const model = new FakeModel({ snapshot, change_seq: 0, journal_key: "k-counts" });
    const stop = (widget.initialize as (ctx: { model: unknown }) => () => void)({ model });
    model.custom({ kind: "batch", events: 500, messages: [] });
    const el = document.createElement("div");
    const cleanup = widget.render({ model: model as never, el } as never) as () => void;
    await new Promise((r) => setTimeout(r, 50));
    expect(el.querySelector(".rnb-count-events")?.textContent).toBe("500");
    cleanup();
    stop();
  });
});

