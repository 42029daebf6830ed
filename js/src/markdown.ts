// Markdown of message text: the one place where server text becomes elements other than text
// nodes. markdown-it parses it with raw HTML off (`<b>` in a message stays the characters
// "<b>"), images off (nothing loads) and only http(s)/mailto links; DOMPurify then keeps only
// the tags Markdown makes and returns a DocumentFragment (no innerHTML anywhere in src/).
// Every block gets dir="auto" (right-to-left text reads right to left); every code block gets
// a copy button (data-action="copy-code", handled by the view).

import DOMPurify from "dompurify";
import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false });
md.disable(["image"]);
md.validateLink = (url: string): boolean => /^(https?:|mailto:)/i.test(url.trim());

const TAGS = [
  "p", "br", "em", "strong", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
  "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "a",
];
const BLOCKS = new Set(["P", "LI", "BLOCKQUOTE", "H1", "H2", "H3", "H4", "H5", "H6", "TD", "TH"]);

let hooked = false;
function hook(): void {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (!(node instanceof Element)) return;
    if (node.tagName === "A") {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow");
    } else if (BLOCKS.has(node.tagName)) {
      node.setAttribute("dir", "auto");
    }
  });
}

/** Texts longer than this are shown as plain text, not parsed (keeps big messages cheap). */
export const MARKDOWN_MAX = 100_000;

/** Whether `text` has anything Markdown would change (else it is shown as it is). */
export function looksLikeMarkdown(text: string): boolean {
  return /[*_`#>|~[\]]|^\s*([-+]|\d+\.)\s/m.test(text);
}

/** `text` rendered as sanitized Markdown. */
export function renderMarkdown(text: string): DocumentFragment {
  hook();
  const html = md.render(text);
  const frag = DOMPurify.sanitize(html, {
    ALLOWED_TAGS: TAGS,
    ALLOWED_ATTR: ["href", "title", "start", "dir", "target", "rel"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
    RETURN_DOM_FRAGMENT: true,
  });
  for (const pre of Array.from(frag.querySelectorAll("pre"))) {
    const copy = document.createElement("button");
    copy.type = "button";
    copy.className = "rnb-btn rnb-btn-icon rnb-copy-code";
    copy.textContent = "Copy";
    copy.title = "Copy code";
    copy.setAttribute("aria-label", "Copy code");
    copy.dataset.action = "copy-code";
    const wrap = document.createElement("div");
    wrap.className = "rnb-code-block";
    pre.replaceWith(wrap);
    wrap.append(copy, pre);
  }
  return frag;
}
