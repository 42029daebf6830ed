"""conv.turns, rnb.prices, conv.cost() and the timeline: known usage and times from a scripted
server (real loopback traffic with timed gaps), the same frame from a saved file, and costs
checked against the hand computation."""

from __future__ import annotations

import asyncio
import base64
import math
import time

import pandas as pd
import pytest

import realtime_nb as rnb
from realtime_nb.data.prices import usage_cost
from realtime_nb.data.timeline import read_timeline
from tests.scripted import ScriptServer, new_id, response_object

#: Known usage of the first turn (text_tokens and audio_tokens include the cached ones).
USAGE_1 = {
    "total_tokens": 1200, "input_tokens": 1000, "output_tokens": 200,
    "input_token_details": {"text_tokens": 400, "audio_tokens": 600, "image_tokens": 0,
                            "cached_tokens": 300,
                            "cached_tokens_details": {"text_tokens": 100, "audio_tokens": 200}},
    "output_token_details": {"text_tokens": 50, "audio_tokens": 150},
}
USAGE_2 = {
    "total_tokens": 130, "input_tokens": 100, "output_tokens": 30,
    "input_token_details": {"text_tokens": 20, "audio_tokens": 80, "cached_tokens": 0},
    "output_token_details": {"text_tokens": 10, "audio_tokens": 20},
}
# gpt-realtime, USD per 1M: text 4 / cached 0.40 / out 16; audio 32 / cached 0.40 / out 64
COST_1 = (300 * 4 + 100 * 0.40 + 50 * 16 + 400 * 32 + 200 * 0.40 + 150 * 64) / 1e6
COST_2 = (20 * 4 + 10 * 16 + 80 * 32 + 20 * 64) / 1e6
#: How late a scripted gap may land on a loaded machine (the lower bounds prove the gaps).
SLACK = 1.5
AUDIO_100MS = base64.b64encode(bytes(4800)).decode()  # PCM16 24 kHz: 48 bytes per ms


async def two_turns(peer):
    """Turn 1: asked for (our response.create), text after 0.25 s, done after 0.35 s.
    Turn 2: server-started after speech (VAD), audio 0.3 s after speech stopped, cancelled."""
    create = await peer.recv("response.create")
    meta = (create.get("response") or {}).get("metadata")
    rid, item = new_id("resp_"), new_id("item_")
    where = {"response_id": rid, "item_id": item, "output_index": 0, "content_index": 0}
    await asyncio.sleep(0.10)
    await peer.send("response.created", response=response_object(rid, "in_progress", [], None,
                                                                 meta))
    await asyncio.sleep(0.15)
    await peer.send("response.output_item.added", response_id=rid, output_index=0, item={
        "id": item, "type": "message", "role": "assistant", "status": "in_progress",
        "content": []})
    await peer.send("response.output_text.delta", **where, delta="Hi")
    await asyncio.sleep(0.10)
    done = {"id": item, "type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": "Hi"}]}
    await peer.send("response.output_item.done", response_id=rid, output_index=0, item=done)
    await peer.send("response.done", response=response_object(rid, "completed", [done],
                                                              USAGE_1, meta))
    await peer.recv("conversation.item.create")  # the test's cue for turn 2
    await peer.send("input_audio_buffer.speech_started", item_id="item_u", audio_start_ms=0)
    await asyncio.sleep(0.10)
    await peer.send("input_audio_buffer.speech_stopped", item_id="item_u", audio_end_ms=100)
    await asyncio.sleep(0.20)
    rid2, item2 = new_id("resp_"), new_id("item_")
    where2 = {"response_id": rid2, "item_id": item2, "output_index": 0, "content_index": 0}
    await peer.send("response.created", response=response_object(rid2, "in_progress", [], None))
    await asyncio.sleep(0.10)
    await peer.send("response.output_audio.delta", **where2, delta=AUDIO_100MS)
    await peer.send("response.output_audio_transcript.delta", **where2, delta="Yes")
    await asyncio.sleep(0.05)
    cut = {"id": item2, "type": "message", "role": "assistant", "status": "incomplete",
           "content": [{"type": "output_audio", "transcript": "Yes"}]}
    await peer.send("response.done", response=response_object(
        rid2, "cancelled", [cut], USAGE_2,
        details={"type": "cancelled", "reason": "turn_detected"}))


def wait_turns(conv, n: int, timeout: float = 5.0) -> None:
    """Until ``n`` responses are done."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        turns = conv.turns
        if len(turns) >= n and turns.done_s.notna().all():
            return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {n} finished turns: {conv.turns}")


@pytest.fixture(scope="module")
def session():
    """One scripted two-turn session (shared by the tests that only read it)."""
    with ScriptServer(two_turns) as srv:
        conv = rnb.connect(url=srv.url, timeout=10)
        conv.respond()
        conv.send({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "go on"}]}})
        wait_turns(conv, 2)
        yield conv
        conv.close()


def test_turns_have_the_issues_columns_and_dtypes(session):
    turns = session.turns
    assert list(turns.columns) == [
        "response_id", "status", "status_reason", "requested_at", "created_at",
        "first_text_s", "first_audio_s", "done_s", "items", "tool_calls", "input_tokens",
        "output_tokens", "total_tokens", "cached_tokens", "input_text_tokens",
        "input_audio_tokens", "output_text_tokens", "output_audio_tokens", "cost",
        "speech_end_to_first_audio_s"]
    dtypes = {c: str(t) for c, t in turns.dtypes.items()}
    assert dtypes["requested_at"] == dtypes["created_at"] == "datetime64[ns, UTC]"
    for col in ("first_text_s", "first_audio_s", "done_s", "cost",
                "speech_end_to_first_audio_s"):
        assert dtypes[col] == "Float64", col
    for col in ("input_tokens", "output_tokens", "total_tokens", "cached_tokens",
                "input_text_tokens", "input_audio_tokens", "output_text_tokens",
                "output_audio_tokens"):
        assert dtypes[col] == "Int64", col
    for col in ("response_id", "status", "status_reason"):
        assert isinstance(turns[col].dtype, pd.StringDtype), col
    assert dtypes["items"] == dtypes["tool_calls"] == "object"


def first_ts(log, etype: str, response_id: str | None = None) -> float:
    return next(e["ts"] for e in log if e["type"] == etype
                and (response_id is None or e["response_id"] == response_id))


def near(measured: float, gap: float) -> bool:
    """A scripted gap as the client measured it: frames are stamped when the client reads
    them, so a busy machine can shift either end; the exact values are checked against the
    log's own timestamps."""
    return gap - 0.15 <= measured < gap + SLACK


def test_turns_times_and_usage_from_the_scripted_server(session):
    log = session.log
    t1, t2 = (row for _, row in session.turns.iterrows())
    assert t1.status == "completed" and t1.status_reason is pd.NA
    assert t1.requested_at is not pd.NaT and t1.requested_at <= t1.created_at
    request = first_ts(log, "response.create")
    assert abs((t1.requested_at - pd.Timestamp(request, unit="s", tz="UTC")).total_seconds()
               ) < 1e-6
    assert t1.first_text_s == pytest.approx(
        first_ts(log, "response.output_text.delta") - request, abs=1e-6)
    assert t1.done_s == pytest.approx(first_ts(log, "response.done") - request, abs=1e-6)
    assert near(t1.first_text_s, 0.25) and near(t1.done_s, 0.35)
    assert t1.done_s > t1.first_text_s
    assert t1.first_audio_s is pd.NA and t1.speech_end_to_first_audio_s is pd.NA
    assert (t1.input_tokens, t1.output_tokens, t1.total_tokens, t1.cached_tokens) == (
        1000, 200, 1200, 300)
    assert (t1.input_text_tokens, t1.input_audio_tokens, t1.output_text_tokens,
            t1.output_audio_tokens) == (400, 600, 50, 150)
    assert len(t1["items"]) == 1 and t1.tool_calls == []
    # the server started turn 2 itself: no request, times from created_at
    assert pd.isna(t2.requested_at)
    assert (t2.status, t2.status_reason) == ("cancelled", "turn_detected")
    audio = first_ts(log, "response.output_audio.delta")
    created = first_ts(log, "response.created", t2.response_id)
    stopped = first_ts(log, "input_audio_buffer.speech_stopped")
    assert t2.first_audio_s == pytest.approx(audio - created, abs=1e-6)
    assert t2.speech_end_to_first_audio_s == pytest.approx(audio - stopped, abs=1e-6)
    assert near(t2.first_audio_s, 0.10) and near(t2.speech_end_to_first_audio_s, 0.30)
    assert t2.first_text_s >= t2.first_audio_s


def test_cost_of_a_known_usage_equals_the_hand_computation(session):
    turns = session.turns
    assert math.isclose(turns.cost[0], COST_1, rel_tol=1e-12)
    assert math.isclose(turns.cost[1], COST_2, rel_tol=1e-12)
    assert math.isclose(session.cost(), COST_1 + COST_2, rel_tol=1e-12)
    # the mini model's prices, by hand
    mini = (300 * 0.60 + 100 * 0.06 + 50 * 2.40 + 400 * 10 + 200 * 0.30 + 150 * 20) / 1e6
    assert math.isclose(session.turns_with(model="gpt-realtime-mini").cost[0], mini,
                        rel_tol=1e-12)


def test_an_unknown_model_gives_na_never_a_number(session):
    assert session.turns_with(model="no-such-model").cost.isna().all()
    assert session.cost(model="no-such-model") is pd.NA
    assert session.turns_with(model="speech-realtime-250923").cost.isna().all()  # no price
    assert usage_cost(USAGE_1, "gpt://b1gfolder/speech-realtime-250923") is None


def test_edited_prices_apply_to_later_reads(session):
    saved = rnb.prices.loc["gpt-realtime"].copy()
    try:
        rnb.prices.loc["gpt-realtime", "output_audio"] = 0.0
        assert math.isclose(session.turns.cost[0], COST_1 - 150 * 64 / 1e6, rel_tol=1e-12)
        rnb.prices.loc["test-only-model"] = [1.0, 0.5, 2.0, 10.0, 0.5, 20.0]  # a new row
        assert session.cost(model="test-only-model") > 0
    finally:
        rnb.prices.loc["gpt-realtime"] = saved
    assert math.isclose(session.turns.cost[0], COST_1, rel_tol=1e-12)


def test_the_same_frame_from_the_log_and_from_a_saved_file(session, tmp_path):
    live = session.turns
    pd.testing.assert_frame_equal(rnb.turns_frame(session.log), live)
    loaded = rnb.load(session.save(tmp_path / "two_turns.jsonl"))
    pd.testing.assert_frame_equal(loaded.turns, live)


def test_cached_tokens_are_priced_once_and_ambiguous_usage_is_na():
    plain = {"input_tokens": 10, "output_tokens": 0,
             "input_token_details": {"text_tokens": 10, "audio_tokens": 0, "cached_tokens": 4}}
    assert math.isclose(usage_cost(plain, "gpt-realtime"), (6 * 4 + 4 * 0.40) / 1e6)
    both = {"input_tokens": 10, "output_tokens": 0,
            "input_token_details": {"text_tokens": 5, "audio_tokens": 5, "cached_tokens": 4}}
    assert usage_cost(both, "gpt-realtime") is None  # which kind was cached is not said
    image = {"input_tokens": 10, "input_token_details": {"text_tokens": 5, "image_tokens": 5}}
    assert usage_cost(image, "gpt-realtime") is None  # no image price column
    assert usage_cost(None, "gpt-realtime") is None
    assert usage_cost({"input_tokens": 0, "output_tokens": 0}, "gpt-realtime") == 0.0


def test_timeline_draws_every_lane(session, tmp_path):
    tl = read_timeline(session.log)
    assert len(tl.waiting) == 2 and len(tl.streaming) == 2 and len(tl.speech) == 1
    (audio,) = tl.audio
    assert math.isclose(audio[1], 0.1) and audio[2] is None  # 100 ms played, no cut
    fig = session.plot_timeline()
    lanes, latency = fig.axes
    assert [t.get_text() for t in lanes.get_yticklabels()] == ["user", "response", "audio",
                                                                 "tools"]
    assert latency.get_ylabel() == "latency (s)"
    fig.savefig(tmp_path / "timeline.png")


def test_turns_on_the_embedded_server_with_a_tool(tmp_path):
    conv = rnb.connect(model="gpt-realtime", timeout=10)
    try:
        @conv.tool
        def get_weather(city: str) -> dict:
            return {"city": city, "temp_c": 19}

        conv.create("What is the weather in Lisbon? Use get_weather.")
        call = conv.respond()
        wait_turns(conv, 2)
        turns = conv.turns
        assert len(turns) == 2 and turns.requested_at.notna().all()
        assert turns.tool_calls[0] == [call.items[0].call_id] and turns.tool_calls[1] == []
        assert turns.cost.notna().all() and math.isclose(conv.cost(), turns.cost.sum())
        tl = read_timeline(conv.log)
        assert [(name, ok) for _, _, ok, name in tl.tools] == [("get_weather", True)]
    finally:
        conv.close()
