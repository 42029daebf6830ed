"""Submitting client events and waiting for their answers: the facade's part every call uses.

:class:`Caller` turns a validated client event into a call on the session and waits for the
server's answer with a timeout (blocking, or ``await``-able without blocking the loop), or
does not wait at all (``wait=False``, ``wait="future"``). A timeout names the event that did
not come and why (the session reconnecting after a close, for one); an interrupt (Jupyter's
stop button) or a cancelled task cancels the response it was waiting for.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any, Literal

from .core.waiters import ANSWERS
from .errors import ConnectionClosedError, RealtimeError, RealtimeTimeoutError
from .parts import Part

#: ``True``: wait and return the answer; ``False``: send, return ``None``; ``"future"``: send,
#: return the ``concurrent.futures.Future`` of the answer.
Wait = bool | Literal["future"]


class Caller(Part):
    """``_call`` / ``_await`` for the other parts (see the module doc)."""

    def _submit(self, event: dict[str, Any], kind: str | None = None,
                key: str | None = None) -> concurrent.futures.Future[Any]:
        if self._session is None:
            raise ConnectionClosedError(f"this conversation is not connected: "
                                        f"{self._core.reason or self._core.status}")
        return self._session.submit(event, kind, key)

    def _call(self, event: dict[str, Any], kind: str | None, key: str | None,
              timeout: float | None, wait: Wait = True) -> Any:
        """Submit, then wait (refused on the session's own thread), or not (see :data:`Wait`)."""
        if wait == "future":
            return self._submit(event, kind, key)
        if not wait:
            self._submit(event, kind, key)
            return None
        if self._session is not None and self._session.in_session_thread:
            raise RealtimeError("a blocking call from a realtime_nb callback would wait forever; "
                                "use conv.send(...) (or wait=False) there")
        future = self._submit(event, kind, key)
        limit = self.timeout if timeout is None else timeout
        try:
            return future.result(limit)
        except concurrent.futures.TimeoutError:
            self._forget(future)
            raise RealtimeTimeoutError(self._timeout_text(event, kind, limit)) from None
        except KeyboardInterrupt:  # Jupyter's interrupt: do not leave a response running
            self._forget(future, cancel=True)
            raise

    async def _await(self, event: dict[str, Any], kind: str | None, key: str | None,
                     timeout: float | None) -> Any:
        future = self._submit(event, kind, key)
        limit = self.timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), limit)
        except (asyncio.TimeoutError, TimeoutError):
            self._forget(future)
            raise RealtimeTimeoutError(self._timeout_text(event, kind, limit)) from None
        except asyncio.CancelledError:
            self._forget(future, cancel=True)
            raise

    def _forget(self, future: concurrent.futures.Future[Any], cancel: bool = False) -> None:
        if self._session is not None:
            self._session.forget(future, cancel=cancel)

    def _timeout_text(self, event: dict[str, Any], kind: str | None, limit: float) -> str:
        wanted = ANSWERS.get(kind or "", "the send")
        with self._lock:
            why = self._core.waiting_text()
        return f"no {wanted} within {limit:g}s for {event['type']} (event_id " \
               f"{event['event_id']}); {why}"
