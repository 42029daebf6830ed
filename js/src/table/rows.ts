// The row model of the live table (`conv.table()`, realtime_nb/table.py): pure, no DOM.
//
// Rows come from the kernel as `{"kind": "reset", "rows": [...]}` (replace everything) and
// `{"kind": "rows", "rows": [...]}` (upserts by item_id); see ../../PROTOCOL.md. The model keeps
// them sorted by (key, item_id); a row whose key changed moves. Deleted rows stay in place
// (shown struck through) but are not numbered: the "#" column counts live rows only, from 0.

/** Table columns, in order ("#" is the live-row number, the rest are row fields). */
export const COLUMNS = [
  "#", "item_id", "type", "role", "status", "text", "response_id", "latency_s", "total_tokens",
] as const;

export type DataColumn = Exclude<(typeof COLUMNS)[number], "#">;
export const DATA_COLUMNS = COLUMNS.slice(1) as readonly DataColumn[];

/** One row as the kernel sends it (ItemFrame.display_rows). Field values are shown as text. */
export interface TableRow {
  item_id: string;
  /** Order key (a float): the rows are sorted by key, then by item_id. */
  key: number;
  type?: unknown;
  role?: unknown;
  status?: unknown;
  text?: unknown;
  response_id?: unknown;
  latency_s?: unknown;
  total_tokens?: unknown;
  deleted: boolean;
}

export interface TableMsg {
  kind: "reset" | "rows";
  rows: TableRow[];
}

/** What an upsert did, for the DOM: where a new or moved row goes. */
export type Upsert =
  /** A new row: put it before the row `before` (null = at the end). */
  | { op: "insert"; id: string; before: string | null }
  /** Its key changed: move it before the row `before` (null = at the end). */
  | { op: "move"; id: string; before: string | null }
  /** Same place, new values. */
  | { op: "update"; id: string };

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A row from the wire, or null when it has no string item_id. A missing key counts as 0. */
export function parseRow(v: unknown): TableRow | null {
  if (!isObj(v) || typeof v.item_id !== "string") return null;
  const key = typeof v.key === "number" && Number.isFinite(v.key) ? v.key : 0;
  const row: TableRow = { item_id: v.item_id, key, deleted: !!v.deleted };
  for (const c of DATA_COLUMNS) if (c !== "item_id" && c in v) row[c] = v[c];
  return row;
}

/** A kernel message of the table, or null (unknown kind, not an object). */
export function parseTableMsg(raw: unknown): TableMsg | null {
  if (!isObj(raw) || (raw.kind !== "reset" && raw.kind !== "rows")) return null;
  const rows: TableRow[] = [];
  if (Array.isArray(raw.rows)) {
    for (const r of raw.rows) {
      const row = parseRow(r);
      if (row) rows.push(row);
    }
  }
  return { kind: raw.kind, rows };
}

/** The text of one cell: null / undefined are empty, anything else is String(value). */
export function cellText(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

/** The count line: "1 item (0 deleted)", "2 items (1 deleted)" (live rows, deleted rows). */
export function countLine(live: number, deleted: number): string {
  return `${live} ${live === 1 ? "item" : "items"} (${deleted} deleted)`;
}

/** (key, id) order: key first, then item_id (string order). */
export function before(aKey: number, aId: string, bKey: number, bId: string): boolean {
  return aKey < bKey || (aKey === bKey && aId < bId);
}

export class RowModel {
  private readonly byId = new Map<string, TableRow>();
  /** Sorted by (key, item_id). */
  private order: { key: number; id: string }[] = [];

  get size(): number {
    return this.order.length;
  }

  get(id: string): TableRow | undefined {
    return this.byId.get(id);
  }

  /** Item ids in table order. */
  ids(): string[] {
    return this.order.map((o) => o.id);
  }

  /** Rows in table order. */
  rows(): TableRow[] {
    return this.order.map((o) => this.byId.get(o.id)!);
  }

  reset(): void {
    this.byId.clear();
    this.order = [];
  }

  /** Insert or replace one row (by item_id), keeping the order. */
  upsert(row: TableRow): Upsert {
    const id = row.item_id;
    const old = this.byId.get(id);
    this.byId.set(id, row);
    if (old && old.key === row.key) return { op: "update", id };
    if (old) this.order.splice(this.indexOf(old.key, id), 1);
    const at = this.indexOf(row.key, id);
    this.order.splice(at, 0, { key: row.key, id });
    const next = this.order[at + 1];
    return { op: old ? "move" : "insert", id, before: next ? next.id : null };
  }

  /** The "#" of each row in table order: live rows 0, 1, 2, ...; deleted rows null. */
  numbering(): { id: string; n: number | null }[] {
    let n = 0;
    return this.order.map(({ id }) => ({ id, n: this.byId.get(id)!.deleted ? null : n++ }));
  }

  /** Live and deleted row counts. */
  counts(): { live: number; deleted: number } {
    let deleted = 0;
    for (const row of this.byId.values()) if (row.deleted) deleted++;
    return { live: this.byId.size - deleted, deleted };
  }

  countText(): string {
    const { live, deleted } = this.counts();
    return countLine(live, deleted);
  }

  /** Binary search: the index of (key, id), or where it would go. */
  private indexOf(key: number, id: string): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const o = this.order[mid]!;
      if (before(o.key, o.id, key, id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
