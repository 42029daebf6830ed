"""Conversation items: the ``Item`` type, content parts, and validation of items from cells.

Items are the unit of a Realtime conversation (``RealtimeConversationItem`` in the Yandex and
OpenAI references). Two directions need two attitudes:

* items a user builds in a cell are validated strictly *before* they reach the wire, so a typo
  becomes an :class:`~realtime_nb.errors.InvalidItemError` naming the field instead of a
  server ``error`` three events later;
* items the server sends are read leniently (:meth:`Item.from_wire`): unknown fields are kept in
  ``extra``, wrong types are coerced or dropped, nothing raises.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import InvalidItemError

ITEM_TYPES = (
    "message",
    "function_call",
    "function_call_output",
    "mcp_call",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
)
ROLES = ("system", "user", "assistant")
STATUSES = ("completed", "incomplete", "in_progress")

#: Content part types a role may carry in ``conversation.item.create``. Assistant audio cannot be
#: created by a client; ``text`` is the beta spelling of ``output_text``.
PART_TYPES_BY_ROLE: dict[str, tuple[str, ...]] = {
    "system": ("input_text",),
    "user": ("input_text", "input_audio", "input_image"),
    "assistant": ("output_text", "text"),
}

_COMMON_FIELDS = ("id", "object", "type", "status", "metadata")
#: Fields each item type may carry when created from a cell (besides the common ones).
FIELDS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "message": ("role", "content"),
    "function_call": ("name", "arguments", "call_id"),
    "function_call_output": ("call_id", "output"),
    "mcp_call": ("name", "arguments", "server_label", "approval_request_id", "output", "error"),
    "mcp_list_tools": ("server_label", "tools"),
    "mcp_approval_request": ("name", "arguments", "server_label"),
    "mcp_approval_response": ("approval_request_id", "approve", "reason"),
}
REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "message": ("role", "content"),
    "function_call": ("name", "arguments"),
    "function_call_output": ("call_id", "output"),
    "mcp_call": ("id", "name", "arguments", "server_label"),
    "mcp_list_tools": ("server_label", "tools"),
    "mcp_approval_request": ("id", "name", "arguments", "server_label"),
    "mcp_approval_response": ("id", "approval_request_id", "approve"),
}

MAX_ITEM_ID = 32
METADATA_MAX_PAIRS = 16
METADATA_MAX_KEY = 64
METADATA_MAX_VALUE = 512
_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")

# The fields of RealtimeConversationItem that Item models as attributes.
_KNOWN = (
    "id",
    "object",
    "type",
    "role",
    "status",
    "content",
    "call_id",
    "name",
    "arguments",
    "output",
    "metadata",
)
_KNOWN_SET = frozenset(_KNOWN)


@dataclass(eq=True)
class Item:
    """One conversation item as the client knows it.

    Attributes follow ``RealtimeConversationItem``; ``previous_item_id`` is the item's
    predecessor in the conversation (``None`` for the first item), ``extra`` keeps every field
    the server sent that is not modelled (``server_label``, ``tools``, ``approve``, ...), and
    ``flagged`` is set when the server named a predecessor this client never saw.
    """

    id: str
    type: str
    object: str | None = None
    role: str | None = None
    status: str | None = None
    content: list[dict[str, Any]] = field(default_factory=list)
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None
    metadata: dict[str, Any] | None = None
    previous_item_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    flagged: bool = False

    @property
    def text(self) -> str:
        """The item's readable text: message text and transcripts, arguments, output, joined."""
        return item_text(self)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any], previous_item_id: str | None = None) -> Item:
        """Build an item from a server payload, leniently: nothing here raises."""
        i, t, o, r, s, content, c, n, a, out, meta, extra = _wire_values(data)
        return cls(i, t, o, r, s, content, c, n, a, out, meta, previous_item_id, extra)

    def to_wire(self) -> dict[str, Any]:
        """The item as a protocol object (only the fields that are set)."""
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        for name in ("object", "role", "status"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.type == "message" or self.content:
            out["content"] = copy.deepcopy(self.content)
        for name in ("call_id", "name", "arguments", "output"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.metadata is not None:
            out["metadata"] = dict(self.metadata)
        for k, v in self.extra.items():
            out.setdefault(k, copy.deepcopy(v))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Everything the client knows: the wire fields plus position, text and flag."""
        out = self.to_wire()
        out["previous_item_id"] = self.previous_item_id
        out["text"] = self.text
        out["flagged"] = self.flagged
        return out

    def copy(self) -> Item:
        """A deep copy (built directly when the item holds only plain values: JSON scalars in
        dict parts, metadata and extra; what ``copy.deepcopy`` would give, several times
        faster)."""
        state = self.__dict__
        content, meta, extra = self.content, self.metadata, self.extra
        if (self.__class__ is Item and state.keys() == _FIELD_NAMES
                and content.__class__ is list and extra.__class__ is dict
                and _scalar_dict(extra)
                and (meta is None or (meta.__class__ is dict and _scalar_dict(meta)))):
            parts = []
            for part in content:
                if part.__class__ is not dict or not _scalar_dict(part):
                    return copy.deepcopy(self)
                parts.append(part.copy())
            # deepcopy keeps containers shared between fields shared; plain copies do not
            boxes = [extra, *content] if meta is None else [extra, meta, *content]
            if len(set(map(id, boxes))) == len(boxes):
                new = _new_item(Item)
                new.__dict__.update(state)
                new.content = parts
                new.metadata = None if meta is None else meta.copy()
                new.extra = extra.copy()
                return new
        return copy.deepcopy(self)

    def merge(self, new: Item) -> None:
        """Fold a newer snapshot of this item in, never losing text or downgrading a final
        status (a retrieve may omit text a delta stream already delivered)."""
        self._fold(new.type, new.object, new.role, new.status, new.content, new.call_id,
                   new.name, new.arguments, new.output, new.metadata, new.extra, owned=False)

    def merge_wire(self, data: Mapping[str, Any], *, done: bool = False) -> str | None:
        """``merge(Item.from_wire(data))`` without building the item; ``done``: a status that
        is not final counts as ``"completed"`` (``conversation.item.done``). Returns the
        status of the snapshot."""
        _, t, o, r, s, content, c, n, a, out, meta, extra = _wire_values(data)
        if done and s not in _FINAL:
            s = "completed"
        self._fold(t, o, r, s, content, c, n, a, out, meta, extra, owned=True)
        return s

    def _fold(self, type: str, object: str | None, role: str | None, status: str | None,
              content: list[dict[str, Any]], call_id: str | None, name: str | None,
              arguments: str | None, output: str | None, metadata: dict[str, Any] | None,
              extra: dict[str, Any], *, owned: bool) -> None:
        """:meth:`merge` on the snapshot's values; ``owned``: its content parts are fresh
        copies that the item may keep."""
        if status is not None and not (self.status in _FINAL and status == "in_progress"):
            self.status = status
        if type is not None:
            self.type = type
        if object is not None:
            self.object = object
        if role is not None:
            self.role = role
        if call_id is not None:
            self.call_id = call_id
        if name is not None:
            self.name = name
        if metadata is not None:
            self.metadata = metadata
        if arguments is not None and (arguments or not self.arguments):
            self.arguments = arguments
        if output is not None and (output or not self.output):
            self.output = output
        if content:
            old = self.content
            n_old = len(old)
            merged: list[dict[str, Any]] = []
            for i, part in enumerate(content):
                prev = old[i] if i < n_old else _EMPTY
                if not owned:
                    part = dict(part)
                for key in ("text", "transcript"):
                    if not part.get(key):
                        value = prev.get(key)
                        if isinstance(value, str) and value:
                            part[key] = value
                merged.append(part)
            merged.extend(old[len(content):])
            self.content = merged
        if extra:
            self.extra.update(extra)

    def __repr__(self) -> str:
        bits = [f"id={self.id!r}", f"type={self.type!r}"]
        if self.role:
            bits.append(f"role={self.role!r}")
        if self.status:
            bits.append(f"status={self.status!r}")
        text = self.text
        if text:
            bits.append(f"text={text[:60] + '…' if len(text) > 60 else text!r}")
        if self.flagged:
            bits.append("flagged=True")
        return f"Item({', '.join(bits)})"


def item_text(item: Item) -> str:
    """Join what a person reads of an item: text, transcripts, arguments and output."""
    pieces: list[str] = []
    for part in item.content:
        for key in ("text", "transcript"):
            value = part.get(key)
            if isinstance(value, str) and value:
                pieces.append(value)
                break
    if item.type == "mcp_list_tools":
        tools = item.extra.get("tools")
        if isinstance(tools, list):
            names = [str(t.get("name")) for t in tools if isinstance(t, Mapping)]
            pieces.append(", ".join(names))
    if item.arguments:
        pieces.append(item.arguments)
    if item.output:
        pieces.append(item.output)
    reason = item.extra.get("reason")
    if isinstance(reason, str) and reason:
        pieces.append(reason)
    return "\n".join(pieces)


def _as_str(value: Any) -> str | None:
    if value is None or value.__class__ is str:
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    return None


_FINAL = ("completed", "incomplete")
_EMPTY: dict[str, Any] = {}
_SCALARS = ("id", "type", "object", "role", "status", "call_id", "name", "arguments", "output")
_STR_OR_NONE = frozenset({str, type(None)})
_PLAIN = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES = frozenset(f.name for f in fields(Item))
_new_item = object.__new__


def _scalar_dict(d: dict[str, Any]) -> bool:
    """True when every value of ``d`` is a JSON scalar (a shallow copy is a deep copy)."""
    return _PLAIN.issuperset(map(type, d.values()))


def _wire_values(data: Mapping[str, Any]) -> tuple[Any, ...]:
    """An item payload's fields as :class:`Item` holds them, in its field order (without
    ``previous_item_id``): the lenient reading of :meth:`Item.from_wire`, with fresh copies
    of the content parts, metadata and extra fields."""
    get = data.get
    scalars = tuple(map(get, _SCALARS))
    exact = data.__class__ is dict
    if exact and _STR_OR_NONE.issuperset(map(type, scalars)):  # the usual payload
        i, t, o, r, s, c, n, a, out = scalars
    else:
        i, t, o, r, s, c, n = map(_as_str, scalars[:7])
        a, out = _as_text(scalars[7]), _as_text(scalars[8])
    content_raw = get("content")
    content = [
        dict(p) for p in content_raw
        if p.__class__ is dict or isinstance(p, Mapping)  # skip the ABC check for dicts
    ] if isinstance(content_raw, list) else []
    meta = get("metadata")
    if exact and _KNOWN_SET.issuperset(data):
        extra: dict[str, Any] = {}
    else:
        known = _KNOWN_SET if exact else _KNOWN  # dict keys are hashable
        extra = {k: copy.deepcopy(v) for k, v in data.items() if k not in known}
    return (i or "", t or "unknown", o, r, s, content, c, n, a, out,
            dict(meta) if isinstance(meta, Mapping) else None, extra)


def _as_text(value: Any) -> str | None:
    """Strings stay strings; JSON-able values (a server sending an object) become JSON text."""
    if value is None or value.__class__ is str or isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


# --------------------------------------------------------------------------------------------
# Building and validating items that a cell creates


def message(
    text: str | None = None,
    role: str = "user",
    *,
    content: list[dict[str, Any]] | None = None,
    id: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A message item dict with one text part of the right type for ``role``."""
    if role not in ROLES:
        raise InvalidItemError("item.role", f"must be one of {', '.join(ROLES)}, got {role!r}")
    if content is None:
        if text is None:
            raise InvalidItemError("item.content", "give text or content")
        part_type = "output_text" if role == "assistant" else "input_text"
        content = [{"type": part_type, "text": text}]
    item: dict[str, Any] = {"type": "message", "role": role, "content": content}
    if id is not None:
        item["id"] = id
    if metadata is not None:
        item["metadata"] = metadata
    return item


def validate_item(item: Any, where: str = "item") -> dict[str, Any]:
    """Check an item from a cell; return a clean copy or raise :class:`InvalidItemError`."""
    if not isinstance(item, Mapping):
        raise InvalidItemError(where, f"must be a dict, got {type(item).__name__}")
    item = copy.deepcopy(dict(item))
    itype = item.get("type")
    if itype not in ITEM_TYPES:
        raise InvalidItemError(
            f"{where}.type", f"unknown item type {itype!r}; expected one of {', '.join(ITEM_TYPES)}"
        )
    allowed = set(_COMMON_FIELDS) | set(FIELDS_BY_TYPE[itype])
    for key in item:
        if key not in allowed:
            raise InvalidItemError(f"{where}.{key}", f"not a field of a {itype} item")
    for key in REQUIRED_BY_TYPE[itype]:
        if item.get(key) is None:
            raise InvalidItemError(f"{where}.{key}", f"required for a {itype} item")
    if "id" in item and item["id"] is not None:
        _check_id(item["id"], f"{where}.id")
    obj = item.get("object")
    if obj is not None and obj != "realtime.item":
        raise InvalidItemError(f"{where}.object", f"must be 'realtime.item', got {obj!r}")
    status = item.get("status")
    if status is not None and status not in STATUSES:
        raise InvalidItemError(f"{where}.status", f"must be one of {', '.join(STATUSES)}")
    if item.get("metadata") is not None:
        _check_metadata(item["metadata"], f"{where}.metadata")
    for key in ("name", "arguments", "call_id", "output", "server_label", "approval_request_id"):
        if key in item and item[key] is not None and not isinstance(item[key], str):
            got = type(item[key]).__name__
            raise InvalidItemError(f"{where}.{key}", f"must be a string, got {got}")
    for key in ("name", "call_id", "server_label", "approval_request_id"):
        if key in item and item[key] == "":
            raise InvalidItemError(f"{where}.{key}", "must not be empty")
    if itype == "message":
        _check_message(item, where)
    elif itype in ("function_call", "mcp_call", "mcp_approval_request"):
        _check_json_text(item["arguments"], f"{where}.arguments")
    elif itype == "mcp_list_tools":
        if not isinstance(item["tools"], list):
            raise InvalidItemError(f"{where}.tools", "must be a list of tools")
        for i, tool in enumerate(item["tools"]):
            if not isinstance(tool, Mapping) or not isinstance(tool.get("name"), str):
                raise InvalidItemError(f"{where}.tools[{i}].name", "each tool needs a string name")
    elif itype == "mcp_approval_response" and not isinstance(item["approve"], bool):
        raise InvalidItemError(f"{where}.approve", "must be true or false")
    return item


def _check_id(value: Any, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidItemError(where, "must be a non-empty string")
    if len(value) > MAX_ITEM_ID:
        raise InvalidItemError(
            where, f"is {len(value)} characters; the server accepts at most {MAX_ITEM_ID}"
        )
    if not _ID_RE.match(value):
        raise InvalidItemError(where, "may contain only letters, digits, '_' and '-'")


def _check_metadata(meta: Any, where: str) -> None:
    if not isinstance(meta, Mapping):
        raise InvalidItemError(where, "must be a dict of strings")
    if len(meta) > METADATA_MAX_PAIRS:
        raise InvalidItemError(where, f"has {len(meta)} pairs; at most {METADATA_MAX_PAIRS}")
    for key, value in meta.items():
        if not isinstance(key, str) or len(key) > METADATA_MAX_KEY:
            raise InvalidItemError(where, f"key {key!r} must be a string of <= {METADATA_MAX_KEY}")
        if not isinstance(value, str) or len(value) > METADATA_MAX_VALUE:
            raise InvalidItemError(
                f"{where}.{key}", f"must be a string of at most {METADATA_MAX_VALUE} characters"
            )


def _check_json_text(value: str, where: str) -> None:
    try:
        json.loads(value)
    except ValueError as exc:
        raise InvalidItemError(where, f"must be a JSON-encoded string ({exc})") from None


def _check_message(item: dict[str, Any], where: str) -> None:
    role = item["role"]
    if role not in ROLES:
        raise InvalidItemError(f"{where}.role", f"must be one of {', '.join(ROLES)}, got {role!r}")
    content = item["content"]
    if not isinstance(content, list) or not content:
        raise InvalidItemError(f"{where}.content", "must be a non-empty list of content parts")
    allowed = PART_TYPES_BY_ROLE[role]
    for i, part in enumerate(content):
        pw = f"{where}.content[{i}]"
        if not isinstance(part, Mapping):
            raise InvalidItemError(pw, "must be a dict")
        ptype = part.get("type")
        if ptype not in allowed:
            raise InvalidItemError(
                f"{pw}.type",
                f"a {role} message cannot carry {ptype!r} parts; allowed: {', '.join(allowed)}",
            )
        if ptype in ("input_text", "output_text", "text"):
            if not isinstance(part.get("text"), str):
                raise InvalidItemError(f"{pw}.text", "must be a string")
        elif ptype == "input_audio":
            if not any(isinstance(part.get(k), str) for k in ("audio", "transcript")):
                raise InvalidItemError(f"{pw}.audio", "give base64 audio (or a transcript)")
        elif ptype == "input_image":
            url = part.get("image_url")
            if not isinstance(url, str) or not url.startswith("data:image/"):
                raise InvalidItemError(f"{pw}.image_url", "must be a data URI (data:image/png;...)")
            if part.get("detail") not in (None, "auto", "low", "high"):
                raise InvalidItemError(f"{pw}.detail", "must be auto, low or high")
