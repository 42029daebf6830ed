"""The pandas side of ``conv.df``: turning :class:`~.frame.ItemFrame`'s rows into a typed
DataFrame incrementally, and caching it between reads.

A read after new rows converts only those rows and appends them; rows that changed since the
last read are patched column by column (:meth:`~.columns.ColumnStore.patch` writes fresh
storage); only an insert before cached rows, a delete or a move reorders (one vectorised
``take`` by the rows' sort keys) and renumbers ``position``. The row store tells the cache
what it changed through :meth:`FrameCache.changed` and :attr:`FrameCache.order_dirty`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .columns import ColumnStore

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class Rows(Protocol):
    """What the cache reads of the row store (:class:`~.frame.ItemFrame`)."""

    ids: list[str]  # slot -> item id
    cols: list[list[Any]]  # field -> values by slot
    keys: Mapping[str, float]  # item id -> sort key (conversation order)
    rowless: set[str]  # live items without a row yet (they count for positions)
    cats: dict[str, list[str]]
    cat_version: int


class FrameCache:
    """The built frame and what is needed to bring it up to date (see the module doc)."""

    def __init__(self, kinds: Mapping[str, str], categories: Mapping[str, Sequence[str]],
                 columns: Sequence[str], fields: Sequence[str]) -> None:
        self._kinds, self._categories = kinds, categories
        self._columns, self._fields = tuple(columns), tuple(fields)
        f = {name: i for i, name in enumerate(fields)}
        self._created, self._done, self._deleted = f["created_at"], f["done_at"], f["deleted"]
        self._store: ColumnStore | None = None
        self._frame: pd.DataFrame | None = None
        self._order: Any = None  # slot of each cached row, in frame order
        self._iloc: Any = None  # cached row of each cached slot
        self.n_built = 0  # slots below this are in the cached frame
        self.max_key = -math.inf  # the largest sort key in the cached frame
        self._live = 0  # live rows in the cached frame
        self.built_row: dict[int, tuple[Any, ...]] = {}  # changed cached slots: old values
        self.order_dirty = True
        self._cat_version = -1
        self.rebuilds = 0  # reorders (for tests and the benchmark)

    def changed(self, slot: int, old: tuple[Any, ...]) -> None:
        """The row at ``slot`` is about to change; ``old`` is its values now."""
        if slot < self.n_built and slot not in self.built_row:
            self.built_row[slot] = old

    def read(self, rows: Rows) -> pd.DataFrame:
        """The frame of ``rows`` as of now (the cache itself: callers copy it)."""
        if (self._frame is None or self.order_dirty or self.built_row
                or self.n_built < len(rows.ids) or self._cat_version != rows.cat_version):
            self._build(rows)
        assert self._frame is not None
        return self._frame

    def _build(self, rows: Rows) -> None:
        import numpy as np

        if self._store is None:
            self._store = ColumnStore(self._kinds, categories=self._categories, labelled=True)
            self._order = np.empty(0, dtype=np.int64)
            self._iloc = np.empty(0, dtype=np.int64)
        store = self._store
        for column, cats in rows.cats.items():
            store.set_categories(column, cats)
        n = len(rows.ids)
        self.rebuilds += int(self.order_dirty)
        self._patch(rows, store)
        self._append(rows, store, n)
        if self.order_dirty:
            self._reorder(rows, store, n)
        self.n_built = n
        self.max_key = rows.keys[rows.ids[self._order[-1]]] if n else -math.inf
        self.built_row.clear()
        self.order_dirty = False
        self._cat_version = rows.cat_version
        self._frame = store.frame(self._columns, "item_id")

    def _patch(self, rows: Rows, store: ColumnStore) -> None:
        """Rows read before that changed since: patch only the columns that changed."""
        patches: dict[str, tuple[list[int], list[Any]]] = {}
        for slot, old in sorted(self.built_row.items()):
            new, at = tuple(col[slot] for col in rows.cols), int(self._iloc[slot])
            for name, a, b in zip(self._fields, old, new, strict=True):
                if not same(a, b):
                    ats, values = patches.setdefault(name, ([], []))
                    ats.append(at)
                    values.append(b)
            c, d = self._created, self._done
            if not (same(old[c], new[c]) and same(old[d], new[d])):
                ats, values = patches.setdefault("latency_s", ([], []))
                ats.append(at)
                values.append(new[d] - new[c])
        for name, (ats, values) in patches.items():
            store.patch(name, ats, values)

    def _append(self, rows: Rows, store: ColumnStore, n: int) -> None:
        """New rows, in conversation order, after the cached ones."""
        import numpy as np

        slots = self._sorted_new_slots(rows, n)
        if not slots:
            return
        if isinstance(slots, range):
            cols = [col[slots.start: slots.stop] for col in rows.cols]
            labels = rows.ids[slots.start: slots.stop]
        else:
            cols = [list(map(col.__getitem__, slots)) for col in rows.cols]
            labels = [rows.ids[s] for s in slots]
        columns: dict[str, Sequence[Any]] = dict(zip(self._fields, cols, strict=True))
        columns["latency_s"] = np.subtract(columns["done_at"], columns["created_at"],
                                           dtype=float)
        columns["position"] = ([None] * len(slots) if self.order_dirty
                               else self._tail_positions(rows, slots))
        store.append(columns, labels)
        at = np.asarray(slots, dtype=np.int64)
        iloc = np.empty(n, dtype=np.int64)
        iloc[: self.n_built] = self._iloc
        iloc[at] = np.arange(self.n_built, n)
        self._iloc = iloc
        self._order = np.concatenate([self._order, at])
        self._live += len(slots) - sum(columns["deleted"])

    def _reorder(self, rows: Rows, store: ColumnStore, n: int) -> None:
        """An insert before cached rows, a delete or a move: reorder, renumber positions."""
        import numpy as np

        ids, keys_of = rows.ids, rows.keys
        keys = np.fromiter(map(keys_of.__getitem__, map(ids.__getitem__, self._order)),
                           dtype=np.float64, count=n)
        perm = np.argsort(keys, kind="stable")
        if n and not np.array_equal(perm, np.arange(n)):
            store.take(perm)
            self._order = self._order[perm]
            keys = keys[perm]
            self._iloc[self._order] = np.arange(n)
        live = ~store.raw("deleted")[0]
        pos = np.cumsum(live) - 1 + np.searchsorted(_rowless_keys(rows), keys)
        store.replace_raw("position", (pos.astype(np.int64), ~live))
        self._live = int(np.count_nonzero(live))

    def _sorted_new_slots(self, rows: Rows, n: int) -> Sequence[int]:
        """The slots not in the cache yet, in conversation (key) order (a ``range`` when
        they arrived in that order, the usual case)."""
        import numpy as np

        start, keys_of, ids = self.n_built, rows.keys, rows.ids
        if n - start < 64:
            slots = sorted(range(start, n), key=lambda s: keys_of[ids[s]])
            return range(start, n) if slots == list(range(start, n)) else slots
        keys = np.fromiter(map(keys_of.__getitem__, ids[start:]), dtype=np.float64,
                           count=n - start)
        if bool(np.all(keys[1:] > keys[:-1])):
            return range(start, n)
        return (np.argsort(keys, kind="stable") + start).tolist()

    def _tail_positions(self, rows: Rows, slots: Sequence[int]) -> list[int | None]:
        """Positions of rows that follow every cached row (the append fast path)."""
        import numpy as np

        rowless = _rowless_keys(rows)
        deleted = rows.cols[self._deleted]
        out: list[int | None] = []
        live = self._live
        for s in slots:
            if deleted[s]:
                out.append(None)
            else:
                out.append(live + int(np.searchsorted(rowless, rows.keys[rows.ids[s]])))
                live += 1
        return out


def _rowless_keys(rows: Rows) -> np.ndarray:
    import numpy as np

    return np.sort(np.fromiter((rows.keys[i] for i in rows.rowless), dtype=np.float64,
                               count=len(rows.rowless)))


def same(a: Any, b: Any) -> bool:
    """Equal values (NaN equals NaN: missing timestamps)."""
    if a is b:
        return True
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return type(a) is type(b) and bool(a == b)
