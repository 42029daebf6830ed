"""``conv.plot_timeline()``: the session on one time axis, drawn with matplotlib.

Four lanes share the axis: **user** (speech from ``speech_started`` to ``speech_stopped``,
and a tick for each typed message), **response** (a thin bar from our ``response.create`` to
the first text or audio delta, a thick one from there to ``response.done``; red when it did
not complete), **audio** (the assistant audio as played: from its first delta for as long as
its samples last, cut where a truncation says (a red mark), the unplayed rest hatched) and
**tools** (each tool run, from the runner's ``realtime_nb.tool`` log entries; red for an
error or a timeout).
A second panel plots each response's latency (first delta, done) at the time it started, so
500 turns read as a trend rather than as 500 rows. Everything is read from the event log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.protocol import canonical_type
from .turns import TurnBuilder

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..core.eventlog import LogEntry

LANES = ("user", "response", "audio", "tools")
COLORS = {
    "speech": "#4c72b0", "text": "#1f3b73", "waiting": "#c6d4e8", "streaming": "#55a868",
    "failed": "#c44e52", "audio": "#8172b2", "unplayed": "#d9d2ec", "cut": "#c44e52",
    "tool": "#dd8452", "tool_failed": "#c44e52",
}
#: Bytes per millisecond of output audio, by format (PCM16 at 24 kHz unless told otherwise).
_BYTES_PER_MS = {"audio/pcm": 48, "pcm16": 48, "audio/pcmu": 8, "audio/pcma": 8,
                 "g711_ulaw": 8, "g711_alaw": 8}
_FINAL_TOOL = {"completed", "failed", "timeout", "denied"}


@dataclass
class Timeline:
    """The spans of one session, in epoch seconds (built by :func:`read_timeline`)."""

    start: float | None = None
    speech: list[tuple[float, float]] = field(default_factory=list)
    texts: list[float] = field(default_factory=list)
    waiting: list[tuple[float, float]] = field(default_factory=list)
    streaming: list[tuple[float, float, bool]] = field(default_factory=list)  # ok?
    audio: list[tuple[float, float, float | None]] = field(default_factory=list)  # cut at
    tools: list[tuple[float, float, bool, str]] = field(default_factory=list)  # ok?, name
    latency: list[tuple[float, float | None, float | None]] = field(default_factory=list)


def _bytes_per_ms(session: Mapping[str, Any], rate_hint: int | None = None) -> int:
    audio = session.get("audio")
    out = audio.get("output") if isinstance(audio, Mapping) else None
    fmt = out.get("format") if isinstance(out, Mapping) else session.get("output_audio_format")
    if isinstance(fmt, Mapping):
        kind, rate = fmt.get("type"), fmt.get("rate")
        if kind == "audio/pcm" and isinstance(rate, int) and rate > 0:
            return max(1, rate * 2 // 1000)
        return _BYTES_PER_MS.get(str(kind), 48)
    return _BYTES_PER_MS.get(str(fmt), 48)


def read_timeline(entries: Iterable[LogEntry]) -> Timeline:
    """The spans to draw, from log entries (a live ``conv.log`` or a saved file's)."""
    entries = list(entries)
    builder = TurnBuilder()
    builder.feed(entries)
    tl = Timeline(start=entries[0]["ts"] if entries else None)
    bytes_per_ms = 48
    speech_from: float | None = None
    cuts: dict[str, float] = {}  # item id -> audio_end_ms
    running: dict[str, tuple[float, str]] = {}
    for entry in entries:
        etype, ts, payload = entry["type"], entry["ts"], entry["payload"]
        if entry["direction"] == "local":
            if etype == "realtime_nb.tool":
                call = str(payload.get("call_id"))
                status = payload.get("status")
                if status == "running":
                    running[call] = (ts, str(payload.get("name")))
                elif status in _FINAL_TOOL and call in running:
                    began, name = running.pop(call)
                    tl.tools.append((began, ts, status == "completed", name))
            continue
        etype = canonical_type(etype)
        if etype in ("session.created", "session.updated"):
            session = payload.get("session")
            if isinstance(session, Mapping):
                bytes_per_ms = _bytes_per_ms(session)
        elif etype == "input_audio_buffer.speech_started":
            speech_from = ts
        elif etype == "input_audio_buffer.speech_stopped" and speech_from is not None:
            tl.speech.append((speech_from, ts))
            speech_from = None
        elif etype in ("conversation.item.truncate", "conversation.item.truncated"):
            end = payload.get("audio_end_ms")
            if isinstance(payload.get("item_id"), str) and isinstance(end, (int, float)):
                cuts.setdefault(payload["item_id"], float(end))
        elif etype == "conversation.item.create" and entry["direction"] == "out":
            item = payload.get("item")
            if (isinstance(item, Mapping) and item.get("role") == "user"
                    and not any(isinstance(p, Mapping) and p.get("type") == "input_audio"
                                for p in item.get("content") or ())):
                tl.texts.append(ts)
    for turn in builder.turns.values():
        start = turn.start
        first = min((t for t in (turn.first_text, turn.first_audio) if t is not None),
                    default=None)
        if start is not None:
            tl.waiting.append((start, first if first is not None else turn.done or start))
        if first is not None:
            tl.streaming.append((first, turn.done or first, turn.status in (None, "completed")))
        elif turn.done is not None and start is not None and turn.status != "completed":
            tl.streaming.append((turn.done, turn.done, False))
        if turn.first_audio is not None and turn.audio_chars:
            seconds = turn.audio_chars * 3 / 4 / bytes_per_ms / 1000
            cut = next((cuts[i] / 1000 for i in turn.items if i in cuts), None)
            tl.audio.append((turn.first_audio, seconds, cut))
        if start is not None:
            tl.latency.append((start, turn.since_start(first), turn.since_start(turn.done)))
    return tl


def plot_timeline(entries: Iterable[LogEntry], ax: Axes | None = None, *,
                  title: str | None = None, latency: bool = True) -> Figure:
    """Draw the session's timeline (see the module doc); returns the figure. With ``ax``
    only the lanes are drawn, on that axes."""
    tl = read_timeline(entries)
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(11, 4.8 if latency else 3.0), layout="constrained")
        if latency:
            ax, lat_ax = fig.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
        else:
            ax, lat_ax = fig.subplots(), None
    else:
        fig, lat_ax = ax.figure, None  # type: ignore[assignment]
    origin = tl.start or 0.0
    span = max([e for s in tl.streaming for e in s[:2]]
               + [s + d for s, d, _ in tl.audio] + [e for _, e, *_ in tl.tools]
               + [e for _, e in tl.speech] + [origin + 1.0]) - origin
    minutes = span > 300
    scale = 60.0 if minutes else 1.0
    floor = span / scale / 1500  # the narrowest visible bar

    def bars(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [((a - origin) / scale, max((b - a) / scale, floor)) for a, b in spans]

    y = {lane: len(LANES) - 1 - i for i, lane in enumerate(LANES)}
    ax.broken_barh(bars(tl.speech), (y["user"] - 0.3, 0.6), color=COLORS["speech"])
    many = len(tl.latency) > 50  # smaller marks when there are hundreds
    ax.plot([(t - origin) / scale for t in tl.texts], [y["user"]] * len(tl.texts), "|",
            color=COLORS["text"], markersize=9 if many else 14, markeredgewidth=1 if many else 2)
    ax.broken_barh(bars(tl.waiting), (y["response"] - 0.12, 0.24), color=COLORS["waiting"])
    for ok, color in ((True, COLORS["streaming"]), (False, COLORS["failed"])):
        ax.broken_barh(bars([(a, b) for a, b, good in tl.streaming if good is ok]),
                       (y["response"] - 0.3, 0.6), color=color)
    played = [(s, s + (d if cut is None else min(d, cut))) for s, d, cut in tl.audio]
    unplayed = [(s + cut, s + d) for s, d, cut in tl.audio if cut is not None and cut < d]
    ax.broken_barh(bars(played), (y["audio"] - 0.3, 0.6), color=COLORS["audio"])
    ax.broken_barh(bars(unplayed), (y["audio"] - 0.15, 0.3), facecolor=COLORS["unplayed"],
                   edgecolor=COLORS["audio"], hatch="///", linewidth=0)
    cut_x = [(s + cut - origin) / scale for s, d, cut in tl.audio if cut is not None]
    ax.plot(cut_x, [y["audio"] + (0.42 if many else 0)] * len(cut_x),
            "v" if many else "x", color=COLORS["cut"], markersize=5 if many else 9,
            markeredgewidth=1 if many else 2)
    for ok, color in ((True, COLORS["tool"]), (False, COLORS["tool_failed"])):
        ax.broken_barh(bars([(a, b) for a, b, good, _ in tl.tools if good is ok]),
                       (y["tools"] - 0.3, 0.6), color=color)
    if len(tl.tools) <= 12:
        for a, _b, _, name in tl.tools:
            ax.annotate(name, ((a - origin) / scale, y["tools"] + 0.34), fontsize=7,
                        color="#555555", annotation_clip=False)
    ax.set_yticks([y[lane] for lane in LANES], list(LANES))
    ax.set_ylim(-0.6, len(LANES) - 0.4)
    ax.set_xlim(left=-span / scale * 0.01, right=span / scale * 1.01)
    ax.grid(axis="x", alpha=0.3)
    n = len(tl.latency)
    ax.set_title(title or f"{n} response{'s' if n != 1 else ''} over "
                 f"{span / scale:.1f} {'min' if minutes else 's'}", fontsize=10)
    unit = "min" if minutes else "s"
    if lat_ax is not None:
        xs = [(s - origin) / scale for s, _, _ in tl.latency]
        size = 18 if n <= 50 else 6
        lat_ax.scatter(xs, [f if f is not None else float("nan") for _, f, _ in tl.latency],
                       s=size, color=COLORS["streaming"], label="first delta")
        lat_ax.scatter(xs, [d if d is not None else float("nan") for _, _, d in tl.latency],
                       s=size, color=COLORS["waiting"], edgecolor="#4a5a75", linewidth=0.6,
                       label="done")
        lat_ax.set_ylabel("latency (s)")
        lat_ax.margins(y=0.15)
        lat_ax.set_ylim(bottom=0)
        lat_ax.grid(alpha=0.3)
        lat_ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7,
                      frameon=False, ncols=2, borderaxespad=0.1)
        lat_ax.set_xlabel(f"{unit} since the session started")
    else:
        ax.set_xlabel(f"{unit} since the session started")
    return fig  # type: ignore[return-value]


__all__ = ["LANES", "Timeline", "plot_timeline", "read_timeline"]
