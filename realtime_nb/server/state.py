"""The embedded server's per-connection state and request handling, without any I/O.

:class:`ConnectionState` owns one connection's conversation (ordered items), session config
and input audio buffer. :meth:`ConnectionState.handle_frame` turns one client frame into the
server events to send and, for ``response.create`` / ``response.cancel``, a
:class:`~realtime_nb.server_response.ResponseRun` to start or stop. Keeping this pure makes
the server's behaviour testable without sockets and keeps the transport (``server.py``) small.

Items are stored in the GA spelling (assistant parts ``output_text``, no ``object``, full
audio) and rendered per dialect by :func:`render_item`:

* ``ga``: no ``object``; ``status`` only on message / function_call / function_call_output
  (the SDK's MCP item models have no ``status``); no ``metadata``;
* ``beta``: ``"object": "realtime.item"``, assistant parts spelled ``text`` / ``audio``;
* ``yandex``: ``"object": "realtime.item"`` and ``metadata`` (echoed from the create, else null).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Mapping
from typing import Any

from ..core.protocol import dialect as dialect_spec
from ..core.validation import MAX_ITEM_ID, validate_item
from ..errors import InvalidItemError
from .config import ConfigError, apply_update, audio_rate, default_session, turn_detection
from .responses import ResponseRun
from .turns import InputAudio, Outcome
from .vad import InputBuffer
from .wire import RequestError, error_event, random_id, render_item, server_event

STATUS_TYPES = ("message", "function_call", "function_call_output")
BETA_ITEM_TYPES = STATUS_TYPES
#: Fields a content part of each type may carry (anything else is an unknown parameter).
PART_FIELDS: dict[str, tuple[str, ...]] = {
    "input_text": ("type", "text"),
    "input_audio": ("type", "audio", "transcript"),
    "input_image": ("type", "image_url", "detail"),
    "output_text": ("type", "text"),
    "text": ("type", "text"),
    "output_audio": ("type", "audio", "transcript"),
    "audio": ("type", "audio", "transcript"),
}
MCP_TOOL_FIELDS = ("name", "input_schema", "description", "annotations")
_GA_PART = {"text": "output_text", "audio": "output_audio"}

#: client event type -> (fields it may carry besides type/event_id, fields it must carry)
CLIENT_EVENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "session.update": (("session",), ("session",)),
    "input_audio_buffer.append": (("audio",), ("audio",)),
    "input_audio_buffer.commit": ((), ()),
    "input_audio_buffer.clear": ((), ()),
    "output_audio_buffer.clear": ((), ()),
    "conversation.item.create": (("item", "previous_item_id"), ("item",)),
    "conversation.item.retrieve": (("item_id",), ("item_id",)),
    "conversation.item.delete": (("item_id",), ("item_id",)),
    "conversation.item.truncate": (
        ("item_id", "content_index", "audio_end_ms"),
        ("item_id", "content_index", "audio_end_ms"),
    ),
    "response.create": (("response",), ()),
    "response.cancel": (("response_id",), ()),
    "transcription_session.update": (("session",), ("session",)),
}


class ConnectionState(InputAudio):
    """One connection's conversation, session and audio buffer (see the module docstring)."""

    def __init__(self, dialect: str = "ga", model: str | None = None) -> None:
        self.spec = dialect_spec(dialect)  # ValueError for an unknown dialect
        self.dialect = self.spec.name
        self.session = default_session(self.dialect, model)
        self.conversation_id = random_id("conv_")
        self.order: list[str] = []
        self.items: dict[str, dict[str, Any]] = {}
        self.input = InputBuffer()
        self.input.configure(audio_rate(self.session, self.dialect, "input"), None)
        #: item id -> the sample rate of its audio (PCM16 mono)
        self.rates: dict[str, int] = {}
        #: response id -> running response (in-conversation and out-of-band)
        self.active: dict[str, ResponseRun] = {}

    # ------------------------------------------------------------------ conversation
    def predecessor(self, item_id: str) -> str | None:
        index = self.order.index(item_id)
        return self.order[index - 1] if index > 0 else None

    def insert(self, item: dict[str, Any], after: str | None = None, *, at_end: bool = True
               ) -> str | None:
        """Insert ``item`` at the end, at the head (``at_end=False, after=None``) or after an
        id; return its predecessor."""
        if at_end:
            self.order.append(item["id"])
        elif after is None:
            self.order.insert(0, item["id"])
        else:
            self.order.insert(self.order.index(after) + 1, item["id"])
        self.items[item["id"]] = item
        return self.predecessor(item["id"])

    def context(self) -> list[dict[str, Any]]:
        return [self.items[i] for i in self.order]

    def item_events(self, item: Mapping[str, Any], previous: str | None, *, done: bool = True
                    ) -> list[dict[str, Any]]:
        """The dialect's "item entered the conversation" events.

        GA: ``added`` (+ ``done`` when the item is final); beta: ``created``; Yandex:
        ``created`` and ``added`` (+ ``done``).
        """
        wire = render_item(item, self.dialect)
        names = list(self.spec.item_events)
        if done and self.spec.item_done:
            names.append("conversation.item.done")
        return [server_event(n, previous_item_id=previous, item=copy.deepcopy(wire))
                for n in names]

    # ------------------------------------------------------------------ frames
    def greeting(self) -> list[dict[str, Any]]:
        """``session.created`` (and, in beta, ``conversation.created``)."""
        events = [server_event("session.created", session=copy.deepcopy(self.session))]
        if self.dialect == "beta":
            events.append(server_event("conversation.created", conversation={
                "id": self.conversation_id, "object": "realtime.conversation"}))
        return events

    def handle_frame(self, frame: str | bytes) -> Outcome:
        """Handle one client frame; refused events become one ``error`` event."""
        event_id: str | None = None
        try:
            event = self._parse(frame)
            raw_id = event.get("event_id")
            event_id = raw_id if isinstance(raw_id, str) else None
            self._check_fields(event)
            handler = getattr(self, "_on_" + event["type"].replace(".", "_"))
            return handler(event)
        except RequestError as exc:
            return Outcome([error_event(exc, event_id)])

    @staticmethod
    def _parse(frame: str | bytes) -> dict[str, Any]:
        if isinstance(frame, bytes):
            raise RequestError("Binary frames are not supported; send each event as a JSON "
                               "text frame.", code="invalid_event")
        try:
            event = json.loads(frame)
        except ValueError as exc:
            raise RequestError(f"The client event is not valid JSON: {exc}.",
                               code="invalid_event") from None
        if not isinstance(event, dict):
            raise RequestError("The client event must be a JSON object.", code="invalid_event")
        return event

    @staticmethod
    def _check_fields(event: dict[str, Any]) -> None:
        if "event_id" in event and not isinstance(event["event_id"], str):
            raise RequestError("Invalid type for 'event_id': expected a string.",
                               code="invalid_type", param="event_id")
        if "type" not in event:
            raise RequestError("The 'type' field is missing.", code="invalid_event",
                               param="type")
        etype = event["type"]
        if not isinstance(etype, str) or etype not in CLIENT_EVENTS:
            raise RequestError(
                f"Invalid value: {etype!r}. Supported values are: "
                + ", ".join(repr(t) for t in CLIENT_EVENTS) + ".",
                code="invalid_event", param="type")
        allowed, required = CLIENT_EVENTS[etype]
        for key in event:
            if key not in ("type", "event_id", *allowed):
                raise RequestError(f"Unknown parameter: '{key}'.", code="unknown_parameter",
                                   param=key)
        for key in required:
            if event.get(key) is None:
                raise RequestError(f"Missing required parameter: '{key}'.",
                                   code="missing_required_parameter", param=key)
        for key in ("item_id", "response_id", "previous_item_id", "audio"):
            if event.get(key) is not None and not isinstance(event[key], str):
                raise RequestError(f"Invalid type for '{key}': expected a string.",
                                   code="invalid_type", param=key)
        for key in ("content_index", "audio_end_ms"):
            value = event.get(key)
            if key in event and (isinstance(value, bool) or not isinstance(value, int)
                                 or value < 0):
                raise RequestError(f"Invalid '{key}': expected a non-negative integer.",
                                   code="invalid_type", param=key)
        for key in ("item", "session", "response"):
            if event.get(key) is not None and not isinstance(event[key], dict):
                raise RequestError(f"Invalid type for '{key}': expected an object.",
                                   code="invalid_type", param=key)

    def _item(self, item_id: str, action: str) -> dict[str, Any]:
        item = self.items.get(item_id)
        if item is None:
            raise RequestError(f"Error {action} item: the item with id '{item_id}' does not "
                               "exist.", code="item_not_found", param="item_id")
        return item

    # ------------------------------------------------------------------ session
    def _on_session_update(self, event: dict[str, Any]) -> Outcome:
        try:
            self.session = apply_update(self.session, event["session"], self.dialect)
        except ConfigError as exc:
            raise RequestError(exc.message, code=exc.code, param=exc.param) from None
        self.input.configure(audio_rate(self.session, self.dialect, "input"),
                             turn_detection(self.session, self.dialect))
        return Outcome([server_event("session.updated", session=copy.deepcopy(self.session))])

    def _on_transcription_session_update(self, event: dict[str, Any]) -> Outcome:
        raise RequestError("The embedded server does not support transcription sessions.",
                           code="unsupported_event", param="type")

    # ------------------------------------------------------------------ items
    def clean_item(self, raw: dict[str, Any], where: str = "item") -> dict[str, Any]:
        """Validate a client item and put it in the stored (GA) spelling, or RequestError."""
        item_id = raw.get("id")
        if isinstance(item_id, str) and len(item_id) > MAX_ITEM_ID:
            raise RequestError(
                f"Invalid '{where}.id': string too long. Expected a string with maximum length "
                f"{MAX_ITEM_ID}, but got a string with length {len(item_id)} instead.",
                code="string_above_max_length", param=f"{where}.id")
        if raw.get("metadata") is not None and not self.spec.item_metadata:
            raise RequestError(f"Unknown parameter: '{where}.metadata'.",
                               code="unknown_parameter", param=f"{where}.metadata")
        if self.dialect == "beta" and raw.get("type") not in BETA_ITEM_TYPES:
            raise RequestError(f"Invalid value: {raw.get('type')!r}. Supported values are: "
                               "'message', 'function_call', 'function_call_output'.",
                               param=f"{where}.type")
        try:
            item = validate_item(raw, where)
        except InvalidItemError as exc:
            raise RequestError(str(exc), param=exc.field) from None
        for i, part in enumerate(item.get("content") or []):
            for key in part:
                if key not in PART_FIELDS.get(part.get("type"), ()):
                    raise RequestError(f"Unknown parameter: '{where}.content[{i}].{key}'.",
                                       code="unknown_parameter",
                                       param=f"{where}.content[{i}].{key}")
            if item.get("role") == "assistant":
                part["type"] = _GA_PART.get(part["type"], part["type"])
            if part["type"] == "input_audio":
                part.setdefault("transcript", None)
        for i, tool in enumerate(item.get("tools") or []):
            for key in tool:
                if key not in MCP_TOOL_FIELDS:
                    raise RequestError(f"Unknown parameter: '{where}.tools[{i}].{key}'.",
                                       code="unknown_parameter", param=f"{where}.tools[{i}].{key}")
            if "input_schema" not in tool:
                path = f"{where}.tools[{i}].input_schema"
                raise RequestError(f"Missing required parameter: '{path}'.",
                                   code="missing_required_parameter", param=path)
        item.pop("object", None)
        if item["type"] in STATUS_TYPES:
            item["status"] = "completed"
        else:
            item.pop("status", None)
        if self.dialect == "yandex":
            item.setdefault("metadata", None)
        return _ordered(item)

    def _on_conversation_item_create(self, event: dict[str, Any]) -> Outcome:
        item = self.clean_item(event["item"])
        if item.get("id") is None:
            item = {**item, "id": random_id("item_")}
            item = _ordered(item)
        elif item["id"] in self.items:
            raise RequestError(f"Error adding item: an item with id '{item['id']}' already "
                               "exists.", code="duplicate_item_id", param="item.id")
        anchor = event.get("previous_item_id")
        if anchor is not None and anchor != "root" and anchor not in self.items:
            raise RequestError(f"Error adding item: the previous item with id '{anchor}' does "
                               "not exist.", param="previous_item_id")
        previous = self.insert(item, None if anchor == "root" else anchor, at_end=anchor is None)
        if any(isinstance(p.get("audio"), str) for p in item.get("content") or []):
            self.rates[item["id"]] = audio_rate(self.session, self.dialect, "input")
        return Outcome(self.item_events(item, previous))

    def _on_conversation_item_retrieve(self, event: dict[str, Any]) -> Outcome:
        item = self._item(event["item_id"], "retrieving")
        run = self._speaking(item["id"])
        if run is not None:  # still streaming: the audio so far
            item = {**item, "content": [{**item["content"][0], "audio": base64.b64encode(
                run.audio).decode("ascii")}]}
        return Outcome([server_event("conversation.item.retrieved",
                                     item=render_item(item, self.dialect, with_audio=True))])

    def _speaking(self, item_id: str) -> ResponseRun | None:
        return next((r for r in self.active.values()
                     if r.speaks and r.item["id"] == item_id and not r.finished), None)

    def _on_conversation_item_delete(self, event: dict[str, Any]) -> Outcome:
        self._item(event["item_id"], "deleting")
        del self.items[event["item_id"]]
        self.order.remove(event["item_id"])
        return Outcome([server_event("conversation.item.deleted", item_id=event["item_id"])])

    def _on_conversation_item_truncate(self, event: dict[str, Any]) -> Outcome:
        item = self._item(event["item_id"], "truncating")
        index, end_ms = event["content_index"], event["audio_end_ms"]
        parts = item.get("content") or []
        if index >= len(parts):
            raise RequestError(f"Invalid 'content_index': the item has {len(parts)} content "
                               f"part(s), so there is no part {index}.", param="content_index")
        part = parts[index]
        rate = self.rates.get(item["id"], 24000)
        run = self._speaking(item["id"])
        raw = bytes(run.audio) if run is not None else _decode(part.get("audio"))
        length = len(raw) * 1000 // (2 * rate)
        if end_ms > length:
            raise RequestError(f"Audio content of {length}ms is already shorter than "
                               f"{end_ms}ms.", param="audio_end_ms")
        if run is not None:
            run.cut_ms = end_ms  # it keeps streaming; what it stores is cut here
        elif isinstance(part.get("audio"), str) and part["audio"]:
            part["audio"] = base64.b64encode(raw[: end_ms * rate // 1000 * 2]).decode("ascii")
        if "transcript" in part:
            part["transcript"] = ""  # the server drops what was not heard
        return Outcome([server_event("conversation.item.truncated", item_id=item["id"],
                                     content_index=index, audio_end_ms=end_ms)])

    def _on_output_audio_buffer_clear(self, event: dict[str, Any]) -> Outcome:
        raise RequestError("output_audio_buffer.clear is only supported for WebRTC and SIP "
                           "connections.", code="unsupported_event", param="type")

    # ------------------------------------------------------------------ responses
    def _on_response_create(self, event: dict[str, Any]) -> Outcome:
        params = event.get("response") or {}
        run = ResponseRun(self, params)  # validates params; raises RequestError
        if run.in_conversation:
            busy = next((r for r in self.active.values() if r.in_conversation), None)
            if busy is not None:
                raise RequestError(
                    f"Conversation already has an active response in progress: {busy.id}. "
                    "Wait until the response is finished before creating a new one.",
                    code="conversation_already_has_active_response")
        self.active[run.id] = run
        self.rates[run.item["id"]] = run.rate
        return Outcome(start=run)

    def _on_response_cancel(self, event: dict[str, Any]) -> Outcome:
        wanted = event.get("response_id")
        if wanted is not None:
            run = self.active.get(wanted)
        else:
            runs = list(self.active.values())
            run = next((r for r in runs if r.in_conversation), runs[-1] if runs else None)
        if run is None or run.cancelled:
            raise RequestError("Cancellation failed: no active response found.",
                               code="response_cancel_not_active")
        run.cancelled = True
        return Outcome(cancel=run)


_KEY_ORDER = ("id", "type", "status", "role", "content", "call_id", "name", "arguments",
              "server_label", "approval_request_id", "approve", "reason", "tools", "output",
              "error")


def _ordered(item: dict[str, Any]) -> dict[str, Any]:
    """Fields in a stable, readable order (id and type first), for logs and snapshots."""
    head = {k: item[k] for k in _KEY_ORDER if k in item}
    return {**head, **{k: v for k, v in item.items() if k not in head}}


def _decode(audio: Any) -> bytes:
    """Base64 audio as bytes (nothing for anything else)."""
    if not isinstance(audio, str) or not audio:
        return b""
    try:
        return base64.b64decode(audio)
    except (binascii.Error, ValueError):
        return b""
