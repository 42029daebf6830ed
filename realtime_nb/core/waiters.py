"""Client events waiting for the server's answer, and the matching of server events to them.

The server acknowledges a client event only by what it does: ``conversation.item.done`` for
the created item's id, ``conversation.item.deleted`` for a deleted id, ``response.done`` for
the response that ``response.created`` announced, or an ``error`` naming the client
``event_id``. :class:`Calls` keeps one :class:`Call` per submitted event, indexed by
``(kind, key)`` and by ``event_id`` so that a burst of thousands of pending calls costs O(1)
per event. Pure: a call's outcome reaches whoever waits through its done callbacks (the session
turns them into futures); the caller serialises every method here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import RealtimeServerError
from .conversation import Conversation
from .items import Item
from .protocol import REQUEST_KEY, ServerEvent
from .records import Change, Record

#: What a call waits for: the server event that answers it (``None``: only being sent).
ANSWERS = {
    "item_done": "conversation.item.done",
    "deleted": "conversation.item.deleted",
    "retrieved": "conversation.item.retrieved",
    "truncated": "conversation.item.truncated",
    "response": "response.done",
}


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


class Call:
    """One submitted client event and, unless ``kind`` is ``None``, the answer it waits for.

    ``seq`` orders calls by submission; ``replay`` marks the events a reconnect generated
    (they rebuild the server's conversation and answer nobody).
    """

    __slots__ = ("_callbacks", "attempts", "cancel_on_create", "done", "error", "event",
                 "event_id", "key", "kind", "replay", "response_id", "result", "sent", "seq")

    def __init__(self, event: dict[str, Any], kind: str | None, key: str | None, seq: int,
                 *, replay: bool = False) -> None:
        self.event = event
        self.event_id = str(event["event_id"])
        self.kind = kind
        self.key = key
        self.seq = seq
        self.replay = replay
        self.sent = False
        self.attempts = 0  # connections that ended while it was on the wire, unanswered
        self.response_id: str | None = None
        self.cancel_on_create = False
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None
        self._callbacks: list[Callable[[Call], Any]] = []

    def add_done_callback(self, fn: Callable[[Call], Any]) -> None:
        """``fn(call)`` once the call has its outcome (at once if it has)."""
        if self.done:
            fn(self)
        else:
            self._callbacks.append(fn)

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        if self.done:
            return
        self.done, self.result, self.error = True, result, error
        callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn(self)

    def __repr__(self) -> str:
        state = "done" if self.done else "sent" if self.sent else "queued"
        return f"<Call {self.event.get('type')} {self.event_id} {state}>"


class Calls:
    """The unanswered calls, in submission order, with their two indexes."""

    def __init__(self) -> None:
        self.waiting: dict[str, Call] = {}  # event_id -> call (insertion = submission order)
        self._by_key: dict[tuple[str, str | None], list[Call]] = {}
        #: Response calls whose caller gave up before ``response.created``: a late
        #: ``response.created`` of theirs must not be taken by a newer call.
        self.abandoned: dict[str, Call] = {}
        #: True once the server echoed our ``response.metadata`` key: from then on a response
        #: without it is not ours (a server-started one), never matched by arrival order.
        self.echoes_metadata = False

    def add(self, call: Call) -> None:
        self.waiting[call.event_id] = call
        self._by_key.setdefault((call.kind or "", call.key), []).append(call)

    def _drop(self, call: Call) -> None:
        self.waiting.pop(call.event_id, None)
        lst = self._by_key.get((call.kind or "", call.key))
        if lst is not None and call in lst:
            lst.remove(call)
            if not lst:
                del self._by_key[(call.kind or "", call.key)]

    def finish(self, call: Call, result: Any = None, error: BaseException | None = None) -> None:
        self._drop(call)
        call.finish(result, error)

    def forget(self, call: Call) -> None:
        """The caller gave up (timeout, interrupt): nobody waits for the answer any more."""
        self._drop(call)
        if call.kind == "response" and call.response_id is None:
            self.abandoned[call.event_id] = call
            while len(self.abandoned) > 64:  # a bounded memory of them
                del self.abandoned[next(iter(self.abandoned))]

    def fail_all(self, exc: BaseException) -> None:
        for call in list(self.waiting.values()):
            self.finish(call, error=exc)
        self.abandoned.clear()

    def responses(self) -> list[Call]:
        return list(self._by_key.get(("response", None), ()))

    def _finish_key(self, kind: str, key: str, result: Any) -> list[Call]:
        calls = list(self._by_key.get((kind, key), ()))
        for call in calls:
            self.finish(call, result)
        return calls

    # ------------------------------------------------------------------ matching
    def fail_event(self, err: RealtimeServerError) -> list[Call]:
        """Fail the call whose event the server refused; returns it (or nothing)."""
        self.abandoned.pop(err.event_id or "", None)
        call = self.waiting.get(err.event_id or "")
        if call is None:
            return []
        self.finish(call, error=err)
        return [call]

    def resolve(self, event: ServerEvent, records: list[Record], model: Conversation,
                beta: bool) -> list[Call]:
        """Finish the calls that this server event (and the model's records of it) answers;
        returns them. ``beta``: ``conversation.item.created`` is the final item event."""
        answered: list[Call] = []
        for rec in records:
            if (isinstance(rec, Change) and rec.kind != "removed" and rec.done
                    and ("item_done", rec.item.id) in self._by_key):
                answered += self._finish_key("item_done", rec.item.id, rec.item.copy())
        etype = event.type
        if etype not in _ANSWERING:
            return answered  # deltas and the like answer no call
        item_id = event.item_id
        if etype == "conversation.item.created" and beta and item_id:
            item = model.get(item_id)
            if item is not None:
                answered += self._finish_key("item_done", item_id, item.copy())
        elif etype == "conversation.item.deleted" and item_id:
            answered += self._finish_key("deleted", item_id, item_id)
        elif etype == "conversation.item.retrieved" and item_id:
            item = model.get(item_id)
            answered += self._finish_key("retrieved", item_id,
                                         item.copy() if item else event.item)
        elif etype == "conversation.item.truncated" and item_id:
            item = model.get(item_id)
            answered += self._finish_key("truncated", item_id, item.copy() if item else None)
        elif etype == "response.done":
            rid = event.response_id
            for call in [c for c in self.responses() if c.response_id == rid]:
                self.finish(call, response_of(event, model))
                answered.append(call)
        return answered

    def match_created(self, event: ServerEvent) -> Call | None:
        """The call that asked for the response ``response.created`` announces: the one our
        ``response.metadata`` key names (the server echoes it), else, for a server that does
        not echo it, the oldest sent call still waiting for its start. Returns an abandoned
        call too (the caller may still have to cancel it); ``None`` when it is nobody's."""
        resp = event.get("response")
        meta = resp.get("metadata") if isinstance(resp, dict) else None
        tag = meta.get(REQUEST_KEY) if isinstance(meta, Mapping) else None
        if isinstance(tag, str):
            self.echoes_metadata = True
            call = self.waiting.get(tag) or self.abandoned.pop(tag, None)
        elif self.echoes_metadata:
            return None  # not ours: a response the server started itself
        else:
            pending = [c for c in (*self.abandoned.values(), *self.responses())
                       if c.sent and c.response_id is None]
            call = min(pending, key=lambda c: c.seq) if pending else None
            if call is not None:
                self.abandoned.pop(call.event_id, None)
        if call is not None:
            call.response_id = event.response_id
        return call


def tag_response(event: dict[str, Any]) -> dict[str, Any]:
    """``response.create`` with our request key in ``response.metadata`` (the server echoes
    it in ``response.created``), unless the caller's metadata has no room left."""
    response = dict(event.get("response") or {})
    meta = response.get("metadata")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict) or len(meta) >= 16:
        return event
    response["metadata"] = {**meta, REQUEST_KEY: str(event["event_id"])}
    return {**event, "response": response}


#: The event types that resolve() matches to calls beyond the records' first-done items.
_ANSWERING = frozenset({
    "conversation.item.created", "conversation.item.deleted", "conversation.item.retrieved",
    "conversation.item.truncated", "response.done",
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
