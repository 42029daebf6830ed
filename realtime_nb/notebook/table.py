"""``conv.table()``: a live table of the done items that refreshes itself at a bounded rate.

The kernel sends only rows that changed since the last flush, at most once per ``interval``
seconds, scheduled on the session's own thread (no timer thread per flush); the browser keeps
the rows sorted by their order key, so an insert at the root moves nothing on the wire but the
new row. The front end is ``js/src/table/`` (typed and tested like the widget's); its message
contract is in js/PROTOCOL.md ("The live table"). Everything from the server is shown with
``textContent`` (data, never HTML).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .widget import STATIC

if TYPE_CHECKING:
    from ..data.frame import ItemFrame

#: The columns the table shows (``#`` is the position, counted in the browser).
COLUMNS = ("#", "item_id", "type", "role", "status", "text", "response_id", "latency_s",
           "total_tokens")
Scheduler = Callable[[float, Callable[[], Any]], None]


def display_row(item_id: str, key: float, row: dict[str, Any]) -> dict[str, Any]:
    """One row as the table shows it (plain JSON; long text clipped)."""
    latency = row["done_at"] - row["created_at"]
    text = row["text"] or ""
    return {
        "item_id": item_id, "key": key, "type": row["type"], "role": row["role"],
        "status": row["status"], "text": text if len(text) <= 300 else text[:299] + "…",
        "response_id": row["response_id"],
        "latency_s": None if math.isnan(latency) else round(latency, 3),
        "total_tokens": row["total_tokens"], "deleted": row["deleted"],
    }


class ItemTable(anywidget.AnyWidget):
    """A live view of ``conv.df`` (a subset of its columns), refreshed as items arrive.

    At most one message per ``interval`` seconds, holding only the rows that changed.
    """

    _esm = STATIC / "table.js"
    _css = STATIC / "table.css"
    interval = traitlets.Float(0.5).tag(sync=True)

    def __init__(self, frame: ItemFrame, schedule: Scheduler, *, interval: float = 0.5,
                 **kwargs: Any) -> None:
        super().__init__(interval=interval, **kwargs)
        self._frame = frame
        self._schedule = schedule
        self._lock = threading.Lock()
        self._pending: dict[str, None] = {}
        self._reset = False
        self._scheduled = False
        self._last_flush = 0.0
        self._closed = False
        self.messages_sent = 0
        self.rows_sent = 0
        self.bytes_sent = 0
        frame.watchers.append(self._on_rows)
        self.on_msg(self._on_front_message)

    # ------------------------------------------------------------------ kernel -> browser
    def _on_rows(self, ids: list[str], reset: bool) -> None:
        with self._lock:
            if self._closed:
                return
            self._pending.update(dict.fromkeys(ids))
            self._reset = self._reset or reset
            if self._scheduled:
                return
            self._scheduled = True
            delay = max(0.0, self._last_flush + self.interval - time.monotonic())
        self._schedule(delay, self.flush)

    def flush(self) -> None:
        """Send what changed since the last flush (scheduled; callable directly)."""
        with self._lock:
            ids, self._pending = list(self._pending), {}
            reset, self._reset = self._reset, False
            self._scheduled = False
            self._last_flush = time.monotonic()
            if self._closed:
                return
        if reset:
            self._push({"kind": "reset", "rows": self._rows(None)})
        elif ids:
            self._push({"kind": "rows", "rows": self._rows(ids)})

    def _rows(self, ids: list[str] | None) -> list[dict[str, Any]]:
        return [display_row(*row) for row in self._frame.rows(ids)]

    def _push(self, content: dict[str, Any]) -> None:
        self.messages_sent += 1
        self.rows_sent += len(content["rows"])
        self.bytes_sent += len(json.dumps(content, default=str))
        if self.comm is not None:
            self.send(content)

    # ------------------------------------------------------------------ browser -> kernel
    def _on_front_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("kind") == "snapshot_request":
            self._push({"kind": "reset", "rows": self._rows(None)})

    def close(self) -> None:
        """Stop refreshing and close the widget."""
        if self._on_rows in self._frame.watchers:
            self._frame.watchers.remove(self._on_rows)
        with self._lock:
            self._closed = True
        super().close()


__all__ = ["ItemTable"]
