"""The kernel's fast paths give what the plain code they shortcut gives.

``Item.merge_wire`` is ``merge(Item.from_wire(...))``, ``Item.copy`` is ``copy.deepcopy``, and
``ItemFrame._row_holds`` is "the row equals the values made from the item".
"""

from __future__ import annotations

import copy
import dataclasses
import json
import random
from typing import Any

import pytest
from test_properties import random_event, random_json

from realtime_nb.conversation import Change
from realtime_nb.frame import _CREATED, _DELETED, _DONE, ItemFrame
from realtime_nb.items import Item
from realtime_nb.protocol import parse_server_event
from realtime_nb.session import Session


class _Dict(dict):
    pass


def _value(rng: random.Random) -> Any:
    return rng.choice([None, "x", "", 3, 2.5, True, [1], {"a": 1}, "completed", "in_progress",
                       "incomplete", "message", float("nan")])


def _part(rng: random.Random) -> Any:
    if rng.random() < 0.1:
        return random_json(rng)
    part: dict[str, Any] = {"type": rng.choice(["text", "audio", "output_text"])}
    for key in ("text", "transcript", "audio", "x"):
        if rng.random() < 0.5:
            part[key] = rng.choice(["hi", "", None, 3, [1], {"q": 1}, 2.0])
    return _Dict(part) if rng.random() < 0.1 else part


def _payload(rng: random.Random) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in ("id", "type", "object", "role", "status", "call_id", "name", "arguments",
                "output", "metadata", "content", "tools", "reason"):
        if rng.random() < 0.5:
            if key == "content":
                data[key] = rng.choice([[_part(rng) for _ in range(rng.randint(0, 3))], None, "x"])
            elif key == "metadata":
                data[key] = rng.choice([{"a": "b"}, _Dict(a="b"), None, 3, {"n": [1]}])
            else:
                data[key] = _value(rng)
    return _Dict(data) if rng.random() < 0.1 else data


def _view(item: Item) -> tuple[Any, ...]:
    return (repr(dataclasses.asdict(item)), list(vars(item)), type(item.metadata),
            [type(p) for p in item.content], repr(item.extra))


def _shape(item: Item) -> list[int]:
    """Which of the item's containers are the same object (deepcopy keeps that)."""
    ids: dict[int, int] = {}
    return [ids.setdefault(id(x), len(ids)) for x in (item.extra, item.metadata, *item.content)]


@pytest.mark.parametrize("seed", range(4))
def test_merge_wire_is_merge_of_from_wire_and_copy_is_deepcopy(seed):
    rng = random.Random(seed)
    for _ in range(3000):
        a, b, done = _payload(rng), _payload(rng), rng.random() < 0.5
        before = repr(b)
        slow, fast = Item.from_wire(a), Item.from_wire(copy.deepcopy(a))
        assert _view(slow) == _view(fast)
        snapshot = Item.from_wire(b)
        if done and snapshot.status not in ("completed", "incomplete"):
            snapshot.status = "completed"
        slow.merge(snapshot)
        status = fast.merge_wire(b, done=done)
        assert repr(status) == repr(snapshot.status)
        assert _view(slow) == _view(fast)
        assert repr(b) == before  # the payload is not touched
        assert all(p is not q for p in fast.content for q in (b.get("content") or ())
                   if isinstance(b.get("content"), list))
        if fast.content and rng.random() < 0.2:
            fast.content.append(fast.content[0])
        if rng.random() < 0.1:
            fast.metadata = fast.extra
        made, deep = fast.copy(), copy.deepcopy(fast)
        assert _view(made) == _view(deep) and _shape(made) == _shape(deep)
        assert made.extra is not fast.extra and made.content is not fast.content
        assert all(p is not q for p, q in zip(made.content, fast.content, strict=True))


@pytest.mark.parametrize("seed", range(6))
def test_row_holds_agrees_with_rebuilding_the_row(seed):
    rng = random.Random(seed)
    session = Session.offline("x")
    frame = ItemFrame(session)
    checks = 0
    for _ in range(400):
        session._on_frame(json.dumps(random_event(rng)))
        for item in session.model:
            slot = frame._slot.get(item.id)
            if slot is None:
                continue
            rid = frame._response_of.get(item.id)
            old = frame._row(slot)
            if rng.random() < 0.3:  # an audio part, metadata, extra: the copies _values makes
                item.content.append({"type": "audio", "audio": "QUJD"})
            if rng.random() < 0.1:
                item.metadata = {"k": "v"}
            values = frame._values(item, created=old[_CREATED], done=old[_DONE],
                                   deleted=old[_DELETED], rid=rid)
            assert frame._row_holds(item, slot, rid) == (values == old)
            checks += 1
            # and an item that matches its row again
            frame._update_row(item, slot)
            assert frame._row_holds(item, slot, rid)
    assert checks > 50


def test_response_done_records_carry_the_output_item_type():
    session = Session.offline("x")
    records: list[Any] = []
    session.add_record_listener(lambda recs, event: records.extend(recs))
    for event in (
        {"type": "conversation.item.added", "previous_item_id": None,
         "item": {"id": "a", "type": "message", "role": "assistant", "content": []}},
        {"type": "response.done", "response": {"id": "r", "status": "completed", "output": [
            {"id": "a", "type": "message", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": "hi"}]}]}},
    ):
        session._on_event(parse_server_event(json.dumps(event)))
    change = next(r for r in records if isinstance(r, Change) and r.kind == "updated")
    assert (change.event_type, change.done, change.response_id) == (
        "response.output_item.done", True, "r")
    assert session.model.get("a").text == "hi"
