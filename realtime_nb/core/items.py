"""Conversation items as the client knows them: :class:`Item`, read leniently from the wire.

Items are the unit of a Realtime conversation (``RealtimeConversationItem`` in the Yandex and
OpenAI references). Items the server sends are read leniently (:meth:`Item.from_wire`):
unknown fields are kept in ``extra``, wrong types are coerced or dropped, nothing raises.
Items a user builds in a cell are checked strictly by :mod:`realtime_nb.core.validation`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
#: Statuses an item (or a response's output) ends with.
FINAL_STATUSES = ("completed", "incomplete")

#: The fields of ``RealtimeConversationItem`` that :class:`Item` models as attributes.
WIRE_FIELDS = (
    "id", "object", "type", "role", "status", "content", "call_id", "name", "arguments",
    "output", "metadata",
)
_WIRE_SET = frozenset(WIRE_FIELDS)
_STRINGS = ("object", "role", "status", "call_id", "name")


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
        """Build an item from a server payload, leniently: nothing here raises. Content parts,
        metadata and extra fields are copies: the item never shares them with ``data``."""
        get = data.get
        content = get("content")
        meta = get("metadata")
        return cls(
            id=_as_str(get("id")) or "",
            type=_as_str(get("type")) or "unknown",
            **{name: _as_str(get(name)) for name in _STRINGS},
            content=[dict(p) for p in content if isinstance(p, Mapping)]
            if isinstance(content, list) else [],
            arguments=_as_text(get("arguments")),
            output=_as_text(get("output")),
            metadata=dict(meta) if isinstance(meta, Mapping) else None,
            previous_item_id=previous_item_id,
            extra={k: copy.deepcopy(v) for k, v in data.items() if k not in _WIRE_SET},
        )

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
        """A deep copy: nothing of it is shared with the model's item."""
        return copy.deepcopy(self)

    def merge(self, new: Item) -> None:
        """Fold a newer snapshot of this item in, never losing text or downgrading a final
        status (a retrieve may omit text a delta stream already delivered). An item past
        ``in_progress`` never goes back to it, whatever word the server used for where it
        went (a status outside :data:`FINAL_STATUSES` included)."""
        if new.status is not None and not (self.status not in (None, "in_progress")
                                           and new.status == "in_progress"):
            self.status = new.status
        self.type = new.type if new.type != "unknown" else self.type
        for name in ("object", "role", "call_id", "name", "metadata"):
            value = getattr(new, name)
            if value is not None:
                setattr(self, name, value)
        for name in ("arguments", "output"):
            value = getattr(new, name)
            if value is not None and (value or not getattr(self, name)):
                setattr(self, name, value)
        if new.content:
            merged = []
            for i, part in enumerate(new.content):
                prev = self.content[i] if i < len(self.content) else {}
                part = dict(part)
                for key in ("text", "transcript"):
                    kept = prev.get(key)
                    if not part.get(key) and isinstance(kept, str) and kept:
                        part[key] = kept
                merged.append(part)
            self.content = merged + self.content[len(new.content):]
        self.extra.update(new.extra)

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
    """Strings stay strings, numbers and booleans become text, anything else ``None``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    return None


def _as_text(value: Any) -> str | None:
    """Strings stay strings; JSON-able values (a server sending an object) become JSON text."""
    if value is None or isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


__all__ = ["FINAL_STATUSES", "ITEM_TYPES", "ROLES", "STATUSES", "Item", "item_text"]
