"""The done-items DataFrame (``conv.df``): one row per item that reached done, always current.

:class:`ItemFrame` is a record listener of the :class:`~realtime_nb.session.Session`. It does no
protocol work: it consumes the conversation model's change records
(:class:`~realtime_nb.conversation.Change`, :class:`~realtime_nb.conversation.ResponseChange`)
on the session thread and keeps

* the values of each done item's row, per field, in arrival ("slot") order, plus an order key
  per item so that sorting by key gives the conversation order (a deleted item keeps its key
  and its row: a tombstone);
* a mirror of the live order (previous/next ids), so that ``previous_item_id`` and
  ``position`` stay right for rows whose neighbours change without a record of their own.

The pandas frame is built lazily on read into a :class:`~realtime_nb.columns.ColumnStore` and
cached. A read after new items converts only those rows and appends them; rows that changed
since the last read are patched column by column in fresh storage; only an insert before
rows already read, a delete or a move reorders (one vectorised ``take``) and renumbers
``position``. Reading twice with nothing new returns the cached frame. Every read hands out a
shallow copy whose writes pandas copy-on-write keeps away from the cache (see
:mod:`realtime_nb.columns` for why views are safe to hand out).

Cells of the object columns (``content``, ``metadata``, ``extra``) are the frame's own copies
(audio bytes replaced by their length, like in the event log), shared between reads: change
them through pandas (``df.at[i, "content"] = [...]``), not in place
(``df.content.iloc[0].append(...)``), or later reads show the change. The session's items are
never shared with the frame.

Threads: records arrive on the session thread (under ``session.lock``); reads come from the
kernel thread. Both take the frame's own lock, and a read never takes ``session.lock``, so a
read cannot deadlock with the session.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from .columns import ColumnStore
from .conversation import Change, Record, ResponseChange
from .doneitems import _Subscriber
from .items import ITEM_TYPES, ROLES, STATUSES, Item

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .protocol import ServerEvent
    from .session import Session

#: Columns of ``conv.df`` in order (the index is ``item_id``).
COLUMNS: tuple[str, ...] = (
    "position",
    "previous_item_id",
    "type",
    "role",
    "status",
    "text",
    "content",
    "call_id",
    "name",
    "arguments",
    "output",
    "metadata",
    "extra",
    "response_id",
    "created_at",
    "done_at",
    "latency_s",
    "deleted",
    "input_tokens",
    "output_tokens",
    "total_tokens",
)
#: Fixed categories of the categorical columns. A value a server sends outside them is
#: appended to the categories (nothing is lost); the dtype then changes for that frame.
CATEGORIES: dict[str, tuple[str, ...]] = {"type": ITEM_TYPES, "role": ROLES, "status": STATUSES}
STRING_COLUMNS = ("previous_item_id", "text", "call_id", "name", "arguments", "output",
                  "response_id")
OBJECT_COLUMNS = ("content", "metadata", "extra")
USAGE_COLUMNS = ("input_tokens", "output_tokens", "total_tokens")
#: Storage kind of each column (see :mod:`realtime_nb.columns`).
KINDS: dict[str, str] = {
    "position": "Int64",
    **{c: "string" for c in STRING_COLUMNS},
    **{c: "category" for c in CATEGORIES},
    **{c: "object" for c in OBJECT_COLUMNS},
    "created_at": "datetime",
    "done_at": "datetime",
    "latency_s": "Float64",
    "deleted": "bool",
    **{c: "Int64" for c in USAGE_COLUMNS},
}

# Row tuple layout (everything but position, which is computed from the order on read).
_FIELDS = (
    "previous_item_id", "type", "role", "status", "text", "content", "call_id", "name",
    "arguments", "output", "metadata", "extra", "response_id", "created_at", "done_at",
    "deleted", "input_tokens", "output_tokens", "total_tokens",
)
_F = {name: i for i, name in enumerate(_FIELDS)}
#: The fields of :meth:`ItemFrame.row_tuples`.
ROW_FIELDS = ("item_id", *_FIELDS)
_PREV, _RID, _CREATED, _DONE, _DELETED = (
    _F["previous_item_id"], _F["response_id"], _F["created_at"], _F["done_at"], _F["deleted"]
)
_USAGE = tuple(_F[c] for c in USAGE_COLUMNS)
_TYPE, _ROLE, _STATUS, _TEXT, _CONTENT, _CALL_ID, _NAME, _ARGUMENTS, _OUTPUT = (
    _F[c] for c in ("type", "role", "status", "text", "content", "call_id", "name", "arguments",
                    "output"))
_METADATA, _EXTRA = _F["metadata"], _F["extra"]
assert _USAGE == tuple(range(len(_FIELDS) - 3, len(_FIELDS)))  # usage closes the row tuple
_NAN = math.nan
_GAP = 1.0  # key distance of items appended at the head or tail

DoneListener = Callable[[Item], None]
RowWatcher = Callable[[list[str], bool], None]


# --------------------------------------------------------------------------------------------
# The listener


class ItemFrame:
    """Keeps ``conv.df`` current from the session's change records (see the module doc).

    Create it before events flow (``RealtimeConversation`` does, also for ``load()``); items
    already in the session's model are taken over (with unknown timestamps). Without a
    session it is a bare listener: feed :meth:`on_records` yourself (the benchmark does).
    """

    def __init__(self, session: Session | None = None) -> None:
        self._session = session
        self._lock = threading.RLock()
        # order: full list (live items and tombstones) and live list, keyed by item id
        self._key: dict[str, float] = {}
        self._fprev: dict[str, str | None] = {}
        self._fnext: dict[str, str | None] = {}
        self._fhead: str | None = None
        self._ftail: str | None = None
        self._lprev: dict[str, str | None] = {}
        self._lnext: dict[str, str | None] = {}
        self._lhead: str | None = None
        self._ltail: str | None = None
        self._first_ts: dict[str, float] = {}
        self._response_of: dict[str, str] = {}
        self._usage: dict[str, tuple[int | None, int | None, int | None]] = {}
        # rows
        self._slot: dict[str, int] = {}
        self._ids: list[str] = []
        self._cols: list[list[Any]] = [[] for _ in _FIELDS]  # row values, by field
        self._appends = [col.append for col in self._cols]
        self._rowless: set[str] = set()  # live items without a row (not done yet)
        self._cats = {c: list(v) for c, v in CATEGORIES.items()}
        self._cat_code = {c: {v: i for i, v in enumerate(vs)} for c, vs in CATEGORIES.items()}
        # cache (numpy and pandas are imported on the first read, not before)
        self._store_columns: ColumnStore | None = None
        self._cache: pd.DataFrame | None = None
        self._order: Any = None  # slot of each cached row, in frame order
        self._iloc: Any = None  # cached row of each cached slot
        self._n_built = 0
        self._cache_max_key = -math.inf
        self._cache_live = 0
        self._built_row: dict[int, tuple[Any, ...]] = {}  # changed slots: values as cached
        self._order_dirty = True
        self._cat_version = 0
        self._built_cat_version = 0
        self.reads = 0
        self.rebuilds = 0  # full rebuilds and reorders (for tests and the benchmark)
        # subscribers
        self._done_subscribers: list[_Subscriber] = []
        self._watchers: list[RowWatcher] = []
        self._changed: list[str] = []
        self._reset = False
        if session is not None:
            with session.lock:
                self._take_over(session)
                session.add_record_listener(self.on_records)
                session.add_status_listener(self._on_status)

    def _take_over(self, session: Session) -> None:
        for item in session.model:
            self._link(item.id, self._ltail, float("nan"))
            rid = session.model.response_of(item.id)
            if rid is not None:
                self._response_of[item.id] = rid
            if session.model.is_done(item.id):
                self._new_row(item, _NAN)

    # ---------------------------------------------------------------- order
    def _assign_key(self, item_id: str, after: str | None) -> float:
        nxt = self._fhead if after is None else self._fnext[after]
        if after is None:
            key = self._key[nxt] - _GAP if nxt is not None else 0.0
        elif nxt is None:
            key = self._key[after] + _GAP
        else:
            lo, hi = self._key[after], self._key[nxt]
            key = (lo + hi) / 2
            if not lo < key < hi:
                self._renumber()
                key = (self._key[after] + self._key[nxt]) / 2
        return key

    def _renumber(self) -> None:
        """Spread the keys out again (after many inserts at one spot; rare)."""
        node, k = self._fhead, 0.0
        while node is not None:
            self._key[node] = k
            k += _GAP
            node = self._fnext[node]
        self._order_dirty = True
        self._reset = True

    def _link(self, item_id: str, after: str | None, ts: float) -> None:
        """Insert a live item after the live item ``after`` (``None``: at the head)."""
        if after is not None and after not in self._lprev:
            after = self._ltail  # the mirror never saw the anchor: append, like the model
        key = self._assign_key(item_id, after)
        # full list: right after the anchor (before any tombstones that follow it)
        fnext = self._fhead if after is None else self._fnext[after]
        self._fprev[item_id], self._fnext[item_id] = after, fnext
        if after is None:
            self._fhead = item_id
        else:
            self._fnext[after] = item_id
        if fnext is None:
            self._ftail = item_id
        else:
            self._fprev[fnext] = item_id
        # live list
        lnext = self._lhead if after is None else self._lnext[after]
        self._lprev[item_id], self._lnext[item_id] = after, lnext
        if after is None:
            self._lhead = item_id
        else:
            self._lnext[after] = item_id
        if lnext is None:
            self._ltail = item_id
        else:
            self._lprev[lnext] = item_id
            self._set_prev(lnext, item_id)
        self._key[item_id] = key
        self._first_ts.setdefault(item_id, ts)
        if key < self._cache_max_key:
            self._order_dirty = True
        if item_id not in self._slot:
            self._rowless.add(item_id)

    def _unlink_live(self, item_id: str) -> None:
        prev, nxt = self._lprev.pop(item_id), self._lnext.pop(item_id)
        if prev is None:
            self._lhead = nxt
        else:
            self._lnext[prev] = nxt
        if nxt is None:
            self._ltail = prev
        else:
            self._lprev[nxt] = prev
            self._set_prev(nxt, prev)
        self._rowless.discard(item_id)
        if self._key[item_id] < self._cache_max_key:
            self._order_dirty = True

    def _unlink_full(self, item_id: str) -> None:
        prev, nxt = self._fprev.pop(item_id), self._fnext.pop(item_id)
        if prev is None:
            self._fhead = nxt
        else:
            self._fnext[prev] = nxt
        if nxt is None:
            self._ftail = prev
        else:
            self._fprev[nxt] = prev

    def _forget(self, item_id: str) -> None:
        self._unlink_full(item_id)
        self._key.pop(item_id, None)
        self._first_ts.pop(item_id, None)

    def _set_prev(self, item_id: str, prev: str | None) -> None:
        slot = self._slot.get(item_id)
        if slot is not None:
            row = self._row(slot)
            if row[_PREV] != prev and not row[_DELETED]:
                self._store(slot, _with(row, _PREV, prev))

    # ---------------------------------------------------------------- rows
    def _row(self, slot: int) -> tuple[Any, ...]:
        return tuple(map(itemgetter(slot), self._cols))

    def _store(self, slot: int, row: tuple[Any, ...]) -> None:
        if slot < self._n_built and slot not in self._built_row:
            self._built_row[slot] = self._row(slot)  # the values the cached frame holds
        for col, value in zip(self._cols, row, strict=True):
            col[slot] = value
        self._changed.append(self._ids[slot])

    def _code(self, column: str, value: str | None) -> str | None:
        if value is not None and value not in self._cat_code[column]:
            self._cat_code[column][value] = len(self._cats[column])
            self._cats[column].append(value)
            self._cat_version += 1
        return value

    def _values(self, item: Item, *, created: float, done: float, deleted: bool,
                rid: str | None) -> tuple[Any, ...]:
        usage = self._usage.get(rid) if rid is not None else None
        return (
            self._lprev.get(item.id) if not deleted else item.previous_item_id,
            self._code("type", item.type),
            self._code("role", item.role),
            self._code("status", item.status),
            item.text,
            [_part(p) for p in item.content],
            item.call_id,
            item.name,
            item.arguments,
            item.output,
            dict(item.metadata) if item.metadata is not None else None,
            dict(item.extra),
            rid,
            created,
            done,
            deleted,
            *(usage if usage is not None else (None, None, None)),
        )

    def _new_row(self, item: Item, ts: float) -> None:
        iid = item.id
        slot = len(self._ids)
        self._slot[iid] = slot
        self._ids.append(iid)
        values = self._values(item, created=self._first_ts.get(iid, ts), done=ts,
                              deleted=False, rid=self._response_of.get(iid))
        for append, value in zip(self._appends, values, strict=True):
            append(value)
        self._rowless.discard(iid)
        if self._key[iid] < self._cache_max_key:
            self._order_dirty = True
        self._changed.append(iid)

    def _update_row(self, item: Item, slot: int) -> None:
        rid = self._response_of.get(item.id)
        if self._row_holds(item, slot, rid):
            return  # the usual update of a done row: nothing the row shows changed
        old = self._row(slot)
        row = self._values(item, created=old[_CREATED], done=old[_DONE],
                           deleted=old[_DELETED], rid=rid)
        if row != old:
            self._store(slot, row)

    def _row_holds(self, item: Item, slot: int, rid: str | None) -> bool:
        """True when the row at ``slot`` already equals what :meth:`_values` would make of
        ``item`` (compared as tuples compare, without making the copies)."""
        cols = self._cols
        old = cols[_PREV][slot]
        new = self._lprev.get(item.id) if not cols[_DELETED][slot] else item.previous_item_id
        if not (new is old or new == old):
            return False
        for i, new in ((_TYPE, item.type), (_ROLE, item.role), (_STATUS, item.status),
                       (_CALL_ID, item.call_id), (_NAME, item.name),
                       (_ARGUMENTS, item.arguments), (_OUTPUT, item.output), (_RID, rid)):
            old = cols[i][slot]
            if not (new is old or new == old):
                return False
        usage = self._usage.get(rid) if rid is not None else None
        if usage is None:
            usage = (None, None, None)
        for i, new in zip(_USAGE, usage, strict=True):
            old = cols[i][slot]
            if not (new is old or new == old):
                return False
        old = cols[_CONTENT][slot]
        content = item.content
        if old.__class__ is not list or len(old) != len(content):
            return False
        for new, had in zip(content, old, strict=True):
            if new.__class__ is not dict or isinstance(new.get("audio"), str):
                new = _part(new)  # else the copy _values makes equals the part
            if not (new is had or new == had):
                return False
        meta, old = item.metadata, cols[_METADATA][slot]
        if meta is None:
            if not (old is None or None == old):  # noqa: E711 (as a tuple compares)
                return False
        elif meta.__class__ is not dict or old.__class__ is not dict or not meta == old:
            return False
        extra, old = item.extra, cols[_EXTRA][slot]
        if extra.__class__ is not dict or old.__class__ is not dict or not extra == old:
            return False
        text, old = item.text, cols[_TEXT][slot]
        return text is old or text == old

    # ---------------------------------------------------------------- records
    def on_records(self, records: list[Record], event: ServerEvent | None = None) -> None:
        """The record listener (session thread). Public so benchmarks can feed it directly."""
        if len(records) < 2 and self._no_op(records):
            return
        done: list[Item] = []
        with self._lock:
            for i, rec in enumerate(records):
                if isinstance(rec, Change):
                    moved = rec.kind == "removed" and any(
                        isinstance(r, Change) and r.kind == "inserted" and r.item.id == rec.item.id
                        for r in records[i + 1:])
                    if self._apply(rec, moved) and self._done_subscribers:
                        done.append(rec.item.copy())
                elif isinstance(rec, ResponseChange):
                    self._apply_response(rec)
            changed, self._changed = self._changed, []
            reset, self._reset = self._reset, False
            subscribers = list(self._done_subscribers)
        if changed or reset:
            self._notify_watchers(changed, reset=reset)
        for item in done:
            for sub in subscribers:
                sub.push(item)

    def _no_op(self, records: list[Record]) -> bool:
        """True (after noting the response id) when these records, none or one, cannot
        change a row and nothing is pending for the watchers: most of a stream, where each
        delta updates a live item that has no row until it is done.

        No lock: only the record listener (the session thread) writes what is read here,
        and ``_response_of``, the one thing written, is used by that listener alone.
        """
        if self._changed or self._reset:
            return False
        if not records:
            return True
        rec = records[0]
        if not isinstance(rec, Change) or rec.kind == "removed" or rec.done:
            return False
        iid = rec.item.id
        if iid not in self._lprev or iid in self._slot:
            return False
        # what _apply does for it: note the response id, then nothing (no row, not done)
        if rec.response_id is not None:
            self._response_of[iid] = rec.response_id
        return True

    def _apply(self, rec: Change, moved: bool = False) -> bool:
        """Apply one change; True when it is the item's first done. ``moved``: a removal that
        the same batch follows with an insert of the item elsewhere (the model's moves)."""
        item, iid = rec.item, rec.item.id
        if rec.response_id is not None:
            self._response_of[iid] = rec.response_id
        if rec.kind == "removed":
            if iid not in self._lprev:
                return False
            self._unlink_live(iid)
            if moved:
                self._unlink_full(iid)  # the next record links it again
                self._order_dirty = True
                return False
            slot = self._slot.get(iid)
            if slot is None:
                self._forget(iid)
            else:
                old = self._row(slot)
                self._store(slot, _with(old, _DELETED, True))
                self._order_dirty = True
            return False
        if iid not in self._lprev:
            slot = self._slot.get(iid)
            if iid in self._fprev:  # a moved item, or a deleted id created again
                self._unlink_full(iid)
                self._order_dirty = True
                if slot is not None and self._cols[_DELETED][slot]:
                    self._first_ts[iid] = rec.ts
                    old = self._row(slot)
                    self._store(slot, _with(old, _CREATED, rec.ts, _NAN, False))
            self._link(iid, rec.previous_item_id, rec.ts)
        slot = self._slot.get(iid)
        if slot is None:
            if rec.done:
                self._new_row(item, rec.ts)
                return True
            return False
        if rec.done and math.isnan(self._cols[_DONE][slot]):
            old = self._row(slot)
            self._store(slot, _with(old, _DONE, rec.ts))
            self._update_row(item, slot)
            return True
        self._update_row(item, slot)
        return rec.done

    def _apply_response(self, rec: ResponseChange) -> None:
        usage = rec.usage or {}
        tokens = (_token(usage.get("input_tokens")), _token(usage.get("output_tokens")),
                  _token(usage.get("total_tokens")))
        rid = rec.response_id
        self._usage[rid] = tokens
        cols = self._cols
        rids, inputs, outputs, totals = (cols[i] for i in (_RID, *_USAGE))
        for iid in rec.item_ids:
            self._response_of[iid] = rid
            slot = self._slot.get(iid)
            if slot is None:
                continue
            # the only fields that may change (compared as the whole row tuple would be)
            if (rid, *tokens) == (rids[slot], inputs[slot], outputs[slot], totals[slot]):
                continue
            self._store(slot, _with(_with(self._row(slot), _RID, rid), _USAGE[0], *tokens))

    def _on_status(self, status: str) -> None:
        if status in ("closed", "error"):
            with self._lock:
                subscribers = list(self._done_subscribers)
            for sub in subscribers:
                sub.finish()

    # ---------------------------------------------------------------- reading
    def __len__(self) -> int:
        return len(self._ids)

    def frame(self) -> pd.DataFrame:
        """The current frame (a shallow copy of the cache; see the module doc)."""
        with self._lock:
            self.reads += 1
            if (self._cache is None or self._order_dirty or self._built_row
                    or self._n_built < len(self._ids)
                    or self._built_cat_version != self._cat_version):
                self._build()
            assert self._cache is not None
            return self._cache.copy(deep=False)

    def _columns(self, slots: Sequence[int]) -> dict[str, Sequence[Any]]:
        """Python values per column (``position`` left out) for these slots, in order."""
        if isinstance(slots, range) and slots.step == 1:
            cols = [col[slots.start: slots.stop] for col in self._cols]
        else:
            cols = [list(map(col.__getitem__, slots)) for col in self._cols]
        out: dict[str, Sequence[Any]] = dict(zip(_FIELDS, cols, strict=True))
        out["latency_s"] = _np().subtract(out["done_at"], out["created_at"], dtype=float)
        return out

    def _build(self) -> None:
        import numpy as np

        if self._store_columns is None:
            self._store_columns = ColumnStore(KINDS, categories=CATEGORIES, labelled=True)
            self._order = np.empty(0, dtype=np.int64)
            self._iloc = np.empty(0, dtype=np.int64)
        store = self._store_columns
        for column in CATEGORIES:
            store.set_categories(column, self._cats[column])
        n = len(self._ids)
        self.rebuilds += int(self._order_dirty)
        # 1. rows read before that changed since: patch only the columns that changed
        if self._built_row:
            patches: dict[str, tuple[list[int], list[Any]]] = {}
            for slot, old in sorted(self._built_row.items()):
                new, at = self._row(slot), int(self._iloc[slot])
                for name, a, b in zip(_FIELDS, old, new, strict=True):
                    if not _same(a, b):
                        ats, values = patches.setdefault(name, ([], []))
                        ats.append(at)
                        values.append(b)
                if not (_same(old[_CREATED], new[_CREATED]) and _same(old[_DONE], new[_DONE])):
                    ats, values = patches.setdefault("latency_s", ([], []))
                    ats.append(at)
                    values.append(new[_DONE] - new[_CREATED])
            for name, (ats, values) in patches.items():
                store.patch(name, ats, values)
        # 2. new rows, in conversation order, after the cached ones
        new_slots = self._sorted_new_slots(n)
        if new_slots:
            columns = self._columns(new_slots)
            columns["position"] = (
                [None] * len(new_slots) if self._order_dirty else self._tail_positions(new_slots))
            store.append(columns, self._ids[new_slots.start: new_slots.stop]
                         if isinstance(new_slots, range) else [self._ids[s] for s in new_slots])
            slots = np.asarray(new_slots, dtype=np.int64)
            iloc = np.empty(n, dtype=np.int64)
            iloc[: self._n_built] = self._iloc
            iloc[slots] = np.arange(self._n_built, n)
            self._iloc = iloc
            self._order = np.concatenate([self._order, slots])
            self._cache_live += len(new_slots) - sum(columns["deleted"])
        # 3. an insert before cached rows, a delete or a move: reorder, renumber positions
        if self._order_dirty:
            ids = self._ids
            keys = np.fromiter(map(self._key.__getitem__, map(ids.__getitem__, self._order)),
                               dtype=np.float64, count=n)
            perm = np.argsort(keys, kind="stable")
            if n and not np.array_equal(perm, np.arange(n)):
                store.take(perm)
                self._order = self._order[perm]
                keys = keys[perm]
                self._iloc[self._order] = np.arange(n)
            live = ~store.raw("deleted")[0]
            pos = np.cumsum(live) - 1 + np.searchsorted(self._rowless_keys(), keys)
            store.replace_raw("position", (pos.astype(np.int64), ~live))
            self._cache_live = int(np.count_nonzero(live))
        self._n_built = n
        self._cache_max_key = self._key[self._ids[self._order[-1]]] if n else -math.inf
        self._built_row.clear()
        self._order_dirty = False
        self._built_cat_version = self._cat_version
        self._cache = store.frame(COLUMNS, "item_id")

    def _sorted_new_slots(self, n: int) -> Sequence[int]:
        """The slots not in the cache yet, in conversation (key) order (a ``range`` when
        they arrived in that order, the usual case)."""
        import numpy as np

        k = n - self._n_built
        if k < 64:
            slots = sorted(range(self._n_built, n), key=self._slot_key)
            return range(self._n_built, n) if slots == list(range(self._n_built, n)) else slots
        keys = np.fromiter(map(self._key.__getitem__, self._ids[self._n_built:]),
                           dtype=np.float64, count=k)
        if bool(np.all(keys[1:] > keys[:-1])):
            return range(self._n_built, n)
        return (np.argsort(keys, kind="stable") + self._n_built).tolist()

    def _slot_key(self, slot: int) -> float:
        return self._key[self._ids[slot]]

    def _rowless_keys(self) -> np.ndarray:
        import numpy as np

        return np.sort(np.fromiter((self._key[i] for i in self._rowless), dtype=np.float64,
                                   count=len(self._rowless)))

    def _tail_positions(self, slots: Sequence[int]) -> list[int | None]:
        """Positions of rows that follow every cached row (the append fast path)."""
        import numpy as np

        rowless = self._rowless_keys()
        out: list[int | None] = []
        live = self._cache_live
        for s in slots:
            if self._cols[_DELETED][s]:
                out.append(None)
            else:
                out.append(live + int(np.searchsorted(rowless, self._slot_key(s))))
                live += 1
        return out

    def row_tuples(self) -> list[tuple[Any, ...]]:
        """Every row as a plain tuple (``ROW_FIELDS``), in arrival order: what a naive
        ``pd.DataFrame.from_records`` would be built from (the benchmark's baseline)."""
        with self._lock:
            return list(zip(self._ids, *self._cols, strict=True))

    # ---------------------------------------------------------------- table support
    def add_watcher(self, fn: RowWatcher) -> None:
        """``fn(item_ids, reset)`` after rows changed (session thread; keep it short)."""
        with self._lock:
            self._watchers.append(fn)

    def remove_watcher(self, fn: RowWatcher) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._watchers.remove(fn)

    def _notify_watchers(self, ids: list[str], *, reset: bool) -> None:
        for fn in list(self._watchers):
            with contextlib.suppress(Exception):
                fn(ids, reset)

    def display_rows(self, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Plain JSON rows for the live table: ``key`` orders them; ``None`` means all rows."""
        with self._lock:
            slots = range(len(self._ids)) if ids is None else [
                self._slot[i] for i in dict.fromkeys(ids) if i in self._slot]
            return [self._display(s) for s in slots]

    def _display(self, slot: int) -> dict[str, Any]:
        row, iid = self._row(slot), self._ids[slot]
        created, done = row[_CREATED], row[_DONE]
        latency = done - created
        return {
            "item_id": iid,
            "key": self._key.get(iid, 0.0),
            "type": row[_F["type"]],
            "role": row[_F["role"]],
            "status": row[_F["status"]],
            "text": _clip(row[_F["text"]]),
            "response_id": row[_RID],
            "latency_s": None if math.isnan(latency) else round(latency, 3),
            "total_tokens": row[_F["total_tokens"]],
            "deleted": row[_DELETED],
        }

    # ---------------------------------------------------------------- done-item iteration
    def subscribe(self) -> _Subscriber:
        """A queue of items that reach done from now on (ended when the session closes)."""
        sub = _Subscriber(self)
        with self._lock:
            closed = self._session is not None and self._session.status in ("closed", "error")
            if not closed:
                self._done_subscribers.append(sub)
        if closed:
            sub.finish()
        return sub

    def _unsubscribe(self, sub: _Subscriber) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._done_subscribers.remove(sub)


def _part(part: dict[str, Any]) -> dict[str, Any]:
    """A copy of a content part with audio bytes replaced by their length (like the log)."""
    audio = part.get("audio")
    return {**part, "audio": len(audio)} if isinstance(audio, str) else dict(part)


def _with(row: tuple[Any, ...], at: int, *values: Any) -> tuple[Any, ...]:
    """``row`` with ``values`` put at ``at``, ``at + 1``, ..."""
    return (*row[:at], *values, *row[at + len(values):])


def _np() -> Any:
    import numpy as np

    return np


def _same(a: Any, b: Any) -> bool:
    """Equal values (NaN equals NaN: missing timestamps)."""
    if a is b:
        return True
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return type(a) is type(b) and bool(a == b)


def _token(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def empty_frame() -> pd.DataFrame:
    """The schema of ``conv.df`` with no rows."""
    return ItemFrame().frame()


__all__ = [
    "CATEGORIES",
    "COLUMNS",
    "ItemFrame",
    "empty_frame",
]
