"""Typed, growable DataFrame columns: cheap appends, and frames that are safe to hand out.

Used by ``conv.df`` (:mod:`.framecache`) and ``conv.events`` (:mod:`.events`); the dtypes and
value conversions are in :mod:`.dtypes`.

* Numpy-backed columns (object, nullable ints and floats, bools, categorical codes) live in
  buffers with spare capacity. Appending writes only the new rows, and a frame of ``n`` rows
  holds ``[:n]`` views: reading after one new row costs about one row, never a copy of
  100,000 Python objects.
* Timestamps live in an int64 buffer too; each frame gets its own copy (a small memcpy).
* Strings are arrow chunks (merged like a binary counter, so there are at most log2(n) of
  them); arrow data is immutable, so each frame gets a new wrapper over the same chunks.

Handing out views is safe because of two rules:

* each numpy buffer is wrapped by exactly one *anchor* Series for its whole life, and every
  frame is sliced from the anchors, so pandas copy-on-write sees the anchor as a live
  reference and copies before any write through a handed-out frame;
* the store never writes below ``n`` into a buffer that frames may view: a patch, a reorder
  or a dtype change writes into a fresh buffer (with a fresh anchor) instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .dtypes import (
    arrow_strings,
    category_dtype,
    codes_dtype,
    datetimes,
    raw_values,
    string_array,
    string_dtype,
    uses_arrow,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Column kinds held in numpy buffers and handed out as views (through anchors).
ANCHORED_KINDS = ("object", "Int64", "Float64", "bool", "int64", "category")
#: All kinds: the anchored ones, timestamps (buffer, copied per frame) and strings (arrow).
KINDS = (*ANCHORED_KINDS, "datetime", "string")
_MIN_CAPACITY = 1024
_FEW = 8  # appends of at most this many rows write scalars


class _Buffer:
    """A numpy-backed column: raw arrays with spare capacity (and an anchor if anchored)."""

    def __init__(self, kind: str, categories: Sequence[str] = ()) -> None:
        self.kind = kind
        self.cats = tuple(categories)
        self.codes = {c: i for i, c in enumerate(self.cats)}
        self.bufs: tuple[np.ndarray, ...] = self._empty(0)
        self.anchor: pd.Series | None = None

    def _empty(self, cap: int) -> tuple[np.ndarray, ...]:
        import numpy as np

        kind = self.kind
        if kind == "object":
            return (np.full(cap, None, dtype=object),)
        if kind == "Int64":
            return np.zeros(cap, dtype=np.int64), np.ones(cap, dtype=bool)
        if kind == "Float64":
            return np.full(cap, np.nan), np.ones(cap, dtype=bool)
        if kind == "bool":
            return (np.zeros(cap, dtype=bool),)
        if kind in ("int64", "datetime"):
            return (np.zeros(cap, dtype=np.int64),)
        return (np.full(cap, -1, dtype=codes_dtype(len(self.cats))),)

    def install(self, bufs: tuple[np.ndarray, ...]) -> None:
        """Use ``bufs`` from now on, with their own new anchor (never re-wrapped)."""
        import pandas as pd

        self.bufs = bufs
        if self.kind not in ANCHORED_KINDS:
            return
        if self.kind == "Int64":
            values: Any = pd.arrays.IntegerArray(bufs[0], bufs[1])
        elif self.kind == "Float64":
            values = pd.arrays.FloatingArray(bufs[0], bufs[1])
        elif self.kind == "category":
            values = pd.Categorical.from_codes(bufs[0], dtype=category_dtype(self.cats),
                                               validate=False)
        else:
            values = bufs[0]
        self.anchor = pd.Series(values, copy=False)

    def fresh(self, n: int, cap: int) -> tuple[np.ndarray, ...]:
        """New buffers holding the current ``[:n]`` (the old ones stay with old frames)."""
        bufs = self._empty(cap)
        for new, old in zip(bufs, self.bufs, strict=True):
            new[:n] = old[:n] if new.dtype == old.dtype else old[:n].astype(new.dtype)
        return bufs

    def write(self, n: int, values: Sequence[Any]) -> None:
        """Append at ``n`` (beyond every handed-out view)."""
        k = len(values)
        if k <= _FEW and self.kind != "datetime":
            bufs = self.bufs
            for i, value in enumerate(values, start=n):
                if self.kind in ("Int64", "Float64"):
                    missing = value is None or value != value
                    bufs[0][i] = 0 if missing else value
                    bufs[1][i] = missing
                elif self.kind == "category":
                    bufs[0][i] = -1 if value is None else self.codes[value]
                else:
                    bufs[0][i] = value
            return
        for buf, raw in zip(self.bufs, raw_values(self.kind, values, self.codes), strict=True):
            buf[n: n + k] = raw

    def array(self, n: int) -> Any:
        """The frame's values of an unanchored (timestamp) buffer: a fresh copy."""
        return datetimes(self.bufs[0][:n].copy())


class _Strings:
    """A string column: arrow chunks (or, without arrow storage, one pandas array)."""

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype
        self.arrow = uses_arrow(dtype)
        self.chunks: list[Any] = []
        self.values: Any = None if self.arrow else string_array([], dtype)

    def array(self) -> Any:
        """A new wrapper of the frame's own (arrow chunks are immutable and shared)."""
        import pandas as pd

        if not self.arrow:
            return self.values.copy()
        import pyarrow as pa

        chunked = pa.chunked_array(self.chunks, type=pa.large_string())
        return pd.arrays.ArrowStringArray(chunked, dtype=self.dtype)

    def set(self, values: Any) -> None:
        """Replace everything with this typed array (or these values)."""
        if not self.arrow:
            self.values = values if hasattr(values, "dtype") else string_array(values,
                                                                                self.dtype)
            return
        if hasattr(values, "__arrow_array__"):
            data = values.__arrow_array__()
            self.chunks = [data.combine_chunks() if hasattr(data, "combine_chunks") else data]
        else:
            self.chunks = [arrow_strings(values)]

    def append(self, values: Sequence[Any]) -> None:
        if self.arrow:
            import pyarrow as pa

            chunks = self.chunks
            chunks.append(arrow_strings(values))
            # a binary counter of chunks: at most log2(n) of them, each row copied
            # O(log n) times in all, and no append ever recopies the big first chunk early
            while len(chunks) > 1 and 2 * len(chunks[-1]) >= len(chunks[-2]):
                chunks[-2:] = [pa.concat_arrays(chunks[-2:])]
        else:
            new = string_array(values, self.dtype)
            self.values = type(new)._concat_same_type([self.values, new])

    def patch(self, at: np.ndarray, values: Sequence[Any]) -> None:
        arr = self.array().copy()
        arr[at] = string_array(values, self.dtype)
        self.set(arr)

    def take(self, perm: np.ndarray) -> None:
        self.set(self.array().take(perm))


class ColumnStore:
    """Columns of one growing frame (see the module doc). Not thread-safe: the owner locks.

    ``kinds`` maps column names to a kind (:data:`KINDS`); ``categories`` gives the
    categories of each ``category`` column (extend them with :meth:`set_categories`). With
    ``labelled=True`` the frame's index comes from the labels given to :meth:`append`
    (dtype ``str``).
    """

    def __init__(self, kinds: Mapping[str, str], *, categories: Mapping[str, Sequence[str]]
                 | None = None, labelled: bool = False) -> None:
        import pandas as pd

        self.kinds = dict(kinds)
        self.n = 0
        self._cap = 0
        self._buffers: dict[str, _Buffer] = {}
        self._strings: dict[str, _Strings] = {}
        for name, kind in self.kinds.items():
            if kind == "string":
                self._strings[name] = _Strings(string_dtype())
            elif kind in KINDS:
                self._buffers[name] = _Buffer(kind, (categories or {}).get(name, ()))
            else:
                raise ValueError(f"unknown column kind {kind!r}")
        self._labels = _Strings(pd.StringDtype(na_value=float("nan"))) if labelled else None
        self._combined: pd.DataFrame | None = None
        self._grow(_MIN_CAPACITY)

    # ------------------------------------------------------------------ buffers
    def _install(self, name: str, bufs: tuple[np.ndarray, ...]) -> None:
        self._buffers[name].install(bufs)
        self._combined = None

    def _combined_anchor(self) -> pd.DataFrame:
        """All anchors in one frame, so a read slices once. Built from the anchor Series, it
        shares their copy-on-write references: dropping it never orphans a buffer."""
        if self._combined is None:
            import pandas as pd

            self._combined = pd.DataFrame(
                {name: col.anchor for name, col in self._buffers.items()
                 if col.anchor is not None}, copy=False)
        return self._combined

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = max(_MIN_CAPACITY, need + need // 2, 2 * self._cap)
        for name, col in self._buffers.items():
            self._install(name, col.fresh(self.n, cap))
        self._cap = cap

    # ------------------------------------------------------------------ changes
    def set_categories(self, name: str, categories: Sequence[str]) -> None:
        """Extend a categorical column's categories (existing codes keep their meaning)."""
        col = self._buffers[name]
        cats = tuple(categories)
        if cats == col.cats:
            return
        assert cats[: len(col.cats)] == col.cats, "categories only grow"
        col.cats = cats
        col.codes = {c: i for i, c in enumerate(cats)}
        self._install(name, col.fresh(self.n, self._cap))

    def append(self, columns: Mapping[str, Sequence[Any]], labels: Sequence[str] | None = None,
               ) -> None:
        """Append rows given as Python values per column (every column, same length)."""
        k = len(next(iter(columns.values())))
        if k == 0:
            return
        self._grow(self.n + k)
        for name, col in self._buffers.items():
            col.write(self.n, columns[name])
        for name, strings in self._strings.items():
            strings.append(columns[name])
        if self._labels is not None:
            assert labels is not None and len(labels) == k
            self._labels.append(labels)
        self.n += k

    def patch(self, name: str, at: Sequence[int], values: Sequence[Any]) -> None:
        """Set rows ``at`` (positions in the frame) of one column, in fresh storage."""
        import numpy as np

        index = np.asarray(at, dtype=np.int64)
        if name in self._strings:
            self._strings[name].patch(index, values)
            return
        col = self._buffers[name]
        bufs = col.fresh(self.n, self._cap)
        for buf, raw in zip(bufs, raw_values(col.kind, values, col.codes), strict=True):
            buf[index] = raw
        self._install(name, bufs)

    def replace_raw(self, name: str, raw: tuple[np.ndarray, ...]) -> None:
        """Replace a whole buffer column from numpy arrays already in its raw layout."""
        bufs = self._buffers[name]._empty(self._cap)
        for buf, values in zip(bufs, raw, strict=True):
            buf[: self.n] = values
        self._install(name, bufs)

    def take(self, perm: np.ndarray) -> None:
        """Reorder every column (and the labels) by ``perm``, in fresh storage."""
        for name, col in self._buffers.items():
            bufs = col._empty(self._cap)
            for new, old in zip(bufs, col.bufs, strict=True):
                new[: self.n] = old[: self.n][perm]
            self._install(name, bufs)
        for strings in self._strings.values():
            strings.take(perm)
        if self._labels is not None:
            self._labels.take(perm)

    # ------------------------------------------------------------------ reading
    def raw(self, name: str) -> tuple[np.ndarray, ...]:
        """Read-only views of a buffer column's ``[:n]`` (for computations, not for frames)."""
        views = []
        for buf in self._buffers[name].bufs:
            view = buf[: self.n]
            view.flags.writeable = False
            views.append(view)
        return tuple(views)

    def frame(self, columns: Sequence[str], index_name: str | None = None) -> pd.DataFrame:
        """A DataFrame of the first ``n`` rows (safe to hand out; see the module doc)."""
        import pandas as pd

        view = self._combined_anchor().iloc[: self.n]
        data: dict[str, Any] = {}
        for name in columns:
            if name in self._strings:
                data[name] = self._strings[name].array()
            elif self._buffers[name].anchor is None:
                data[name] = self._buffers[name].array(self.n)
            else:
                data[name] = view[name]
        frame = pd.DataFrame(data, index=view.index, copy=False)  # one index: no aligning
        if self._labels is not None:
            frame.index = pd.Index(self._labels.array(), name=index_name, copy=False)
        return frame


__all__ = ["ANCHORED_KINDS", "KINDS", "ColumnStore"]
