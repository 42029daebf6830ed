"""The conversation model: a faithful, I/O-free copy of the server's conversation.

Feed it every :class:`~realtime_nb.core.protocol.ServerEvent` with :meth:`Conversation.apply`;
it returns small change records (:mod:`realtime_nb.core.records`) that the widget, the
DataFrame and the waiting calls consume. It never raises on server input: an event it cannot
use becomes a :class:`~realtime_nb.core.records.Skipped` record with the reason.

Order follows ``previous_item_id``: ``None`` puts an item at the head (as servers report the
first item), a known id right after that item, and an id the model never saw appends the item
at the end with ``flagged=True``, so nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .items import FINAL_STATUSES, Item
from .order import LinkedOrder
from .protocol import ServerEvent
from .records import Change, Delta, Record, ResponseChange, Skipped

#: Text delta events -> (the part's field, the type of a part the delta creates).
TEXT_DELTAS: dict[str, tuple[str, str]] = {
    "response.output_text.delta": ("text", "output_text"),
    "response.output_audio_transcript.delta": ("transcript", "output_audio"),
    "conversation.item.input_audio_transcription.delta": ("transcript", "input_audio"),
}
#: Events that finish a text field -> (the part's field, the event's field, a new part's type).
TEXT_DONES: dict[str, tuple[str, str, str]] = {
    "response.output_text.done": ("text", "text", "output_text"),
    "response.output_audio_transcript.done": ("transcript", "transcript", "output_audio"),
    "conversation.item.input_audio_transcription.completed": ("transcript", "transcript",
                                                              "input_audio"),
}


@dataclass
class ResponseState:
    """A response as the model knows it: its status (``None`` until it is final) and the
    ids of its output items in order."""

    id: str
    status: str | None = None
    item_ids: list[str] = field(default_factory=list)
    finished: bool = False


class Conversation:
    """Items keyed by id in a linked order. No I/O, no widgets, no threads."""

    def __init__(self) -> None:
        self._items: dict[str, Item] = {}
        self._order = LinkedOrder()
        self._done: set[str] = set()
        self._item_response: dict[str, str] = {}
        self.responses: dict[str, ResponseState] = {}
        self.session: dict[str, Any] = {}

    # ---------------------------------------------------------------- reading
    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __iter__(self) -> Iterator[Item]:
        items = self._items
        return (items[i] for i in self._order)

    def get(self, item_id: str) -> Item | None:
        return self._items.get(item_id)

    def ids(self) -> list[str]:
        return list(self._order)

    def is_done(self, item_id: str) -> bool:
        return item_id in self._done

    def response_of(self, item_id: str) -> str | None:
        return self._item_response.get(item_id)

    # ---------------------------------------------------------------- linking
    def _link(self, item: Item, after: str | None) -> None:
        """Insert ``item`` after ``after`` (``None``: at the head), keeping every
        ``previous_item_id`` it touches in step with the order."""
        nxt = self._order.insert(item.id, after)
        if nxt is not None:
            self._items[nxt].previous_item_id = item.id
        item.previous_item_id = after

    def _unlink(self, item_id: str) -> None:
        prev, nxt = self._order.remove(item_id)
        if nxt is not None:
            self._items[nxt].previous_item_id = prev

    def _remove(self, item_id: str) -> Item:
        self._unlink(item_id)
        self._done.discard(item_id)
        return self._items.pop(item_id)

    def _place(self, item: Item, has_anchor: bool, anchor: str | None) -> None:
        """Link a new item where the event says it belongs (``anchor``: its
        ``previous_item_id`` if a string, when ``has_anchor``: the event has that field)."""
        if not has_anchor:
            after = self._order.tail
        elif anchor is None or anchor == "root":
            after = None
        elif anchor in self._items and anchor != item.id:
            after = anchor
        else:
            after = self._order.tail
            item.flagged = True
        self._link(item, after)

    def _maybe_move(self, item: Item, has_anchor: bool, anchor: str | None) -> bool:
        """Follow a changed ``previous_item_id`` on a later event; True if the item moved."""
        if not has_anchor:
            return False
        if anchor == "root":
            anchor = None
        if anchor == item.id or (anchor is not None and anchor not in self._items):
            return False
        item.flagged = False
        if self._order.prev(item.id) == anchor:
            return False
        self._unlink(item.id)
        self._link(item, anchor)
        return True

    # ---------------------------------------------------------------- after a lost connection
    def adopt(self, item: Item, ts: float) -> Change:
        """Append an item this model never saw on the wire, as done (a fork's history)."""
        self._items[item.id] = item
        self._link(item, self._order.tail)
        self._done.add(item.id)
        return Change("inserted", item, "realtime_nb.fork", item.previous_item_id, True, ts=ts)

    def drop(self, item_id: str, ts: float, cause: str) -> Change:
        """Remove an item that no server event removed (a response dropped after a lost
        connection); ``KeyError`` if it is not in the conversation."""
        prev = self._order.prev(item_id)
        item = self._remove(item_id)
        return Change("removed", item, cause, prev, ts=ts,
                      response_id=self._item_response.get(item_id))

    # ---------------------------------------------------------------- applying
    def apply(self, event: ServerEvent) -> list[Record]:
        """Apply one server event; return what changed. Never raises on bad input."""
        spec = TEXT_DELTAS.get(event.type)
        try:
            if spec is not None:  # the bulk of a stream: straight to the delta handler
                return self._text_delta(event, spec[0], spec[1])
            handler = _HANDLERS.get(event.type)
            return handler(self, event) if handler is not None else []
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            return [Skipped(event.type, f"malformed {event.type}: {exc!r}")]

    def _upsert(self, etype: str, raw: Any, has_anchor: bool, anchor: str | None, ts: float,
                *, final: bool) -> list[Record]:
        """Insert or update the item ``raw`` (an event's ``item``); ``etype`` is the event type
        the records carry, ``has_anchor`` / ``anchor`` its ``previous_item_id`` (see _place)."""
        iid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(iid, str) or not iid:
            return [Skipped(etype, "event has no item with a string id")]
        item_done = etype == "conversation.item.done"
        snapshot = Item.from_wire(raw)
        if item_done and snapshot.status not in FINAL_STATUSES:
            snapshot.status = "completed"  # done is final; servers that omit the status mean it
        done_now = final and iid not in self._done and (item_done
                                                        or snapshot.status in FINAL_STATUSES)
        if done_now:
            self._done.add(iid)
        rid = self._item_response.get(iid)
        existing = self._items.get(iid)
        if existing is None:
            self._items[iid] = snapshot
            self._place(snapshot, has_anchor, anchor)
            return [Change("inserted", snapshot, etype, snapshot.previous_item_id, done_now, None,
                           ts, rid)]
        existing.merge(snapshot)
        if self._maybe_move(existing, has_anchor, anchor):
            return [
                Change("removed", existing, etype, None, False, None, ts, rid),
                Change("inserted", existing, etype, existing.previous_item_id, done_now, None,
                       ts, rid),
            ]
        return [Change("updated", existing, etype, existing.previous_item_id, done_now, None, ts,
                       rid)]

    def _on_item(self, event: ServerEvent) -> list[Record]:
        """``conversation.item.added`` / ``.created`` / ``.done`` / ``.retrieved``."""
        data, etype = event.data, event.type
        final = etype in ("conversation.item.done", "conversation.item.created")
        if "previous_item_id" not in data:
            return self._upsert(etype, data.get("item"), False, None, event.received_at,
                                final=final)
        anchor = data["previous_item_id"]
        return self._upsert(etype, data.get("item"), True,
                            anchor if isinstance(anchor, str) else None, event.received_at,
                            final=final)

    def _on_deleted(self, event: ServerEvent) -> list[Record]:
        item_id = event.item_id
        item = self._items.get(item_id) if item_id else None
        if item is None:
            return [Skipped(event.type, f"deleted item {item_id!r} is not in the conversation")]
        self._remove(item.id)
        return [Change("removed", item, event.type, item.previous_item_id, ts=event.received_at,
                       response_id=self._item_response.get(item.id))]

    def _on_truncated(self, event: ServerEvent) -> list[Record]:
        item, ci = self._item_and_index(event)
        if item is None:
            return [Skipped(event.type, f"truncated item {event.item_id!r} is unknown")]
        if ci is not None and ci < len(item.content):
            part = item.content[ci]
            if "transcript" in part:
                # The server drops what was not heard; the model follows it.
                part["transcript"] = ""
        return [self._updated(item, event)]

    def _item_and_index(self, event: ServerEvent) -> tuple[Item | None, int | None]:
        data = event.data
        item_id = data.get("item_id")
        if not isinstance(item_id, str):
            item_id = event.item_id  # not a string: the event's item's id, or None
        item = self._items.get(item_id) if item_id else None
        return item, _content_index(data.get("content_index"))

    def _updated(self, item: Item, event: ServerEvent, delta: Delta | None = None) -> Change:
        return Change("updated", item, event.type, item.previous_item_id, delta=delta,
                      ts=event.received_at, response_id=self._item_response.get(item.id))

    @staticmethod
    def _part(item: Item, ci: int, default_type: str) -> dict[str, Any]:
        while len(item.content) <= ci:
            item.content.append({"type": default_type})
        return item.content[ci]

    def _unknown(self, event: ServerEvent) -> list[Record]:
        rid = event.response_id
        if rid is not None and rid in self.responses:
            return []  # out-of-band response items never enter the conversation
        return [Skipped(event.type, f"event for unknown item {event.item_id!r}")]

    def _text_delta(self, event: ServerEvent, key: str, part_type: str) -> list[Record]:
        item, ci = self._item_and_index(event)
        if item is None:
            return self._unknown(event)
        delta = event.data.get("delta")
        if not isinstance(delta, str):
            return [Skipped(event.type, "delta is not a string")]
        ci = ci or 0
        content = item.content  # (the part exists but for the first delta of a stream)
        part = content[ci] if ci < len(content) else self._part(item, ci, part_type)
        old = part.get(key)
        part[key] = (old if isinstance(old, str) else "") + delta
        if item.status is None and item.id not in self._done:
            item.status = "in_progress"
        return [self._updated(item, event, Delta(key, delta, ci))]  # type: ignore[arg-type]

    def _text_done(self, event: ServerEvent, key: str, field_name: str,
                   part_type: str) -> list[Record]:
        item, ci = self._item_and_index(event)
        if item is None:
            return self._unknown(event)
        value = event.get(field_name)
        if not isinstance(value, str):
            return [Skipped(event.type, f"{field_name} is not a string")]
        self._part(item, ci or 0, part_type)[key] = value
        return [self._updated(item, event)]

    def _on_text_done(self, event: ServerEvent) -> list[Record]:
        return self._text_done(event, *TEXT_DONES[event.type])

    def _on_arguments_delta(self, event: ServerEvent) -> list[Record]:
        item, _ = self._item_and_index(event)
        if item is None:
            return self._unknown(event)
        delta = event.get("delta")
        if not isinstance(delta, str):
            return [Skipped(event.type, "delta is not a string")]
        item.arguments = (item.arguments or "") + delta
        return [self._updated(item, event, Delta("arguments", delta))]

    def _on_arguments_done(self, event: ServerEvent) -> list[Record]:
        item = self._items.get(event.item_id or "")
        if item is None:
            return self._unknown(event)
        args = event.get("arguments")
        if not isinstance(args, str):
            return [Skipped(event.type, "arguments is not a string")]
        item.arguments = args
        for key in ("name", "call_id"):
            value = event.get(key)
            if isinstance(value, str):
                setattr(item, key, value)
        return [self._updated(item, event)]

    def _on_content_part(self, event: ServerEvent) -> list[Record]:
        item, ci = self._item_and_index(event)
        if item is None:
            return self._unknown(event)
        part = event.get("part")
        if not isinstance(part, dict):
            return [Skipped(event.type, "part is not an object")]
        slot = self._part(item, ci or 0, str(part.get("type") or "output_text"))
        for key, value in part.items():
            if key in ("text", "transcript") and isinstance(slot.get(key), str) and not value:
                continue  # never lose streamed text to an empty snapshot
            if key == "audio":
                continue  # audio bytes are not kept in the model
            slot[key] = value
        return [self._updated(item, event)]

    def _response(self, rid: str) -> ResponseState:
        resp = self.responses.get(rid)
        if resp is None:
            resp = self.responses[rid] = ResponseState(rid)
        return resp

    def _on_response_created(self, event: ServerEvent) -> list[Record]:
        rid = event.response_id
        if rid is None:
            return [Skipped(event.type, "response has no id")]
        self._response(rid)
        return []

    def _on_output_item(self, event: ServerEvent) -> list[Record]:
        rid = event.response_id
        raw = event.item_data
        if rid is None or raw is None or not isinstance(raw.get("id"), str):
            return [Skipped(event.type, "output item event without response_id or item id")]
        iid = raw["id"]
        resp = self._response(rid)
        if iid not in resp.item_ids:
            resp.item_ids.append(iid)
        self._item_response[iid] = rid
        if iid not in self._items:
            return []  # conversation.item.added places it; out-of-band items never arrive
        # the item's place is conversation.item.added's to say: no anchor here
        return self._upsert(event.type, raw, False, None, event.received_at,
                            final=event.type == "response.output_item.done")

    def _on_response_done(self, event: ServerEvent) -> list[Record]:
        rid = event.response_id
        resp = event.get("response")
        if rid is None or not isinstance(resp, dict):
            return [Skipped(event.type, "response.done without a response object")]
        entry = self._response(rid)
        status = resp.get("status")
        entry.status = status if isinstance(status, str) else None
        entry.finished = True
        records: list[Record] = []
        output = resp.get("output")
        for raw in output if isinstance(output, list) else ():
            iid = raw.get("id") if isinstance(raw, dict) else None
            if not isinstance(iid, str):
                continue
            self._item_response[iid] = rid
            if iid not in entry.item_ids:
                entry.item_ids.append(iid)
            if iid in self._items and iid not in self._done:
                records += self._upsert("response.output_item.done", raw, False, None,
                                        event.received_at, final=True)
        usage = resp.get("usage")
        details = resp.get("status_details")
        records.append(ResponseChange(rid, entry.status, usage if isinstance(usage, dict) else None,
                                      tuple(entry.item_ids), event.received_at,
                                      details if isinstance(details, dict) else None))
        return records

    def _on_session(self, event: ServerEvent) -> list[Record]:
        session = event.get("session")
        if isinstance(session, dict):
            self.session = session
        return []


def _content_index(ci: Any) -> int | None:
    """A ``content_index`` as given (``None`` or a small non-negative int), or ValueError."""
    if ci is not None and (not isinstance(ci, int) or isinstance(ci, bool)
                           or not 0 <= ci <= 1024):
        raise ValueError(f"content_index {ci!r} is not a small non-negative integer")
    return ci


_HANDLERS = {
    "conversation.item.added": Conversation._on_item,
    "conversation.item.created": Conversation._on_item,
    "conversation.item.done": Conversation._on_item,
    "conversation.item.retrieved": Conversation._on_item,
    "conversation.item.deleted": Conversation._on_deleted,
    "conversation.item.truncated": Conversation._on_truncated,
    **dict.fromkeys(TEXT_DONES, Conversation._on_text_done),
    "response.function_call_arguments.delta": Conversation._on_arguments_delta,
    "response.function_call_arguments.done": Conversation._on_arguments_done,
    "response.mcp_call_arguments.delta": Conversation._on_arguments_delta,
    "response.mcp_call_arguments.done": Conversation._on_arguments_done,
    "response.content_part.added": Conversation._on_content_part,
    "response.content_part.done": Conversation._on_content_part,
    "response.created": Conversation._on_response_created,
    "response.output_item.added": Conversation._on_output_item,
    "response.output_item.done": Conversation._on_output_item,
    "response.done": Conversation._on_response_done,
    "session.created": Conversation._on_session,
    "session.updated": Conversation._on_session,
}
