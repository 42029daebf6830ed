"""The session: one WebSocket connection, owned by a background thread with its own event loop.

Why a thread: in a Jupyter kernel a cell runs on the kernel's event loop, and a cell that
blocks (``time.sleep``, a blocking ``.result()``) freezes every task on that loop. A thread with
its own loop keeps receiving, keeps the model current and pushes widget updates to the browser
while a cell is busy. Cells wait on it through ``concurrent.futures`` (blocking, with a timeout)
or ``asyncio.wrap_future`` (non-blocking), so no ``nest_asyncio`` is needed.

Data flows one way: socket -> :func:`~realtime_nb.protocol.parse_server_event` -> event log ->
:class:`~realtime_nb.conversation.Conversation` -> record listeners (widget, DataFrame) ->
waiting calls -> user callbacks.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import json
import logging
import random
import threading
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from .conversation import Conversation, Record, Skipped
from .endpoints import Endpoint
from .errors import ConnectionClosedError, ProtocolError, RealtimeServerError
from .eventlog import EventLog, LogEntry
from .protocol import ServerEvent, canonical_type, parse_server_event, to_dialect
from .resync import replay_events
from .waiters import Response, Waiters

logger = logging.getLogger("realtime_nb")

RecordListener = Callable[[list[Record], ServerEvent], None]
LogListener = Callable[[int], None]  # called with the new entry's seq
StatusListener = Callable[[str], None]
Callback = Callable[[ServerEvent], Any]

#: Frames above this are refused by the socket (a memory guard; the session reconnects).
MAX_FRAME = 256 * 1024 * 1024
#: Frames above this are logged with their size, counted and skipped; the session goes on.
MAX_EVENT_BYTES = 16 * 1024 * 1024


class Session:
    """One connection and the conversation model it feeds. Thread-safe; see the module doc."""

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
        self.reconnect = reconnect
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.model = Conversation()
        self.log = EventLog()
        self.errors: list[RealtimeServerError] = []
        self.skipped = 0
        self.status = "connecting"
        self.close_reason: str | None = None
        self.lock = threading.RLock()
        self._record_listeners: list[RecordListener] = []
        self._log_listeners: list[LogListener] = []
        self._status_listeners: list[StatusListener] = []
        self._callbacks: dict[str, list[Callback]] = {}
        self._waiters = Waiters()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="realtime_nb-session",
                                        daemon=True)
        self._queue: collections.deque[tuple[dict[str, Any], concurrent.futures.Future[None]]]
        self._queue = collections.deque()
        self._queue_lock = threading.Lock()
        self._wake = asyncio.Event()  # binds to the session loop on first use (3.10+)
        self._session_config: dict[str, Any] = {}
        self._fatal: str | None = None
        self._greeted = False
        self._replay_ids: set[str] = set()
        self._ws: ClientConnection | None = None
        self._ready = concurrent.futures.Future[None]()

    # ------------------------------------------------------------------ offline replay
    @classmethod
    def offline(cls, name: str = "saved session", dialect: str = "ga") -> Session:
        """A session with no connection, fed by :meth:`replay` (``realtime_nb.load``)."""
        session = cls(Endpoint(f"offline://{name}", dialect, "offline", None, {}))
        session.status = "closed"
        session.close_reason = "offline replay"
        session._ready.set_result(None)
        return session

    def replay(self, entry: LogEntry) -> None:
        """Apply one logged entry as it happened: a client event is logged, a server event
        applied, and a ``local`` record re-logged (a resync drops the unfinished response
        items again, as the live session did)."""
        payload = dict(entry["payload"])
        if entry["direction"] == "out":
            with self.lock:
                self._emit_log(self.log.append("out", payload, entry["ts"]))
        elif entry["direction"] == "local":
            with self.lock:
                if entry["type"] == "realtime_nb.resync":
                    self._notify(self.model.discard_unfinished_responses())
                self._emit_log(self.log.append("local", payload, entry["ts"],
                                               type=entry["type"], note=entry["note"]))
        elif entry["type"] == "invalid":
            self._log_invalid(str(payload.get("raw", "")), entry["note"] or "invalid frame",
                              entry["ts"])
        else:
            raw_type = str(payload.get("type"))
            self._on_event(ServerEvent(canonical_type(raw_type), raw_type, payload, entry["ts"]))

    def _notify(self, records: list[Record]) -> None:
        """Hand records that no server event caused (a resync) to the record listeners."""
        if not records:
            return
        cause = ServerEvent("realtime_nb.resync", "realtime_nb.resync", {})
        for fn in list(self._record_listeners):
            _safe(fn, records, cause)

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

    def call_later(self, seconds: float, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on the session thread after ``seconds`` (listeners batch their work this
        way: no extra thread competing for the GIL with the receive loop). An offline session
        has no running loop; a timer thread runs it then."""
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
        self._loop.run_forever()

    async def _connect(self) -> ClientConnection:
        return await websockets.connect(
            self.endpoint.url,
            additional_headers=dict(self.endpoint.headers),
            open_timeout=self.open_timeout,
            max_size=MAX_FRAME,
            proxy=None,
        )

    async def _main(self) -> None:
        """Connect, receive until the connection ends, and reconnect with backoff unless the
        client closed, the failure is fatal, or the attempts ran out."""
        attempt = 0
        reason = ""
        while True:
            try:
                ws = await self._connect()
            except Exception as exc:  # handshake failures of every kind end here
                reason = _describe_connect_error(exc, self.endpoint)
                fatal = _fatal_handshake(exc)
                if not self._ready.done() or fatal or not self._retry_allowed(attempt):
                    self._give_up(reason if not self._ready.done() or fatal
                                  else f"gave up after {attempt} reconnect attempts: {reason}")
                    return
                attempt += 1
                await asyncio.sleep(self._backoff(attempt))
                continue
            if self._ready.done():
                self._resync()
            self._greeted = False
            reason, clean = await self._run_connection(ws)
            if self._greeted:
                attempt = 0
            if self.status == "closing":
                self._set_status("closed", reason)
                break
            if not self._ready.done():
                self._give_up(f"connection closed before session.created: {reason}")
                return
            if self._fatal is not None:
                self._give_up(f"{self._fatal}; not reconnecting")
                return
            if not self._retry_allowed(attempt):
                self._set_status("closed" if clean else "error", reason)
                break
            attempt += 1
            self._set_status("reconnecting", f"{reason}; reconnecting (attempt {attempt})")
            await asyncio.sleep(self._backoff(attempt))
        self._fail_all(ConnectionClosedError(f"connection closed: {reason}"))

    def _retry_allowed(self, attempt: int) -> bool:
        return self.reconnect and attempt < self.max_attempts

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, capped."""
        base, cap = self.backoff
        return random.uniform(0.5, 1.0) * min(cap, base * 2 ** (attempt - 1))

    def _give_up(self, reason: str) -> None:
        self._set_status("error", reason)
        err = ConnectionClosedError(reason)
        if not self._ready.done():
            self._ready.set_exception(err)
        self._fail_all(err)

    async def _run_connection(self, ws: ClientConnection) -> tuple[str, bool]:
        """Receive on one connection until it ends; return (reason, closed cleanly)."""
        self._ws = ws
        sender = asyncio.create_task(self._send_loop(ws))
        try:
            async for frame in ws:
                self._on_frame(frame)
        except websockets.ConnectionClosed:
            pass
        except Exception as exc:  # a bug in a listener must not kill the thread silently
            logger.exception("realtime_nb receive loop failed")
            with contextlib.suppress(Exception):
                await ws.close()
            return f"receive loop failed: {exc!r}", False
        finally:
            sender.cancel()
            self._ws = None
        return _close_text(ws), _clean_close(ws)

    def _resync(self) -> None:
        """After a reconnect: rebuild the conversation in the new server session (see
        :mod:`realtime_nb.resync`), then re-send what was in flight, then the queue."""
        with self.lock:
            in_flight = self._waiters.in_flight()
            pending_ids = {w.key for w in in_flight if w.kind == "item_done"}
            self._notify(self.model.discard_unfinished_responses())
            keep = [item for item in self.model if item.id not in pending_ids]
            events = replay_events(keep, self._session_config)
            stale = self._replay_ids
            self._replay_ids = {str(e["event_id"]) for e in events}
            for w in in_flight:
                w.sent = False
                w.response_id = None
                events.append(w.event)  # type: ignore[arg-type]
            with self._queue_lock:
                # a replay that a second drop interrupted is superseded by this one
                self._queue = collections.deque(
                    q for q in self._queue if q[0].get("event_id") not in stale)
                head = [(e, concurrent.futures.Future[None]()) for e in events]
                self._queue.extendleft(reversed(head))
            self._wake.set()
            self._log_local("resync", f"replaying {len(keep)} items and {len(in_flight)} "
                            "requests in the new server session")

    async def _send_loop(self, ws: ClientConnection) -> None:
        """Send queued events in order; an event leaves the queue only once it is on the wire,
        so a drop keeps it for the next connection."""
        while True:
            await self._wake.wait()
            while True:
                with self._queue_lock:
                    if not self._queue:
                        self._wake.clear()
                        break
                    event, done = self._queue[0]
                try:
                    text = json.dumps(to_dialect(event, self.endpoint.dialect))
                except Exception as exc:
                    with self._queue_lock:
                        self._queue.popleft()
                    done.set_exception(exc)
                    self._fail_event(str(event.get("event_id")), exc)
                    continue
                await ws.send(text)  # ConnectionClosed ends the loop; the event stays queued
                with self._queue_lock:
                    self._queue.popleft()
                with self.lock:
                    self._track_sent(event)
                    self._emit_log(self.log.append("out", event))
                if not done.done():
                    done.set_result(None)

    def _track_sent(self, event: dict[str, Any]) -> None:
        self._waiters.mark_sent(str(event.get("event_id")))
        if event.get("type") == "session.update" and isinstance(event.get("session"), dict):
            self._session_config.update(event["session"])

    def _log_local(self, what: str, reason: str | None) -> None:
        with self.lock:
            self._emit_log(self.log.append(
                "local", {"type": f"realtime_nb.{what}", "status": self.status,
                          "reason": reason}))

    def close(self, timeout: float = 5.0) -> None:
        """Close the connection and stop the thread. Idempotent."""
        if self.status in ("closed",) and not self._thread.is_alive():
            return
        if self.status not in ("closed", "error"):
            self._set_status("closing", None)
        ws = self._ws
        if ws is not None and self.in_session_thread:
            # from a callback: close without waiting on this very thread (its idle loop stays)
            self._loop.create_task(ws.close())
            return
        if ws is not None and self._loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(ws.close(), self._loop)
            with contextlib.suppress(Exception):
                fut.result(timeout)
        if self.status == "closing":
            self._set_status("closed", "closed by the client")
        self._fail_all(ConnectionClosedError("the session was closed"))
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def in_session_thread(self) -> bool:
        return threading.current_thread() is self._thread

    # ------------------------------------------------------------------ listeners
    def add_record_listener(self, fn: RecordListener) -> None:
        self._record_listeners.append(fn)

    def add_log_listener(self, fn: LogListener) -> None:
        self._log_listeners.append(fn)

    def add_status_listener(self, fn: StatusListener) -> None:
        self._status_listeners.append(fn)

    def on(self, event_type: str, fn: Callback) -> None:
        self._callbacks.setdefault(event_type, []).append(fn)

    def off(self, event_type: str, fn: Callback | None = None) -> None:
        if fn is None:
            self._callbacks.pop(event_type, None)
        else:
            with contextlib.suppress(ValueError):
                self._callbacks.get(event_type, []).remove(fn)

    def _set_status(self, status: str, reason: str | None) -> None:
        changed = status != self.status
        self.status = status
        if reason is not None:
            self.close_reason = reason
        if changed and self._ready.done() and status != "closing":
            self._log_local("status", reason)
        for fn in list(self._status_listeners):
            _safe(fn, status)

    def _emit_log(self, seq: int) -> None:
        if self._log_listeners:
            for fn in tuple(self._log_listeners):
                _safe(fn, seq)

    # ------------------------------------------------------------------ receiving
    def _on_frame(self, frame: str | bytes) -> None:
        if len(frame) > MAX_EVENT_BYTES:
            head = frame[:200]
            self._log_invalid(head, f"frame of {len(frame):,} bytes is over the "
                              f"{MAX_EVENT_BYTES:,}-byte limit for one event; skipped")
            return
        try:
            event = parse_server_event(frame)
        except ProtocolError as exc:
            self._log_invalid(frame, str(exc))
            return
        self._on_event(event, frame)

    def _on_event(self, event: ServerEvent, raw: str | bytes | None = None) -> None:
        """Apply one server event; ``raw`` is the frame it was read from (the log keeps it)."""
        with self.lock:
            seq = self.log.append("in", event.data, event.received_at, raw=raw)
            records = self.model.apply(event)
            for rec in records:
                if isinstance(rec, Skipped):
                    notes = [r.reason for r in records if isinstance(r, Skipped)]
                    self.skipped += len(notes)
                    note = "; ".join(notes)
                    self.log.set_note(seq, note)
                    logger.warning("skipped %s: %s", event.type, note)
                    break
            if self._log_listeners:
                self._emit_log(seq)
            for fn in tuple(self._record_listeners):
                try:
                    fn(records, event)
                except Exception:
                    logger.exception("realtime_nb listener %r failed", fn)
            if event.type == "error" or self._waiters._all:  # (len() costs a Python call)
                self._resolve(event, records)
        if event.type == "session.created":
            self._greeted = True
            if not self._ready.done():
                self._set_status("open", None)
                self._ready.set_result(None)
            elif self.status == "reconnecting":
                self._set_status("open", "reconnected")
        if self._callbacks:
            for key in dict.fromkeys((event.type, event.raw_type, "*")):
                for fn in list(self._callbacks.get(key, ())):
                    _safe(fn, event)

    def _log_invalid(self, frame: str | bytes, reason: str, ts: float | None = None) -> None:
        text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
        with self.lock:
            self.skipped += 1
            self._emit_log(self.log.append("in", {"type": "invalid", "raw": text[:2000]}, ts,
                                           note=reason))
        logger.warning("skipped a server frame: %s", reason)

    def _resolve(self, event: ServerEvent, records: list[Record]) -> None:
        if event.type == "error":
            err = RealtimeServerError.from_event(event.data)
            self.errors.append(err)
            if (err.code or "") in FATAL_ERROR_CODES or (err.type or "") in FATAL_ERROR_CODES:
                self._fatal = f"fatal server error: {err.message}"
            if not (err.event_id and self._waiters.fail_event(err.event_id, err)):
                logger.warning("server error: %s", err)
            return
        self._waiters.resolve(event, records, self.model, self.endpoint.dialect == "beta")

    def _fail_event(self, event_id: str, exc: BaseException) -> None:
        with self.lock:
            self._waiters.fail_event(event_id, exc)

    def _fail_all(self, exc: BaseException) -> None:
        with self.lock:
            self._waiters.fail_all(exc)

    # ------------------------------------------------------------------ sending
    def submit(
        self, event: dict[str, Any], kind: str | None = None, key: str | None = None
    ) -> concurrent.futures.Future[Any]:
        """Queue a validated client event; return a future for its reply.

        With ``kind`` the future resolves when the matching server event arrives (or an
        ``error`` naming this event's ``event_id``); without, when the frame has been sent.
        """
        if self.status not in ("open", "connecting", "reconnecting"):
            why = f": {self.close_reason}" if self.close_reason else ""
            raise ConnectionClosedError(f"the session is {self.status}{why}")
        to_dialect(event, self.endpoint.dialect)  # refuse what this server cannot carry, now
        sent: concurrent.futures.Future[None] = concurrent.futures.Future()
        waiter = None
        if kind is not None:
            with self.lock:
                waiter = self._waiters.add(kind, key, event)
        with self._queue_lock:
            self._queue.append((event, sent))
        self._loop.call_soon_threadsafe(self._wake.set)
        return waiter.future if waiter is not None else sent

    def forget(self, future: concurrent.futures.Future[Any]) -> None:
        """Drop the waiter of a future whose caller gave up (timeout, cancellation)."""
        with self.lock:
            self._waiters.forget(future)


def _safe(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        logger.exception("realtime_nb listener %r failed", fn)


FATAL_ERROR_CODES = frozenset({
    "invalid_api_key", "insufficient_quota", "authentication_error", "permission_denied",
    "unauthorized", "forbidden", "model_not_found", "account_deactivated",
})


def _fatal_handshake(exc: BaseException) -> bool:
    """Handshake answers that retrying cannot fix (bad key, no access, wrong URL)."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status in (400, 401, 403, 404)


def _clean_close(ws: ClientConnection) -> bool:
    rcvd = ws.protocol.close_rcvd
    return rcvd is not None and rcvd.code in (1000, 1001)


def _close_text(ws: ClientConnection) -> str:
    rcvd = ws.protocol.close_rcvd
    if rcvd is None:
        return "connection lost without a close frame"
    return f"code {rcvd.code}" + (f" ({rcvd.reason})" if rcvd.reason else "")


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


__all__ = ["Response", "Session"]
