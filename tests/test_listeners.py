"""The core's listener fan-out (``core/listeners.py``): each listener gets the events it asked
for, in the order listeners were added, and ``deltas=False`` loses nothing such a listener
acts on: a streaming delta never finishes, removes or ends anything."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from realtime_nb.core.connection import Connection
from realtime_nb.core.listeners import Listeners, is_delta
from realtime_nb.core.records import Change

STREAMS = sorted((Path(__file__).resolve().parent / "real_streams").glob("*.jsonl"))


def test_each_listener_gets_what_it_asked_for_in_order():
    got: list[tuple[str, str]] = []
    fan: Listeners[Any] = Listeners()
    fan.add(lambda t: got.append(("all", t)))
    fan.add(lambda t: got.append(("no deltas", t)), deltas=False)
    fan.add(lambda t: got.append(("done only", t)), types=("response.done",))
    fan.add(lambda t: got.append(("first", t)), first=True)
    for t in ("response.output_text.delta", "response.done", "conversation.item.added"):
        fan.call(t, t)
    assert got == [
        ("first", "response.output_text.delta"), ("all", "response.output_text.delta"),
        ("first", "response.done"), ("all", "response.done"), ("no deltas", "response.done"),
        ("done only", "response.done"),
        ("first", "conversation.item.added"), ("all", "conversation.item.added"),
        ("no deltas", "conversation.item.added"),
    ]


def test_adding_or_removing_after_use_takes_effect_at_once():
    got: list[str] = []
    fan: Listeners[Any] = Listeners()

    def a(t: str) -> None:
        got.append("a")

    def b(t: str) -> None:
        got.append("b")

    fan.add(a)
    fan.call("response.done", "x")  # resolves and keeps the listeners of this type
    fan.add(b, types=("response.done",))
    fan.call("response.done", "x")
    fan.remove(a)
    fan.remove(a)  # twice: no error
    fan.call("response.done", "x")
    assert got == ["a", "a", "b", "b"]
    assert fan.of("response.done") == (b,) and fan.of("response.output_text.delta") == ()


def test_a_failing_listener_is_logged_and_the_next_still_runs(caplog):
    got: list[str] = []
    fan: Listeners[Any] = Listeners()

    def broken(t: str) -> None:
        raise ValueError("boom")

    fan.add(broken)
    fan.add(got.append)
    with caplog.at_level(logging.ERROR, logger="realtime_nb"):
        fan.call("response.done", "still here")
    assert got == ["still here"]
    assert "boom" in caplog.text


def _streams() -> list[Any]:
    out = []
    for path in STREAMS:
        lines = path.read_text().splitlines()
        meta = json.loads(lines[0])["_meta"]
        out.append(pytest.param(path.stem, meta["dialect"], lines[1:], id=path.stem))
    return out


@pytest.mark.parametrize("name,dialect,frames", _streams())
def test_a_delta_never_finishes_removes_or_ends_anything(name, dialect, frames):
    """What ``deltas=False`` relies on, on the real service's recorded streams: the records of
    a delta event are only changes to items still in progress."""
    core = Connection.offline(dialect)
    seen: list[tuple[str, list[Any]]] = []
    core.record_listeners.add(lambda recs, event: seen.append((event.type, list(recs))))
    for frame in frames:
        core.receive(frame)
    deltas = [(t, recs) for t, recs in seen if is_delta(t)]
    assert deltas, f"{name}: no delta events to check"
    for etype, recs in deltas:
        for rec in recs:
            assert isinstance(rec, Change), (etype, rec)
            assert not rec.done and rec.kind != "removed", (etype, rec)
