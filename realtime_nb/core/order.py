"""One list ordered by item id: the conversation order, shared by the model and the frame.

A Realtime conversation is a list whose positions the server names by predecessor
(``previous_item_id``): insert after an id, at the head (``None``), remove an id. A doubly
linked list keyed by id does each of these in O(1), where a Python list would search and shift.
The model keeps the live conversation in one; ``conv.df`` keeps two (every row ever seen, with
deleted ones in place, and the live items) to number positions and sort rows.
"""

from __future__ import annotations

from collections.abc import Iterator


class LinkedOrder:
    """Item ids in order; ``after=None`` means the head. Not thread-safe (callers lock)."""

    __slots__ = ("_next", "_prev", "head", "tail")

    def __init__(self) -> None:
        self._prev: dict[str, str | None] = {}
        self._next: dict[str, str | None] = {}
        self.head: str | None = None
        self.tail: str | None = None

    def __len__(self) -> int:
        return len(self._prev)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._prev

    def __iter__(self) -> Iterator[str]:
        node, nxt = self.head, self._next
        while node is not None:
            yield node
            node = nxt[node]

    def prev(self, item_id: str) -> str | None:
        """The id before ``item_id`` (``None`` at the head); ``KeyError`` if absent."""
        return self._prev[item_id]

    def next(self, item_id: str) -> str | None:
        """The id after ``item_id`` (``None`` at the tail); ``KeyError`` if absent."""
        return self._next[item_id]

    def insert(self, item_id: str, after: str | None) -> str | None:
        """Put ``item_id`` right after ``after`` (``None``: at the head); ``after`` must be in
        the list and ``item_id`` must not. Returns the id that now follows it (whose
        predecessor became ``item_id``), or ``None`` at the tail."""
        nxt = self.head if after is None else self._next[after]
        self._prev[item_id] = after
        self._next[item_id] = nxt
        if after is None:
            self.head = item_id
        else:
            self._next[after] = item_id
        if nxt is None:
            self.tail = item_id
        else:
            self._prev[nxt] = item_id
        return nxt

    def remove(self, item_id: str) -> tuple[str | None, str | None]:
        """Take ``item_id`` out; returns its former ``(prev, next)`` (``next``'s predecessor
        is now ``prev``)."""
        prev, nxt = self._prev.pop(item_id), self._next.pop(item_id)
        if prev is None:
            self.head = nxt
        else:
            self._next[prev] = nxt
        if nxt is None:
            self.tail = prev
        else:
            self._prev[nxt] = prev
        return prev, nxt



class KeyedOrder(LinkedOrder):
    """A :class:`LinkedOrder` whose ids also carry float sort keys: sorting by key gives the
    order, so rows stored in arrival order can be put in conversation order with one
    ``argsort``. An insert takes the midpoint of its neighbours' keys; when floats run out
    between two keys, every key is spread out again (:attr:`renumbered` counts it)."""

    __slots__ = ("key", "renumbered")

    GAP = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.key: dict[str, float] = {}
        self.renumbered = 0

    def insert(self, item_id: str, after: str | None) -> str | None:
        nxt = self.head if after is None else self._next[after]
        key = self.key
        if after is None:
            k = key[nxt] - self.GAP if nxt is not None else 0.0
        elif nxt is None:
            k = key[after] + self.GAP
        else:
            k = (key[after] + key[nxt]) / 2
            if not key[after] < k < key[nxt]:
                self._renumber()
                k = (key[after] + key[nxt]) / 2
        key[item_id] = k
        return super().insert(item_id, after)

    def remove(self, item_id: str) -> tuple[str | None, str | None]:
        self.key.pop(item_id, None)
        return super().remove(item_id)

    def _renumber(self) -> None:
        for i, item_id in enumerate(self):
            self.key[item_id] = i * self.GAP
        self.renumbered += 1


__all__ = ["KeyedOrder", "LinkedOrder"]
