"""Rebuilding a conversation in a fresh server session after a reconnect.

A new WebSocket connection is a new, empty server session (and Yandex caps sessions at
minutes), so after a drop the client replays what it knows: the session configuration it sent,
then every item in order as ``conversation.item.create`` with the item's *own* id, so the ids in
the list and in ``conv.df`` stay the same and the server's echoes merge into existing rows.
Audio cannot be replayed (the client never keeps audio bytes): audio parts travel as their
transcripts.

Responses that were running when the connection dropped are settled first
(:func:`settle_responses`): one whose every output item reached done is kept (only its
``response.done`` was lost), any other is dropped whole and asked for again, so an answer is
never in the conversation twice. Pure functions, no I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from .conversation import Conversation
from .items import ITEM_TYPES, Item
from .protocol import new_event_id
from .records import Record, ResponseChange
from .validation import FIELDS_BY_TYPE, MAX_ITEM_ID, validate_item

_TEXT_BY_ROLE = {"user": "input_text", "system": "input_text", "assistant": "output_text"}


#: The audio a client holds of an item, as base64 PCM16 at the session's input rate, or None.
AudioOf = Callable[[str], "str | None"]


def replay_item(item: Item, audio_of: AudioOf | None = None) -> dict[str, Any] | None:
    """The create-able form of a known item, or ``None`` when it cannot be replayed. A user
    audio part goes back as audio when ``audio_of`` has it, else as its transcript."""
    if item.type not in ITEM_TYPES or not item.id or len(item.id) > MAX_ITEM_ID:
        return None
    wire = item.to_wire()
    allowed = set(FIELDS_BY_TYPE[item.type]) | {"id", "type", "metadata"}
    out = {k: copy.deepcopy(v) for k, v in wire.items() if k in allowed and v is not None}
    if item.type == "message":
        part_type = _TEXT_BY_ROLE.get(item.role or "", "input_text")
        parts = []
        held = audio_of(item.id) if audio_of is not None and item.role == "user" else None
        for part in item.content:
            ptype = part.get("type")
            if ptype == "input_audio" and held is not None:
                transcript = part.get("transcript")
                parts.append({"type": "input_audio", "audio": held,
                              **({"transcript": transcript} if isinstance(transcript, str)
                                 else {})})
                held = None  # one clip per item
                continue
            if ptype == "input_image" and item.role == "user":
                keep = ("type", "image_url", "detail")
                parts.append({k: v for k, v in part.items() if k in keep})
                continue
            text = part.get("text") if isinstance(part.get("text"), str) else part.get("transcript")
            if isinstance(text, str):
                parts.append({"type": part_type, "text": text})
        if not parts:
            parts = [{"type": part_type, "text": ""}]
        out["content"] = parts
    if item.type == "function_call" and out.get("arguments") in (None, ""):
        out["arguments"] = "{}"
    if item.type == "function_call_output" and out.get("output") is None:
        out["output"] = ""
    try:
        return validate_item(out)
    except ValueError:
        return None


def replay_events(
    items: Iterable[Item], session_config: dict[str, Any] | None = None,
    audio_of: AudioOf | None = None,
) -> list[dict[str, Any]]:
    """Client events that rebuild ``items`` (in order) in an empty server session."""
    events: list[dict[str, Any]] = []
    if session_config:
        events.append({"type": "session.update", "event_id": new_event_id(),
                       "session": copy.deepcopy(session_config)})
    for item in items:
        wire = replay_item(item, audio_of)
        if wire is not None:
            events.append({"type": "conversation.item.create", "event_id": new_event_id(),
                           "item": wire})
    return events


def settle(model: Conversation, response_id: str, ts: float, reason: str
           ) -> tuple[bool, list[Record]]:
    """Decide the fate of a response whose server session is gone (its ``response.done``
    will never come). If every output item it started reached done, it is kept and finished
    here (``True``, with a :class:`ResponseChange`); otherwise it is dropped whole: every item
    it started leaves the conversation (``False``, with the removals), to be asked again."""
    resp = model.responses.get(response_id)
    if resp is None or resp.finished:
        return True, []
    live = [i for i in resp.item_ids if i in model]
    if live and all(model.is_done(i) for i in live):
        statuses = {item.status for i in live if (item := model.get(i)) is not None}
        resp.status = "completed" if statuses == {"completed"} else "incomplete"
        resp.finished = True
        return True, [ResponseChange(response_id, resp.status, None, tuple(resp.item_ids), ts,
                                     details={"type": "realtime_nb", "reason": reason})]
    records: list[Record] = [model.drop(i, ts, "realtime_nb.resync") for i in live]
    del model.responses[response_id]
    return False, records


def settle_responses(model: Conversation, now: float, why: str) -> tuple[list[Record], list[str]]:
    """Settle every response still running in ``model`` (see :func:`settle`); returns the
    records (removals, and a ``ResponseChange`` per kept response) and the kept ids."""
    records: list[Record] = []
    kept: list[str] = []
    for rid in [r for r, state in model.responses.items() if not state.finished]:
        keep, recs = settle(model, rid, now, f"the connection dropped before response.done "
                            f"({why})")
        if keep:
            kept.append(rid)
        records += recs
    return records, kept


def redo_resync(model: Conversation, payload: dict[str, Any], ts: float) -> list[Record]:
    """What a logged ``realtime_nb.resync`` entry did to the model, done again (loading a
    saved session): its settled responses kept, its dropped items removed."""
    dropped = payload.get("dropped")
    settled = payload.get("settled")
    if not isinstance(dropped, list):  # a file from before responses were settled
        dropped = [i.id for i in model if not model.is_done(i.id)
                   and model.response_of(i.id) is not None]
        settled = []
    records: list[Record] = []
    for rid in settled if isinstance(settled, list) else ():
        records += settle(model, str(rid), ts, "settled after a lost connection")[1]
    records += [model.drop(i, ts, "realtime_nb.resync") for i in dropped
                if isinstance(i, str) and i in model]
    return records
