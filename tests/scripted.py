"""A small scripted Realtime server for tests: a real websockets server on 127.0.0.1 (its own
thread and loop) whose behaviour is an async function the test writes.

``ScriptServer(script)`` calls ``await script(peer)`` for each connection after sending
``session.created``; ``peer.recv()`` returns the next client event (a dict), ``peer.send(**)``
sends a server event (an ``event_id`` is added). :func:`response_events` renders one GA
response (function calls, an MCP approval request or a text message) the way the embedded
server and OpenAI order them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import serve

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):021d}"[: len(prefix) + 21]


class Peer:
    """One client connection as the script sees it."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    async def recv(self, type_: str | None = None) -> dict[str, Any]:
        """The next client event (of ``type_``, skipping others)."""
        while True:
            event = json.loads(await self.ws.recv())
            self.received.append(event)
            if type_ is None or event.get("type") == type_:
                return event

    async def send(self, type_: str, **fields: Any) -> None:
        await self.ws.send(json.dumps({"type": type_, "event_id": new_id("event_"), **fields}))

    async def send_all(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            await self.send(**event)


Script = Callable[[Peer], Awaitable[None]]


class ScriptServer:
    def __init__(self, script: Script, *, model: str = "gpt-realtime") -> None:
        self.script = script
        self.model = model
        self.peers: list[Peer] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _handler(self, ws: Any) -> None:
        peer = Peer(ws)
        self.peers.append(peer)
        await peer.send("session.created", session={
            "type": "realtime", "object": "realtime.session", "id": new_id("sess_"),
            "model": self.model, "output_modalities": ["text"], "tools": [],
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}}}})
        try:
            await self.script(peer)
            async for _ in ws:
                pass
        except Exception:  # the client closed
            pass

    def __enter__(self) -> ScriptServer:
        self.thread.start()

        async def start() -> int:
            self.server = await serve(self._handler, "127.0.0.1", 0)
            return self.server.sockets[0].getsockname()[1]

        self.port = asyncio.run_coroutine_threadsafe(start(), self.loop).result(5)
        self.url = f"ws://127.0.0.1:{self.port}/v1/realtime"
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)


async def echo_items(peer: Peer, event: dict[str, Any], previous: str | None = None) -> str:
    """Answer a ``conversation.item.create`` with ``added`` and ``done``; returns the id."""
    item = {**event["item"], "status": "completed"}
    item.setdefault("id", new_id("item_"))
    await peer.send("conversation.item.added", item=item, previous_item_id=previous)
    await peer.send("conversation.item.done", item=item, previous_item_id=previous)
    return str(item["id"])


def response_object(rid: str, status: str, output: list[dict[str, Any]],
                    usage: dict[str, Any] | None, metadata: dict[str, Any] | None = None,
                    details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": rid, "object": "realtime.response", "status": status,
            "status_details": details, "output": output, "metadata": metadata,
            "usage": usage, "conversation_id": "conv_1"}


def response_events(create: dict[str, Any] | None, outputs: list[dict[str, Any]],
                    usage: dict[str, Any] | None = None, previous: str | None = None
                    ) -> tuple[list[dict[str, Any]], str, str | None]:
    """Every event of one completed response making ``outputs`` (items: function calls,
    MCP approval requests, or assistant messages whose text is streamed as one delta);
    ``create`` is the client's ``response.create`` (its metadata is echoed), ``previous``
    the conversation's last item id. Returns (events, response id, new last item id)."""
    rid = new_id("resp_")
    meta = ((create or {}).get("response") or {}).get("metadata")
    events: list[dict[str, Any]] = [
        {"type_": "response.created", "response": response_object(rid, "in_progress", [], None,
                                                                   meta)}]
    done_items = []
    for index, raw in enumerate(outputs):
        item = {"id": new_id("item_"), "status": "completed", **raw}
        start = {**item, "status": "in_progress"}
        where = {"response_id": rid, "output_index": index}
        if item["type"] == "message":
            text = item["content"][0]["text"]
            start["content"] = []
            events += [
                {"type_": "response.output_item.added", **where, "item": start},
                {"type_": "conversation.item.added", "item": start, "previous_item_id": previous},
                {"type_": "response.output_text.delta", **where, "item_id": item["id"],
                 "content_index": 0, "delta": text},
                {"type_": "response.output_text.done", **where, "item_id": item["id"],
                 "content_index": 0, "text": text},
            ]
        else:
            events += [{"type_": "response.output_item.added", **where, "item": start},
                       {"type_": "conversation.item.added", "item": start,
                        "previous_item_id": previous}]
            if item["type"] == "function_call":
                events.append({"type_": "response.function_call_arguments.done", **where,
                               "item_id": item["id"], "call_id": item["call_id"],
                               "name": item["name"], "arguments": item["arguments"]})
        events += [{"type_": "response.output_item.done", **where, "item": item},
                   {"type_": "conversation.item.done", "item": item,
                    "previous_item_id": previous}]
        done_items.append(item)
        previous = item["id"]
    events.append({"type_": "response.done", "response": response_object(
        rid, "completed", done_items, usage or {"total_tokens": 2, "input_tokens": 1,
                                                 "output_tokens": 1}, meta)})
    return events, rid, previous


__all__ = ["Peer", "ScriptServer", "echo_items", "new_id", "response_events",
           "response_object"]
