"""Continuing a conversation elsewhere: ``resume`` a saved one, ``fork`` a live one.

Both open a new live conversation whose core starts from history (``Connection.seed``); its
first ``session.created`` replays the configuration and the items into the new server session
with their own ids, exactly as a reconnect does (audio parts as their transcripts, where the
server cannot take audio back), so the rows of both conversations line up by id.
"""

from __future__ import annotations

from typing import Any

from ..parts import Part


class BranchMixin(Part):
    """``resume`` and ``fork`` (see the module doc)."""

    def resume(self, **connect_kwargs: Any) -> Any:
        """Connect this (loaded) conversation to a live server and continue it: a new
        conversation with the same items (same ids), ``df`` and ``events`` history, then
        whatever happens next. ``connect_kwargs`` are those of ``realtime_nb.connect``
        (nothing: the embedded server). Registered tools come along. This conversation stays
        as it was."""
        entries = self._core.log.entries()
        new = self._open(lambda core: core.seed(entries=entries), connect_kwargs)
        self._carry(new)
        return new

    def fork(self, at: str, **connect_kwargs: Any) -> Any:
        """A second live conversation holding this one's items up to and including ``at``
        (same ids), on its own connection: "what if the user had said X" is two cells.
        Without ``connect_kwargs`` it connects where this one does. The session configuration
        this one sent (instructions, tools, voice...) and its registered tools come along.
        This one is untouched. The fork's ``df`` rows of the copied items carry the time of
        the fork."""
        with self._lock:
            config = dict(self._core.session_config)
            items = []
            for item in self._core.model:
                items.append(item.copy())
                if item.id == at:
                    break
            else:
                raise KeyError(f"item {at!r} is not in the conversation")
        new = self._open(lambda core: core.seed(items=items, config=config), connect_kwargs)
        self._carry(new)
        return new
