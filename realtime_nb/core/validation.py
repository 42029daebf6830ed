"""Strict checks of items and client events a cell builds, before anything reaches the wire.

A typo in a cell becomes an :class:`~realtime_nb.errors.InvalidItemError` naming the field
(``item.content[0].type``) instead of a server ``error`` three events later. The embedded
server reuses the same checks to refuse what the real service refuses.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidItemError
from .items import ITEM_TYPES, ROLES, STATUSES

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
