"""The embedded Realtime server, over real WebSocket traffic on 127.0.0.1.

Every event a GA connection receives in these tests is validated strictly against the openai
SDK's GA models (see the ``strict_ga`` fixture), so each test also checks the wire shapes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from realtime_nb.server import EmbeddedServer, default_server, responder

EVENT_ID = re.compile(r"^event_[A-Za-z0-9]{21}$")
ITEM_ID = re.compile(r"^item_[A-Za-z0-9]{21}$")
TIMEOUT = 10.0

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a place.",
    "parameters": {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    },
}

ALL_ITEMS: list[dict[str, Any]] = [
    {"type": "message", "role": "system",
     "content": [{"type": "input_text", "text": "Answer briefly."}]},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]},
    {"type": "message", "role": "assistant",
     "content": [{"type": "output_text", "text": "Hi there."}]},
    {"type": "function_call", "name": "get_weather", "call_id": "call_abc123",
     "arguments": "{\"location\": \"Paris\"}"},
    {"type": "function_call_output", "call_id": "call_abc123", "output": "{\"temp_c\": 21}"},
    {"id": "mcp_call_1", "type": "mcp_call", "name": "search", "server_label": "docs",
     "arguments": "{\"q\": \"x\"}", "output": "found"},
    {"type": "mcp_list_tools", "server_label": "docs",
     "tools": [{"name": "search", "input_schema": {"type": "object"}, "description": "Find."}]},
    {"id": "mcp_req_1", "type": "mcp_approval_request", "name": "search",
     "server_label": "docs", "arguments": "{}"},
    {"id": "mcp_resp_1", "type": "mcp_approval_response", "approval_request_id": "mcp_req_1",
     "approve": True, "reason": "fine"},
]


def user(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": text}], **extra}


class Peer:
    """A raw websockets client that records and (for GA) strictly validates every event."""

    def __init__(self, ws: ClientConnection, dialect: str, strict: Callable[[dict], Any]):
        self.ws, self.dialect, self.strict = ws, dialect, strict
        self.received: list[dict[str, Any]] = []
        self._probes = 0

    async def send(self, event: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(event if isinstance(event, (str, bytes)) else json.dumps(event))

    async def recv(self) -> dict[str, Any]:
        event = json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
        assert EVENT_ID.match(event["event_id"]), event
        if self.dialect == "ga":
            self.strict(event)
        self.received.append(event)
        return event

    async def expect(self, *types: str) -> list[dict[str, Any]]:
        events = [await self.recv() for _ in types]
        assert [e["type"] for e in events] == list(types), events
        return events

    async def until(self, etype: str) -> list[dict[str, Any]]:
        events = [await self.recv()]
        while events[-1]["type"] != etype:
            events.append(await self.recv())
        return events

    async def error(self, event_id: str | None) -> dict[str, Any]:
        (evt,) = await self.expect("error")
        assert evt["error"]["event_id"] == event_id, evt
        return evt["error"]

    async def create(self, item: dict[str, Any], previous: Any = ..., event_id: str | None = None
                     ) -> dict[str, Any]:
        """Create an item; return the ``conversation.item.done`` (GA) event."""
        event: dict[str, Any] = {"type": "conversation.item.create", "item": item}
        if previous is not ...:
            event["previous_item_id"] = previous
        if event_id:
            event["event_id"] = event_id
        await self.send(event)
        added, done = await self.expect("conversation.item.added", "conversation.item.done")
        assert added["item"] == done["item"]
        assert added["previous_item_id"] == done["previous_item_id"]
        return done

    async def quiet(self) -> None:
        """Assert nothing else is pending: a probe's error must be the very next event."""
        self._probes += 1
        probe = f"probe_{self._probes}"
        await self.send({"type": "conversation.item.retrieve", "event_id": probe,
                         "item_id": "no_such_item"})
        await self.error(probe)


@contextlib.asynccontextmanager
async def peer(server: EmbeddedServer, strict: Callable[[dict], Any], dialect: str | None = None,
               greet: bool = True, **query: Any) -> AsyncIterator[Peer]:
    params = {"model": "gpt-realtime", **query}
    if dialect:
        params["dialect"] = dialect
    url = server.url + "?" + "&".join(f"{k}={v}" for k, v in params.items())
    async with websockets.connect(url, open_timeout=TIMEOUT) as ws:
        p = Peer(ws, dialect or server.dialect, strict)
        if greet:
            first = await p.recv()
            assert first["type"] == "session.created"
            if p.dialect == "beta":
                await p.expect("conversation.created")
        yield p


@pytest.fixture
def srv(embedded_server: EmbeddedServer) -> EmbeddedServer:
    return embedded_server


# ----------------------------------------------------------------------------- connecting
async def test_session_created_on_connect(srv, strict_ga):
    async with peer(srv, strict_ga, greet=False) as p:
        evt = await p.recv()
        assert evt["type"] == "session.created"
        session = evt["session"]
        assert session["type"] == "realtime" and session["model"] == "gpt-realtime"
        assert session["tools"] == [] and session["output_modalities"] == ["text"]
        await p.quiet()
    assert srv.url == f"ws://127.0.0.1:{srv.port}/v1/realtime"
    assert srv.base_url == f"ws://127.0.0.1:{srv.port}/v1"


async def test_other_paths_get_404(srv):
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(f"ws://127.0.0.1:{srv.port}/v1/other"):
            pass
    assert info.value.response.status_code == 404
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(srv.url + "?dialect=klingon"):
            pass
    assert info.value.response.status_code == 400


def test_server_runs_on_its_own_thread(srv):
    """A plain blocking client works from a sync test: no event loop of ours serves it."""
    from websockets.sync.client import connect

    with connect(srv.url) as ws:
        assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "session.created"
        ws.send(json.dumps({"type": "conversation.item.create", "item": user("hi")}))
        assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "conversation.item.added"


def test_default_server_is_shared_and_thread_safe():
    found: list[EmbeddedServer] = []
    threads = [threading.Thread(target=lambda: found.append(default_server())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert len(found) == 8 and all(s is found[0] for s in found)
    assert found[0].running and found[0].dialect == "ga"
    assert default_server() is found[0]


def test_start_stop_and_context_manager():
    server = EmbeddedServer(dialect="beta")
    with pytest.raises(RuntimeError):
        _ = server.port
    with server:
        assert server.running and server.port > 0
    assert not server.running
    server.stop()  # idempotent
    with pytest.raises(ValueError):
        EmbeddedServer(dialect="klingon")


# ----------------------------------------------------------------------------- items
async def test_every_item_type_added_and_done_in_order(srv, strict_ga):
    async with peer(srv, strict_ga) as p:
        previous = None
        for i, item in enumerate(ALL_ITEMS):
            done = await p.create(item, event_id=f"e{i}")
            got = done["item"]
            assert done["previous_item_id"] == previous
            assert got["type"] == item["type"]
            if "id" in item:
                assert got["id"] == item["id"]
            else:
                assert ITEM_ID.match(got["id"])
            if item["type"] in ("message", "function_call", "function_call_output"):
                assert got["status"] == "completed"
            else:
                assert "status" not in got
            for key, value in item.items():
                assert got[key] == value, key
            previous = got["id"]
        assert [i["id"] for i in srv.conversations()[0]][-1] == previous
        assert len(srv.conversations()[0]) == len(ALL_ITEMS)
        await p.quiet()


async def test_append_root_and_insert_after(srv, strict_ga):
    async with peer(srv, strict_ga) as p:
        a = await p.create(user("a", id="A"))
        b = await p.create(user("b", id="B"))
        c = await p.create(user("c", id="C"), previous="root")
        d = await p.create(user("d", id="D"), previous="A")
        e = await p.create(user("e", id="E"), previous=None)
        assert [x["previous_item_id"] for x in (a, b, c, d, e)] == [None, "A", None, "A", "B"]
        f = await p.create(user("f", id="F"), previous="E")
        assert f["previous_item_id"] == "E"
        (conv,) = srv.conversations()
        assert [i["id"] for i in conv] == ["C", "A", "D", "B", "E", "F"]


async def test_unknown_anchor_is_an_error_and_adds_nothing(srv, strict_ga):
    async with peer(srv, strict_ga) as p:
        await p.create(user("first", id="first"))
        await p.send({"type": "conversation.item.create", "event_id": "evt_anchor",
                      "previous_item_id": "item_missing", "item": user("x", id="orphan")})
        err = await p.error("evt_anchor")
        assert err["type"] == "invalid_request_error"
        assert err["message"] == ("Error adding item: the previous item with id 'item_missing' "
                                  "does not exist.")
        await p.quiet()
        nxt = await p.create(user("next"))
        assert nxt["previous_item_id"] == "first"
        assert [i["id"] for i in srv.conversations()[0]][:1] == ["first"]
        assert "orphan" not in [i["id"] for i in srv.conversations()[0]]


@pytest.mark.parametrize(("item", "param"), [
    ({"type": "message", "role": "tool", "content": [{"type": "input_text", "text": "x"}]},
     "item.role"),
    ({"type": "message", "role": "user", "content": [{"type": "output_text", "text": "x"}]},
     "item.content[0].type"),
    ({"type": "function_call_output", "output": "x"}, "item.call_id"),
    ({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x",
                                                      "bogus": 1}]}, "item.content[0].bogus"),
    ({"type": "frobnicate"}, "item.type"),
    (user("x", metadata={"k": "v"}), "item.metadata"),
])
async def test_invalid_items_are_refused(srv, strict_ga, item, param):
    async with peer(srv, strict_ga) as p:
        await p.send({"type": "conversation.item.create", "event_id": "evt_bad", "item": item})
        err = await p.error("evt_bad")
        assert err["param"] == param
        await p.quiet()
        assert srv.conversations() == [[]]


async def test_bad_role_message_names_the_problem(srv, strict_ga):
    async with peer(srv, strict_ga) as p:
        await p.send({"type": "conversation.item.create", "event_id": "evt_role",
                      "item": {"type": "message", "role": "tool",
                               "content": [{"type": "input_text", "text": "x"}]}})
        err = await p.error("evt_role")
        assert "must be one of system, user, assistant" in err["message"]
        assert err["param"] == "item.role"


async def test_long_and_duplicate_ids(srv, strict_ga):
    async with peer(srv, strict_ga) as p:
        long_id = "x" * 39
        await p.send({"type": "conversation.item.create", "event_id": "evt_long",
                      "item": user("x", id=long_id)})
        err = await p.error("evt_long")
        assert err["message"] == (
            "Invalid 'item.id': string too long. Expected a string with maximum length 32, "
            "but got a string with length 39 instead.")
        await p.create(user("x", id="dup"))
        await p.send({"type": "conversation.item.create", "event_id": "evt_dup",
                      "item": user("y", id="dup")})
        err = await p.error("evt_dup")
        assert "dup" in err["message"] and err["param"] == "item.id"
        assert [i["id"] for i in srv.conversations()[0]] == ["dup"]


async def test_function_call_output_without_matching_call_is_accepted(srv, strict_ga):
    async with peer(srv, strict_ga) as p:
        done = await p.create({"type": "function_call_output", "call_id": "call_nowhere",
                               "output": "42"})
        assert done["item"]["call_id"] == "call_nowhere"


async def test_malformed_frames_get_errors_and_the_session_continues(srv, strict_ga):
    async with peer(srv, strict_ga) as p:
        await p.send("this is not json")
        assert (await p.error(None))["code"] == "invalid_event"
        await p.send("[1, 2]")
        await p.error(None)
        await p.send(b"\x00\x01")
        await p.error(None)
        await p.send({"event_id": "evt_notype"})
        err = await p.error("evt_notype")
        assert err["message"] == "The 'type' field is missing."
        await p.send({"type": "conversation.item.frobnicate", "event_id": "evt_unknown"})
        assert (await p.error("evt_unknown"))["param"] == "type"
        await p.send({"type": "conversation.item.delete", "event_id": "evt_noid"})
        err = await p.error("evt_noid")
        assert err["code"] == "missing_required_parameter" and err["param"] == "item_id"
        await p.send({"type": "conversation.item.create", "event_id": "evt_noitem"})
        assert (await p.error("evt_noitem"))["param"] == "item"
        await p.send({"type": "response.cancel", "event_id": "evt_extra", "bogus": 1})
        assert (await p.error("evt_extra"))["code"] == "unknown_parameter"
        await p.send({"type": "conversation.item.truncate", "event_id": "evt_neg",
                      "item_id": "x", "content_index": -1, "audio_end_ms": 0})
        assert (await p.error("evt_neg"))["param"] == "content_index"
        done = await p.create(user("still here"))
        assert done["previous_item_id"] is None


async def test_retrieve_and_delete(srv, strict_ga):
    async with peer(srv, strict_ga) as p:
        await p.create(user("one", id="one"))
        await p.create(user("two", id="two"))
        await p.send({"type": "conversation.item.retrieve", "item_id": "one"})
        (got,) = await p.expect("conversation.item.retrieved")
        assert got["item"]["content"] == [{"type": "input_text", "text": "one"}]
        await p.send({"type": "conversation.item.delete", "event_id": "del1", "item_id": "one"})
        (deleted,) = await p.expect("conversation.item.deleted")
        assert deleted["item_id"] == "one"
        for etype in ("retrieve", "delete"):
            await p.send({"type": f"conversation.item.{etype}", "event_id": f"e_{etype}",
                          "item_id": "one"})
            err = await p.error(f"e_{etype}")
            assert "'one' does not exist" in err["message"]
        again = await p.create(user("three"))
        assert again["previous_item_id"] == "two"
        assert srv.conversations()[0][0]["id"] == "two"


async def test_truncate(srv, strict_ga):
    audio = base64.b64encode(b"\x00\x01" * 12000).decode()  # 500 ms of PCM16 24 kHz
    async with peer(srv, strict_ga) as p:
        await p.create(user("text", id="txt"))
        await p.send({"type": "conversation.item.truncate", "item_id": "txt",
                      "content_index": 0, "audio_end_ms": 0})
        (ok,) = await p.expect("conversation.item.truncated")
        assert (ok["item_id"], ok["content_index"], ok["audio_end_ms"]) == ("txt", 0, 0)
        for i, (index, end) in enumerate([(0, 1), (3, 0)]):
            await p.send({"type": "conversation.item.truncate", "event_id": f"t{i}",
                          "item_id": "txt", "content_index": index, "audio_end_ms": end})
            await p.error(f"t{i}")
        await p.send({"type": "conversation.item.truncate", "event_id": "t_unknown",
                      "item_id": "nope", "content_index": 0, "audio_end_ms": 0})
        await p.error("t_unknown")
        done = await p.create({"id": "aud", "type": "message", "role": "user", "content": [
            {"type": "input_audio", "audio": audio, "transcript": "hello world"}]})
        assert done["item"]["content"] == [{"type": "input_audio", "transcript": "hello world"}]
        await p.send({"type": "conversation.item.truncate", "event_id": "t_long",
                      "item_id": "aud", "content_index": 0, "audio_end_ms": 600})
        assert "500ms" in (await p.error("t_long"))["message"]
        await p.send({"type": "conversation.item.truncate", "item_id": "aud",
                      "content_index": 0, "audio_end_ms": 200})
        await p.expect("conversation.item.truncated")
        await p.send({"type": "conversation.item.retrieve", "item_id": "aud"})
        (got,) = await p.expect("conversation.item.retrieved")
        part = got["item"]["content"][0]
        assert part["transcript"] == ""
        assert responder.audio_ms(part["audio"]) == 200


async def test_audio_buffer_commit_and_clear(srv, strict_ga):
    chunk = base64.b64encode(b"\x00\x00" * 2400).decode()  # 100 ms
    async with peer(srv, strict_ga) as p:
        await p.send({"type": "input_audio_buffer.commit", "event_id": "c0"})
        assert (await p.error("c0"))["code"] == "input_audio_buffer_commit_empty"
        await p.send({"type": "input_audio_buffer.append", "audio": chunk})
        await p.send({"type": "input_audio_buffer.append", "audio": chunk})
        await p.send({"type": "input_audio_buffer.commit"})
        committed, added, _done = await p.expect(
            "input_audio_buffer.committed", "conversation.item.added", "conversation.item.done")
        assert committed["item_id"] == added["item"]["id"]
        assert added["item"]["content"] == [{"type": "input_audio", "transcript": None}]
        await p.send({"type": "input_audio_buffer.append", "audio": chunk})
        await p.send({"type": "input_audio_buffer.clear"})
        await p.expect("input_audio_buffer.cleared")
        await p.send({"type": "input_audio_buffer.commit", "event_id": "c1"})
        await p.error("c1")
        await p.send({"type": "response.create"})
        events = await p.until("response.done")
        assert events[-1]["response"]["output"][0]["content"][0]["text"] == (
            'You said: "<200 ms of audio>". This is the offline responder.')


# ----------------------------------------------------------------------------- session
async def test_session_update(srv, strict_ga):
    async with peer(srv, strict_ga) as p:
        await p.send({"type": "session.update", "event_id": "su1", "session": {
            "type": "realtime", "instructions": "Be terse.", "tools": [WEATHER_TOOL],
            "audio": {"output": {"voice": "marin"}}}})
        (upd,) = await p.expect("session.updated")
        session = upd["session"]
        assert session["instructions"] == "Be terse." and session["tools"] == [WEATHER_TOOL]
        assert session["audio"]["output"] == {"format": {"type": "audio/pcm", "rate": 24000},
                                              "voice": "marin", "speed": 1.0}
        assert session["audio"]["input"]["format"]["rate"] == 24000  # merged, not replaced
        assert "event_id" not in session
        await p.send({"type": "session.update", "event_id": "su2",
                      "session": {"instructions": "x"}})
        assert (await p.error("su2"))["param"] == "session.type"
        await p.send({"type": "session.update", "event_id": "su3",
                      "session": {"type": "realtime", "bogus": True}})
        assert (await p.error("su3"))["param"] == "session.bogus"
        await p.send({"type": "session.update", "event_id": "su4",
                      "session": {"type": "realtime", "max_output_tokens": 0}})
        assert (await p.error("su4"))["param"] == "session.max_output_tokens"


# ----------------------------------------------------------------------------- responses
TEXT_SEQUENCE = [
    "response.created", "response.output_item.added", "conversation.item.added",
    "response.content_part.added",
]
TEXT_TAIL = [
    "response.output_text.done", "response.content_part.done", "response.output_item.done",
    "conversation.item.done", "response.done", "rate_limits.updated",
]


async def test_text_response_round_trip(srv, strict_ga):
    async with peer(srv, strict_ga) as p:
        user_item = (await p.create(user("Hello")))["item"]
        await p.send({"type": "response.create"})
        events = await p.until("rate_limits.updated")
        types = [e["type"] for e in events]
        deltas = [e for e in events if e["type"] == "response.output_text.delta"]
        assert types == TEXT_SEQUENCE + ["response.output_text.delta"] * len(deltas) + TEXT_TAIL
        assert len(deltas) >= 3
        expected = 'You said: "Hello". This is the offline responder.'
        text = "".join(d["delta"] for d in deltas)
        assert text == expected == events[-6]["text"]
        created = events[0]["response"]
        assert created["status"] == "in_progress" and created["output"] == []
        added = events[2]
        assert added["previous_item_id"] == user_item["id"]
        assert added["item"]["status"] == "in_progress" and added["item"]["content"] == []
        assert events[3]["part"] == {"type": "text", "text": ""}
        assert events[-5]["part"] == {"type": "text", "text": expected}
        final = events[-4]["item"]
        assert final["status"] == "completed"
        assert final["content"] == [{"type": "output_text", "text": expected}]
        assert events[-3]["item"] == final
        assert events[-3]["previous_item_id"] == user_item["id"]
        done = events[-2]["response"]
        assert done["status"] == "completed" and done["output"] == [final]
        assert done["id"] == created["id"] and done["conversation_id"] == created[
            "conversation_id"]
        usage = done["usage"]
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
        assert usage["output_tokens"] == responder.count_tokens(expected)
        ids = {(e.get("response_id"), e.get("item_id")) for e in deltas}
        assert ids == {(created["id"], final["id"])}
        assert len({e["event_id"] for e in p.received}) == len(p.received)
        await p.quiet()


async def test_function_call_round_trip(srv, strict_ga):
    async with peer(srv, strict_ga) as p:
        await p.send({"type": "session.update", "session": {"type": "realtime",
                                                             "tools": [WEATHER_TOOL]}})
        await p.expect("session.updated")
        await p.create(user("What is the weather in Paris? Use get_weather."))
        await p.send({"type": "response.create"})
        events = await p.until("response.done")
        types = [e["type"] for e in events]
        arg_deltas = [e for e in events if e["type"] == "response.function_call_arguments.delta"]
        assert types == (["response.created", "response.output_item.added",
                          "conversation.item.added"]
                         + ["response.function_call_arguments.delta"] * len(arg_deltas)
                         + ["response.function_call_arguments.done",
                            "response.output_item.done", "conversation.item.done",
                            "response.done"])
        call = events[-2]["item"]
        assert call["type"] == "function_call" and call["name"] == "get_weather"
        assert call["call_id"].startswith("call_") and call["status"] == "completed"
        assert json.loads(call["arguments"]) == {"location": "Paris", "unit": "celsius"}
        assert "".join(d["delta"] for d in arg_deltas) == call["arguments"]
        assert events[-4]["arguments"] == call["arguments"] and events[-4]["name"] == "get_weather"
        assert all(d["call_id"] == call["call_id"] for d in arg_deltas)
        await p.expect("rate_limits.updated")
        out = await p.create({"type": "function_call_output", "call_id": call["call_id"],
                              "output": "{\"temp_c\": 21}"})
        assert out["previous_item_id"] == call["id"]
        await p.send({"type": "response.create"})
        events = await p.until("response.done")
        final = events[-1]["response"]["output"][0]
        assert final["content"][0]["text"] == 'The get_weather tool returned {"temp_c": 21}.'
        assert events[2]["previous_item_id"] == out["item"]["id"]


async def test_cancel_while_streaming(srv, strict_ga):
    async with peer(srv, strict_ga, chunk_delay=30) as p:
        await p.create(user("Hello, please talk for a long time"))
        await p.send({"type": "response.create"})
        head = await p.expect(*TEXT_SEQUENCE, "response.output_text.delta")
        # other client events are answered while the response streams
        await p.send({"type": "conversation.item.retrieve", "item_id": head[2]["item"]["id"]})
        (live,) = await p.expect("conversation.item.retrieved")
        assert live["item"]["status"] == "in_progress"
        assert live["item"]["content"][0]["text"] == head[-1]["delta"]
        await p.send({"type": "response.create", "event_id": "second"})
        err = await p.error("second")
        assert err["code"] == "conversation_already_has_active_response"
        await p.send({"type": "response.cancel", "event_id": "cancel1"})
        tail = await p.expect("response.output_text.done", "response.content_part.done",
                              "response.output_item.done", "conversation.item.done",
                              "response.done", "rate_limits.updated")
        assert tail[0]["text"] == head[-1]["delta"]
        assert tail[2]["item"]["status"] == "incomplete"
        done = tail[4]["response"]
        assert done["status"] == "cancelled"
        assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
        assert done["output"][0]["status"] == "incomplete"
        await p.send({"type": "response.cancel", "event_id": "cancel2"})
        assert (await p.error("cancel2"))["code"] == "response_cancel_not_active"
        conv = srv.conversations()[0]
        assert conv[-1]["status"] == "incomplete"


async def test_cancel_with_nothing_active_is_an_error(srv, strict_ga):
    async with peer(srv, strict_ga) as p:
        await p.send({"type": "response.cancel", "event_id": "c"})
        await p.error("c")
        await p.send({"type": "response.cancel", "event_id": "c2", "response_id": "resp_x"})
        await p.error("c2")


async def test_out_of_band_response(srv, strict_ga):
    async with peer(srv, strict_ga) as p:
        first = await p.create(user("Hello"))
        await p.send({"type": "response.create", "response": {
            "conversation": "none", "metadata": {"topic": "oob"}, "output_modalities": ["text"]}})
        events = await p.until("response.done")
        types = [e["type"] for e in events]
        assert not [t for t in types if t.startswith("conversation.")]
        done = events[-1]["response"]
        assert done["conversation_id"] is None and done["metadata"] == {"topic": "oob"}
        oob_item = done["output"][0]
        assert oob_item["content"][0]["text"] == 'You said: "Hello". This is the offline responder.'
        await p.expect("rate_limits.updated")
        nxt = await p.create(user("after"))
        assert nxt["previous_item_id"] == first["item"]["id"]
        await p.send({"type": "conversation.item.retrieve", "event_id": "r",
                      "item_id": oob_item["id"]})
        await p.error("r")
        assert len(srv.conversations()[0]) == 2


async def test_out_of_band_with_input_and_parallel_to_a_conversation_response(srv, strict_ga):
    async with peer(srv, strict_ga, chunk_delay=30) as p:
        await p.create(user("in the conversation", id="conv1"))
        await p.send({"type": "response.create"})
        await p.expect(*TEXT_SEQUENCE, "response.output_text.delta")
        await p.send({"type": "response.create", "response": {
            "conversation": "none", "input": [user("custom context")]}})
        oob = await p.expect("response.created", "response.output_item.added",
                             "response.content_part.added", "response.output_text.delta")
        await p.send({"type": "response.cancel", "response_id": oob[0]["response"]["id"]})
        events = await p.until("response.done")
        assert events[-1]["response"]["id"] == oob[0]["response"]["id"]
        assert events[-1]["response"]["status"] == "cancelled"
        await p.expect("rate_limits.updated")
        await p.send({"type": "response.cancel"})
        events = await p.until("response.done")
        assert events[-1]["response"]["conversation_id"] is not None


# ----------------------------------------------------------------------------- dialects
async def test_beta_dialect(srv, strict_ga):
    async with peer(srv, strict_ga, dialect="beta") as p:
        await p.send({"type": "conversation.item.create", "item": user("Hello", id="u1")})
        (created,) = await p.expect("conversation.item.created")
        assert created["item"]["object"] == "realtime.item"
        assert created["previous_item_id"] is None
        await p.send({"type": "conversation.item.create", "event_id": "b_mcp", "item":
                      ALL_ITEMS[6]})
        await p.error("b_mcp")
        await p.send({"type": "response.create"})
        events = await p.until("response.done")
        types = [e["type"] for e in events]
        assert "conversation.item.done" not in types and "conversation.item.added" not in types
        assert "response.text.delta" in types and "response.output_text.delta" not in types
        assert types[:4] == ["response.created", "response.output_item.added",
                             "conversation.item.created", "response.content_part.added"]
        assert events[2]["previous_item_id"] == "u1"
        assert events[3]["part"]["type"] == "text"
        final = events[-1]["response"]["output"][0]
        assert final["object"] == "realtime.item"
        assert final["content"] == [{"type": "text", "text": events[-4]["text"]}]
        await p.expect("rate_limits.updated")
        await p.send({"type": "session.update", "session": {"type": "realtime",
                                                             "modalities": ["text"],
                                                             "voice": "echo"}})
        (upd,) = await p.expect("session.updated")
        assert upd["session"]["voice"] == "echo" and "type" not in upd["session"]
        await p.send({"type": "session.update", "event_id": "b_ga",
                      "session": {"output_modalities": ["text"]}})
        assert (await p.error("b_ga"))["param"] == "session.output_modalities"


async def test_openai_beta_header_selects_beta(srv):
    async with websockets.connect(srv.url, additional_headers={
            "OpenAI-Beta": "realtime=v1"}) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        assert json.loads(await ws.recv())["type"] == "conversation.created"


async def test_yandex_dialect(srv, strict_ga):
    async with peer(srv, strict_ga, dialect="yandex") as p:
        await p.send({"type": "conversation.item.create",
                      "item": user("Hello", id="y1", metadata={"source": "cell 3"})})
        events = await p.expect("conversation.item.created", "conversation.item.added",
                                "conversation.item.done")
        for evt in events:
            assert evt["item"]["metadata"] == {"source": "cell 3"}
            assert evt["item"]["object"] == "realtime.item"
        await p.send({"type": "conversation.item.create", "item": user("plain")})
        events = await p.expect("conversation.item.created", "conversation.item.added",
                                "conversation.item.done")
        assert events[0]["item"]["metadata"] is None
        assert all(e["previous_item_id"] == "y1" for e in events)
        await p.send({"type": "response.create", "response": {"conversation": "default"}})
        events = await p.until("response.done")
        types = [e["type"] for e in events]
        assert types.count("conversation.item.created") == 1
        assert "conversation.item.done" in types and "response.output_text.delta" in types
        final = events[-1]["response"]["output"][0]
        assert final["metadata"] is None and final["object"] == "realtime.item"
        await p.quiet()  # no rate_limits.updated in the yandex dialect


# ----------------------------------------------------------------------------- lifecycle
async def test_session_ttl_closes_the_connection():
    with EmbeddedServer(session_ttl=0.2) as server:
        async with websockets.connect(server.url) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
            err = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            assert err["type"] == "error" and err["error"]["code"] == "session_expired"
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), TIMEOUT)
            assert ws.close_code == 4000 and ws.close_reason == "session expired"


async def test_drop_connections(srv):
    async with websockets.connect(srv.url) as ws:
        await ws.recv()
        assert srv.drop_connections() == 1
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert info.value.rcvd is None  # no close frame: an abrupt drop
    async with websockets.connect(srv.url) as ws:  # still listening
        assert json.loads(await ws.recv())["type"] == "session.created"


# ----------------------------------------------------------------------------- openai SDK
async def test_openai_sdk_strict_validation(srv, strict_ga):
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key="x", websocket_base_url=srv.base_url)
    raw: list[dict[str, Any]] = []

    async with client.realtime.connect(model="gpt-realtime") as conn:

        async def until(etype: str) -> list[dict[str, Any]]:
            got: list[dict[str, Any]] = []
            while not got or got[-1]["type"] != etype:
                got.append(json.loads(await asyncio.wait_for(conn.recv_bytes(), TIMEOUT)))
            raw.extend(got)
            return got

        assert (await until("session.created"))[0]["type"] == "session.created"
        await conn.send({"type": "session.update", "session": {
            "type": "realtime", "instructions": "Be brief.", "tools": [WEATHER_TOOL],
            "tool_choice": "auto", "output_modalities": ["text"],
            "audio": {"input": {"turn_detection": None}}}})
        await until("session.updated")
        previous = None
        for item in ALL_ITEMS:
            await conn.send({"type": "conversation.item.create", "item": item})
            added, done = await until("conversation.item.done")
            assert added["previous_item_id"] == previous
            previous = done["item"]["id"]
        await conn.send({"type": "conversation.item.create", "previous_item_id": "root",
                         "item": user("at the top", id="top")})
        await until("conversation.item.done")
        await conn.send({"type": "conversation.item.retrieve", "item_id": "top"})
        await until("conversation.item.retrieved")
        await conn.send({"type": "conversation.item.truncate", "item_id": "top",
                         "content_index": 0, "audio_end_ms": 0})
        await until("conversation.item.truncated")
        await conn.send({"type": "conversation.item.delete", "item_id": "top"})
        await until("conversation.item.deleted")
        await conn.send({"type": "conversation.item.delete", "item_id": "top"})
        await until("error")
        await conn.send({"type": "conversation.item.create", "item": ALL_ITEMS[4]})
        await until("conversation.item.done")
        await conn.send({"type": "response.create"})  # last item: function_call_output
        text = await until("rate_limits.updated")
        await conn.send({"type": "conversation.item.create",
                         "item": user("Weather in Oslo? get_weather please")})
        await until("conversation.item.done")
        await conn.send({"type": "response.create"})
        call = await until("rate_limits.updated")
        await conn.send({"type": "response.create", "response": {"conversation": "none"}})
        await until("rate_limits.updated")
        # the SDK's own parsing of an event works too
        await conn.send({"type": "conversation.item.retrieve", "item_id": previous})
        parsed = await asyncio.wait_for(conn.recv(), TIMEOUT)
        assert parsed.type == "conversation.item.retrieved"

    failures = []
    for evt in raw:
        try:
            strict_ga(evt)
        except Exception as exc:  # collect all, report together
            failures.append(f"{evt['type']}: {exc}")
    assert failures == []
    types = {e["type"] for e in raw}
    assert {"response.output_text.delta", "response.function_call_arguments.delta",
            "conversation.item.truncated", "conversation.item.deleted", "error"} <= types
    final = text[-2]["response"]["output"][0]
    assert final["content"][0]["text"] == 'The get_weather tool returned {"temp_c": 21}.'

    assert any(e["type"] == "response.function_call_arguments.done"
               and json.loads(e["arguments"])["location"] == "Oslo" for e in call)


# ----------------------------------------------------------------------------- CLI
@pytest.mark.parametrize("stop_signal", ["SIGTERM", "SIGINT"])
def test_cli_serve(tmp_path: Path, stop_signal: str):
    import signal
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "realtime_nb", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=tmp_path)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        url = re.search(r"ws://\S+", line)
        assert url and url.group() == f"ws://127.0.0.1:{port}/v1/realtime", line
        assert f"websocket_base_url='ws://127.0.0.1:{port}/v1'" in proc.stdout.readline()

        async def hello() -> str:
            async with websockets.connect(url.group()) as ws:
                return json.loads(await ws.recv())["type"]

        assert asyncio.run(hello()) == "session.created"
    finally:
        proc.send_signal(getattr(signal, stop_signal))  # SIGINT is Ctrl-C
        out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopped." in out


def test_cli_needs_a_command():
    from realtime_nb.__main__ import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args([])
    args = build_parser().parse_args(["serve", "--dialect", "yandex", "--port", "0"])
    assert (args.dialect, args.port, args.host) == ("yandex", 0, "127.0.0.1")


# ----------------------------------------------------------------------------- responder
def test_responder_rules():
    hello = user("Hello")
    plan = responder.plan_response([hello], {"tools": []})
    assert plan.kind == "message"
    assert plan.text == 'You said: "Hello". This is the offline responder.'
    assert "".join(plan.chunks) == plan.text and len(plan.chunks) >= 3
    assert responder.plan_response([], {}).text.startswith("Hello! This is the offline")
    ask = user("weather for Berlin in fahrenheit please, get_weather")
    plan = responder.plan_response([ask], {"tools": [WEATHER_TOOL]})
    assert plan.kind == "function_call" and plan.name == "get_weather"
    assert json.loads(plan.arguments) == {"location": "Berlin", "unit": "fahrenheit"}
    assert responder.plan_response([ask], {"tools": [WEATHER_TOOL], "tool_choice": "none"}
                                   ).kind == "message"
    assert responder.plan_response([hello], {"tools": [WEATHER_TOOL]},
                                   {"tool_choice": "required"}).kind == "function_call"
    tool = {"name": "f", "parameters": {"properties": {
        "n": {"type": "integer"}, "x": {"type": "number"}, "ok": {"type": "boolean"},
        "tags": {"type": "array"}, "city": {"type": "string"}}}}
    args = json.loads(responder.build_arguments(tool, 'n=7 x: 2.5 ok=yes city="New York"'))
    assert args == {"n": 7, "x": 2.5, "ok": True, "tags": [], "city": "New York"}
    out = {"type": "function_call_output", "call_id": "c1", "output": "3"}
    assert responder.plan_response([out], {}).text == "The function tool returned 3."
