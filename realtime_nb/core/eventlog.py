"""The event log: every event in both directions, as plain records, with audio bytes removed.

The log is what ``conv.events`` shows, what the widget's log panel receives and what
``conv.save()`` writes, so it must hold everything needed to rebuild the conversation offline
and nothing secret: headers never enter it, and base64 audio is replaced by its length.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, Literal, TypedDict

from .protocol import read_object

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
    stripped = _stripped(payload)
    return dict(payload) if stripped is None else stripped


def _stripped(payload: dict[str, Any]) -> dict[str, Any] | None:
    """:func:`strip_audio`'s copy, or None when the event holds no audio string."""
    out = dict(payload)
    changed = False
    etype = out.get("type")
    key = _AUDIO_FIELDS.get(etype if etype.__class__ is str else str(etype))
    if key and isinstance(out.get(key), str):
        out[key] = len(out[key])
        changed = True
    if "item" not in out and "response" not in out and "part" not in out:
        return out if changed else None  # the common case (deltas): nothing else holds audio
    item = out.get("item")
    if isinstance(item, dict) and isinstance(item.get("content"), list):
        new = _strip_item(item)
        if new is not item:
            out["item"] = new
            changed = True
    resp = out.get("response")
    if isinstance(resp, dict) and isinstance(resp.get("output"), list):
        output = [_strip_item(i) if isinstance(i, dict) else i for i in resp["output"]]
        if any(new is not old for new, old in zip(output, resp["output"], strict=True)):
            out["response"] = {**resp, "output": output}
            changed = True
    part = out.get("part")
    if isinstance(part, dict) and isinstance(part.get("audio"), str):
        out["part"] = {**part, "audio": len(part["audio"])}
        changed = True
    return out if changed else None


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


# One stored entry: (ts, direction, type, event_id, item_id, response_id, error_code,
# payload as JSON text, note). Only strings, numbers and None: a tuple the garbage collector
# stops tracking, and an incoming event's text is the frame itself (no copy at all).
_Row = tuple[float, str, str, "str | None", "str | None", "str | None", "str | None",
             "str | bytes", "str | None"]


class EventLog:
    """An append-only log; ``seq`` counts from 0. Reading gives :class:`LogEntry` dicts.

    Why text: a long session logs hundreds of thousands of events, and as nested dicts each
    costs ~1.8 KB and a place in every garbage collection. Kept as the frame's own JSON text
    plus a tuple of the indexed fields it costs what the text costs, and the dict (payload
    parsed again, the way the frame was first read) is built only when somebody reads it.
    """

    def __init__(self) -> None:
        self._rows: list[_Row] = []

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[LogEntry]:
        rows = list(self._rows)
        return (_entry(seq, row) for seq, row in enumerate(rows))

    def __getitem__(self, index: int) -> LogEntry:
        rows = self._rows
        seq = index + len(rows) if index < 0 else index
        return _entry(seq, rows[index])

    def entries(self, start: int = 0) -> list[LogEntry]:
        """Every entry from ``start`` (a seq; negative counts from the end) to the last.

        Safe without the session lock (the rows are copied in one step, then parsed), and
        best called without it: parsing a long log takes a while (~1 s per 100,000)."""
        rows = self._rows
        first = max(0, start + len(rows) if start < 0 else start)
        taken = rows[first:]
        return [_entry(seq, row) for seq, row in enumerate(taken, first)]

    def type_of(self, seq: int) -> str:
        """The type of entry ``seq``, without parsing its payload (for listeners that look at
        every event)."""
        return self._rows[seq][2]

    def find_out(self, event_id: str) -> LogEntry | None:
        """The newest client event with this ``event_id`` (only that entry is parsed)."""
        rows = self._rows
        for seq in range(len(rows) - 1, -1, -1):
            row = rows[seq]
            if row[1] == "out" and row[3] == event_id:
                return _entry(seq, row)
        return None

    def set_note(self, seq: int, note: str | None) -> None:
        row = self._rows[seq]
        self._rows[seq] = (*row[:8], note)  # type: ignore[assignment]

    def append(
        self,
        direction: Literal["in", "out", "local"],
        payload: dict[str, Any],
        ts: float | None = None,
        *,
        type: str | None = None,
        note: str | None = None,
        raw: str | bytes | None = None,
    ) -> int:
        """Log one event; returns its seq. ``raw`` is the frame ``payload`` was read from (kept
        as the entry's text unless audio had to be stripped); without it the payload is
        written as JSON (values JSON cannot hold as their repr)."""
        get = payload.get
        etype = get("type")
        if etype.__class__ is not str:
            etype = str(etype)
        stripped = None
        if etype in _AUDIO_FIELDS or "item" in payload or "response" in payload or (
                "part" in payload):
            stripped = _stripped(payload)
        # ids: strings or None; item_id and response_id fall back to item.id / response.id
        # when missing, not a string or empty (audio stripping never touches them)
        event_id = get("event_id")
        if not isinstance(event_id, str):
            event_id = None
        item_id = get("item_id")
        if not (isinstance(item_id, str) and item_id):
            item = get("item")
            item_id = _str_or_none(item.get("id")) if isinstance(item, dict) else None
        response_id = get("response_id")
        if not (isinstance(response_id, str) and response_id):
            resp = get("response")
            response_id = _str_or_none(resp.get("id")) if isinstance(resp, dict) else None
        err = get("error")
        code = _str_or_none(err.get("code")) if isinstance(err, dict) else None
        if stripped is None and raw is not None:
            text: str | bytes = raw
        else:
            text = json.dumps(payload if stripped is None else stripped, ensure_ascii=False,
                              default=repr)
        rows = self._rows
        rows.append((time.time() if ts is None else ts, direction, type or etype, event_id,
                     item_id, response_id, code, text, note))
        return len(rows) - 1


def _entry(seq: int, row: _Row) -> LogEntry:
    ts, direction, etype, event_id, item_id, response_id, code, text, note = row
    return {"seq": seq, "ts": ts, "direction": direction, "type": etype,  # type: ignore[typeddict-item]
            "event_id": event_id, "item_id": item_id, "response_id": response_id,
            "error_code": code, "payload": read_object(text), "note": note}


class CountingLog(EventLog):
    """A log that only counts its entries (seqs stay right) and keeps none of them: for a
    core that rebuilds a saved session just for its model (``read_sessions``), where a
    second copy of every event would be a quarter of the time."""

    def append(self, direction: Literal["in", "out", "local"], payload: dict[str, Any],
               ts: float | None = None, *, type: str | None = None, note: str | None = None,
               raw: str | bytes | None = None) -> int:
        self._rows.append(None)  # type: ignore[arg-type]
        return len(self._rows) - 1

    def set_note(self, seq: int, note: str | None) -> None:
        pass

    def type_of(self, seq: int) -> str:
        return ""  # nothing kept

