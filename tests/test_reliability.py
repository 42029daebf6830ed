"""Drops, expiry, fatal errors and hostile input: nothing received is lost, nothing wedges."""

from __future__ import annotations

import json
import random
import threading
import time

import pytest

import realtime_nb as rnb
from realtime_nb.server import EmbeddedServer
from tests.test_session import ScriptedServer

FAST = (0.01, 0.1)


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def server_ids(srv):
    (conversation,) = srv.conversations()
    return [item["id"] for item in conversation]


def test_reconnect_replays_the_conversation_with_the_same_ids():
    with EmbeddedServer() as srv:
        conv = rnb.connect(url=srv.url, backoff=FAST, timeout=10)
        try:
            conv.update_session(type="realtime", instructions="Be brief.")
            a = conv.create("first")
            conv.respond()
            ids = [i.id for i in conv.items]
            assert srv.drop_connections() == 1
            assert wait_until(lambda: conv.status == "reconnecting" or
                              any(e["type"] == "realtime_nb.resync" for e in conv.log))
            assert wait_until(lambda: conv.status == "open" and srv.connection_count() == 1)
            b = conv.create("after the drop")
            assert [i.id for i in conv.items] == [*ids, b.id]
            assert server_ids(srv) == [*ids, b.id]
            assert conv.retrieve(a.id).text == "first"
            local = [e for e in conv.log if e["direction"] == "local"]
            assert [e["payload"]["status"] for e in local if e["type"] == "realtime_nb.status"][
                :2] == ["reconnecting", "open"]
            # the session configuration sent before the drop was replayed
            replayed = [e for e in conv.log if e["direction"] == "out"
                        and e["type"] == "session.update"]
            assert len(replayed) == 2 and replayed[1]["payload"]["session"]["instructions"]
        finally:
            conv.close()


def test_calls_made_while_disconnected_are_queued_and_flushed():
    with EmbeddedServer() as srv:
        conv = rnb.connect(url=srv.url, backoff=(0.3, 0.5), timeout=10)
        try:
            conv.create("before")
            srv.drop_connections()
            assert wait_until(lambda: conv.status == "reconnecting")
            item = conv.create("while reconnecting")  # waits through the reconnect
            assert item.text == "while reconnecting"
            assert [i.text for i in conv.items] == ["before", "while reconnecting"]
        finally:
            conv.close()


def test_server_session_expiry_is_survived():
    with EmbeddedServer(session_ttl=0.4) as srv:
        conv = rnb.connect(url=srv.url, backoff=FAST, timeout=10)
        try:
            first = conv.create("one")
            assert wait_until(lambda: any(e["type"] == "realtime_nb.resync" for e in conv.log))
            assert wait_until(lambda: conv.status == "open")
            second = conv.create("two")
            assert [i.id for i in conv.items] == [first.id, second.id]
        finally:
            conv.close()


def test_fatal_errors_stop_retrying_and_say_so():
    frames = [json.dumps({"type": "error", "event_id": "event_e", "error": {
        "type": "invalid_request_error", "code": "invalid_api_key",
        "message": "Incorrect API key provided."}})]
    with ScriptedServer(frames, close_after=True) as srv:
        conv = rnb.connect(url=srv.url, backoff=FAST)
        assert wait_until(lambda: conv.status == "error")
        assert "Incorrect API key" in conv._session.close_reason
        assert "not reconnecting" in conv._session.close_reason
        conv.close()


def test_gives_up_after_max_attempts():
    srv = EmbeddedServer().start()
    conv = rnb.connect(url=srv.url, backoff=FAST, max_attempts=3)
    conv.create("kept")
    srv.stop()
    assert wait_until(lambda: conv.status == "error", timeout=15)
    assert "gave up after 3" in conv._session.close_reason
    with pytest.raises(rnb.ConnectionClosedError):
        conv.create("no more")
    assert [i.text for i in conv.items] == ["kept"]
    conv.close()


@pytest.mark.timeout(240)
def test_one_hundred_random_drops_lose_and_duplicate_nothing():
    rng = random.Random(7)
    with EmbeddedServer(chunk_delay=0.002) as srv:
        conv = rnb.connect(url=srv.url, backoff=(0.005, 0.05), timeout=60, max_attempts=50)
        try:
            drops = []

            def dropper():
                while len(drops) < 100:
                    wait_until(lambda: srv.connection_count() == 1)
                    time.sleep(rng.uniform(0.0, 0.05))  # a random point of the live stream
                    drops.append(srv.drop_connections())

            t = threading.Thread(target=dropper, daemon=True)
            t.start()
            step = 0
            asked: list[str] = []  # the message each respond() answered
            while t.is_alive() or step < 10:
                step += 1
                item = conv.create(f"message {step}")
                if step % 3 == 0:
                    conv.respond()
                    asked.append(f"message {step}")
                if step % 7 == 0:
                    conv.create(role="system", text=f"note {step}", previous_item_id="root")
                if step % 11 == 0:
                    conv.delete(item.id)
            t.join()
            assert sum(drops) == 100  # every drop cut a live connection
            assert wait_until(lambda: conv.status == "open" and srv.connection_count() == 1)
            conv.create("final")  # a round trip after the last drop settles the stream
            truth = server_ids(srv)
            mine = [i.id for i in conv.items]
            assert mine == truth and len(set(mine)) == len(mine)
            assert conv.errors == []  # nothing sent twice, nothing refused
            # each respond() left exactly one answer, in the client and on the server
            said = [i.text for i in conv.items if i.role == "assistant"]
            for text in asked:
                assert said.count(f'You said: "{text}". This is the offline responder.') == 1
            assert len(said) == len(asked)
            df = getattr(conv, "df", None)
            if df is not None:
                live = df[~df["deleted"]]
                assert list(live.sort_values("position").index) == truth
                assert df.index.is_unique
            assert conv.status == "open" and step > 10
        finally:
            conv.close()


def test_hostile_server_frames_are_logged_counted_and_skipped():
    """Huge frames, wrong field types, unknown items, duplicated and out-of-order done events:
    each is logged with its reason (or merged), nothing already received is lost."""
    item = {"id": "item_ok", "type": "message", "role": "user", "status": "completed",
            "content": [{"type": "input_text", "text": "still here"}]}
    done = json.dumps({"type": "conversation.item.done", "event_id": "event_d",
                       "previous_item_id": None, "item": item})
    frames = [
        done,  # done before any added: the item is placed
        json.dumps({"type": "conversation.item.added", "event_id": "event_a",
                    "previous_item_id": None, "item": item}),  # late added: merged, no copy
        done,  # duplicated done: merged, no copy
        json.dumps({"type": "response.output_text.delta", "event_id": "event_x",
                    "item_id": "item_ok", "content_index": "zero", "delta": 7}),
        json.dumps({"type": "conversation.item.deleted", "event_id": "event_y",
                    "item_id": "item_ghost"}),
        json.dumps({"type": "response.output_text.delta", "event_id": "event_h",
                    "item_id": "item_ok", "delta": "x" * (17 * 1024 * 1024)}),
        json.dumps({"type": "conversation.item.done", "event_id": "event_z",
                    "previous_item_id": "item_ok", "item": {**item, "id": "item_last"}}),
    ]
    with ScriptedServer(frames) as srv:
        conv = rnb.connect(url=srv.url, timeout=5)
        try:
            assert wait_until(lambda: len(conv.items) == 2)
            assert [i.id for i in conv.items] == ["item_ok", "item_last"]
            assert conv.items[0].text == "still here" and conv.status == "open"
            notes = [(e["type"], e["note"]) for e in conv.log if e["note"]]
            assert [t for t, _ in notes] == ["response.output_text.delta",
                                            "conversation.item.deleted", "invalid"]
            assert "over the 16,777,216-byte limit" in notes[2][1]
            assert conv.skipped == 3
            df = getattr(conv, "df", None)
            if df is not None:
                assert list(df.index) == ["item_ok", "item_last"]
            sent = conv.send({"type": "response.create"}, wait=True, timeout=5)
            assert conv.log[-1]["event_id"] == sent  # the session still sends
        finally:
            conv.close()
