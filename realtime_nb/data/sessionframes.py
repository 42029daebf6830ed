"""The frames of a group of saved sessions, built at once: what ``read_sessions`` runs for
each group of files (in the caller, a worker process or a Dask task).

Why not ``realtime_nb.load(p).df`` per file: that builds a whole conversation per file (the
facade, an incremental frame cache with column buffers sized for a live session) and then
``pd.concat`` of thousands of small frames, where most of the time goes. Here:

* items: each file is replayed through the sans-I/O core alone
  (:meth:`Connection.offline <realtime_nb.core.connection.Connection.offline>` and
  :meth:`~realtime_nb.core.connection.Connection.load_entry`, the same path as ``load``) with
  an :class:`~.frame.ItemFrame` listening, so every value is the one ``conv.df`` holds; the
  rows of every file are then ordered and numbered as :mod:`.framecache` does on a first
  build, and one :class:`~.columns.ColumnStore` types the whole group at once (the same
  conversions, so the same dtypes);
* events: no model is needed. Each log line becomes the row ``load`` would log for it
  (:func:`event_row`, which follows ``Connection.load_entry`` and ``EventLog.append``).

Both add ``session_id`` and ``session_path`` (pandas ``"string"``) as the last columns. The
index is each file's own: ``item_id`` (``str``) for items, the ``seq`` of the event in its
file (``int64``) for events, so it repeats across files.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..core.connection import Connection
from ..core.eventlog import LogEntry, strip_audio
from ..core.protocol import DIALECT_NAMES
from .columns import ColumnStore
from .dtypes import category_dtype, string_array
from .eventframe import DIRECTIONS, EVENT_COLUMNS, EVENT_KINDS
from .frame import CATEGORIES, COLUMNS, FIELDS, KINDS, ItemFrame
from .saved import Errors, SavedFile

if TYPE_CHECKING:
    import pandas as pd

#: The columns every ``read_sessions`` frame gains, after the frame's own.
SESSION_COLUMNS = ("session_id", "session_path")
_DELETED = FIELDS.index("deleted")
_CREATED, _DONE = FIELDS.index("created_at"), FIELDS.index("done_at")


class _ThisThread(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.ident = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.ident


@contextmanager
def quiet_core() -> Iterator[None]:
    """Drop the core's log messages from this thread while it replays saved files: the server
    errors and skipped events of a recorded session are history (they are in its log, and
    ``conv.events`` shows them), not news; other threads (a live session) still log."""
    logger = logging.getLogger("realtime_nb")
    quiet = _ThisThread()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _core(saved: SavedFile) -> Connection:
    """The offline core ``realtime_nb.load`` builds (same dialect rule), without its log."""
    dialect = saved.header.get("dialect")
    name = dialect if dialect in DIALECT_NAMES else "ga"
    return Connection.offline(str(name), f"loaded from {saved.stem}", keep_log=False)


def _union(into: dict[str, list[str]], cats: dict[str, list[str]]) -> None:
    """Add categories a server sent outside the fixed ones (first seen, first)."""
    for column, values in cats.items():
        known = into[column]
        known.extend(v for v in values if v not in known)


def _session_columns(frame: pd.DataFrame, ids: list[str], paths: list[str]) -> pd.DataFrame:
    frame["session_id"] = string_array(ids)
    frame["session_path"] = string_array(paths)
    return frame


def items_chunk(paths: Sequence[str], errors: Errors = "raise") -> pd.DataFrame:
    """``conv.df`` of every file, in file order, plus the session columns (one frame)."""
    import numpy as np

    cols: list[list[Any]] = [[] for _ in FIELDS]
    ids: list[str] = []
    positions: list[int | None] = []
    sids: list[str] = []
    spaths: list[str] = []
    cats = {c: list(v) for c, v in CATEGORIES.items()}
    with quiet_core():
        for path in paths:
            with SavedFile(path, errors) as saved:
                core = _core(saved)
                rows = ItemFrame(core)  # the record listener behind conv.df
                for entry in saved:
                    core.load_entry(entry)
            n = len(rows.ids)
            if not n:
                continue
            _union(cats, rows.cats)
            # the order and positions of FrameCache's first build (framecache._reorder)
            keys = np.fromiter(map(rows.keys.__getitem__, rows.ids), dtype=np.float64, count=n)
            perm = np.argsort(keys, kind="stable")
            live = ~np.fromiter(rows.cols[_DELETED], dtype=bool, count=n)[perm]
            rowless = np.sort(np.fromiter((rows.keys[i] for i in rows.rowless),
                                          dtype=np.float64, count=len(rows.rowless)))
            pos = np.cumsum(live) - 1 + np.searchsorted(rowless, keys[perm])
            positions += [p if alive else None
                          for p, alive in zip(pos.tolist(), live.tolist(), strict=True)]
            order = perm.tolist()
            ids += map(rows.ids.__getitem__, order)
            for mine, theirs in zip(cols, rows.cols, strict=True):
                mine += map(theirs.__getitem__, order)
            sids += [saved.session_id] * n
            spaths += [str(path)] * n
    columns: dict[str, Sequence[Any]] = dict(zip(FIELDS, cols, strict=True))
    columns["latency_s"] = np.subtract(cols[_DONE], cols[_CREATED], dtype=float)
    columns["position"] = positions
    store = ColumnStore(KINDS, categories=cats, labelled=True)
    store.append(columns, ids)
    return _session_columns(store.frame(COLUMNS, "item_id"), sids, spaths)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _id_of(payload: dict[str, Any], key: str, holder: str) -> str | None:
    value = payload.get(key)
    if isinstance(value, str) and value:
        return value
    inner = payload.get(holder)
    return _str_or_none(inner.get("id")) if isinstance(inner, dict) else None


def event_row(entry: LogEntry) -> tuple[Any, ...]:
    """The ``conv.events`` row (without ``seq``) that ``load`` logs for a saved entry: what
    ``Connection.load_entry`` hands to ``EventLog.append`` and what that derives from the
    payload (ids, error code, audio replaced by its length)."""
    payload, direction = entry["payload"], entry["direction"]
    note = None
    if direction == "local":
        note = entry["note"]
    elif direction == "in":
        if entry["type"] == "invalid":
            payload = {"type": "invalid", "raw": str(payload.get("raw", ""))[:2000]}
            note = entry["note"] or "invalid frame"
        else:
            note = entry["note"]  # a skipped event: the same model skips it on replay
    payload = strip_audio(payload)
    etype = payload.get("type")
    if etype.__class__ is not str:
        etype = str(etype)
    if direction == "local":
        etype = entry["type"] or etype
    err = payload.get("error")
    return (entry["ts"], direction, etype, _str_or_none(payload.get("event_id")),
            _id_of(payload, "item_id", "item"), _id_of(payload, "response_id", "response"),
            _str_or_none(err.get("code")) if isinstance(err, dict) else None, payload, note)


_ROW_COLUMNS = EVENT_COLUMNS[1:]  # event_row's fields


def events_chunk(paths: Sequence[str], errors: Errors = "raise") -> pd.DataFrame:
    """``conv.events`` of every file, in file order, plus the session columns (one frame)."""
    import pandas as pd

    rows: list[tuple[Any, ...]] = []
    seqs: list[int] = []
    sids: list[str] = []
    spaths: list[str] = []
    for path in paths:
        with SavedFile(path, errors) as saved:
            start = len(rows)
            rows += map(event_row, saved)
        n = len(rows) - start
        seqs += range(n)
        sids += [saved.session_id] * n
        spaths += [str(path)] * n
    columns: dict[str, Sequence[Any]] = {"seq": seqs}
    if rows:
        columns.update(zip(_ROW_COLUMNS, map(list, zip(*rows, strict=True)), strict=True))
    else:
        columns.update((c, []) for c in _ROW_COLUMNS)
    store = ColumnStore(EVENT_KINDS, categories={"direction": DIRECTIONS})
    store.append(columns)
    frame = store.frame(EVENT_COLUMNS)
    frame.index = pd.Index(seqs, dtype="int64")
    return _session_columns(frame, sids, spaths)


def logged(entries: Iterable[LogEntry]) -> list[LogEntry]:
    """A saved file's entries as the log of ``realtime_nb.load(path)`` holds them (the rows of
    :func:`event_row`, numbered from 0)."""
    return [dict(zip(EVENT_COLUMNS, (seq, *event_row(entry)), strict=True))  # type: ignore[misc]
            for seq, entry in enumerate(entries)]


EntriesFrame = Callable[[list[LogEntry], dict[str, Any]], "pd.DataFrame"]


def per_file(entries_frame: EntriesFrame, paths: Sequence[str], errors: Errors = "raise"
             ) -> pd.DataFrame:
    """A group's frame from a function of one file's log (as ``load`` logs it) and header, for
    frames built from the log such as ``conv.turns``: one call per file, then the session
    columns and one concat. Use as ``functools.partial(per_file, fn)`` (picklable)."""
    frames = []
    for path in paths:
        with SavedFile(path, errors) as saved:
            frame = entries_frame(logged(saved), saved.header)
        n = len(frame)
        frames.append(_session_columns(frame, [saved.session_id] * n, [str(path)] * n))
    if not frames:
        return _session_columns(entries_frame([], {}), [], [])
    return concat(frames)


def turns_of(entries: list[LogEntry], header: dict[str, Any]) -> pd.DataFrame:
    """``rnb.load(path).turns``: priced with the model the log reports, else the header's
    (what a loaded conversation's endpoint says)."""
    from .turns import TurnBuilder

    builder = TurnBuilder()
    builder.feed(entries)
    return builder.frame(builder.model or header.get("model"))


def concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat`` that keeps categorical columns categorical when some frames gained
    categories (a server value outside the fixed ones): every frame gets the union, fixed
    categories first."""
    import pandas as pd

    if len(frames) == 1:
        return frames[0]
    first = frames[0]
    frames = list(frames)
    for column in first.columns:
        if not isinstance(first[column].dtype, pd.CategoricalDtype):
            continue
        seen = [list(f[column].cat.categories) for f in frames]
        if all(s == seen[0] for s in seen):
            continue
        union: list[str] = []
        for s in seen:
            union.extend(v for v in s if v not in union)
        dtype = category_dtype(union)
        frames = [f.assign(**{column: f[column].cat.set_categories(dtype.categories)})
                  for f in frames]
    return pd.concat(frames)


def empty_items() -> pd.DataFrame:
    """The schema of an items frame with no rows (``meta`` for Dask)."""
    return items_chunk([])


__all__ = ["SESSION_COLUMNS", "concat", "event_row", "events_chunk", "items_chunk", "logged",
           "per_file", "quiet_core", "turns_of"]
