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
