import { afterEach, describe, expect, it } from "vitest";
import { ConversationView } from "../src/view";
import { FakeModel, ManualScheduler, mountView, msg } from "./helpers";

function setup(traits: Record<string, unknown> = {}) {
  const { model, sched, host, view } = mountView(traits);
  const frame = () => sched.frame();
  const $ = <T extends Element = HTMLElement>(sel: string) => host.querySelector<T & HTMLElement>(sel);
  const $$ = (sel: string) => Array.from(host.querySelectorAll<HTMLElement>(sel));
  const click = (el: Element | null) => {
    if (!el) throw new Error("no element");
    (el as HTMLElement).click();
  };
  const key = (el: Element | null, key: string, init: KeyboardEventInit = {}) => {
    if (!el) throw new Error("no element");
    const ev = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...init });
    el.dispatchEvent(ev);
    return ev;
  };
  const row = (id: string) => $(`.rnb-item[data-item-id="${id}"]`);
  return { model, sched, host, view, frame, $, $$, click, key, row };
}

const snapshot = (items = [msg("a", null, "first"), msg("b", "a", "second")]) => ({
  kind: "snapshot", items, errors: [], log: [],
});

let cleanup: (() => void)[] = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
});
function mk(traits: Record<string, unknown> = {}) {
  const t = setup(traits);
  cleanup.push(() => {
    t.view.destroy();
    t.host.remove();
  });
  return t;
}

describe("view lifecycle", () => {
  it("asks for its snapshot on render and builds the list from it", () => {
    const t = mk();
    expect(t.model.sent[0]).toMatchObject({ kind: "snapshot_request" });
    expect(t.$(".rnb-root")?.dataset.loaded).toBe("false");
    expect(t.$(".rnb-placeholder")?.textContent).toContain("Waiting");
    t.model.custom(snapshot());
    t.frame();
    expect(t.$$(".rnb-item").map((e) => e.dataset.itemId)).toEqual(["a", "b"]);
    expect(t.row("a")?.querySelector(".rnb-text")?.textContent).toBe("first");
    expect(t.$(".rnb-root")?.dataset.loaded).toBe("true");
  });

  it("header shows status and endpoint from traits, live, and counts from what arrived", () => {
    const t = mk({ status: "connecting" });
    expect(t.$(".rnb-status")?.dataset.status).toBe("connecting");
    expect(t.$(".rnb-endpoint")?.title).toContain("ws://127.0.0.1");
    expect(t.$(".rnb-endpoint")?.textContent).toBe("127.0.0.1:1234");
    t.model.custom({ ...snapshot(), events: 42 });
    t.frame();
    expect(t.$(".rnb-count-items")?.textContent).toBe(String(t.$$(".rnb-item").length));
    expect(t.$(".rnb-count-events")?.textContent).toBe("42");
    t.model.set("status", "reconnecting");
    t.model.custom({ kind: "batch", events: 43, messages: [] });
    t.frame();
    expect(t.$(".rnb-status")?.dataset.status).toBe("reconnecting");
    expect(t.$(".rnb-status")?.textContent).toBe("reconnecting\u2026");
    expect(t.$(".rnb-count-events")?.textContent).toBe("43");
  });

  it("applies inserted/updated/removed and buffers changes before the snapshot", () => {
    const t = mk();
    t.model.custom({ kind: "inserted", item: msg("c", "b", "third") }); // before snapshot
    t.frame();
    expect(t.$$(".rnb-item")).toHaveLength(0);
    t.model.custom(snapshot());
    t.frame();
    expect(t.$$(".rnb-item").map((e) => e.dataset.itemId)).toEqual(["a", "b", "c"]);
    t.model.custom({ kind: "inserted", item: msg("z", null, "top") });
    t.model.custom({ kind: "updated", item: msg("b", "a", "second!") });
    t.model.custom({ kind: "removed", item_id: "a" });
    t.model.custom({ kind: "removed", item_id: "unknown" });
    t.frame();
    expect(t.$$(".rnb-item").map((e) => e.dataset.itemId)).toEqual(["z", "b", "c"]);
    expect(t.row("b")?.querySelector(".rnb-text")?.textContent).toBe("second!");
  });

  it("streams deltas: one paint per frame, streaming indicator until a final update", () => {
    const t = mk();
    t.model.custom(snapshot([msg("a", null, "", { role: "assistant", status: "in_progress", done: false, content: [] })]));
    t.frame();
    const el = t.row("a")!;
    for (const w of ["Hel", "lo", ", ", "world"]) {
      t.model.custom({ kind: "delta", item_id: "a", field: "text", content_index: 0, text: w });
    }
    expect(el.querySelector(".rnb-text")?.textContent).toBe(""); // not painted yet
    const frames = t.sched.frames;
    t.frame();
    expect(t.sched.frames - frames).toBe(1);
    expect(t.row("a")).toBe(el); // patched in place
    expect(el.querySelector(".rnb-text")?.textContent).toBe("Hello, world");
    expect(el.querySelector(".rnb-streaming")).not.toBeNull();
    t.model.custom({ kind: "delta", item_id: "a", field: "text", content_index: 0, text: "!" });
    t.model.custom({ kind: "updated", item: msg("a", null, "Hello, world!", { role: "assistant", content: [{ type: "output_text", text: "Hello, world!" }] }) });
    t.frame();
    expect(el.querySelector(".rnb-text")?.textContent).toBe("Hello, world!");
    expect(el.querySelector(".rnb-streaming")).toBeNull();
    expect(el.dataset.status).toBe("completed");
  });

  it("kernel errors show next to their item, else in the top error area", () => {
    const t = mk();
    t.model.custom(snapshot());
    const err = (item_id: string | null, message: string) => ({
      kind: "error",
      error: { message, code: "c", type: "invalid_request_error", param: null, event_id: null, item_id, request_id: null, ts: 1 },
    });
    t.model.custom(err("a", "bad item"));
    t.model.custom(err(null, "general failure"));
    t.model.custom(err("ghost", "about a missing item"));
    t.frame();
    expect(t.row("a")?.querySelector(".rnb-error")?.textContent).toContain("bad item");
    const top = t.$$(".rnb-errors .rnb-error").map((e) => e.textContent);
    expect(top).toHaveLength(2);
    expect(top.join()).toContain("general failure");
    expect(top.join()).toContain("about a missing item");
    // dismiss
    t.click(t.row("a")!.querySelector('[aria-label="Dismiss error"]'));
    expect(t.row("a")?.querySelector(".rnb-error")).toBeNull();
  });

  it("details toggle shows id and previous_item_id", () => {
    const t = mk();
    t.model.custom(snapshot());
    t.frame();
    const btn = t.row("b")!.querySelector<HTMLElement>('[aria-label="Show details"]')!;
    t.click(btn);
    expect(btn.getAttribute("aria-expanded")).toBe("true");
    expect(t.row("b")!.querySelector('.rnb-details [data-key="previous_item_id"]')?.textContent).toBe("a");
    t.click(btn);
    expect(t.row("b")!.querySelector<HTMLElement>(".rnb-details")!.hidden).toBe(true);
  });

  it("log messages feed the panel; the toggle shows it", () => {
    const t = mk();
    t.model.custom({ ...snapshot(), log: [{ seq: 0, ts: 1, direction: "out", type: "session.update", payload: {} }] });
    t.model.custom({ kind: "log", entries: [1, 2, 3].map((i) => ({ seq: i, ts: 2, direction: "in", type: "response.output_text.delta", payload: { item_id: "b" } })) });
    t.frame();
    expect(t.$(".rnb-log")!.hidden).toBe(true);
    t.click(t.$('[aria-label="Toggle event log"]'));
    expect(t.$(".rnb-log")!.hidden).toBe(false);
    const rows = t.$$(".rnb-log-row");
    expect(rows.map((r) => [r.dataset.direction, r.dataset.type])).toEqual([
      ["out", "session.update"],
      ["in", "response.output_text.delta"],
    ]);
    expect(rows[1]!.querySelector(".rnb-log-count")?.textContent).toBe("3");
  });

  it("destroy removes the listeners and the DOM", () => {
    const t = setup();
    expect(t.model.listenerCount("msg:custom")).toBe(1);
    t.view.destroy();
    expect(t.model.listenerCount("msg:custom")).toBe(0);
    expect(t.model.listenerCount("change:status")).toBe(0);
    expect(t.host.querySelector(".rnb-root")).toBeNull();
    t.host.remove();
  });
});

describe("editing (no optimistic changes)", () => {
  it("edit -> sends edit with a request_id; not ok -> error, editor stays open with the text", () => {
    const t = mk();
    t.model.custom(snapshot());
    t.frame();
    t.click(t.row("a")!.querySelector('[aria-label="Edit item"]'));
    const ta = t.row("a")!.querySelector<HTMLTextAreaElement>(".rnb-editor textarea")!;
    expect(ta.value).toBe("first");
    expect(document.activeElement).toBe(ta);
    ta.value = "first, edited\nsecond line";
    // Plain Enter is a newline (inserted by the editor: JupyterLab cancels the browser's): no message.
    const before = t.model.sent.length;
    ta.setSelectionRange(ta.value.length, ta.value.length);
    const ev = t.key(ta, "Enter");
    expect(ev.defaultPrevented).toBe(true);
    expect(ta.value).toBe("first, edited\nsecond line\n");
    ta.value = "first, edited\nsecond line";
    expect(t.model.sent.length).toBe(before);
    t.click(t.row("a")!.querySelector('[aria-label="Save edit"]'));
    const sent = t.model.lastSent();
    expect(sent).toEqual({ kind: "edit", request_id: sent.request_id, item_id: "a", text: "first, edited\nsecond line" });
    expect(typeof sent.request_id).toBe("string");
    expect(t.row("a")!.querySelector(".rnb-editor")!.hasAttribute("data-pending")).toBe(true);
    expect(ta.readOnly).toBe(true);
    // No optimistic change.
    expect(t.row("a")!.querySelector(".rnb-text")?.textContent).toBe("first");

    t.model.custom({ kind: "result", request_id: sent.request_id, ok: false, error: "text too long", field: "text" });
    t.frame();
    const row = t.row("a")!;
    expect(row.querySelector(".rnb-error")?.textContent).toContain("text too long");
    expect(row.querySelector<HTMLTextAreaElement>(".rnb-editor textarea")!.value).toBe("first, edited\nsecond line");
    expect(row.querySelector(".rnb-editor")!.hasAttribute("data-pending")).toBe(false);
    expect(row.querySelector(".rnb-text")?.textContent).toBe("first");
  });

  it("Ctrl/Cmd+Enter saves; ok result closes; the list changes only via the following messages", () => {
    const t = mk();
    t.model.custom(snapshot());
    t.frame();
    t.click(t.row("b")!.querySelector('[aria-label="Edit item"]'));
    const ta = t.row("b")!.querySelector<HTMLTextAreaElement>("textarea")!;
    ta.value = "new";
    t.key(ta, "Enter", { metaKey: true });
    const sent = t.model.lastSent("edit");
    expect(sent).toMatchObject({ kind: "edit", item_id: "b", text: "new" });
    t.model.custom({ kind: "result", request_id: sent.request_id, ok: true, error: null, field: null });
    t.frame();
    expect(t.row("b")!.querySelector(".rnb-editor")).toBeNull();
    expect(t.row("b")!.querySelector(".rnb-text")?.textContent).toBe("second");
    t.model.custom({ kind: "removed", item_id: "b" });
    t.model.custom({ kind: "inserted", item: msg("b2", "a", "new") });
    t.frame();
    expect(t.$$(".rnb-item").map((e) => e.dataset.itemId)).toEqual(["a", "b2"]);
  });

  it("Escape cancels an edit without sending", () => {
    const t = mk();
    t.model.custom(snapshot());
    t.frame();
    t.click(t.row("a")!.querySelector('[aria-label="Edit item"]'));
    const before = t.model.sent.length;
    t.key(t.row("a")!.querySelector("textarea"), "Escape");
    t.frame();
    expect(t.row("a")!.querySelector(".rnb-editor")).toBeNull();
    expect(t.model.sent.length).toBe(before);
    // Cancel button too
    t.click(t.row("a")!.querySelector('[aria-label="Edit item"]'));
    t.click(t.row("a")!.querySelector('[aria-label="Cancel edit"]'));
    t.frame();
    expect(t.row("a")!.querySelector(".rnb-editor")).toBeNull();
  });

  it("insert after and insert at top send insert with role and previous_item_id", () => {
    const t = mk();
    t.model.custom(snapshot());
    t.frame();
    t.click(t.row("a")!.querySelector('[aria-label="Insert after"]'));
    const ed = t.row("a")!.querySelector(".rnb-editor")!;
    ed.querySelector<HTMLSelectElement>("select")!.value = "system";
    ed.querySelector<HTMLTextAreaElement>("textarea")!.value = "be brief";
    t.click(ed.querySelector('[aria-label="Save edit"]'));
    expect(t.model.lastSent()).toMatchObject({ kind: "insert", previous_item_id: "a", role: "system", text: "be brief" });
    expect(t.$$(".rnb-item")).toHaveLength(2); // nothing optimistic

    t.click(t.$('[aria-label="Insert at top"]'));
    const top = t.$(".rnb-top-editor .rnb-editor")!;
    top.querySelector<HTMLTextAreaElement>("textarea")!.value = "hello";
    t.key(top.querySelector("textarea"), "Enter", { ctrlKey: true });
    const ins = t.model.lastSent();
    expect(ins).toMatchObject({ kind: "insert", previous_item_id: "root", role: "user", text: "hello" });
    t.model.custom({ kind: "result", request_id: ins.request_id, ok: true, error: null, field: null });
    t.frame();
    expect(t.$(".rnb-top-editor .rnb-editor")).toBeNull();
  });

  it("delete sends delete; a rejected delete shows its error next to the item", () => {
    const t = mk();
    t.model.custom(snapshot());
    t.frame();
    t.click(t.row("a")!.querySelector('[aria-label="Delete item"]'));
    const del = t.model.lastSent();
    expect(del).toMatchObject({ kind: "delete", item_id: "a" });
    expect(t.row("a")).not.toBeNull();
    t.model.custom({ kind: "result", request_id: del.request_id, ok: false, error: "not connected", field: null });
    t.frame();
    expect(t.row("a")!.querySelector(".rnb-error")?.textContent).toContain("not connected");
  });

  it("results for request ids of another view are ignored", () => {
    const t = mk();
    t.model.custom(snapshot());
    t.frame();
    t.click(t.row("a")!.querySelector('[aria-label="Edit item"]'));
    t.click(t.row("a")!.querySelector('[aria-label="Save edit"]'));
    t.model.custom({ kind: "result", request_id: "someone-else", ok: false, error: "nope", field: null });
    t.frame();
    expect(t.row("a")!.querySelector(".rnb-error")).toBeNull();
    expect(t.row("a")!.querySelector(".rnb-editor")!.hasAttribute("data-pending")).toBe(true);
  });

  it("edit is offered for messages and function_call_output only", () => {
    const t = mk();
    t.model.custom(snapshot([
      msg("a", null),
      { id: "f", type: "function_call", name: "n", arguments: "{}", previous_item_id: "a" },
      { id: "o", type: "function_call_output", output: "1", previous_item_id: "f" },
    ]));
    t.frame();
    expect(t.row("a")!.querySelector('[aria-label="Edit item"]')).not.toBeNull();
    expect(t.row("f")!.querySelector('[aria-label="Edit item"]')).toBeNull();
    expect(t.row("o")!.querySelector('[aria-label="Edit item"]')).not.toBeNull();
  });
});

describe("composer", () => {
  it("Enter sends, Shift+Enter is a newline, ok result clears", () => {
    const t = mk();
    t.model.custom(snapshot());
    const ta = t.$<HTMLTextAreaElement>(".rnb-composer textarea")!;
    ta.value = "hi there";
    ta.setSelectionRange(2, 2);
    const shift = t.key(ta, "Enter", { shiftKey: true });
    expect(shift.defaultPrevented).toBe(true); // the composer inserts the newline itself
    expect(ta.value).toBe("hi\n there");
    expect(t.model.lastSent("send")).toBeUndefined();
    ta.value = "hi there";
    t.key(ta, "Enter");
    const s = t.model.lastSent("send");
    expect(s).toMatchObject({ kind: "send", text: "hi there" });
    expect(ta.value).toBe("hi there"); // until the result
    t.model.custom({ kind: "result", request_id: s.request_id, ok: true, error: null, field: null });
    expect(ta.value).toBe("");
  });

  it("a rejected send keeps the text and shows the error", () => {
    const t = mk();
    const ta = t.$<HTMLTextAreaElement>(".rnb-composer textarea")!;
    ta.value = "x";
    t.click(t.$('[aria-label="Send message"]'));
    const s = t.model.lastSent("send");
    t.model.custom({ kind: "result", request_id: s.request_id, ok: false, error: "closed", field: null });
    expect(ta.value).toBe("x");
    expect(t.$(".rnb-composer .rnb-error")?.textContent).toContain("closed");
  });

  it("empty text is not sent", () => {
    const t = mk();
    const ta = t.$<HTMLTextAreaElement>(".rnb-composer textarea")!;
    ta.value = "   ";
    t.key(ta, "Enter");
    expect(t.model.lastSent("send")).toBeUndefined();
  });

  it("Ask for a response (button and Ctrl+Enter) sends respond; Stop sends cancel", () => {
    const t = mk();
    const stop = t.$<HTMLButtonElement>('[aria-label="Stop response"]')!;
    const respond = t.$<HTMLButtonElement>('[aria-label="Ask for a response"]')!;
    expect(stop.disabled).toBe(true); // nothing runs: nothing to stop
    t.click(respond);
    expect(t.model.lastSent()).toMatchObject({ kind: "respond" });
    t.key(t.$(".rnb-composer textarea"), "Enter", { ctrlKey: true });
    expect(t.model.sent.filter((m) => m.kind === "respond")).toHaveLength(2);
    t.model.set("responding", "resp_1");
    expect(respond.disabled).toBe(true);
    expect(stop.disabled).toBe(false);
    t.click(stop);
    const c = t.model.lastSent();
    expect(c).toMatchObject({ kind: "cancel" });
    expect(typeof c.request_id).toBe("string");
  });

  it("Ctrl+Enter with text sends it and asks for the response to it", () => {
    const t = mk();
    const ta = t.$<HTMLTextAreaElement>(".rnb-composer textarea")!;
    ta.value = "answer this";
    t.key(ta, "Enter", { ctrlKey: true });
    expect(t.model.lastSent()).toMatchObject({ kind: "send", text: "answer this", respond: true });
    expect(t.model.sent.filter((m) => m.kind === "respond")).toHaveLength(0);
  });

  it("a closed session or a gone kernel turns the controls off, with one notice", () => {
    const t = mk();
    t.model.custom(snapshot());
    t.frame();
    t.model.set("status_reason", "code 1000");
    t.model.set("status", "closed");
    t.frame();
    expect(t.$<HTMLTextAreaElement>(".rnb-composer textarea")!.disabled).toBe(true);
    for (const l of ["Send message", "Ask for a response", "Stop response"]) {
      expect(t.$<HTMLButtonElement>(`[aria-label="${l}"]`)!.disabled).toBe(true);
    }
    expect(t.row("a")!.querySelector<HTMLButtonElement>('[aria-label="Delete item"]')!.disabled).toBe(true);
    expect(t.$(".rnb-notice")?.textContent).toContain("code 1000");
    expect(t.$$(".rnb-error")).toHaveLength(0);
  });

  it("the kernel going away fails pending actions at once and says so", () => {
    const t = mk();
    const ta = t.$<HTMLTextAreaElement>(".rnb-composer textarea")!;
    ta.value = "lost";
    t.key(ta, "Enter");
    expect(t.$(".rnb-composer")!.hasAttribute("data-pending")).toBe(true);
    t.model.emit("comm_live_update");
    t.frame();
    expect(t.$(".rnb-composer")!.hasAttribute("data-pending")).toBe(false);
    expect(t.$(".rnb-composer .rnb-error")?.textContent).toContain("kernel");
    expect(t.$(".rnb-status")?.dataset.status).toBe("disconnected");
    expect(t.$(".rnb-notice")?.textContent).toContain("Run the cell again");
    expect(ta.disabled).toBe(true);
  });

  it("every button has an aria-label", () => {
    const t = mk();
    t.model.custom(snapshot());
    t.frame();
    for (const b of t.$$("button")) expect(b.getAttribute("aria-label")).toBeTruthy();
  });
});

describe("multiple views of one model", () => {
  it("each view asks for and keeps its own snapshot; both stay consistent", () => {
    const model = new FakeModel();
    const sched = new ManualScheduler();
    const hosts = [document.createElement("div"), document.createElement("div")];
    let n = 0;
    const v1 = new ConversationView(model, hosts[0]!, { scheduler: sched, newId: () => `v1-${++n}` });
    v1.start();
    const req1 = model.lastSent("snapshot_request").request_id;
    model.custom({ ...snapshot([msg("a", null)]), request_id: req1 });
    model.custom({ kind: "inserted", item: msg("b", "a") });
    const v2 = new ConversationView(model, hosts[1]!, { scheduler: sched, newId: () => `v2-${++n}` });
    v2.start();
    const req2 = model.lastSent("snapshot_request").request_id;
    expect(req2).not.toBe(req1);
    model.custom({ kind: "delta", item_id: "b", field: "text", content_index: 0, text: "+" }); // before v2's snapshot
    // The kernel's reply to v2 reaches both views: v1 ignores it (foreign), v2 applies it.
    // It already reflects the "+" (b is final there), so v2 drops its buffered delta.
    model.custom({ ...snapshot([msg("a", null), msg("b", "a", "text of b+")]), request_id: req2 });
    model.custom({ kind: "inserted", item: msg("c", "b") });
    sched.frame();
    for (const host of hosts) {
      expect(Array.from(host.querySelectorAll<HTMLElement>(".rnb-item")).map((e) => e.dataset.itemId)).toEqual(["a", "b", "c"]);
      expect(host.querySelector('[data-item-id="b"] .rnb-text')?.textContent).toBe("text of b+");
    }
    v1.destroy();
    v2.destroy();
  });
});

describe("batches and the log panel's subscription", () => {
  const entry = (seq: number, type: string) => ({ seq, ts: 1_700_000_000 + seq, direction: "in", type, payload: { type } });

  it("applies a batch's messages in order and shows the kernel's event count", () => {
    const t = mk();
    t.model.custom({ ...snapshot(), seq: 2, events: 7 });
    t.frame();
    expect(t.$(".rnb-count-events")?.textContent).toBe("7");
    t.model.custom({
      kind: "batch",
      events: 12,
      messages: [
        { kind: "inserted", item: msg("c", "b", "third"), seq: 3 },
        { kind: "delta", item_id: "c", field: "text", content_index: 0, text: "!", seq: 4 },
        { kind: "removed", item_id: "a", seq: 5 },
        { kind: "bogus" },
      ],
    });
    t.frame();
    expect(t.$$(".rnb-item").map((e) => e.dataset.itemId)).toEqual(["b", "c"]);
    expect(t.row("c")?.querySelector(".rnb-text")?.textContent).toBe("third!");
    expect(t.$(".rnb-count-items")?.textContent).toBe("2");
    expect(t.$(".rnb-count-events")?.textContent).toBe("12");
  });

  it("asks for log entries only while its panel is open and takes only its own tail", () => {
    const t = mk();
    t.model.custom({ ...snapshot(), log: [entry(0, "session.created")] });
    t.frame();
    expect(t.model.sent.filter((m) => m.kind === "log_watch")).toEqual([]);
    t.click(t.$("button[aria-label='Toggle event log']"));
    const view = t.model.lastSent("log_watch");
    expect(view).toMatchObject({ kind: "log_watch", open: true });
    // another view's tail is not ours; ours replaces the rows, repeats are skipped
    t.model.custom({ kind: "log", reset: true, request_id: "someone-else", entries: [entry(9, "x.other")] });
    t.model.custom({ kind: "log", reset: true, request_id: view.view,
                     entries: [entry(0, "session.created"), entry(1, "response.created")] });
    t.model.custom({ kind: "batch", events: 3, messages: [
      { kind: "log", entries: [entry(1, "response.created"), entry(2, "response.done")] }] });
    t.frame();
    expect(t.$$(".rnb-log-row").map((e) => e.dataset.type ?? e.textContent)).toHaveLength(3);
    expect(t.$(".rnb-log")?.textContent).not.toContain("x.other");
    // a journal snapshot makes the kernel forget subscriptions: the open panel says so again
    t.model.custom({ ...snapshot(), request_id: "journal" });
    expect(t.model.sent.filter((m) => m.kind === "log_watch")).toHaveLength(2);
    expect(t.model.lastSent("log_watch")).toMatchObject({ open: true, view: view.view });
    t.click(t.$("button[aria-label='Toggle event log']"));
    expect(t.model.lastSent("log_watch")).toMatchObject({ open: false, view: view.view });
  });
});
