"""The sans-I/O core, tested the way ``websockets`` tests its protocol: frames in, records and
client events out, no socket anywhere. :class:`Wire` drives a
:class:`~realtime_nb.core.connection.Connection` exactly as the session does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from realtime_nb.core.connection import Connection
from realtime_nb.core.protocol import REQUEST_KEY, item_create, response_cancel, response_create
from realtime_nb.core.records import Change, ResponseChange
from realtime_nb.core.validation import message
from realtime_nb.errors import ConnectionClosedError, RealtimeServerError

LOST = "connection lost without a close frame"


class Wire:
    """A fake socket's worth of driving: greet, receive, flush the outbox, drop."""

    def __init__(self, **kwargs: Any) -> None:
        self.core = Connection(**kwargs)
        self.now = 0.0
        self.records: list[Any] = []
        self.core.record_listeners.add(lambda recs, event: self.records.extend(recs))
        self.n = 0
        self.open()

    def open(self) -> None:
        self.core.connection_opened(self.now)

    def recv(self, event: dict[str, Any] | str | bytes) -> None:
        self.n += 1
        if isinstance(event, dict):
            event = json.dumps({"event_id": f"event_{self.n}", **event})
        self.core.receive(event)

    def greet(self) -> None:
        self.recv({"type": "session.created", "session": {"type": "realtime"}})

    def flush(self) -> list[dict[str, Any]]:
        """Send everything the core has queued; returns the events as the server gets them."""
        sent = []
        while (call := self.core.next_to_send()) is not None:
            sent.append(json.loads(self.core.encode(call)))
            self.core.sent(call)
        return sent

    def drop(self, reason: str = LOST, after: float = 0.1, server_closed: bool = False) -> Any:
        self.now += after
        step = self.core.connection_lost(reason, self.now, server_closed=server_closed)
        if step.retry:
            self.open()
        return step

    # server-side events
    def item(self, item_id: str, event: str = "conversation.item.done", prev: str | None = None,
             role: str = "user", text: str = "hi", status: str = "completed", **extra: Any
             ) -> None:
        part = "input_text" if role != "assistant" else "output_text"
        self.recv({"type": event, "previous_item_id": prev, "item": {
            "id": item_id, "type": "message", "role": role, "status": status,
            "content": [{"type": part, "text": text}]}, **extra})

    def created(self, rid: str, request: str | None = None) -> None:
        meta = {REQUEST_KEY: request} if request else None
        self.recv({"type": "response.created", "response": {
            "id": rid, "status": "in_progress", "output": [], "metadata": meta}})

    def output(self, rid: str, item_id: str, prev: str | None, *, done: bool) -> None:
        status = "completed" if done else "in_progress"
        item = {"id": item_id, "type": "message", "role": "assistant", "status": status,
                "content": [{"type": "output_text", "text": "answer" if done else ""}]}
        kind = "done" if done else "added"
        self.recv({"type": f"response.output_item.{kind}", "response_id": rid,
                   "output_index": 0, "item": item})
        self.recv({"type": f"conversation.item.{kind}", "previous_item_id": prev, "item": item})

    def done(self, rid: str, *item_ids: str) -> None:
        self.recv({"type": "response.done", "response": {"id": rid, "status": "completed",
                   "output": [{"id": i, "type": "message"} for i in item_ids],
                   "usage": {"total_tokens": 3}}})


def open_wire(**kwargs: Any) -> Wire:
    w = Wire(**kwargs)
    w.greet()
    return w


def create(w: Wire, item_id: str, text: str = "hi", prev: str | None = None) -> Any:
    return w.core.submit(item_create(message(text) | {"id": item_id}, prev), "item_done", item_id)


def respond(w: Wire) -> Any:
    return w.core.submit(response_create(), "response")


# ---------------------------------------------------------------------------- basics
def test_nothing_is_sent_before_the_greeting_and_calls_resolve_on_their_answers():
    w = Wire()
    call = create(w, "item_a")
    assert w.flush() == [] and w.core.status == "connecting"
    w.greet()
    assert w.core.status == "open"
    (sent,) = w.flush()
    assert sent["type"] == "conversation.item.create" and call.sent and not call.done
    w.item("item_a", "conversation.item.added")
    assert not call.done  # added is not the answer; done is
    w.item("item_a")
    assert call.done and call.result.id == "item_a" and call.result.text == "hi"
    deleted = w.core.submit({"type": "conversation.item.delete", "event_id": "evt_d",
                             "item_id": "item_a"}, "deleted", "item_a")
    w.flush()
    w.recv({"type": "conversation.item.deleted", "item_id": "item_a"})
    assert deleted.result == "item_a" and len(w.core.model) == 0


def test_a_server_error_fails_exactly_the_call_it_names():
    w = open_wire()
    a, b = create(w, "item_a"), create(w, "item_b", prev="item_missing")
    w.flush()
    w.recv({"type": "error", "error": {"type": "invalid_request_error", "message": "no prev",
                                       "event_id": b.event_id}})
    assert isinstance(b.error, RealtimeServerError) and b.error.message == "no prev"
    assert not a.done and len(w.core.errors) == 1


def test_unknown_anchor_appends_the_item_flagged():
    w = open_wire()
    w.item("item_a")
    w.item("item_b", prev="item_never_seen")
    assert [i.id for i in w.core.model] == ["item_a", "item_b"]
    assert w.core.model.get("item_b").flagged


@pytest.mark.parametrize("frame, note", [
    ("not json", "frame is not JSON"),
    ('{"no": "type"}', "no string 'type'"),
    (b'{"type": "x", "t": "\xff"}', "not valid UTF-8"),
    ("[1, 2]", "not an object"),
])
def test_malformed_frames_are_logged_counted_and_skipped(frame, note):
    w = open_wire()
    w.recv(frame)
    w.item("item_ok")
    assert w.core.skipped == 1 and [i.id for i in w.core.model] == ["item_ok"]
    (bad,) = [e for e in w.core.log.entries() if e["type"] == "invalid"]
    assert note in bad["note"]


def test_fatal_server_errors_stop_reconnecting():
    w = open_wire()
    call = create(w, "item_a")
    w.flush()
    w.recv({"type": "error", "error": {"type": "invalid_request_error",
                                       "code": "invalid_api_key", "message": "bad key"}})
    step = w.drop()
    assert not step.retry and w.core.status == "error"
    assert "bad key" in w.core.reason and "not reconnecting" in w.core.reason
    assert isinstance(call.error, ConnectionClosedError)


# ---------------------------------------------------------------------------- reconnect
def test_a_reconnect_replays_config_and_items_then_each_call_once():
    w = open_wire()
    w.core.submit({"type": "session.update", "event_id": "evt_s",
                   "session": {"type": "realtime", "instructions": "be brief"}})
    create(w, "item_a")
    w.flush()
    w.item("item_a")
    pending = create(w, "item_b")
    w.flush()  # on the wire, unanswered
    queued = create(w, "item_c")  # not sent yet
    w.core._outbox  # noqa: B018 (documenting: item_c is queued)
    w.drop()
    assert w.core.status == "reconnecting" and w.flush() == []  # waits for the greeting
    w.greet()
    sent = w.flush()
    assert [e["type"] for e in sent] == ["session.update", "conversation.item.create",
                                        "conversation.item.create", "conversation.item.create"]
    assert sent[0]["session"]["instructions"] == "be brief"
    assert [e["item"]["id"] for e in sent[1:]] == ["item_a", "item_b", "item_c"]
    assert sent[2]["event_id"] == pending.event_id and sent[3]["event_id"] == queued.event_id
    assert w.core.status == "open"


def test_two_quick_drops_send_a_half_created_item_once():
    """Defect 2: a create that got added but not done was replayed from the model *and*
    re-sent from the queue after a second drop (duplicate_item_id)."""
    w = open_wire()
    call = create(w, "item_x")
    w.flush()
    w.item("item_x", "conversation.item.added")  # added, never done
    w.drop()
    w.greet()  # the outbox is rebuilt ...
    w.drop()  # ... and the socket drops again before anything went out
    w.greet()
    sent = w.flush()
    ids = [e["item"]["id"] for e in sent if e["type"] == "conversation.item.create"]
    assert ids == ["item_x"] and sent[-1]["event_id"] == call.event_id
    w.item("item_x")
    assert call.done and call.error is None


def test_a_response_whose_items_are_done_is_kept_when_response_done_is_lost():
    """Defect 1: such a response was asked for again, leaving two identical answers."""
    w = open_wire()
    w.item("item_u")
    call = respond(w)
    (req,) = w.flush()
    w.created("resp_1", req["response"]["metadata"][REQUEST_KEY])
    w.output("resp_1", "item_r", "item_u", done=False)
    w.output("resp_1", "item_r", "item_u", done=True)
    w.drop()  # response.done never came
    w.greet()
    sent = w.flush()
    assert "response.create" not in [e["type"] for e in sent]  # not asked again
    assert [e["item"]["id"] for e in sent] == ["item_u", "item_r"]  # the answer is replayed
    assert call.done and call.result.id == "resp_1" and [i.id for i in call.result.items] == [
        "item_r"]
    assert call.result.status == "completed" and "response.done" in call.result.status_details[
        "reason"]
    assert [i.id for i in w.core.model] == ["item_u", "item_r"]
    assert any(isinstance(r, ResponseChange) and r.response_id == "resp_1" for r in w.records)


def test_a_response_cut_before_its_items_are_done_is_dropped_whole_and_asked_again():
    w = open_wire()
    w.item("item_u")
    call = respond(w)
    (req,) = w.flush()
    w.created("resp_1", req["response"]["metadata"][REQUEST_KEY])
    w.output("resp_1", "item_r1", "item_u", done=True)  # the first item is done ...
    w.output("resp_1", "item_r2", "item_r1", done=False)  # ... the second is not
    w.drop()
    w.greet()
    sent = w.flush()
    assert [i.id for i in w.core.model] == ["item_u"]  # both of its items are gone
    removed = [r.item.id for r in w.records if isinstance(r, Change) and r.kind == "removed"]
    assert sorted(removed) == ["item_r1", "item_r2"]
    assert [e["type"] for e in sent] == ["conversation.item.create", "response.create"]
    assert sent[-1]["event_id"] == call.event_id and not call.done
    w.created("resp_2", call.event_id)
    w.output("resp_2", "item_r3", "item_u", done=True)
    w.done("resp_2", "item_r3")
    assert call.result.id == "resp_2" and [i.id for i in w.core.model] == ["item_u", "item_r3"]


def test_a_late_response_created_is_not_taken_by_the_next_call():
    """Defect 3: correlate by the metadata the server echoes, not by arrival order."""
    w = open_wire()
    first = respond(w)
    w.flush()
    w.core.forget(first)  # the cell's respond() timed out
    second = respond(w)
    w.flush()
    w.created("resp_old", first.event_id)  # late: the first request's response
    w.output("resp_old", "item_old", None, done=True)
    w.done("resp_old", "item_old")
    assert not second.done
    w.created("resp_new", second.event_id)
    w.output("resp_new", "item_new", "item_old", done=True)
    w.done("resp_new", "item_new")
    assert second.result.id == "resp_new"


def test_without_metadata_echo_a_late_response_is_absorbed_by_the_call_that_gave_up():
    """A server that does not echo metadata: arrival order, but the call that gave up still
    owns the first response that starts."""
    w = open_wire(dialect_name="yandex")
    first = respond(w)
    assert "metadata" not in (first.event.get("response") or {})  # yandex: not sent
    w.flush()
    w.core.forget(first)
    second = respond(w)
    w.flush()
    w.created("resp_old")
    w.done("resp_old")
    assert not second.done
    w.created("resp_new")
    w.done("resp_new")
    assert second.result.id == "resp_new"


def test_a_server_that_closes_on_every_request_is_given_up_with_its_reason():
    """Defect 5: the attempt counter reset on every greeting; now only a socket that did
    more than greet resets it, and the caller hears the close reason."""
    w = open_wire(max_attempts=3)
    call = create(w, "item_a")
    steps = []
    for _ in range(10):
        w.flush()
        step = w.drop("the server closed the connection with code 1008 (policy)", after=0.01)
        steps.append(step.attempt if step.retry else None)
        if not step.retry:
            break
        assert "1008" in w.core.waiting_text()
        w.greet()
    assert steps == [1, 2, 3, None]
    assert w.core.status == "error" and "gave up after 3 reconnect attempts" in w.core.reason
    assert isinstance(call.error, ConnectionClosedError) and "1008" in str(call.error)


def test_a_socket_that_did_more_than_greet_resets_the_attempts():
    w = open_wire(max_attempts=2)
    for i in range(6):  # six drops, each after real traffic: never given up
        w.item(f"item_{i}")
        assert w.drop().retry
        w.greet()
        w.flush()
    assert w.core.status == "open"


def test_a_request_the_server_always_closes_on_fails_alone():
    """A request that ends every connection it is sent on (while the rest works) fails after
    max_attempts sends instead of being replayed forever."""
    w = open_wire(max_attempts=2)
    call = create(w, "item_poison")
    for _ in range(3):
        w.flush()
        w.recv({"type": "rate_limits.updated", "rate_limits": []})  # the socket works
        w.drop("the server closed the connection with code 1008 (no)", server_closed=True)
        w.greet()
    assert isinstance(call.error, ConnectionClosedError) and "1008" in str(call.error)
    assert w.core.status == "open" and w.flush() == []


def test_network_drops_never_make_a_request_fail_on_its_own():
    w = open_wire(max_attempts=2)
    call = create(w, "item_a")
    for _ in range(6):
        w.flush()
        w.recv({"type": "rate_limits.updated", "rate_limits": []})
        w.drop()  # no close frame: the network, not the server
        w.greet()
    assert not call.done and w.flush()[-1]["item"]["id"] == "item_a"


def test_close_says_the_client_closed_it():
    """Defect 6: not "code 1000"."""
    w = open_wire()
    w.core.close()
    step = w.drop("the server closed the connection with code 1000")
    assert not step.retry and w.core.status == "closed"
    assert w.core.reason == "closed by the client"


def test_an_interrupted_respond_cancels_its_response():
    w = open_wire()
    call = respond(w)
    w.flush()
    w.core.forget(call, cancel=True)  # interrupted before response.created
    # the next respond waits for the cancelled response to end: the server still counts it
    # as active and would refuse a new one (conversation_already_has_active_response)
    started = respond(w)
    assert w.flush() == []
    w.created("resp_1", call.event_id)
    (cancel,) = w.flush()
    assert cancel == {"type": "response.cancel", "event_id": cancel["event_id"],
                      "response_id": "resp_1"}
    w.recv({"type": "response.done", "response": {"id": "resp_1", "status": "cancelled",
                                                   "output": []}})
    assert w.core.send_ready and [e["type"] for e in w.flush()] == ["response.create"]
    w.created("resp_2", started.event_id)
    w.core.forget(started, cancel=True)  # interrupted while it runs: cancelled at once
    assert w.flush()[0]["response_id"] == "resp_2"
    # a cancel the server refuses (the response had already ended) holds nothing back
    third = respond(w)
    assert w.flush() == []
    w.recv({"type": "error", "error": {"type": "invalid_request_error",
                                       "code": "response_cancel_not_active",
                                       "message": "no active response",
                                       "event_id": cancel_id(w, "resp_2")}})
    assert [e["event_id"] for e in w.flush()] == [third.event_id]
    # an out-of-band response (conversation "none") is never held
    w.core.forget(third, cancel=True)
    w.created("resp_3", third.event_id)
    w.flush()
    oob = w.core.submit(response_create({"conversation": "none"}), "response")
    assert [e["event_id"] for e in w.flush()] == [oob.event_id]


def cancel_id(w: Wire, response_id: str) -> str:
    """The event_id of the response.cancel the client sent for ``response_id``."""
    return next(e["payload"]["event_id"] for e in w.core.log.entries()
                if e["type"] == "response.cancel" and e["payload"]["response_id"] == response_id)


def test_a_response_asked_for_after_a_cancel_waits_for_the_cancelled_one_to_end():
    """conv.cancel(rid) (the barge-in sends one) then respond(): the server still runs rid."""
    w = open_wire()
    first = respond(w)
    w.flush()
    w.created("resp_1", first.event_id)
    w.core.submit(response_cancel("resp_1"))
    nxt = respond(w)
    assert [e["type"] for e in w.flush()] == ["response.cancel"]
    w.recv({"type": "response.done", "response": {"id": "resp_1", "status": "cancelled",
                                                   "output": []}})
    assert [e["event_id"] for e in w.flush()] == [nxt.event_id]
