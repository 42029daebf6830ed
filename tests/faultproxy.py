"""A fault-injecting WebSocket proxy for loopback tests of reconnect logic.

``with FaultProxy(upstream_url) as proxy:`` listens on 127.0.0.1 (own thread, own loop) and
gives every client connection its own fresh upstream connection, relaying frames both ways
and recording them. Rules added from the test thread cut, close or inject at exact frames.
Directions: ``"in"`` is server -> client, ``"out"`` is client -> server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import EXTERNAL_CLOSE_CODES, Frame, Opcode
from websockets.protocol import State

Direction = Literal["in", "out"]
When = Callable[[dict[str, Any]], bool] | str  # a predicate, or an event "type" to match
Record = tuple[int, str, str | bytes]  # (conn_index, direction, text; bytes if binary)
WS = ServerConnection | ClientConnection

# Per-hop headers: the upstream handshake makes its own.
_HOP_BY_HOP = {"host", "upgrade", "connection", "content-length"}


@dataclass
class Rule:
    """One fault. ``remaining`` None = every match; ``fired_on`` = conn indices it hit."""

    action: Literal["cut", "close", "inject", "delay"]
    direction: Direction
    when: When | None
    after: bool = True
    remaining: int | None = 1
    code: int = 1000
    reason: str = ""
    payload: bytes = b""
    opcode: Opcode = Opcode.TEXT
    seconds: float = 0.0
    connection: int | None = None  # only frames of this client connection (0, 1, ...)
    fired_on: list[int] = field(default_factory=list)

    def matches(self, event: Any) -> bool:
        if not isinstance(event, dict):
            return False  # non-JSON frames and JSON non-objects never match
        if isinstance(self.when, str):
            return event.get("type") == self.when
        try:
            return self.when is not None and bool(self.when(event))
        except Exception:
            return False  # a rule that raises is a rule that does not match


def _write_raw(client: ServerConnection, rule: Rule) -> None:
    # Straight to the transport: the library refuses to send invalid UTF-8 as TEXT.
    client.transport.write(Frame(rule.opcode, rule.payload).serialize(mask=False))


async def _end(client: ServerConnection, rule: Rule) -> ServerConnection:
    """Carry out a cut or close rule on the client connection."""
    if rule.action == "close":
        await client.close(rule.code, rule.reason)
        return client
    # abort() discards unsent bytes: first let what was forwarded reach the socket.
    deadline = time.monotonic() + 1.0
    while client.transport.get_write_buffer_size() and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
    client.transport.abort()
    return client


class FaultProxy:
    def __init__(self, upstream_url: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(upstream_url)
        self._upstream_base = f"{parts.scheme}://{parts.netloc}"
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._lock = threading.RLock()  # rules' predicates may read proxy.frames
        self._frames: list[Record] = []
        self._rules: list[Rule] = []
        self._live: dict[int, ServerConnection] = {}  # client side, by conn index
        self._connections = 0
        self._abort_next = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="FaultProxy", daemon=True)
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self.port = 0
        self.url = ""  # ws://127.0.0.1:PORT/<the upstream's path>, set once listening

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(self._timeout) or self._error is not None:
            raise RuntimeError(f"FaultProxy did not start: {self._error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(self._timeout + 5)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:  # reported by __enter__ rather than lost with the thread
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stop = self._loop.create_future()
        # No pings: the proxy adds no traffic of its own. max_size=None: audio can be large.
        async with serve(self._handle, "127.0.0.1", 0, max_size=None, ping_interval=None) as srv:
            self.port = srv.sockets[0].getsockname()[1]
            self.url = f"ws://127.0.0.1:{self.port}{self._path}"
            self._ready.set()
            await self._stop
            srv.close()  # closes live client connections with 1001; the handlers mirror it
            await srv.wait_closed()

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(self._timeout)

    @property
    def frames(self) -> list[Record]:
        """A snapshot of every frame the proxy received (injected frames are not listed)."""
        with self._lock:
            return list(self._frames)

    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    def wait_for(self, pred: Callable[[FaultProxy], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while not pred(self):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _add(self, rule: Rule) -> Rule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def cut(
        self, direction: Direction, when: When, *, after: bool = True, times: int | None = 1,
        connection: int | None = None,
    ) -> Rule:
        """Abort the client's TCP connection (no close frame: the client sees 1006); with
        ``connection``, only on that client connection (0 is the first)."""
        return self._add(Rule("cut", direction, when, after, times, connection=connection))

    def close(
        self,
        direction: Direction,
        when: When,
        code: int,
        reason: str = "",
        *,
        after: bool = True,
        times: int | None = 1,
    ) -> Rule:
        """Close the client connection cleanly with ``code`` and ``reason``."""
        return self._add(Rule("close", direction, when, after, times, code, reason))

    def delay(self, direction: Direction, when: When, seconds: float, *,
              times: int | None = 1) -> Rule:
        """Hold a matching frame back for ``seconds`` before relaying it; the frames behind it
        wait too (order is kept), like a slow link."""
        return self._add(Rule("delay", direction, when, True, times, seconds=seconds))

    def inject(
        self,
        raw: bytes | str,
        *,
        when: When | None = None,
        direction: Direction = "in",
        opcode: Literal["text", "binary"] = "text",
    ) -> Rule:
        """Write one frame to the client, unvalidated. With ``when``: right after the first
        frame relayed in ``direction`` that matches; else now, on the newest live connection."""
        payload = raw.encode() if isinstance(raw, str) else raw
        op = Opcode.TEXT if opcode == "text" else Opcode.BINARY
        rule = Rule("inject", direction, when, payload=payload, opcode=op)
        if when is not None:
            return self._add(rule)

        async def now() -> None:
            with self._lock:
                if not self._live:
                    raise RuntimeError("inject: no live client connection")
                index = max(self._live)
            rule.remaining, rule.fired_on = 0, [index]
            _write_raw(self._live[index], rule)

        self._call(now())
        return rule

    def abort_handshakes(self, count: int = 1) -> None:
        """Abort the next ``count`` client connections right after their WebSocket handshake,
        before a frame is relayed (the client is connected, then at once it is not)."""
        with self._lock:
            self._abort_next += count

    def drop_all(self) -> int:
        """Abort every live client connection now, like a network drop; return how many."""

        async def drop() -> int:
            with self._lock:
                clients = list(self._live.values())
            for client in clients:
                client.transport.abort()
            return len(clients)

        return int(self._call(drop()))

    def _relayed(self, index: int, direction: Direction, message: str | bytes) -> list[Rule]:
        """Record the frame; claim the rules it fires: each matching inject or delay, the first
        cut/close.
        Under one (reentrant) lock, so a times=1 rule fires once across connections."""
        with self._lock:
            self._frames.append((index, direction, message))
            rules = [r for r in self._rules if r.direction == direction and r.remaining != 0
                     and r.connection in (None, index)]
            if not rules or not isinstance(message, str):
                return []  # only text is parsed, and only when some rule could look at it
            try:
                event = json.loads(message)
            except ValueError:
                return []
            fired: list[Rule] = []
            for rule in rules:
                ends = rule.action in ("cut", "close")
                if (ends and any(r.action in ("cut", "close") for r in fired)) or not (
                        rule.matches(event)):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                rule.fired_on.append(index)
                fired.append(rule)
            return fired

    async def _handle(self, client: ServerConnection) -> None:
        with self._lock:
            index = self._connections
            self._connections += 1
            abort, self._abort_next = self._abort_next > 0, max(0, self._abort_next - 1)
        if abort:
            client.transport.abort()
            return
        assert client.request is not None
        headers = [
            (k, v)
            for k, v in client.request.headers.raw_items()
            if k.lower() not in _HOP_BY_HOP and not k.lower().startswith("sec-websocket-")
        ]
        try:  # a fresh upstream per client connection: a reconnect is a new server session
            upstream = await connect(
                self._upstream_base + client.request.path,  # the client's path and query
                additional_headers=headers,
                user_agent_header=None,  # the client's own User-Agent is forwarded
                open_timeout=self._timeout,
                max_size=None,
                ping_interval=None,
            )
        except Exception as exc:
            await client.close(1011, f"proxy: upstream failed: {exc!r}"[:120])
            return
        with self._lock:
            self._live[index] = client
        pumps = [
            asyncio.create_task(self._pump(index, upstream, client, "in")),
            asyncio.create_task(self._pump(index, client, upstream, "out")),
        ]
        try:
            done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            ended: WS = done.pop().result()
            other = upstream if ended is client else client
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ended.wait_closed(), self._timeout)
            code = ended.close_code
            code = 1000 if code == 1005 else code  # 1005 (no code) cannot be sent; 1000 can
            if code is not None and (code in EXTERNAL_CLOSE_CODES or 3000 <= code < 5000):
                await other.close(code, ended.close_reason or "")  # mirror the close
            elif other is client:  # the upstream dropped: the client sees a drop too
                client.transport.abort()
            else:  # the client dropped: end the upstream session now, politely
                await upstream.close(1001, "proxy: client connection lost")
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            for ws in (client, upstream):
                if ws.state is not State.CLOSED:
                    ws.transport.abort()
            with self._lock:
                del self._live[index]

    async def _pump(self, index: int, src: WS, dst: WS, direction: Direction) -> WS:
        """Relay one direction until a side closes or a rule ends it; return the side that
        ended (the client when a rule fired)."""
        client = dst if direction == "in" else src
        assert isinstance(client, ServerConnection)
        try:
            async for message in src:
                rules = self._relayed(index, direction, message)
                for rule in rules:
                    if rule.action == "delay":
                        await asyncio.sleep(rule.seconds)
                ending = next((r for r in rules if r.action in ("cut", "close")), None)
                if ending is not None and not ending.after:
                    return await _end(client, ending)
                await dst.send(message)
                for rule in rules:
                    if rule.action == "inject":
                        _write_raw(client, rule)
                if ending is not None:
                    return await _end(client, ending)
        except ConnectionClosed:
            pass
        return src if src.state is not State.OPEN else dst
