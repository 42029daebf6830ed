"""Benchmark of ``realtime_nb.read_sessions``: 10,000 small saved sessions as one DataFrame.

Run ``python -m bench --only sessions`` (or ``python bench/bench_sessions.py``).

The sessions: one real conversation on the embedded server (a user message and its answer, a
function call with its output and the answer, a deleted item, a server error), saved with
``conv.save``; the other files are derived from it by giving every id (items, events,
responses, calls, the session) a per-file suffix of the same length and shifting every
timestamp by a minute per file, so each is still a valid realtime_nb save with its own ids
(and the 10,000 span a week of dates).

Rows (same run, same files, warm page cache):

* ``read_sessions(dir)`` (items) against the plain loop ``pd.concat([rnb.load(p).df ...])``
  with the session columns added: target >= 3x on the 2-core machine (the pool uses both
  cores; most of the gain is not building a whole conversation and a frame cache per file
  and not concatenating 10,000 frames);
* ``read_sessions(dir, what="events")`` against ``rnb.load(p).events`` (info);
* ``read_sessions(dir, engine="dask").compute()`` on a ``distributed.LocalCluster`` of 2
  worker processes, one thread each (info; cluster start not counted).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from bench import Row

N_FILES = 10_000
QUICK_FILES = 1_000
TARGET_RATIO = 3.0
_ID = re.compile(r"\b((?:item|evt|event|resp|call|sess|conv)_[A-Za-z0-9]{6,})")
_TS = re.compile(r'"(ts|saved_at)": (\d+\.\d+)')


def record_session(path: Path) -> Path:
    """One real saved conversation from the embedded server (see the module doc)."""
    import realtime_nb as rnb
    from realtime_nb.demo import WEATHER_TOOL

    conv = rnb.connect(timeout=10)
    try:
        conv.create("Hello! What can you do offline?")
        conv.respond()
        conv.update_session(type="realtime", tools=[WEATHER_TOOL])
        conv.create("What is the weather in Oslo? Please use get_weather.")
        call = conv.respond().items[0]
        conv.create({"type": "function_call_output", "call_id": call.call_id,
                     "output": json.dumps({"city": "Oslo", "temp_c": 21})})
        conv.respond()
        extra = conv.create("never mind")
        conv.delete(extra.id)
        try:
            conv.delete("item_does_not_exist")
        except rnb.RealtimeServerError:
            pass
        return conv.save(path)
    finally:
        conv.close()


def derive(template: str, k: int) -> str:
    """File ``k``: every id gets the suffix ``k`` (same length), timestamps ``k`` minutes on."""
    tag = f"{k:x}"

    def new_id(m: re.Match[str]) -> str:
        old = m.group(1)
        return old[: len(old) - len(tag)] + tag

    def new_ts(m: re.Match[str]) -> str:
        return f'"{m.group(1)}": {float(m.group(2)) + 60.0 * k!r}'

    return _TS.sub(new_ts, _ID.sub(new_id, template))


def make_sessions(folder: Path, n: int) -> list[Path]:
    """``n`` saved sessions in ``folder`` (one recorded, ``n - 1`` derived)."""
    folder.mkdir(parents=True, exist_ok=True)
    first = record_session(folder / "session_00000.jsonl")
    template = first.read_text(encoding="utf-8")
    paths = [first]
    for k in range(1, n):
        path = folder / f"session_{k:05d}.jsonl"
        path.write_text(derive(template, k), encoding="utf-8")
        paths.append(path)
    return paths


def _loop(paths: list[Path], what: str) -> pd.DataFrame:
    """The baseline: every file through ``rnb.load``, then one ``pd.concat``."""
    import realtime_nb as rnb
    from realtime_nb.data.dtypes import string_array
    from realtime_nb.data.saved import SavedFile

    frames = []
    for p in paths:
        frame = getattr(rnb.load(p), what)
        with SavedFile(p) as saved:
            sid = saved.session_id
        n = len(frame)
        frames.append(frame.assign(session_id=string_array([sid] * n),
                                   session_path=string_array([str(p)] * n)))
    return pd.concat(frames)


def _timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(quick: bool = False, n: int | None = None) -> dict[str, Any]:
    import logging

    import realtime_nb as rnb
    from realtime_nb.data.sessions import cores

    n = n or (QUICK_FILES if quick else N_FILES)
    root = Path(tempfile.mkdtemp(prefix="rnb-bench-sessions-"))
    logging.getLogger("realtime_nb").setLevel(logging.ERROR)  # the loop's load() logs errors
    try:
        t_make, paths = _timed(lambda: make_sessions(root / "s", n))
        folder = str(root / "s")
        mb = sum(p.stat().st_size for p in paths) / 1e6
        _timed(lambda: rnb.read_sessions(paths[:50]))  # imports, page cache
        t_loop, expected = _timed(lambda: _loop(paths, "df"))
        t_read, got = _timed(lambda: rnb.read_sessions(folder))
        same = got.equals(expected) and got.dtypes.equals(expected.dtypes)
        t_again, _ = _timed(lambda: rnb.read_sessions(folder))  # the pool is up now
        t_one, _ = _timed(lambda: rnb.read_sessions(folder, workers=1))
        t_ev_loop, ev_expected = _timed(lambda: _loop(paths, "events"))
        t_ev, ev = _timed(lambda: rnb.read_sessions(folder, what="events"))
        ev_same = ev.equals(ev_expected) and ev.dtypes.equals(ev_expected.dtypes)
        dask = _dask(folder, got)
        return {
            "n_files": n, "megabytes": mb, "rows": len(got), "events": len(ev),
            "cores": cores(), "make_s": t_make, "loop_s": t_loop, "read_s": t_read,
            "read_again_s": t_again, "read_one_process_s": t_one, "ratio": t_loop / t_read,
            "ratio_target": TARGET_RATIO, "ok": t_loop / t_read >= TARGET_RATIO and same,
            "same_frame": same, "events_loop_s": t_ev_loop, "events_read_s": t_ev,
            "events_same": ev_same, **dask,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _dask(folder: str, expected: pd.DataFrame) -> dict[str, Any]:
    """``engine="dask"`` on a local cluster of 2 worker processes (start not counted)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        return {"dask_s": None}
    import realtime_nb as rnb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cluster's port and memory notices
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster):
            ddf = rnb.read_sessions(folder, engine="dask")
            t, got = _timed(ddf.compute)
    same = got.equals(expected) and got.dtypes.equals(expected.dtypes)
    return {"dask_s": t, "dask_partitions": ddf.npartitions, "dask_same": same}


def rows(r: dict[str, Any]) -> list[Row]:
    n, per = r["n_files"], r["megabytes"] / r["n_files"] * 1e3
    out = [
        Row(f"read_sessions items, {n:,} saved sessions ({per:.0f} kB each, "
            f"{r['cores']} cores)", f"{r['read_s']:.2f} s",
            f"load+concat {r['loop_s']:.2f} s", f"{r['ratio']:.1f}",
            f">= {r['ratio_target']:g}x", bool(r["ok"])),
        Row("  same call again (pool up); one process",
            f"{r['read_again_s']:.2f} s", f"1 proc {r['read_one_process_s']:.2f} s",
            f"{r['loop_s'] / r['read_again_s']:.1f}"),
        Row(f"read_sessions events ({r['events']:,} rows)", f"{r['events_read_s']:.2f} s",
            f"load+concat {r['events_loop_s']:.2f} s",
            f"{r['events_loop_s'] / r['events_read_s']:.1f}",
            ok=None if r["events_same"] else False),
    ]
    if r.get("dask_s") is not None:
        out.append(Row(f"read_sessions engine=dask .compute(), LocalCluster 2x1, "
                       f"{r['dask_partitions']} partitions", f"{r['dask_s']:.2f} s",
                       f"load+concat {r['loop_s']:.2f} s", f"{r['loop_s'] / r['dask_s']:.1f}",
                       ok=None if r["dask_same"] else False))
    if not r["same_frame"]:
        out.append(Row("read_sessions items frame differs from load+concat", "", ok=False))
    return out


def main() -> None:
    from bench import format_table

    quick = "--quick" in sys.argv
    result = run(quick)
    print(format_table(rows(result)))


if __name__ == "__main__":
    main()
