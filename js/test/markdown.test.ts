/// <reference types="node" />
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isLong, messageText, preview } from "../src/body";
import { looksLikeMarkdown, renderMarkdown } from "../src/markdown";
import { createRow } from "../src/row";
import type { ItemView } from "../src/types";

const DANGEROUS = "img, script, svg, iframe, object, embed, link, style, video, audio, source, form, input";

function render(text: string): HTMLElement {
  const div = document.createElement("div");
  div.append(renderMarkdown(text));
  return div;
}

describe("Markdown is rendered, sanitized, and never live HTML", () => {
  it("renders emphasis, lists, code blocks (with a copy button) and dir=auto blocks", () => {
    const el = render("# Title\n\nSome **bold** and `code`.\n\n```py\nprint(1)\n```\n\n- a\n- b");
    expect(el.querySelector("h1")?.textContent).toBe("Title");
    expect(el.querySelector("strong")?.textContent).toBe("bold");
    expect(el.querySelector("pre")?.textContent).toBe("print(1)\n");
    expect(el.querySelector('.rnb-code-block [data-action="copy-code"]')?.getAttribute("aria-label")).toBe("Copy code");
    expect(el.querySelectorAll("li")).toHaveLength(2);
    expect(el.querySelector("p")?.getAttribute("dir")).toBe("auto");
  });

  it("raw HTML stays text; images load nothing; only http(s) and mailto links", () => {
    const el = render(
      '<img src=x onerror=alert(1)> <script>alert(1)</script> <b onclick="x()">b</b>\n\n' +
        "![pic](https://example.com/x.png) [js](javascript:alert(1)) [data](data:text/html,hi) " +
        "[ok](https://example.com) <svg onload=alert(1)>",
    );
    expect(el.querySelectorAll(DANGEROUS)).toHaveLength(0);
    expect(el.textContent).toContain("<img src=x onerror=alert(1)>");
    expect(el.textContent).toContain("<script>alert(1)</script>");
    const links = [...el.querySelectorAll("a")];
    // an image becomes a plain link to it (nothing loads); javascript: and data: are no links
    expect(links.map((a) => a.getAttribute("href"))).toEqual(["https://example.com/x.png", "https://example.com"]);
    expect(links[0]!.getAttribute("rel")).toContain("noopener");
    for (const node of el.querySelectorAll("*")) {
      for (const attr of node.getAttributeNames()) expect(attr.startsWith("on")).toBe(false);
    }
  });

  it("a message row renders Markdown only when it has some, and the raw text on request", () => {
    const item: ItemView = { id: "m", type: "message", role: "assistant", previous_item_id: null,
      content: [{ type: "output_text", text: "a **b** c" }] };
    const md = createRow({ item, streaming: false, version: 0 }, { expanded: false, errors: [], editor: null });
    expect(md.querySelector(".rnb-text strong")?.textContent).toBe("b");
    expect(md.querySelector('[aria-label="Show raw text"]')).not.toBeNull();
    const raw = createRow({ item, streaming: false, version: 0 }, { expanded: false, errors: [], editor: null, raw: true });
    expect(raw.querySelector(".rnb-text")?.textContent).toBe("a **b** c");
    expect(looksLikeMarkdown("plain words, nothing else")).toBe(false);
  });

  it("long text collapses to a preview with Show more", () => {
    const text = "line of text\n".repeat(5000);
    expect(isLong(text)).toBe(true);
    expect(preview(text).length).toBeLessThan(1300);
    const item: ItemView = { id: "l", type: "message", role: "user", previous_item_id: null, content: [{ type: "input_text", text }] };
    expect(messageText(item)).toBe(text);
    const row = createRow({ item, streaming: false, version: 0 }, { expanded: false, errors: [], editor: null });
    expect(row.querySelector(".rnb-text")!.textContent!.length).toBeLessThan(1300);
    expect(row.querySelector('[data-action="toggle-long"]')?.textContent).toContain("more characters");
    const full = createRow({ item, streaming: false, version: 0 }, { expanded: false, errors: [], editor: null, full: true });
    expect(full.querySelector(".rnb-text")!.textContent).toBe(text);
  });

  it("only markdown.ts uses the Markdown parser and the sanitizer", () => {
    const dir = join(__dirname, "..", "src");
    const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    const users = files.filter((f) => /from "(dompurify|markdown-it)"/.test(readFileSync(join(dir, f), "utf8")));
    expect(users).toEqual(["markdown.ts"]);
  });
});
