"""Client-side validation and the lenient server-event parser."""

from __future__ import annotations

import pytest

from realtime_nb import InvalidItemError, ProtocolError
from realtime_nb.core.protocol import (
    SERVER_EVENT_ALIASES,
    item_create,
    parse_server_event,
    to_dialect,
    validate_client_event,
)
from realtime_nb.core.validation import message, validate_item


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"type": "message", "role": "tool", "content": [{"type": "input_text", "text": "x"}]},
         "item.role"),
        ({"type": "message", "role": "system", "content": [{"type": "input_audio", "audio": "AA"}]},
         "item.content[0].type"),
        ({"type": "message", "role": "assistant",
          "content": [{"type": "output_audio", "audio": "AA"}]}, "item.content[0].type"),
        ({"type": "message", "role": "user", "content": []}, "item.content"),
        ({"type": "message", "role": "user", "content": [{"type": "input_text"}]},
         "item.content[0].text"),
        ({"type": "function_call_output", "output": "{}"}, "item.call_id"),
        ({"type": "function_call", "name": "f", "arguments": "{not json"}, "item.arguments"),
        ({"type": "item_reference", "id": "x"}, "item.type"),
        ({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}],
          "colour": "red"}, "item.colour"),
        ({"type": "function_call_output", "call_id": "c", "output": "x", "id": "x" * 33},
         "item.id"),
        ({"type": "function_call_output", "call_id": "c", "output": "x",
          "metadata": {str(i): "v" for i in range(17)}}, "item.metadata"),
        ({"type": "function_call_output", "call_id": "c", "output": "x",
          "metadata": {"k": "v" * 513}}, "item.metadata.k"),
        ({"type": "message", "role": "user",
          "content": [{"type": "input_image", "image_url": "http://x/y.png"}]},
         "item.content[0].image_url"),
        ({"type": "mcp_approval_response", "id": "a", "approval_request_id": "r",
          "approve": "yes"}, "item.approve"),
        ({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}],
          "status": "done"}, "item.status"),
    ],
)
def test_invalid_items_name_the_field(item, field):
    with pytest.raises(InvalidItemError) as info:
        validate_item(item)
    assert info.value.field == field
    assert field in str(info.value)


def test_every_item_type_validates():
    for item in [
        message("hi"),
        message("be brief", "system"),
        message("sure", "assistant"),
        {"type": "function_call", "name": "f", "arguments": "{}", "call_id": "c"},
        {"type": "function_call_output", "call_id": "c", "output": ""},
        {"type": "mcp_call", "id": "m1", "name": "n", "arguments": "{}", "server_label": "s"},
        {"type": "mcp_list_tools", "server_label": "s", "tools": [{"name": "t"}]},
        {"type": "mcp_approval_request", "id": "m2", "name": "n", "arguments": "{}",
         "server_label": "s"},
        {"type": "mcp_approval_response", "id": "m3", "approval_request_id": "m2",
         "approve": True},
    ]:
        assert validate_item(item)["type"] == item["type"]


def test_item_create_fills_event_id_and_checks_anchor():
    event = item_create(message("x"), "root")
    assert event["event_id"].startswith("evt_") and event["previous_item_id"] == "root"
    with pytest.raises(InvalidItemError) as info:
        item_create(message("x"), "")
    assert info.value.field == "previous_item_id"


def test_raw_client_events_are_checked_when_known():
    assert validate_client_event({"type": "response.create"})["event_id"]
    assert validate_client_event({"type": "some.new.event", "x": 1})["x"] == 1
    with pytest.raises(InvalidItemError):
        validate_client_event({"type": "conversation.item.delete"})
    with pytest.raises(InvalidItemError):
        validate_client_event({"no": "type"})
    with pytest.raises(InvalidItemError) as info:
        validate_client_event({"type": "conversation.item.create",
                               "item": {"type": "message", "role": "bot", "content": []}})
    assert info.value.field == "item.role"


def test_dialect_adaptation():
    ev = item_create(message("ok", "assistant"))
    assert to_dialect(ev, "beta")["item"]["content"][0]["type"] == "text"
    assert to_dialect(ev, "ga")["item"]["content"][0]["type"] == "output_text"
    with_meta = item_create({**message("x"), "metadata": {"k": "v"}})
    assert to_dialect(with_meta, "yandex")["item"]["metadata"] == {"k": "v"}
    with pytest.raises(InvalidItemError):
        to_dialect(with_meta, "ga")


@pytest.mark.parametrize("frame", ["not json", "[1,2]", '{"no_type": 1}', '{"type": 5}', b"\xff"])
def test_unusable_frames_raise_protocol_error(frame):
    with pytest.raises(ProtocolError):
        parse_server_event(frame)


def test_lenient_parse_keeps_unknown_types_and_fields_and_maps_beta_names():
    e = parse_server_event('{"type": "brand.new", "event_id": "e", "extra": [1]}')
    assert e.type == "brand.new" and e.data["extra"] == [1]
    for beta, ga in SERVER_EVENT_ALIASES.items():
        e = parse_server_event(f'{{"type": "{beta}"}}')
        assert e.type == ga and e.raw_type == beta
    e = parse_server_event('{"type": "conversation.item.done", "item": {"id": 3, "type": []}}')
    assert e.item is not None and e.item.id == "3"


def _typed(value):
    """A value with every number tagged by its type (1 == 1.0 == True otherwise)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, float) and value != value:
        return ("nan",)
    return (type(value).__name__, value)


@pytest.mark.parametrize("frame", [
    '{"type": "x", "n": 123456789012345678901234567890}',  # orjson: a float
    '{"type": "x", "n": -9223372036854775809, "m": 18446744073709551616}',
    '{"type": "x", "deep": [{"usage": {"n": [99999999999999999999]}}]}',
    '{"type": "x", "n": -9223372036854775808, "m": 18446744073709551615}',
    '{"type": "x", "f": 1e19, "g": -9.3e18, "h": 0.1, "z": -0.0}',
    '{"type": "x", "f": NaN, "g": Infinity, "h": -Infinity, "i": 1e400}',
    '{"type": "x", "s": "\\ud800 lone surrogate"}',
    '{"type": "x", "s": "\\ud83d\\ude00 pair", "a": 1, "a": 2}',
    b'\xef\xbb\xbf{"type": "bom"}',
    '{"type": "utf16"}'.encode("utf-16"),
    bytearray(b'{"type": "x"}'),
    '{"type": "x", "d": ' + "[" * 300 + "]" * 300 + "}",
])
def test_parse_reads_every_frame_exactly_as_json_loads(frame):
    """orjson speeds parsing up; json.loads stays the reference for every value and type."""
    import json

    event = parse_server_event(frame)
    assert _typed(event.data) == _typed(json.loads(frame))


@pytest.mark.parametrize("frame", ["18446744073709551616", "1e400", "[1]", '"s"', "\ufeff{}"])
def test_parse_refuses_exactly_what_json_refuses(frame):
    import json

    with pytest.raises(ProtocolError) as info:
        parse_server_event(frame)
    try:
        data = json.loads(frame)
    except ValueError as exc:
        assert str(info.value).startswith(f"frame is not JSON: {exc}")
    else:
        assert f"frame is JSON {type(data).__name__}, not an object" in str(info.value)
