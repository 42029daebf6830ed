import { describe, expect, it } from "vitest";
import { canEdit, createRow, editText, updateRow } from "../src/row";
import type { Entry } from "../src/store";
import type { ItemView } from "../src/types";

const state = { expanded: false, errors: [], editor: null };
const entry = (item: ItemView, streaming = false): Entry => ({ item, streaming, version: 0 });
const row = (item: ItemView, streaming = false) => createRow(entry(item, streaming), state);
const text = (el: HTMLElement) => el.querySelector(".rnb-text")?.textContent;

describe("row rendering per item type", () => {
  it("message: role badge, data attributes, text parts joined", () => {
    const el = row({
      id: "m1",
      type: "message",
      role: "assistant",
      status: "completed",
      previous_item_id: "m0",
      content: [
        { type: "output_text", text: "Hello" },
        { type: "text", text: "World" },
      ],
    });
    expect(el.classList.contains("rnb-item")).toBe(true);
    expect(el.dataset).toMatchObject({ itemId: "m1", type: "message", role: "assistant", status: "completed" });
    expect(el.getAttribute("tabindex")).toBe("0");
    expect(el.querySelector(".rnb-role")?.textContent).toBe("assistant");
    expect(el.querySelector(".rnb-status-chip")).toBeNull(); // "completed" is the norm: no chip
    expect(text(el)).toBe("Hello\nWorld");
    expect(el.getAttribute("aria-label")).toContain("m1");
    expect(el.querySelectorAll(".rnb-text")).toHaveLength(1);
  });

  it("message with audio transcript and image: audio marker, [image] label, no <img>", () => {
    const el = row({
      id: "m2",
      type: "message",
      role: "user",
      previous_item_id: null,
      content: [
        { type: "input_audio", transcript: "spoken words" },
        { type: "input_image", image_url: "https://example.com/x.png" },
      ],
    });
    expect(el.querySelector(".rnb-audio-marker")?.textContent).toBe("audio");
    expect(el.querySelector(".rnb-part-audio")?.textContent).toBe("spoken words");
    expect(text(el)).toBe("spoken words\n[image]");
    expect(el.querySelector("img")).toBeNull();
    expect(el.textContent).not.toContain("example.com");
  });

  it("function_call: name and pretty-printed arguments (raw text when invalid)", () => {
    const el = row({ id: "f", type: "function_call", name: "get_weather", call_id: "c1", arguments: '{"city":"Paris","n":[1,2]}', previous_item_id: null });
    expect(el.querySelector(".rnb-name")?.textContent).toBe("get_weather");
    expect(text(el)).toBe(JSON.stringify({ city: "Paris", n: [1, 2] }, null, 2));
    const bad = row({ id: "g", type: "function_call", name: "x", arguments: '{"city": "Par', previous_item_id: null });
    expect(text(bad)).toBe('{"city": "Par');
  });

  it("function_call_output: pretty output, editable", () => {
    const item: ItemView = { id: "o", type: "function_call_output", call_id: "c1", output: '{"t":21}', previous_item_id: "f" };
    expect(text(row(item))).toBe('{\n  "t": 21\n}');
    expect(canEdit(item)).toBe(true);
    expect(editText(item)).toBe('{"t":21}');
    expect(row(item).querySelector('[aria-label="Edit item"]')).not.toBeNull();
  });

  it("mcp_call: server_label, name, arguments, output, error", () => {
    const el = row({
      id: "mc", type: "mcp_call", server_label: "deepwiki", name: "ask", arguments: '{"q":1}',
      output: "answer", error: { type: "tool_error", message: "boom" }, previous_item_id: null,
    });
    expect(el.querySelector(".rnb-server-label")?.textContent).toBe("deepwiki");
    expect(el.querySelector(".rnb-name")?.textContent).toBe("ask");
    expect(text(el)).toBe('{\n  "q": 1\n}');
    expect(el.querySelector(".rnb-output")?.textContent).toBe("answer");
    expect(el.querySelector(".rnb-mcp-error")?.textContent).toContain("boom");
    expect(el.querySelector('[aria-label="Edit item"]')).toBeNull();
  });

  it("mcp_list_tools: server_label and tool names", () => {
    const el = row({ id: "lt", type: "mcp_list_tools", server_label: "srv", tools: [{ name: "a" }, { name: "b" }], previous_item_id: null });
    expect(el.querySelector(".rnb-server-label")?.textContent).toBe("srv");
    expect(text(el)).toBe("a, b");
  });

  it("mcp_approval_request and mcp_approval_response", () => {
    const req = row({ id: "ar", type: "mcp_approval_request", server_label: "srv", name: "rm", arguments: "{}", previous_item_id: null });
    expect(req.querySelector(".rnb-name")?.textContent).toBe("rm");
    expect(text(req)).toBe("{}");
    const yes = row({ id: "ap", type: "mcp_approval_response", approve: true, reason: "fine", approval_request_id: "ar", previous_item_id: "ar" });
    expect(yes.querySelector(".rnb-approve")?.getAttribute("data-approve")).toBe("yes");
    expect(text(yes)).toBe("fine");
    const no = row({ id: "an", type: "mcp_approval_response", approve: false, previous_item_id: "ar" });
    expect(no.querySelector(".rnb-approve")?.getAttribute("data-approve")).toBe("no");
  });

  it("unknown types show their text", () => {
    expect(text(row({ id: "u", type: "future_thing", text: "hello", previous_item_id: null }))).toBe("hello");
  });

  it("streaming indicator, flagged marker, details panel, buttons", () => {
    const item: ItemView = { id: "s", type: "message", role: "assistant", status: "in_progress", flagged: true, content: [], previous_item_id: "p" };
    const el = row(item, true);
    expect(el.querySelector(".rnb-streaming")).not.toBeNull();
    expect(el.dataset.streaming).toBe("true");
    expect(el.querySelector(".rnb-flag")?.textContent).toBe("unknown anchor");
    const details = el.querySelector<HTMLElement>(".rnb-details")!;
    expect(details.hidden).toBe(true);
    for (const label of ["Show details", "Edit item", "Delete item", "Insert after"]) {
      expect(el.querySelector(`button[aria-label="${label}"]`)).not.toBeNull();
    }
    updateRow(el, entry({ ...item, status: "completed" }, false), { ...state, expanded: true });
    expect(el.querySelector(".rnb-streaming")).toBeNull();
    expect(details.hidden).toBe(false);
    expect(details.querySelector('[data-key="id"]')?.textContent).toBe("s");
    expect(details.querySelector('[data-key="previous_item_id"]')?.textContent).toBe("p");
  });

  it("editText joins the text parts of a message", () => {
    expect(editText({ id: "e", type: "message", previous_item_id: null, content: [
      { type: "input_text", text: "one" }, { type: "input_audio", transcript: "t" }, { type: "input_text", text: "two" },
    ] })).toBe("one\ntwo");
  });

  it("updateRow keeps the element and its action buttons (focus survives a delta)", () => {
    const item: ItemView = { id: "k", type: "message", role: "assistant", content: [{ type: "output_text", text: "a" }], previous_item_id: null };
    const el = row(item);
    const btn = el.querySelector('[aria-label="Delete item"]');
    updateRow(el, entry({ ...item, content: [{ type: "output_text", text: "ab" }] }, true), state);
    expect(el.querySelector('[aria-label="Delete item"]')).toBe(btn);
    expect(text(el)).toBe("ab");
  });
});
