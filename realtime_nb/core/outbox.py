"""The client events waiting to go out, in the order they must be sent.

An event leaves the outbox only once it is on the wire (:meth:`Outbox.take`), so a dropped
socket keeps it for the next one. After a reconnect the outbox is rebuilt
(:meth:`Outbox.rebuild`): the replay first, then every unanswered call of the user exactly
once, in the order it was submitted — whether it was still queued or already on the wire.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from .waiters import Call


class Outbox:
    """Calls to send, oldest first (not thread-safe; the connection's caller locks)."""

    def __init__(self) -> None:
        self._calls: collections.deque[Call] = collections.deque()
        self._seq = itertools.count()

    def __bool__(self) -> bool:
        return bool(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(self._calls)

    def add(self, event: dict[str, Any], kind: str | None = None, key: str | None = None
            ) -> Call:
        """A new call for ``event``, queued last; numbered in submission order."""
        call = Call(event, kind, key, next(self._seq))
        self._calls.append(call)
        return call

    def head(self) -> Call | None:
        return self._calls[0] if self._calls else None

    def take(self, call: Call) -> None:
        """``call`` leaves the outbox (sent, refused or withdrawn)."""
        if self._calls and self._calls[0] is call:
            self._calls.popleft()
        elif call in self._calls:
            self._calls.remove(call)

    def rebuild(self, replay: Iterable[dict[str, Any]], user: Iterable[Call]) -> None:
        """After a reconnect: the ``replay`` events first, then the user's calls."""
        self._calls = collections.deque([*(Call(e, None, None, -1, replay=True)
                                           for e in replay), *user])

    def unanswered(self, on_the_wire: Iterable[Call]) -> list[Call]:
        """The user's calls still to send or to send again, each once, in submission order:
        those queued (not the replay) and those ``on_the_wire``."""
        return sorted({*(c for c in self._calls if not c.replay), *on_the_wire},
                      key=lambda c: c.seq)
