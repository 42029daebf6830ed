"""realtime_nb.connect() end to end over real loopback WebSocket traffic."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from websockets.asyncio.server import serve

import realtime_nb as rnb
from realtime_nb import (
    ConnectionClosedError,
    InvalidItemError,
    RealtimeServerError,
    RealtimeTimeoutError,
)
from realtime_nb.demo import WEATHER_TOOL
from realtime_nb.server import EmbeddedServer

TOOLS = [WEATHER_TOOL]


def out_types(conv):
    return [e["type"] for e in conv.log if e["direction"] == "out"]


def test_connect_without_arguments_uses_the_embedded_server(conv):
    assert conv.status == "open"
    assert conv.endpoint.provider == "embedded"
    assert conv.endpoint.url.startswith("ws://127.0.0.1:")
    assert conv.log[0]["type"] == "session.created"


def test_create_returns_the_finalised_item_in_server_order(conv):
    hello = conv.create("Hello")
    assert hello.role == "user" and hello.status == "completed" and hello.text == "Hello"
    assert len(hello.id) <= 32
    system = conv.create(role="system", text="Answer briefly.", previous_item_id="root")
    middle = conv.create("in between", previous_item_id=system.id)
    tool = conv.create({"type": "function_call_output", "call_id": "call_1",
                        "output": '{"ok": true}'})
    assert [i.id for i in conv.items] == [system.id, middle.id, hello.id, tool.id]
    assert [i.previous_item_id for i in conv.items] == [None, system.id, middle.id, hello.id]
    assert conv.items[3].output == '{"ok": true}' and conv.items[3].type == "function_call_output"


def test_every_item_type_is_created_and_finalised(conv):
    items = [
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "earlier answer"}]},
        {"type": "function_call", "name": "lookup", "arguments": '{"q": 1}', "call_id": "call_9"},
        {"type": "function_call_output", "call_id": "call_9", "output": "42"},
        {"type": "mcp_call", "id": "mcp_call_1", "name": "search", "arguments": "{}",
         "server_label": "docs"},
        {"type": "mcp_list_tools", "server_label": "docs", "tools": [
            {"name": "search", "input_schema": {"type": "object"}}]},
        {"type": "mcp_approval_request", "id": "mcp_req_1", "name": "search",
         "arguments": "{}", "server_label": "docs"},
        {"type": "mcp_approval_response", "id": "mcp_resp_1", "approval_request_id": "mcp_req_1",
         "approve": True},
    ]
    made = [conv.create(i) for i in items]
    assert [m.type for m in made] == [i["type"] for i in items]
    assert [i.type for i in conv.items] == [i["type"] for i in items]
    assert conv.items[4].extra["server_label"] == "docs" and conv.items[4].text == "search"
    assert conv.items[6].extra["approve"] is True


def test_unknown_anchor_raises_with_the_client_event_id_and_adds_nothing(conv):
    conv.create("first")
    with pytest.raises(RealtimeServerError) as info:
        conv.create("lost", previous_item_id="item_does_not_exist")
    err = info.value
    sent = [e for e in conv.log if e["direction"] == "out"][-1]
    assert err.event_id == sent["event_id"]
    assert "item_does_not_exist" in err.message
    assert len(conv.items) == 1 and conv.errors[-1].event_id == err.event_id


def test_invalid_items_never_reach_the_wire(conv):
    before = len(conv.log)
    with pytest.raises(InvalidItemError) as info:
        conv.create({"type": "message", "role": "robot", "content": []})
    assert info.value.field == "item.role"
    with pytest.raises(InvalidItemError):
        conv.create({"type": "function_call_output", "output": "x"})
    with pytest.raises(InvalidItemError):
        conv.create("x", metadata={"k": "v"})  # item metadata exists only in the yandex dialect
    assert len(conv.log) == before


def test_delete_retrieve_truncate_and_their_errors(conv):
    a = conv.create("keep me")
    b = conv.create("delete me")
    got = conv.retrieve(a.id)
    assert got.text == "keep me"
    assert conv.truncate(a.id, content_index=0, audio_end_ms=0).id == a.id
    assert conv.delete(b.id) == b.id
    assert [i.id for i in conv.items] == [a.id]
    for call in (conv.delete, conv.retrieve, conv.truncate):
        with pytest.raises(RealtimeServerError) as info:
            call("item_unknown")
        assert info.value.event_id is not None
    assert conv.status == "open"


def test_respond_streams_deltas_into_an_assistant_message(conv):
    conv.create("Hello")
    resp = conv.respond()
    assert resp.status == "completed" and len(resp.items) == 1
    answer = resp.items[0]
    assert answer.role == "assistant" and answer.status == "completed"
    deltas = [e["payload"]["delta"] for e in conv.log
              if e["type"] == "response.output_text.delta" and e["item_id"] == answer.id]
    assert len(deltas) >= 3 and "".join(deltas) == answer.text
    assert "Hello" in answer.text
    assert conv.items[-1].id == answer.id and conv.items[-1].previous_item_id == conv.items[0].id
    assert resp.usage and resp.usage["total_tokens"] > 0


def test_function_call_round_trip(conv):
    conv.update_session(type="realtime", tools=TOOLS)
    conv.create("What is the weather in Oslo? Use get_weather.")
    first = conv.respond()
    (call,) = first.items
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments)
    out = conv.create({"type": "function_call_output", "call_id": call.call_id,
                       "output": '{"temp_c": 21}'})
    assert out.previous_item_id == call.id
    second = conv.respond()
    assert second.items[0].role == "assistant" and "21" in second.text
    assert [i.type for i in conv.items] == ["message", "function_call", "function_call_output",
                                            "message"]


@pytest.mark.parametrize("dialect", ["beta", "yandex"])
def test_dialects(dialect):
    conv = rnb.connect(dialect=dialect, timeout=10)
    try:
        meta = {"topic": "greeting"} if dialect == "yandex" else None
        item = conv.create("Hello", metadata=meta)
        assert item.text == "Hello"
        resp = conv.respond()
        assert "Hello" in resp.text and conv.items[-1].status == "completed"
        types = {e["type"] for e in conv.log if e["direction"] == "in"}
        if dialect == "beta":
            assert "conversation.item.created" in types and "response.text.delta" in types
            assert "conversation.item.done" not in types
        else:
            assert {"conversation.item.created", "conversation.item.added",
                    "conversation.item.done"} <= types
            assert conv.items[0].metadata == {"topic": "greeting"}
    finally:
        conv.close()


async def test_async_twins_do_not_block_the_loop():
    conv = await asyncio.to_thread(rnb.connect, timeout=10)
    try:
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        item = await conv.acreate("async hello")
        resp = await conv.arespond()
        got = await conv.aretrieve(item.id)
        await conv.adelete(item.id)
        task.cancel()
        assert ticks > 5 and got.text == "async hello" and "async hello" in resp.text
    finally:
        conv.close()


def test_callbacks_for_one_type_and_for_every_event(conv):
    done, everything = [], []
    conv.on("conversation.item.done", lambda e: done.append(e.item.id))
    conv.on("*", lambda e: everything.append(e.type))
    item = conv.create("watch me")
    conv.respond()
    assert item.id in done and len(done) == 2
    assert "response.done" in everything and "conversation.item.added" in everything


def test_blocking_call_inside_a_callback_is_refused_not_deadlocked(conv):
    seen = []

    def cb(event):
        try:
            conv.create("from a callback")
        except rnb.RealtimeError as exc:
            seen.append(str(exc))

    conv.on("conversation.item.done", cb)
    conv.create("trigger")
    for _ in range(200):
        if seen:
            break
        threading.Event().wait(0.01)
    assert seen and "callback" in seen[0]
    assert [i.text for i in conv.items] == ["trigger"]  # the refused call sent nothing


class ScriptedServer:
    """A tiny misbehaving server: it sends what the test scripts, then ignores the client."""

    def __init__(self, frames, close_after=False):
        self.frames = frames
        self.close_after = close_after
        self.headers = None
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def handler(self, ws):
        self.headers = dict(ws.request.headers)
        await ws.send(json.dumps({"type": "session.created", "event_id": "event_1",
                                  "session": {"type": "realtime"}}))
        for frame in self.frames:
            await ws.send(frame)
        if self.close_after:
            await ws.close(1011, "server blew up")
            return
        async for _ in ws:
            pass

    def __enter__(self):
        self.thread.start()

        async def start():
            self.server = await serve(self.handler, "127.0.0.1", 0)
            return self.server.sockets[0].getsockname()[1]

        self.port = asyncio.run_coroutine_threadsafe(start(), self.loop).result(5)
        self.url = f"ws://127.0.0.1:{self.port}/v1/realtime"
        return self

    def __exit__(self, *exc):
        async def stop():
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)


def test_malformed_frames_are_logged_and_skipped_while_the_session_goes_on():
    good = {"id": "item_good", "type": "message", "role": "user", "status": "completed",
            "content": [{"type": "input_text", "text": "survived"}]}
    frames = [
        "this is not json",
        json.dumps([1, 2, 3]),
        json.dumps({"type": "brand.new.event", "event_id": "event_2", "surprise": True}),
        json.dumps({"type": "conversation.item.added", "event_id": "event_3"}),
        json.dumps({"type": "response.output_text.delta", "event_id": "event_4",
                    "item_id": "item_nobody", "delta": "x"}),
        json.dumps({"type": "conversation.item.added", "event_id": "event_5",
                    "previous_item_id": None, "item": good}),
        json.dumps({"type": "conversation.item.done", "event_id": "event_6",
                    "previous_item_id": None, "item": good}),
    ]
    with ScriptedServer(frames) as srv:
        conv = rnb.connect(url=srv.url, timeout=5)
        try:
            seen = []
            conv.on("conversation.item.done", lambda e: seen.append(e))
            for _ in range(200):
                if conv.items:
                    break
                threading.Event().wait(0.01)
            assert [i.text for i in conv.items] == ["survived"]
            assert conv.status == "open"
            assert conv.skipped == 4
            notes = [e for e in conv.log if e["note"]]
            assert [e["type"] for e in notes] == [
                "invalid", "invalid", "conversation.item.added", "response.output_text.delta"]
            assert "not JSON" in notes[0]["note"]
            assert any(e["type"] == "brand.new.event" for e in conv.log)
        finally:
            conv.close()


def test_a_call_the_server_never_answers_times_out_clearly():
    with ScriptedServer([]) as srv:
        conv = rnb.connect(url=srv.url)
        try:
            with pytest.raises(RealtimeTimeoutError) as info:
                conv.create("anyone there?", timeout=0.3)
            assert "conversation.item.done" in str(info.value) and "0.3s" in str(info.value)
        finally:
            conv.close()


def test_a_dropped_connection_fails_pending_calls_and_keeps_items():
    good = {"id": "item_a", "type": "message", "role": "user", "status": "completed",
            "content": [{"type": "input_text", "text": "kept"}]}
    frames = [json.dumps({"type": "conversation.item.done", "event_id": "event_9",
                          "previous_item_id": None, "item": good})]
    with ScriptedServer(frames, close_after=True) as srv:
        conv = rnb.connect(url=srv.url, reconnect=False)
        for _ in range(300):
            if conv.status == "error":
                break
            threading.Event().wait(0.01)
        assert conv.status == "error"
        assert [i.text for i in conv.items] == ["kept"]
        with pytest.raises(ConnectionClosedError) as info:
            conv.create("too late")
        assert "1011" in str(info.value)
        conv.close()


def test_secrets_stay_out_of_reprs_and_logs():
    secret = "sk-test-THIS-IS-SECRET-123"
    with ScriptedServer([]) as srv:
        conv = rnb.connect(url=srv.url, headers={"Authorization": f"Bearer {secret}"})
        try:
            assert srv.headers["authorization"] == f"Bearer {secret}"  # it did reach the server
            for text in (repr(conv), repr(conv.endpoint), conv.endpoint.name, str(conv.log)):
                assert secret not in text
        finally:
            conv.close()


def test_embedded_server_object_can_be_used_directly():
    with EmbeddedServer(chunk_delay=0.0) as srv:
        conv = rnb.connect(url=srv.url)
        try:
            assert conv.create("direct").text == "direct"
        finally:
            conv.close()


def test_closed_conversation_refuses_calls_but_keeps_data(conv):
    conv.create("stay")
    conv.close()
    assert conv.status == "closed"
    with pytest.raises(ConnectionClosedError):
        conv.create("gone")
    assert [i.text for i in conv.items] == ["stay"]


def test_connection_refused_is_a_clear_error():
    with pytest.raises(ConnectionClosedError) as info:
        rnb.connect(url="ws://127.0.0.1:9/v1/realtime", open_timeout=2)
    assert "127.0.0.1:9" in str(info.value)


def test_close_from_a_callback_does_not_wedge(conv):
    conv.on("conversation.item.done", lambda e: conv.close())
    conv.create("closing from inside", wait=False)
    for _ in range(300):
        if conv.status == "closed":
            break
        threading.Event().wait(0.01)
    assert conv.status == "closed"
    assert [i.text for i in conv.items] == ["closing from inside"]
