"""``conv.turns``: one row per response, with its latency, tokens and cost, from the event log.

Everything comes from the log entries (both directions and the client's ``local`` records),
so the same function serves a live conversation, ``rnb.load(path)`` and a saved file read by
``read_sessions``: :func:`turns_frame` builds the frame from a list of entries and the
session's model; :class:`TurnFrame` keeps a live conversation's frame current, reading only
the entries logged since the last read.

When a response was asked for: our ``response.create`` carries its ``event_id`` in
``response.metadata["realtime_nb_request"]``, which the server echoes in ``response.created``;
``requested_at`` is that client event's timestamp, or ``NaT`` when the server started the
response itself (voice activity detection). A server that never echoes the key (Yandex) has
each ``response.created`` matched with the oldest ``response.create`` sent before it and not
yet matched, as the core's waiting calls do. The ``_s`` columns are seconds from
``requested_at`` (from ``created_at`` without it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.protocol import REQUEST_KEY, canonical_type
from .dtypes import object_array, string_array, timestamp_array
from .prices import usage_cost

if TYPE_CHECKING:
    import pandas as pd

    from ..core.eventlog import EventLog, LogEntry

#: The columns of ``conv.turns`` in order, with their dtypes.
TURN_DTYPES: dict[str, str] = {
    "response_id": "string", "status": "string", "status_reason": "string",
    "requested_at": "datetime64[ns, UTC]", "created_at": "datetime64[ns, UTC]",
    "first_text_s": "Float64", "first_audio_s": "Float64", "done_s": "Float64",
    "items": "object", "tool_calls": "object",
    "input_tokens": "Int64", "output_tokens": "Int64", "total_tokens": "Int64",
    "cached_tokens": "Int64", "input_text_tokens": "Int64", "input_audio_tokens": "Int64",
    "output_text_tokens": "Int64", "output_audio_tokens": "Int64",
    "cost": "Float64", "speech_end_to_first_audio_s": "Float64",
}
TURN_COLUMNS = tuple(TURN_DTYPES)
TEXT_DELTAS = frozenset({"response.output_text.delta", "response.output_audio_transcript.delta"})
AUDIO_DELTA = "response.output_audio.delta"


@dataclass
class Turn:
    """What the log says of one response (times are epoch seconds)."""

    response_id: str
    created: float | None = None
    requested: float | None = None
    first_text: float | None = None
    first_audio: float | None = None
    done: float | None = None
    speech_end: float | None = None
    status: str | None = None
    reason: str | None = None
    usage: dict[str, Any] | None = None
    items: list[str] = field(default_factory=list)
    tool_calls: list[str] = field(default_factory=list)
    audio_chars: int = 0  # base64 characters of output audio (the log keeps the length)

    @property
    def start(self) -> float | None:
        return self.requested if self.requested is not None else self.created

    def since_start(self, ts: float | None) -> float | None:
        start = self.start
        return None if ts is None or start is None else ts - start

    def add_item(self, item: Any) -> None:
        if not isinstance(item, Mapping):
            return
        item_id = item.get("id")
        if isinstance(item_id, str) and item_id not in self.items:
            self.items.append(item_id)
        if item.get("type") == "function_call":
            call = item.get("call_id") or item_id
        elif item.get("type") == "mcp_call":
            call = item_id
        else:
            return
        if isinstance(call, str) and call not in self.tool_calls:
            self.tool_calls.append(call)


class TurnBuilder:
    """Reads log entries in order and keeps one :class:`Turn` per response."""

    def __init__(self) -> None:
        self.turns: dict[str, Turn] = {}
        self.model: str | None = None
        self.seen = 0  # entries read so far
        self._requests: dict[str, float] = {}  # response.create event_id -> ts, unmatched
        self._echoes = False  # the server echoed our metadata key at least once
        self._speech_end: float | None = None  # the last speech_stopped no response took

    def feed(self, entries: Iterable[LogEntry]) -> None:
        for entry in entries:
            self.seen += 1
            direction = entry["direction"]
            if direction == "out":
                if entry["type"] == "response.create" and entry["event_id"]:
                    self._requests[entry["event_id"]] = entry["ts"]
            elif direction == "in":
                self._server(canonical_type(entry["type"]), entry)

    def _turn(self, response_id: str | None) -> Turn | None:
        if not response_id:
            return None
        turn = self.turns.get(response_id)
        if turn is None:
            turn = self.turns[response_id] = Turn(response_id)
        return turn

    def _server(self, etype: str, entry: LogEntry) -> None:
        ts = entry["ts"]
        if etype in TEXT_DELTAS or etype == AUDIO_DELTA:
            turn = self._turn(entry["response_id"])
            if turn is None:
                return
            if etype == AUDIO_DELTA:
                if turn.first_audio is None:
                    turn.first_audio = ts
                delta = entry["payload"].get("delta")
                turn.audio_chars += delta if isinstance(delta, int) else len(delta or "")
            elif turn.first_text is None:
                turn.first_text = ts
        elif etype in ("response.output_item.added", "response.output_item.done"):
            turn = self._turn(entry["response_id"])
            if turn is not None:
                turn.add_item(entry["payload"].get("item"))
        elif etype == "response.created":
            self._created(entry)
        elif etype == "response.done":
            self._done(entry)
        elif etype == "input_audio_buffer.speech_stopped":
            self._speech_end = ts
        elif etype in ("session.created", "session.updated"):
            session = entry["payload"].get("session")
            model = session.get("model") if isinstance(session, Mapping) else None
            if isinstance(model, str) and model:
                self.model = model

    def _created(self, entry: LogEntry) -> None:
        turn = self._turn(entry["response_id"])
        if turn is None:
            return
        turn.created = entry["ts"]
        resp = entry["payload"].get("response")
        meta = resp.get("metadata") if isinstance(resp, Mapping) else None
        tag = meta.get(REQUEST_KEY) if isinstance(meta, Mapping) else None
        if isinstance(tag, str):
            self._echoes = True
            turn.requested = self._requests.pop(tag, None)
        elif not self._echoes and self._requests:
            oldest = min(self._requests, key=self._requests.__getitem__)
            if self._requests[oldest] <= entry["ts"]:
                turn.requested = self._requests.pop(oldest)
        if self._speech_end is not None:
            turn.speech_end, self._speech_end = self._speech_end, None

    def _done(self, entry: LogEntry) -> None:
        resp = entry["payload"].get("response")
        if not isinstance(resp, Mapping):
            return
        turn = self._turn(entry["response_id"] or resp.get("id"))
        if turn is None:
            return
        turn.done = entry["ts"]
        turn.status = resp.get("status") if isinstance(resp.get("status"), str) else None
        details = resp.get("status_details")
        turn.reason = _reason(details) if isinstance(details, Mapping) else None
        usage = resp.get("usage")
        turn.usage = dict(usage) if isinstance(usage, Mapping) else None
        for item in resp.get("output") or ():
            turn.add_item(item)

    # ------------------------------------------------------------------ the frame
    def frame(self, model: str | None = None, prices: pd.DataFrame | None = None
              ) -> pd.DataFrame:
        """The turns so far as a DataFrame (:data:`TURN_DTYPES`); ``model`` overrides the
        session's model for the cost, ``prices`` the ``rnb.prices`` table."""
        import pandas as pd

        turns = list(self.turns.values())
        model = model or self.model
        usages = [t.usage or {} for t in turns]
        in_d = [u.get("input_token_details") or {} for u in usages]
        out_d = [u.get("output_token_details") or {} for u in usages]
        columns: dict[str, Any] = {
            "response_id": string_array([t.response_id for t in turns]),
            "status": string_array([t.status for t in turns]),
            "status_reason": string_array([t.reason for t in turns]),
            "requested_at": timestamp_array([t.requested for t in turns]),
            "created_at": timestamp_array([t.created for t in turns]),
            "first_text_s": _floats([t.since_start(t.first_text) for t in turns]),
            "first_audio_s": _floats([t.since_start(t.first_audio) for t in turns]),
            "done_s": _floats([t.since_start(t.done) for t in turns]),
            "items": object_array([list(t.items) for t in turns]),
            "tool_calls": object_array([list(t.tool_calls) for t in turns]),
            "input_tokens": _ints([u.get("input_tokens") for u in usages]),
            "output_tokens": _ints([u.get("output_tokens") for u in usages]),
            "total_tokens": _ints([u.get("total_tokens") for u in usages]),
            "cached_tokens": _ints([d.get("cached_tokens") for d in in_d]),
            "input_text_tokens": _ints([d.get("text_tokens") for d in in_d]),
            "input_audio_tokens": _ints([d.get("audio_tokens") for d in in_d]),
            "output_text_tokens": _ints([d.get("text_tokens") for d in out_d]),
            "output_audio_tokens": _ints([d.get("audio_tokens") for d in out_d]),
            "cost": _floats([usage_cost(t.usage, model, prices) for t in turns]),
            "speech_end_to_first_audio_s": _floats([
                None if t.speech_end is None or t.first_audio is None
                else t.first_audio - t.speech_end for t in turns]),
        }
        return pd.DataFrame(columns, columns=list(TURN_COLUMNS))


def _reason(details: Mapping[str, Any]) -> str | None:
    """Why a response ended as it did: ``status_details.reason``, else its error's code."""
    reason = details.get("reason")
    if isinstance(reason, str) and reason:
        return reason
    error = details.get("error")
    if isinstance(error, Mapping):
        for key in ("code", "type"):
            if isinstance(error.get(key), str) and error[key]:
                return str(error[key])
    return None


def _floats(values: list[float | None]) -> Any:
    import pandas as pd

    return pd.array(values, dtype="Float64")


def _ints(values: list[Any]) -> Any:
    import pandas as pd

    return pd.array([v if isinstance(v, int) and not isinstance(v, bool) else None
                     for v in values], dtype="Int64")


def turns_frame(entries: Iterable[LogEntry], model: str | None = None,
                prices: pd.DataFrame | None = None) -> pd.DataFrame:
    """``conv.turns`` from log entries (``conv.log``, a saved file's entries, one session of
    ``read_sessions``). ``model`` names the model to price the turns with; by default the
    one the log's ``session.created`` / ``session.updated`` reports."""
    builder = TurnBuilder()
    builder.feed(entries)
    return builder.frame(model, prices)


class TurnFrame:
    """``conv.turns`` for a live conversation: each read feeds only the new log entries."""

    def __init__(self, log: EventLog, model: str | None = None) -> None:
        self._log = log
        self._model = model  # the endpoint's model, used when the log names none
        self._lock = threading.Lock()
        self.builder = TurnBuilder()

    def update(self) -> TurnBuilder:
        """Read the entries logged since the last call; returns the builder."""
        with self._lock:
            if len(self._log) > self.builder.seen:
                self.builder.feed(self._log.entries(self.builder.seen))  # without the lock
            return self.builder

    def frame(self, model: str | None = None, prices: pd.DataFrame | None = None
              ) -> pd.DataFrame:
        builder = self.update()
        with self._lock:
            return builder.frame(model or builder.model or self._model, prices)


__all__ = ["TURN_COLUMNS", "TURN_DTYPES", "Turn", "TurnBuilder", "TurnFrame", "turns_frame"]
