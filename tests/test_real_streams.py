"""Streams the real OpenAI service sent (recorded by other people, tests/real_streams/README.md),
replayed frame by frame through the client core as the socket would hand them over: what a
user reads afterwards (items, ``conv.df``, ``conv.turns``, ``conv.errors``, a saved file) must
say what the stream said."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import realtime_nb as rnb
from realtime_nb.core.connection import Connection

STREAMS = sorted((Path(__file__).resolve().parent / "real_streams").glob("*.jsonl"))


def _frames(path: Path) -> tuple[dict[str, Any], list[str]]:
    lines = path.read_text().splitlines()
    return json.loads(lines[0])["_meta"], lines[1:]


def test_every_recording_is_here():
    assert len(STREAMS) == 8


@pytest.fixture(params=STREAMS, ids=lambda p: p.stem)
def replayed(request: pytest.FixtureRequest) -> tuple[Any, list[dict[str, Any]]]:
    meta, lines = _frames(request.param)
    conv = rnb.RealtimeConversation(Connection.offline(meta["dialect"]))
    with conv._lock:
        for line in lines:
            conv._core.receive(line)
    return conv, [json.loads(line) for line in lines]


def test_every_frame_is_read(replayed):
    conv, frames = replayed
    assert conv.skipped == 0
    assert len(conv.log) == len(frames)
    assert [e["type"] for e in conv.log if e["direction"] == "in"] == [
        f["type"] for f in frames]


def test_errors_are_the_servers(replayed):
    conv, frames = replayed
    sent = [f["error"] for f in frames if f["type"] == "error"]
    assert [(e.code, e.message) for e in conv.errors] == [
        (s.get("code"), s.get("message")) for s in sent]


def test_the_frame_holds_each_done_item_in_conversation_order(replayed):
    conv, frames = replayed
    done = {f["item"]["id"] for f in frames
            if f["type"] in ("conversation.item.done", "response.output_item.done")
            and f["item"].get("status", "completed") != "in_progress"}
    df = conv.df
    assert set(df.index) <= {it.id for it in conv.items}
    assert done - set(df.index) == set()  # every item the server said was done is a row
    order = [it.id for it in conv.items if it.id in set(df.index)]
    assert list(df.sort_values("position").index) == order


def test_turns_are_the_responses(replayed):
    conv, frames = replayed
    done = {f["response"]["id"]: f["response"] for f in frames if f["type"] == "response.done"}
    turns = conv.turns
    for rid, resp in done.items():
        row = turns.loc[turns.response_id == rid].iloc[0]
        assert row.status == resp["status"]
        usage = resp.get("usage") or {}
        if "total_tokens" in usage:
            assert row.total_tokens == usage["total_tokens"]


def test_save_and_load_give_the_same_frames(replayed, tmp_path):
    conv, _ = replayed
    path = conv.save(tmp_path / "session.jsonl")
    loaded = rnb.load(path)
    pd.testing.assert_frame_equal(loaded.df, conv.df)
    pd.testing.assert_frame_equal(loaded.turns, conv.turns)
