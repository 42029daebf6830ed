// DOM of one conversation row. Only createElement / textContent / setAttribute (via dom.ts):
// every string from the kernel is shown as text, never parsed as markup, and no element that
// loads or runs anything (img, script, a, svg, iframe) is ever created.
//
// Buttons carry data-action; the list handles clicks by delegation (see view.ts), so rows
// need no callbacks and can be rebuilt or recycled freely.

import { button, h, setAttr } from "./dom";
import { asText, prettyJson } from "./format";
import type { Entry } from "./store";
import type { ContentPart, ItemView } from "./types";

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
}

export const TEXT_PART_TYPES = new Set(["input_text", "output_text", "text"]);
export const AUDIO_PART_TYPES = new Set(["input_audio", "output_audio", "audio"]);
export const IMAGE_PART_TYPES = new Set(["input_image", "image"]);

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

function str(v: unknown): string {
  return typeof v === "string" ? v : v === null || v === undefined ? "" : asText(v);
}

/** The readable text of one content part (what .rnb-text shows for it). */
export function partText(p: ContentPart): string {
  if (TEXT_PART_TYPES.has(p.type)) return str(p.text);
  if (AUDIO_PART_TYPES.has(p.type)) return str(p.transcript);
  if (IMAGE_PART_TYPES.has(p.type)) return "[image]";
  return typeof p.text === "string" ? p.text : typeof p.transcript === "string" ? p.transcript : `[${p.type}]`;
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
  el.title = `id: ${item.id}\nprevious_item_id: ${item.previous_item_id ?? "(first)"}`;

  // Head: chips are rebuilt; the action buttons only when the type changes (keeps focus).
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
      h("div", { className: "rnb-details" }),
      h("div", { className: "rnb-item-errors", attrs: { "aria-live": "polite" } }),
      h("div", { className: "rnb-editor-slot" }),
    );
  } else {
    chips = head.querySelector<HTMLElement>(".rnb-chips")!;
    actions = head.querySelector<HTMLElement>(".rnb-actions")!;
  }
  chips.replaceChildren(...buildChips(entry));
  if (actions.dataset.forType !== item.type) {
    actions.dataset.forType = item.type;
    actions.replaceChildren(...buildActions(item));
  }
  const detailsBtn = actions.querySelector<HTMLElement>('[data-action="details"]');
  if (detailsBtn) setAttr(detailsBtn, "aria-expanded", state.expanded ? "true" : "false");

  el.querySelector(":scope > .rnb-body")!.replaceChildren(...buildBody(item));

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
  const dismiss = button("Dismiss error", "×", "rnb-btn rnb-btn-icon rnb-dismiss");
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
  }
  if (item.status) out.push(chip("rnb-status-chip", item.status, { "data-status": item.status }));
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

function buildActions(item: ItemView): HTMLElement[] {
  const out: HTMLElement[] = [];
  const add = (label: string, text: string, action: string): void => {
    const b = button(label, text, "rnb-btn rnb-btn-small");
    b.dataset.action = action;
    out.push(b);
  };
  add("Show details", "details", "details");
  if (canEdit(item)) add("Edit item", "edit", "edit");
  add("Insert after", "insert", "insert-after");
  add("Delete item", "delete", "delete");
  return out;
}

function field(name: string, label: string, value: HTMLElement): HTMLElement {
  return h("div", { className: "rnb-field", attrs: { "data-field": name } }, [
    h("span", { className: "rnb-label", text: label }),
    value,
  ]);
}

function code(text: string, extra = ""): HTMLElement {
  return h("pre", { className: `rnb-code ${extra}`.trim(), text });
}

function textBlock(text: string): HTMLElement {
  return h("div", { className: "rnb-text", text });
}

function serverLabel(item: ItemView): HTMLElement | null {
  const s = str(item.server_label);
  return s ? h("span", { className: "rnb-server-label", text: s }) : null;
}

function nameEl(item: ItemView): HTMLElement | null {
  const s = str(item.name);
  return s ? h("span", { className: "rnb-name", text: s }) : null;
}

function toolNames(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  return tools.map((t) => (t && typeof t === "object" ? str((t as Record<string, unknown>).name) : str(t)));
}

export function buildBody(item: ItemView): HTMLElement[] {
  switch (item.type) {
    case "message": {
      const text = h("div", { className: "rnb-text" });
      const parts = item.content ?? [];
      parts.forEach((p, i) => {
        if (i > 0) text.append("\n");
        const cls = AUDIO_PART_TYPES.has(p.type)
          ? "rnb-part rnb-part-audio"
          : IMAGE_PART_TYPES.has(p.type)
            ? "rnb-part rnb-part-image"
            : "rnb-part";
        text.append(h("span", { className: cls, text: partText(p), attrs: { "data-part-type": p.type } }));
      });
      if (parts.length === 0 && item.text) text.textContent = str(item.text);
      return [text];
    }
    case "function_call": {
      const head = h("div", { className: "rnb-call-head" }, [
        nameEl(item),
        item.call_id ? h("span", { className: "rnb-call-id", text: str(item.call_id) }) : null,
      ]);
      return [head, code(prettyJson(item.arguments), "rnb-text")];
    }
    case "function_call_output":
      return [
        item.call_id ? h("div", { className: "rnb-call-head" }, [h("span", { className: "rnb-call-id", text: str(item.call_id) })]) : null,
        code(prettyJson(item.output), "rnb-text"),
      ].filter((x): x is HTMLElement => x !== null);
    case "mcp_call": {
      const out: HTMLElement[] = [
        h("div", { className: "rnb-call-head" }, [serverLabel(item), nameEl(item)]),
        code(prettyJson(item.arguments), "rnb-text"),
      ];
      if (item.output != null && item.output !== "") {
        out.push(field("output", "output", code(prettyJson(str(item.output)), "rnb-output")));
      }
      if (item.error != null && item.error !== "") {
        out.push(field("error", "error", code(asText(item.error), "rnb-mcp-error")));
      }
      return out;
    }
    case "mcp_list_tools": {
      const names = toolNames(item.tools);
      return [
        h("div", { className: "rnb-call-head" }, [serverLabel(item), h("span", { className: "rnb-muted", text: `${names.length} tools` })]),
        textBlock(names.join(", ")),
      ];
    }
    case "mcp_approval_request":
      return [
        h("div", { className: "rnb-call-head" }, [serverLabel(item), nameEl(item)]),
        code(prettyJson(item.arguments), "rnb-text"),
      ];
    case "mcp_approval_response": {
      const yes = item.approve === true;
      return [
        h("div", { className: "rnb-call-head" }, [
          h("span", {
            className: "rnb-chip rnb-approve",
            text: yes ? "approved: yes" : "approved: no",
            attrs: { "data-approve": yes ? "yes" : "no" },
          }),
        ]),
        textBlock(str(item.reason)),
      ];
    }
    default:
      return [textBlock(str(item.text))];
  }
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
