"""What the browser asks for, done with the same client calls a cell makes.

The widget's front end sends actions (edit, delete, insert, send, respond, cancel) as custom
messages; :class:`Actions` turns each into a call on the conversation (``create``,
``delete``, ``respond``, ``cancel`` with ``wait="future"``), so validation, ids and replay after a
reconnect are exactly those of a cell. Nothing here waits: a call's outcome comes back through
its future, and a failure that the server did not report itself (a closed session, a refused
send) is handed to ``report``.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any, Protocol

from ..core.items import Item
from ..core.validation import PART_TYPES_BY_ROLE, message, validate_item
from ..errors import InvalidItemError, RealtimeServerError

_TEXT_PARTS = ("input_text", "output_text", "text")


class Client(Protocol):
    """The calls actions use (``realtime_nb.RealtimeConversation`` has them)."""

    def item(self, item_id: str) -> Item: ...
    def create(self, item: Any = None, *, role: str = ..., text: str | None = ...,
               previous_item_id: str | None = ..., wait: Any = ...) -> Any: ...
    def delete(self, item_id: str, *, wait: Any = ...) -> Any: ...
    def respond(self, response: Any = None, *, wait: Any = ...) -> Any: ...
    def cancel(self, response_id: str | None = None) -> str: ...


#: ``report(exc, request_id, item_id)``: tell the browser about a failed action.
Report = Callable[[BaseException, str, "str | None"], None]


class Actions:
    """Runs browser actions on a client; remembers which request each event came from."""

    def __init__(self, client: Client, report: Report) -> None:
        self._client = client
        self._report = report
        #: event_id -> (request id, item id) of the events actions sent (for server errors)
        self.requests: dict[str, tuple[str, str | None]] = {}

    def run(self, kind: Any, content: dict[str, Any], request_id: str) -> None:
        """Start one action; raises (InvalidItemError, KeyError...) if it cannot start."""
        client = self._client
        if kind == "edit":
            self._edit(str(content.get("item_id")), content.get("text"), request_id)
        elif kind == "delete":
            item_id = str(content.get("item_id"))
            self._track(client.delete(item_id, wait="future"), request_id, item_id)
        elif kind == "insert":
            anchor = str(content.get("previous_item_id") or "root")
            fut = client.create(role=str(content.get("role") or "user"),
                                text=_text(content.get("text")), previous_item_id=anchor,
                                wait="future")
            self._track(fut, request_id, None if anchor == "root" else anchor)
        elif kind == "send":
            self._track(client.create(text=_text(content.get("text")), wait="future"),
                        request_id, None)
        elif kind == "respond":
            self._track(client.respond(wait="future"), request_id, None)
        elif kind == "cancel":
            client.cancel()
        else:
            raise KeyError(f"unknown action {kind!r}")

    def _track(self, fut: concurrent.futures.Future[Any], request_id: str,
               item_id: str | None) -> concurrent.futures.Future[Any]:
        self.requests[str(getattr(fut, "event_id", ""))] = (request_id, item_id)

        def done(f: concurrent.futures.Future[Any]) -> None:
            exc = f.exception()
            if exc is not None and not isinstance(exc, RealtimeServerError):
                self._report(exc, request_id, item_id)  # server errors arrive as events

        fut.add_done_callback(done)
        return fut

    def _edit(self, item_id: str, text: Any, request_id: str) -> None:
        """Replace an item's text: create the edited copy right after it, then delete the old
        one once the server accepted the copy, so a rejected edit changes nothing."""
        try:
            old = self._client.item(item_id)
        except KeyError:
            raise KeyError(f"item {item_id!r} is not in the conversation") from None
        new = edited_item(old, _text(text))
        fut = self._track(self._client.create(new, previous_item_id=old.id, wait="future"),
                          request_id, old.id)

        def delete_old(f: concurrent.futures.Future[Any]) -> None:
            if f.exception() is None:
                self._track(self._client.delete(old.id, wait="future"), request_id, old.id)

        fut.add_done_callback(delete_old)


def edited_item(old: Item, text: str) -> dict[str, Any]:
    """A new item like ``old`` with its text replaced (messages) or its output (tool output)."""
    if old.type == "function_call_output":
        item = {"type": "function_call_output", "call_id": old.call_id, "output": text}
    elif old.type == "message" and old.role in PART_TYPES_BY_ROLE:
        role = old.role
        kept = [p for p in old.content if p.get("type") not in _TEXT_PARTS
                and p.get("type") in PART_TYPES_BY_ROLE[role]]
        item = message(text, role)
        item["content"] = item["content"] + kept
    else:
        raise InvalidItemError("item.type", f"a {old.type} item cannot be edited as text")
    return validate_item(item)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidItemError("text", "must be a string")
    return value
