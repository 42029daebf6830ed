"""The anywidget view of a conversation: thin Python, front end in ``js/`` (see js/PROTOCOL.md).

Kernel -> browser: the session thread notes the model's change records; every
``batch_interval`` seconds the pending changes go out as one ``batch`` custom message, merged
per item (:mod:`.changebatch`), so the bytes follow the changed items, never the whole
conversation. Event-log entries are sent only while a view has its log panel open.
Browser -> kernel: actions (edit, delete, insert, send, respond, cancel) arrive on the kernel's
main thread when it is idle and become the same client calls a cell makes (:mod:`.actions`),
never waiting, so no cell can block on the front end.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..core.items import Item
from ..core.records import Change, Record
from ..errors import InvalidItemError, RealtimeError, RealtimeServerError
from .actions import Actions
from .changebatch import ChangeBatch

if TYPE_CHECKING:
    from ..core.eventlog import LogEntry
    from ..core.protocol import ServerEvent

STATIC = Path(__file__).parent.parent / "static"
LOG_TAIL = 500


def item_view(item: Item, core: Any) -> dict[str, Any]:
    """The JSON an item is shown from (``ItemView`` in js/PROTOCOL.md)."""
    view = {k: v for k, v in item.to_wire().items() if v is not None}  # absent = null
    view["previous_item_id"] = item.previous_item_id  # null here means "first": always sent
    if item.flagged:
        view["flagged"] = True
    view["done"] = core.model.is_done(item.id)
    rid = core.model.response_of(item.id)
    if rid is not None:
        view["response_id"] = rid
    return view


def error_view(err: BaseException, *, item_id: str | None = None,
               request_id: str | None = None, ts: float = 0.0) -> dict[str, Any]:
    """An error as the browser shows it (``ErrorView`` in js/PROTOCOL.md)."""
    server = err if isinstance(err, RealtimeServerError) else None
    return {"message": server.message if server else _message(err),
            "code": server.code if server else None,
            "type": server.type if server else type(err).__name__,
            "param": server.param if server else None,
            "event_id": server.event_id if server else None,
            "item_id": item_id, "request_id": request_id, "ts": ts}


class ConversationWidget(anywidget.AnyWidget):
    """Live, editable list of a conversation's items. Display it (or the conversation)."""

    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"

    status = traitlets.Unicode("connecting").tag(sync=True)
    endpoint = traitlets.Unicode("").tag(sync=True)
    dialect = traitlets.Unicode("ga").tag(sync=True)
    #: ``seq`` of the last change message sent; updated at most every ``heartbeat`` seconds
    #: (views compare it with what they received, to notice messages they missed).
    change_seq = traitlets.Int(0).tag(sync=True)
    #: The state when the widget was created: views start from it without asking the kernel
    #: (which answers only when idle). Never updated; later changes are custom messages.
    snapshot = traitlets.Dict().tag(sync=True)
    #: Identifies this widget's journal in the front end (one per model, shared by its views).
    journal_key = traitlets.Unicode("").tag(sync=True)

    def __init__(self, conv: Any, *, batch_interval: float = 0.02, heartbeat: float = 1.0,
                 **kwargs: Any) -> None:
        """``conv``: the :class:`~realtime_nb.client.RealtimeConversation` to show."""
        self._conv = conv
        self._core, self._lock = conv._core, conv._lock
        self._batch_interval = batch_interval
        self._heartbeat = heartbeat
        # Under the conversation lock: the changes since the last flush, and the seq counter
        # (+1 per change message, js/PROTOCOL.md).
        self._batch = ChangeBatch()
        self._seq = 0
        self._pending_log: list[int] = []  # seqs of log entries to send
        self._log_watchers: set[str] = set()  # views whose event-log panel is open
        self._flush_lock = threading.Lock()
        self._flush_scheduled = False
        self._heartbeat_scheduled = False
        self._events_sent = 0  # the event count the browser last got
        self._actions = Actions(conv, self._report)
        self._ids = itertools.count()
        #: Set ``count_bytes = True`` to count the JSON bytes of every message sent (for the
        #: benchmarks; it costs a second serialisation per message).
        self.count_bytes = False
        self.bytes_sent = 0
        # The seed snapshot goes out in the comm's opening state, and no change can slip in
        # between it and the listeners: both happen under the lock.
        with self._lock:
            super().__init__(journal_key=uuid.uuid4().hex, snapshot=self.build_snapshot(),
                             endpoint=conv.endpoint.name, dialect=conv.endpoint.dialect,
                             status=self._core.status, **kwargs)
            self._core.record_listeners.append(self._on_records)
            self._core.log_listeners.append(self._on_log)
            self._core.status_listeners.append(self._on_status)
        self.on_msg(self._on_front_message)

    def __repr__(self) -> str:
        return (f"<ConversationWidget {self.endpoint} status={self.status} "
                f"items={len(self._core.model)} events={len(self._core.log)}>")

    # ------------------------------------------------------------------ kernel -> browser
    def _push(self, content: dict[str, Any]) -> None:
        if self.comm is None:
            return
        if self.count_bytes:
            self.bytes_sent += len(json.dumps(content, default=str))
        self.send(content)

    def _on_records(self, records: list[Record], event: ServerEvent) -> None:
        """Session thread, under the lock: note the changes; the flush sends them."""
        batch = self._batch
        for rec in records:
            if isinstance(rec, Change):
                batch.add(rec)
        if event.type == "error":
            err = RealtimeServerError.from_event(event.data)
            request_id, item_id = self._actions.requests.get(err.event_id or "", (None, None))
            if item_id is None and err.event_id:
                item_id = self._item_of_client_event(err.event_id)
            batch.error(error_view(err, item_id=item_id, request_id=request_id,
                                   ts=event.received_at))
        if batch and not self._flush_scheduled:
            self._schedule_flush()

    def _item_of_client_event(self, event_id: str) -> str | None:
        entry = self._core.log.find_out(event_id)
        if entry is None:
            return None
        payload = entry["payload"]
        if payload.get("type") == "conversation.item.create":
            anchor = payload.get("previous_item_id")
            return anchor if anchor != "root" else None
        return entry["item_id"]

    def _on_log(self, seq: int) -> None:
        if not self._log_watchers:
            # no panel open: the browser gets the tail when one opens, and the event count
            # with the next batch or heartbeat (events that change no item send no batch)
            if not self._heartbeat_scheduled:
                self._schedule_heartbeat()
            return
        with self._flush_lock:
            self._pending_log.append(seq)
        self._schedule_flush()

    def _on_status(self, status: str) -> None:
        self.status = status
        if status in ("closed", "error"):
            # the session loop that would run a scheduled flush is about to stop: send now
            if self._flush_scheduled:
                self._flush()
            with self._lock:
                self.change_seq = self._seq

    def _schedule_flush(self) -> None:
        with self._flush_lock:
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        self._conv._call_later(self._batch_interval, self._flush)

    def _flush(self) -> None:
        """Send everything pending as one ``batch`` message (js/PROTOCOL.md)."""
        with self._flush_lock:
            seqs, self._pending_log = self._pending_log, []
            self._flush_scheduled = False
        with self._lock:
            batch = self._drain()
            if seqs:
                log = self._core.log
                entries = [log[seq] for seq in seqs[-LOG_TAIL:]]
                batch.append({"kind": "log", "entries": collapse_deltas(entries)})
            events = len(self._core.log)
            if len(batch) == 1:
                self._push({**batch[0], "events": events})  # a batch of one: the message
            elif batch:
                self._push({"kind": "batch", "events": events, "messages": batch})
            if batch:
                self._events_sent = events
        self._schedule_heartbeat()

    def _drain(self) -> list[dict[str, Any]]:
        """The pending changes as messages, numbered (caller holds the lock)."""
        model = self._core.model

        def view_of(item_id: str) -> dict[str, Any] | None:
            item = model.get(item_id)
            return None if item is None else item_view(item, self._core)

        messages, self._seq = self._batch.drain(view_of, self._seq)
        return messages

    def _schedule_heartbeat(self) -> None:
        """A little later, bring ``change_seq`` up to date (one trait message, whatever number
        of batches went out meanwhile) and the browser's event count (an empty batch, when
        only events that change no item came in)."""
        with self._flush_lock:
            if self._heartbeat_scheduled or (self.change_seq == self._seq
                                             and self._events_sent == len(self._core.log)):
                return
            self._heartbeat_scheduled = True

        def beat() -> None:
            with self._flush_lock:
                self._heartbeat_scheduled = False
            with self._lock:
                self.change_seq = self._seq
                events = len(self._core.log)
                if events != self._events_sent and not self._flush_scheduled:
                    self._push({"kind": "batch", "events": events, "messages": []})
                    self._events_sent = events

        self._conv._call_later(self._heartbeat, beat)

    def build_snapshot(self, log_tail: int = LOG_TAIL) -> dict[str, Any]:
        """The whole state as one ``snapshot`` message (js/PROTOCOL.md)."""
        core = self._core
        with self._lock:
            pending = self._drain()  # sent first: the snapshot's seq must cover them
            if pending and self.comm is not None:
                self._push({"kind": "batch", "events": len(core.log), "messages": pending})
            items = [item_view(item, core) for item in core.model]
            log = collapse_deltas(core.log.entries(-log_tail)) if log_tail else []
            events = len(core.log)
            errors = [error_view(e) for e in core.errors[-50:]]
        return {"kind": "snapshot", "items": items, "errors": errors, "log": log,
                "seq": self._seq, "events": events}

    # ------------------------------------------------------------------ browser -> kernel
    def _on_front_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind == "snapshot_request":
            if content.get("request_id") == "journal":
                # a page (re)loaded or repaired a gap: its panels start closed, and views that
                # still have one open say so again on this snapshot (js/PROTOCOL.md)
                self._log_watchers.clear()
            with self._lock:  # no change message can slip between build and send
                snap = self.build_snapshot()
                snap["request_id"] = content.get("request_id")
                self._push(snap)
            return
        if kind == "log_watch":
            self._log_watch(str(content.get("view") or ""), bool(content.get("open")))
            return
        request_id = str(content.get("request_id") or f"k{next(self._ids)}")
        try:
            self._actions.run(kind, content, request_id)
        except (RealtimeError, KeyError, TypeError) as exc:
            field = exc.field if isinstance(exc, InvalidItemError) else None
            self._push({"kind": "result", "request_id": request_id, "ok": False,
                        "error": _message(exc), "field": field})
        else:
            self._push({"kind": "result", "request_id": request_id, "ok": True,
                        "error": None, "field": None})

    def _report(self, exc: BaseException, request_id: str, item_id: str | None) -> None:
        self._push({"kind": "error", "error": error_view(exc, item_id=item_id,
                                                         request_id=request_id)})

    def _log_watch(self, view: str, open_: bool) -> None:
        """A view opened or closed its event-log panel. Log entries go to the browser only
        while some panel is open; the one that opens gets the recent tail first."""
        with self._lock:
            if not open_:
                self._log_watchers.discard(view)
                return
            self._log_watchers.add(view)
            tail = collapse_deltas(self._core.log.entries(-LOG_TAIL))
            self._push({"kind": "log", "entries": tail, "reset": True, "request_id": view})


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)


def collapse_deltas(entries: list[LogEntry]) -> list[dict[str, Any]]:
    """Log entries as the browser gets them: only the fields the panel uses (the ids it needs
    are in the payload), and runs of ``*.delta`` entries with one direction, type and item as
    their last entry with ``count`` and ``first_ts`` (js/PROTOCOL.md). What the panel shows is
    the same, for a fraction of the bytes; ``conv.log`` keeps every entry whole."""
    out: list[dict[str, Any]] = []
    for e in entries:
        slim: dict[str, Any] = {"seq": e["seq"], "ts": e["ts"], "direction": e["direction"],
                                "type": e["type"], "item_id": e["item_id"],
                                "payload": e["payload"]}
        if e["note"]:
            slim["note"] = e["note"]
        last = out[-1] if out else None
        if (last is not None and e["type"].endswith(".delta") and last["type"] == e["type"]
                and last["direction"] == e["direction"] and last["item_id"] == e["item_id"]):
            slim["count"] = last.get("count", 1) + 1
            slim["first_ts"] = last.get("first_ts", last["ts"])
            slim["first_seq"] = last.get("first_seq", last["seq"])
            out[-1] = slim
        else:
            out.append(slim)
    return out
