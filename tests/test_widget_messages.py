"""What the widget sends to the browser, over a real loopback session (no browser here: the
messages are captured where the comm would serialise them; tests/browser covers the page)."""

from __future__ import annotations

import threading
import time
from typing import Any

from realtime_nb.notebook.widget import ConversationWidget


class Captured:
    def __init__(self, widget: ConversationWidget) -> None:
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        send = widget.send

        def capture(content: dict[str, Any], *args: Any, **kwargs: Any) -> None:
            with self.lock:
                self.messages.append(content)
            send(content, *args, **kwargs)

        widget.send = capture  # type: ignore[method-assign]

    def changes(self) -> list[dict[str, Any]]:
        """Every change message, batches unpacked, in order."""
        with self.lock:
            out: list[dict[str, Any]] = []
            for m in self.messages:
                out.extend(m["messages"] if m.get("kind") == "batch" else [m])
            return out


def test_a_streamed_answer_reaches_the_browser_in_few_messages_with_consecutive_seqs(conv):
    widget = conv.widget
    got = Captured(widget)
    conv.create("tell me a long story please, with many many words in it")
    events_before = len(conv.log)
    conv.respond()
    time.sleep(0.2)  # the last batch
    changes = got.changes()
    seqs = [m["seq"] for m in changes if "seq" in m]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    answer = conv.items[-1]
    views = [m["item"] for m in changes if m.get("item", {}).get("id") == answer.id]
    assert views and views[-1]["done"] is True and views[-1]["status"] == "completed"
    assert "text" not in views[-1]  # the browser joins it from the parts
    deltas = sum(1 for e in conv.log[events_before:] if e["type"].endswith(".delta"))
    assert deltas > 5
    assert len(got.messages) < deltas  # batched, not one message per delta
    assert all("events" in m for m in got.messages if m.get("kind") != "log")


def test_the_last_changes_before_close_still_reach_the_browser(conv):
    got = Captured(conv.widget)
    item = conv.create("the last words")
    conv.close()  # within the batch window
    ids = [m["item"]["id"] for m in got.changes() if "item" in m]
    assert item.id in ids
    assert conv.widget.change_seq == max(m["seq"] for m in got.changes() if "seq" in m)


def test_log_entries_go_out_only_while_a_log_panel_is_open(conv):
    widget = conv.widget
    got = Captured(widget)
    conv.create("no panel open")
    time.sleep(0.1)
    assert not [m for m in got.changes() if m.get("kind") == "log"]
    widget._on_front_message(widget, {"kind": "log_watch", "view": "v1", "open": True}, [])
    tail = [m for m in got.messages if m.get("kind") == "log"]
    assert tail and tail[0]["reset"] is True and tail[0]["request_id"] == "v1"
    assert tail[0]["entries"][-1]["seq"] == len(conv.log) - 1
    conv.create("panel open")
    time.sleep(0.1)
    streamed = [e for m in got.changes() if m.get("kind") == "log" and not m.get("reset")
                for e in m["entries"]]
    assert [e["type"] for e in streamed][-2:] == ["conversation.item.added",
                                                  "conversation.item.done"]
    widget._on_front_message(widget, {"kind": "log_watch", "view": "v1", "open": False}, [])
    n = len(got.changes())
    conv.create("closed again")
    time.sleep(0.1)
    assert not [m for m in got.changes()[n:] if m.get("kind") == "log"]


def test_the_event_count_reaches_the_browser_when_no_item_changes(conv):
    widget = conv.widget
    time.sleep(1.2)  # the opening heartbeat
    got = Captured(widget)
    conv.update_session(instructions="be brief")  # session.updated: no item changes
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not any(
            m.get("events") == len(conv.log) for m in got.messages):
        time.sleep(0.05)
    counts = [m["events"] for m in got.messages if "events" in m]
    assert counts and counts[-1] == len(conv.log)


def test_a_journal_snapshot_request_forgets_log_subscriptions(conv):
    widget = conv.widget
    widget._on_front_message(widget, {"kind": "log_watch", "view": "old-page", "open": True}, [])
    got = Captured(widget)
    widget._on_front_message(widget, {"kind": "snapshot_request", "request_id": "journal"}, [])
    conv.create("after a reload")
    time.sleep(0.1)
    assert not [m for m in got.changes() if m.get("kind") == "log"]


# --------------------------------------------------------------------- issue 14 (the kernel side)
def _act(widget: ConversationWidget, got: Captured, msg: dict[str, Any]) -> dict[str, Any]:
    widget._on_front_message(widget, msg, [])
    return [m for m in got.messages if m.get("kind") == "result"
            and m["request_id"] == msg["request_id"]][-1]


def _wait(cond: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cond()


def test_actions_that_cannot_succeed_are_refused_before_anything_is_sent(conv, caplog):
    widget = conv.widget
    got = Captured(widget)
    sent_before = sum(1 for e in conv.log if e["direction"] == "out")
    stop = _act(widget, got, {"kind": "cancel", "request_id": "r1"})
    assert stop["ok"] is False and "no response is running" in stop["error"]
    empty = _act(widget, got, {"kind": "send", "request_id": "r2", "text": "  "})
    assert empty["ok"] is False and empty["field"] == "text"
    assert sum(1 for e in conv.log if e["direction"] == "out") == sent_before
    assert not conv.errors and "server error" not in caplog.text


def test_send_with_respond_answers_the_new_message_and_results_name_the_item():
    import realtime_nb as rnb
    from realtime_nb.server import EmbeddedServer

    with EmbeddedServer(chunk_delay=0.05) as srv:
        conv = rnb.connect(url=srv.url, timeout=10)
        try:
            widget = conv.widget
            got = Captured(widget)
            res = _act(widget, got, {"kind": "send", "request_id": "s1", "text": "ping",
                                     "respond": True})
            assert res["ok"] and res["item_id"].startswith("item_")
            _wait(lambda: widget.responding != "")
            busy = _act(widget, got, {"kind": "respond", "request_id": "s2"})
            assert busy["ok"] is False and "already running" in busy["error"]
            _wait(lambda: widget.responding == "", 10)
            items = conv.items
            assert items[0].id == res["item_id"] and items[0].text == "ping"
            assert items[-1].role == "assistant" and "ping" in items[-1].text
        finally:
            conv.close()


def test_the_session_panel_action_becomes_a_session_update_in_the_dialect(conv):
    widget = conv.widget
    got = Captured(widget)
    res = _act(widget, got, {"kind": "session", "request_id": "p1", "session": {
        "instructions": "Be a pirate.", "voice": "marin",
        "turn_detection": {"type": "server_vad", "threshold": 0.7,
                           "silence_duration_ms": 400}}})
    assert res["ok"], res
    _wait(lambda: widget.session.get("instructions") == "Be a pirate.")
    audio = widget.session["audio"]
    assert audio["output"]["voice"] == "marin"
    assert audio["input"]["turn_detection"]["threshold"] == 0.7
    bad = _act(widget, got, {"kind": "session", "request_id": "p2",
                             "session": {"tools": [{"type": "function"}]}})
    assert bad["ok"]  # sent; the server refuses it, and the error names the request
    _wait(lambda: any(m.get("kind") == "error" for m in got.changes()))
    err = [m["error"] for m in got.changes() if m.get("kind") == "error"][-1]
    assert err["request_id"] == "p2" and "tools" in (err["param"] or "")


def test_the_widget_text_does_not_go_stale_in_a_saved_notebook(conv):
    data = conv.widget._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert "items=" not in data["text/plain"]
    rows, total = conv.widget._transcript_rows()
    assert total == len(conv) and rows == []
    from realtime_nb.notebook.fallback import transcript

    bundle = transcript([("user", "<b>hi</b>")], 1, "Realtime conversation")
    assert "&lt;b&gt;hi&lt;/b&gt;" in bundle["text/html"] and "<b>hi</b>" not in bundle["text/html"]
    assert "1 item " in bundle["text/plain"] and "[user] <b>hi</b>" in bundle["text/plain"]
