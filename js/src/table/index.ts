// anywidget entry of the live table (`conv.table()`, realtime_nb/table.py):
// `export default { render }`. Built to realtime_nb/static/table.js + table.css.
//
// Kernel -> browser: {"kind": "reset", "rows": [...]} and {"kind": "rows", "rows": [...]};
// browser -> kernel: {"kind": "snapshot_request"} when a view renders. See ../../PROTOCOL.md.
// Every value from the kernel is set with textContent (data, never markup).

import "./styles.css";
import type { RenderProps } from "@anywidget/types";
import { h } from "../dom";
import type { ModelLike } from "../types";
import { COLUMNS, DATA_COLUMNS, RowModel, type TableRow, cellText, parseTableMsg } from "./rows";

/** Synced traits of the table model. */
export interface TableTraits {
  /** Seconds between the kernel's flushes (not used by the front end). */
  interval: number;
}

interface RowEl {
  tr: HTMLTableRowElement;
  /** The "#" cell. */
  num: HTMLTableCellElement;
  /** One cell per DATA_COLUMNS entry. */
  cells: HTMLTableCellElement[];
}

/** One view of the table: mounts under `el`; returns the cleanup function. */
export function renderTable(model: ModelLike, el: HTMLElement): () => void {
  const rows = new RowModel();
  const els = new Map<string, RowEl>();

  const count = h("div", { className: "rnb-count" });
  const head = h("tr", {}, COLUMNS.map((c) => h("th", { text: c })));
  const tbody = h("tbody");
  const table = h("table", {}, [h("thead", {}, [head]), tbody]);
  const root = h("div", { className: "rnb-table" }, [count, table]);
  el.appendChild(root);

  function fill(r: RowEl, row: TableRow): void {
    r.tr.className = row.deleted ? "deleted" : "";
    DATA_COLUMNS.forEach((c, i) => {
      r.cells[i]!.textContent = cellText(row[c]);
    });
  }

  function upsert(row: TableRow): void {
    const change = rows.upsert(row);
    let r = els.get(row.item_id);
    if (!r) {
      const num = h("td");
      const cells = DATA_COLUMNS.map(() => h("td"));
      const tr = h("tr", { attrs: { "data-item-id": row.item_id } }, [num, ...cells]);
      r = { tr, num, cells };
      els.set(row.item_id, r);
    }
    if (change.op !== "update") {
      const next = change.before === null ? null : els.get(change.before)?.tr ?? null;
      tbody.insertBefore(r.tr, next);
    }
    fill(r, row);
  }

  function renumber(): void {
    for (const { id, n } of rows.numbering()) {
      const text = n === null ? "" : String(n);
      const num = els.get(id)!.num;
      if (num.textContent !== text) num.textContent = text;
    }
    count.textContent = rows.countText();
  }

  const onMsg = (raw: unknown): void => {
    const msg = parseTableMsg(raw);
    if (msg === null) return;
    if (msg.kind === "reset") {
      rows.reset();
      els.clear();
      tbody.replaceChildren();
    }
    for (const row of msg.rows) upsert(row);
    renumber();
  };

  model.on("msg:custom", onMsg);
  model.send({ kind: "snapshot_request" });
  return () => {
    model.off("msg:custom", onMsg);
    root.remove();
  };
}

function render({ model, el }: RenderProps<TableTraits>): () => void {
  return renderTable(model, el);
}

export default { render };
