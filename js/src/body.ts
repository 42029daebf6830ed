// The body of one row: what an item says. Message text is Markdown (markdown.ts: sanitized,
// raw HTML off) unless the reader asked for the raw text; everything else is built with
// createElement / textContent (dom.ts). Long text is collapsed to a preview with "Show more",
// so a 1 MB message costs one short row until someone asks for all of it.

import { h } from "./dom";
import { asText, plural, prettyJson } from "./format";
import { MARKDOWN_MAX, looksLikeMarkdown, renderMarkdown } from "./markdown";
import type { ContentPart, ItemView } from "./types";

export const TEXT_PART_TYPES = new Set(["input_text", "output_text", "text"]);
export const AUDIO_PART_TYPES = new Set(["input_audio", "output_audio", "audio"]);
export const IMAGE_PART_TYPES = new Set(["input_image", "image"]);

/** Text longer than this (characters or lines) is collapsed to a preview. */
export const COLLAPSE_CHARS = 3000;
export const COLLAPSE_LINES = 40;
/** How much a collapsed preview shows. */
export const PREVIEW_CHARS = 1200;
export const PREVIEW_LINES = 16;

export interface BodyOptions {
  /** Show the raw text instead of Markdown. */
  raw: boolean;
  /** A long text is shown whole. */
  full: boolean;
}
const NO_OPTIONS: BodyOptions = { raw: false, full: false };

export function str(v: unknown): string {
  return typeof v === "string" ? v : v === null || v === undefined ? "" : asText(v);
}

/** The readable text of one content part (what .rnb-text shows for it). */
export function partText(p: ContentPart): string {
  if (TEXT_PART_TYPES.has(p.type)) return str(p.text);
  if (AUDIO_PART_TYPES.has(p.type)) return str(p.transcript);
  if (IMAGE_PART_TYPES.has(p.type)) return "[image]";
  return typeof p.text === "string" ? p.text : typeof p.transcript === "string" ? p.transcript : `[${p.type}]`;
}

/** A message's text, all parts joined (what "Copy" copies and the editor starts with). */
export function messageText(item: ItemView): string {
  const parts = item.content ?? [];
  if (parts.length === 0) return str(item.text);
  return parts.map(partText).join("\n");
}

/** Whether a text is long enough to collapse. */
export function isLong(text: string): boolean {
  if (text.length > COLLAPSE_CHARS) return true;
  let lines = 0;
  for (let i = text.indexOf("\n"); i >= 0 && lines <= COLLAPSE_LINES; i = text.indexOf("\n", i + 1)) lines++;
  return lines > COLLAPSE_LINES;
}

/** The start of a long text, cut at a line end when one is near. */
export function preview(text: string): string {
  let cut = Math.min(text.length, PREVIEW_CHARS);
  let nl = -1;
  for (let i = 0, at = text.indexOf("\n"); at >= 0 && at < cut; at = text.indexOf("\n", at + 1)) {
    if (++i >= PREVIEW_LINES) {
      cut = at;
      break;
    }
    nl = at;
  }
  if (cut === PREVIEW_CHARS && nl > PREVIEW_CHARS / 2) cut = nl;
  return text.slice(0, cut);
}

/** Whether a message would look different as Markdown (the row offers "raw text" then). */
export function hasMarkdown(item: ItemView): boolean {
  if (item.type !== "message") return false;
  const t = messageText(item);
  return t.length <= MARKDOWN_MAX && looksLikeMarkdown(t);
}

function messageBody(item: ItemView, opts: BodyOptions): HTMLElement {
  const parts = item.content ?? [];
  const text = messageText(item);
  const long = isLong(text);
  const shown = long && !opts.full ? preview(text) : text;
  const el = h("div", { className: "rnb-text", attrs: { dir: "auto", "data-long": long ? (opts.full ? "full" : "collapsed") : null } });
  const markdown = !opts.raw && shown.length <= MARKDOWN_MAX && looksLikeMarkdown(shown) &&
    parts.every((p) => !AUDIO_PART_TYPES.has(p.type) && !IMAGE_PART_TYPES.has(p.type));
  if (markdown) {
    el.classList.add("rnb-markdown");
    el.append(renderMarkdown(shown));
  } else if (long || parts.length === 0) {
    el.textContent = shown;
  } else {
    parts.forEach((p, i) => {
      if (i > 0) el.append("\n");
      const cls = AUDIO_PART_TYPES.has(p.type)
        ? "rnb-part rnb-part-audio"
        : IMAGE_PART_TYPES.has(p.type)
          ? "rnb-part rnb-part-image"
          : "rnb-part";
      el.append(h("span", { className: cls, text: partText(p), attrs: { "data-part-type": p.type } }));
    });
  }
  if (!long) return el;
  const rest = text.length - shown.length;
  const more = h("button", {
    className: "rnb-btn rnb-btn-link rnb-more",
    text: opts.full ? "Show less" : `Show more (${plural(rest, "more character")})`,
    attrs: { type: "button", "data-action": "toggle-long", "aria-expanded": opts.full ? "true" : "false" },
  });
  return h("div", { className: "rnb-long", attrs: { "data-state": opts.full ? "full" : "collapsed" } }, [el, more]);
}

function field(name: string, label: string, value: HTMLElement): HTMLElement {
  return h("div", { className: "rnb-field", attrs: { "data-field": name } }, [
    h("span", { className: "rnb-label", text: label }),
    value,
  ]);
}

function code(text: string, extra = ""): HTMLElement {
  return h("pre", { className: `rnb-code ${extra}`.trim(), text, attrs: { dir: "auto" } });
}

function textBlock(text: string): HTMLElement {
  return h("div", { className: "rnb-text", text, attrs: { dir: "auto" } });
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

export function buildBody(item: ItemView, opts: BodyOptions = NO_OPTIONS): HTMLElement[] {
  switch (item.type) {
    case "message":
      return [messageBody(item, opts)];
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
        h("div", { className: "rnb-call-head" }, [serverLabel(item), h("span", { className: "rnb-muted", text: plural(names.length, "tool") })]),
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

