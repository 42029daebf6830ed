"""Property-based tests: generated and mutated server events never break the parser or model."""

from __future__ import annotations

import json
import random

from hypothesis import example, given, settings
from hypothesis import strategies as st

from realtime_nb import ProtocolError
from realtime_nb.core.conversation import Conversation
from realtime_nb.core.protocol import SERVER_EVENT_ALIASES, ServerEvent, parse_server_event

IDS = ["a", "b", "c", "d", "root", ""]
TYPES = [
    "conversation.item.added", "conversation.item.created", "conversation.item.done",
    "conversation.item.retrieved", "conversation.item.deleted", "conversation.item.truncated",
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
    "response.created", "response.done", "response.output_item.added",
    "response.output_item.done", "response.content_part.added", "response.content_part.done",
    "response.output_text.delta", "response.output_text.done",
    "response.output_audio_transcript.delta", "response.output_audio_transcript.done",
    "response.function_call_arguments.delta", "response.function_call_arguments.done",
    "response.mcp_call_arguments.delta", "session.created", "session.updated", "error",
    "rate_limits.updated", "something.unknown", *SERVER_EVENT_ALIASES,
]

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 2**40), st.floats(),
                        st.text(max_size=8))
json_value = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8)
def check_invariants(model: Conversation) -> None:
    seen = list(model)
    assert len(seen) == len(model)
    assert len({i.id for i in seen}) == len(seen)
    prev = None
    for item in seen:
        assert item.previous_item_id == prev
        prev = item.id


def random_json(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth < 2 and roll < 0.15:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 2))]
    if depth < 2 and roll < 0.3:
        return {rng.choice(["type", "id", "text", "x"]): random_json(rng, depth + 1)
                for _ in range(rng.randint(0, 2))}
    return rng.choice([None, True, 0, -1, 2**40, 1.5, float("nan"), "", "a", "zz", "\u2028"])


def random_item(rng: random.Random):
    item = {"id": rng.choice(IDS)}
    if rng.random() < 0.9:
        item["type"] = rng.choice(["message", "function_call", "function_call_output",
                                   "mcp_call", "mcp_list_tools", "weird"])
    for key, choices in (("role", ["user", "assistant", "system", None, 5]),
                         ("status", ["in_progress", "completed", "incomplete", "done", None])):
        if rng.random() < 0.8:
            item[key] = rng.choice(choices)
    if rng.random() < 0.7:
        item["content"] = [{"type": rng.choice(["input_text", "output_text", "text", "audio"]),
                            rng.choice(["text", "transcript"]): rng.choice(["hi", "", None, 3])}
                           for _ in range(rng.randint(0, 2))]
    for key in ("arguments", "output", "tools"):
        if rng.random() < 0.2:
            item[key] = random_json(rng)
    return item if rng.random() < 0.95 else random_json(rng)


def random_event(rng: random.Random) -> dict:
    """One plausible-but-hostile server event: right names, often wrong or missing fields."""
    event = {"type": rng.choice(TYPES), "event_id": rng.choice(["event_1", None, 7])}
    fields = {
        "item": lambda: random_item(rng),
        "previous_item_id": lambda: rng.choice([*IDS, None, 3]),
        "item_id": lambda: rng.choice([*IDS, None, 3]),
        "response_id": lambda: rng.choice(["r1", "r2", None]),
        "content_index": lambda: rng.choice([0, 0, 1, 3, -1, None, "0", 2**40, True]),
        "delta": lambda: rng.choice(["x", "yy", "", None, 5]),
        "text": lambda: rng.choice(["final", "", None, 1]),
        "transcript": lambda: rng.choice(["said", None]),
        "arguments": lambda: rng.choice(['{"a":1}', "", None, {}]),
        "part": lambda: rng.choice([{"type": "text", "text": ""}, {"type": "audio"}, None, []]),
        "response": lambda: {"id": rng.choice(["r1", "r2", 3]),
                             "status": rng.choice(["completed", "in_progress", None]),
                             "output": [random_item(rng) for _ in range(rng.randint(0, 2))],
                             "usage": random_json(rng)} if rng.random() < 0.9 else random_json(rng),
        "error": lambda: random_json(rng),
        "session": lambda: random_json(rng),
    }
    for key, make in fields.items():
        if rng.random() < 0.35:
            event[key] = make()
    return event


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1))
@example(965544)  # a done item re-created with status "done", then "in_progress" (CI, 11-30)
def test_generated_event_streams_never_raise_and_done_stays_done(seed):
    """200 streams of 50 events (10,000 events): no exception, the links stay consistent, and an
    item that reached done stays done (and never goes back to in_progress) until deleted."""
    rng = random.Random(seed)
    model = Conversation()
    done: set[str] = set()
    for _ in range(50):
        event = parse_server_event(json.dumps(random_event(rng)))
        model.apply(event)
        check_invariants(model)
        deleted = event.item_id if event.type == "conversation.item.deleted" else None
        for item_id in list(done):
            if item_id == deleted and item_id not in model:
                done.discard(item_id)
                continue
            assert model.is_done(item_id), f"{item_id} lost its done state after {event.type}"
            assert model.get(item_id).status != "in_progress"
        done |= {i.id for i in model if model.is_done(i.id)}


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=40), st.text(max_size=40),
                 json_value.map(lambda v: json.dumps(v, default=str))))
def test_arbitrary_frames_parse_or_raise_protocol_error_only(frame):
    try:
        event = parse_server_event(frame)
    except ProtocolError:
        return
    assert isinstance(event, ServerEvent) and isinstance(event.type, str)
    Conversation().apply(event)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_mutations_of_a_real_event_sequence(data):
    """Start from a well-formed response sequence and corrupt one field of one event."""
    base = [
        {"type": "conversation.item.added", "previous_item_id": None,
         "item": {"id": "u", "type": "message", "role": "user", "status": "completed",
                  "content": [{"type": "input_text", "text": "hi"}]}},
        {"type": "conversation.item.done", "previous_item_id": None,
         "item": {"id": "u", "type": "message", "role": "user", "status": "completed",
                  "content": [{"type": "input_text", "text": "hi"}]}},
        {"type": "response.created", "response": {"id": "r1", "status": "in_progress"}},
        {"type": "response.output_item.added", "response_id": "r1", "output_index": 0,
         "item": {"id": "a", "type": "message", "role": "assistant", "status": "in_progress",
                  "content": []}},
        {"type": "conversation.item.added", "previous_item_id": "u",
         "item": {"id": "a", "type": "message", "role": "assistant", "status": "in_progress",
                  "content": []}},
        {"type": "response.output_text.delta", "response_id": "r1", "item_id": "a",
         "content_index": 0, "delta": "hel"},
        {"type": "response.output_text.delta", "response_id": "r1", "item_id": "a",
         "content_index": 0, "delta": "lo"},
        {"type": "conversation.item.done", "previous_item_id": "u",
         "item": {"id": "a", "type": "message", "role": "assistant", "status": "completed",
                  "content": [{"type": "output_text", "text": "hello"}]}},
        {"type": "response.done", "response": {"id": "r1", "status": "completed",
                                                "output": [], "usage": {"total_tokens": 3}}},
    ]
    index = data.draw(st.integers(0, len(base) - 1))
    victim = dict(base[index])
    key = data.draw(st.sampled_from(sorted(victim)))
    victim[key] = data.draw(json_value)
    stream = [*base[:index], victim, *base[index + 1:]]
    if data.draw(st.booleans()):
        stream = [*stream, *stream]  # duplicated and out-of-order done events
    model = Conversation()
    for e in stream:
        try:
            model.apply(parse_server_event(json.dumps(e)))
        except ProtocolError:
            pass
        check_invariants(model)
    if "u" in model and model.is_done("u"):
        assert model.get("u").status == "completed"


# --------------------------------------------------------------------------------------------
# The event log's audio stripping and id extraction, against the plain reading of their rules


def _reference_strip_audio(payload):
    audio_fields = {"response.output_audio.delta": "delta", "response.audio.delta": "delta",
                    "input_audio_buffer.append": "audio"}

    def strip_item(item):
        content = item.get("content")
        if not isinstance(content, list):
            return item
        if not any(isinstance(p, dict) and isinstance(p.get("audio"), str) for p in content):
            return item
        return {**item, "content": [
            {**p, "audio": len(p["audio"])}
            if isinstance(p, dict) and isinstance(p.get("audio"), str) else p for p in content]}

    out = dict(payload)
    key = audio_fields.get(str(payload.get("type")))
    if key and isinstance(out.get(key), str):
        out[key] = len(out[key])
    item = out.get("item")
    if isinstance(item, dict) and isinstance(item.get("content"), list):
        out["item"] = strip_item(item)
    resp = out.get("response")
    if isinstance(resp, dict) and isinstance(resp.get("output"), list):
        out["response"] = {**resp, "output": [strip_item(i) if isinstance(i, dict) else i
                                              for i in resp["output"]]}
    part = out.get("part")
    if isinstance(part, dict) and isinstance(part.get("audio"), str):
        out["part"] = {**part, "audio": len(part["audio"])}
    return out


def _reference_ids(payload):
    def s(v):
        return v if isinstance(v, str) else None

    item, resp, err = payload.get("item"), payload.get("response"), payload.get("error")
    item_id = s(payload.get("item_id")) or (s(item.get("id")) if isinstance(item, dict) else None)
    response_id = s(payload.get("response_id")) or (
        s(resp.get("id")) if isinstance(resp, dict) else None)
    code = s(err.get("code")) if isinstance(err, dict) else None
    return s(payload.get("event_id")), item_id, response_id, code


AUDIO_TYPES = ["response.output_audio.delta", "response.audio.delta", "input_audio_buffer.append"]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_log_entries_strip_audio_and_read_ids_by_the_rules(seed):
    from realtime_nb.core.eventlog import EventLog

    rng = random.Random(seed)
    log = EventLog()
    for n in range(50):
        event = random_event(rng)
        if rng.random() < 0.3:
            event["type"] = rng.choice([*AUDIO_TYPES, 5, None])
        for key in ("delta", "audio"):
            if rng.random() < 0.3:
                event[key] = rng.choice(["QUJD", "", 7, None])
        if rng.random() < 0.2:
            event["part"] = rng.choice([{"type": "audio", "audio": "QUJD"}, {"audio": 1}, "p"])
        if rng.random() < 0.2:
            event["item"] = {"id": rng.choice(IDS), "content": [
                {"type": "input_audio", "audio": "QUJD"}, "x", {"audio": None}]}
        if rng.random() < 0.2:
            event["error"] = rng.choice([{"code": "c"}, {"code": 5}, "e"])
        if rng.random() < 0.1:
            del event["type"]
        before = json.dumps(event, sort_keys=True, default=repr)
        raw = json.dumps(event) if rng.random() < 0.5 else None  # as received, or built here
        assert log.append("in", event, 1.0, raw=raw) == n
        entry = log[n]
        assert json.dumps(event, sort_keys=True, default=repr) == before  # the event untouched
        want = _reference_strip_audio(event)
        # payloads are kept as JSON text: compare as JSON (NaN is not equal to itself)
        assert json.dumps(entry["payload"]) == json.dumps(want)
        assert entry["payload"] is not event
        event_id, item_id, response_id, code = _reference_ids(want)
        assert {**entry, "payload": None} == {
            "seq": n, "ts": 1.0, "direction": "in", "type": str(want.get("type")),
            "event_id": event_id, "item_id": item_id, "response_id": response_id,
            "error_code": code, "payload": None, "note": None}
        assert list(entry) == ["seq", "ts", "direction", "type", "event_id", "item_id",
                               "response_id", "error_code", "payload", "note"]
