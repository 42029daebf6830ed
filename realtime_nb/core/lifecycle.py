"""The status of a conversation's connection and its reconnect policy, as a small state
machine: sockets open, greet, end; it answers each end with a :class:`Step`.

Statuses: ``connecting`` (before the first ``session.created``), ``open``, ``reconnecting``,
``closing`` (the client asked), ``closed``, ``error`` (gave up; ``reason`` says why).
A socket counts as healthy when it stayed open ``stable_after`` seconds or the server sent
anything after its greeting other than an ``error``; each end of an unhealthy one uses up
one of ``max_attempts``. So a server that greets and then closes on every request is given
up on after ``max_attempts`` tries, with its close reason, and a flaky network is not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: Statuses in which calls may still be made.
LIVE = ("connecting", "open", "reconnecting")


@dataclass(frozen=True)
class Step:
    """What to do after a socket ended: ``retry`` after backoff ``attempt`` (1, 2, ...), or
    stop; ``gave_up`` is the reason when it stopped on an error."""

    retry: bool
    attempt: int = 0
    gave_up: str | None = None


class Lifecycle:
    """Status, reason and attempts; ``on_status(status, reason, logged)`` hears each change
    (``logged``: the change happened after the first greeting, so it belongs in the log)."""

    def __init__(self, on_status: Callable[[str, str | None, bool], None], *,
                 reconnect: bool = True, max_attempts: int = 8,
                 stable_after: float = 10.0) -> None:
        self._on_status = on_status
        self.reconnect = reconnect
        self.max_attempts = max_attempts
        self.stable_after = stable_after
        self.status = "connecting"
        self.reason: str | None = None
        self.greeted = False  # session.created on the current socket
        self.greeted_once = False  # ... on any socket
        self.healthy = False
        self.fatal: str | None = None
        self.last_loss: str | None = None
        self._attempt = 0
        self._opened_at = 0.0

    def set(self, status: str, reason: str | None) -> None:
        changed = status != self.status
        self.status = status
        if reason is not None:
            self.reason = reason
        self._on_status(status, reason, changed and self.greeted_once and status != "closing")

    def opened(self, now: float) -> None:
        """A socket is open; its ``session.created`` has not come yet."""
        self.greeted, self.healthy, self._opened_at = False, False, now

    def greeting(self) -> bool:
        """``session.created`` arrived; True when it greets a reconnect (not the first)."""
        self.greeted = True
        if self.greeted_once:
            return True
        self.set("open", None)
        self.greeted_once = True  # status changes are logged from here on
        return False

    def failed(self, reason: str, *, fatal: bool = False) -> Step:
        """The handshake of a new socket failed (``fatal``: retrying cannot fix it)."""
        if self.status in ("closing", "closed"):
            return Step(False)
        if not self.greeted_once or fatal:
            return self._give_up(reason)
        return self._retry(reason)

    def lost(self, reason: str, now: float) -> Step:
        """The socket ended; ``reason`` says how (close code and reason)."""
        self.greeted = False
        if self.status in ("closing", "closed"):
            return Step(False)
        if not self.greeted_once:
            return self._give_up(f"connection closed before session.created: {reason}")
        if self.fatal is not None:
            return self._give_up(f"{self.fatal}; not reconnecting")
        if self.healthy or now - self._opened_at >= self.stable_after:
            self._attempt = 0
        return self._retry(reason)

    def _retry(self, reason: str) -> Step:
        self.last_loss = reason
        if not self.reconnect:
            return self._give_up(f"connection closed: {reason}")
        if self._attempt >= self.max_attempts:
            return self._give_up(f"gave up after {self._attempt} reconnect attempts: {reason}")
        self._attempt += 1
        self.set("reconnecting", f"{reason}; reconnecting (attempt {self._attempt} of "
                 f"{self.max_attempts})")
        return Step(True, self._attempt)

    def _give_up(self, reason: str) -> Step:
        self.set("error", reason)
        return Step(False, gave_up=reason)

    def closed_text(self) -> str:
        return f"the session is {self.status}" + (f": {self.reason}" if self.reason else "")

    def waiting_text(self) -> str:
        """Why a call is still waiting, for a timeout message."""
        if self.status == "reconnecting":
            return f"the session is reconnecting after: {self.reason}"
        return f"the session is {self.status}"
