"""The widget's pending changes between two flushes, merged so each flush is one message.

Why: a streamed answer changes one item dozens of times within a few milliseconds (added,
content part, deltas, done). Sending each change as its own comm message costs a Jupyter
envelope and a full item view every time; the browser only needs the item's state once per
frame. So the widget records *which* items changed, in order, and builds their views only when
it flushes (every ~20 ms, under the session lock):

* an ``updated`` of an item that already has a pending ``inserted`` / ``updated`` entry is
  merged into it (its view is built at flush time, so it carries the latest state);
* a ``delta`` of such an item is absorbed by it for the same reason;
* other deltas of one (item, field, content part) in a row are joined into one;
* ``inserted`` keeps the predecessor it had at that moment, so the browser places the item
  exactly where an unbatched stream would have (later moves arrive as their own entries);
* an item inserted and removed within one batch goes out as a bare placeholder (and its
  removal), so items inserted after it in the meantime still land where they belong.

Sequence numbers (js/PROTOCOL.md) are assigned when the batch is drained, so they stay
consecutive whatever was merged. No I/O here: :meth:`ChangeBatch.drain` returns the messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.records import Change

ItemViewFn = Callable[[str], "dict[str, Any] | None"]

_INSERTED, _UPDATED, _DELTA, _REMOVED, _ERROR = range(5)


class ChangeBatch:
    """Changes since the last :meth:`drain`, in order (callers hold the session lock)."""

    __slots__ = ("_delta", "_entries", "_slot")

    def __init__(self) -> None:
        self._entries: list[list[Any]] = []
        self._slot: dict[str, int] = {}  # item id -> its pending inserted/updated entry
        self._delta: list[Any] | None = None  # the last entry, when it is a delta

    def __bool__(self) -> bool:
        return bool(self._entries)

    def add(self, rec: Change) -> None:
        item_id = rec.item.id
        if rec.kind == "removed":
            self._slot.pop(item_id, None)
            self._append([_REMOVED, item_id])
            return
        d = rec.delta
        if d is not None:
            if item_id in self._slot:
                return  # the pending view is built at flush time and holds this text
            last = self._delta
            if (last is not None and last[1] == item_id and last[2] == d.field
                    and last[3] == d.content_index):
                last[4].append(d.text)
                return
            entry = [_DELTA, item_id, d.field, d.content_index, [d.text]]
            self._entries.append(entry)
            self._delta = entry
            return
        if rec.kind == "inserted":
            self._slot[item_id] = len(self._entries)
            self._append([_INSERTED, item_id, rec.previous_item_id])
        elif item_id not in self._slot:
            self._slot[item_id] = len(self._entries)
            self._append([_UPDATED, item_id])

    def error(self, view: dict[str, Any]) -> None:
        """A server error, kept in order with the changes around it."""
        self._append([_ERROR, view])

    def _append(self, entry: list[Any]) -> None:
        self._entries.append(entry)
        self._delta = None

    def drain(self, view_of: ItemViewFn, seq: int) -> tuple[list[dict[str, Any]], int]:
        """The pending changes as kernel messages (js/PROTOCOL.md), numbered from ``seq + 1``;
        returns them and the last seq used. ``view_of(id)`` is the item's view now, or None
        when the item is gone."""
        entries, self._entries, self._slot, self._delta = self._entries, [], {}, None
        out: list[dict[str, Any]] = []
        for e in entries:
            kind = e[0]
            if kind == _DELTA:
                seq += 1
                out.append({"kind": "delta", "item_id": e[1], "field": e[2],
                            "content_index": e[3], "text": "".join(e[4]), "seq": seq})
            elif kind == _INSERTED or kind == _UPDATED:
                view = view_of(e[1])
                if view is None:
                    if kind == _UPDATED:
                        continue  # removed since; its removal follows
                    # Inserted and removed since: a bare placeholder keeps later inserts that
                    # were anchored to it in place; its removal follows in this same batch.
                    view = {"id": e[1], "type": "message", "content": []}
                if kind == _INSERTED:
                    view["previous_item_id"] = e[2]
                seq += 1
                out.append({"kind": "inserted" if kind == _INSERTED else "updated",
                            "item": view, "seq": seq})
            elif kind == _REMOVED:
                seq += 1
                out.append({"kind": "removed", "item_id": e[1], "seq": seq})
            else:
                out.append({"kind": "error", "error": e[1]})
        return out, seq
