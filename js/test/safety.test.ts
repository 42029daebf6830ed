/// <reference types="node" />
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LogPanel } from "../src/log";
import { createRow } from "../src/row";
import type { ItemView } from "../src/types";
import { ConversationView } from "../src/view";
import { FakeModel, ManualScheduler } from "./helpers";

const PAYLOADS = [
  "<img src=x onerror=alert(1)>",
  "<script>alert('x')</script>",
  '<a href="javascript:alert(1)">click</a>',
  "javascript:alert(1)",
  "<svg onload=alert(1)>",
  "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
];
const DANGEROUS = "img, script, svg, a, iframe, object, embed, link, style, video, audio, source";

const state = { expanded: true, errors: [], editor: null };

function items(p: string): ItemView[] {
  return [
    { id: p, type: "message", role: p, status: p, previous_item_id: p, content: [
      { type: "input_text", text: p }, { type: "output_audio", transcript: p }, { type: "input_image", image_url: p },
      { type: p, text: p },
    ] },
    { id: `${p}-fc`, type: "function_call", name: p, call_id: p, arguments: p, previous_item_id: null },
    { id: `${p}-fcj`, type: "function_call", name: p, arguments: JSON.stringify({ html: p }), previous_item_id: null },
    { id: `${p}-fo`, type: "function_call_output", call_id: p, output: p, previous_item_id: null },
    { id: `${p}-mc`, type: "mcp_call", server_label: p, name: p, arguments: p, output: p, error: p, previous_item_id: null },
    { id: `${p}-mt`, type: "mcp_list_tools", server_label: p, tools: [{ name: p }], previous_item_id: null },
    { id: `${p}-ar`, type: "mcp_approval_request", server_label: p, name: p, arguments: p, previous_item_id: null },
    { id: `${p}-ap`, type: "mcp_approval_response", approve: false, reason: p, approval_request_id: p, previous_item_id: null },
    { id: `${p}-x`, type: p, text: p, previous_item_id: null },
  ];
}

describe("server content is shown as text, never markup", () => {
  for (const p of PAYLOADS) {
    it(`row fields: ${p}`, () => {
      for (const item of items(p)) {
        const el = createRow({ item, streaming: true, version: 0 }, {
          ...state,
          errors: [{ message: p, code: p, key: "k" }],
        });
        document.body.append(el);
        expect(el.querySelectorAll(DANGEROUS)).toHaveLength(0);
        expect(el.textContent).toContain(p);
        expect(el.getAttribute("data-item-id")).toBe(item.id);
        for (const node of el.querySelectorAll("*")) {
          for (const attr of node.getAttributeNames()) expect(attr.startsWith("on")).toBe(false);
        }
        el.remove();
      }
    });
  }

  it("through the whole view: snapshot, errors, log, results", () => {
    const model = new FakeModel({ endpoint: PAYLOADS[0], status: PAYLOADS[1], dialect: PAYLOADS[4] });
    const sched = new ManualScheduler();
    const host = document.createElement("div");
    document.body.append(host);
    const view = new ConversationView(model, host, { scheduler: sched, overscan: 1000 });
    view.start();
    const all = PAYLOADS.flatMap(items);
    const err = (p: string, item_id: string | null) => ({
      message: p, code: p, type: p, param: p, event_id: p, item_id, request_id: p, ts: 1,
    });
    model.custom({
      kind: "snapshot",
      items: all,
      errors: PAYLOADS.map((p) => err(p, null)),
      log: PAYLOADS.map((p, i) => ({ seq: i, ts: 1, direction: "in", type: p, payload: { item_id: p, html: p } })),
    });
    model.custom({ kind: "error", error: err(PAYLOADS[2]!, all[0]!.id) });
    view.log.setOpen(true);
    for (const d of host.querySelectorAll("details")) (d as HTMLDetailsElement).open = true;
    sched.frame();
    view.paintNow();
    expect(host.querySelectorAll(".rnb-item").length).toBe(all.length);
    expect(host.querySelectorAll(DANGEROUS)).toHaveLength(0);
    for (const p of PAYLOADS) expect(host.textContent).toContain(p);
    expect(host.querySelector(".rnb-status")?.getAttribute("data-status")).toBe("unknown");
    // the newest errors show (with "dismiss all"); all of them are text
    expect(host.querySelectorAll(".rnb-errors .rnb-error").length).toBe(3);
    view.destroy();
    host.remove();
  });

  it("log payloads render as JSON text", () => {
    const panel = new LogPanel();
    panel.add([{ seq: 0, ts: 1, direction: "out", type: PAYLOADS[0]!, payload: { x: PAYLOADS[1] } }]);
    panel.setOpen(true);
    const d = panel.el.querySelector("details")!;
    d.open = true;
    d.dispatchEvent(new Event("toggle"));
    expect(panel.el.querySelectorAll(DANGEROUS)).toHaveLength(0);
    expect(panel.el.querySelector("pre")?.textContent).toContain("<script>");
  });

  it("no source file uses innerHTML, outerHTML, insertAdjacentHTML or document.write", () => {
    const dir = join(__dirname, "..", "src");
    const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    expect(files).toContain(join("table", "index.ts")); // subfolders are checked too
    for (const f of files) {
      const code = readFileSync(join(dir, f), "utf8").replace(/\/\/.*$/gm, "");
      expect(code, f).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment/);
    }
  });
});
