"""The session: the only socket. A background thread with its own event loop drives one
:class:`~realtime_nb.core.connection.Connection` over ``websockets``, with backoff.

Why a thread: in a Jupyter kernel a cell runs on the kernel's event loop, and a cell that
blocks (``time.sleep``, a blocking ``.result()``) freezes every task on that loop. A thread with
its own loop keeps receiving, keeps the model current and pushes widget updates to the browser
while a cell is busy. Cells wait on it through ``concurrent.futures`` (blocking, with a timeout)
or ``asyncio.wrap_future`` (non-blocking), so no ``nest_asyncio`` is needed.

Everything the session knows and decides lives in the sans-I/O core (``session.core``); this
module only moves frames between the socket and the core, under :attr:`Session.lock`, and runs
the user's ``on(...)`` callbacks outside it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from .core.connection import Connection, Step
from .core.waiters import Call
from .endpoints import Endpoint
from .errors import ConnectionClosedError

logger = logging.getLogger("realtime_nb")

#: Frames above this are refused by the socket (a memory guard; the session reconnects).
MAX_FRAME = 256 * 1024 * 1024


class CallFuture(concurrent.futures.Future[Any]):
    """The future of one submitted client event; ``event_id`` names the event (a server
    ``error`` about it carries the same id)."""

    event_id = ""


class Session:
    """One conversation's connection: socket, thread and loop around ``core``. Thread-safe:
    every use of ``core`` holds ``lock``."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        open_timeout: float = 15.0,
        reconnect: bool = True,
        max_attempts: int = 8,
        backoff: tuple[float, float] = (0.25, 8.0),
    ) -> None:
        self.endpoint = endpoint
        self.open_timeout = open_timeout
        self.backoff = backoff
        self.core = Connection(endpoint.dialect, reconnect=reconnect, max_attempts=max_attempts)
        self.lock = threading.RLock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="realtime_nb-session",
                                        daemon=True)
        self._wake = asyncio.Event()  # binds to the session loop on first use (3.10+)
        self._ws: ClientConnection | None = None
        self._ready = concurrent.futures.Future[None]()
        self._futures: dict[concurrent.futures.Future[Any], Call] = {}
        self.core.status_listeners.append(self._on_status)

    @property
    def status(self) -> str:
        return self.core.status

    @property
    def close_reason(self) -> str | None:
        """Why the session is not open (or was reconnected), in words."""
        return self.core.reason

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Session:
        """Open the connection and wait for ``session.created`` (or fail with a clear error)."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._main(), self._loop)
        try:
            self._ready.result(self.open_timeout + 5)
        except concurrent.futures.TimeoutError:
            self.close()
            raise ConnectionClosedError(
                f"no session.created from {self.endpoint.name} within {self.open_timeout}s"
            ) from None
        return self

    def _on_status(self, status: str) -> None:
        if self._ready.done():
            return
        if status == "open":
            self._ready.set_result(None)
        elif status in ("error", "closed"):
            self._ready.set_exception(ConnectionClosedError(self.core.reason or status))

    def call_later(self, seconds: float, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on the session thread after ``seconds`` (listeners batch their work this
        way: no extra thread competing for the GIL with the receive loop). Once the loop has
        stopped, a timer thread runs it."""
        loop = self._loop
        if loop.is_running() and not loop.is_closed():
            if self.in_session_thread:
                loop.call_later(seconds, fn)
            else:
                loop.call_soon_threadsafe(loop.call_later, seconds, fn)
            return
        timer = threading.Timer(seconds, fn)
        timer.daemon = True
        timer.start()

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _main(self) -> None:
        """Connect, receive until the connection ends, and reconnect with backoff while the
        core says so."""
        while True:
            try:
                ws = await websockets.connect(
                    self.endpoint.url, additional_headers=dict(self.endpoint.headers),
                    open_timeout=self.open_timeout, max_size=MAX_FRAME, proxy=None)
            except Exception as exc:  # handshake failures of every kind end here
                with self.lock:
                    step = self.core.connect_failed(_describe_connect_error(exc, self.endpoint),
                                                    fatal=_fatal_handshake(exc))
            else:
                with self.lock:
                    self.core.connection_opened(time.monotonic())
                reason = await self._run_connection(ws)
                with self.lock:
                    step = self.core.connection_lost(
                        reason, time.monotonic(), server_closed=ws.protocol.close_rcvd is not None)
            if not step.retry or not await self._pause(step):
                break

    async def _pause(self, step: Step) -> bool:
        """Sleep the backoff of ``step``; False if the client closed meanwhile."""
        base, cap = self.backoff
        delay = random.uniform(0.5, 1.0) * min(cap, base * 2 ** (step.attempt - 1))
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            if self.core.status == "closing":
                with self.lock:
                    self.core.closed()
                return False
            await asyncio.sleep(min(0.05, deadline - time.monotonic()))
        return True

    async def _run_connection(self, ws: ClientConnection) -> str:
        """Receive on one connection until it ends; return how it ended."""
        self._ws = ws
        sender = asyncio.create_task(self._send_loop(ws))
        core, lock = self.core, self.lock
        try:
            while True:
                # bytes, undecoded: a text frame that is not UTF-8 is one invalid frame for
                # the core to log and count, not a reason to fail the whole connection
                frame = await ws.recv(decode=False)
                with lock:
                    event = core.receive(frame)
                if core.send_ready:
                    core.send_ready = False
                    self._wake.set()
                if event is not None and core.callbacks:
                    for fn in core.callbacks_for(event):
                        _safe(fn, event)
        except websockets.ConnectionClosed:
            pass
        except Exception as exc:  # a bug must not kill the thread silently
            logger.exception("realtime_nb receive loop failed")
            with contextlib.suppress(Exception):
                await ws.close()
            return f"receive loop failed: {exc!r}"
        finally:
            sender.cancel()
            self._ws = None
        return _close_text(ws)

    async def _send_loop(self, ws: ClientConnection) -> None:
        """Send the core's outbox in order; an event leaves it only once it is on the wire,
        so a drop keeps it for the next connection."""
        core, lock = self.core, self.lock
        while True:
            await self._wake.wait()
            while True:
                with lock:
                    call = core.next_to_send()
                    if call is None:
                        self._wake.clear()
                        break
                    try:
                        text = core.encode(call)
                    except Exception as exc:
                        core.refuse(call, exc)
                        continue
                await ws.send(text)  # ConnectionClosed ends the loop; the event stays queued
                with lock:
                    core.sent(call)

    def close(self, timeout: float = 5.0) -> None:
        """Close the connection and stop the thread. Idempotent."""
        with self.lock:
            self.core.close()
        ws, loop = self._ws, self._loop
        if ws is not None and self.in_session_thread:
            # from a callback: close without waiting on this very thread
            loop.create_task(ws.close())
            return
        if ws is not None and loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(ws.close(), loop)
            with contextlib.suppress(Exception):
                fut.result(timeout)
        with self.lock:
            self.core.closed()
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        if self._thread.is_alive() and not self.in_session_thread:
            self._thread.join(timeout)

    @property
    def in_session_thread(self) -> bool:
        return threading.current_thread() is self._thread

    # ------------------------------------------------------------------ sending
    def submit(self, event: dict[str, Any], kind: str | None = None, key: str | None = None
               ) -> CallFuture:
        """Queue a validated client event; return a future for its answer (see
        :meth:`Connection.submit <realtime_nb.core.connection.Connection.submit>`)."""
        future = CallFuture()
        with self.lock:
            call = self.core.submit(event, kind, key)
            future.event_id = call.event_id
            self._futures[future] = call
            call.add_done_callback(lambda c: self._settle(future, c))
            self.core.send_ready = False
        self._loop.call_soon_threadsafe(self._wake.set)
        return future

    def _settle(self, future: concurrent.futures.Future[Any], call: Call) -> None:
        self._futures.pop(future, None)
        if future.done():
            return
        if call.error is not None:
            future.set_exception(call.error)
        else:
            future.set_result(call.result)

    def forget(self, future: concurrent.futures.Future[Any], *, cancel: bool = False) -> None:
        """The caller of ``future`` gave up (timeout; ``cancel``: an interrupt, whose
        response is cancelled too)."""
        with self.lock:
            call = self._futures.pop(future, None)
            if call is not None:
                self.core.forget(call, cancel=cancel)
            ready = self.core.send_ready
            self.core.send_ready = False
        if ready and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._wake.set)


def _safe(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        logger.exception("realtime_nb callback %r failed", fn)


def _fatal_handshake(exc: BaseException) -> bool:
    """Handshake answers that retrying cannot fix (bad key, no access, wrong URL)."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status in (400, 401, 403, 404)


def _close_text(ws: ClientConnection) -> str:
    """How a connection ended, in words: the close frame the server sent, or the one this
    client sent when it failed the connection (a frame over the size limit: 1009)."""
    protocol = ws.protocol
    if protocol.close_rcvd is not None:
        close, who = protocol.close_rcvd, "the server closed the connection"
    elif protocol.close_sent is not None:
        close, who = protocol.close_sent, "the client failed the connection"
    else:
        return "connection lost without a close frame"
    return f"{who} with code {close.code}" + (f" ({close.reason})" if close.reason else "")


def _describe_connect_error(exc: BaseException, endpoint: Endpoint) -> str:
    """A handshake failure as a sentence, with no header or key in it."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    where = endpoint.name
    if status in (401, 403):
        return f"{where} refused the credentials (HTTP {status}); check the API key"
    if status is not None:
        return f"{where} answered the handshake with HTTP {status}"
    if isinstance(exc, (OSError, TimeoutError)):
        return f"could not reach {where}: {exc.__class__.__name__}: {exc}"
    return f"could not connect to {where}: {exc.__class__.__name__}"


__all__ = ["CallFuture", "Session"]
