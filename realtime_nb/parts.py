"""The base of the facade's parts: what every part may use of the conversation.

:class:`~realtime_nb.client.RealtimeConversation` is assembled from one part per package
(``data.analysis.DataMixin``, and the parts of ``tools`` and ``audio``), each a class
deriving from :class:`Part`. A part uses only the attributes and methods declared here, and
extends ``update_session`` cooperatively through :meth:`Part._prepare_session`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core.connection import Connection
    from .endpoints import Endpoint
    from .session import Session


class Part:
    """Declares what parts share (set by the facade's ``__init__``)."""

    _core: Connection  # the sans-I/O state (hold ``_lock`` to use it)
    _lock: threading.RLock
    _session: Session | None  # None when loaded from a file
    endpoint: Endpoint
    timeout: float

    def _call(self, event: dict[str, Any], kind: str | None, key: str | None,
              timeout: float | None, wait: Any = True) -> Any:
        """Submit a validated client event and wait for its answer (see the facade)."""
        raise NotImplementedError

    def _call_later(self, seconds: float, fn: Callable[[], Any]) -> None:
        """Run ``fn`` soon on the session's thread (a timer thread when not connected)."""
        raise NotImplementedError

    def _open(self, seed: Callable[[Connection], None], connect_kwargs: dict[str, Any]) -> Any:
        """A new live conversation whose core ``seed`` fills before it connects; with no
        ``connect_kwargs``, on this conversation's endpoint (the embedded server if it has
        none)."""
        raise NotImplementedError

    def _carry(self, other: Any) -> None:
        """Hand what this part holds for the user (registered tools, say) to ``other``, a
        conversation branched from this one (``resume``, ``fork``); calls ``super()``."""

    def _attach(self) -> None:
        """Called once by the facade's ``__init__``, after ``_core`` and ``_lock`` are set and
        before any event flows: a part that listens to the core registers here (and calls
        ``super()._attach()``)."""

    def _prepare_session(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The ``session`` object ``update_session`` sends, from the caller's fields. A part
        that adds or maps fields overrides this and calls ``super()._prepare_session``."""
        return fields
