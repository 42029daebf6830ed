"""The event log: every event in both directions, as plain records, with audio bytes removed.

The log is what ``conv.events`` shows, what the widget's log panel receives and what
``conv.save()`` writes, so it must hold everything needed to rebuild the conversation offline
and nothing secret: headers never enter it, and base64 audio is replaced by its length.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Literal, TypedDict

_AUDIO_FIELDS = {
    "response.output_audio.delta": "delta",
    "response.audio.delta": "delta",
    "input_audio_buffer.append": "audio",
}


class LogEntry(TypedDict):
    """One event as logged. ``payload`` is the event object (audio replaced by its length).

    ``direction`` is ``in`` (server event), ``out`` (client event) or ``local`` (the client's own
    record of a state change: ``realtime_nb.status`` and ``realtime_nb.resync``).
    """

    seq: int
    ts: float
    direction: Literal["in", "out", "local"]
    type: str
    event_id: str | None
    item_id: str | None
    response_id: str | None
    error_code: str | None
    payload: dict[str, Any]
    note: str | None


def strip_audio(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of an event whose audio strings are replaced by their length (an int)."""
    out = dict(payload)
    key = _AUDIO_FIELDS.get(str(payload.get("type")))
    if key and isinstance(out.get(key), str):
        out[key] = len(out[key])
    for holder in ("item",):
        item = out.get(holder)
        if isinstance(item, dict) and isinstance(item.get("content"), list):
            out[holder] = _strip_item(item)
    resp = out.get("response")
    if isinstance(resp, dict) and isinstance(resp.get("output"), list):
        out["response"] = {
            **resp,
            "output": [_strip_item(i) if isinstance(i, dict) else i for i in resp["output"]],
        }
    part = out.get("part")
    if isinstance(part, dict) and isinstance(part.get("audio"), str):
        out["part"] = {**part, "audio": len(part["audio"])}
    return out


def _strip_item(item: dict[str, Any]) -> dict[str, Any]:
    content = item.get("content")
    if not isinstance(content, list) or not any(
        isinstance(p, dict) and isinstance(p.get("audio"), str) for p in content
    ):
        return item
    parts = [
        {**p, "audio": len(p["audio"])} if isinstance(p, dict) and isinstance(p.get("audio"), str)
        else p
        for p in content
    ]
    return {**item, "content": parts}


def _ids(payload: dict[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    def s(v: Any) -> str | None:
        return v if isinstance(v, str) else None

    item = payload.get("item")
    item_id = s(payload.get("item_id")) or (s(item.get("id")) if isinstance(item, dict) else None)
    resp = payload.get("response")
    response_id = s(payload.get("response_id")) or (
        s(resp.get("id")) if isinstance(resp, dict) else None
    )
    err = payload.get("error")
    code = None
    if isinstance(err, dict):
        code = s(err.get("code"))
    return s(payload.get("event_id")), item_id, response_id, code


class EventLog:
    """An append-only list of :class:`LogEntry`; ``seq`` counts from 0."""

    def __init__(self) -> None:
        self._entries: list[LogEntry] = []

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[LogEntry]:
        return iter(self._entries)

    def __getitem__(self, index: int) -> LogEntry:
        return self._entries[index]

    def entries(self) -> list[LogEntry]:
        return list(self._entries)

    def append(
        self,
        direction: Literal["in", "out", "local"],
        payload: dict[str, Any],
        ts: float | None = None,
        *,
        type: str | None = None,
        note: str | None = None,
    ) -> LogEntry:
        clean = strip_audio(payload)
        event_id, item_id, response_id, code = _ids(clean)
        entry = LogEntry(
            seq=len(self._entries),
            ts=time.time() if ts is None else ts,
            direction=direction,
            type=type or str(clean.get("type")),
            event_id=event_id,
            item_id=item_id,
            response_id=response_id,
            error_code=code,
            payload=clean,
            note=note,
        )
        self._entries.append(entry)
        return entry
