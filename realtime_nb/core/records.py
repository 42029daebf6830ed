"""What the conversation model reports for each server event it applies.

:meth:`Conversation.apply <realtime_nb.core.conversation.Conversation.apply>` returns a list
of these records; the widget, the DataFrame and the waiting calls consume them. Records are
built once per event on the hot path, so they are plain slotted dataclasses (cheap to build)
rather than frozen ones; treat them as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .items import Item

ChangeKind = Literal["inserted", "updated", "removed"]


@dataclass(slots=True)
class Delta:
    """Streamed text appended to one field of an item (for cheap front-end patches)."""

    field: Literal["text", "transcript", "arguments"]
    text: str
    content_index: int | None = None


@dataclass(slots=True)
class Change:
    """An item was inserted, updated or removed.

    ``done`` is true on the change that first finalised the item (``conversation.item.done``,
    or a final status in beta servers that never send it). ``delta`` is set when the update was
    only streamed text. ``previous_item_id`` is the item's predecessor after the change.
    ``item`` is the model's live item: consume the record at once or copy the item.
    """

    kind: ChangeKind
    item: Item
    event_type: str
    previous_item_id: str | None = None
    done: bool = False
    delta: Delta | None = None
    ts: float = 0.0
    response_id: str | None = None

    @property
    def item_id(self) -> str:
        return self.item.id


@dataclass(slots=True)
class ResponseChange:
    """A response finished (``response.done``, or settled after a lost connection): its
    status, usage and output item ids."""

    response_id: str
    status: str | None
    usage: dict[str, Any] | None
    item_ids: tuple[str, ...]
    ts: float = 0.0
    #: ``status_details`` of ``response.done`` (why it was cancelled, failed, incomplete).
    details: dict[str, Any] | None = None
    kind: Literal["response_done"] = "response_done"


@dataclass(slots=True)
class Skipped:
    """An event the model could not apply, with the reason (logged and counted upstream)."""

    event_type: str
    reason: str
    kind: Literal["skipped"] = "skipped"


Record = Change | ResponseChange | Skipped

__all__ = ["Change", "ChangeKind", "Delta", "Record", "ResponseChange", "Skipped"]
