"""Calls waiting for the server's reply, and the matching of server events to them.

The server acknowledges a client event only by what it does: ``conversation.item.done`` for
the created item's id, ``conversation.item.deleted`` for a deleted id, ``response.done`` for
the response that the next ``response.created`` announced, or an ``error`` naming the client
``event_id``. :class:`Waiters` keeps one future per waiting call, indexed by ``(kind, key)``
and by ``event_id`` so that a burst of thousands of pending calls costs O(1) per event.
The caller (the session) holds its lock around every method here.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from typing import Any

from .conversation import Change, Conversation, Record
from .errors import RealtimeServerError
from .items import Item
from .protocol import ServerEvent


@dataclass
class Response:
    """The outcome of ``response.create``: id, final status, output items and token usage."""

    id: str
    status: str | None
    items: list[Item]
    usage: dict[str, Any] | None = None
    status_details: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return "\n".join(item.text for item in self.items if item.text)

    def __repr__(self) -> str:
        text = self.text
        short = text[:60] + "…" if len(text) > 60 else text
        return f"Response(id={self.id!r}, status={self.status!r}, text={short!r})"


@dataclass
class Waiter:
    """One call waiting: ``kind`` is item_done | deleted | retrieved | truncated | response."""

    kind: str
    key: str | None
    event_id: str
    event: dict[str, Any] | None = None
    future: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)
    response_id: str | None = None
    sent: bool = False


class Waiters:
    """The waiting calls, in submission order, with their two indexes."""

    def __init__(self) -> None:
        self._all: dict[int, Waiter] = {}  # id(waiter) -> waiter, in submission order
        self._by_key: dict[tuple[str, str | None], list[Waiter]] = {}
        self._by_event: dict[str, list[Waiter]] = {}

    def __len__(self) -> int:
        return len(self._all)

    def add(self, kind: str, key: str | None, event: dict[str, Any]) -> Waiter:
        w = Waiter(kind, key, str(event["event_id"]), event)
        self._all[id(w)] = w
        self._by_key.setdefault((kind, key), []).append(w)
        self._by_event.setdefault(w.event_id, []).append(w)
        return w

    def _drop(self, w: Waiter) -> None:
        self._all.pop(id(w), None)
        for index, k in ((self._by_key, (w.kind, w.key)), (self._by_event, w.event_id)):
            lst = index.get(k)  # type: ignore[attr-defined]
            if lst is not None and w in lst:
                lst.remove(w)
                if not lst:
                    del index[k]  # type: ignore[attr-defined]

    def finish(self, w: Waiter, *, result: Any = None, exc: BaseException | None = None) -> None:
        self._drop(w)
        if w.future.done():
            return
        if exc is not None:
            w.future.set_exception(exc)
        else:
            w.future.set_result(result)

    def finish_kind(self, kind: str, key: str, result: Any) -> None:
        for w in list(self._by_key.get((kind, key), ())):
            self.finish(w, result=result)

    def fail_event(self, event_id: str, exc: BaseException) -> list[Waiter]:
        matched = list(self._by_event.get(event_id, ()))
        for w in matched:
            self.finish(w, exc=exc)
        return matched

    def fail_all(self, exc: BaseException) -> None:
        for w in list(self._all.values()):
            self.finish(w, exc=exc)

    def forget(self, future: concurrent.futures.Future[Any]) -> None:
        for w in [w for w in self._all.values() if w.future is future]:
            self._drop(w)

    def mark_sent(self, event_id: str) -> None:
        for w in self._by_event.get(event_id, ()):
            w.sent = True

    def in_flight(self) -> list[Waiter]:
        """Calls whose event is on the wire and unanswered, in submission order."""
        return [w for w in self._all.values() if w.sent and w.event is not None]

    def wants(self, kind: str, key: str) -> bool:
        return (kind, key) in self._by_key

    # ------------------------------------------------------------------ matching
    def resolve(self, event: ServerEvent, records: list[Record], model: Conversation,
                beta: bool) -> None:
        """Finish the calls that this server event (and the model's records of it) answers."""
        if event.type == "error":
            err = RealtimeServerError.from_event(event.data)
            if err.event_id:
                self.fail_event(err.event_id, err)
            return
        for rec in records:
            if (isinstance(rec, Change) and rec.kind != "removed" and rec.done
                    and self.wants("item_done", rec.item.id)):
                self.finish_kind("item_done", rec.item.id, rec.item.copy())
        etype = event.type
        if etype not in _ANSWERING:
            return  # deltas and the like answer no call
        item_id = event.item_id
        if etype == "conversation.item.created" and beta and item_id:
            item = model.get(item_id)
            if item is not None:
                self.finish_kind("item_done", item_id, item.copy())
        elif etype == "conversation.item.deleted" and item_id:
            self.finish_kind("deleted", item_id, item_id)
        elif etype == "conversation.item.retrieved" and item_id:
            item = model.get(item_id)
            self.finish_kind("retrieved", item_id, item.copy() if item else event.item)
        elif etype == "conversation.item.truncated" and item_id:
            item = model.get(item_id)
            self.finish_kind("truncated", item_id, item.copy() if item else None)
        elif etype == "response.created":
            for w in self._by_key.get(("response", None), ()):
                if w.response_id is None:
                    w.response_id = event.response_id
                    break
        elif etype == "response.done":
            rid = event.response_id
            for w in [w for w in self._by_key.get(("response", None), ()) if w.response_id == rid]:
                self.finish(w, result=response_of(event, model))


#: The event types that resolve() matches to calls beyond the records' first-done items.
_ANSWERING = frozenset({
    "conversation.item.created", "conversation.item.deleted", "conversation.item.retrieved",
    "conversation.item.truncated", "response.created", "response.done",
})


def response_of(event: ServerEvent, model: Conversation) -> Response:
    """The :class:`Response` a ``response.done`` describes (items as the model knows them)."""
    resp = event.get("response") or {}
    items: list[Item] = []
    for raw in resp.get("output") or []:
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            known = model.get(raw["id"])
            items.append(known.copy() if known else Item.from_wire(raw))
    details = resp.get("status_details")
    return Response(
        str(resp.get("id")),
        resp.get("status"),
        items,
        resp.get("usage") if isinstance(resp.get("usage"), dict) else None,
        details if isinstance(details, dict) else None,
    )
