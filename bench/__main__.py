"""``python -m bench``: run every benchmark and print one table (see bench/README.md).

Options: ``--only NAME`` (ingest, widget, frame, memory, render, sessions, audio; repeatable or
comma-separated), ``--quick`` (smaller sizes), ``--json PATH`` (every number, for a
comparison between runs), ``--against REV`` (ingest (d) at a git revision too, in the same
run), ``--readme`` (write the table into bench/README.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import Row, fmt_ms, format_table, machine

NAMES = ("ingest", "widget", "frame", "memory", "render", "sessions", "audio")
README = Path(__file__).with_name("README.md")
START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"


def _frame_run(quick: bool) -> dict[str, Any]:
    from bench import bench_frame

    return bench_frame.run(n=20_000) if quick else bench_frame.run()


def _frame_rows(r: dict[str, Any]) -> list[Row]:
    n = r["n_items"]
    return [
        Row(f"df first build, {n:,} done items", fmt_ms(r["build_s"] * 1e3),
            f"from_records {fmt_ms(r['from_records_s'] * 1e3)}", f"{r['build_ratio']:.2f}",
            f"<= {r['build_ratio_target']}x", bool(r["build_ok"])),
        Row(f"df read after one more item at {n:,} rows (median)",
            f"{r['read_one_more_ms_median']:.2f} ms",
            f"cached read {r['cached_read_ms_median']:.2f} ms",
            f"max {r['read_one_more_ms_max']:.2f} ms", f"<= {r['read_target_ms']} ms",
            bool(r["read_ok"])),
        Row("df listener ingest (records -> rows)", f"{r['ingest_us_per_item']:.1f} us/item"),
    ]


def _module(name: str) -> tuple[Callable[[bool], dict[str, Any]], Callable[..., list[Row]]]:
    if name == "frame":
        return _frame_run, _frame_rows
    import importlib

    mod = importlib.import_module(f"bench.bench_{name}")
    return mod.run, mod.rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", default=[],
                        help=f"run only these ({', '.join(NAMES)}); repeatable or a,b")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    parser.add_argument("--against", metavar="REV",
                        help="also measure ingest (d) at this git revision (now / REV ratio)")
    parser.add_argument("--readme", action="store_true",
                        help="write the table, date and machine into bench/README.md")
    args = parser.parse_args(argv)
    chosen = [n.strip() for arg in args.only for n in arg.split(",") if n.strip()] or NAMES
    unknown = [n for n in chosen if n not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(NAMES)}")

    started = time.perf_counter()
    all_rows: list[Row] = []
    results: dict[str, Any] = {}
    walls: dict[str, float] = {}
    for name in NAMES:
        if name not in chosen:
            continue
        print(f"[bench] {name} ...", flush=True)
        t0 = time.perf_counter()
        run, rows = _module(name)
        try:
            result = (run(args.quick, against=args.against) if name == "ingest" and args.against
                      else run(args.quick))
            got = rows(result)
            results[name] = result
        except Exception as exc:  # one broken benchmark must not hide the others
            traceback.print_exc()
            got = [Row(f"{name}: failed", f"{type(exc).__name__}: {exc}"[:80], ok=False)]
            results[name] = {"error": repr(exc)}
        walls[name] = time.perf_counter() - t0
        print(format_table(got), flush=True)
        print(f"[bench] {name} took {walls[name]:.0f} s\n", flush=True)
        all_rows += got
    wall = time.perf_counter() - started

    info = machine()
    stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    where = (f"{stamp}; {info['nproc']} cores, {info['cpu']}; Python {info['python']}; "
             f"{info['os']}; wall {wall:.0f} s"
             f" ({', '.join(f'{k} {v:.0f} s' for k, v in walls.items())})"
             + ("; --quick" if args.quick else ""))
    print(format_table(all_rows))
    print(where)
    misses = [r.name for r in all_rows if r.ok is False]
    print(f"{len(misses)} of {sum(r.ok is not None for r in all_rows)} targets missed"
          + (": " + "; ".join(misses) if misses else ""))
    if args.json:
        args.json.write_text(json.dumps({"when": stamp, "machine": info, "wall_s": wall,
                                         "walls": walls, "results": results}, indent=1,
                                        default=str))
    if args.readme:
        write_readme(format_table(all_rows, markdown=True), where)
    return 0


def write_readme(table: str, where: str) -> None:
    text = README.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{README} has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\nLatest run: {where}\n\n{table}\n{END}{tail}")


if __name__ == "__main__":
    raise SystemExit(main())
