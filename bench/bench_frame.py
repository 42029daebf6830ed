"""Benchmark of ``conv.df``: the build at 100,000 done items and the read after one more item.

Run ``python bench/bench_frame.py`` (prints a report) or import it and call :func:`run`
(returns the numbers as a dict, for an aggregator). No socket is involved: the change records
are produced once by the conversation model from hand-built server events, then fed straight
to an :class:`~realtime_nb.data.frame.ItemFrame`, so only the frame is measured.

Targets (from the issue): the first ``df`` build at 100,000 rows within 1.5x of
``pd.DataFrame.from_records`` on the same rows in the same run (best of ``repeats`` each), and
a read after one more item at 100,000 rows within 5 ms (median of ``one_more`` reads, each
after one more item with its records). Each timed call runs with the garbage collector off,
as ``timeit`` does.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from realtime_nb.core.conversation import Conversation
from realtime_nb.core.items import Item
from realtime_nb.core.protocol import ServerEvent
from realtime_nb.core.records import Change, Record, ResponseChange
from realtime_nb.data.frame import COLUMNS, ROW_FIELDS, ItemFrame

N_ITEMS = 100_000
BUILD_TARGET_RATIO = 1.5
READ_TARGET_MS = 5.0
T0 = 1_700_000_000.0
Batches = list[list[Record]]


def _event(data: dict[str, Any], ts: float) -> ServerEvent:
    return ServerEvent(data["type"], data["type"], data, ts)


def make_records(n: int) -> Batches:
    """Record batches for ``n`` done items: user messages and assistant answers (with a
    ``response.done`` carrying usage), every 50th item a function call. Items are added and
    finished one after the other, as a server does."""
    model = Conversation()
    batches: Batches = []
    prev: str | None = None
    t = T0
    for i in range(n):
        iid = f"item_{i:024d}"
        t += 0.01
        if i % 2 == 0:
            item: dict[str, Any] = {"id": iid, "type": "message", "role": "user",
                                    "status": "completed",
                                    "content": [{"type": "input_text", "text": f"question {i}"}]}
            rid = None
        elif i % 50 == 1:
            item = {"id": iid, "type": "function_call", "status": "completed",
                    "name": "get_weather", "call_id": f"call_{i}",
                    "arguments": '{"city": "Paris"}'}
            rid = f"resp_{i}"
        else:
            item = {"id": iid, "type": "message", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": f"answer number {i}"}]}
            rid = f"resp_{i}"
        if rid is not None:
            model.apply(_event({"type": "response.created",
                                "response": {"id": rid, "status": "in_progress"}}, t))
            model.apply(_event({"type": "response.output_item.added", "response_id": rid,
                                "item": {**item, "status": "in_progress"}}, t))
        batches.append(model.apply(_event({"type": "conversation.item.added",
                                           "previous_item_id": prev,
                                           "item": {**item, "status": "in_progress"}}, t)))
        batches.append(model.apply(_event({"type": "conversation.item.done",
                                           "previous_item_id": prev, "item": item}, t + 0.004)))
        if rid is not None:
            usage = {"input_tokens": 10 + i % 7, "output_tokens": 5, "total_tokens": 15 + i % 7}
            batches.append(model.apply(_event({"type": "response.done", "response": {
                "id": rid, "status": "completed", "output": [item], "usage": usage}}, t + 0.005)))
        prev = iid
    return batches


def feed(frame: ItemFrame, batches: Batches) -> None:
    for records in batches:
        frame.on_records(records)


def _timed(fn: Any) -> tuple[float, Any]:
    """Seconds for one call, with the garbage collector off during it (as ``timeit`` does)."""
    gc.disable()
    try:
        start = time.perf_counter()
        out = fn()
        return time.perf_counter() - start, out
    finally:
        gc.enable()


def run(n: int = N_ITEMS, repeats: int = 3, one_more: int = 30) -> dict[str, Any]:
    """Measure; returns seconds / milliseconds and whether each target was met."""
    batches = make_records(n + one_more + 2)
    base, extra = _split(batches, n)
    build_s, from_records_s, ingest_s = [], [], []
    frame = ItemFrame()
    df = None
    for _ in range(repeats):
        gc.collect()
        frame = ItemFrame()
        t_ingest, _ = _timed(lambda f=frame: feed(f, base))
        t_build, df = _timed(frame.frame)
        rows = frame.row_tuples()
        t_records, baseline = _timed(
            lambda r=rows: pd.DataFrame.from_records(r, columns=list(ROW_FIELDS)))
        ingest_s.append(t_ingest)
        build_s.append(t_build)
        from_records_s.append(t_records)
        assert len(df) == len(baseline) == n and tuple(df.columns) == COLUMNS
    build, records = min(build_s), min(from_records_s)
    gc.collect()
    # a read after one more done item, at n rows (the append fast path)
    cached_ms = []
    for _ in range(5):
        t, _ = _timed(frame.frame)
        cached_ms.append(t * 1e3)
    read_ms = []
    for records_of_item in extra[:one_more]:
        for batch in records_of_item:
            frame.on_records(batch)
        t, df = _timed(frame.frame)
        read_ms.append(t * 1e3)
    assert df is not None and len(df) == n + one_more
    assert frame.rebuilds == 1, "the one-more-item reads must not rebuild"
    read_median, read_max = statistics.median(read_ms), max(read_ms)
    ratio = build / records
    slow = _slow_paths(frame, df)
    return {
        "n_items": n,
        "ingest_s": min(ingest_s),
        "ingest_us_per_item": min(ingest_s) / n * 1e6,
        "build_s": build,
        "from_records_s": records,
        "build_ratio": ratio,
        "build_ratio_target": BUILD_TARGET_RATIO,
        "build_ok": ratio <= BUILD_TARGET_RATIO,
        "read_one_more_ms_median": read_median,
        "read_one_more_ms_max": read_max,
        "read_one_more_ms_all": read_ms,
        "read_target_ms": READ_TARGET_MS,
        "read_ok": read_median <= READ_TARGET_MS,
        "cached_read_ms_median": statistics.median(cached_ms),
        **slow,
    }


def _slow_paths(frame: ItemFrame, df: pd.DataFrame) -> dict[str, float]:
    """Informational: reads after a change to a row already read (usage patch), a delete
    (renumbers positions) and an insert at the root (reorders every column)."""
    t = T0 + 10 * N_ITEMS
    answer = next(i for i in reversed(df.index) if df.at[i, "role"] == "assistant")
    rid = str(df.at[answer, "response_id"])
    out: dict[str, float] = {}
    frame.on_records([ResponseChange(rid, "completed", {"input_tokens": 1, "output_tokens": 1,
                                                        "total_tokens": 2}, (answer,), t)])
    out["read_after_row_update_ms"] = _timed(frame.frame)[0] * 1e3
    middle = Item(id=str(df.index[len(df) // 2]), type="message", role="user")
    frame.on_records([Change("removed", middle, "conversation.item.deleted", ts=t)])
    out["read_after_delete_ms"] = _timed(frame.frame)[0] * 1e3
    root = Item(id="item_root", type="message", role="system", status="completed",
                content=[{"type": "input_text", "text": "be brief"}])
    frame.on_records([Change("inserted", root, "conversation.item.done", None, True, ts=t)])
    out["read_after_insert_at_root_ms"] = _timed(frame.frame)[0] * 1e3
    final = frame.frame()
    assert final.index[0] == "item_root" and final.deleted.sum() == 1
    return out


def _split(batches: Batches, n: int) -> tuple[Batches, list[Batches]]:
    """The batches of the first ``n`` done items, then the batches of each later item."""
    done, cut = 0, 0
    while done < n:
        done += sum(1 for r in batches[cut] if getattr(r, "done", False))
        cut += 1
    while cut < len(batches) and not any(
            getattr(r, "kind", None) == "inserted" for r in batches[cut]):
        cut += 1  # the rest of the n-th item (its response.done)
    head, tail = batches[:cut], batches[cut:]
    per_item: list[Batches] = []
    current: Batches = []
    for records in tail:
        current.append(records)
        if any(getattr(r, "kind", None) == "response_done" for r in records) or (
            any(getattr(r, "done", False) for r in records)
            and all(getattr(r, "response_id", None) is None for r in records)
        ):
            per_item.append(current)
            current = []
    return head, per_item


def main() -> None:
    result = run()

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISS"

    print(f"conv.df benchmark, {result['n_items']:,} done items")
    print(f"  ingest (records -> frame rows)   {result['ingest_s'] * 1e3:8.1f} ms "
          f"({result['ingest_us_per_item']:.2f} us/item)")
    print(f"  first df build                   {result['build_s'] * 1e3:8.1f} ms")
    print(f"  pd.DataFrame.from_records        {result['from_records_s'] * 1e3:8.1f} ms")
    print(f"  build / from_records             {result['build_ratio']:8.2f} x   "
          f"(target <= {BUILD_TARGET_RATIO}x: {mark(result['build_ok'])})")
    print(f"  read after one more item         {result['read_one_more_ms_median']:8.2f} ms "
          f"median, {result['read_one_more_ms_max']:.2f} ms max   "
          f"(target <= {READ_TARGET_MS} ms: {mark(result['read_ok'])})")
    print(f"  read with nothing new (cached)   {result['cached_read_ms_median']:8.3f} ms")
    print("  informational, at the same size:")
    print(f"    read after a row update         {result['read_after_row_update_ms']:8.2f} ms")
    print(f"    read after a delete             {result['read_after_delete_ms']:8.2f} ms")
    print(f"    read after an insert at root    {result['read_after_insert_at_root_ms']:8.2f} ms")


if __name__ == "__main__":
    main()
