"""The widget's change batching: merged messages leave the browser exactly where an
unbatched stream would have (js/PROTOCOL.md rules, replayed by a small Python store)."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

from realtime_nb.core.conversation import Conversation
from realtime_nb.core.protocol import parse_server_event
from realtime_nb.core.records import Change
from realtime_nb.notebook.changebatch import ChangeBatch


class BrowserStore:
    """The front end's store rules (js/src/store.ts, js/PROTOCOL.md) for the kinds a batch
    carries: inserted (null = head, unknown anchor = append, known item moves only when its
    anchor is null or known and differs), updated (unknown = append), delta (append text),
    removed (unknown = ignored)."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.items: dict[str, dict[str, Any]] = {}
        self.seq = 0

    def apply(self, msg: dict[str, Any]) -> None:
        if "seq" in msg:
            assert msg["seq"] == self.seq + 1, "seq numbers must be consecutive"
            self.seq = msg["seq"]
        kind = msg["kind"]
        if kind in ("inserted", "updated"):
            item = msg["item"]
            known = item["id"] in self.items
            self.items[item["id"]] = copy.deepcopy(item)
            if kind == "updated":
                if not known:
                    self.order.append(item["id"])
                return
            prev = item["previous_item_id"]
            if known:
                at = self.order.index(item["id"])
                cur = self.order[at - 1] if at else None
                if prev == cur or (prev is not None and prev not in self.items):
                    return
                self.order.remove(item["id"])
            if prev is None:
                self.order.insert(0, item["id"])
            elif prev in self.items and prev in self.order:
                self.order.insert(self.order.index(prev) + 1, item["id"])
            else:
                self.order.append(item["id"])
        elif kind == "delta":
            item = self.items.get(msg["item_id"])
            if item is None:
                return
            parts = item.setdefault("content", [])
            ci = msg["content_index"] or 0
            while len(parts) <= ci:
                parts.append({"type": "output_text", "text": ""})
            parts[ci]["text"] = parts[ci].get("text", "") + msg["text"]
        elif kind == "removed":
            if msg["item_id"] in self.items:
                del self.items[msg["item_id"]]
                self.order.remove(msg["item_id"])


def texts(item: dict[str, Any]) -> list[str]:
    return [p.get("text", "") for p in item.get("content", [])]


def random_events(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """A random but valid stream: items added anywhere, streamed, finished, deleted."""
    live: list[str] = []
    streaming: dict[str, str] = {}
    events: list[dict[str, Any]] = []
    for k in range(n):
        roll = rng.random()
        if roll < 0.35 or not live:
            item_id = f"item_{k}"
            prev = rng.choice([None, *live, *live]) if live else None
            role = rng.choice(["user", "assistant"])
            part = "output_text" if role == "assistant" else "input_text"
            item = {"id": item_id, "type": "message", "role": role, "status": "in_progress",
                    "content": [{"type": part, "text": ""}]}
            events.append({"type": "conversation.item.added", "previous_item_id": prev,
                           "item": item})
            live.append(item_id)
            if role == "assistant":
                streaming[item_id] = "resp_1"
        elif roll < 0.75 and streaming:
            item_id = rng.choice(list(streaming))
            events.append({"type": "response.output_text.delta", "response_id": "resp_1",
                           "item_id": item_id, "output_index": 0, "content_index": 0,
                           "delta": rng.choice(["a", "bc", " ", "é"])})
        elif roll < 0.85:
            item_id = rng.choice(live)
            streaming.pop(item_id, None)
            done = {"type": "conversation.item.done", "item": {
                "id": item_id, "type": "message", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": f"final {item_id}"}]}}
            if rng.random() < 0.3:  # a later event naming another predecessor: a move
                done["previous_item_id"] = rng.choice([None, *live])
            events.append(done)
        else:
            item_id = rng.choice(live)
            live.remove(item_id)
            streaming.pop(item_id, None)
            events.append({"type": "conversation.item.deleted", "item_id": item_id})
    return events


def run(events: list[dict[str, Any]], flush_every: Any) -> tuple[BrowserStore, Conversation]:
    model = Conversation()
    batch = ChangeBatch()
    store = BrowserStore()
    seq = 0

    def view_of(item_id: str) -> dict[str, Any] | None:
        item = model.get(item_id)
        if item is None:
            return None
        view = json.loads(json.dumps(item.to_dict()))
        view["previous_item_id"] = item.previous_item_id
        return view

    def flush() -> None:
        nonlocal seq
        messages, seq = batch.drain(view_of, seq)
        for m in messages:
            store.apply(m)

    for i, event in enumerate(events):
        for rec in model.apply(parse_server_event(json.dumps(event))):
            if isinstance(rec, Change):
                batch.add(rec)
        if flush_every(i):
            flush()
    flush()
    return store, model


@pytest.mark.parametrize("seed", range(200))
def test_batched_changes_reach_the_same_state_as_the_model(seed: int) -> None:
    rng = random.Random(seed)
    events = random_events(rng, rng.randint(5, 120))
    window = rng.choice([1, 2, 3, 7, 50, 10_000])
    store, model = run(events, lambda i: (i + 1) % window == 0)
    assert store.order == [item.id for item in model], f"window {window}"
    for item in model:
        assert texts(store.items[item.id]) == [p.get("text", "") for p in item.content]
        assert store.items[item.id].get("status") == item.status


def test_a_streamed_answer_is_one_message_per_item_within_a_batch() -> None:
    model = Conversation()
    batch = ChangeBatch()
    events = [
        {"type": "conversation.item.added", "previous_item_id": None, "item": {
            "id": "a", "type": "message", "role": "assistant", "status": "in_progress",
            "content": []}},
        *({"type": "response.output_text.delta", "response_id": "r", "item_id": "a",
           "output_index": 0, "content_index": 0, "delta": f"w{k} "} for k in range(30)),
        {"type": "conversation.item.done", "item": {
            "id": "a", "type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": "done"}]}},
    ]
    for event in events:
        for rec in model.apply(parse_server_event(json.dumps(event))):
            if isinstance(rec, Change):
                batch.add(rec)
    messages, seq = batch.drain(lambda i: model.get(i).to_dict(), 0)  # type: ignore[union-attr]
    assert [(m["kind"], m["seq"]) for m in messages] == [("inserted", 1)]
    assert messages[0]["item"]["status"] == "completed"
    assert seq == 1 and not batch


def test_an_item_inserted_and_removed_in_one_batch_goes_out_as_a_placeholder() -> None:
    """x and z both go to the head, y after x, then x is deleted: the browser must end with
    [z, y], which needs x's slot while y is placed."""
    model = Conversation()
    batch = ChangeBatch()
    for event in (
        {"type": "conversation.item.added", "previous_item_id": None,
         "item": {"id": "x", "type": "message", "role": "user", "content": []}},
        {"type": "conversation.item.added", "previous_item_id": None,
         "item": {"id": "z", "type": "message", "role": "user", "content": []}},
        {"type": "conversation.item.added", "previous_item_id": "x",
         "item": {"id": "y", "type": "message", "role": "user", "content": []}},
        {"type": "conversation.item.deleted", "item_id": "x"},
    ):
        for rec in model.apply(parse_server_event(json.dumps(event))):
            if isinstance(rec, Change):
                batch.add(rec)
    messages, _ = batch.drain(
        lambda i: None if model.get(i) is None else {"id": i, "content": []}, 0)
    assert [(m["kind"], m.get("item", {}).get("id") or m.get("item_id"),
             m.get("item", {}).get("previous_item_id")) for m in messages] == [
        ("inserted", "x", None), ("inserted", "z", None), ("inserted", "y", "x"),
        ("removed", "x", None)]
    store = BrowserStore()
    for m in messages:
        store.apply(m)
    assert store.order == ["z", "y"] == [item.id for item in model]
