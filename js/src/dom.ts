// The only way this widget builds DOM: createElement + textContent + setAttribute.
// Server content is data, never markup: nothing in src/ parses HTML strings (a test checks).

export interface HOptions {
  className?: string;
  text?: string;
  attrs?: Record<string, string | number | boolean | null | undefined>;
  title?: string;
}

const BLOCKED_ATTR = /^(on|href$|src$|srcdoc$|formaction$|xlink:href$|style$)/i;

/** Create an element; attributes named like event handlers or URLs are refused. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  opts: HOptions = {},
  children: (Node | string | null | undefined | false)[] = [],
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (opts.className) el.className = opts.className;
  if (opts.text !== undefined) el.textContent = opts.text;
  if (opts.title !== undefined) el.title = opts.title;
  if (opts.attrs) {
    for (const [k, v] of Object.entries(opts.attrs)) setAttr(el, k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

export function setAttr(el: Element, name: string, value: string | number | boolean | null | undefined): void {
  if (BLOCKED_ATTR.test(name)) throw new Error(`refusing to set attribute ${name}`);
  if (value === null || value === undefined || value === false) el.removeAttribute(name);
  else el.setAttribute(name, value === true ? "" : String(value));
}

/** A button with an aria-label (and the same text as a tooltip). */
export function button(label: string, text: string, className = "rnb-btn"): HTMLButtonElement {
  return h("button", { className, text, title: label, attrs: { type: "button", "aria-label": label } });
}

/** An icon button: the icon is a CSS mask (styles.css, `[data-icon]`), never an <svg> or
 * <img>; the label is its accessible name and its tooltip. */
export function iconButton(label: string, icon: string, extraClass = ""): HTMLButtonElement {
  const b = h("button", {
    className: `rnb-btn rnb-btn-icon ${extraClass}`.trim(),
    title: label,
    attrs: { type: "button", "aria-label": label },
  });
  b.append(h("span", { className: "rnb-icon", attrs: { "data-icon": icon, "aria-hidden": "true" } }));
  return b;
}
