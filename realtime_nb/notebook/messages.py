"""What the widget sends about items, errors and log entries (js/PROTOCOL.md), and the filter
that keeps widget actions' server errors out of the cells' output."""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any, ClassVar

from ..core.items import Item
from ..errors import RealtimeServerError

if TYPE_CHECKING:
    from ..core.eventlog import LogEntry
    from .actions import Actions


def item_view(item: Item, core: Any) -> dict[str, Any]:
    """The JSON an item is shown from (``ItemView`` in js/PROTOCOL.md)."""
    view = {k: v for k, v in item.to_wire().items() if v is not None}  # absent = null
    view["previous_item_id"] = item.previous_item_id  # null here means "first": always sent
    if item.flagged:
        view["flagged"] = True
    view["done"] = core.model.is_done(item.id)
    rid = core.model.response_of(item.id)
    if rid is not None:
        view["response_id"] = rid
    return view


def error_view(err: BaseException, *, item_id: str | None = None,
               request_id: str | None = None, ts: float = 0.0) -> dict[str, Any]:
    """An error as the browser shows it (``ErrorView`` in js/PROTOCOL.md)."""
    server = err if isinstance(err, RealtimeServerError) else None
    return {"message": server.message if server else message_of(err),
            "code": server.code if server else None,
            "type": server.type if server else type(err).__name__,
            "param": server.param if server else None,
            "event_id": server.event_id if server else None,
            "item_id": item_id, "request_id": request_id, "ts": ts}


class WidgetErrors(logging.Filter):
    """Keeps the ``realtime_nb`` logger's "server error" warnings about events that widget
    actions sent out of the cells' output: the widget shows those errors itself, beside the
    action, and a background thread's stderr would land in whichever cell ran last."""

    _actions: ClassVar[weakref.WeakSet[Actions]] = weakref.WeakSet()
    _installed: ClassVar[bool] = False

    @classmethod
    def watch(cls, actions: Actions) -> None:
        cls._actions.add(actions)
        if not cls._installed:
            cls._installed = True
            logging.getLogger("realtime_nb").addFilter(cls())

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        err = args[0] if args else None
        if isinstance(err, RealtimeServerError) and err.event_id:
            return not any(err.event_id in a.requests for a in list(self._actions))
        return True


def message_of(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)


def collapse_deltas(entries: list[LogEntry]) -> list[dict[str, Any]]:
    """Log entries as the browser gets them: only the fields the panel uses (the ids it needs
    are in the payload), and runs of ``*.delta`` entries with one direction, type and item as
    their last entry with ``count`` and ``first_ts`` (js/PROTOCOL.md). What the panel shows is
    the same, for a fraction of the bytes; ``conv.log`` keeps every entry whole."""
    out: list[dict[str, Any]] = []
    for e in entries:
        slim: dict[str, Any] = {"seq": e["seq"], "ts": e["ts"], "direction": e["direction"],
                                "type": e["type"], "item_id": e["item_id"],
                                "payload": e["payload"]}
        if e["note"]:
            slim["note"] = e["note"]
        last = out[-1] if out else None
        if (last is not None and e["type"].endswith(".delta") and last["type"] == e["type"]
                and last["direction"] == e["direction"] and last["item_id"] == e["item_id"]):
            slim["count"] = last.get("count", 1) + 1
            slim["first_ts"] = last.get("first_ts", last["ts"])
            slim["first_seq"] = last.get("first_seq", last["seq"])
            out[-1] = slim
        else:
            out.append(slim)
    return out
