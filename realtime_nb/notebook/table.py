"""``conv.table()``: a live table of the done items that refreshes itself at a bounded rate.

The kernel sends only rows that changed since the last flush, at most once per ``interval``
seconds; the browser keeps the rows sorted by their order key, so an insert at the root moves
nothing on the wire but the new row. Everything from the server is shown with
``textContent`` (data, never HTML).

Messages (kernel -> browser): ``{"kind": "reset", "rows": [...]}`` (first display, or after
the frame renumbered its order keys) and ``{"kind": "rows", "rows": [...]}`` (upserts). Rows
are :meth:`ItemFrame.display_rows <realtime_nb.frame.ItemFrame.display_rows>` dicts.
Browser -> kernel: ``{"kind": "snapshot_request"}`` when a view renders.
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

if TYPE_CHECKING:
    from .frame import ItemFrame

COLUMNS = ("#", "item_id", "type", "role", "status", "text", "response_id", "latency_s",
           "total_tokens")

_ESM = r"""
const COLS = ["#", "item_id", "type", "role", "status", "text", "response_id", "latency_s",
              "total_tokens"];

function cell(tr, value) {
  const td = document.createElement("td");
  td.textContent = value === null || value === undefined ? "" : String(value);
  tr.appendChild(td);
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "rnb-table";
  const style = document.createElement("style");
  style.textContent = `
    .rnb-table { max-height: 24em; overflow: auto;
      font: 12px var(--jp-code-font-family, monospace); }
    .rnb-table table { border-collapse: collapse; width: 100%; }
    .rnb-table th, .rnb-table td { border-bottom: 1px solid #8883; padding: 2px 6px;
      text-align: left; vertical-align: top; white-space: pre-wrap; }
    .rnb-table th { position: sticky; top: 0; background: var(--jp-layout-color1, #fff); }
    .rnb-table tr.deleted td { text-decoration: line-through; opacity: 0.55; }
    .rnb-table .rnb-count { padding: 2px 6px; opacity: 0.7; }`;
  const count = document.createElement("div");
  count.className = "rnb-count";
  const table = document.createElement("table");
  const head = document.createElement("tr");
  for (const c of COLS) {
    const th = document.createElement("th");
    th.textContent = c;
    head.appendChild(th);
  }
  const thead = document.createElement("thead");
  thead.appendChild(head);
  const tbody = document.createElement("tbody");
  table.append(thead, tbody);
  root.append(style, count, table);
  el.appendChild(root);

  const rows = new Map();  // item_id -> {tr, key}
  const keys = [];         // sorted [key, item_id]

  function findIndex(key, id) {
    let lo = 0, hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const [k, i] = keys[mid];
      if (k < key || (k === key && i < id)) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  function fill(tr, row) {
    tr.replaceChildren();
    tr.className = row.deleted ? "deleted" : "";
    cell(tr, "");
    for (const c of COLS.slice(1)) cell(tr, row[c]);
  }

  function renumber() {
    let n = 0;
    for (const [, id] of keys) {
      const entry = rows.get(id);
      entry.tr.firstChild.textContent = entry.deleted ? "" : String(n++);
    }
    count.textContent = `${n} items (${keys.length - n} deleted)`;
  }

  function upsert(row) {
    let entry = rows.get(row.item_id);
    if (entry && entry.key !== row.key) {
      keys.splice(findIndex(entry.key, row.item_id), 1);
      entry.tr.remove();
      rows.delete(row.item_id);
      entry = undefined;
    }
    if (!entry) {
      const tr = document.createElement("tr");
      const at = findIndex(row.key, row.item_id);
      const before = at < keys.length ? rows.get(keys[at][1]).tr : null;
      tbody.insertBefore(tr, before);
      keys.splice(at, 0, [row.key, row.item_id]);
      entry = { tr, key: row.key, deleted: false };
      rows.set(row.item_id, entry);
    }
    entry.deleted = !!row.deleted;
    fill(entry.tr, row);
  }

  model.on("msg:custom", (msg) => {
    if (!msg || typeof msg !== "object") return;
    if (msg.kind === "reset") {
      rows.clear();
      keys.length = 0;
      tbody.replaceChildren();
    }
    if (msg.kind === "reset" || msg.kind === "rows") {
      for (const row of msg.rows || []) upsert(row);
      renumber();
    }
  });
  model.send({ kind: "snapshot_request" });
}

export default { render };
"""


class ItemTable(anywidget.AnyWidget):
    """A live view of ``conv.df`` (a subset of its columns), refreshed as items arrive.

    At most one message per ``interval`` seconds, holding only the rows that changed.
    """

    _esm = _ESM
    interval = traitlets.Float(0.5).tag(sync=True)

    def __init__(self, frame: ItemFrame, *, interval: float = 0.5, **kwargs: Any) -> None:
        super().__init__(interval=interval, **kwargs)
        self._frame = frame
        self._lock = threading.Lock()
        self._pending: dict[str, None] = {}
        self._reset = False
        self._timer: threading.Timer | None = None
        self._last_flush = 0.0
        self._closed = False
        self.messages_sent = 0
        self.rows_sent = 0
        self.bytes_sent = 0
        frame.add_watcher(self._on_rows)
        self.on_msg(self._on_front_message)

    # ------------------------------------------------------------------ kernel -> browser
    def _on_rows(self, ids: list[str], reset: bool) -> None:
        with self._lock:
            if self._closed:
                return
            self._pending.update(dict.fromkeys(ids))
            self._reset = self._reset or reset
            if self._timer is not None:
                return
            delay = max(0.0, self._last_flush + self.interval - time.monotonic())
            self._timer = threading.Timer(delay, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> None:
        """Send what changed since the last flush (called by the timer; callable directly)."""
        with self._lock:
            ids, self._pending = list(self._pending), {}
            reset, self._reset = self._reset, False
            self._timer = None
            self._last_flush = time.monotonic()
        if reset:
            self._push({"kind": "reset", "rows": self._frame.display_rows()})
        elif ids:
            self._push({"kind": "rows", "rows": self._frame.display_rows(ids)})

    def _push(self, content: dict[str, Any]) -> None:
        self.messages_sent += 1
        self.rows_sent += len(content["rows"])
        self.bytes_sent += len(json.dumps(content, default=str))
        if self.comm is not None:
            self.send(content)

    # ------------------------------------------------------------------ browser -> kernel
    def _on_front_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("kind") == "snapshot_request":
            self._push({"kind": "reset", "rows": self._frame.display_rows()})

    def close(self) -> None:
        """Stop refreshing and close the widget."""
        self._frame.remove_watcher(self._on_rows)
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        super().close()


__all__ = ["ItemTable"]
