"""The done-items DataFrame (``conv.df``): one row per item that reached done, always current.

:class:`ItemFrame` is a record listener of the core. It does no protocol work: it consumes the
model's change records on the session thread and keeps the values of each done item's row,
per field, in arrival ("slot") order, plus two orders (:mod:`realtime_nb.core.order`): every
row ever made in conversation order with float sort keys (a deleted item keeps its key and
its row: a tombstone), and the live items, so that ``previous_item_id`` and ``position`` stay
right for rows whose neighbours change without a record of their own.

The pandas frame is built lazily on read and cached (:mod:`.framecache`): a read converts
only what changed since the last one. Every read hands out a shallow copy whose writes pandas
copy-on-write keeps away from the cache (see :mod:`.columns`).

Cells of the object columns (``content``, ``metadata``, ``extra``) are the frame's own copies
(audio bytes replaced by their length, like in the event log), shared between reads: change
them through pandas (``df.at[i, "content"] = [...]``), not in place, or later reads show the
change. Threads: records arrive on the session thread; reads come from the kernel thread.
Both take the frame's own lock, and a read never takes the session's, so they cannot deadlock.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..core.items import ITEM_TYPES, ROLES, STATUSES, Item
from ..core.order import KeyedOrder, LinkedOrder
from ..core.records import Change, Record, ResponseChange
from .framecache import FrameCache, same

if TYPE_CHECKING:
    import pandas as pd

    from ..core.connection import Connection
    from ..core.protocol import ServerEvent

#: Columns of ``conv.df`` in order (the index is ``item_id``).
COLUMNS: tuple[str, ...] = (
    "position", "previous_item_id", "type", "role", "status", "text", "content", "call_id",
    "name", "arguments", "output", "metadata", "extra", "response_id", "created_at", "done_at",
    "latency_s", "audio_s", "deleted", "input_tokens", "output_tokens", "total_tokens",
)
#: Fixed categories of the categorical columns. A value a server sends outside them is
#: appended to the categories (nothing is lost); the dtype then changes for that frame.
CATEGORIES: dict[str, tuple[str, ...]] = {"type": ITEM_TYPES, "role": ROLES, "status": STATUSES}
STRING_COLUMNS = ("previous_item_id", "text", "call_id", "name", "arguments", "output",
                  "response_id")
OBJECT_COLUMNS = ("content", "metadata", "extra")
USAGE_COLUMNS = ("input_tokens", "output_tokens", "total_tokens")
#: Storage kind of each column (see :mod:`.columns`).
KINDS: dict[str, str] = {
    "position": "Int64",
    **{c: "string" for c in STRING_COLUMNS},
    **{c: "category" for c in CATEGORIES},
    **{c: "object" for c in OBJECT_COLUMNS},
    "created_at": "datetime",
    "done_at": "datetime",
    "latency_s": "Float64",
    "audio_s": "Float64",
    "deleted": "bool",
    **{c: "Int64" for c in USAGE_COLUMNS},
}
#: The fields of a stored row, in order: every column but ``position`` (computed on read) and
#: ``latency_s`` (``done_at - created_at``).
FIELDS = (
    "previous_item_id", "type", "role", "status", "text", "content", "call_id", "name",
    "arguments", "output", "metadata", "extra", "response_id", "created_at", "done_at",
    "audio_s", "deleted", "input_tokens", "output_tokens", "total_tokens",
)
F = {name: i for i, name in enumerate(FIELDS)}
#: The fields of :meth:`ItemFrame.row_tuples`.
ROW_FIELDS = ("item_id", *FIELDS)
_PREV, _RID, _CREATED, _DONE, _DELETED = (F[c] for c in (
    "previous_item_id", "response_id", "created_at", "done_at", "deleted"))
_USAGE = F["input_tokens"]  # the three usage fields close the row
_NAN = math.nan

RowWatcher = Callable[[list[str], bool], None]
#: ``fn(item_id)`` -> seconds of audio in the item, or ``None`` (the ``audio_s`` column).
AudioSeconds = Callable[[str], "float | None"]


class ItemFrame:
    """Keeps ``conv.df`` current from the core's change records (see the module doc).

    Items already in the core's model are taken over (with unknown timestamps). Without a
    core it is a bare listener: feed :meth:`on_records` yourself (the benchmark does).
    """

    def __init__(self, core: Connection | None = None, lock: threading.RLock | None = None
                 ) -> None:
        self._lock = threading.RLock()
        self._full = KeyedOrder()  # every row (tombstones too) and live item, with sort keys
        self._live = LinkedOrder()  # the live items
        self._first_ts: dict[str, float] = {}
        self._response_of: dict[str, str] = {}
        self._usage: dict[str, tuple[int | None, int | None, int | None]] = {}
        self._slot: dict[str, int] = {}  # item id -> its row
        # what the cache reads (framecache.Rows)
        self.ids: list[str] = []
        self.cols: list[list[Any]] = [[] for _ in FIELDS]  # row values, by field
        self.keys = self._full.key
        self.rowless: set[str] = set()  # live items without a row (not done yet)
        self.cats = {c: list(v) for c, v in CATEGORIES.items()}
        self._cat_code = {c: {v: i for i, v in enumerate(vs)} for c, vs in CATEGORIES.items()}
        self._cache = FrameCache(KINDS, CATEGORIES, COLUMNS, FIELDS)
        self.cat_version = 0
        self._renumbered = 0
        self.reads = 0
        #: ``fn(item_ids, reset)`` after rows changed (session thread; the live table).
        self.watchers: list[RowWatcher] = []
        #: Where ``audio_s`` comes from (the audio part's store; ``None``: always <NA>).
        self.audio_seconds: AudioSeconds | None = None
        self._changed: list[str] = []
        if core is not None:
            with lock or threading.RLock():
                for item in core.model:
                    self._link(item.id, self._live.tail, _NAN)
                    rid = core.model.response_of(item.id)
                    if rid is not None:
                        self._response_of[item.id] = rid
                    if core.model.is_done(item.id):
                        self._new_row(item, _NAN)
                core.record_listeners.add(self.on_records)

    # ---------------------------------------------------------------- order
    def _link(self, item_id: str, after: str | None, ts: float) -> None:
        """Insert a live item after the live item ``after`` (``None``: at the head); in the
        full order it goes right after that item, before any tombstones that follow it."""
        if after is not None and after not in self._live:
            after = self._live.tail  # the frame never saw the anchor: append, like the model
        self._full.insert(item_id, after)
        nxt = self._live.insert(item_id, after)
        if nxt is not None:
            self._set_prev(nxt, item_id)
        self._first_ts.setdefault(item_id, ts)
        if self._full.key[item_id] < self._cache.max_key:
            self._cache.order_dirty = True
        if item_id not in self._slot:
            self.rowless.add(item_id)

    def _unlink_live(self, item_id: str) -> None:
        prev, nxt = self._live.remove(item_id)
        if nxt is not None:
            self._set_prev(nxt, prev)
        self.rowless.discard(item_id)
        if self._full.key[item_id] < self._cache.max_key:
            self._cache.order_dirty = True

    def _set_prev(self, item_id: str, prev: str | None) -> None:
        slot = self._slot.get(item_id)
        if slot is not None and self.cols[_PREV][slot] != prev and not self.cols[_DELETED][slot]:
            self._store_row(slot, {_PREV: prev})

    # ---------------------------------------------------------------- rows
    def _row(self, slot: int) -> tuple[Any, ...]:
        return tuple(col[slot] for col in self.cols)

    def _store_row(self, slot: int, changes: dict[int, Any]) -> None:
        """Write some fields of a row (the cached frame keeps its old values until a read)."""
        self._cache.changed(slot, self._row(slot))
        for i, value in changes.items():
            self.cols[i][slot] = value
        self._changed.append(self.ids[slot])

    def _code(self, column: str, value: str | None) -> str | None:
        if value is not None and value not in self._cat_code[column]:
            self._cat_code[column][value] = len(self.cats[column])
            self.cats[column].append(value)
            self.cat_version += 1
        return value

    def _values(self, item: Item, *, created: float, done: float, deleted: bool,
                rid: str | None) -> tuple[Any, ...]:
        usage = self._usage.get(rid) if rid is not None else None
        return (
            self._live.prev(item.id) if not deleted else item.previous_item_id,
            self._code("type", item.type), self._code("role", item.role),
            self._code("status", item.status), item.text, [_part(p) for p in item.content],
            item.call_id, item.name, item.arguments, item.output,
            dict(item.metadata) if item.metadata is not None else None, dict(item.extra),
            rid, created, done,
            self.audio_seconds(item.id) if self.audio_seconds is not None else None,
            deleted, *(usage if usage is not None else (None,) * 3),
        )

    def _new_row(self, item: Item, ts: float) -> None:
        iid = item.id
        slot = len(self.ids)
        self._slot[iid] = slot
        self.ids.append(iid)
        values = self._values(item, created=self._first_ts.get(iid, ts), done=ts,
                              deleted=False, rid=self._response_of.get(iid))
        for col, value in zip(self.cols, values, strict=True):
            col.append(value)
        self.rowless.discard(iid)
        if self._full.key[iid] < self._cache.max_key:
            self._cache.order_dirty = True
        self._changed.append(iid)

    def _update_row(self, item: Item, slot: int) -> None:
        old = self._row(slot)
        row = self._values(item, created=old[_CREATED], done=old[_DONE], deleted=old[_DELETED],
                           rid=self._response_of.get(item.id))
        if row != old:
            self._store_row(slot, {i: v for i, (v, o) in enumerate(zip(row, old, strict=True))
                                   if not same(v, o)})

    # ---------------------------------------------------------------- records
    def on_records(self, records: list[Record], event: ServerEvent | None = None) -> None:
        """The record listener (session thread). Public so benchmarks can feed it directly."""
        if len(records) < 2 and self._no_op(records):
            return
        with self._lock:
            for i, rec in enumerate(records):
                if isinstance(rec, Change):
                    moved = rec.kind == "removed" and any(
                        isinstance(r, Change) and r.kind == "inserted" and r.item.id == rec.item.id
                        for r in records[i + 1:])
                    self._apply(rec, moved)
                elif isinstance(rec, ResponseChange):
                    self._apply_response(rec)
            changed, self._changed = self._changed, []
            reset = self._full.renumbered != self._renumbered
            self._renumbered = self._full.renumbered
            if reset:
                self._cache.order_dirty = True
        if changed or reset:
            for fn in list(self.watchers):
                try:
                    fn(changed, reset)
                except Exception:  # a display must never break ingestion
                    continue

    def _no_op(self, records: list[Record]) -> bool:
        """True (after noting the response id) when these records, none or one, cannot
        change a row: most of a stream, where each delta updates a live item that has no row
        until it is done. No lock: only this listener (the session thread) writes what is read
        here, and ``_response_of``, the one thing written, is used by the listener alone."""
        if self._changed:
            return False
        if not records:
            return True
        rec = records[0]
        if not isinstance(rec, Change) or rec.kind == "removed" or rec.done:
            return False
        iid = rec.item.id
        if iid not in self._live or iid in self._slot:
            return False
        if rec.response_id is not None:
            self._response_of[iid] = rec.response_id
        return True

    def _apply(self, rec: Change, moved: bool = False) -> None:
        """Apply one change. ``moved``: a removal that the same batch follows with an insert
        of the item elsewhere (the model's moves)."""
        item, iid = rec.item, rec.item.id
        if rec.response_id is not None:
            self._response_of[iid] = rec.response_id
        slot = self._slot.get(iid)
        if rec.kind == "removed":
            if iid not in self._live:
                return
            self._unlink_live(iid)
            if moved or slot is not None:
                self._cache.order_dirty = True
            if slot is not None and not moved:
                self._store_row(slot, {_DELETED: True})  # the row stays: a tombstone
                return
            self._full.remove(iid)  # a move links it again; a rowless item is forgotten
            if not moved:
                self._first_ts.pop(iid, None)
            return
        if iid not in self._live:
            if iid in self._full:  # a moved item, or a deleted id created again
                self._full.remove(iid)
                self._cache.order_dirty = True
                if slot is not None and self.cols[_DELETED][slot]:
                    self._first_ts[iid] = rec.ts
                    self._store_row(slot, {_CREATED: rec.ts, _DONE: _NAN, _DELETED: False})
            self._link(iid, rec.previous_item_id, rec.ts)
        if slot is None:
            if rec.done:
                self._new_row(item, rec.ts)
            return
        if rec.done and math.isnan(self.cols[_DONE][slot]):
            self._store_row(slot, {_DONE: rec.ts})
        self._update_row(item, slot)

    def _apply_response(self, rec: ResponseChange) -> None:
        usage = rec.usage or {}
        tokens = tuple(_token(usage.get(k)) for k in USAGE_COLUMNS)
        rid = rec.response_id
        self._usage[rid] = tokens  # type: ignore[assignment]
        for iid in rec.item_ids:
            self._response_of[iid] = rid
            slot = self._slot.get(iid)
            if slot is None:
                continue
            row = self._row(slot)
            if (row[_RID], *row[_USAGE:]) != (rid, *tokens):
                self._store_row(slot, {_RID: rid, **dict(enumerate(tokens, _USAGE))})

    def refresh(self, items: Sequence[Item]) -> None:
        """Rebuild the rows of these items (something outside the records changed them:
        audio restored from a file)."""
        with self._lock:
            for item in items:
                slot = self._slot.get(item.id)
                if slot is not None and not self.cols[_DELETED][slot]:
                    self._update_row(item, slot)
            changed, self._changed = self._changed, []
        if changed:
            for fn in list(self.watchers):
                try:
                    fn(changed, False)
                except Exception:
                    continue

    # ---------------------------------------------------------------- reading
    def __len__(self) -> int:
        return len(self.ids)

    def frame(self) -> pd.DataFrame:
        """The current frame (a shallow copy of the cache; see the module doc)."""
        with self._lock:
            self.reads += 1
            return self._cache.read(self).copy(deep=False)

    @property
    def rebuilds(self) -> int:
        """How many reads reordered the cached frame (for tests and the benchmark)."""
        return self._cache.rebuilds

    def row_tuples(self) -> list[tuple[Any, ...]]:
        """Every row as a plain tuple (``ROW_FIELDS``), in arrival order: what a naive
        ``pd.DataFrame.from_records`` would be built from (the benchmark's baseline)."""
        with self._lock:
            return list(zip(self.ids, *self.cols, strict=True))

    def rows(self, ids: Sequence[str] | None = None) -> list[tuple[str, float, dict[str, Any]]]:
        """``(item_id, sort key, {field: value})`` of these rows (``None``: all), for displays
        that keep rows in order themselves (the live table)."""
        with self._lock:
            slots = range(len(self.ids)) if ids is None else [
                self._slot[i] for i in dict.fromkeys(ids) if i in self._slot]
            return [(self.ids[s], self._full.key.get(self.ids[s], 0.0),
                     dict(zip(FIELDS, self._row(s), strict=True))) for s in slots]


def _part(part: dict[str, Any]) -> dict[str, Any]:
    """A copy of a content part with audio bytes replaced by their length (like the log)."""
    audio = part.get("audio")
    return {**part, "audio": len(audio)} if isinstance(audio, str) else dict(part)


def _token(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def empty_frame() -> pd.DataFrame:
    """The schema of ``conv.df`` with no rows."""
    return ItemFrame().frame()


__all__ = ["CATEGORIES", "COLUMNS", "ItemFrame", "empty_frame"]
