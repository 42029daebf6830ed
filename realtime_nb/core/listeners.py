"""Listeners of the core, each for the event types it needs.

Three quarters of a stream are text or audio deltas, and most listeners (the tool runner,
the audio store's commits, the voice, the done-items subscriptions) have nothing to do with
them. A listener says what it wants when it is added: every event (``conv.df``, the
widget), every event but streaming deltas (``deltas=False``), or named types (``types=``).
The listeners of an event type are worked out once and kept, so the fan-out of an event is
one dict lookup and a call per interested listener, in the order they were added.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any, Generic, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger("realtime_nb")


def is_delta(event_type: str) -> bool:
    """A streaming delta (``response.output_text.delta``, ``response.output_audio.delta``,
    ...): it only appends to an item in progress, it never finishes one."""
    return event_type.endswith(".delta")


class Listeners(Generic[F]):
    """An ordered set of listeners with a per-type filter; see the module doc."""

    def __init__(self) -> None:
        self._entries: list[tuple[F, frozenset[str] | None, bool]] = []
        self._by_type: dict[str, tuple[F, ...]] = {}

    def add(self, fn: F, *, types: Collection[str] | None = None, deltas: bool = True,
            first: bool = False) -> None:
        """Call ``fn`` for events of ``types`` (``None``: every type; then ``deltas=False``
        leaves out streaming deltas), after the listeners added before it (``first``: before
        every listener)."""
        entry = (fn, None if types is None else frozenset(types), deltas)
        if first:
            self._entries.insert(0, entry)
        else:
            self._entries.append(entry)
        self._by_type.clear()

    def remove(self, fn: F) -> None:
        """Stop calling ``fn`` (no error if it was not added)."""
        self._entries = [e for e in self._entries if e[0] != fn]
        self._by_type.clear()

    def of(self, event_type: str) -> tuple[F, ...]:
        """The listeners of one event type, in order."""
        got = self._by_type.get(event_type)
        if got is None:
            delta = is_delta(event_type)
            got = self._by_type[event_type] = tuple(
                fn for fn, types, deltas in self._entries
                if (event_type in types if types is not None else deltas or not delta))
        return got

    def call(self, event_type: str, *args: Any) -> None:
        """Call the listeners of ``event_type`` with ``args``; one that fails is logged and
        the others still run (a listener must never break ingestion)."""
        for fn in self.of(event_type):
            try:
                fn(*args)
            except Exception:
                logger.exception("realtime_nb listener %r failed", fn)


__all__ = ["Listeners", "is_delta"]
