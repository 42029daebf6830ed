"""The data side of a conversation: ``conv.df``, ``conv.events``, ``save``, Parquet, and
iterating items as they reach done.

:class:`DataMixin` is one part of :class:`~realtime_nb.client.RealtimeConversation` (the facade
is assembled from one such part per package). It uses the conversation's ``_core`` (the
sans-I/O state), ``_lock``, ``_frame`` (the :class:`~.frame.ItemFrame`), ``endpoint`` and
``timeout``.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..parts import Part
from .doneitems import AsyncDoneItems, DoneItems

if TYPE_CHECKING:
    import pandas as pd

    from .eventframe import EventFrame
    from .frame import ItemFrame


class DataMixin(Part):
    """``df``, ``events``, ``save``, ``to_parquet``, ``done_items`` (see the module doc)."""

    _frame: ItemFrame
    _events: EventFrame | None

    @property
    def df(self) -> pd.DataFrame:
        """The done items as a DataFrame, one row per item that reached done, in conversation
        order; always current when read (the README's column table). Deleted items keep their
        row with ``deleted=True``: ``conv.df[~conv.df.deleted]`` is the live conversation.
        Each read is a cheap shallow copy; editing it never changes the session."""
        return self._frame.frame()

    @property
    def events(self) -> pd.DataFrame:
        """The event log (both directions) as a DataFrame: ``seq``, ``ts``, ``direction``,
        ``type``, ``event_id``, ``item_id``, ``response_id``, ``error_code``, ``payload``
        (dict, audio replaced by its length) and ``note``."""
        if self._events is None:
            from .eventframe import EventFrame

            self._events = EventFrame(self._core.log)
        return self._events.frame()

    def save(self, path: str | PathLike[str]) -> Path:
        """Write every logged event to ``path`` as JSON lines; ``realtime_nb.load(path)``
        rebuilds the conversation, ``df`` and ``events`` offline. Returns the path."""
        from .saved import save

        return save(self._core.log, self.endpoint, path)

    def to_parquet(self, path: str | PathLike[str], *, events: bool = False, **kwargs: Any
                   ) -> Path:
        """Write ``df`` (or ``events`` with ``events=True``) to Parquet so that
        ``realtime_nb.read_parquet(path)`` gives it back with every dtype and object cell."""
        from .parquet import to_parquet

        return to_parquet(self.events if events else self.df, path, **kwargs)

    def done_items(self, timeout: float | None = None, *, count: int | None = None
                   ) -> DoneItems:
        """Iterate items as they reach done, from this call on (copies). Stops quietly when no
        item lands for ``timeout`` seconds (default: ``conv.timeout``; ``math.inf`` waits until
        the session closes), after ``count`` items, or when the session closes."""
        return DoneItems(self._core, self._lock, self.timeout if timeout is None else timeout,
                         count)

    def adone_items(self, timeout: float | None = None, *, count: int | None = None
                    ) -> AsyncDoneItems:
        """Async twin of :meth:`done_items`: ``async for item in conv.adone_items(): ...``."""
        return AsyncDoneItems(self._core, self._lock,
                              self.timeout if timeout is None else timeout, count)

