"""conv.df, conv.events, save/load, Parquet, the live table and done-item iteration.

Most tests run over real loopback traffic (``realtime_nb.connect()`` and the embedded server);
the cache property test feeds hand-built server events through an offline session, so it can
reach orders (moves, revived ids, items done out of order) a well-behaved server rarely makes.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import itertools
import json
import math
import random
import threading
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import realtime_nb as rnb
from realtime_nb import ConnectionClosedError
from realtime_nb.client import RealtimeConversation
from realtime_nb.core.connection import Connection
from realtime_nb.core.items import ITEM_TYPES
from realtime_nb.data.eventframe import EVENT_COLUMNS
from realtime_nb.data.frame import COLUMNS, USAGE_COLUMNS, empty_frame
from realtime_nb.demo import WEATHER_TOOL

TOOLS = [WEATHER_TOOL]

STRING = pd.StringDtype()
EXPECTED_DTYPES = {
    "position": "Int64",
    "previous_item_id": STRING,
    "type": "category",
    "role": "category",
    "status": "category",
    "text": STRING,
    "content": "object",
    "call_id": STRING,
    "name": STRING,
    "arguments": STRING,
    "output": STRING,
    "metadata": "object",
    "extra": "object",
    "response_id": STRING,
    "created_at": "datetime64[ns, UTC]",
    "done_at": "datetime64[ns, UTC]",
    "latency_s": "Float64",
    "deleted": "bool",
    "input_tokens": "Int64",
    "output_tokens": "Int64",
    "total_tokens": "Int64",
}


def check_schema(df: pd.DataFrame) -> None:
    assert tuple(df.columns) == COLUMNS
    for name, dtype in EXPECTED_DTYPES.items():
        assert df[name].dtype == dtype, (name, df[name].dtype)
    assert list(df["type"].cat.categories[:7]) == list(ITEM_TYPES)
    assert list(df["role"].cat.categories) == ["system", "user", "assistant"]
    assert list(df["status"].cat.categories) == ["completed", "incomplete", "in_progress"]
    assert df.index.name == "item_id" and df.index.dtype == "str"


def assert_live_matches(conv: RealtimeConversation) -> None:
    """The non-deleted rows are the live conversation: ids, order, positions, neighbours."""
    df = conv.df
    live = df[~df.deleted]
    items = conv.items
    assert list(live.index) == [i.id for i in items]
    assert live.position.tolist() == list(range(len(items)))
    assert live.previous_item_id.tolist() == [
        pd.NA if i.previous_item_id is None else i.previous_item_id for i in items]
    assert live.text.tolist() == [i.text for i in items]
    assert df[df.deleted].position.isna().all()


# ------------------------------------------------------------------------------ schema


def test_empty_conversation_gives_the_full_schema(conv):
    df = conv.df
    assert df.empty
    check_schema(df)
    check_schema(empty_frame())
    events = conv.events
    assert tuple(events.columns) == EVENT_COLUMNS
    assert len(events) == 1 and events.type.iloc[0] == "session.created"


def test_events_frame_columns_dtypes_and_audio_lengths(conv):
    conv.create("Hello")
    audio = base64.b64encode(b"\0" * 4800).decode()
    conv.send({"type": "input_audio_buffer.append", "audio": audio}, wait=True)
    with pytest.raises(rnb.RealtimeServerError):
        conv.delete("item_missing")
    ev = conv.events
    assert tuple(ev.columns) == EVENT_COLUMNS
    assert ev.seq.dtype == np.int64 and ev.seq.tolist() == list(range(len(ev)))
    assert ev.ts.dtype == "datetime64[ns, UTC]" and ev.ts.is_monotonic_increasing
    assert isinstance(ev.direction.dtype, pd.CategoricalDtype)
    assert list(ev.direction.cat.categories) == ["in", "out", "local"]
    for name in ("type", "event_id", "item_id", "response_id", "error_code", "note"):
        assert ev[name].dtype == STRING, name
    assert ev.payload.dtype == object and all(isinstance(p, dict) for p in ev.payload)
    append = ev[ev.type == "input_audio_buffer.append"].iloc[0]
    assert append.direction == "out" and append.payload["audio"] == len(audio)
    err = ev[ev.type == "error"].iloc[0]
    assert err.error_code is not pd.NA and err.payload["error"]["code"] == err.error_code
    created = ev[(ev.type == "conversation.item.create")].iloc[0]
    assert created.item_id == conv.items[0].id and created.event_id.startswith("evt_")
    # payload cells are the frame's own copies: editing one never reaches the session log
    ev.payload.iloc[0]["type"] = "changed"
    assert conv.log[0]["payload"]["type"] == "session.created"
    before = len(conv.events)
    conv.create("more")
    assert len(conv.events) > before


# ------------------------------------------------------------------------------ rows


def test_rows_for_every_item_type_with_values_and_dtypes(conv):
    made = [
        conv.create(role="system", text="Answer briefly."),
        conv.create("What is the weather?"),
        conv.create({"type": "message", "role": "assistant",
                     "content": [{"type": "output_text", "text": "earlier answer"}]}),
        conv.create({"type": "function_call", "name": "lookup", "arguments": '{"q": 1}',
                     "call_id": "call_9"}),
        conv.create({"type": "function_call_output", "call_id": "call_9", "output": "42"}),
        conv.create({"type": "mcp_call", "id": "mcp_call_1", "name": "search",
                     "arguments": "{}", "server_label": "docs"}),
        conv.create({"type": "mcp_list_tools", "server_label": "docs",
                     "tools": [{"name": "search", "input_schema": {"type": "object"}}]}),
        conv.create({"type": "mcp_approval_request", "id": "mcp_req_1", "name": "search",
                     "arguments": "{}", "server_label": "docs"}),
        conv.create({"type": "mcp_approval_response", "id": "mcp_resp_1",
                     "approval_request_id": "mcp_req_1", "approve": True}),
    ]
    df = conv.df
    check_schema(df)
    assert list(df.index) == [m.id for m in made]
    assert df.type.tolist() == [m.type for m in made]
    assert df.role.tolist()[:3] == ["system", "user", "assistant"]
    assert df.role.iloc[3:].isna().all()
    assert df.text.tolist() == [m.text for m in made]
    assert (df.status == "completed").sum() >= 3
    assert df.loc[made[1].id, "content"] == [{"type": "input_text", "text": "What is the weather?"}]
    call = df.loc[made[3].id]
    assert (call["name"], call["arguments"], call["call_id"]) == ("lookup", '{"q": 1}', "call_9")
    assert df.loc[made[4].id, "output"] == "42"
    assert df.loc["mcp_call_1", "extra"]["server_label"] == "docs"
    assert df.loc[made[6].id, "extra"]["tools"][0]["name"] == "search"
    assert df.loc["mcp_resp_1", "extra"]["approve"] is True
    assert not df.deleted.any() and df.response_id.isna().all()
    assert df[list(USAGE_COLUMNS)].isna().all().all()
    assert (df.latency_s >= 0).all() and (df.done_at >= df.created_at).all()
    assert_live_matches(conv)


def test_response_rows_have_response_id_usage_and_latency(conv):
    conv.update_session(tools=TOOLS)
    user = conv.create("Hello there")
    answer = conv.respond()
    conv.create("get_weather in Paris please")
    call = conv.respond()
    (fc,) = call.items
    conv.create({"type": "function_call_output", "call_id": fc.call_id,
                 "output": '{"temp_c": 21}'})
    final = conv.respond()
    df = conv.df
    for resp in (answer, call, final):
        (item,) = resp.items
        row = df.loc[item.id]
        assert row.response_id == resp.id
        assert row.input_tokens == resp.usage["input_tokens"]
        assert row.output_tokens == resp.usage["output_tokens"]
        assert row.total_tokens == resp.usage["total_tokens"]
        assert row.latency_s >= 0
    assert df.loc[answer.items[0].id, "role"] == "assistant"
    assert df.loc[answer.items[0].id, "text"].startswith('You said: "Hello there"')
    fc_row = df.loc[fc.id]
    assert fc_row.type == "function_call" and fc_row["name"] == "get_weather"
    assert json.loads(fc_row.arguments) == {"city": "Paris"}
    assert df.loc[user.id, "response_id"] is pd.NA
    assert df.loc[user.id, ["input_tokens", "output_tokens", "total_tokens"]].isna().all()
    assert (df.latency_s >= 0).all()
    assert_live_matches(conv)


def test_order_follows_inserts_at_root_and_after_ids(conv):
    a = conv.create("a")
    b = conv.create("b")
    root = conv.create(role="system", text="root", previous_item_id="root")
    after_a = conv.create("after a", previous_item_id=a.id)
    df = conv.df
    assert list(df.index) == [root.id, a.id, after_a.id, b.id]
    assert df.position.tolist() == [0, 1, 2, 3]
    assert df.previous_item_id.tolist() == [pd.NA, root.id, a.id, after_a.id]
    conv.create("new root", previous_item_id="root")
    assert_live_matches(conv)


def test_deleted_item_keeps_its_row(conv):
    a = conv.create("keep a")
    b = conv.create("delete me")
    c = conv.create("keep c")
    conv.delete(b.id)
    df = conv.df
    assert list(df.index) == [a.id, b.id, c.id]
    assert df.deleted.tolist() == [False, True, False]
    assert df.loc[b.id, "text"] == "delete me" and df.position.isna().tolist() == [
        False, True, False]
    assert df.loc[c.id, "previous_item_id"] == a.id
    assert_live_matches(conv)
    live = df[~df.deleted]
    assert list(live.index) == [i.id for i in conv.items]


def test_truncated_and_retrieved_items_update_their_row(conv):
    audio = base64.b64encode(b"\0" * 48 * 200).decode()  # 200 ms of silence
    item = conv.create({"type": "message", "role": "user", "content": [
        {"type": "input_audio", "audio": audio, "transcript": "hello there"}]})
    before = conv.df.loc[item.id]
    assert before.text == "hello there"
    conv.truncate(item.id, 0, 100)
    after = conv.df.loc[item.id]
    assert after.text == "" and after.content[0]["transcript"] == ""
    assert after.created_at == before.created_at and after.done_at == before.done_at
    got = conv.retrieve(item.id)
    row = conv.df.loc[item.id]
    assert row.content[0]["audio"] == len(got.content[0]["audio"])  # audio kept as its length
    assert_live_matches(conv)


# ------------------------------------------------------------------------------ caching


def test_reads_are_cached_and_mutations_stay_with_the_caller(conv):
    a = conv.create("one")
    conv.create("two")
    frame = conv._frame
    first = conv.df
    cache = frame._cache
    second = conv.df
    assert frame._cache is cache  # nothing new: no rebuild
    assert first is not second
    assert np.shares_memory(first["deleted"].values, second["deleted"].values)
    first.loc[a.id, "text"] = "edited"
    first.iloc[0, first.columns.get_loc("deleted")] = True
    first["extra_column"] = 1
    del first["name"]
    first.loc["item_made_up"] = first.iloc[0]
    first.loc[a.id, "content"] = None
    third = conv.df
    assert_frame_equal(third, second)
    assert third.loc[a.id, "text"] == "one" and "extra_column" not in third
    assert not third.deleted.any()
    conv.create("three")
    assert len(conv.df) == 3 and len(second) == 2  # an old read never changes
    expected = conv.df.copy(deep=True)
    gc.collect()  # the cache that shared data with `second` is gone: writes must still copy
    for col in range(second.shape[1]):
        second.iat[0, col] = second.iat[1, col]
    assert_frame_equal(conv.df, expected)


def _event(payload: dict[str, Any], ts: float, direction: str = "in") -> dict[str, Any]:
    return {"seq": 0, "ts": ts, "direction": direction, "type": payload["type"],
            "event_id": None, "item_id": None, "response_id": None, "error_code": None,
            "payload": payload, "note": None}


class Feeder:
    """Hand-built GA server events into an offline session, with a clock."""

    def __init__(self) -> None:
        self.session = Connection.offline()
        self.conv = RealtimeConversation(self.session)
        self.t = 1_700_000_000.0
        self.n = 0

    def send(self, payload: dict[str, Any]) -> None:
        self.t += 0.125
        self.session.load_entry(_event(payload, self.t))

    def new_id(self) -> str:
        self.n += 1
        return f"item_{self.n:04d}"

    @staticmethod
    def item(item_id: str, text: str, status: str = "completed", role: str = "user",
             ) -> dict[str, Any]:
        part = "input_text" if role == "user" else "output_text"
        return {"id": item_id, "type": "message", "role": role, "status": status,
                "content": [{"type": part, "text": text}]}

    def added(self, item_id: str, anchor: str | None, text: str = "x") -> None:
        self.send({"type": "conversation.item.added", "previous_item_id": anchor,
                   "item": self.item(item_id, text, "in_progress")})

    def done(self, item_id: str, anchor: str | None, text: str = "x") -> None:
        self.send({"type": "conversation.item.done", "previous_item_id": anchor,
                   "item": self.item(item_id, text)})

    def rebuilt(self) -> pd.DataFrame:
        """The frame of a fresh offline session fed the same log (one full build)."""
        fresh = Connection.offline()
        conv = RealtimeConversation(fresh)
        for entry in self.conv.log:
            fresh.load_entry(entry)
        return conv.df


def test_incremental_reads_equal_a_full_rebuild_under_random_edits():
    rng = random.Random(5)
    f = Feeder()
    pending: dict[str, str | None] = {}  # added, not done yet -> anchor
    deleted: list[str] = []
    responses = itertools.count()
    for step in range(220):
        live = [i.id for i in f.conv.items]
        op = rng.choice(["tail", "tail", "root", "after", "pending", "finish", "delete",
                         "retrieve", "response", "move", "revive", "read"])
        if op in ("tail", "root", "after"):
            anchor = (live[-1] if live else None) if op == "tail" else (
                None if op == "root" or not live else rng.choice(live))
            iid = f.new_id()
            f.added(iid, anchor, f"text {iid}")
            f.done(iid, anchor, f"text {iid}")
        elif op == "pending":
            iid = f.new_id()
            anchor = rng.choice([None, *live]) if live else None
            f.added(iid, anchor, f"pending {iid}")
            pending[iid] = anchor
        elif op == "finish" and pending:
            iid = rng.choice(sorted(pending))
            anchor = pending.pop(iid)
            if iid in live:
                prev = f.conv.item(iid).previous_item_id
                f.done(iid, prev, f"finished {iid}")
        elif op == "move" and pending:
            iid = rng.choice(sorted(pending))
            pending.pop(iid)
            others = [i for i in live if i != iid]
            if iid in live and others:
                f.done(iid, rng.choice(others), f"moved {iid}")  # a new anchor: the model moves it
        elif op == "delete" and live:
            iid = rng.choice(live)
            f.send({"type": "conversation.item.deleted", "item_id": iid})
            pending.pop(iid, None)
            deleted.append(iid)
        elif op == "retrieve" and live:
            iid = rng.choice(live)
            f.send({"type": "conversation.item.retrieved",
                    "item": {**f.item(iid, f"retrieved {step}"),
                             "metadata": {"step": str(step)}}})
        elif op == "response":
            rid = f"resp_{next(responses)}"
            iid = f.new_id()
            anchor = live[-1] if live else None
            f.send({"type": "response.created", "response": {"id": rid, "status": "in_progress"}})
            f.send({"type": "response.output_item.added", "response_id": rid,
                    "item": f.item(iid, "", "in_progress", "assistant")})
            f.send({"type": "conversation.item.added", "previous_item_id": anchor,
                    "item": f.item(iid, "", "in_progress", "assistant")})
            f.send({"type": "response.output_text.delta", "response_id": rid, "item_id": iid,
                    "content_index": 0, "delta": "streamed"})
            f.send({"type": "conversation.item.done", "previous_item_id": anchor,
                    "item": f.item(iid, "streamed answer", role="assistant")})
            f.send({"type": "response.done", "response": {
                "id": rid, "status": "completed",
                "output": [f.item(iid, "streamed answer", role="assistant")],
                "usage": {"input_tokens": step, "output_tokens": 3, "total_tokens": step + 3}}})
        elif op == "revive" and deleted:
            iid = deleted.pop(rng.randrange(len(deleted)))
            if iid not in live:
                anchor = rng.choice([None, *live]) if live else None
                f.added(iid, anchor, f"revived {iid}")
                f.done(iid, anchor, f"revived {iid}")
        if step % 3 == 0 or op == "read":
            got = f.conv.df
            assert_frame_equal(got, f.rebuilt())
            check_schema(got)
            by_id = {i.id: pos for pos, i in enumerate(f.conv.items)}
            live_rows = got[~got.deleted]
            pairs = zip(live_rows.index, live_rows.position, strict=True)
            assert all(by_id[i] == p for i, p in pairs)
            assert [i for i in by_id if i in live_rows.index] == list(live_rows.index)
    assert f.conv._frame.rebuilds > 5  # the reorder path ran, not only the append path
    final = f.conv.df
    assert_frame_equal(final, f.rebuilt())
    assert final.deleted.any() and final.response_id.notna().any()


def test_unknown_item_types_and_roles_extend_the_categories():
    f = Feeder()
    f.send({"type": "conversation.item.done", "previous_item_id": None,
            "item": {"id": "item_a", "type": "message", "role": "user", "status": "completed",
                     "content": [{"type": "input_text", "text": "hi"}]}})
    first = f.conv.df
    f.send({"type": "conversation.item.done", "previous_item_id": "item_a",
            "item": {"id": "item_b", "type": "reasoning", "role": "developer",
                     "status": "searching", "content": []}})
    mid = f.conv.df
    assert mid.loc["item_b", "status"] == "completed"  # done is final (the model says so)
    f.send({"type": "conversation.item.retrieved",
            "item": {"id": "item_b", "type": "reasoning", "role": "developer",
                     "status": "searching", "content": []}})
    df = f.conv.df
    assert df.loc["item_b", "type"] == "reasoning" and df.loc["item_b", "role"] == "developer"
    assert df.loc["item_b", "status"] == "searching"
    assert list(df.status.cat.categories)[-1] == "searching"
    assert mid.loc["item_b", "status"] == "completed"  # an earlier read never changes
    assert list(df.type.cat.categories)[-1] == "reasoning"
    assert df.loc["item_a", "type"] == "message"
    assert_frame_equal(df, f.rebuilt())
    assert list(first.type.cat.categories) == list(ITEM_TYPES)


def test_beta_dialect_rows(embedded_server):
    from realtime_nb.endpoints import protocol_url

    conv = rnb.connect(url=protocol_url(embedded_server.url, "beta"), dialect="beta", timeout=10)
    try:
        user = conv.create("Hello beta")
        answer = conv.respond()
        df = conv.df
        assert list(df.index) == [user.id, answer.items[0].id]
        assert df.loc[answer.items[0].id, "response_id"] == answer.id
        assert df.loc[answer.items[0].id, "total_tokens"] == answer.usage["total_tokens"]
        assert_live_matches(conv)
    finally:
        conv.close()


def test_reads_from_the_kernel_thread_while_items_arrive(conv):
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                df = conv.df
                assert list(df.position) == list(range(len(df)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        ids = [conv.create(f"burst {i}", wait=False) for i in range(60)]
        assert ids == [None] * 60
        last = conv.create("last")
    finally:
        stop.set()
        thread.join(10)
    assert not errors, errors
    df = conv.df
    assert len(df) == 61 and df.index[-1] == last.id
    assert_live_matches(conv)


# ------------------------------------------------------------------------------ save / load


def busy_conversation(conv: RealtimeConversation) -> None:
    conv.update_session(tools=TOOLS)
    a = conv.create("Hello")
    conv.respond()
    conv.create(role="system", text="Be brief.", previous_item_id="root")
    b = conv.create("get_weather in Oslo", previous_item_id=a.id)
    call = conv.respond()
    conv.create({"type": "function_call_output", "call_id": call.items[0].call_id,
                 "output": '{"temp_c": 3}'})
    conv.respond()
    conv.delete(b.id)
    conv.retrieve(a.id)
    with pytest.raises(rnb.RealtimeServerError):
        conv.create("lost", previous_item_id="item_missing")


def test_save_then_load_rebuilds_df_and_events_exactly(conv, tmp_path):
    busy_conversation(conv)
    path = conv.save(tmp_path / "session.jsonl")
    loaded = rnb.load(path)
    assert_frame_equal(loaded.df, conv.df)
    assert_frame_equal(loaded.events, conv.events)
    assert [i.to_dict() for i in loaded.items] == [i.to_dict() for i in conv.items]
    assert loaded.status == "closed"
    with pytest.raises(ConnectionClosedError):
        loaded.create("nope")
    assert list(loaded.done_items(timeout=5)) == []  # nothing can land offline
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "realtime_nb.events" and header["version"] == 1
    assert header["dialect"] == "ga" and header["endpoint"] == conv.endpoint.name
    assert header["entries"] == len(lines) - 1 == len(conv.log)
    assert "headers" not in header and "authorization" not in path.read_text().lower()


def test_save_after_close_and_load_again(tmp_path):
    conv = rnb.connect(timeout=10)
    conv.create("bye")
    conv.respond()
    conv.close()
    path = conv.save(tmp_path / "closed.jsonl")
    loaded = rnb.load(path)
    assert_frame_equal(loaded.df, conv.df)
    assert_frame_equal(loaded.events, conv.events)
    again = rnb.load(loaded.save(tmp_path / "again.jsonl"))
    assert_frame_equal(again.events, conv.events)


def test_save_load_across_a_reconnect_with_an_unfinished_response(tmp_path):
    """A drop in the middle of a streamed answer: the live session discards the half answer
    (``realtime_nb.resync``) and asks again; the loaded copy must do the same."""
    from realtime_nb.server import EmbeddedServer

    with EmbeddedServer(chunk_delay=0.02) as srv:
        conv = rnb.connect(url=srv.url, backoff=(0.01, 0.1), timeout=20)
        try:
            conv.create("please answer with a long sentence so that it streams for a while")
            conv.respond(wait=False)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(
                    e["type"] == "response.output_text.delta" for e in conv.log):
                time.sleep(0.005)
            assert srv.drop_connections() == 1
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (
                    any(e["type"] == "realtime_nb.resync" for e in conv.log)
                    and conv.status == "open" and len(conv.df) == 2):
                time.sleep(0.01)
            conv.create("after the drop")
            path = conv.save(tmp_path / "reconnect.jsonl")
            df = conv.df
            events = conv.events
            items = [i.to_dict() for i in conv.items]
        finally:
            conv.close()
    loaded = rnb.load(path)
    assert_frame_equal(loaded.df, df)
    assert_frame_equal(loaded.events, events.iloc[: len(loaded.events)])
    assert [i.to_dict() for i in loaded.items] == items
    assert len(df) == 3 and not df.deleted.any()
    added = set(loaded.events[loaded.events.type == "conversation.item.added"].item_id)
    assert added - set(df.index), "the half-streamed answer was discarded, not kept"
    assert "realtime_nb.resync" in set(loaded.events.type)


def test_load_refuses_other_files(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\n')
    with pytest.raises(ValueError, match="not a realtime_nb event file"):
        rnb.load(bad)
    newer = tmp_path / "newer.jsonl"
    newer.write_text('{"format": "realtime_nb.events", "version": 99}\n')
    with pytest.raises(ValueError, match="version 99"):
        rnb.load(newer)


# ------------------------------------------------------------------------------ parquet


def test_parquet_round_trip_keeps_dtypes_and_cells(conv, tmp_path):
    empty = tmp_path / "empty.parquet"
    conv.to_parquet(empty)
    assert_frame_equal(rnb.read_parquet(empty), conv.df)
    busy_conversation(conv)
    conv.create({"type": "mcp_list_tools", "server_label": "docs",
                 "tools": [{"name": "search", "input_schema": {"type": "object"}}]})
    path = conv.to_parquet(tmp_path / "items.parquet")
    back = rnb.read_parquet(path)
    assert_frame_equal(back, conv.df)
    check_schema(back)
    plain = pd.read_parquet(path)  # any reader: same dtypes, JSON text in object columns
    scalar = [c for c in COLUMNS if c not in ("content", "metadata", "extra")]
    assert_frame_equal(plain[scalar], conv.df[scalar])
    assert json.loads(plain.content.iloc[0]) == conv.df.content.iloc[0]
    events = conv.to_parquet(tmp_path / "events.parquet", events=True)
    assert_frame_equal(rnb.read_parquet(events), conv.events)


# ------------------------------------------------------------------------------ iteration


def test_done_items_yields_items_as_they_land(conv):
    it = conv.done_items(timeout=10)
    conv.create("first", wait=False)
    conv.respond(wait=False)
    got = list(itertools.islice(it, 2))
    it.close()
    assert [g.role for g in got] == ["user", "assistant"]
    assert got[0].text == "first" and got[1].text.startswith('You said: "first"')
    assert all(g.status == "completed" for g in got)
    with conv.done_items(timeout=10, count=1) as one:
        conv.create("second", wait=False)
        assert [i.text for i in one] == ["second"]
    started = time.monotonic()
    assert list(conv.done_items(timeout=0.2)) == []  # nothing lands: stops quietly
    assert time.monotonic() - started < 5


def test_done_items_stops_when_the_session_closes():
    conv = rnb.connect(timeout=10)
    it = conv.done_items(timeout=math.inf)
    conv.create("only")
    threading.Timer(0.2, conv.close).start()
    assert [i.text for i in it] == ["only"]


def test_adone_items_async(conv):
    async def main() -> list[str]:
        texts = []
        items = conv.adone_items(timeout=10, count=2)
        await conv.acreate("async one")
        conv.create("async two", wait=False)
        async for item in items:
            texts.append(item.text)
        return texts

    assert asyncio.run(main()) == ["async one", "async two"]


# ------------------------------------------------------------------------------ table


def test_table_sends_only_new_or_changed_rows_at_a_bounded_rate(conv):
    conv.create("before the table")
    table = conv.table(interval=0.3)
    sent: list[dict[str, Any]] = []
    when: list[float] = []
    original = table._push

    def record(content: dict[str, Any]) -> None:
        sent.append(json.loads(json.dumps(content)))
        when.append(time.monotonic())
        original(content)

    table._push = record  # type: ignore[method-assign]
    table._on_front_message(table, {"kind": "snapshot_request"}, [])
    assert sent[-1]["kind"] == "reset" and len(sent[-1]["rows"]) == 1
    sent.clear()
    when.clear()
    made = [conv.create(f"row {i}") for i in range(6)]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        ids = [r["item_id"] for m in sent for r in m["rows"]]
        if set(ids) >= {m.id for m in made}:
            break
        time.sleep(0.05)
    ids = [r["item_id"] for m in sent for r in m["rows"]]
    assert set(ids) == {m.id for m in made}  # the first row is never sent again
    assert all(m["kind"] == "rows" for m in sent)
    gaps = [b - a for a, b in itertools.pairwise(when)]
    assert all(gap >= 0.25 for gap in gaps), gaps  # at most one message per interval
    assert len(sent) < 6  # batched: not one message per item
    sent.clear()
    conv.delete(made[2].id)
    deadline = time.monotonic() + 5
    while not sent and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.4)
    rows = [r for m in sent for r in m["rows"]]
    assert {r["item_id"] for r in rows} <= {made[2].id, made[3].id}
    assert any(r["item_id"] == made[2].id and r["deleted"] for r in rows)
    keys = [r["key"] for r in table._rows(None)]
    assert len(set(keys)) == len(keys)
    table.close()
    conv.create("after close")
    time.sleep(0.4)
    assert all(r["item_id"] != conv.items[-1].id for m in sent for r in m["rows"])


def test_column_store_frames_never_change_and_never_leak_writes():
    """Frames are views of the store's buffers: a frame handed out earlier never changes,
    and writing into any handed-out frame (even after the store moved on and dropped its
    own objects) never reaches the store."""
    from realtime_nb.data.columns import ColumnStore

    kinds = {"obj": "object", "num": "Int64", "cat": "category", "txt": "string",
             "flag": "bool", "when": "datetime", "ratio": "Float64"}
    store = ColumnStore(kinds, categories={"cat": ("a", "b")}, labelled=True)

    def rows(start: int, k: int) -> dict[str, list[Any]]:
        return {"obj": [[i] for i in range(start, start + k)],
                "num": [i if i % 2 else None for i in range(start, start + k)],
                "cat": ["a" if i % 2 else "b" for i in range(start, start + k)],
                "txt": [f"t{i}" for i in range(start, start + k)],
                "flag": [bool(i % 3) for i in range(start, start + k)],
                "when": [1.7e9 + i for i in range(start, start + k)],
                "ratio": [i / 2 for i in range(start, start + k)]}

    store.append(rows(0, 20), [f"id{i}" for i in range(20)])
    first = store.frame(list(kinds), "item_id")
    snapshot = first.copy(deep=True)
    store.append(rows(20, 3), ["id20", "id21", "id22"])  # scalar-write path
    store.append(rows(23, 2000), [f"id{i}" for i in range(23, 2023)])  # grows the buffers
    second = store.frame(list(kinds), "item_id")
    store.patch("num", [0, 5], [100, 105])
    store.set_categories("cat", ("a", "b", "c"))
    store.patch("cat", [1], ["c"])
    third = store.frame(list(kinds), "item_id")
    assert_frame_equal(first, snapshot)
    assert second.num.iloc[0] is pd.NA and third.num.iloc[0] == 100
    assert third.cat.iloc[1] == "c" and second.cat.iloc[1] == "a"
    expected = third.copy(deep=True)
    store._combined = None  # the store lets go of every frame-level object
    gc.collect()
    for frame in (first, second, third):
        for col in range(frame.shape[1]):
            frame.iat[0, col] = frame.iat[2, col]
        frame["obj"].iloc[1].append("mutated in place")  # a shared cell: documented
    fresh = store.frame(list(kinds), "item_id")
    fresh.iloc[1, 0] = expected.iloc[1, 0]  # undo the documented in-place cell edit
    expected.iloc[1, 0] = fresh.iloc[1, 0]
    assert_frame_equal(fresh, expected)
    assert len(fresh) == 2023 and fresh.index[-1] == "id2022"



NODE_HARNESS = r"""
class El {
  constructor(tag) { this.tag = tag; this.children = []; this.textContent = "";
                     this.className = ""; this.parent = null; }
  appendChild(c) { c.parent = this; this.children.push(c); return c; }
  append(...cs) { for (const c of cs) this.appendChild(c); }
  insertBefore(c, before) {
    c.parent = this;
    if (!before) this.children.push(c);
    else this.children.splice(this.children.indexOf(before), 0, c);
    return c;
  }
  remove() { const p = this.parent; if (p) p.children.splice(p.children.indexOf(this), 1); }
  replaceChildren() { this.children = []; }
  get firstChild() { return this.children[0]; }
}
globalThis.document = { createElement: (t) => new El(t) };
const mod = await import(process.argv[2]);
const handlers = {};
const sent = [];
const el = new El("div");
mod.default.render({ model: { on: (ev, fn) => { handlers[ev] = fn; },
                              send: (m) => sent.push(m) }, el });
const row = (id, key, extra = {}) => ({ item_id: id, key, type: "message", role: "user",
  status: "completed", text: "<b>" + id + "</b>", response_id: null, latency_s: 0.1,
  total_tokens: null, deleted: false, ...extra });
handlers["msg:custom"]({ kind: "reset", rows: [row("a", 0), row("b", 1)] });
handlers["msg:custom"]({ kind: "rows", rows: [row("r", -1)] });
handlers["msg:custom"]({ kind: "rows", rows: [row("m", 0.5), row("b", 1, { deleted: true })] });
const tbody = el.children[0].children[2].children[1];
console.log(JSON.stringify({
  sent,
  ids: tbody.children.map((tr) => tr.children[1].textContent),
  numbers: tbody.children.map((tr) => tr.children[0].textContent),
  text: tbody.children[0].children[5].textContent,
  classes: tbody.children.map((tr) => tr.className),
}));
"""


def test_deltas_before_and_after_done_reach_the_row():
    """A delta to a live item without a row changes no row (the listener's fast return); the
    row appears at done with the streamed text and response id; a delta after done updates
    the row's text; a watcher hears of the rows that changed, and of nothing else."""
    session = Connection.offline()
    conv = RealtimeConversation(session)
    heard: list[list[str]] = []
    conv._frame.watchers.append(lambda ids, reset: heard.append(list(ids)))

    def send(event: dict[str, Any]) -> None:
        session.receive(json.dumps(event))

    item = {"id": "a", "type": "message", "role": "assistant", "status": "in_progress",
            "content": []}
    send({"type": "response.output_item.added", "response_id": "r1", "item": item})
    send({"type": "conversation.item.added", "previous_item_id": None, "item": item})
    for word in ("hel", "lo"):
        send({"type": "response.output_text.delta", "response_id": "r1", "item_id": "a",
              "content_index": 0, "delta": word})
    assert len(conv.df) == 0 and heard == []
    send({"type": "conversation.item.done", "previous_item_id": None,
          "item": {**item, "status": "completed", "content": [
              {"type": "output_text", "text": "hello"}]}})
    row = conv.df.loc["a"]
    assert row.text == "hello" and row.response_id == "r1" and heard == [["a"]]
    send({"type": "response.output_text.delta", "response_id": "r1", "item_id": "a",
          "content_index": 0, "delta": "!"})
    assert conv.df.loc["a"].text == "hello!" and heard == [["a"], ["a"]]
    assert conv.item("a").status == "completed"  # a delta never reopens a done item
