"""Benchmarks of realtime_nb (issue 7): ``python -m bench`` runs them all and prints one table.

Each module has ``run(quick=False) -> dict`` (the numbers) and ``rows(result) -> list[Row]``
(its lines of the table). Every ratio is against a baseline measured in the same run; nothing
here asserts on time. See bench/README.md for what each figure means.

This package also holds what several benchmarks share: the deterministic conversation stream
(:func:`conversation_events`), a comm that serialises like ipykernel and counts the bytes
(:class:`RecordingComm`), and the table :class:`Row`.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comm.base_comm import BaseComm

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


# --------------------------------------------------------------------------------------------
# The table


@dataclass
class Row:
    """One line of the table. ``ok`` is None for figures without a target (info)."""

    name: str
    measured: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    ok: bool | None = None

    @property
    def mark(self) -> str:
        return "info" if self.ok is None else ("OK" if self.ok else "MISS")


HEADER = ("benchmark", "measured", "baseline", "ratio", "target", "")


def format_table(rows: list[Row], markdown: bool = False) -> str:
    cells = [HEADER] + [(r.name, r.measured, r.baseline, r.ratio, r.target, r.mark)
                        for r in rows]
    if markdown:
        lines = ["| " + " | ".join(HEADER[:-1]) + " | OK? |",
                 "|" + "---|" * len(HEADER)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"
                  for row in cells[1:]]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADER))]
    out = []
    for k, row in enumerate(cells):
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def fmt_rate(per_s: float) -> str:
    return f"{per_s:,.0f} ev/s"


def fmt_bytes(n: float) -> str:
    return f"{n:,.0f} B"


def fmt_ms(ms: float) -> str:
    return f"{ms:,.1f} ms"


def machine() -> dict[str, str]:
    """nproc, CPU model, Python version and OS, for the README table."""
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


# --------------------------------------------------------------------------------------------
# A deterministic, realistic server stream (GA shapes, as the embedded server sends them)

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_WORDS = (
    "the weather in Paris is mild today with a light breeze from the west and some clouds "
    "later in the afternoon so you might want to take a jacket if you go out tonight because "
    "temperatures drop quickly after sunset in this season according to the latest forecast "
    "which also mentions a small chance of rain on Sunday morning near the river"
).split()
_QUESTIONS = (
    "What is the weather like in Paris today?",
    "Can you summarise the last message in two sentences?",
    "Please list three things to do on a rainy afternoon.",
    "How long does it take to walk from the Louvre to the Eiffel Tower?",
    "Translate 'good morning' into French, Spanish and German.",
)
SENTINEL_ID = "event_benchSentinel000000"


def _ident(prefix: str, n: int) -> str:
    """``prefix`` + 21 characters derived from ``n`` (unique, deterministic, OpenAI-shaped)."""
    chars = []
    x = n * 2654435761 + 12345
    for _ in range(21):
        x, r = divmod(x, 62)
        chars.append(_ALNUM[r])
        x = x * 31 + n + 7
    return prefix + "".join(chars)


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, prefix: str) -> str:
        self.n += 1
        return _ident(prefix, self.n)


def session_created() -> dict[str, Any]:
    return {"type": "session.created", "event_id": "event_benchSession0000000", "session": {
        "type": "realtime", "object": "realtime.session", "id": "sess_bench000000000000000",
        "model": "gpt-realtime", "output_modalities": ["text"], "instructions": "Be brief.",
        "tools": [], "tool_choice": "auto", "max_output_tokens": "inf", "tracing": None,
        "truncation": "auto", "prompt": None, "include": None,
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000},
                            "noise_reduction": None, "transcription": None,
                            "turn_detection": None},
                  "output": {"format": {"type": "audio/pcm", "rate": 24000},
                             "voice": "alloy", "speed": 1.0}}}}


def sentinel() -> dict[str, Any]:
    """The last event of every stream: a real GA event that changes no item."""
    return {"type": "rate_limits.updated", "event_id": SENTINEL_ID, "rate_limits": [
        {"name": "requests", "limit": 1000, "remaining": 999, "reset_seconds": 1.0},
        {"name": "tokens", "limit": 50000, "remaining": 49000, "reset_seconds": 2.5}]}


def user_turn(ids: _Ids, turn: int, prev: str | None) -> tuple[list[dict[str, Any]], str]:
    """``conversation.item.added`` / ``.done`` of one user message; returns (events, item id)."""
    iid = ids("item_")
    text = _QUESTIONS[turn % len(_QUESTIONS)]
    item = {"id": iid, "type": "message", "status": "completed", "role": "user",
            "content": [{"type": "input_text", "text": text}]}
    return [
        {"type": "conversation.item.added", "event_id": ids("event_"), "previous_item_id": prev,
         "item": item},
        {"type": "conversation.item.done", "event_id": ids("event_"), "previous_item_id": prev,
         "item": item},
    ], iid


def response_turn(ids: _Ids, turn: int, prev: str | None, n_deltas: int
                  ) -> tuple[list[dict[str, Any]], str]:
    """A streamed assistant message: response.created ... response.done with usage."""
    rid, iid = ids("resp_"), ids("item_")
    words = [_WORDS[(turn * 7 + k) % len(_WORDS)] + " " for k in range(n_deltas)]
    text = "".join(words).rstrip()
    words[-1] = words[-1].rstrip()
    base = {"response_id": rid, "item_id": iid, "output_index": 0, "content_index": 0}
    pending = {"id": iid, "type": "message", "status": "in_progress", "role": "assistant",
               "content": []}
    done_item = {"id": iid, "type": "message", "status": "completed", "role": "assistant",
                 "content": [{"type": "output_text", "text": text}]}
    resp = {"id": rid, "object": "realtime.response", "status": "in_progress",
            "status_details": None, "output": [], "conversation_id": "conv_bench0000000000000",
            "output_modalities": ["text"], "max_output_tokens": "inf",
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000},
                                 "voice": "alloy"}}, "metadata": None, "usage": None}
    n_in = 40 + turn % 50
    usage = {"total_tokens": n_in + n_deltas, "input_tokens": n_in, "output_tokens": n_deltas,
             "input_token_details": {"text_tokens": n_in, "audio_tokens": 0, "image_tokens": 0,
                                     "cached_tokens": 0,
                                     "cached_tokens_details": {"text_tokens": 0,
                                                               "audio_tokens": 0,
                                                               "image_tokens": 0}},
             "output_token_details": {"text_tokens": n_deltas, "audio_tokens": 0}}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "event_id": ids("event_"), "response": resp},
        {"type": "response.output_item.added", "event_id": ids("event_"), "response_id": rid,
         "output_index": 0, "item": pending},
        {"type": "conversation.item.added", "event_id": ids("event_"), "previous_item_id": prev,
         "item": pending},
        {"type": "response.content_part.added", "event_id": ids("event_"), **base,
         "part": {"type": "text", "text": ""}},
    ]
    events += [{"type": "response.output_text.delta", "event_id": ids("event_"), **base,
                "delta": w} for w in words]
    events += [
        {"type": "response.output_text.done", "event_id": ids("event_"), **base, "text": text},
        {"type": "response.content_part.done", "event_id": ids("event_"), **base,
         "part": {"type": "text", "text": text}},
        {"type": "response.output_item.done", "event_id": ids("event_"), "response_id": rid,
         "output_index": 0, "item": done_item},
        {"type": "conversation.item.done", "event_id": ids("event_"), "previous_item_id": prev,
         "item": done_item},
        {"type": "response.done", "event_id": ids("event_"),
         "response": {**resp, "status": "completed", "output": [done_item], "usage": usage}},
    ]
    return events, iid


def deltas_of(turn: int, mean: int) -> int:
    """A deterministic spread of answer lengths around ``mean`` words."""
    return max(3, mean // 2 + (turn * 37) % (mean + 1))


def conversation_events(mean_deltas: int = 30) -> Iterator[dict[str, Any]]:
    """Endless conversation: user message, streamed answer, user message, ... (GA shapes)."""
    ids = _Ids()
    prev: str | None = None
    turn = 0
    while True:
        events, prev = user_turn(ids, turn, prev)
        yield from events
        events, prev = response_turn(ids, turn, prev, deltas_of(turn, mean_deltas))
        yield from events
        turn += 1


def stream(n: int, mean_deltas: int = 30) -> list[str]:
    """``n`` pre-serialised events: ``n - 1`` of a conversation, then the sentinel."""
    out: list[str] = []
    for event in conversation_events(mean_deltas):
        if len(out) == n - 1:
            break
        out.append(json.dumps(event))
    out.append(json.dumps(sentinel()))
    return out


def items_events(n_items: int, mean_deltas: int = 30) -> Iterator[dict[str, Any]]:
    """Events of a conversation of exactly ``n_items`` done items (whole turns)."""
    ids = _Ids()
    prev: str | None = None
    made = 0
    turn = 0
    while made < n_items:
        events, prev = user_turn(ids, turn, prev)
        yield from events
        made += 1
        if made == n_items:
            break
        events, prev = response_turn(ids, turn, prev, deltas_of(turn, mean_deltas))
        yield from events
        made += 1
        turn += 1


# --------------------------------------------------------------------------------------------
# A comm that does what ipykernel's comm does before the zmq send, and counts the bytes


class RecordingComm(BaseComm):
    """Stand-in for ``ipykernel.comm.Comm``: builds the Jupyter message and serialises it with
    a signing ``jupyter_client.Session`` exactly as ``Session.send`` does before handing the
    frames to zmq, and counts bytes. ``content_bytes`` is the comm message's ``content`` frame
    (``{"data": ..., "comm_id": ...}``: what the widget chose to send); ``wire_bytes`` adds
    the Jupyter envelope (header, parent header, metadata, HMAC, routing ident)."""

    def __init__(self, **kwargs: Any) -> None:
        from ipykernel.jsonutil import json_clean
        from jupyter_client.session import Session

        self._json_clean = json_clean  # no import at interpreter shutdown (close on __del__)
        self.session = Session(key=b"bench-key-0123456789", username="bench")
        self.parent = self.session.msg("execute_request", {"code": ""})  # a cell's header
        self.lock = threading.Lock()
        self.messages = 0
        self.content_bytes = 0
        self.wire_bytes = 0
        self.by_kind: dict[str, int] = {}
        super().__init__(**kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        json_clean = self._json_clean
        data = {} if data is None else data
        content = json_clean(dict(data=data, comm_id=self.comm_id, **keys))
        msg = self.session.msg(msg_type, content, parent=self.parent,
                               metadata=json_clean(metadata or {}))
        frames = self.session.serialize(msg, ident=self.topic)
        wire = sum(len(f) for f in frames) + sum(len(b) for b in buffers or ())
        if data.get("method") == "custom":
            kind = str((data.get("content") or {}).get("kind"))
        else:
            kind = f"{msg_type}:{data.get('method', '')}"
        with self.lock:
            self.messages += 1
            self.content_bytes += len(frames[-1])
            self.wire_bytes += wire
            self.by_kind[kind] = self.by_kind.get(kind, 0) + len(frames[-1])

    def totals(self) -> tuple[int, int, int, dict[str, int]]:
        """(messages, content bytes, wire bytes, content bytes by message kind)."""
        with self.lock:
            return self.messages, self.content_bytes, self.wire_bytes, dict(self.by_kind)


@contextlib.contextmanager
def recording_comms(cls: type[RecordingComm] | None = None) -> Iterator[list[Any]]:
    """Widgets created inside get a :class:`RecordingComm` (or ``cls``, a subclass; collected
    in the yielded list)."""
    import comm

    made: list[Any] = []
    original = comm.create_comm
    make = cls or RecordingComm

    def create(*args: Any, **kwargs: Any) -> Any:
        c = make(**kwargs)
        made.append(c)
        return c

    comm.create_comm = create
    try:
        yield made
    finally:
        comm.create_comm = original


def detach_widget(widget: Any, core: Any) -> None:
    """Stop a widget from listening to a core (the benchmarks create several in turn)."""
    core.record_listeners.remove(widget._on_records)
    core.log_listeners.remove(widget._on_log)
    with contextlib.suppress(ValueError):
        core.status_listeners.remove(widget._on_status)
