// Tool calls, the pure parts: parsing, what a row says about a call, the elapsed time and its
// formatting, the board (by call, by item, clock skew). tools-view.test.ts drives the strip
// through the whole view.
import { describe, expect, it } from "vitest";
import { parseKernelMsg, parseKernelMsgs } from "../src/protocol";
import {
  ToolBoard,
  describeCall,
  elapsedOf,
  formatElapsed,
  parseToolList,
  parseToolMsg,
  parseToolView,
} from "../src/tools/model";
import type { ToolMsg, ToolView } from "../src/types";

function call(extra: Partial<ToolView> = {}): ToolView {
  return {
    id: "call_1",
    kind: "function",
    name: "get_weather",
    item_id: "item_fc",
    status: "waiting",
    response_id: "resp_1",
    server_label: null,
    started_at: null,
    finished_at: null,
    elapsed_s: null,
    error: null,
    reason: null,
    ...extra,
  };
}

function msg(c: ToolView, now: number | null, received: number, seq = 1): ToolMsg {
  return { kind: "tool", call: c, now, received, seq };
}

describe("parsing", () => {
  it("reads a call leniently and refuses one without an id or an item", () => {
    expect(parseToolView({ id: "c", item_id: "i", kind: "mcp", name: "search", status: "waiting", server_label: "docs", started_at: "x" }))
      .toEqual(call({ id: "c", item_id: "i", kind: "mcp", name: "search", response_id: null, server_label: "docs" }));
    expect(parseToolView({ id: "c", item_id: "i" })).toMatchObject({ kind: "function", name: "", status: "unknown" });
    for (const bad of [null, 1, [], {}, { id: "c" }, { item_id: "i" }, { id: "", item_id: "i" }]) {
      expect(parseToolView(bad)).toBeNull();
    }
    expect(parseToolList([{ id: "a", item_id: "i" }, null, { id: "b" }, { id: "c", item_id: "j" }]).map((c) => c.id)).toEqual(["a", "c"]);
    expect(parseToolList("nope")).toEqual([]);
  });

  it("a tool message is a change message: seq, the kernel's clock and the browser's", () => {
    const m = parseToolMsg({ call: { id: "c", item_id: "i", status: "running", started_at: 100 }, now: 101 }, 7, 105);
    expect(m).toMatchObject({ kind: "tool", seq: 7, now: 101, received: 105, call: { status: "running", started_at: 100 } });
    expect(parseToolMsg({ call: { id: "c" } }, 1)).toBeNull();
    // through the protocol parser, alone and inside a batch
    expect(parseKernelMsg({ kind: "tool", seq: 3, now: 1, call: { id: "c", item_id: "i", status: "completed" } }))
      .toMatchObject({ kind: "tool", seq: 3, call: { id: "c" } });
    expect(parseKernelMsgs({ kind: "batch", events: 9, messages: [{ kind: "tool", seq: 4, call: { id: "c", item_id: "i" } }, { kind: "tool" }] })
      .map((x) => x.kind)).toEqual(["tool", "counts"]);
  });

  it("a snapshot carries the calls and the kernel's clock", () => {
    const snap = parseKernelMsg({ kind: "snapshot", items: [], errors: [], log: [], now: 50, tools: [{ id: "c", item_id: "i", status: "waiting" }, 3] });
    expect(snap).toMatchObject({ kind: "snapshot", now: 50, tools: [{ id: "c", status: "waiting" }] });
    expect(parseKernelMsg({ kind: "snapshot", items: [], errors: [], log: [] })).toMatchObject({ tools: [], now: null });
  });
});

describe("what a row says about a call", () => {
  it("maps every status to words, a tone, and whether to offer approval or tick", () => {
    const said = (status: string, extra: Partial<ToolView> = {}) => describeCall(call({ status, ...extra }));
    expect(said("waiting")).toEqual({ label: "waiting for approval", tone: "wait", waiting: true, running: false, detail: "" });
    expect(said("running")).toMatchObject({ label: "running", tone: "busy", waiting: false, running: true });
    expect(said("completed", { error: null })).toMatchObject({ label: "completed", tone: "ok", running: false, detail: "" });
    expect(said("failed", { error: "ValueError: boom" })).toMatchObject({ label: "failed", tone: "bad", detail: "ValueError: boom" });
    expect(said("timeout", { error: "TimeoutError: slow did not finish within 5 s" }))
      .toMatchObject({ label: "timed out", tone: "bad", detail: "TimeoutError: slow did not finish within 5 s" });
    expect(said("denied", { error: "The user declined to run get_weather: not today" }))
      .toMatchObject({ label: "denied", tone: "bad", waiting: false, detail: "The user declined to run get_weather: not today" });
    expect(said("dropped")).toMatchObject({ label: "dropped", tone: "muted" });
    expect(said("dropped").detail).toContain("lost with the connection");
    expect(said("approved")).toMatchObject({ label: "approved", tone: "ok", waiting: false });
    // MCP: the person's reason is what there is to say
    expect(said("denied", { kind: "mcp", reason: "not that server" })).toMatchObject({ label: "denied", detail: "not that server" });
    expect(said("approved", { kind: "mcp", reason: null })).toMatchObject({ label: "approved", detail: "" });
    // a status from a newer kernel: shown as it is, nothing offered
    expect(said("paused_for_lunch")).toEqual({ label: "paused for lunch", tone: "muted", waiting: false, running: false, detail: "" });
  });
});

describe("elapsed time", () => {
  it("formats seconds, minutes and hours readably", () => {
    expect(formatElapsed(0)).toBe("0.0 s");
    expect(formatElapsed(-3)).toBe("0.0 s");
    expect(formatElapsed(Number.NaN)).toBe("0.0 s");
    expect(formatElapsed(0.349)).toBe("0.3 s");
    expect(formatElapsed(9.99)).toBe("9.9 s"); // never rounds up past what ran
    expect(formatElapsed(10)).toBe("10 s");
    expect(formatElapsed(59.9)).toBe("59 s");
    expect(formatElapsed(125)).toBe("2 min 05 s");
    expect(formatElapsed(3600 + 120 + 59)).toBe("1 h 02 min");
  });

  it("ticks from started_at on the kernel's clock while running; the kernel's measure once done", () => {
    const running = call({ status: "running", started_at: 1000 });
    expect(elapsedOf(running, 1002.5, 0)).toBe(2.5);
    expect(elapsedOf(running, 1012.5, 10)).toBe(2.5); // the browser's clock is 10 s ahead
    expect(elapsedOf(running, 990, 0)).toBe(0); // never negative
    expect(elapsedOf(call({ status: "completed", started_at: 1000, finished_at: 1000.42, elapsed_s: 0.42 }), 5000, 0)).toBe(0.42);
    expect(elapsedOf(call({ status: "completed", started_at: 1000, finished_at: 1003 }), 5000, 0)).toBe(3);
    expect(elapsedOf(call({ status: "waiting" }), 5000, 0)).toBeNull();
  });
});

describe("the board", () => {
  it("keeps the newest state per call and finds it by the item that shows it", () => {
    const b = new ToolBoard();
    expect(b.reset([call(), call({ id: "call_2", item_id: "item_2", status: "running", started_at: 1 })], null)).toEqual(["item_fc", "item_2"]);
    expect(b.forItem("item_fc")?.status).toBe("waiting");
    expect(b.anyRunning()).toBe(true);
    expect(b.apply(msg(call({ status: "completed" }), null, 0))).toEqual(["item_fc"]);
    expect(b.forItem("item_fc")?.status).toBe("completed");
    b.apply(msg(call({ id: "call_2", item_id: "item_2", status: "failed" }), null, 0));
    expect(b.anyRunning()).toBe(false);
    expect(b.forItem("nope")).toBeUndefined();
    // a later snapshot replaces everything, and names the rows that lose their strip too
    expect(b.reset([call({ id: "call_3", item_id: "item_3" })], null).sort()).toEqual(["item_2", "item_3", "item_fc"]);
    expect(b.size).toBe(1);
    expect(b.forItem("item_fc")).toBeUndefined();
  });

  it("estimates the clock skew from the messages' clocks, not from the stale seed snapshot", () => {
    const b = new ToolBoard();
    expect(b.skew).toBe(0);
    b.reset([], null); // the snapshot the widget was made with: no sample
    expect(b.skew).toBe(0);
    b.reset([], { now: 1000, received: 1030.2 }); // browser 30 s ahead, plus transit
    expect(b.skew).toBeCloseTo(30.2);
    b.apply(msg(call(), 2000, 2030.05)); // a faster message: a better estimate
    expect(b.skew).toBeCloseTo(30.05);
    b.apply(msg(call(), 2000, 2040)); // a slow one changes nothing
    expect(b.skew).toBeCloseTo(30.05);
    b.apply(msg(call(), null, 0)); // no clock: no sample
    expect(b.skew).toBeCloseTo(30.05);
  });
});
