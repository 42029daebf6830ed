"""The conversation model on its own: ordering, deltas, merges and change records."""

from __future__ import annotations

import json

from realtime_nb.core.conversation import Conversation
from realtime_nb.core.protocol import parse_server_event
from realtime_nb.core.records import Change, ResponseChange, Skipped


def ev(type_: str, **fields):
    return parse_server_event(json.dumps({"type": type_, "event_id": "event_x", **fields}))


def msg(item_id: str, role: str = "user", text: str = "hi", status: str = "completed"):
    ptype = "output_text" if role == "assistant" else "input_text"
    return {"id": item_id, "type": "message", "role": role, "status": status,
            "content": [{"type": ptype, "text": text}]}


def added(model: Conversation, item, prev="__append__", kind="conversation.item.added"):
    fields = {"item": item}
    if prev != "__append__":
        fields["previous_item_id"] = prev
    return model.apply(ev(kind, **fields))


def test_null_anchor_is_head_known_anchor_inserts_after_missing_key_appends():
    m = Conversation()
    added(m, msg("a"), None)
    added(m, msg("b"), "a")
    added(m, msg("c"), None)  # the server says: first
    added(m, msg("d"), "a")  # right after a
    added(m, msg("e"))  # no previous_item_id at all: append
    assert m.ids() == ["c", "a", "d", "b", "e"]
    assert [i.previous_item_id for i in m] == [None, "c", "a", "d", "b"]


def test_unknown_anchor_appends_and_flags_never_drops():
    m = Conversation()
    added(m, msg("a"), None)
    (rec,) = added(m, msg("x"), "item_never_seen")
    assert isinstance(rec, Change) and rec.kind == "inserted"
    assert m.ids() == ["a", "x"]
    assert m.get("x").flagged is True
    # the done event names a known anchor: the item moves there and is no longer flagged
    recs = m.apply(ev("conversation.item.done", item=msg("x"), previous_item_id=None))
    assert [r.kind for r in recs] == ["removed", "inserted"]
    assert m.ids() == ["x", "a"] and not m.get("x").flagged


def test_done_is_reported_once_and_added_is_not_done():
    m = Conversation()
    (r1,) = added(m, msg("a", status="in_progress"), None)
    assert r1.done is False
    (r2,) = m.apply(ev("conversation.item.done", item=msg("a"), previous_item_id=None))
    assert r2.kind == "updated" and r2.done is True and m.is_done("a")
    (r3,) = m.apply(ev("conversation.item.done", item=msg("a"), previous_item_id=None))
    assert r3.done is False


def test_beta_created_with_final_status_counts_as_done():
    m = Conversation()
    (rec,) = added(m, msg("a"), None, kind="conversation.item.created")
    assert rec.done is True


def test_streamed_text_deltas_apply_in_place_and_report_the_delta():
    m = Conversation()
    added(m, {"id": "r", "type": "message", "role": "assistant", "status": "in_progress",
              "content": []}, None)
    m.apply(ev("response.content_part.added", response_id="resp", item_id="r", output_index=0,
               content_index=0, part={"type": "text", "text": ""}))
    recs = []
    for piece in ["Hel", "lo ", "world"]:
        recs += m.apply(ev("response.output_text.delta", response_id="resp", item_id="r",
                           output_index=0, content_index=0, delta=piece))
    assert m.get("r").text == "Hello world"
    assert [r.delta.text for r in recs] == ["Hel", "lo ", "world"]
    # beta name goes through the alias table
    m.apply(ev("response.text.delta", response_id="resp", item_id="r", output_index=0,
               content_index=0, delta="!"))
    assert m.get("r").text == "Hello world!"
    # an empty content_part.done snapshot never erases streamed text
    m.apply(ev("response.content_part.done", response_id="resp", item_id="r", output_index=0,
               content_index=0, part={"type": "text"}))
    assert m.get("r").text == "Hello world!"


def test_delta_before_part_creates_the_part_lazily():
    m = Conversation()
    added(m, {"id": "r", "type": "message", "role": "assistant", "content": []}, None)
    m.apply(ev("response.output_audio_transcript.delta", response_id="q", item_id="r",
               output_index=0, content_index=1, delta="spoken"))
    item = m.get("r")
    assert len(item.content) == 2 and item.content[1]["transcript"] == "spoken"
    assert item.text == "spoken"


def test_function_call_arguments_stream_and_finish():
    m = Conversation()
    added(m, {"id": "f", "type": "function_call", "name": "get_weather", "call_id": "call_1",
              "arguments": "", "status": "in_progress"}, None)
    for piece in ['{"city"', ': "Oslo"}']:
        m.apply(ev("response.function_call_arguments.delta", response_id="q", item_id="f",
                   output_index=0, call_id="call_1", delta=piece))
    assert m.get("f").arguments == '{"city": "Oslo"}'
    m.apply(ev("response.function_call_arguments.done", response_id="q", item_id="f",
               output_index=0, call_id="call_1", name="get_weather", arguments='{"city":"Oslo"}'))
    assert m.get("f").arguments == '{"city":"Oslo"}'


def test_retrieved_merge_never_loses_text_or_downgrades_status():
    m = Conversation()
    added(m, msg("a", text="kept text"), None)
    m.apply(ev("conversation.item.retrieved",
               item={"id": "a", "type": "message", "role": "user", "status": "in_progress",
                     "content": [{"type": "input_text"}]}))
    item = m.get("a")
    assert item.text == "kept text" and item.status == "completed"


def test_deleted_removes_and_relinks_neighbours():
    m = Conversation()
    for i, prev in (("a", None), ("b", "a"), ("c", "b")):
        added(m, msg(i), prev)
    (rec,) = m.apply(ev("conversation.item.deleted", item_id="b"))
    assert rec.kind == "removed" and rec.item.id == "b"
    assert m.ids() == ["a", "c"] and m.get("c").previous_item_id == "a"
    (skip,) = m.apply(ev("conversation.item.deleted", item_id="b"))
    assert isinstance(skip, Skipped)


def test_truncate_clears_unheard_transcript_only():
    m = Conversation()
    added(m, {"id": "a", "type": "message", "role": "assistant", "status": "completed",
              "content": [{"type": "output_audio", "transcript": "heard and unheard"}]}, None)
    m.apply(ev("conversation.item.truncated", item_id="a", content_index=0, audio_end_ms=10))
    assert m.get("a").content[0]["transcript"] == ""


def test_response_done_reports_usage_and_items():
    m = Conversation()
    m.apply(ev("response.created", response={"id": "resp_1", "status": "in_progress",
                                             "output": []}))
    item = {"id": "r", "type": "message", "role": "assistant", "status": "in_progress",
            "content": []}
    m.apply(ev("response.output_item.added", response_id="resp_1", output_index=0, item=item))
    added(m, item, None)
    recs = m.apply(ev("response.done", response={
        "id": "resp_1", "status": "completed", "usage": {"total_tokens": 7},
        "output": [{**item, "status": "completed",
                    "content": [{"type": "output_text", "text": "ok"}]}]}))
    assert recs[0].kind == "updated" and recs[0].done and recs[0].response_id == "resp_1"
    assert isinstance(recs[-1], ResponseChange)
    assert recs[-1].usage == {"total_tokens": 7} and recs[-1].item_ids == ("r",)
    assert m.response_of("r") == "resp_1"


def test_out_of_band_response_deltas_are_ignored_quietly():
    m = Conversation()
    m.apply(ev("response.created", response={"id": "oob", "status": "in_progress"}))
    recs = m.apply(ev("response.output_text.delta", response_id="oob", item_id="zz",
                      output_index=0, content_index=0, delta="x"))
    assert recs == [] and len(m) == 0


def test_malformed_events_become_skipped_records_not_exceptions():
    m = Conversation()
    bad = [
        ev("conversation.item.added", item="not an object"),
        ev("conversation.item.added", item={"type": "message"}),  # no id
        ev("response.output_text.delta", item_id="nope", delta="x"),
        ev("response.output_text.delta", item_id=5, delta=None),
        ev("conversation.item.truncated", item_id=None),
        ev("response.done", response=[]),
    ]
    for e in bad:
        (rec,) = m.apply(e)
        assert isinstance(rec, Skipped) and rec.reason, e
    assert m.apply(ev("some.future.event", anything=1)) == []  # unknown types: no change
    assert len(m) == 0
    added(m, msg("a"), None)
    recs = m.apply(ev("response.output_text.delta", item_id="a", content_index="zero", delta="x"))
    assert isinstance(recs[0], Skipped)
    assert m.get("a").text == "hi"


def test_item_keeps_unknown_fields_and_mcp_fields():
    m = Conversation()
    added(m, {"id": "t", "type": "mcp_list_tools", "server_label": "srv",
              "tools": [{"name": "search", "input_schema": {}}], "future_field": 1}, None)
    item = m.get("t")
    assert item.extra["server_label"] == "srv" and item.extra["future_field"] == 1
    assert item.text == "search"
    assert item.to_wire()["tools"][0]["name"] == "search"
