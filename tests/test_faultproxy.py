"""Loopback tests of tests/faultproxy.py against a scripted upstream written here (no project
imports, so these tests survive any package restructure)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect as aconnect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, ConnectionClosedError
from websockets.sync.client import ClientConnection, connect

from tests.faultproxy import FaultProxy


class Upstream:
    """A scripted Realtime-like server on its own thread: greets with session.created, echoes
    JSON events, streams deltas on {"type": "stream", "n": N}, closes on "close_me"."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, headers) per session
        self.closes: list[int | None] = []  # close code each session ended with
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self.url = ""

    async def _handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.requests.append((ws.request.path, dict(ws.request.headers.raw_items())))
        session = {"id": len(self.requests)}
        await ws.send(json.dumps({"type": "session.created", "session": session}))
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    await ws.send(message)  # binary echoes as binary
                    continue
                try:
                    event = json.loads(message)
                except ValueError:
                    await ws.send(json.dumps({"type": "echo", "raw": message}))
                    continue
                if event.get("type") == "stream":
                    for i in range(event["n"]):
                        await ws.send(json.dumps({"type": "delta", "i": i}))
                    await ws.send(json.dumps({"type": "done"}))
                elif event.get("type") == "close_me":
                    await ws.close(event["code"], event["reason"])
                else:
                    await ws.send(json.dumps({"type": "echo", "of": event}))
        except ConnectionClosed:
            pass  # a proxy cut: expected here, not a handler failure
        finally:
            await ws.wait_closed()
            self.closes.append(ws.close_code)

    async def _main(self) -> None:
        self._stop = asyncio.get_running_loop().create_future()
        async with serve(self._handler, "127.0.0.1", 0) as server:
            self.url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/realtime"
            self._ready.set()
            await self._stop

    def __enter__(self) -> Upstream:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._stop.get_loop().call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream() as server:
        yield server


@pytest.fixture
def proxy(upstream: Upstream) -> Iterator[FaultProxy]:
    with FaultProxy(upstream.url) as p:
        yield p


def recv_json(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=5))


def drain(ws: ClientConnection) -> tuple[list[dict[str, Any]], ConnectionClosed]:
    """Every event until the connection ends, and how it ended."""
    events = []
    try:
        while True:
            events.append(recv_json(ws))
    except ConnectionClosed as exc:
        return events, exc


def test_relays_both_ways_with_path_query_and_headers(
    upstream: Upstream, proxy: FaultProxy
) -> None:
    assert proxy.url.endswith("/v1/realtime") and proxy.url != upstream.url
    headers = {"Authorization": "Bearer sk-test", "OpenAI-Beta": "realtime=v1"}
    with connect(proxy.url + "?dialect=beta&model=x", additional_headers=headers) as ws:
        assert recv_json(ws)["type"] == "session.created"
        ws.send(json.dumps({"type": "session.update"}))
        assert recv_json(ws) == {"type": "echo", "of": {"type": "session.update"}}
    path, seen = upstream.requests[0]
    assert path == "/v1/realtime?dialect=beta&model=x"
    assert seen["Authorization"] == "Bearer sk-test" and seen["OpenAI-Beta"] == "realtime=v1"
    assert seen["Host"] == upstream.url.split("/")[2]  # the upstream's own, not the proxy's
    assert [(i, d) for i, d, _ in proxy.frames] == [(0, "in"), (0, "out"), (0, "in")]
    assert json.loads(proxy.frames[1][2]) == {"type": "session.update"}


def test_odd_frames_are_relayed_and_never_match(proxy: FaultProxy) -> None:
    """Non-JSON text, binary and a raising rule: relayed, recorded, nothing fires."""
    boom = proxy.cut("out", lambda e: 1 / 0 > 0, times=None)
    with connect(proxy.url) as ws:
        recv_json(ws)
        ws.send("not json")
        assert recv_json(ws) == {"type": "echo", "raw": "not json"}
        ws.send(b"\x00\x01")
        assert ws.recv(timeout=5) == b"\x00\x01"
    assert boom.fired_on == []
    assert (0, "out", b"\x00\x01") in proxy.frames and (0, "in", b"\x00\x01") in proxy.frames


def test_cut_after_third_delta_gives_1006(upstream: Upstream, proxy: FaultProxy) -> None:
    rule = proxy.cut("in", lambda e: e["type"] == "delta" and e["i"] == 2)
    with connect(proxy.url) as ws:
        recv_json(ws)
        ws.send(json.dumps({"type": "stream", "n": 5}))
        events, exc = drain(ws)
    assert [e["i"] for e in events] == [0, 1, 2]  # forwarded, then nothing more
    assert exc.rcvd is None and ws.protocol.close_code == 1006  # no close frame
    assert rule.fired_on == [0]
    assert proxy.wait_for(lambda p: upstream.closes == [1001])  # upstream ended politely


def test_cut_before_withholds_the_matched_frame(proxy: FaultProxy) -> None:
    proxy.cut("in", lambda e: e.get("i") == 2, after=False)
    with connect(proxy.url) as ws:
        recv_json(ws)
        ws.send(json.dumps({"type": "stream", "n": 5}))
        events, exc = drain(ws)
    assert [e["i"] for e in events] == [0, 1]
    assert exc.rcvd is None
    assert json.loads(proxy.frames[-1][2]) == {"type": "delta", "i": 2}  # recorded, not sent


def test_close_with_code_and_reason(upstream: Upstream, proxy: FaultProxy) -> None:
    proxy.close("out", "response.create", 4000, "session expired", after=False)
    with connect(proxy.url) as ws:
        recv_json(ws)
        ws.send(json.dumps({"type": "response.create"}))
        events, exc = drain(ws)
    assert events == []  # the event never reached the upstream, so no echo
    assert isinstance(exc, ConnectionClosedError)
    assert exc.rcvd is not None and (exc.rcvd.code, exc.rcvd.reason) == (4000, "session expired")
    assert proxy.wait_for(lambda p: upstream.closes == [4000])  # mirrored upstream


def test_upstream_close_code_is_mirrored_to_client(proxy: FaultProxy) -> None:
    with connect(proxy.url) as ws:
        recv_json(ws)
        ws.send(json.dumps({"type": "close_me", "code": 1011, "reason": "internal"}))
        _, exc = drain(ws)
    assert exc.rcvd is not None and (exc.rcvd.code, exc.rcvd.reason) == (1011, "internal")


def test_inject_after_a_matching_frame(proxy: FaultProxy) -> None:
    proxy.inject('{"type":"extra"}', when="done")
    with connect(proxy.url) as ws:
        recv_json(ws)
        ws.send(json.dumps({"type": "stream", "n": 1}))
        got = [recv_json(ws)["type"] for _ in range(3)]
    assert got == ["delta", "done", "extra"]


BAD = b'{"type":"x","t":"\xff"}'  # \xff is never valid UTF-8; it sits at byte 17


async def test_invalid_utf8_text_fails_the_client_with_1007(
    upstream: Upstream, proxy: FaultProxy
) -> None:
    """Documents websockets (asyncio client; the sync one is the same): a TEXT frame is UTF-8
    decoded lazily in recv(), so in ``async for`` too. On failure the client sends close 1007
    and, per RFC 6455 7.1.7, ignores the peer's echo: close_code reads 1006, not 1007."""
    async with aconnect(proxy.url) as ws:
        await ws.recv()
        proxy.inject(BAD)
        with pytest.raises(ConnectionClosedError) as info:
            async for _ in ws:
                pass
    reason = "invalid start byte at position 17"
    assert isinstance(info.value.__cause__, UnicodeDecodeError)
    assert info.value.rcvd is None
    assert ws.protocol.close_sent is not None
    assert (ws.protocol.close_sent.code, ws.protocol.close_sent.reason) == (1007, reason)
    assert ws.protocol.close_rcvd is None  # the proxy did echo 1007; the client discarded it
    assert (ws.close_code, ws.close_reason) == (1006, "")
    assert proxy.wait_for(lambda p: upstream.closes == [1007])  # the proxy mirrored the 1007

    # recv(decode=False) skips the decoding: the same bytes arrive and the connection lives.
    async with aconnect(proxy.url) as ws:
        await ws.recv()
        proxy.inject(BAD)
        assert await ws.recv(decode=False) == BAD


def test_reconnect_gets_fresh_upstream_and_rule_fires_once(
    upstream: Upstream, proxy: FaultProxy
) -> None:
    rule = proxy.cut("in", "delta")
    with connect(proxy.url) as ws:
        assert recv_json(ws)["session"]["id"] == 1
        ws.send(json.dumps({"type": "stream", "n": 3}))
        events, _ = drain(ws)
    assert [e["type"] for e in events] == ["delta"]
    with connect(proxy.url) as ws:
        assert recv_json(ws)["session"]["id"] == 2  # a new, empty server session
        ws.send(json.dumps({"type": "stream", "n": 3}))
        got = [recv_json(ws)["type"] for _ in range(4)]
    assert got == ["delta", "delta", "delta", "done"]
    assert proxy.connections == 2 and len(upstream.requests) == 2
    assert rule.fired_on == [0] and rule.remaining == 0


def test_drop_all_aborts_every_live_connection(upstream: Upstream, proxy: FaultProxy) -> None:
    with connect(proxy.url) as a, connect(proxy.url) as b:
        recv_json(a), recv_json(b)
        assert proxy.drop_all() == 2
        for ws in (a, b):
            _, exc = drain(ws)
            assert exc.rcvd is None and ws.protocol.close_code == 1006
    assert proxy.wait_for(lambda p: upstream.closes == [1001, 1001])
    assert proxy.wait_for(lambda p: p.drop_all() == 0)
