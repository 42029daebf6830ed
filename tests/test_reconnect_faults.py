"""Reconnects under fault injection, over real loopback: a proxy (tests/faultproxy.py) between
the client and the embedded server cuts, closes, delays or corrupts the stream at chosen
moments. Each test is one defect the old session had (docs/architecture.md, "Reconnects");
they use only the public API, so they ran unchanged against the code before the fix."""

from __future__ import annotations

import os
import signal
import threading

import pytest

import realtime_nb as rnb
from realtime_nb.server import EmbeddedServer
from tests.faultproxy import FaultProxy
from tests.test_reliability import wait_until

FAST = (0.01, 0.05)


def last_status(conv):
    """The newest status record in the log: (status, reason)."""
    entry = [e for e in conv.log if e["type"] == "realtime_nb.status"][-1]
    return entry["payload"]["status"], entry["payload"]["reason"]


def answers(items):
    return [i for i in items if i.role == "assistant"]


@pytest.fixture
def proxied():
    with EmbeddedServer() as server, FaultProxy(server.url) as proxy:
        yield server, proxy


def test_a_lost_response_done_does_not_leave_two_answers(proxied):
    server, proxy = proxied
    conv = rnb.connect(url=proxy.url, backoff=FAST, timeout=10)
    try:
        conv.create("hello")
        # every item of the answer reaches done; response.done is lost with the connection
        proxy.cut("in", "response.done", after=False)
        resp = conv.respond()
        assert resp.text.startswith('You said: "hello"')
        assert wait_until(lambda: conv.status == "open" and proxy.connections == 2)
        conv.create("after")  # a round trip on the new connection
        assert len(answers(conv.items)) == 1
        (truth,) = server.conversations()
        assert len([i for i in truth if i.get("role") == "assistant"]) == 1
        assert conv.errors == []
    finally:
        conv.close()


def test_two_quick_drops_do_not_send_an_item_twice(proxied):
    _, proxy = proxied
    conv = rnb.connect(url=proxy.url, backoff=FAST, timeout=10)
    try:
        big = "x" * 500_000  # a replay bigger than the socket buffers: it leaves slowly
        for i in range(10):
            conv.create(f"{i} {big}")
        proxy.cut("in", "conversation.item.added")  # the next create is half answered ...
        # ... and the next socket drops in the middle of the replay
        proxy.cut("out", "conversation.item.create", after=False, connection=1)
        item = conv.create("second")
        conv.create("settled")  # a round trip: any answer to a second send has come
        assert [i.id for i in conv.items][-2] == item.id and len(conv.items) == 12
        assert conv.errors == []  # no duplicate_item_id
        assert proxy.connections == 3
    finally:
        conv.close()


def test_a_late_response_is_not_taken_by_the_next_respond(proxied):
    _, proxy = proxied
    conv = rnb.connect(url=proxy.url, backoff=FAST, timeout=10)
    try:
        conv.create("one")
        proxy.delay("in", "response.created", 1.0)  # the first response starts late
        with pytest.raises(rnb.RealtimeTimeoutError):
            conv.respond(timeout=0.3)
        conv.create("two", wait=False)
        second = conv.respond()  # asked before the late response.created arrives
        assert second.text.startswith('You said: "two"'), second.text
        assert conv.errors == []
    finally:
        conv.close()


def test_an_invalid_utf8_frame_is_skipped_and_counted(proxied):
    _, proxy = proxied
    conv = rnb.connect(url=proxy.url, backoff=FAST, timeout=10)
    try:
        proxy.inject(b'{"type": "rate_limits.updated", "x": "\xff"}')
        assert wait_until(lambda: conv.skipped == 1)
        conv.create("still here")
        assert conv.status == "open" and proxy.connections == 1  # no reconnect
        (bad,) = [e for e in conv.log if e["type"] == "invalid"]
        assert "UTF-8" in bad["note"]
    finally:
        conv.close()


@pytest.mark.parametrize("code", [1008, 4000, 1007])
def test_a_server_that_closes_on_every_request_is_given_up(proxied, code):
    _, proxy = proxied
    conv = rnb.connect(url=proxy.url, backoff=FAST, timeout=20, max_attempts=3)
    try:
        proxy.close("out", lambda event: True, code, "no thanks", times=None)
        with pytest.raises(rnb.ConnectionClosedError) as info:
            conv.create("hello")
        assert f"code {code}" in str(info.value) and "gave up after 3" in str(info.value)
        assert proxy.connections == 4  # the first and three reconnects
        assert conv.status == "error" and f"code {code}" in last_status(conv)[1]
    finally:
        conv.close()


def test_close_records_that_the_client_closed_it(proxied):
    _, proxy = proxied
    conv = rnb.connect(url=proxy.url, backoff=FAST, timeout=10)
    conv.create("hello")
    conv.close()
    assert last_status(conv) == ("closed", "closed by the client")


def test_an_interrupted_respond_cancels_its_response():
    with EmbeddedServer(chunk_delay=0.05) as server, FaultProxy(server.url) as proxy:
        conv = rnb.connect(url=proxy.url, timeout=20)
        # a slow link: the interrupt (at 0.3 s) comes before response.created (held 0.6 s), so
        # the cancel can only follow that; the next respond must wait for the cancelled
        # response to end, or the server refuses it (still active)
        proxy.delay("in", "response.created", 0.6)
        try:
            conv.create("a fairly long question that takes a while to answer " * 3)
            timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
            timer.start()
            with pytest.raises(KeyboardInterrupt):
                conv.respond()  # Jupyter's stop button raises KeyboardInterrupt here
            resp = conv.respond()  # not "already has an active response"
            assert resp.status == "completed"
            cancelled = [e for e in conv.log if e["type"] == "response.done"
                         and e["payload"]["response"]["status"] == "cancelled"]
            assert len(cancelled) == 1 and conv.errors == []
        finally:
            conv.close()
