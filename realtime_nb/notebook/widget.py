"""The anywidget view of a conversation: thin Python, front end in ``js/`` (see js/PROTOCOL.md).

Kernel -> browser: the session thread notes the model's change records; every
``batch_interval`` seconds the pending changes go out as one ``batch`` custom message, merged
per item (:mod:`.changebatch`), so the bytes follow the changed items, never the whole
conversation. Event-log entries are sent only while a view has its log panel open; tool calls'
states go in the batches whether or not it is (:mod:`.toolstate`).
Browser -> kernel: actions (edit, delete, insert, send, respond, cancel, session, approve, deny)
arrive on the kernel's main thread when it is idle and become the same client calls a cell makes
(:mod:`.actions`), never waiting, so no cell can block on the front end. An action's errors go
to the widget, never to a cell's output (:class:`.messages.WidgetErrors` keeps the ``realtime_nb``
logger quiet about them). A displayed widget also leaves a static transcript in the notebook
(:mod:`.fallback`).
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

from ..core.records import Change, Record, ResponseChange
from ..errors import InvalidItemError, RealtimeError, RealtimeServerError
from .actions import Actions
from .changebatch import ChangeBatch
from .fallback import Fallback
from .messages import WidgetErrors, collapse_deltas, error_view, item_view, message_of
from .toolstate import TOOL_EVENT, ToolState
from .voice import Voice

if TYPE_CHECKING:
    from ..core.protocol import ServerEvent

STATIC = Path(__file__).parent.parent / "static"
LOG_TAIL = 500
TRANSCRIPT_TAIL = 60


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
    #: ``embedded`` / ``openai`` / ``yandex`` / ``custom`` / ``offline``, and the model name.
    provider = traitlets.Unicode("").tag(sync=True)
    model_label = traitlets.Unicode("").tag(sync=True)
    #: Why the status is what it is (a close reason), in words; empty when open.
    status_reason = traitlets.Unicode("").tag(sync=True)
    #: The id of the response running now (``response.created`` seen, no ``response.done``).
    responding = traitlets.Unicode("").tag(sync=True)
    #: The session configuration the server reported last (``session.created``/``updated``).
    session = traitlets.Dict().tag(sync=True)
    #: Seconds a browser action waits for the kernel's answer before it gives up.
    action_timeout = traitlets.Float(30.0).tag(sync=True)
    #: The session's audio for the browser's player and microphone: ``in_rate``, ``out_rate``,
    #: ``mode`` (``vad``: server turn detection, ``ptt``: push-to-talk) (:mod:`.voice`).
    voice = traitlets.Dict().tag(sync=True)
    #: Echo cancellation, noise suppression and gain control on the microphone (off: the
    #: samples exactly as captured).
    mic_processing = traitlets.Bool(True).tag(sync=True)

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
        self._running: dict[str, None] = {}  # response ids created and not done, in order
        self._actions = Actions(conv, self._report, self._running_response)
        self._voice = Voice(self, conv)  # audio both ways: .voice
        self._tools = ToolState(conv, self._schedule_flush)  # tool calls: .toolstate
        WidgetErrors.watch(self._actions)
        self._fallback = Fallback(self._transcript_rows, f"Realtime conversation "
                                  f"({conv.endpoint.name})", conv._call_later)
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
                             provider=conv.endpoint.provider,
                             # the embedded server's endpoint names no model: its session does
                             model_label="" if conv.endpoint.provider == "embedded"
                             else conv.endpoint.model or "",
                             session=dict(self._core.model.session),
                             status=self._core.status, status_reason=self._reason(),
                             **kwargs)
            self._core.record_listeners.add(self._on_records)
            self._voice.attach()
            self.voice = self._voice.trait()
            self._core.log_listeners.add(self._on_log)
            self._core.log_listeners.add(self._tools.on_log, types=(TOOL_EVENT,))
            self._core.status_listeners.append(self._on_status)
        self.on_msg(self._on_front_message)

    def __repr__(self) -> str:
        return (f"<ConversationWidget {self.endpoint} status={self.status} "
                f"items={len(self._core.model)} events={len(self._core.log)}>")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget, with a text that does not go stale in a saved notebook (the counts of
        ``repr`` would); the cell also gets a live-updated static transcript (:mod:`.fallback`)."""
        bundle = super()._repr_mimebundle_(**kwargs)  # anywidget: (data, metadata)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            data["text/plain"] = (f"Realtime conversation widget ({self.endpoint}); the "
                                  "transcript below is a static copy")
            self._fallback.after_display()
        return bundle

    def _transcript_rows(self) -> tuple[list[tuple[str, str]], int]:
        from ..core.items import item_text

        with self._lock:
            model = self._core.model
            total = len(model)
            items = list(model)[-TRANSCRIPT_TAIL:] if total else []
            return [(item.role or item.type, item_text(item)) for item in items], total

    # ------------------------------------------------------------------ kernel -> browser
    def _push(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        if self.comm is None:
            return
        if self.count_bytes:
            self.bytes_sent += len(json.dumps(content, default=str))
            self.bytes_sent += sum(len(b) for b in buffers or ())
        self.send(content, buffers)

    def _on_records(self, records: list[Record], event: ServerEvent) -> None:
        """Session thread, under the lock: note the changes; the flush sends them."""
        batch = self._batch
        changed = False
        for rec in records:
            if isinstance(rec, Change):
                batch.add(rec)
                changed = True
            elif isinstance(rec, ResponseChange):
                self._response_ended(rec.response_id)
        etype = event.type
        if etype == "response.created" and event.response_id:
            self._running[event.response_id] = None
            if not self._flush_scheduled:
                self._schedule_flush()  # the flush sets ``responding`` (see there)
        elif etype in ("session.created", "session.updated"):
            self.session = dict(self._core.model.session)
        elif etype == "error":
            self._on_error(event)
        if batch and not self._flush_scheduled:
            self._schedule_flush()
        if changed:
            self._fallback.changed()

    def _on_error(self, event: ServerEvent) -> None:
        err = RealtimeServerError.from_event(event.data)
        event_id = err.event_id or ""
        request_id, item_id = self._actions.requests.get(event_id, (None, None))
        if request_id is None and event_id in self._core.calls.waiting:
            return  # a cell waits for this answer: it raises there, not again here
        if item_id is None and event_id:
            item_id = self._item_of_client_event(event_id)
        self._batch.error(error_view(err, item_id=item_id, request_id=request_id,
                                     ts=event.received_at))

    def _response_ended(self, response_id: str) -> None:
        if self._running.pop(response_id, "gone") is None and not self._flush_scheduled:
            self._schedule_flush()

    def _running_response(self) -> str | None:
        return next(reversed(self._running), None)

    def _reason(self) -> str:
        return "" if self._core.status == "open" else (self._core.reason or "")

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
        self.status_reason = self._reason()
        self.status = status
        if status != "open":  # what ran is settled (or asked again) by the core
            self._running.clear()
            self.responding = ""
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
            # set here, with the batch, not per response: one trait message per response start
            # and end cost a stream of short answers ~20% of its ingest rate (bench ingest (d))
            running = next(reversed(self._running), "")
            if self.responding != running:
                self.responding = running
        self._schedule_heartbeat()

    def _drain(self) -> list[dict[str, Any]]:
        """The pending changes as messages, numbered (caller holds the lock)."""
        model = self._core.model

        def view_of(item_id: str) -> dict[str, Any] | None:
            item = model.get(item_id)
            return None if item is None else self._voice.view(item_view(item, self._core))

        messages, self._seq = self._batch.drain(view_of, self._seq)
        tools, self._seq = self._tools.drain(self._seq)
        messages += tools
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
            items = [self._voice.view(item_view(item, core)) for item in core.model]
            log = collapse_deltas(core.log.entries(-log_tail)) if log_tail else []
            events = len(core.log)
            errors = [error_view(e) for e in core.errors[-50:]]
            tools = self._tools.snapshot()
        return {"kind": "snapshot", "items": items, "errors": errors, "log": log,
                "seq": self._seq, "events": events, **tools}

    # ------------------------------------------------------------------ browser -> kernel
    def _on_front_message(self, _widget: Any, content: Any, buffers: Any) -> None:
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
        if self._voice.handle(kind, content, buffers):  # microphone, player, play button
            return
        request_id = str(content.get("request_id") or f"k{next(self._ids)}")
        try:
            item_id = self._actions.run(kind, content, request_id)
        except (RealtimeError, KeyError, TypeError) as exc:
            field = exc.field if isinstance(exc, InvalidItemError) else None
            self._push({"kind": "result", "request_id": request_id, "ok": False,
                        "error": message_of(exc), "field": field})
        else:
            self._push({"kind": "result", "request_id": request_id, "ok": True,
                        "error": None, "field": None, "item_id": item_id})

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
