// DOM of one conversation row: its head (role, status when it is not "completed", streaming,
// flags, actions) and its body (body.ts). Only createElement / textContent / setAttribute (via
// dom.ts), plus the sanitized Markdown of markdown.ts: every string from the kernel is data.
//
// Action buttons are icons (CSS masks, no <svg>/<img>) with an aria-label and a tooltip; they
// appear on hover and focus. They carry data-action; the list handles clicks by delegation
// (view.ts), so rows need no callbacks and can be rebuilt or recycled freely.

import { AUDIO_PART_TYPES, TEXT_PART_TYPES, buildBody, hasMarkdown, str } from "./body";
import { audioControl } from "./audio/chip";
import { h, iconButton, setAttr } from "./dom";
import type { Entry } from "./store";
import type { ItemView } from "./types";

export { AUDIO_PART_TYPES, IMAGE_PART_TYPES, TEXT_PART_TYPES, buildBody, partText } from "./body";

export interface RowError {
  message: string;
  code?: string | null;
  /** Action errors can be dismissed; kernel errors carry their index for that. */
  key: string;
}

export interface RowState {
  expanded: boolean;
  errors: readonly RowError[];
  /** The editor mounted under this row, if one is open for it. */
  editor: HTMLElement | null;
  /** Show the raw text instead of Markdown. */
  raw?: boolean;
  /** A long text is shown whole. */
  full?: boolean;
  /** Actions that need the kernel are possible (default true). */
  live?: boolean;
  /** The row that takes Tab (roving tabindex: the others are reached with the arrow keys). */
  current?: boolean;
  /** Highlight it for a moment (an action just created it). */
  flash?: boolean;
  /** The tool-call strip of a function_call / mcp_approval_request row (tools/panel.ts). */
  tool?: HTMLElement | null;
}

const TYPE_LABELS: Record<string, string> = {
  message: "message",
  function_call: "function call",
  function_call_output: "function output",
  mcp_call: "mcp call",
  mcp_list_tools: "mcp tools",
  mcp_approval_request: "mcp approval request",
  mcp_approval_response: "mcp approval response",
};

/** Items whose text the user can edit (the kernel re-creates them). */
export function canEdit(item: ItemView): boolean {
  return item.type === "message" || item.type === "function_call_output";
}

/** The text an editor starts with: a message's joined text parts, or the output. */
export function editText(item: ItemView): string {
  if (item.type === "function_call_output") return str(item.output);
  const texts = (item.content ?? [])
    .filter((p) => TEXT_PART_TYPES.has(p.type))
    .map((p) => str(p.text));
  if (texts.length) return texts.join("\n");
  return str(item.text);
}

/** What "Copy text" copies: the item's readable text. */
export function copyText(item: ItemView): string {
  if (item.type === "function_call") return str(item.arguments);
  if (item.type === "function_call_output") return str(item.output);
  return editText(item) || str(item.text);
}

export function createRow(entry: Entry, state: RowState): HTMLElement {
  const el = h("div", {
    className: "rnb-item",
    attrs: { role: "listitem", tabindex: 0 },
  });
  updateRow(el, entry, state);
  return el;
}

/** Patch a row element in place to show `entry` with `state`. */
export function updateRow(el: HTMLElement, entry: Entry, state: RowState): void {
  const item = entry.item;
  setAttr(el, "data-item-id", item.id);
  setAttr(el, "data-type", item.type);
  setAttr(el, "data-role", item.role ?? "");
  setAttr(el, "data-status", item.status ?? "");
  setAttr(el, "data-streaming", entry.streaming ? "true" : null);
  setAttr(el, "data-flagged", item.flagged ? "true" : null);
  setAttr(el, "aria-label", `${item.role ?? TYPE_LABELS[item.type] ?? item.type} ${item.id}`);
  const tab = state.current === false ? -1 : 0;
  setAttr(el, "tabindex", tab);
  setAttr(el, "data-flash", state.flash ? "true" : null);

  // Head: chips are rebuilt; the action buttons only when what they offer changes (keeps focus).
  let head = el.querySelector<HTMLElement>(":scope > .rnb-item-head");
  let chips: HTMLElement;
  let actions: HTMLElement;
  if (!head) {
    chips = h("span", { className: "rnb-chips" });
    actions = h("span", { className: "rnb-actions" });
    head = h("div", { className: "rnb-item-head" }, [chips, actions]);
    el.append(
      head,
      h("div", { className: "rnb-body" }),
      h("div", { className: "rnb-tool-slot" }),
      h("div", { className: "rnb-details" }),
      h("div", { className: "rnb-item-errors", attrs: { "aria-live": "polite" } }),
      h("div", { className: "rnb-editor-slot" }),
    );
  } else {
    chips = head.querySelector<HTMLElement>(".rnb-chips")!;
    actions = head.querySelector<HTMLElement>(".rnb-actions")!;
  }
  chips.replaceChildren(...buildChips(entry));
  for (const b of chips.querySelectorAll("button")) b.tabIndex = state.current === false ? -1 : 0;
  const md = hasMarkdown(item);
  const live = state.live !== false;
  const sig = `${item.type}|${md}|${live}`;
  if (actions.dataset.sig !== sig) {
    actions.dataset.sig = sig;
    actions.replaceChildren(...buildActions(item, md, live));
  }
  const detailsBtn = actions.querySelector<HTMLElement>('[data-action="details"]');
  if (detailsBtn) setAttr(detailsBtn, "aria-expanded", state.expanded ? "true" : "false");
  const rawBtn = actions.querySelector<HTMLElement>('[data-action="raw"]');
  if (rawBtn) setAttr(rawBtn, "aria-pressed", state.raw ? "true" : "false");
  for (const b of Array.from(actions.children) as HTMLElement[]) b.tabIndex = tab;

  el.querySelector(":scope > .rnb-body")!.replaceChildren(
    ...buildBody(item, { raw: state.raw === true, full: state.full === true }),
  );

  const toolSlot = el.querySelector<HTMLElement>(":scope > .rnb-tool-slot")!;
  if (state.tool) {
    if (toolSlot.firstChild !== state.tool) toolSlot.replaceChildren(state.tool);
  } else if (toolSlot.firstChild) {
    toolSlot.replaceChildren();
  }

  const details = el.querySelector<HTMLElement>(":scope > .rnb-details")!;
  details.hidden = !state.expanded;
  details.replaceChildren(...(state.expanded ? buildDetails(item) : []));

  el.querySelector(":scope > .rnb-item-errors")!.replaceChildren(
    ...state.errors.map((e) => errorElement(e)),
  );

  const slot = el.querySelector<HTMLElement>(":scope > .rnb-editor-slot")!;
  if (state.editor) {
    if (slot.firstChild !== state.editor || slot.childNodes.length !== 1) slot.replaceChildren(state.editor);
  } else if (slot.firstChild) {
    slot.replaceChildren();
  }
}

export function errorElement(e: RowError): HTMLElement {
  const msg = e.code ? `${e.message} (${e.code})` : e.message;
  const dismiss = iconButton("Dismiss error", "close", "rnb-dismiss");
  dismiss.dataset.action = "dismiss-error";
  dismiss.dataset.errorKey = e.key;
  return h("div", { className: "rnb-error", attrs: { role: "alert" } }, [
    h("span", { className: "rnb-error-text", text: msg }),
    dismiss,
  ]);
}

function chip(className: string, text: string, attrs: Record<string, string> = {}): HTMLElement {
  return h("span", { className: `rnb-chip ${className}`, text, attrs });
}

function buildChips(entry: Entry): HTMLElement[] {
  const item = entry.item;
  const out: HTMLElement[] = [];
  if (item.type === "message") {
    out.push(chip("rnb-role", item.role ?? "?", { "data-role": item.role ?? "" }));
  } else {
    out.push(chip("rnb-type", TYPE_LABELS[item.type] ?? item.type));
  }
  if ((item.content ?? []).some((p) => AUDIO_PART_TYPES.has(p.type))) {
    out.push(chip("rnb-audio-marker", "audio"));
    const play = audioControl(item); // play button and duration (audio/chip.ts)
    if (play) out.push(play);
  }
  // "completed" is the normal state: only other states are worth a chip
  if (item.status && item.status !== "completed" && !entry.streaming) {
    out.push(chip("rnb-status-chip", item.status.replace("_", " "), { "data-status": item.status }));
  }
  if (entry.streaming) {
    const s = chip("rnb-streaming", "streaming");
    setAttr(s, "aria-label", "streaming");
    out.push(s);
  }
  if (item.flagged) {
    const f = chip("rnb-flag", "unknown anchor");
    f.title = "The server placed this item after an item this client never saw";
    out.push(f);
  }
  return out;
}

function buildActions(item: ItemView, markdown: boolean, live: boolean): HTMLElement[] {
  const out: HTMLElement[] = [];
  const add = (label: string, icon: string, action: string, needsKernel = false): void => {
    const b = iconButton(label, icon);
    b.dataset.action = action;
    if (needsKernel && !live) b.disabled = true;
    out.push(b);
  };
  add("Copy text", "copy", "copy");
  if (markdown) add("Show raw text", "code", "raw");
  if (canEdit(item)) add("Edit item", "edit", "edit", true);
  add("Insert after", "plus", "insert-after", true);
  add("Delete item", "delete", "delete", true);
  add("Show details", "more", "details");
  return out;
}

function buildDetails(item: ItemView): HTMLElement[] {
  const rows: [string, string][] = [
    ["id", item.id],
    ["previous_item_id", item.previous_item_id ?? "(first)"],
  ];
  if (item.response_id) rows.push(["response_id", str(item.response_id)]);
  if (item.call_id) rows.push(["call_id", str(item.call_id)]);
  if (item.approval_request_id) rows.push(["approval_request_id", str(item.approval_request_id)]);
  if (item.status) rows.push(["status", str(item.status)]);
  rows.push(["done", item.done ? "yes" : "no"]);
  const dl = h("dl", { className: "rnb-details-list" });
  for (const [k, v] of rows) {
    dl.append(h("dt", { text: k }), h("dd", { text: v, attrs: { "data-key": k } }));
  }
  return [dl];
}
