"""The client events waiting to go out, in the order they must be sent.

An event leaves the outbox only once it is on the wire (:meth:`Outbox.take`), so a dropped
socket keeps it for the next one. After a reconnect the outbox is rebuilt
(:meth:`Outbox.rebuild`): the replay first, then every unanswered call of the user exactly
once, in the order it was submitted — whether it was still queued or already on the wire.

A ``response.create`` waits while a response this client cancelled has not ended: the server
counts a cancelled response as active until its ``response.done``, and refuses a new one
meanwhile (``conversation_already_has_active_response``). That includes a response asked for,
interrupted before its ``response.created`` and cancelled once that comes.
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
        #: responses this client cancelled that have not ended: id -> the cancel's event_id
        self.cancelling: dict[str, str] = {}
        #: event_ids of ``response.create`` calls to cancel as soon as their response starts
        self.cancel_on_create: set[str] = set()

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
        """The next call to send (``None``: none, or a new response must wait, see above)."""
        call = self._calls[0] if self._calls else None
        if call is not None and self.holding and _starts_response(call.event):
            return None
        return call

    @property
    def holding(self) -> bool:
        """Whether a cancelled response may still hold a new one back."""
        return bool(self.cancelling or self.cancel_on_create)

    def cancel(self, response_id: str, event: dict[str, Any], request: str | None = None
               ) -> Call:
        """Queue ``event``, the ``response.cancel`` of ``response_id`` (asked for by the
        ``response.create`` with event_id ``request``, when it was to be cancelled on
        creation)."""
        self.cancel_on_create.discard(request or "")
        self.cancelling[response_id] = event["event_id"]
        # first in line: a response.create held behind it waits for this very cancel
        call = Call(event, None, None, next(self._seq))
        self._calls.appendleft(call)
        return call

    def ended(self, response_id: str | None, event_id: str | None = None) -> bool:
        """A response ended (its ``response.done``), or the server refused the client event
        ``event_id`` (a cancel of a response that was not running, a ``response.create`` that
        never started one): whether a held response may go now."""
        gone = [rid for rid, eid in self.cancelling.items()
                if rid == response_id or (event_id is not None and eid == event_id)]
        for rid in gone:
            del self.cancelling[rid]
        if event_id in self.cancel_on_create:
            self.cancel_on_create.discard(event_id)
            gone.append(event_id)
        return bool(gone) and bool(self._calls)

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
        self.cancelling.clear()  # a new server session runs no response
        self.cancel_on_create.clear()

    def unanswered(self, on_the_wire: Iterable[Call]) -> list[Call]:
        """The user's calls still to send or to send again, each once, in submission order:
        those queued (not the replay) and those ``on_the_wire``."""
        return sorted({*(c for c in self._calls if not c.replay), *on_the_wire},
                      key=lambda c: c.seq)


def _starts_response(event: dict[str, Any]) -> bool:
    """A ``response.create`` in the default conversation (out-of-band ones may run beside)."""
    if event.get("type") != "response.create":
        return False
    response = event.get("response")
    return not (isinstance(response, dict) and response.get("conversation") == "none")
