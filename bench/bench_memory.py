"""Memory: resident bytes per item held by a session, against the item's JSON size.

For 10,000 and 50,000 items, a fresh subprocess (so no earlier benchmark's free memory hides
the growth) feeds a realistic conversation (:func:`bench.items_events`: user messages and
streamed answers of ~10 deltas on average, every event through ``Connection.receive`` as the
socket would: parse, event log, model, ``conv.df`` listener) into an offline session, then
reports

* RSS per item: the process's resident set after minus before (``gc.collect()`` both times),
  divided by the items;
* at the first size, the same split by owner (a deep ``sys.getsizeof`` walk, each object
  counted once): the event log (every event, payloads kept), the conversation model, and the
  ``conv.df`` listener (``ItemFrame``: its rows and, as ``conv.df`` was read once, its cache);
* the baseline: the mean JSON size of a done item (``json.dumps`` of the item in
  ``conversation.item.done``), and the mean JSON size of all events per item as received.

No target is set by the issue; the figures are informational.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from typing import Any

from bench import REPO_ROOT, Row, fmt_bytes, items_events

SIZES = (10_000, 50_000)
QUICK_SIZES = (2_000, 10_000)
MEAN_DELTAS = 10


def deep_size(obj: Any, seen: set[int]) -> int:
    """Bytes of ``obj`` and everything it references that ``seen`` does not hold yet."""
    total = 0
    stack = [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        elif isinstance(o, (str, bytes, int, float, bool, type(None))):
            continue
        else:
            d = getattr(o, "__dict__", None)
            if d is not None:
                stack.append(d)
            for slot in getattr(type(o), "__slots__", ()):
                if hasattr(o, slot):
                    stack.append(getattr(o, slot))
    return total


def _rss() -> int:
    import psutil

    gc.collect()
    return psutil.Process().memory_info().rss


def child(n_items: int, walk: bool) -> dict[str, Any]:
    from realtime_nb.client import RealtimeConversation
    from realtime_nb.core.connection import Connection

    # shared objects (module caches, interned names) exist before the baseline is read
    warm = Connection.offline()
    RealtimeConversation(warm)
    for event in items_events(4, MEAN_DELTAS):
        warm.receive(json.dumps(event))
    del warm
    before = _rss()
    session = Connection.offline()
    conv = RealtimeConversation(session)
    n_events = json_events = json_items = 0
    for event in items_events(n_items, MEAN_DELTAS):
        frame = json.dumps(event)
        n_events += 1
        json_events += len(frame)
        if event["type"] == "conversation.item.done":
            json_items += len(json.dumps(event["item"]))
        session.receive(frame)
    after = _rss()
    assert len(session.model) == n_items and len(conv.df) == n_items
    parts: dict[str, int] = {}
    if walk:  # slow at 50,000 items (a million objects): the split is taken at one size
        seen: set[int] = set()
        # the frame's pandas cache exists now (read above): it counts with the frame
        parts = {
            "model": deep_size(session.model, seen),
            "log": deep_size(session.log, seen),
            "frame": deep_size(conv._frame, seen),
        }
    return {
        "items": n_items,
        "events": n_events,
        "rss_bytes": after - before,
        "parts": parts,
        "item_json": json_items / n_items,
        "events_json_per_item": json_events / n_items,
    }


def run(quick: bool = False) -> dict[str, Any]:
    sizes = QUICK_SIZES if quick else SIZES
    at = {}
    for i, n in enumerate(sizes):
        cmd = [sys.executable, "-m", "bench.bench_memory", "--child", str(n)]
        proc = subprocess.run(cmd + (["--walk"] if i == 0 else []),
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
                              check=True)
        at[n] = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"sizes": list(sizes), "at": at}


def rows(r: dict[str, Any]) -> list[Row]:
    out = []
    for n in r["sizes"]:
        m = r["at"][n]
        per = m["rss_bytes"] / n
        out.append(Row(f"memory RSS per item at {n:,} items ({m['events'] / n:.0f} ev/item)",
                       fmt_bytes(per), f"item JSON {fmt_bytes(m['item_json'])}",
                       f"{per / m['item_json']:.1f}"))
        parts = m["parts"]
        if not parts:
            continue
        split = ", ".join(f"{k} {v / n:,.0f}" for k, v in parts.items())
        out.append(Row(f"  held per item: {split} B", fmt_bytes(sum(parts.values()) / n),
                       f"events JSON {fmt_bytes(m['events_json_per_item'])}",
                       f"{sum(parts.values()) / n / m['item_json']:.1f}"))
    return out


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--walk", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.walk)))
        return
    from bench import format_table

    result = run(args.quick)
    print(format_table(rows(result)))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
