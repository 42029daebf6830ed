// Tool calls through the whole view (FakeModel = the kernel): the strip on the call's row,
// Approve / Deny and what they send, states from any source, the elapsed time ticking in the
// browser, results, a closed session, hostile names, ordering around the snapshot.
import { afterEach, describe, expect, it, vi } from "vitest";
import widget from "../src/widget";
import type { ItemView, ToolView } from "../src/types";
import { FakeModel, mountView } from "./helpers";

function fc(id: string, prev: string | null, name = "get_weather", args = '{"city":"Oslo"}'): ItemView {
  return { id, type: "function_call", status: "completed", name, call_id: `call_${id}`, arguments: args, previous_item_id: prev, done: true };
}

function tool(itemId: string, extra: Partial<ToolView> = {}): ToolView {
  return {
    id: `call_${itemId}`, kind: "function", name: "get_weather", item_id: itemId, status: "waiting",
    response_id: "resp_1", server_label: null, started_at: null, finished_at: null, elapsed_s: null,
    error: null, reason: null, ...extra,
  };
}

let cleanup: (() => void)[] = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
  vi.useRealTimers();
});

function mk(traits: Record<string, unknown> = {}) {
  const { model, sched, host, view } = mountView(traits);
  cleanup.push(() => {
    view.destroy();
    host.remove();
  });
  const strip = (itemId: string) => host.querySelector<HTMLElement>(`.rnb-item[data-item-id="${itemId}"] .rnb-tool`);
  const btn = (itemId: string, name: string) =>
    strip(itemId)?.querySelector<HTMLButtonElement>(`button[aria-label="${name}"]`) ?? null;
  const snapshot = (tools: ToolView[], items: ItemView[] = [fc("fc1", null)], seq = 0, extra = {}) =>
    model.custom({ kind: "snapshot", request_id: model.sent[0].request_id, items, errors: [], log: [], seq, tools, now: Date.now() / 1000, ...extra });
  return { model, sched, host, view, frame: () => sched.frame(), strip, btn, snapshot };
}

describe("the tool strip", () => {
  it("a waiting call shows its state and Approve / Deny; approve sends the call's id", () => {
    const t = mk();
    t.snapshot([tool("fc1")]);
    t.frame();
    const s = t.strip("fc1")!;
    expect(s.dataset.toolStatus).toBe("waiting");
    expect(s.getAttribute("role")).toBe("group");
    expect(s.getAttribute("aria-label")).toBe("Tool get_weather: waiting for approval");
    expect(s.querySelector(".rnb-tool-status")?.textContent).toBe("waiting for approval");
    // the row itself still shows the call: name and pretty arguments
    const row = t.host.querySelector('.rnb-item[data-item-id="fc1"]')!;
    expect(row.querySelector(".rnb-name")?.textContent).toBe("get_weather");
    expect(row.querySelector("pre.rnb-text")?.textContent).toBe('{\n  "city": "Oslo"\n}');
    const approve = t.btn("fc1", "Approve")!;
    expect(approve.textContent).toBe("Approve");
    expect(approve.disabled).toBe(false);
    expect(approve.tabIndex).toBe(0); // keyboard-reachable
    expect(s.querySelector<HTMLInputElement>('input[aria-label="Reason (optional)"]')).not.toBeNull();
    approve.click();
    expect(t.model.lastSent()).toEqual({ kind: "approve", request_id: expect.any(String), call_id: "call_fc1" });
    t.frame();
    // sent, not yet answered: both buttons wait (no double answer), nothing is guessed
    expect(t.btn("fc1", "Approve")!.disabled).toBe(true);
    expect(t.btn("fc1", "Deny")!.disabled).toBe(true);
    expect(t.strip("fc1")!.getAttribute("aria-busy")).toBe("true");
    expect(t.strip("fc1")!.dataset.toolStatus).toBe("waiting");
    t.model.custom({ kind: "result", request_id: t.model.lastSent().request_id, ok: true, error: null, field: null });
    t.model.custom({ kind: "tool", seq: 1, now: Date.now() / 1000, call: tool("fc1", { status: "completed", started_at: 1, finished_at: 1.25, elapsed_s: 0.25 }) });
    t.frame();
    const done = t.strip("fc1")!;
    expect(done.dataset.toolStatus).toBe("completed");
    expect(done.querySelector(".rnb-tool-decide")?.hasAttribute("hidden")).toBe(true);
    expect(done.querySelector(".rnb-tool-status")?.textContent).toBe("completed");
    expect(done.querySelector(".rnb-tool-elapsed")?.textContent).toBe("0.2 s");
    expect(done.hasAttribute("aria-busy")).toBe(false);
  });

  it("deny sends the typed reason; a call answered elsewhere (a cell) settles the buttons too", () => {
    const t = mk();
    t.snapshot([tool("fc1"), tool("fc2")], [fc("fc1", null), fc("fc2", "fc1", "delete_file")]);
    t.frame();
    t.strip("fc1")!.querySelector<HTMLInputElement>(".rnb-tool-reason")!.value = "  not today ";
    t.btn("fc1", "Deny")!.click();
    expect(t.model.lastSent()).toEqual({ kind: "deny", request_id: expect.any(String), call_id: "call_fc1", reason: "not today" });
    // fc2 is approved from a cell: only the tool message arrives
    t.model.custom({ kind: "batch", events: 10, messages: [
      { kind: "tool", seq: 1, now: 1, call: tool("fc1", { status: "denied", error: "The user declined to run get_weather: not today" }) },
      { kind: "tool", seq: 2, now: 1, call: tool("fc2", { status: "running", started_at: Date.now() / 1000 }) },
    ] });
    t.frame();
    expect(t.strip("fc1")!.dataset.toolStatus).toBe("denied");
    expect(t.strip("fc1")!.querySelector(".rnb-tool-detail")?.textContent).toBe("The user declined to run get_weather: not today");
    expect(t.btn("fc1", "Approve")).not.toBeNull(); // kept in the element, hidden with its group
    expect(t.strip("fc1")!.querySelector(".rnb-tool-decide")?.hasAttribute("hidden")).toBe(true);
    expect(t.strip("fc2")!.dataset.toolStatus).toBe("running");
    expect(t.strip("fc2")!.querySelector(".rnb-tool-decide")?.hasAttribute("hidden")).toBe(true);
    // a late refusal of the deny (already answered) adds no error to a settled call
    t.model.custom({ kind: "result", request_id: "req-2", ok: false, error: "is denied, not waiting", field: null });
    t.frame();
    expect(t.strip("fc1")!.querySelector(".rnb-tool-error")?.hasAttribute("hidden")).toBe(true);
  });

  it("a refused action shows why and offers the buttons again", () => {
    const t = mk();
    t.snapshot([tool("fc1")]);
    t.frame();
    t.btn("fc1", "Approve")!.click();
    const rid = t.model.lastSent().request_id;
    t.model.custom({ kind: "result", request_id: rid, ok: false, error: "no tool call 'call_fc1' is known", field: null });
    t.frame();
    const err = t.strip("fc1")!.querySelector(".rnb-tool-error")!;
    expect(err.hasAttribute("hidden")).toBe(false);
    expect(err.textContent).toBe("no tool call 'call_fc1' is known");
    expect(t.btn("fc1", "Approve")!.disabled).toBe(false);
    // the editor's actions never saw it
    expect(t.host.querySelector(".rnb-errors .rnb-error")).toBeNull();
  });

  it("no answer in action_timeout seconds: says so and offers the buttons again", () => {
    vi.useFakeTimers();
    const t = mk({ action_timeout: 2 });
    t.snapshot([tool("fc1")]);
    t.frame();
    t.btn("fc1", "Approve")!.click();
    vi.advanceTimersByTime(1900);
    t.frame();
    expect(t.btn("fc1", "Approve")!.disabled).toBe(true);
    vi.advanceTimersByTime(200);
    t.frame();
    expect(t.strip("fc1")!.querySelector(".rnb-tool-error")?.textContent).toBe("no answer from the kernel");
    expect(t.btn("fc1", "Approve")!.disabled).toBe(false);
  });

  it("a running call shows a spinner and its elapsed time, ticked in the browser", () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date(1_000_000_000));
    const t = mk();
    const start = Date.now() / 1000;
    t.snapshot([tool("fc1", { status: "running", started_at: start })]);
    t.frame();
    const s = t.strip("fc1")!;
    expect(s.querySelector(".rnb-spinner")?.hasAttribute("hidden")).toBe(false);
    expect(s.querySelector(".rnb-spinner")?.getAttribute("aria-hidden")).toBe("true");
    expect(s.querySelector(".rnb-tool-elapsed")?.textContent).toBe("0.0 s");
    const sent = t.model.sent.length;
    vi.advanceTimersByTime(1600); // redrawn every 200 ms
    expect(s.querySelector(".rnb-tool-elapsed")?.textContent).toBe("1.6 s"); // no paint needed
    vi.advanceTimersByTime(10_400);
    expect(s.querySelector(".rnb-tool-elapsed")?.textContent).toBe("12 s");
    expect(t.model.sent.length).toBe(sent); // nothing asked of the kernel
    // the ticking element is outside the live region (a screen reader hears state changes only)
    expect(s.querySelector("[aria-live] .rnb-tool-elapsed")).toBeNull();
    t.model.custom({ kind: "tool", seq: 1, now: start + 13, call: tool("fc1", { status: "failed", started_at: start, finished_at: start + 13, elapsed_s: 13, error: "ValueError: boom" }) });
    t.frame();
    expect(s.dataset.toolStatus).toBe("failed");
    expect(s.querySelector(".rnb-spinner")?.hasAttribute("hidden")).toBe(true);
    expect(s.querySelector(".rnb-tool-elapsed")?.textContent).toBe("13 s");
    expect(s.querySelector(".rnb-tool-detail")?.textContent).toBe("ValueError: boom");
    expect(vi.getTimerCount()).toBe(0); // the ticker stopped with the last running call
  });

  it("an MCP approval request gets the same buttons, labelled by its server", () => {
    const t = mk();
    const req: ItemView = { id: "mcpr", type: "mcp_approval_request", name: "search_docs", server_label: "docs", arguments: "{}", previous_item_id: null, done: true };
    t.snapshot([tool("mcpr", { id: "mcpr", kind: "mcp", name: "search_docs", server_label: "docs" })], [req]);
    t.frame();
    expect(t.strip("mcpr")!.getAttribute("aria-label")).toBe("MCP tool search_docs: waiting for approval");
    t.btn("mcpr", "Deny")!.click();
    expect(t.model.lastSent()).toMatchObject({ kind: "deny", call_id: "mcpr" });
    t.model.custom({ kind: "tool", seq: 1, now: 1, call: tool("mcpr", { id: "mcpr", kind: "mcp", status: "denied", reason: "wrong server" }) });
    t.frame();
    expect(t.strip("mcpr")!.querySelector(".rnb-tool-detail")?.textContent).toBe("wrong server");
  });

  it("a closed session or a gone kernel turns the buttons off", () => {
    const t = mk();
    t.snapshot([tool("fc1")]);
    t.frame();
    t.model.set("status", "closed");
    t.frame();
    expect(t.btn("fc1", "Approve")!.disabled).toBe(true);
    expect(t.btn("fc1", "Deny")!.disabled).toBe(true);
    expect(t.strip("fc1")!.querySelector<HTMLInputElement>(".rnb-tool-reason")!.disabled).toBe(true);
    t.btn("fc1", "Approve")!.click();
    expect(t.model.lastSent().kind).toBe("snapshot_request");
  });

  it("names and errors from the kernel are text, never markup", () => {
    const t = mk();
    const evil = '<img src=x onerror="window.__x=1">';
    t.snapshot([tool("fc1", { name: evil, status: "failed", error: evil })], [fc("fc1", null, evil)]);
    t.frame();
    const s = t.strip("fc1")!;
    expect(s.querySelector("img")).toBeNull();
    expect(s.querySelector(".rnb-tool-detail")?.textContent).toBe(evil);
    expect(s.getAttribute("aria-label")).toContain(evil);
  });

  it("keeps the reason typed so far and its focus when the row is painted again", () => {
    const t = mk();
    t.snapshot([tool("fc1")]);
    t.frame();
    const input = t.strip("fc1")!.querySelector<HTMLInputElement>(".rnb-tool-reason")!;
    input.focus();
    input.value = "half a thou";
    t.model.custom({ kind: "updated", seq: 1, item: fc("fc1", null) });
    t.frame();
    expect(t.strip("fc1")!.querySelector(".rnb-tool-reason")).toBe(input);
    expect(input.value).toBe("half a thou");
    expect(document.activeElement).toBe(input);
  });

  it("tool messages the snapshot already holds are dropped; later ones apply", () => {
    const t = mk();
    // before the snapshot: buffered
    t.model.custom({ kind: "tool", seq: 4, now: 1, call: tool("fc1", { status: "running", started_at: 1 }) });
    t.model.custom({ kind: "tool", seq: 6, now: 1, call: tool("fc1", { status: "completed", elapsed_s: 1 }) });
    t.snapshot([tool("fc1", { status: "running", started_at: 1 })], [fc("fc1", null)], 5);
    t.frame();
    expect(t.strip("fc1")!.dataset.toolStatus).toBe("completed");
    t.model.custom({ kind: "tool", seq: 3, now: 1, call: tool("fc1", { status: "waiting" }) }); // stale
    t.frame();
    expect(t.strip("fc1")!.dataset.toolStatus).toBe("completed");
  });

  it("a view opened later starts from the journal with the calls' newest state", async () => {
    const snapshot = { kind: "snapshot", items: [fc("fc1", null)], errors: [], log: [], seq: 0, tools: [tool("fc1")], now: 1 };
    const model = new FakeModel({ snapshot, change_seq: 0, journal_key: "k-tools" });
    const stop = (widget.initialize as (ctx: { model: unknown }) => () => void)({ model });
    model.custom({ kind: "tool", seq: 1, now: 1, call: tool("fc1", { status: "completed", elapsed_s: 0.5 }), events: 12 });
    expect(model.sent).toEqual([]); // the tool message's seq keeps the journal in step
    const el = document.createElement("div");
    const done = widget.render({ model: model as never, el } as never) as () => void;
    await new Promise((r) => setTimeout(r, 50));
    expect(el.querySelector<HTMLElement>('.rnb-item[data-item-id="fc1"] .rnb-tool')?.dataset.toolStatus).toBe("completed");
    model.set("change_seq", 1);
    expect(model.sent.filter((m) => m.request_id === "journal")).toEqual([]);
    done();
    stop();
  });
});
