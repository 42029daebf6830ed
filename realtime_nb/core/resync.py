"""Rebuilding a conversation in a fresh server session after a reconnect.

A new WebSocket connection is a new, empty server session (and Yandex caps sessions at
minutes), so after a drop the client replays what it knows: the session configuration it sent,
then every item in order as ``conversation.item.create`` with the item's *own* id, so the ids in
the list and in ``conv.df`` stay the same and the server's echoes merge into existing rows.
Audio cannot be replayed (the client never keeps audio bytes): audio parts travel as their
transcripts. Pure functions, no I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from .items import FIELDS_BY_TYPE, ITEM_TYPES, MAX_ITEM_ID, Item, validate_item
from .protocol import new_event_id

_TEXT_BY_ROLE = {"user": "input_text", "system": "input_text", "assistant": "output_text"}


def replay_item(item: Item) -> dict[str, Any] | None:
    """The create-able form of a known item, or ``None`` when it cannot be replayed."""
    if item.type not in ITEM_TYPES or not item.id or len(item.id) > MAX_ITEM_ID:
        return None
    wire = item.to_wire()
    allowed = set(FIELDS_BY_TYPE[item.type]) | {"id", "type", "metadata"}
    out = {k: copy.deepcopy(v) for k, v in wire.items() if k in allowed and v is not None}
    if item.type == "message":
        part_type = _TEXT_BY_ROLE.get(item.role or "", "input_text")
        parts = []
        for part in item.content:
            ptype = part.get("type")
            if ptype == "input_image" and item.role == "user":
                keep = ("type", "image_url", "detail")
                parts.append({k: v for k, v in part.items() if k in keep})
                continue
            text = part.get("text") if isinstance(part.get("text"), str) else part.get("transcript")
            if isinstance(text, str):
                parts.append({"type": part_type, "text": text})
        if not parts:
            parts = [{"type": part_type, "text": ""}]
        out["content"] = parts
    if item.type == "function_call" and out.get("arguments") in (None, ""):
        out["arguments"] = "{}"
    if item.type == "function_call_output" and out.get("output") is None:
        out["output"] = ""
    try:
        return validate_item(out)
    except ValueError:
        return None


def replay_events(
    items: Iterable[Item], session_config: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Client events that rebuild ``items`` (in order) in an empty server session."""
    events: list[dict[str, Any]] = []
    if session_config:
        events.append({"type": "session.update", "event_id": new_event_id(),
                       "session": copy.deepcopy(session_config)})
    for item in items:
        wire = replay_item(item)
        if wire is not None:
            events.append({"type": "conversation.item.create", "event_id": new_event_id(),
                           "item": wire})
    return events
