import { describe, expect, it } from "vitest";
import { LogModel, LogPanel, collapses } from "../src/log";
import type { LogEntry } from "../src/types";

let seq = 0;
const e = (type: string, item_id?: string, direction: "in" | "out" = "in"): LogEntry => ({
  seq: seq++,
  ts: 1_700_000_000 + seq,
  direction,
  type,
  payload: item_id ? { type, item_id, delta: "x" } : { type },
});

describe("LogModel collapsing", () => {
  it("counts only the new part of a collapsed run that overlaps what it has", () => {
    const m = new LogModel();
    const d = (seq: number, count: number, first_seq: number): LogEntry => ({
      seq, ts: 1_700_000_000 + seq, direction: "in", type: "response.output_text.delta",
      payload: { item_id: "a" }, item_id: "a", count, first_seq });
    m.add([d(50, 11, 40)]); // the tail: deltas 40..50
    m.add([d(55, 11, 45)]); // a batch that collapsed 45..55: only 51..55 are new
    expect(m.rows.map((r) => r.count)).toEqual([16]);
    expect(m.events).toBe(16);
  });

  it("skips entries it already has (a tail sent again when a panel opens)", () => {
    const m = new LogModel();
    const a = e("response.created");
    const b = e("response.output_text.delta", "a");
    const c = e("response.done");
    m.add([a, b]);
    m.add([a, b, c]);
    expect(m.rows.map((r) => r.type)).toEqual(["response.created", "response.output_text.delta", "response.done"]);
    expect(m.events).toBe(3);
    m.total = 120;
    expect(m.count).toBe(120);
  });

  it("adds the count of a run the kernel already collapsed", () => {
    const m = new LogModel();
    const created = e("response.created");
    const run: LogEntry = { ...e("response.output_text.delta", "a"), count: 40, first_ts: 5 };
    m.add([created, run, { ...e("response.output_text.delta", "a"), count: 2 }]);
    expect(m.rows.map((r) => [r.type, r.count, r.firstTs])).toEqual([
      ["response.created", 1, m.rows[0]!.firstTs],
      ["response.output_text.delta", 42, 5],
    ]);
    expect(m.events).toBe(43);
  });

  it("collapses consecutive deltas of the same type and item into one row with a count", () => {
    const m = new LogModel();
    m.add([
      e("response.created"),
      e("response.output_text.delta", "a"),
      e("response.output_text.delta", "a"),
      e("response.output_text.delta", "a"),
      e("response.output_text.delta", "b"), // other item: new row
      e("response.output_audio_transcript.delta", "b"), // other type: new row
      e("response.output_audio_transcript.delta", "b"),
      e("response.output_text.done", "a"),
      e("response.output_text.done", "a"), // not a delta: never collapsed
      e("response.output_text.delta", "a"), // not consecutive with the first run
    ]);
    expect(m.rows.map((r) => [r.type, r.itemId, r.count])).toEqual([
      ["response.created", null, 1],
      ["response.output_text.delta", "a", 3],
      ["response.output_text.delta", "b", 1],
      ["response.output_audio_transcript.delta", "b", 2],
      ["response.output_text.done", "a", 1],
      ["response.output_text.done", "a", 1],
      ["response.output_text.delta", "a", 1],
    ]);
    expect(m.events).toBe(10);
  });

  it("direction breaks a run", () => {
    const first = e("x.delta", "a", "in");
    const m = new LogModel();
    m.add([first]);
    expect(collapses(m.rows[0], e("x.delta", "a", "out"))).toBe(false);
    expect(collapses(m.rows[0], e("x.delta", "a", "in"))).toBe(true);
  });

  it("collapses across batches and caps the rows kept", () => {
    const m = new LogModel(5);
    m.add([e("a.delta", "i")]);
    const c = m.add([e("a.delta", "i"), e("b")]);
    expect(c.updated.map((r) => r.count)).toEqual([2]);
    expect(c.appended.map((r) => r.type)).toEqual(["b"]);
    m.add(Array.from({ length: 10 }, (_, i) => e(`t${i}`)));
    expect(m.rows).toHaveLength(5);
  });
});

describe("LogPanel DOM", () => {
  it("renders rows with direction, type and count; updates the collapsed row in place", () => {
    const p = new LogPanel();
    p.add([e("session.update", undefined, "out"), e("response.output_text.delta", "a"), e("response.output_text.delta", "a")]);
    expect(p.el.hidden).toBe(true);
    p.setOpen(true);
    expect(p.el.hidden).toBe(false);
    const rows = p.el.querySelectorAll<HTMLElement>(".rnb-log-row");
    expect(rows).toHaveLength(2);
    expect(rows[0]!.dataset.direction).toBe("out");
    expect(rows[0]!.dataset.type).toBe("session.update");
    expect(rows[1]!.dataset.direction).toBe("in");
    expect(rows[1]!.querySelector(".rnb-log-count")?.textContent).toBe("2");
    expect(rows[0]!.querySelector<HTMLElement>(".rnb-log-count")!.hidden).toBe(true);

    p.add([e("response.output_text.delta", "a"), e("response.done")]);
    p.paint();
    const after = p.el.querySelectorAll<HTMLElement>(".rnb-log-row");
    expect(after).toHaveLength(3);
    expect(after[1]).toBe(rows[1]); // patched, not rebuilt
    expect(after[1]!.querySelector(".rnb-log-count")?.textContent).toBe("3");
  });

  it("shows local entries and groups by the entry's own item_id", () => {
    const p = new LogPanel();
    p.add([
      { seq: 1, ts: 1, direction: "local", type: "realtime_nb.status", payload: { status: "open" } },
      { seq: 2, ts: 2, direction: "in", type: "response.output_audio.delta", item_id: "i1", payload: { delta: 3200 } },
      { seq: 3, ts: 3, direction: "in", type: "response.output_audio.delta", item_id: "i1", payload: { delta: 3200 } },
    ]);
    p.setOpen(true);
    const rows = p.el.querySelectorAll<HTMLElement>(".rnb-log-row");
    expect(rows[0]!.dataset.direction).toBe("local");
    expect(rows[0]!.querySelector(".rnb-log-dir")?.textContent).toContain("local");
    expect(rows).toHaveLength(2);
    expect(rows[1]!.dataset.itemId).toBe("i1");
    expect(rows[1]!.querySelector(".rnb-log-count")?.textContent).toBe("2");
  });

  it("the payload JSON is a collapsible <details>, filled when opened", () => {
    const p = new LogPanel();
    p.add([{ seq: 1, ts: 1, direction: "in", type: "error", payload: { error: { message: "m" } } }]);
    p.setOpen(true);
    const d = p.el.querySelector<HTMLDetailsElement>("details.rnb-log-row")!;
    expect(d.querySelector("pre")!.textContent).toBe("");
    d.open = true;
    d.dispatchEvent(new Event("toggle"));
    expect(d.querySelector("pre")!.textContent).toBe(JSON.stringify({ error: { message: "m" } }, null, 2));
  });

  it("keeps at most maxDomRows rows in the DOM", () => {
    const p = new LogPanel(10);
    p.setOpen(true);
    for (let i = 0; i < 30; i++) {
      p.add([e(`t${i}`)]);
      p.paint();
    }
    expect(p.el.querySelectorAll(".rnb-log-row")).toHaveLength(10);
    expect(p.el.querySelector<HTMLElement>(".rnb-log-row")!.dataset.type).toBe("t20");
  });
});
