"""The wire protocol: the dialect table, a lenient server-event parser, client-event builders.

One table (:data:`DIALECTS`) says how each server dialect spells what differs: the beta names
of server events (mapped onto the GA names, so the rest of the package only ever sees GA
names), which events announce an item, how assistant content parts are spelled, and which
optional fields the dialect carries. The embedded server renders its events from the same
table. Parsing never loses a frame it can read: unknown event types and extra fields are kept
in :attr:`ServerEvent.data`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orjson import loads as _orjson_loads

from ..errors import InvalidItemError, ProtocolError
from .items import Item
from .validation import validate_item


@dataclass(frozen=True)
class Dialect:
    """What one server dialect spells its own way (see :data:`DIALECTS`)."""

    name: str
    #: GA server event name -> this dialect's name (only the renamed ones).
    event_names: Mapping[str, str]
    #: The server events that announce an item entering the conversation, in order.
    item_events: tuple[str, ...]
    #: Whether ``conversation.item.done`` follows (GA and Yandex; beta has only ``created``).
    item_done: bool
    #: GA assistant content part type -> this dialect's spelling.
    part_types: Mapping[str, str]
    #: Items carry ``"object": "realtime.item"``.
    item_object: bool
    #: Items may carry ``metadata`` (only Yandex documents it).
    item_metadata: bool
    #: ``response.create`` may carry ``metadata``, echoed in ``response.created``.
    response_metadata: bool
    #: The flat beta session object (``modalities``, ``voice``...) instead of GA's nested one.
    beta_session: bool
    #: PCM16 sample rates the session's audio formats may take (the first is the default).
    audio_rates: tuple[int, ...] = (24000,)
    #: The voice a new session speaks with.
    default_voice: str = "alloy"


_BETA_EVENTS = {
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
}

DIALECTS: dict[str, Dialect] = {
    "ga": Dialect("ga", {}, ("conversation.item.added",), True, {}, item_object=False,
                  item_metadata=False, response_metadata=True, beta_session=False),
    "beta": Dialect("beta", _BETA_EVENTS, ("conversation.item.created",), False,
                    {"output_text": "text", "output_audio": "audio"}, item_object=True,
                    item_metadata=False, response_metadata=True, beta_session=True),
    # Yandex documents created and added (both sent) and done; whether it echoes response
    # metadata is not documented, so the client does not rely on it there.
    "yandex": Dialect("yandex", {}, ("conversation.item.created", "conversation.item.added"),
                      True, {}, item_object=True, item_metadata=True, response_metadata=False,
                      beta_session=False, audio_rates=(24000, 8000, 16000, 22050, 44100, 48000),
                      default_voice="dasha"),
}
DIALECT_NAMES = tuple(DIALECTS)

#: Server event names of any dialect -> the GA name the rest of the package uses.
SERVER_EVENT_ALIASES: dict[str, str] = {
    **{beta: ga for ga, beta in _BETA_EVENTS.items()},
    "transcription_session.updated": "session.updated",
}

#: The key realtime_nb adds to ``response.metadata`` to know its responses when they start.
REQUEST_KEY = "realtime_nb_request"


def dialect(name: str) -> Dialect:
    """The :class:`Dialect` called ``name`` (``ValueError`` for an unknown one)."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, got {name!r}") from None


def canonical_type(name: str) -> str:
    """The GA name of a server event type (beta names mapped, others unchanged)."""
    return SERVER_EVENT_ALIASES.get(name, name)


def new_event_id() -> str:
    """A client event id (``evt_`` + 16 hex)."""
    return "evt_" + secrets.token_hex(8)


def new_item_id() -> str:
    """A client item id: 28 characters, inside the server's 32-character limit."""
    return "item_" + secrets.token_hex(11) + "c"


@dataclass
class ServerEvent:
    """One server event as received.

    ``type`` is the GA name (see :data:`SERVER_EVENT_ALIASES`), ``raw_type`` what the server
    wrote, ``data`` the whole decoded object (unknown fields included).
    """

    type: str
    raw_type: str
    data: dict[str, Any]
    received_at: float = field(default_factory=time.time)

    @property
    def event_id(self) -> str | None:
        value = self.data.get("event_id")
        return value if isinstance(value, str) else None

    @property
    def item_data(self) -> dict[str, Any] | None:
        value = self.data.get("item")
        return value if isinstance(value, dict) else None

    @property
    def item(self) -> Item | None:
        """The event's item, read leniently, or ``None`` when it carries none."""
        raw = self.item_data
        if raw is None:
            return None
        return Item.from_wire(raw, self.previous_item_id)

    @property
    def item_id(self) -> str | None:
        value = self.data.get("item_id")
        if isinstance(value, str):
            return value
        raw = self.item_data
        if raw is not None and isinstance(raw.get("id"), str):
            return raw["id"]
        return None

    @property
    def previous_item_id(self) -> str | None:
        value = self.data.get("previous_item_id")
        return value if isinstance(value, str) else None

    @property
    def response_id(self) -> str | None:
        value = self.data.get("response_id")
        if isinstance(value, str):
            return value
        resp = self.data.get("response")
        if isinstance(resp, dict) and isinstance(resp.get("id"), str):
            return resp["id"]
        return None

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __repr__(self) -> str:
        extra = f", item_id={self.item_id!r}" if self.item_id else ""
        return f"ServerEvent(type={self.type!r}{extra})"


def parse_server_event(frame: str | bytes) -> ServerEvent:
    """Decode one WebSocket frame into a :class:`ServerEvent`.

    Raises :class:`ProtocolError` only when the frame is unusable: not UTF-8 JSON, not an
    object, or without a string ``type``. Anything else (unknown types, extra or odd fields) is
    kept for the caller to treat leniently.

    The frame is read exactly as ``json.loads`` reads it, only faster: orjson reads it first,
    and json.loads reads every frame that orjson refuses (NaN and Infinity, lone surrogates, a
    BOM or UTF-16, deep nesting) or may have read differently: orjson turns an integer outside
    the 64-bit range (19 digits or more) into a float, so a frame with a run of 19 digits is
    read again unless its object holds only plain values (no float, no nesting), and so is
    anything but an object (an error either way).
    """
    data = read_object(frame)
    raw_type = data.get("type")
    if not isinstance(raw_type, str) or not raw_type:
        raise ProtocolError("event has no string 'type'", raw=_clip(frame))
    return ServerEvent(SERVER_EVENT_ALIASES.get(raw_type, raw_type), raw_type, data, _now())


def read_object(frame: str | bytes) -> dict[str, Any]:
    """One JSON object, read as ``json.loads`` reads it (see :func:`parse_server_event`);
    :class:`ProtocolError` when the text is not JSON or not an object."""
    data = None
    if frame.__class__ is str or frame.__class__ is bytes:
        try:
            data = _orjson_loads(frame)
        except Exception:
            pass
        else:
            if data.__class__ is not dict or not (
                    _PLAIN.issuperset(map(type, data.values()))
                    or _DIGIT_RUN not in (
                        frame.encode() if frame.__class__ is str else frame).translate(_DIGITS)):
                data = None
    if data is None:
        try:
            data = json.loads(frame)
        except UnicodeDecodeError as exc:  # the socket hands frames over undecoded
            raise ProtocolError(f"text frame is not valid UTF-8 ({exc})",
                                raw=_clip(frame)) from None
        except ValueError as exc:
            raise ProtocolError(f"frame is not JSON: {exc}", raw=_clip(frame)) from None
        if not isinstance(data, dict):
            raise ProtocolError(f"frame is JSON {type(data).__name__}, not an object",
                                _clip(frame))
    return data


_now = time.time  # what ServerEvent's received_at default calls
#: Types of decoded values that hold no float (a delta event has nothing else).
_PLAIN = frozenset({str, int, bool, type(None)})
#: bytes.translate table: digits stay "0", everything else becomes a space.
_DIGITS = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))
_DIGIT_RUN = b"0" * 19  # the shortest integer that may be outside the 64-bit range


def _clip(frame: str | bytes, limit: int = 2000) -> str | bytes:
    return frame[:limit]


# --------------------------------------------------------------------------------------------
# Client events


def item_create(
    item: Mapping[str, Any],
    previous_item_id: str | None = None,
    *,
    event_id: str | None = None,
) -> dict[str, Any]:
    """``conversation.item.create`` for a validated copy of ``item``."""
    event: dict[str, Any] = {
        "type": "conversation.item.create",
        "event_id": event_id or new_event_id(),
        "item": validate_item(item),
    }
    if previous_item_id is not None:
        if not isinstance(previous_item_id, str) or not previous_item_id:
            raise InvalidItemError("previous_item_id", "must be an item id or 'root'")
        event["previous_item_id"] = previous_item_id
    return event


def item_delete(item_id: str, *, event_id: str | None = None) -> dict[str, Any]:
    return {"type": "conversation.item.delete", "event_id": event_id or new_event_id(),
            "item_id": _need_id(item_id)}


def item_retrieve(item_id: str, *, event_id: str | None = None) -> dict[str, Any]:
    return {"type": "conversation.item.retrieve", "event_id": event_id or new_event_id(),
            "item_id": _need_id(item_id)}


def item_truncate(
    item_id: str, content_index: int = 0, audio_end_ms: int = 0, *, event_id: str | None = None
) -> dict[str, Any]:
    for name, value in (("content_index", content_index), ("audio_end_ms", audio_end_ms)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidItemError(name, "must be a non-negative integer")
    return {
        "type": "conversation.item.truncate",
        "event_id": event_id or new_event_id(),
        "item_id": _need_id(item_id),
        "content_index": content_index,
        "audio_end_ms": audio_end_ms,
    }


def input_audio_append(audio: str, *, event_id: str | None = None) -> dict[str, Any]:
    """``input_audio_buffer.append`` of base64 audio (in the session's input format)."""
    return validate_client_event({"type": "input_audio_buffer.append",
                                  "event_id": event_id or new_event_id(), "audio": audio})


def input_audio_commit(*, event_id: str | None = None) -> dict[str, Any]:
    """``input_audio_buffer.commit``: the buffer becomes a user item."""
    return {"type": "input_audio_buffer.commit", "event_id": event_id or new_event_id()}


def input_audio_clear(*, event_id: str | None = None) -> dict[str, Any]:
    """``input_audio_buffer.clear``: drop what the buffer holds."""
    return {"type": "input_audio_buffer.clear", "event_id": event_id or new_event_id()}


#: The most base64 audio one ``input_audio_buffer.append`` may carry (15 MiB).
MAX_APPEND_CHARS = 15 * 1024 * 1024


def response_create(
    response: Mapping[str, Any] | None = None, *, event_id: str | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "response.create", "event_id": event_id or new_event_id()}
    if response:
        if not isinstance(response, Mapping):
            raise InvalidItemError("response", "must be a dict of response parameters")
        event["response"] = dict(response)
    return event


def response_cancel(
    response_id: str | None = None, *, event_id: str | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "response.cancel", "event_id": event_id or new_event_id()}
    if response_id:
        event["response_id"] = response_id
    return event


def session_update(session: Mapping[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    if not isinstance(session, Mapping):
        raise InvalidItemError("session", "must be a dict of session fields")
    return {"type": "session.update", "event_id": event_id or new_event_id(),
            "session": dict(session)}


def validate_client_event(event: Any) -> dict[str, Any]:
    """Check a raw client event from a cell; return a copy with an ``event_id`` filled in."""
    if not isinstance(event, Mapping):
        raise InvalidItemError("event", f"must be a dict, got {type(event).__name__}")
    event = dict(event)
    etype = event.get("type")
    if not isinstance(etype, str) or not etype:
        raise InvalidItemError("type", "every client event needs a string 'type'")
    eid = event.get("event_id")
    if eid is None:
        event["event_id"] = new_event_id()
    elif not isinstance(eid, str) or len(eid) > 512:
        raise InvalidItemError("event_id", "must be a string of at most 512 characters")
    if etype == "conversation.item.create":
        if "item" not in event:
            raise InvalidItemError("item", "conversation.item.create needs an item")
        event["item"] = validate_item(event["item"])
        prev = event.get("previous_item_id")
        if prev is not None and (not isinstance(prev, str) or not prev):
            raise InvalidItemError("previous_item_id", "must be an item id or 'root'")
    elif etype in ("conversation.item.delete", "conversation.item.retrieve"):
        _need_id(event.get("item_id"))
    elif etype == "conversation.item.truncate":
        item_truncate(
            event.get("item_id"),  # type: ignore[arg-type]
            event.get("content_index", -1),
            event.get("audio_end_ms", -1),
        )
    elif etype == "input_audio_buffer.append":
        audio = event.get("audio")
        if not isinstance(audio, str) or not audio:
            raise InvalidItemError("audio", "input_audio_buffer.append needs base64 audio")
        if len(audio) > MAX_APPEND_CHARS:
            raise InvalidItemError("audio", f"is {len(audio):,} characters; one append "
                                   f"carries at most {MAX_APPEND_CHARS:,} (send chunks)")
    elif etype == "session.update" and not isinstance(event.get("session"), Mapping):
        raise InvalidItemError("session", "session.update needs a 'session' dict")
    elif etype == "response.create" and event.get("response") is not None and not isinstance(
        event["response"], Mapping
    ):
        raise InvalidItemError("response", "must be a dict of response parameters")
    return event


def _need_id(item_id: Any) -> str:
    if not isinstance(item_id, str) or not item_id:
        raise InvalidItemError("item_id", "must be a non-empty item id string")
    return item_id


def to_dialect(event: dict[str, Any], name: str) -> dict[str, Any]:
    """Adapt an outgoing GA-shaped client event to a server dialect (:data:`DIALECTS`).

    Beta servers spell assistant parts ``text``/``audio``. Only Yandex documents item
    ``metadata``; sending it elsewhere is refused here rather than silently dropped.
    """
    if event.get("type") != "conversation.item.create":
        return event
    item = event.get("item")
    if not isinstance(item, dict):
        return event
    spec = dialect(name)
    item = dict(item)
    if not spec.item_metadata and item.get("metadata") is not None:
        raise InvalidItemError(
            "item.metadata",
            "only the 'yandex' dialect carries item metadata; connect(dialect='yandex')",
        )
    if spec.part_types and isinstance(item.get("content"), list):
        renamed = spec.part_types
        item["content"] = [
            {**p, "type": renamed.get(p.get("type"), p.get("type"))} if isinstance(p, dict) else p
            for p in item["content"]
        ]
    return {**event, "item": item}
