"""What the browser asks for, done with the same client calls a cell makes.

The widget's front end sends actions (edit, delete, insert, send, respond, cancel, session,
approve, deny) as custom messages; :class:`Actions` turns each into a call on the conversation
(``create``, ``delete``, ``respond`` with ``wait="future"``, ``cancel``, ``update_session``,
``approve``, ``deny``), so
validation, ids and replay after a reconnect are exactly those of a cell. Nothing here waits: a
call's outcome comes back through its future, and a failure that the server did not report
itself (a closed session, a refused send) is handed to ``report``.

Actions that cannot succeed are refused before anything is sent (a response while one runs, a
stop while none runs, empty text), so they never become server errors.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any, Protocol

from ..core.items import Item
from ..core.protocol import new_item_id
from ..core.validation import PART_TYPES_BY_ROLE, message, validate_item
from ..errors import InvalidItemError, RealtimeError, RealtimeServerError

_TEXT_PARTS = ("input_text", "output_text", "text")
#: The session fields the widget's session panel edits (flat; mapped per dialect below).
SESSION_FIELDS = ("instructions", "voice", "modalities", "tools", "turn_detection")


class Client(Protocol):
    """The calls actions use (``realtime_nb.RealtimeConversation`` has them)."""

    endpoint: Any

    def item(self, item_id: str) -> Item: ...
    def create(self, item: Any = None, *, role: str = ..., text: str | None = ...,
               previous_item_id: str | None = ..., id: str | None = ...,
               wait: Any = ...) -> Any: ...
    def delete(self, item_id: str, *, wait: Any = ...) -> Any: ...
    def respond(self, response: Any = None, *, wait: Any = ...) -> Any: ...
    def cancel(self, response_id: str | None = None) -> str: ...
    def update_session(self, session: Any = None, **fields: Any) -> str: ...
    def approve(self, call_id: str, approved: bool = ..., reason: str | None = ...) -> Any: ...
    def deny(self, call_id: str, reason: str | None = ...) -> Any: ...


#: ``report(exc, request_id, item_id)``: tell the browser about a failed action.
Report = Callable[[BaseException, str, "str | None"], None]


class Actions:
    """Runs browser actions on a client; remembers which request each event came from."""

    def __init__(self, client: Client, report: Report,
                 running: Callable[[], str | None] = lambda: None) -> None:
        self._client = client
        self._report = report
        #: the id of the response running now, or None (the widget follows response events)
        self._running = running
        #: event_id -> (request id, item id) of the events actions sent (for server errors)
        self.requests: dict[str, tuple[str, str | None]] = {}

    def run(self, kind: Any, content: dict[str, Any], request_id: str) -> str | None:
        """Start one action; raises (InvalidItemError, KeyError...) if it cannot start.
        Returns the id of the item the action creates, when it creates one."""
        client = self._client
        if kind == "edit":
            return self._edit(str(content.get("item_id")), content.get("text"), request_id)
        if kind == "delete":
            item_id = str(content.get("item_id"))
            self._track(client.delete(item_id, wait="future"), request_id, item_id)
            return None
        if kind == "insert":
            anchor = str(content.get("previous_item_id") or "root")
            new_id = new_item_id()
            fut = client.create(role=str(content.get("role") or "user"),
                                text=_text(content.get("text")), previous_item_id=anchor,
                                id=new_id, wait="future")
            self._track(fut, request_id, None if anchor == "root" else anchor)
            return new_id
        if kind == "send":
            new_id = new_item_id()
            text = _text(content.get("text"))
            if content.get("respond"):
                self._refuse_while_running()
            fut = self._track(client.create(text=text, id=new_id, wait="future"),
                              request_id, None)
            if content.get("respond"):
                # ask for the response once the message is in: it answers this message
                fut.add_done_callback(lambda f: f.exception() is None and self._respond(
                    request_id))
            return new_id
        if kind == "respond":
            self._refuse_while_running()
            self._respond(request_id)
            return None
        if kind == "cancel":
            running = self._running()
            if running is None:
                raise RealtimeError("no response is running")
            self.requests[client.cancel(running)] = (request_id, None)
            return None
        if kind == "session":
            fields = session_fields(content.get("session"), client.endpoint.dialect)
            self.requests[client.update_session(**fields)] = (request_id, None)
            return None
        if kind in ("approve", "deny"):
            self._decide(kind == "approve", content.get("call_id"), content.get("reason"))
            return None
        raise KeyError(f"unknown action {kind!r}")

    def _decide(self, approved: bool, call_id: Any, reason: Any) -> None:
        """Answer a tool call waiting for approval (a function call's ``call_id`` or an MCP
        request's item id), as ``conv.approve`` / ``conv.deny`` would."""
        if not isinstance(call_id, str) or not call_id:
            raise InvalidItemError("call_id", "must name a tool call")
        why = (reason.strip() or None) if isinstance(reason, str) else None
        try:
            if approved:
                self._client.approve(call_id, True, why)
            else:
                self._client.deny(call_id, why)
        except ValueError as exc:  # answered meanwhile (a cell, another view): not waiting
            raise RealtimeError(str(exc)) from None

    def _refuse_while_running(self) -> None:
        if self._running() is not None:
            raise RealtimeError("a response is already running: stop it first")

    def _respond(self, request_id: str) -> None:
        self._track(self._client.respond(wait="future"), request_id, None)

    def _track(self, fut: concurrent.futures.Future[Any], request_id: str,
               item_id: str | None) -> concurrent.futures.Future[Any]:
        self.requests[str(getattr(fut, "event_id", ""))] = (request_id, item_id)

        def done(f: concurrent.futures.Future[Any]) -> None:
            exc = f.exception()
            if exc is not None and not isinstance(exc, RealtimeServerError):
                self._report(exc, request_id, item_id)  # server errors arrive as events

        fut.add_done_callback(done)
        return fut

    def _edit(self, item_id: str, text: Any, request_id: str) -> str:
        """Replace an item's text: create the edited copy right after it, then delete the old
        one once the server accepted the copy, so a rejected edit changes nothing."""
        try:
            old = self._client.item(item_id)
        except KeyError:
            raise KeyError(f"item {item_id!r} is not in the conversation") from None
        new = edited_item(old, _text(text))
        new["id"] = new_id = new_item_id()
        fut = self._track(self._client.create(new, previous_item_id=old.id, wait="future"),
                          request_id, old.id)

        def delete_old(f: concurrent.futures.Future[Any]) -> None:
            if f.exception() is None:
                self._track(self._client.delete(old.id, wait="future"), request_id, old.id)

        fut.add_done_callback(delete_old)
        return new_id


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


def session_fields(flat: Any, dialect: str) -> dict[str, Any]:
    """The session panel's flat fields as ``update_session`` keywords in the server's
    dialect: GA (and Yandex) nest voice and turn detection under ``audio`` and call the
    modalities ``output_modalities``; beta keeps them flat."""
    if not isinstance(flat, dict) or not flat:
        raise InvalidItemError("session", "nothing to change")
    unknown = sorted(set(flat) - set(SESSION_FIELDS))
    if unknown:
        raise InvalidItemError(f"session.{unknown[0]}", "is not a field the panel edits")
    if "tools" in flat and not isinstance(flat["tools"], list):
        raise InvalidItemError("session.tools", "must be a JSON array of tools")
    if dialect == "beta":  # beta speaks audio with its transcript: ["audio", "text"]
        out = dict(flat)
        if out.get("modalities") == ["audio"]:
            out["modalities"] = ["audio", "text"]
        return out
    out: dict[str, Any] = {k: flat[k] for k in ("instructions", "tools") if k in flat}
    if "modalities" in flat:
        out["output_modalities"] = flat["modalities"]
    audio: dict[str, Any] = {}
    if "turn_detection" in flat:
        audio["input"] = {"turn_detection": flat["turn_detection"]}
    if "voice" in flat:
        audio["output"] = {"voice": flat["voice"]}
    if audio:
        out["audio"] = audio
    return out


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidItemError("text", "must be a string")
    if not value.strip():
        raise InvalidItemError("text", "is empty: write something first")
    return value
