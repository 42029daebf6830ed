"""The conversation model: a faithful, I/O-free copy of the server's conversation.

Feed it every :class:`~realtime_nb.protocol.ServerEvent` with :meth:`Conversation.apply`; it
returns small change records (:class:`Change`, :class:`ResponseChange`, :class:`Skipped`) that
the widget, the DataFrame and callbacks consume. It never raises on server input: an event it
cannot use becomes a :class:`Skipped` record with the reason.

Order follows ``previous_item_id``: ``None`` puts an item at the head (as servers report the
first item), a known id right after that item, and an id the model never saw appends the item
at the end with ``flagged=True``, so nothing is dropped.

Records hold the live :class:`~realtime_nb.items.Item`; consume them at once or copy the item.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from .items import Item
from .protocol import ServerEvent

ChangeKind = Literal["inserted", "updated", "removed"]
_FINAL = ("completed", "incomplete")


@dataclass(frozen=True)
class Delta:
    """Streamed text appended to one field of an item (for cheap front-end patches)."""

    field: Literal["text", "transcript", "arguments"]
    text: str
    content_index: int | None = None

    def __init__(self, field: Literal["text", "transcript", "arguments"], text: str,
                 content_index: int | None = None) -> None:
        # What the generated __init__ does, without a frozen object.__setattr__ per field
        # (one of these is made per streamed delta).
        self.__dict__.update(field=field, text=text, content_index=content_index)


@dataclass(frozen=True)
class Change:
    """An item was inserted, updated or removed.

    ``done`` is true on the change that first finalised the item (``conversation.item.done``,
    or a final status in beta servers that never send it). ``delta`` is set when the update was
    only streamed text. ``previous_item_id`` is the item's predecessor after the change.
    """

    kind: ChangeKind
    item: Item
    event_type: str
    previous_item_id: str | None = None
    done: bool = False
    delta: Delta | None = None
    ts: float = 0.0
    response_id: str | None = None

    def __init__(self, kind: ChangeKind, item: Item, event_type: str,
                 previous_item_id: str | None = None, done: bool = False,
                 delta: Delta | None = None, ts: float = 0.0,
                 response_id: str | None = None) -> None:
        # The generated __init__'s work, 2-3x faster (see Delta.__init__).
        self.__dict__.update(kind=kind, item=item, event_type=event_type,
                             previous_item_id=previous_item_id, done=done, delta=delta, ts=ts,
                             response_id=response_id)

    @property
    def item_id(self) -> str:
        return self.item.id


@dataclass(frozen=True)
class ResponseChange:
    """A response finished (``response.done``): its status, usage and output item ids."""

    response_id: str
    status: str | None
    usage: dict[str, Any] | None
    item_ids: tuple[str, ...]
    ts: float = 0.0
    kind: Literal["response_done"] = "response_done"

    def __init__(self, response_id: str, status: str | None, usage: dict[str, Any] | None,
                 item_ids: tuple[str, ...], ts: float = 0.0,
                 kind: Literal["response_done"] = "response_done") -> None:
        # The generated __init__'s work, faster (see Delta.__init__).
        self.__dict__.update(response_id=response_id, status=status, usage=usage,
                             item_ids=item_ids, ts=ts, kind=kind)


@dataclass(frozen=True)
class Skipped:
    """An event the model could not apply, with the reason (logged and counted upstream)."""

    event_type: str
    reason: str
    kind: Literal["skipped"] = "skipped"


Record = Change | ResponseChange | Skipped


@dataclass
class _Response:
    id: str
    status: str | None = None
    item_ids: list[str] = field(default_factory=list)


class Conversation:
    """Items keyed by id in a doubly linked order. No I/O, no widgets, no threads."""

    def __init__(self) -> None:
        self._items: dict[str, Item] = {}
        self._prev: dict[str, str | None] = {}
        self._next: dict[str, str | None] = {}
        self._head: str | None = None
        self._tail: str | None = None
        self._done: set[str] = set()
        self._item_response: dict[str, str] = {}
        self._responses: dict[str, _Response] = {}
        self.session: dict[str, Any] = {}

    # ---------------------------------------------------------------- reading
    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __iter__(self) -> Iterator[Item]:
        node = self._head
        while node is not None:
            yield self._items[node]
            node = self._next[node]

    def get(self, item_id: str) -> Item | None:
        return self._items.get(item_id)

    def items(self) -> list[Item]:
        """The items in conversation order (live objects: copy before keeping)."""
        return list(self)

    def ids(self) -> list[str]:
        return [item.id for item in self]

    def is_done(self, item_id: str) -> bool:
        return item_id in self._done

    def response_of(self, item_id: str) -> str | None:
        return self._item_response.get(item_id)

    @property
    def last_id(self) -> str | None:
        return self._tail

    # ---------------------------------------------------------------- linking
    def _link(self, item_id: str, after: str | None) -> None:
        """Insert ``item_id`` after ``after`` (``None``: at the head); keeps every
        ``previous_item_id`` it touches in step with the links."""
        nxt = self._head if after is None else self._next[after]
        self._prev[item_id] = after
        self._next[item_id] = nxt
        if after is None:
            self._head = item_id
        else:
            self._next[after] = item_id
        if nxt is None:
            self._tail = item_id
        else:
            self._prev[nxt] = item_id
            self._items[nxt].previous_item_id = item_id
        self._items[item_id].previous_item_id = after

    def _unlink(self, item_id: str) -> None:
        prev, nxt = self._prev.pop(item_id), self._next.pop(item_id)
        if prev is None:
            self._head = nxt
        else:
            self._next[prev] = nxt
        if nxt is None:
            self._tail = prev
        else:
            self._prev[nxt] = prev
            self._items[nxt].previous_item_id = prev

    def _remove(self, item_id: str) -> Item:
        self._unlink(item_id)
        self._done.discard(item_id)
        return self._items.pop(item_id)

    def _place(self, item: Item, has_anchor: bool, anchor: str | None) -> None:
        """Link a new item where the event says it belongs (``anchor``: its
        ``previous_item_id`` if a string, when ``has_anchor``: the event has that field)."""
        if not has_anchor:
            after = self._tail
        else:
            if anchor is None or anchor == "root":
                after = None
            elif anchor in self._items and anchor != item.id:
                after = anchor
            else:
                after = self._tail
                item.flagged = True
        self._link(item.id, after)

    def _maybe_move(self, item: Item, has_anchor: bool, anchor: str | None) -> bool:
        """Follow a changed ``previous_item_id`` on a later event; True if the item moved."""
        if not has_anchor:
            return False
        if anchor == "root":
            anchor = None
        if anchor == item.id or (anchor is not None and anchor not in self._items):
            return False
        if self._prev.get(item.id) == anchor:
            item.flagged = False
            return False
        self._unlink(item.id)
        self._link(item.id, anchor)
        item.flagged = False
        return True

    def discard_unfinished_responses(self) -> list[Record]:
        """Remove items of responses that never finished (their server session is gone).

        Used after a dropped connection: a half-streamed answer cannot be finished by the new
        server session; its deltas stay in the event log and the request is asked again.
        """
        records: list[Record] = []
        for item in list(self):
            if item.id in self._done or item.id not in self._item_response:
                continue
            self._remove(item.id)
            records.append(Change("removed", item, "realtime_nb.resync", item.previous_item_id,
                                  response_id=self._item_response.get(item.id)))
        return records

    # ---------------------------------------------------------------- applying
    def apply(self, event: ServerEvent) -> list[Record]:
        """Apply one server event; return what changed. Never raises on bad input."""
        spec = _TEXT_DELTAS.get(event.type)
        if spec is None:
            handler = _HANDLERS.get(event.type)
            if handler is None:
                return []
        try:
            if spec is not None:  # the bulk of a stream: straight to the handler
                return self._text_delta(event, spec[0], spec[1])
            return handler(self, event)
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
        rid = self._item_response.get(iid)
        existing = self._items.get(iid)
        if existing is None:
            new = Item.from_wire(raw)
            if item_done and new.status not in _FINAL:
                new.status = "completed"  # done is final; servers that omit the status mean this
            self._items[iid] = new
            self._place(new, has_anchor, anchor)
            done_now = final and iid not in self._done and (item_done or new.status in _FINAL)
            if done_now:
                self._done.add(iid)
            return [Change("inserted", new, etype, new.previous_item_id, done_now, None, ts,
                           rid)]
        status = existing.merge_wire(raw, done=item_done)  # the snapshot's status
        done_now = final and iid not in self._done and (item_done or status in _FINAL)
        moved = self._maybe_move(existing, has_anchor, anchor)
        if done_now:
            self._done.add(iid)
        if moved:
            return [
                Change("removed", existing, etype, None, False, None, ts, rid),
                Change("inserted", existing, etype, existing.previous_item_id, done_now, None,
                       ts, rid),
            ]
        return [Change("updated", existing, etype, existing.previous_item_id, done_now, None, ts,
                       rid)]

    def _upsert_event(self, event: ServerEvent, *, final: bool) -> list[Record]:
        data = event.data
        if "previous_item_id" in data:
            anchor = data["previous_item_id"]
            if not isinstance(anchor, str):
                anchor = None
            return self._upsert(event.type, data.get("item"), True, anchor, event.received_at,
                                final=final)
        return self._upsert(event.type, data.get("item"), False, None, event.received_at,
                            final=final)

    def _on_added(self, event: ServerEvent) -> list[Record]:
        return self._upsert_event(event, final=event.type == "conversation.item.created")

    def _on_done(self, event: ServerEvent) -> list[Record]:
        return self._upsert_event(event, final=True)

    def _on_retrieved(self, event: ServerEvent) -> list[Record]:
        return self._upsert_event(event, final=False)

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
        if item_id.__class__ is not str:
            item_id = event.item_id  # not a string: the event's item's id, or None
        item = self._items.get(item_id) if item_id else None
        ci = data.get("content_index")
        if ci.__class__ is not int or not 0 <= ci <= 1024:
            ci = _content_index(ci)
        return item, ci

    def _updated(self, item: Item, event: ServerEvent, delta: Delta | None = None) -> Change:
        return Change("updated", item, event.type, item.previous_item_id, delta=delta,
                      ts=event.received_at, response_id=self._item_response.get(item.id))

    def _part(self, item: Item, ci: int, default_type: str) -> dict[str, Any]:
        while len(item.content) <= ci:
            item.content.append({"type": default_type})
        return item.content[ci]

    def _unknown(self, event: ServerEvent) -> list[Record]:
        rid = event.response_id
        if rid is not None and rid in self._responses:
            return []  # out-of-band response items never enter the conversation
        return [Skipped(event.type, f"event for unknown item {event.item_id!r}")]

    def _text_delta(self, event: ServerEvent, key: str, part_type: str) -> list[Record]:
        # _item_and_index inlined: this runs for most events of a stream
        data = event.data
        item_id = data.get("item_id")
        if item_id.__class__ is not str:
            item_id = event.item_id
        item = self._items.get(item_id) if item_id else None
        ci = data.get("content_index")
        if ci.__class__ is not int or not 0 <= ci <= 1024:
            ci = _content_index(ci) or 0
        if item is None:
            return self._unknown(event)
        delta = data.get("delta")
        if not isinstance(delta, str):
            return [Skipped(event.type, "delta is not a string")]
        content = item.content
        part = content[ci] if ci < len(content) else self._part(item, ci, part_type)
        old = part.get(key)
        part[key] = (old if isinstance(old, str) else "") + delta
        item_id = item.id
        if item.status is None and item_id not in self._done:
            item.status = "in_progress"
        return [Change("updated", item, event.type, item.previous_item_id, False,
                       Delta(key, delta, ci),  # type: ignore[arg-type]
                       event.received_at, self._item_response.get(item_id))]

    def _text_done(self, event: ServerEvent, key: str, field_name: str,
                   part_type: str) -> list[Record]:
        item, ci = self._item_and_index(event)
        if item is None:
            return self._unknown(event)
        value = event.get(field_name)
        if not isinstance(value, str):
            return [Skipped(event.type, f"{field_name} is not a string")]
        part = self._part(item, ci or 0, part_type)
        part[key] = value
        return [self._updated(item, event)]

    def _on_output_text_delta(self, e: ServerEvent) -> list[Record]:
        return self._text_delta(e, "text", "output_text")

    def _on_output_text_done(self, e: ServerEvent) -> list[Record]:
        return self._text_done(e, "text", "text", "output_text")

    def _on_transcript_delta(self, e: ServerEvent) -> list[Record]:
        return self._text_delta(e, "transcript", "output_audio")

    def _on_transcript_done(self, e: ServerEvent) -> list[Record]:
        return self._text_done(e, "transcript", "transcript", "output_audio")

    def _on_input_transcript_delta(self, e: ServerEvent) -> list[Record]:
        return self._text_delta(e, "transcript", "input_audio")

    def _on_input_transcript_done(self, e: ServerEvent) -> list[Record]:
        return self._text_done(e, "transcript", "transcript", "input_audio")

    def _on_arguments_delta(self, event: ServerEvent) -> list[Record]:
        item_id = event.data.get("item_id")
        if item_id.__class__ is not str:
            item_id = event.item_id
        item = self._items.get(item_id or "")
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

    def _on_response_created(self, event: ServerEvent) -> list[Record]:
        rid = event.response_id
        if rid is None:
            return [Skipped(event.type, "response has no id")]
        resp = event.get("response")
        status = resp.get("status") if isinstance(resp, dict) else None
        self._responses[rid] = _Response(rid, status)
        return []

    def _on_output_item(self, event: ServerEvent) -> list[Record]:
        rid = event.response_id
        raw = event.item_data
        if rid is None or raw is None or not isinstance(raw.get("id"), str):
            return [Skipped(event.type, "output item event without response_id or item id")]
        iid = raw["id"]
        resp = self._responses.get(rid)
        if resp is None:
            resp = self._responses[rid] = _Response(rid)
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
        entry = self._responses.get(rid)
        if entry is None:
            entry = self._responses[rid] = _Response(rid)
        status = resp.get("status")
        entry.status = status if isinstance(status, str) else None
        records: list[Record] = []
        output = resp.get("output")
        for raw in output if isinstance(output, list) else ():
            if not isinstance(raw, dict):
                continue
            iid = raw.get("id")
            if not isinstance(iid, str):
                continue
            self._item_response[iid] = rid
            if iid not in entry.item_ids:
                entry.item_ids.append(iid)
            if iid in self._items and iid not in self._done:
                records += self._upsert("response.output_item.done", raw, False, None,
                                        event.received_at, final=True)
        usage = resp.get("usage")
        records.append(
            ResponseChange(rid, entry.status, usage if isinstance(usage, dict) else None,
                           tuple(entry.item_ids), ts=event.received_at)
        )
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


#: Text delta events -> (the part's field, the type of a part the delta creates).
_TEXT_DELTAS: dict[str, tuple[str, str]] = {
    "response.output_text.delta": ("text", "output_text"),
    "response.output_audio_transcript.delta": ("transcript", "output_audio"),
    "conversation.item.input_audio_transcription.delta": ("transcript", "input_audio"),
}

_HANDLERS = {
    "conversation.item.added": Conversation._on_added,
    "conversation.item.created": Conversation._on_added,
    "conversation.item.done": Conversation._on_done,
    "conversation.item.retrieved": Conversation._on_retrieved,
    "conversation.item.deleted": Conversation._on_deleted,
    "conversation.item.truncated": Conversation._on_truncated,
    "conversation.item.input_audio_transcription.delta": Conversation._on_input_transcript_delta,
    "conversation.item.input_audio_transcription.completed": Conversation._on_input_transcript_done,
    "response.output_text.delta": Conversation._on_output_text_delta,
    "response.output_text.done": Conversation._on_output_text_done,
    "response.output_audio_transcript.delta": Conversation._on_transcript_delta,
    "response.output_audio_transcript.done": Conversation._on_transcript_done,
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
