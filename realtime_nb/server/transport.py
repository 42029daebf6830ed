"""The embedded Realtime server: a real WebSocket server on loopback, answering offline.

``EmbeddedServer().start()`` listens on ``ws://127.0.0.1:<port>/v1/realtime`` and speaks the
Realtime protocol well enough for the official ``openai`` SDK, the widget and the tests:
per-connection conversations, item create/retrieve/delete/truncate, ``session.update``,
streamed responses from the deterministic :mod:`~realtime_nb.responder`, cancel, out-of-band
responses and three dialects (``ga``, ``beta``, ``yandex``; see :mod:`~realtime_nb.server_state`).

The server runs on its *own* daemon thread with its own asyncio loop: a notebook cell that
blocks the kernel's loop (``time.sleep``, a long computation, a blocking ``create()`` waiting
for the server's answer) must never starve the server, or the cell would wait forever.

Per-connection overrides in the query string: ``dialect=ga|beta|yandex`` and
``chunk_delay=<seconds>`` (pause between deltas; handy to test cancel). ``model=`` is accepted
and reported in the session.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import threading
import urllib.parse
from http import HTTPStatus
from types import TracebackType
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..core.protocol import DIALECT_NAMES as DIALECTS
from .responses import ResponseRun
from .state import ConnectionState
from .wire import render_item, server_event

logger = logging.getLogger(__name__)

PATH = "/v1/realtime"
START_TIMEOUT = 10.0
#: Close code sent when ``session_ttl`` runs out (4000-4999 are application codes).
SESSION_EXPIRED_CODE = 4000


class EmbeddedServer:
    """A Realtime WebSocket server on its own thread (see the module docstring).

    ``dialect`` is the default for connections without ``?dialect=``; ``session_ttl`` closes a
    connection (error ``session_expired``, then close code 4000 "session expired") that many
    seconds after it opened; ``chunk_delay`` pauses between streamed deltas.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        dialect: str = "ga",
        session_ttl: float | None = None,
        chunk_delay: float = 0.0,
    ) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, got {dialect!r}")
        self.host = host
        self.dialect = dialect
        self.session_ttl = session_ttl
        self.chunk_delay = chunk_delay
        self._requested_port = port
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._stopped: asyncio.Event | None = None
        self._lock = threading.Lock()
        self._live: dict[int, ConnectionState] = {}  # id(connection) -> its state

    # ------------------------------------------------------------------ public API
    @property
    def port(self) -> int:
        """The port actually listened on (the random one when constructed with ``port=0``)."""
        if self._port is None:
            raise RuntimeError("the server is not started; call start() first")
        return self._port

    @property
    def base_url(self) -> str:
        """``ws://host:port/v1`` — the ``websocket_base_url`` of an ``openai`` client."""
        return f"ws://{self.host}:{self.port}/v1"

    @property
    def url(self) -> str:
        """``ws://host:port/v1/realtime`` — what a raw WebSocket client connects to."""
        return f"{self.base_url}/realtime"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._port is not None

    def start(self) -> EmbeddedServer:
        """Start listening on a daemon thread; returns once the socket accepts connections."""
        with self._lock:
            if self.running:
                return self
            ready = threading.Event()
            failure: list[BaseException] = []
            self._thread = threading.Thread(
                target=self._run, args=(ready, failure), name="realtime_nb-server", daemon=True
            )
            self._thread.start()
            if not ready.wait(START_TIMEOUT):
                raise RuntimeError("the embedded server did not start in time")
            if failure:
                self._thread.join(START_TIMEOUT)
                self._thread = None
                raise failure[0]
            return self

    def stop(self) -> None:
        """Close every connection, stop listening and join the thread (idempotent)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None:
                return
            if self._stopped is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._stopped.set)
            thread.join(START_TIMEOUT)
            self._thread = None
            self._port = None

    def drop_connections(self) -> int:
        """Abort every live connection without a closing handshake (like a network drop).

        Clients see an abnormal closure (1006) and may reconnect; the server keeps listening.
        Returns how many connections were dropped.
        """
        if not self.running or self._loop is None:
            return 0

        async def drop() -> int:
            conns = list(self._server.connections) if self._server is not None else []
            for conn in conns:
                conn.transport.abort()
            return len(conns)

        return asyncio.run_coroutine_threadsafe(drop(), self._loop).result(START_TIMEOUT)

    def connection_count(self) -> int:
        """How many WebSocket connections are open right now."""
        return len(self._server.connections) if self._server is not None and self.running else 0

    def conversations(self) -> list[list[dict[str, Any]]]:
        """A copy of every live connection's conversation, items in server order (GA shape,
        audio included): the ground truth a client-side model can be compared with."""
        if not self.running or self._loop is None:
            return []

        async def snapshot() -> list[list[dict[str, Any]]]:
            return [[render_item(i, "ga", with_audio=True) for i in st.context()]
                    for st in self._live.values()]

        return asyncio.run_coroutine_threadsafe(snapshot(), self._loop).result(START_TIMEOUT)

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"EmbeddedServer({where}, dialect={self.dialect!r})"

    # ------------------------------------------------------------------ thread and loop
    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(ready))
        except BaseException as exc:  # reported to start(); the thread must not die silently
            failure.append(exc)
            ready.set()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self, ready: threading.Event) -> None:
        self._stopped = asyncio.Event()
        async with serve(
            self._handle, self.host, self._requested_port,
            process_request=self._process_request, server_header="realtime_nb",
            max_size=None, ping_interval=None,
        ) as server:
            self._server = server
            self._port = server.sockets[0].getsockname()[1]
            ready.set()
            await self._stopped.wait()
            server.close(close_connections=True)
            await server.wait_closed()
        self._server = None

    @staticmethod
    def _process_request(conn: ServerConnection, request: Request) -> Response | None:
        path = urllib.parse.urlsplit(request.path).path.rstrip("/")
        if path != PATH:
            return conn.respond(HTTPStatus.NOT_FOUND, f"Not found: {path}. Connect to {PATH}.\n")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.path).query))
        if query.get("dialect", "ga") not in DIALECTS:
            return conn.respond(HTTPStatus.BAD_REQUEST,
                                f"dialect must be one of {', '.join(DIALECTS)}\n")
        return None

    # ------------------------------------------------------------------ one connection
    async def _handle(self, ws: ServerConnection) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(ws.request.path).query))
        dialect = query.get("dialect", self.dialect)
        if dialect == "ga" and _beta_header(ws.request.headers) and "dialect" not in query:
            dialect = "beta"  # like OpenAI: the OpenAI-Beta header selects the beta protocol
        try:
            delay = float(query.get("chunk_delay", self.chunk_delay))
        except ValueError:
            delay = self.chunk_delay
        state = ConnectionState(dialect, query.get("model"))
        conn = _Connection(ws, state, delay)
        self._live[id(ws)] = state
        ttl = None
        if self.session_ttl is not None:
            ttl = asyncio.get_running_loop().call_later(self.session_ttl, conn.expire,
                                                        self.session_ttl)
        try:
            await conn.serve()
        finally:
            self._live.pop(id(ws), None)
            if ttl is not None:
                ttl.cancel()


def _beta_header(headers: Headers) -> bool:
    return "realtime=v1" in (headers.get("OpenAI-Beta") or "")


class _Connection:
    """Reads frames in order, answers them, and streams responses as concurrent tasks."""

    def __init__(self, ws: ServerConnection, state: ConnectionState, delay: float) -> None:
        self.ws = ws
        self.state = state
        self.delay = delay
        self.tasks: set[asyncio.Task[None]] = set()
        self.wakers: dict[str, asyncio.Event] = {}
        self.closer: asyncio.Task[None] | None = None  # keeps the expiry task referenced

    async def send(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            await self.ws.send(json.dumps(event, ensure_ascii=False))

    async def serve(self) -> None:
        try:
            await self.send(self.state.greeting())
            async for frame in self.ws:
                try:
                    outcome = self.state.handle_frame(frame)
                except Exception:  # a server bug must not end the client's session
                    logger.exception("embedded server failed on a client frame")
                    await self.send([_server_error()])
                    continue
                await self.send(outcome.events)
                if outcome.start is not None:
                    # begin() here, not in the task: response.created and the new item must
                    # precede whatever the next client frame causes
                    await self.send(outcome.start.begin())
                    self.start(outcome.start)
                if outcome.cancel is not None and outcome.cancel.id in self.wakers:
                    self.wakers[outcome.cancel.id].set()
        except ConnectionClosed:
            pass
        finally:
            for task in list(self.tasks):
                task.cancel()
            if self.tasks:
                await asyncio.gather(*self.tasks, return_exceptions=True)

    def start(self, run: ResponseRun) -> None:
        """Stream ``run`` on its own task, so later client events are handled meanwhile."""
        self.wakers[run.id] = asyncio.Event()
        task = asyncio.get_running_loop().create_task(self._stream(run))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _stream(self, run: ResponseRun) -> None:
        waker = self.wakers[run.id]
        try:
            while (event := run.step()) is not None:
                await self.send([event])
                if self.delay > 0:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(waker.wait(), self.delay)
                else:
                    await asyncio.sleep(0)  # let a response.cancel in between deltas
            await self.send(run.finish())
        except ConnectionClosed:
            pass
        except Exception:
            logger.exception("embedded server failed while streaming %s", run.id)
            with contextlib.suppress(ConnectionClosed):
                await self.send([_server_error()])
        finally:
            run.finish()  # a dropped connection still frees the conversation's response slot
            self.wakers.pop(run.id, None)

    def expire(self, ttl: float) -> None:
        """``session_ttl`` ran out: tell the client why, then close the connection."""

        async def close() -> None:
            with contextlib.suppress(ConnectionClosed):
                await self.send([server_event("error", error={
                    "type": "invalid_request_error", "code": "session_expired",
                    "message": f"Your session hit the maximum duration of {ttl:g} seconds.",
                    "param": None, "event_id": None,
                })])
            await self.ws.close(SESSION_EXPIRED_CODE, "session expired")

        self.closer = asyncio.get_running_loop().create_task(close())


def _server_error() -> dict[str, Any]:
    return server_event("error", error={
        "type": "server_error", "code": None, "param": None, "event_id": None,
        "message": "The embedded server had an internal error; see its log.",
    })


_default: EmbeddedServer | None = None
_default_lock = threading.Lock()


def default_server() -> EmbeddedServer:
    """The process-wide GA server, started on first use (thread-safe), stopped at exit."""
    global _default
    with _default_lock:
        if _default is None or not _default.running:
            _default = EmbeddedServer().start()
            atexit.register(_default.stop)
        return _default
