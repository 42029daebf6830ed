"""Waiting for done items: ``conv.done_items()`` and ``conv.adone_items()``.

A cell that wants each item as it reaches done subscribes to the core's change records (a
record listener, run on the session thread) and reads copies of the items from a thread-safe
queue, blocking (:class:`DoneItems`) or awaiting (:class:`AsyncDoneItems`, never blocking the
event loop). The subscription ends when the session closes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from ..core.items import Item
from ..core.records import Change, Record

if TYPE_CHECKING:
    from ..core.connection import Connection
    from ..core.protocol import ServerEvent


class _Subscriber:
    """A thread-safe queue fed on the session thread and read by a cell (sync or async)."""

    def __init__(self, core: Connection, lock: threading.RLock) -> None:
        self._core, self._lock = core, lock
        self._items: collections.deque[Item] = collections.deque()
        self._cond = threading.Condition()
        self._finished = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def subscribe(self) -> _Subscriber:
        with self._lock:
            if self._core.status in ("closed", "error"):
                self._finished = True
            else:
                self._core.record_listeners.add(self._on_records, deltas=False)
                self._core.status_listeners.append(self._on_status)
        return self

    def _on_records(self, records: list[Record], _event: ServerEvent) -> None:
        for rec in records:
            if isinstance(rec, Change) and rec.done and rec.kind != "removed":
                self.push(rec.item.copy())

    def _on_status(self, status: str) -> None:
        if status in ("closed", "error"):
            self.finish()

    def push(self, item: Item) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify_all()
            loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed
                loop.call_soon_threadsafe(wake.set)

    def finish(self) -> None:
        with self._cond:
            self._finished = True
            self._cond.notify_all()
            loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    def close(self) -> None:
        with self._lock:
            self._core.record_listeners.remove(self._on_records)
            with contextlib.suppress(ValueError):
                self._core.status_listeners.remove(self._on_status)
        with self._cond:
            self._finished = True

    def get(self, timeout: float) -> Item | None:
        """The next item, or ``None`` after ``timeout`` seconds or once finished and empty."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._items:
                if self._finished:
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.5))
            return self._items.popleft()

    async def aget(self, timeout: float) -> Item | None:
        loop = asyncio.get_running_loop()
        with self._cond:
            if self._loop is not loop:
                self._loop, self._wake = loop, asyncio.Event()
        wake = self._wake
        assert wake is not None
        deadline = loop.time() + timeout
        while True:
            with self._cond:
                if self._items:
                    return self._items.popleft()
                if self._finished:
                    return None
                wake.clear()
            left = deadline - loop.time()
            if left <= 0:
                return None
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                await asyncio.wait_for(wake.wait(), min(left, 3600.0))


class DoneItems(Iterator[Item]):
    """``for item in conv.done_items(timeout=5): ...`` — each item as it reaches done.

    Subscribes when created (so nothing that lands after the call is missed), and stops
    quietly when no item lands for ``timeout`` seconds, after ``count`` items, or when the
    session closes. Usable as a context manager to unsubscribe early.
    """

    def __init__(self, core: Connection, lock: threading.RLock, timeout: float,
                 count: int | None = None) -> None:
        self._sub = _Subscriber(core, lock).subscribe()
        self._timeout = timeout
        self._left = count

    def __iter__(self) -> DoneItems:
        return self

    def __next__(self) -> Item:
        if self._left is not None and self._left <= 0:
            self.close()
            raise StopIteration
        item = self._sub.get(self._timeout)
        if item is None:
            self.close()
            raise StopIteration
        if self._left is not None:
            self._left -= 1
        return item

    def close(self) -> None:
        self._sub.close()

    def __enter__(self) -> DoneItems:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


class AsyncDoneItems(AsyncIterator[Item]):
    """``async for item in conv.adone_items(timeout=5): ...`` — the async twin of
    :class:`DoneItems` (never blocks the event loop)."""

    def __init__(self, core: Connection, lock: threading.RLock, timeout: float,
                 count: int | None = None) -> None:
        self._sub = _Subscriber(core, lock).subscribe()
        self._timeout = timeout
        self._left = count

    def __aiter__(self) -> AsyncDoneItems:
        return self

    async def __anext__(self) -> Item:
        if self._left is not None and self._left <= 0:
            self.close()
            raise StopAsyncIteration
        item = await self._sub.aget(self._timeout)
        if item is None:
            self.close()
            raise StopAsyncIteration
        if self._left is not None:
            self._left -= 1
        return item

    def close(self) -> None:
        self._sub.close()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> AsyncDoneItems:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "AsyncDoneItems",
    "DoneItems",
]
