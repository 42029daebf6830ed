"""Where ingest time goes: cProfile of 100,000 events fed offline, with ``conv.df`` attached.

``python -m bench.profile_ingest [-n N] [--top K]`` feeds :func:`bench.stream` frames through
``Connection.receive`` (the socket path minus the socket) and prints each function's share of
the whole, cumulative and own. Issue 12 used it to bound what each removed speed shortcut could
have saved (bench/README.md, "Issue 12"). cProfile inflates Python calls: read shares, not
times.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import stream


def profile(n: int) -> list[tuple[str, float, float, int]]:
    """(function, cumulative share, own share, calls), largest cumulative first."""
    from realtime_nb.client import RealtimeConversation
    from realtime_nb.core.connection import Connection

    frames = stream(n)
    core = Connection.offline()
    conv = RealtimeConversation(core)
    conv.df  # noqa: B018 (attaches the frame's listener, as a notebook reading conv.df does)
    prof = cProfile.Profile()
    prof.enable()
    for frame in frames:
        core.receive(frame)
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = [(f"{path.split('realtime_nb/')[-1]}:{name}", cum / total, own / total, calls)
            for (path, _line, name), (_cc, calls, own, cum, _callers)
            in stats.stats.items()]  # type: ignore[attr-defined]
    return sorted(rows, key=lambda r: r[1], reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="events (default 100,000)")
    parser.add_argument("--top", type=int, default=40, help="rows to print")
    args = parser.parse_args()
    for name, cum, own, calls in profile(args.n)[: args.top]:
        print(f"{name[-70:]:70s} cum {cum:6.1%}  own {own:6.1%}  calls {calls:,}")


if __name__ == "__main__":
    main()
