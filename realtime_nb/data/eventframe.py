"""``conv.events``: the event log (both directions) as a DataFrame, built incrementally.

The log is append-only, so the frame's columns grow by the entries logged since the last read
(:class:`~realtime_nb.data.columns.ColumnStore`): a read after one new event costs about one
row. Each payload is parsed afresh from the log's stored JSON text when its row is added, so
editing a cell of the frame can never change the session's log (or what ``conv.save()``
writes).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .columns import ColumnStore

if TYPE_CHECKING:
    import pandas as pd

    from ..core.eventlog import EventLog, LogEntry

#: Columns of ``conv.events`` in order (the index is a RangeIndex equal to ``seq``).
EVENT_COLUMNS: tuple[str, ...] = (
    "seq", "ts", "direction", "type", "event_id", "item_id", "response_id", "error_code",
    "payload", "note",
)
#: ``in`` server events, ``out`` client events, ``local`` the client's own status records.
DIRECTIONS = ("in", "out", "local")
EVENT_KINDS: dict[str, str] = {
    "seq": "int64",
    "ts": "datetime",
    "direction": "category",
    **{c: "string" for c in ("type", "event_id", "item_id", "response_id", "error_code")},
    "payload": "object",
    "note": "string",
}


def _store() -> ColumnStore:
    return ColumnStore(EVENT_KINDS, categories={"direction": DIRECTIONS})


def _columns(entries: list[LogEntry]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {name: [e[name] for e in entries]  # type: ignore[literal-required]
                                 for name in EVENT_COLUMNS if name != "payload"}
    out["direction"] = [d if d in DIRECTIONS else None for d in out["direction"]]
    out["payload"] = [e["payload"] for e in entries]  # parsed afresh for each read: no copy
    return out


class EventFrame:
    """Builds ``conv.events`` from an :class:`~realtime_nb.core.eventlog.EventLog`."""

    def __init__(self, log: EventLog) -> None:
        self._log = log
        self._lock = threading.Lock()
        self._store = _store()
        self._cache: pd.DataFrame | None = None

    def frame(self) -> pd.DataFrame:
        """The current event frame (a shallow copy of the cache: edits stay with the caller)."""
        with self._lock:
            new = self._log.entries(self._store.n)  # without the session lock
            if self._cache is None or new:
                if new:
                    self._store.append(_columns(new))
                self._cache = self._store.frame(EVENT_COLUMNS)
            return self._cache.copy(deep=False)


__all__ = ["DIRECTIONS", "EVENT_COLUMNS", "EventFrame"]
