"""The embedded server's wire helpers: ids, server events, refusals and items as each dialect
shows them (from the one dialect table, :data:`realtime_nb.core.protocol.DIALECTS`).
"""

from __future__ import annotations

import copy
import secrets
import string
from collections.abc import Mapping
from typing import Any

from ..core.protocol import dialect

_ALNUM = string.ascii_letters + string.digits


def random_id(prefix: str, length: int = 21) -> str:
    """``prefix`` + ``length`` random letters and digits (the shape of OpenAI's ids)."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


class RequestError(Exception):
    """A client event the server refuses; becomes one ``error`` event, nothing else happens."""

    def __init__(self, message: str, *, code: str | None = "invalid_value",
                 param: str | None = None, type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.message, self.code, self.param, self.type = message, code, param, type


def server_event(type: str, /, **fields: Any) -> dict[str, Any]:
    """A server event with a fresh ``event_id`` (``event_`` + 21 letters/digits)."""
    return {"type": type, "event_id": random_id("event_"), **fields}


def error_event(exc: RequestError, client_event_id: str | None) -> dict[str, Any]:
    """The ``error`` event for a refused client event (``error.event_id`` = the client's id)."""
    return server_event("error", error={
        "type": exc.type, "code": exc.code, "message": exc.message, "param": exc.param,
        "event_id": client_event_id,
    })


def render_item(item: Mapping[str, Any], name: str, *, with_audio: bool = False
                ) -> dict[str, Any]:
    """A stored (GA-spelled) item as dialect ``name`` shows it; audio bytes only when
    ``with_audio`` (retrieve)."""
    spec = dialect(name)
    out = copy.deepcopy(dict(item))
    metadata = out.pop("metadata", None)
    parts = out.get("content")
    if isinstance(parts, list):
        for part in parts:
            if not with_audio and "audio" in part:
                del part["audio"]
                part.setdefault("transcript", None)
            if out.get("role") == "assistant":
                part["type"] = spec.part_types.get(part.get("type"), part.get("type"))
    if spec.item_object:
        out = {"id": out.pop("id"), "object": "realtime.item", **out}
    if spec.item_metadata:
        out["metadata"] = metadata
    return out
