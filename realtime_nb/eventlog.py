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
    etype = out.get("type")
    key = _AUDIO_FIELDS.get(etype if etype.__class__ is str else str(etype))
    if key and isinstance(out.get(key), str):
        out[key] = len(out[key])
    if "item" not in out and "response" not in out and "part" not in out:
        return out  # the common case (deltas): nothing else can hold audio
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


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


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
        clean = dict(payload)
        get = clean.get
        etype = get("type")
        if etype.__class__ is not str:
            etype = str(etype)
        if etype in _AUDIO_FIELDS or "item" in clean or "response" in clean or "part" in clean:
            clean = strip_audio(payload)  # the full rules; for the rest (deltas) a copy is all
            get = clean.get
        # ids: strings or None; item_id and response_id fall back to item.id / response.id
        # when missing, not a string or empty
        event_id = get("event_id")
        if event_id.__class__ is not str and not isinstance(event_id, str):
            event_id = None
        item_id = get("item_id")
        if (item_id.__class__ is not str or not item_id) and not (
                isinstance(item_id, str) and item_id):
            item = get("item")
            item_id = _str_or_none(item.get("id")) if isinstance(item, dict) else None
        response_id = get("response_id")
        if (response_id.__class__ is not str or not response_id) and not (
                isinstance(response_id, str) and response_id):
            resp = get("response")
            response_id = _str_or_none(resp.get("id")) if isinstance(resp, dict) else None
        err = get("error")
        code = _str_or_none(err.get("code")) if isinstance(err, dict) else None
        entries = self._entries
        entry: LogEntry = {
            "seq": len(entries),
            "ts": time.time() if ts is None else ts,
            "direction": direction,
            "type": type or etype,
            "event_id": event_id,
            "item_id": item_id,
            "response_id": response_id,
            "error_code": code,
            "payload": clean,
            "note": note,
        }
        entries.append(entry)
        return entry
