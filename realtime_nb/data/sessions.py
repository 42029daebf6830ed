"""Many saved sessions as one dataset: ``realtime_nb.read_sessions(paths)``.

``conv.save`` files from every session of a voice agent, every run of a demo, every prompt
variant: one DataFrame with the columns, dtypes and index of ``conv.df`` (``what="items"``)
or ``conv.events`` (``what="events"``), plus ``session_id`` and ``session_path``, in file
order. How a group of files becomes one frame is :mod:`.sessionframes`; this module picks the
files, splits them into groups and runs the groups:

* ``engine="pandas"``: in the caller for a little data, else on a process pool using every
  core (kept for the next call). Groups are consecutive files of about equal bytes, a few per
  worker, so 10,000 small files cost a few dozen tasks, not 10,000. Warnings raised while
  reading (a skipped line, with its ``file:line``) are caught in the worker and raised again
  in the caller, in file order;
* ``engine="dask"``: a lazy ``dask.dataframe`` with one partition per group of files
  (``dask.dataframe.from_map``) and the exact ``meta``, so it runs on any Dask cluster.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .saved import Errors
from .sessionframes import concat, events_chunk, items_chunk, per_file, turns_of

if TYPE_CHECKING:
    import pandas as pd

Paths = str | PathLike[str] | Sequence[str | PathLike[str]]
GroupFn = Callable[..., Any]


@dataclass(frozen=True)
class Kind:
    """How one ``what`` is read: ``group(paths, errors)`` is the frame of a group of files
    (a module-level function, so worker processes can run it) and ``of`` names what a
    loaded conversation calls it."""

    group: Callable[[Sequence[str], Errors], pd.DataFrame]
    of: str


#: ``what`` -> how it is read (a string entry: a kind that does not exist yet, the message).
#: A frame built from the log is one line: ``Kind(partial(per_file, fn), ...)``, ``fn`` a
#: function of a file's log entries and header.
WHAT: dict[str, Kind | str] = {
    "items": Kind(items_chunk, "conv.df"),
    "events": Kind(events_chunk, "conv.events"),
    "turns": Kind(partial(per_file, turns_of), "conv.turns"),
}
#: Below this many bytes in all, files are read in the caller: starting the pool costs about
#: a second (~16 MB of small sessions are read per second and core), a running one ~20 ms.
POOL_MIN_BYTES = 32 << 20
WARM_POOL_MIN_BYTES = 2 << 20
#: Groups per worker: small enough tasks that a slow one does not hold up the rest.
TASKS_PER_WORKER = 4
#: A Dask partition's target size in file bytes (its frame is about as large in memory).
PARTITION_BYTES = 32 << 20


def kind(what: str) -> Kind:
    """The :class:`Kind` of ``what``, or a clear error."""
    found = WHAT.get(what)
    if found is None:
        raise ValueError(f"what must be one of {', '.join(map(repr, WHAT))}, got {what!r}")
    if isinstance(found, str):
        raise NotImplementedError(found)
    return found


def session_paths(paths: Paths) -> list[str]:
    """The files ``paths`` means: a list in its order, a directory's ``*.jsonl`` sorted by
    name, a glob's matches sorted (``**`` recurses), or one file."""
    if isinstance(paths, (str, PathLike)):
        text = os.fspath(paths)
        if os.path.isdir(text):
            return sorted((str(p) for p in Path(text).glob("*.jsonl") if p.is_file()),
                          key=lambda p: (os.path.basename(p), p))
        if os.path.exists(text) or not glob.has_magic(text):
            if not os.path.exists(text):
                raise FileNotFoundError(f"no such file, directory or glob: {text}")
            return [text]
        return sorted(p for p in glob.glob(text, recursive=True) if os.path.isfile(p))
    if isinstance(paths, bytes):
        raise TypeError("paths must be str or os.PathLike, not bytes")
    return [os.fspath(p) for p in paths]


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:  # missing here (maybe there on a cluster's workers): its own group
        return -1


def groups(paths: Sequence[str], target_bytes: float) -> list[list[str]]:
    """Consecutive files in groups of about ``target_bytes`` (a larger file, or one whose
    size is unknown, alone), so order is kept and every group costs about the same."""
    out: list[list[str]] = []
    current: list[str] = []
    held = 0
    for path in paths:
        size = _size(path)
        if size < 0 or size >= target_bytes:
            if current:
                out.append(current)
            out.append([path])
            current, held = [], 0
            continue
        if current and held + size > target_bytes:
            out.append(current)
            current, held = [], 0
        current.append(path)
        held += size
    if current:
        out.append(current)
    return out


# ------------------------------------------------------------------------------ the pool
_POOL: ProcessPoolExecutor | None = None
_POOL_WORKERS = 0
_POOL_LOCK = threading.Lock()


def cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _pool(workers: int) -> ProcessPoolExecutor:
    """The shared pool (started on first use, kept for later calls). ``forkserver`` where
    there is one: forking a kernel that runs threads (a live session, Jupyter's own) can
    deadlock a child, and the fork server preloads pandas and realtime_nb once for every
    worker."""
    global _POOL, _POOL_WORKERS
    with _POOL_LOCK:
        if _POOL is None or _POOL_WORKERS != workers:
            if _POOL is not None:
                _POOL.shutdown(wait=False, cancel_futures=True)
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods
                                              else "spawn")
            if ctx.get_start_method() == "forkserver":
                ctx.set_forkserver_preload(["numpy", "pandas", "pyarrow",
                                            "realtime_nb.data.sessionframes"])
            _POOL, _POOL_WORKERS = ProcessPoolExecutor(workers, mp_context=ctx), workers
        return _POOL


def _drop_pool(pool: Executor) -> None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is pool:
            _POOL = None
    pool.shutdown(wait=False, cancel_futures=True)


def pool_workers() -> int:
    """How many worker processes the shared pool has (0: not started)."""
    return _POOL_WORKERS if _POOL is not None else 0


Caught = list[tuple[str, type[Warning]]]


def run_task(fn: GroupFn, *args: Any) -> tuple[Any, Caught]:
    """``fn(*args)`` with its warnings caught (message, category), to raise in the caller."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args)
    return result, [(str(w.message), w.category) for w in caught]


def map_groups(fn: GroupFn, paths: Sequence[str], *, args: tuple[Any, ...] = (),
               workers: int | None = None, numbered: bool = False, stacklevel: int = 2
               ) -> list[Any]:
    """``fn(group, *args)`` (``numbered``: ``fn(group, start, *args)``, ``start`` the index
    of the group's first file) for groups of ``paths``, in order: in this process for a
    little data or ``workers=1``, else on the pool. Warnings are raised again here, in file
    order, attributed to the caller ``stacklevel`` frames up."""
    want = cores() if workers is None else max(1, int(workers))
    total = sum(max(_size(p), 0) for p in paths) if want > 1 and len(paths) > 1 else 0
    least = WARM_POOL_MIN_BYTES if pool_workers() else POOL_MIN_BYTES
    if want == 1 or len(paths) < 2 or total < least:
        parts = [list(paths)]
    else:
        parts = groups(paths, max(64 << 10, total / (want * TASKS_PER_WORKER)))
    starts = [0]
    for part in parts[:-1]:
        starts.append(starts[-1] + len(part))
    calls = [(part, start, *args) if numbered else (part, *args)
             for part, start in zip(parts, starts, strict=True)]
    if len(parts) == 1:
        done = [run_task(fn, *calls[0])]
    else:
        pool = _pool(want)
        futures = []
        try:
            futures = [pool.submit(run_task, fn, *call) for call in calls]
            done = [f.result() for f in futures]
        except BaseException as exc:
            from concurrent.futures.process import BrokenProcessPool

            for f in futures:
                f.cancel()  # the groups not started yet: the call has failed
            if isinstance(exc, (BrokenProcessPool, KeyboardInterrupt)):
                _drop_pool(pool)  # a dead or interrupted pool is not reused
            raise
    for _, caught in done:
        for message, category in caught:
            warnings.warn(message, category, stacklevel=stacklevel + 1)
    return [result for result, _ in done]


# ------------------------------------------------------------------------------ Dask
class _Partition:
    """One Dask partition: the frame of a group of files. ``columns`` lets Dask project
    (it still reads every column of the files). Warnings reach the client through
    ``distributed.warn`` on a cluster."""

    def __init__(self, group: Callable[[Sequence[str], Errors], pd.DataFrame],
                 errors: Errors) -> None:
        self.group, self.errors = group, errors

    def __call__(self, paths: Sequence[str], columns: Sequence[str] | None = None
                 ) -> pd.DataFrame:
        frame, caught = run_task(self.group, list(paths), self.errors)
        if caught:
            try:
                from distributed import warn
            except ImportError:  # another scheduler: warn where it runs
                warn = warnings.warn  # type: ignore[assignment]
            for message, category in caught:
                warn(message, category)
        return frame if columns is None else frame[list(columns)]


def _dask(found: Kind, paths: Sequence[str], errors: Errors, what: str) -> Any:
    import dask
    import dask.dataframe as dd

    meta = found.group([], errors)
    # Dask would turn object columns (lists and dicts: content, payload) into strings
    with dask.config.set({"dataframe.convert-string": False}):
        if not paths:
            return dd.from_pandas(meta, npartitions=1)
        return dd.from_map(_Partition(found.group, errors), groups(paths, PARTITION_BYTES),
                           meta=meta, label=f"read_sessions-{what}", enforce_metadata=True)


# ------------------------------------------------------------------------------ the API
def read_sessions(paths: Paths, *, what: str = "items",
                  engine: Literal["pandas", "dask"] = "pandas", errors: Errors = "raise",
                  workers: int | None = None) -> Any:
    """Many saved sessions (``conv.save`` files) as one DataFrame.

    ``paths``: a list of files (kept in its order), a directory (its ``*.jsonl``, sorted by
    name) or a glob (matches sorted). ``what``: ``"items"`` (the columns, dtypes and
    ``item_id`` index of ``conv.df``), ``"events"`` (``conv.events``; the index is each
    event's ``seq`` in its file) or ``"turns"`` (``conv.turns``). All gain ``session_id``
    (the header's server session id, else the file's stem) and ``session_path`` (the path as
    given or matched), pandas ``"string"`` columns, last. Rows come file by file, in file
    order, each file's rows as ``realtime_nb.load(path)`` gives them.

    ``errors="raise"``: a line that cannot be read raises ``ValueError`` naming
    ``file:line`` (1-based, the header is line 1); ``"warn"``: it is skipped with a
    :class:`~realtime_nb.data.saved.SavedFileWarning`. A truncated last line (a file still
    being written) is always skipped with a warning.

    ``engine="pandas"`` uses every core (``workers``: how many processes; ``1`` reads in this
    process) once there is more than a little to read; ``engine="dask"`` returns a lazy
    ``dask.dataframe.DataFrame`` (one partition per group of files, run on the current Dask
    scheduler or ``distributed.Client``) whose ``.compute()`` equals the pandas result; it
    needs ``pip install "realtime-nb[dask]"``. In a script, call it under
    ``if __name__ == "__main__":`` (worker processes import the main module).
    """
    found = kind(what)
    if errors not in ("raise", "warn"):
        raise ValueError(f"errors must be 'raise' or 'warn', got {errors!r}")
    files = session_paths(paths)
    if engine == "dask":
        return _dask(found, files, errors, what)
    if engine != "pandas":
        raise ValueError(f"engine must be 'pandas' or 'dask', got {engine!r}")
    frames = map_groups(found.group, files, args=(errors,), workers=workers, stacklevel=2)
    return concat(frames)


__all__ = ["WHAT", "Kind", "groups", "kind", "map_groups", "read_sessions", "session_paths"]
