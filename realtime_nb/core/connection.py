"""The client's state machine: frames in, records and events to send out. No I/O.

:class:`Connection` is everything a live conversation knows and decides, without a socket:
the model (:mod:`.conversation`), the event log, the calls waiting for answers
(:mod:`.waiters`), the outbox of client events, the status and the reconnect policy. The
session (:mod:`realtime_nb.session`) owns the socket and drives it:

* :meth:`Connection.submit` queues a client event and returns its :class:`~.waiters.Call`;
  the session sends :meth:`next_to_send` and reports :meth:`sent`;
* :meth:`receive` takes each frame the server sent;
* :meth:`connection_opened` / :meth:`connection_lost` / :meth:`connect_failed` report the
  socket's life; they answer with a :class:`Step`: reconnect after attempt ``n``, or stop.
  When a later connection's ``session.created`` arrives, the outbox is rebuilt
  (:meth:`_rebuild`): the configuration and the items replayed with their own ids, each
  unanswered call exactly once, responses settled (kept if every item reached done, else
  dropped whole and asked again).

Not thread-safe: the session serialises every call with its lock. Listeners and call
callbacks run synchronously inside these methods.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import ConnectionClosedError, ProtocolError, RealtimeServerError
from .conversation import Conversation
from .eventlog import CountingLog, EventLog, LogEntry
from .items import Item
from .lifecycle import LIVE, Lifecycle, Step
from .listeners import Listeners
from .outbox import Outbox
from .protocol import (
    ServerEvent,
    canonical_type,
    dialect,
    parse_server_event,
    response_cancel,
    to_dialect,
)
from .records import Record, Skipped
from .resync import redo_resync, replay_events, settle_responses
from .waiters import Call, Calls, Response, tag_response

logger = logging.getLogger("realtime_nb")

RecordListener = Callable[[list[Record], ServerEvent], None]
LogListener = Callable[[int], None]  # called with the new entry's seq
StatusListener = Callable[[str], None]
Callback = Callable[[ServerEvent], Any]

#: Frames above this are logged with their size, counted and skipped; the session goes on.
MAX_EVENT_BYTES = 16 * 1024 * 1024
#: Error codes after which retrying cannot help.
FATAL_ERROR_CODES = frozenset({
    "invalid_api_key", "insufficient_quota", "authentication_error", "permission_denied",
    "unauthorized", "forbidden", "model_not_found", "account_deactivated",
})


class Connection:
    """One conversation's client state across any number of sockets (see the module doc).

    ``reconnect``, ``max_attempts``, ``stable_after``: the reconnect policy
    (:mod:`.lifecycle`). A call sent on more than ``max_attempts`` connections that the server
    closed before answering it fails with the last close reason (a request the server keeps
    closing on cannot hold the conversation hostage; network drops do not count).
    """

    def __init__(self, dialect_name: str = "ga", *, reconnect: bool = True,
                 max_attempts: int = 8, stable_after: float = 10.0) -> None:
        self.dialect = dialect(dialect_name)
        self.max_attempts = max_attempts
        self.life = Lifecycle(self._status_changed, reconnect=reconnect,
                              max_attempts=max_attempts, stable_after=stable_after)
        self.model = Conversation()
        self.log = EventLog()
        self.calls = Calls()
        self.errors: list[RealtimeServerError] = []
        self.skipped = 0
        #: What the client sent with ``session.update``, merged: replayed after a reconnect.
        self.session_config: dict[str, Any] = {}
        #: Set when something new waits in the outbox (the session wakes its sender).
        self.send_ready = False
        self.record_listeners: Listeners[RecordListener] = Listeners()  # (records, event)
        self.log_listeners: Listeners[LogListener] = Listeners()  # (seq), by entry type
        self.status_listeners: list[StatusListener] = []
        self.callbacks: dict[str, list[Callback]] = {}
        self._outbox = Outbox()
        #: False for a conversation rebuilt from a saved log: it has no socket to greet it.
        self.live = True
        self._server_closed = False  # the last socket ended with the server's close frame
        self._replay_first = False  # seeded from history: the first greeting replays it
        #: The audio the client holds of a user item (base64 PCM16 at the input rate), so a
        #: reconnect replays it as audio; set by the audio part, None: replayed as text.
        self.audio_of: Callable[[str], str | None] | None = None

    @classmethod
    def offline(cls, dialect_name: str = "ga", reason: str = "not connected", *,
                keep_log: bool = True) -> Connection:
        """A core with no socket, closed from the start (``realtime_nb.load``, tests);
        ``keep_log=False``: its log only counts (a model rebuilt for its items alone)."""
        core = cls(dialect_name, reconnect=False)
        if not keep_log:
            core.log = CountingLog()
        core.live, core.life.status, core.life.reason = False, "closed", reason
        return core

    @property
    def status(self) -> str:
        """See :mod:`.lifecycle`."""
        return self.life.status

    @property
    def reason(self) -> str | None:
        """Why the status is what it is (a close reason, a fatal error), in words."""
        return self.life.reason

    # ------------------------------------------------------------------ sending
    def submit(self, event: dict[str, Any], kind: str | None = None,
               key: str | None = None) -> Call:
        """Queue a validated client event; the returned call finishes with the server's
        answer (``kind``, see :data:`~.waiters.ANSWERS`) or, without ``kind``, once sent."""
        if self.status not in LIVE:
            raise ConnectionClosedError(self.life.closed_text())
        to_dialect(event, self.dialect.name)  # refuse what this server cannot carry, now
        if kind == "response" and self.dialect.response_metadata:
            event = tag_response(event)
        call = self._outbox.add(event, kind, key)
        if event.get("type") == "response.cancel" and isinstance(event.get("response_id"), str):
            self._outbox.cancelling[event["response_id"]] = event["event_id"]  # see .outbox
        if kind is not None:
            self.calls.add(call)
        self.send_ready = True
        return call

    def next_to_send(self) -> Call | None:
        """The event to send now (``None``: nothing, or the socket is not greeted yet)."""
        return self._outbox.head() if self.life.greeted else None

    def encode(self, call: Call) -> str:
        """The frame text of a call, in this dialect."""
        return json.dumps(to_dialect(call.event, self.dialect.name))

    def sent(self, call: Call, ts: float | None = None) -> None:
        """The call's frame is on the wire."""
        self._outbox.take(call)
        call.sent = True
        event = call.event
        if event.get("type") == "session.update" and isinstance(event.get("session"), dict):
            self.session_config.update(event["session"])
        self._emit_log(self.log.append("out", event, ts), str(event.get("type")))
        if call.kind is None:
            call.finish(None)

    def refuse(self, call: Call, exc: BaseException) -> None:
        """The call cannot be sent (it could not be encoded): it fails, the rest goes on."""
        self._outbox.take(call)
        self.calls.finish(call, error=exc) if call.kind else call.finish(error=exc)

    def forget(self, call: Call, *, cancel: bool = False) -> None:
        """The caller stopped waiting. ``cancel`` (an interrupted ``respond()``): its response
        is cancelled too, now or as soon as it starts, so it does not block the next one."""
        self.calls.forget(call)
        if not cancel or call.kind != "response" or call.done:
            return
        if not call.sent:
            self._outbox.take(call)
            self.calls.abandoned.pop(call.event_id, None)
        elif call.response_id is not None:
            self._outbox.cancel(call.response_id, response_cancel(call.response_id))
            self.send_ready = True
        else:
            call.cancel_on_create = True
            self._outbox.cancel_on_create.add(call.event_id)

    # ------------------------------------------------------------------ receiving
    def receive(self, frame: str | bytes, ts: float | None = None) -> ServerEvent | None:
        """Take one frame from the server; returns its event (``None``: logged as invalid)."""
        if len(frame) > MAX_EVENT_BYTES:
            self.invalid(frame[:200], f"frame of {len(frame):,} bytes is over the "
                         f"{MAX_EVENT_BYTES:,}-byte limit for one event; skipped", ts)
            return None
        try:
            event = parse_server_event(frame)
        except ProtocolError as exc:
            self.invalid(frame, str(exc), ts)
            return None
        if ts is not None:
            event.received_at = ts
        self.apply(event, frame)
        return event

    def invalid(self, frame: str | bytes, reason: str, ts: float | None = None) -> None:
        """Log and count a frame that could not be read."""
        text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
        self.skipped += 1
        self._emit_log(self.log.append("in", {"type": "invalid", "raw": text[:2000]}, ts,
                                       note=reason), "invalid")
        logger.info("skipped a server frame: %s", reason)  # in the log and conv.skipped

    def apply(self, event: ServerEvent, raw: str | bytes | None = None) -> list[Record]:
        """Apply one server event: log, model, listeners, waiting calls."""
        seq = self.log.append("in", event.data, event.received_at, raw=raw)
        records = self.model.apply(event)
        for rec in records:
            if isinstance(rec, Skipped):
                notes = [r.reason for r in records if isinstance(r, Skipped)]
                self.skipped += len(notes)
                self.log.set_note(seq, "; ".join(notes))
                logger.info("skipped %s: %s", event.type, "; ".join(notes))
                break
        etype = event.type
        self.log_listeners.call(etype, seq)
        self.record_listeners.call(etype, records, event)
        if (etype == "response.done" or etype == "error") and self._outbox.holding:
            err = event.data.get("error")
            if self._outbox.ended(event.response_id,
                                  err.get("event_id") if isinstance(err, dict) else None):
                self.send_ready = True  # a response held behind a cancelled one may go
        if etype == "error":
            self._on_error(event)
        elif self.calls.waiting or self.calls.abandoned:
            if etype == "response.created":
                self._on_response_created(event)
            self.calls.resolve(event, records, self.model, not self.dialect.item_done)
        if etype == "session.created":
            if self.live:
                self._on_greeting()
        elif etype != "error" and not self.life.healthy and self.life.greeted:
            self.life.healthy = True  # the server does more than greet: the socket works
        return records

    def _on_error(self, event: ServerEvent) -> None:
        err = RealtimeServerError.from_event(event.data)
        self.errors.append(err)
        if (err.code or "") in FATAL_ERROR_CODES or (err.type or "") in FATAL_ERROR_CODES:
            self.life.fatal = f"fatal server error: {err.message}"
        if not self.calls.fail_event(err):
            # not a warning: it is in conv.errors and on("error"), and a warning printed from
            # the session thread lands in whichever cell created the conversation
            logger.info("server error: %s", err)

    def _on_response_created(self, event: ServerEvent) -> None:
        call = self.calls.match_created(event)
        if call is not None and call.cancel_on_create and event.response_id:
            call.cancel_on_create = False
            self._outbox.cancel(event.response_id, response_cancel(event.response_id),
                                call.event_id)
            self.send_ready = True

    def callbacks_for(self, event: ServerEvent) -> list[Callback]:
        """The ``on(...)`` callbacks of this event (GA name, raw name, then ``"*"``)."""
        cbs, etype, raw = self.callbacks, event.type, event.raw_type
        if etype not in cbs and raw not in cbs and "*" not in cbs:
            return []  # most events of a session with a few callbacks: nothing to build
        out: list[Callback] = []
        for key in dict.fromkeys((etype, raw, "*")):
            out += cbs.get(key, ())
        return out

    # ------------------------------------------------------------------ socket life
    def connection_opened(self, now: float) -> None:
        """A socket is open (its ``session.created`` has not come yet)."""
        self.life.opened(now)

    def _on_greeting(self) -> None:
        first_of_many = self.life.greeting()
        if first_of_many or self._replay_first:
            self._replay_first = False
            self._rebuild(self.life.last_loss or "the connection dropped")
            self.life.set("open", "reconnected")
        self.send_ready = bool(self._outbox)

    def connect_failed(self, reason: str, *, fatal: bool = False) -> Step:
        """The handshake of a new socket failed (``fatal``: retrying cannot fix it)."""
        return self._after(self.life.failed(reason, fatal=fatal))

    def connection_lost(self, reason: str, now: float, *, server_closed: bool = False) -> Step:
        """The socket ended. ``reason`` says how (close code and reason); ``server_closed``:
        the server ended it with a close frame (not a network drop)."""
        self._server_closed = server_closed
        return self._after(self.life.lost(reason, now))

    def _after(self, step: Step) -> Step:
        if step.gave_up is not None:
            self.calls.fail_all(ConnectionClosedError(step.gave_up))
        elif not step.retry:
            self.closed()
        return step

    def close(self) -> None:
        """The client closes: a live socket reports its end with :meth:`connection_lost`."""
        if self.status in LIVE:
            self.life.set("closing", None)

    def closed(self) -> None:
        """No socket is left (closed by the client, or the loop stopped)."""
        if self.status == "closing":
            self.life.set("closed", "closed by the client")
        self.calls.fail_all(ConnectionClosedError(self.life.closed_text()))

    def waiting_text(self) -> str:
        """Why a call is still waiting, for a timeout message."""
        return self.life.waiting_text()

    def _status_changed(self, status: str, reason: str | None, logged: bool) -> None:
        if logged:
            self.log_local({"type": "realtime_nb.status", "status": status, "reason": reason})
        for fn in self.status_listeners:
            _safe(fn, status)

    def log_local(self, payload: dict[str, Any], ts: float | None = None) -> None:
        """Log the client's own record of something (``direction == "local"``; ``payload``
        needs a ``type``, e.g. ``realtime_nb.tool``)."""
        self._emit_log(self.log.append("local", payload, ts, type=payload["type"]),
                       payload["type"])

    def _emit_log(self, seq: int, entry_type: str) -> None:
        self.log_listeners.call(entry_type, seq)

    # ------------------------------------------------------------------ reconnect
    def _rebuild(self, why: str) -> None:
        """A new server session greeted us after a lost one: settle the responses that were
        running, then replay the configuration and the items, then every unanswered call
        exactly once, in the order they were submitted."""
        now = time.time()
        records, kept = settle_responses(self.model, now, why)
        self._notify(records)
        for rec in records:
            if rec.kind == "response_done":
                for call in [c for c in self.calls.responses() if c.response_id == rec.response_id]:
                    self.calls.finish(call, Response(rec.response_id, rec.status,
                                                     _items(self.model, rec.item_ids), None,
                                                     rec.details))
        user = self._outbox.unanswered(c for c in self.calls.waiting.values() if c.sent)
        for call in [c for c in user if c.sent and self._server_closed]:
            call.attempts += 1
            if call.attempts > self.max_attempts:
                user.remove(call)
                self.calls.finish(call, error=ConnectionClosedError(
                    f"the connection ended each of the {call.attempts} times this "
                    f"{call.event.get('type')} was sent, last: {why}"))
        for call in user:
            call.sent = False
            if call.kind == "response":
                call.response_id = None
        pending_items = {c.key for c in user if c.kind == "item_done"}
        items = [i for i in self.model if i.id not in pending_items]
        self._outbox.rebuild(replay_events(items, self.session_config, self.audio_of), user)
        dropped_ids = [r.item.id for r in records if r.kind == "removed"]
        self.log_local({"type": "realtime_nb.resync", "status": self.status,
                         "reason": f"replaying {len(items)} items and {len(user)} requests in "
                                   "the new server session", "dropped": dropped_ids,
                         "settled": kept}, now)

    def _notify(self, records: list[Record]) -> None:
        """Hand records no server event caused (a resync) to the record listeners."""
        if records:
            cause = ServerEvent("realtime_nb.resync", "realtime_nb.resync", {})
            self.record_listeners.call(cause.type, records, cause)

    # ------------------------------------------------------------------ saved sessions
    def load_entry(self, entry: LogEntry) -> None:
        """Apply one entry of a saved log as it happened (``realtime_nb.load``): client events
        are logged, server events applied, a resync drops and settles what it did live."""
        payload = dict(entry["payload"])
        direction, ts = entry["direction"], entry["ts"]
        if direction == "out":
            if payload.get("type") == "session.update" and isinstance(payload.get("session"),
                                                                       dict):
                self.session_config.update(payload["session"])
            self._emit_log(self.log.append("out", payload, ts), str(payload.get("type")))
        elif direction == "local":
            if entry["type"] == "realtime_nb.resync":
                self._redo_resync(payload, ts)
            self._emit_log(self.log.append("local", payload, ts, type=entry["type"],
                                           note=entry["note"]), entry["type"])
        elif entry["type"] == "invalid":
            self.invalid(str(payload.get("raw", "")), entry["note"] or "invalid frame", ts)
        else:
            raw_type = str(payload.get("type"))
            self.apply(ServerEvent(canonical_type(raw_type), raw_type, payload, ts))

    def seed(self, entries: Iterable[LogEntry] = (), items: Iterable[Item] = (),
             config: dict[str, Any] | None = None) -> None:
        """Start this core from history (a log's ``entries``, or ``items`` and ``config``); its
        first ``session.created`` replays it into the new server session like a reconnect."""
        live, self.live = self.live, False  # logged greetings are history, not this socket's
        try:
            for entry in entries:
                self.load_entry(entry)
            self._notify([self.model.adopt(item.copy(), time.time()) for item in items])
            self.session_config.update(config or {})
        finally:
            self.live = live
        self._replay_first = True

    def _redo_resync(self, payload: dict[str, Any], ts: float) -> None:
        self._notify(redo_resync(self.model, payload, ts))


def _items(model: Conversation, ids: Iterable[str]) -> list[Any]:
    return [item.copy() for i in ids if (item := model.get(i)) is not None]


def _safe(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        logger.exception("realtime_nb listener %r failed", fn)
