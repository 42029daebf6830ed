"""The kernel side of tool calls in the widget (js/PROTOCOL.md, "Tool calls").

The conversation's tools part runs the calls (``conv.tool_calls``, ``conv.approve``,
``conv.deny``) and logs every step as a ``local`` event-log entry of type
``realtime_nb.tool``. :class:`ToolState` is a log listener: it notes which calls such an entry
names (on the thread that logged it, under the conversation lock) and asks the widget for a
flush; the widget's next batch carries one ``tool`` message per noted call, built from
``conv.tool_calls`` when the batch is sent, so a call that went running -> completed within one
window is sent once, as completed. The snapshot carries every call. No message is sent while a
tool runs: the browser ticks its elapsed time from ``started_at``.

Nothing here imports the tools package: the conversation is duck-typed (one without
``tool_calls`` shows no calls). A loaded conversation, whose calls never run again, shows them
as its log recorded them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

#: The type of the event-log entries the tools part writes for every step of a call.
TOOL_EVENT = "realtime_nb.tool"
#: At most this many characters of an error or an MCP reason go to the browser.
DETAIL_CHARS = 500
_OPTIONAL = ("response_id", "server_label", "started_at", "finished_at")


def tool_view(call: Any) -> dict[str, Any]:
    """A call (a ``ToolCall`` of ``conv.tool_calls``) as the browser shows it (``ToolView``)."""
    view: dict[str, Any] = {"id": call.id, "kind": call.kind, "name": call.name,
                            "item_id": call.item_id, "status": call.status}
    for key in _OPTIONAL:
        value = getattr(call, key, None)
        if value is not None:
            view[key] = value
    if call.started_at is not None and call.finished_at is not None:
        view["elapsed_s"] = round(call.finished_at - call.started_at, 6)
    if call.error:
        view["error"] = str(call.error)[:DETAIL_CHARS]
    if call.kind == "mcp" and call.output:  # an MCP answer's output is the person's reason
        view["reason"] = str(call.output)[:DETAIL_CHARS]
    return view


def views_from_log(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The calls a saved log records, each in its last logged state (a loaded conversation)."""
    views: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry["type"] != TOOL_EVENT:
            continue
        p = entry["payload"]
        call_id = p.get("call_id")
        if not isinstance(call_id, str):
            continue
        view = views.setdefault(call_id, {"id": call_id, "kind": p.get("kind") or "function",
                                          "name": p.get("name") or "",
                                          "item_id": p.get("item_id") or call_id})
        status = p.get("status")
        view["status"] = status
        if p.get("response_id"):
            view["response_id"] = p["response_id"]
        if status == "running":
            view["started_at"] = entry["ts"]
        elif status != "waiting":
            view["finished_at"] = entry["ts"]
        if isinstance(p.get("elapsed_s"), (int, float)):
            view["elapsed_s"] = p["elapsed_s"]
        if p.get("error"):
            view["error"] = str(p["error"])[:DETAIL_CHARS]
        elif status == "denied" and isinstance(p.get("output"), str):
            view["error"] = _declined(p["output"])  # what the live call's error says
        if view["kind"] == "mcp" and p.get("reason"):
            view["reason"] = str(p["reason"])[:DETAIL_CHARS]
    return list(views.values())


def _declined(output: str) -> str:
    """The message of a denied call's output (``{"declined": true, "message": ...}``)."""
    try:
        message = json.loads(output).get("message")
    except (ValueError, AttributeError):
        return ""
    return str(message)[:DETAIL_CHARS] if message else ""


class ToolState:
    """Which calls changed since the last batch, and every call's view (see the module doc)."""

    def __init__(self, conv: Any, changed: Callable[[], None]) -> None:
        """``changed()``: ask for a flush (called under the conversation lock)."""
        self._conv = conv
        self._log = conv._core.log
        self._changed = changed
        self._offline = conv.endpoint.provider == "offline"
        self._pending: dict[str, None] = {}  # call ids noted since the last drain, in order
        self._saved: list[dict[str, Any]] | None = None  # a loaded log's calls, read once

    def on_log(self, seq: int) -> None:
        """Log listener (every event): note the call a ``realtime_nb.tool`` entry names."""
        if self._log.type_of(seq) != TOOL_EVENT:
            return  # most events: decided without parsing the entry (~0.2 us, not ~3.6)
        entry = self._log[seq]
        call_id = entry["payload"].get("call_id")
        if isinstance(call_id, str):
            self._pending[call_id] = None
            self._changed()

    def views(self) -> list[dict[str, Any]]:
        """Every call, oldest first (caller holds the conversation lock)."""
        if self._offline:  # a loaded log does not grow: read it once
            if self._saved is None:
                self._saved = views_from_log(self._log.entries())
            return [dict(v) for v in self._saved]
        return [tool_view(c) for c in getattr(self._conv, "tool_calls", None) or ()]

    def drain(self, seq: int) -> tuple[list[dict[str, Any]], int]:
        """The ``tool`` messages of the calls noted since the last drain, numbered from
        ``seq + 1`` (caller holds the lock); returns them and the last seq."""
        if not self._pending:
            return [], seq
        wanted, self._pending = self._pending, {}
        now = time.time()
        out = []
        for view in self.views():
            if view["id"] in wanted:
                seq += 1
                out.append({"kind": "tool", "call": view, "now": now, "seq": seq})
        return out, seq

    def snapshot(self) -> dict[str, Any]:
        """The snapshot's fields: every call, and the kernel's clock (caller holds the lock)."""
        return {"tools": self.views(), "now": time.time()}


__all__ = ["TOOL_EVENT", "ToolState", "tool_view", "views_from_log"]
