"""Typed exceptions of realtime_nb.

Every error a user can meet is one of these, so a notebook can catch exactly what it expects.
None of them ever carries an API key: endpoint details are redacted before they get here.
"""

from __future__ import annotations

from typing import Any


class RealtimeError(Exception):
    """Base class of every realtime_nb error."""


class InvalidItemError(RealtimeError, ValueError):
    """An item or client event was rejected before it reached the wire.

    ``field`` names the offending field as a dotted path (``item.content[0].type``).
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class ProtocolError(RealtimeError):
    """A frame from the server could not be understood (not JSON, no ``type``, wrong shape).

    The session logs it, counts it and goes on; it is raised only by the parser itself.
    """

    def __init__(self, message: str, raw: str | bytes | None = None) -> None:
        self.raw = raw
        super().__init__(message)


class RealtimeServerError(RealtimeError):
    """The server answered a client event with an ``error`` event.

    Raised in the cell whose call caused it: ``code``, ``message``, ``param`` and the client
    ``event_id`` come straight from the server's ``error`` object.
    """

    def __init__(
        self,
        message: str,
        *,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        event_id: str | None = None,
        raw: dict[str, Any] | None = None,
    ) -> None:
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.event_id = event_id
        self.raw = raw or {}
        detail = ", ".join(
            f"{k}={v!r}"
            for k, v in (("type", type), ("code", code), ("param", param), ("event_id", event_id))
            if v is not None
        )
        super().__init__(f"{message} ({detail})" if detail else message)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> RealtimeServerError:
        err = event.get("error")
        if not isinstance(err, dict):
            err = {"message": str(err)}
        return cls(
            str(err.get("message") or "server error"),
            type=_str_or_none(err.get("type")),
            code=_str_or_none(err.get("code")),
            param=_str_or_none(err.get("param")),
            event_id=_str_or_none(err.get("event_id")),
            raw=event,
        )


class ConnectionClosedError(RealtimeError):
    """The WebSocket connection is closed; the call could not be sent or answered."""


class RealtimeTimeoutError(RealtimeError, TimeoutError):
    """A blocking call waited longer than its timeout for the server's reply."""


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
