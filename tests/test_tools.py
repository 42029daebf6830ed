"""Python functions as tools: schemas, the runner and approval, over real loopback traffic
(the embedded server, or a scripted websockets server where the embedded one cannot produce
the event: two calls in one response, an MCP approval request)."""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal, Optional, TypedDict

import jsonschema
import pytest
from pydantic import BaseModel

import realtime_nb as rnb
from realtime_nb.tools.schema import bind_arguments, function_schema
from tests.scripted import ScriptServer, echo_items, response_events


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"not true within {timeout} s: {predicate}")


def answered(conv: Any, count: int = 1) -> Callable[[], bool]:
    """True once ``count`` assistant messages after a function_call_output are done."""
    def check() -> bool:
        items = conv.items
        outs = [i for i, it in enumerate(items) if it.type == "function_call_output"]
        return bool(outs) and sum(
            1 for it in items[outs[0]:] if it.type == "message" and it.role == "assistant"
            and it.status == "completed") >= count
    return check


def tool_log(conv: Any) -> list[dict[str, Any]]:
    return [e["payload"] for e in conv.log if e["type"] == "realtime_nb.tool"]


# ------------------------------------------------------------------ schema
class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Address(TypedDict):
    street: str
    number: int


class Point(BaseModel):
    x: float
    y: float = 0.0


def google(city: str, days: int, scale: float = 1.5, metric: bool = True,
           mode: Literal["fast", "slow"] = "fast", unit: Unit = Unit.CELSIUS,
           tags: list[str] | None = None, weights: dict[str, float] | None = None,
           address: Optional[Address] = None, note: Optional[str] = None,  # noqa: UP045
           origin: Point | None = None, pair: tuple[int, str] | None = None,
           label: Annotated[str, "A free label."] = "") -> dict[str, Any]:
    """Forecast for a city.

    Args:
        city: The city to look up.
        days: How many days
            ahead.
        scale: A factor.
    """
    return {"city": city}


def numpy_style(city: str, days: int, scale: float = 1.5) -> None:
    """Forecast for a city.

    Parameters
    ----------
    city : str
        The city to look up.
    days : int
        How many days ahead.
    scale : float
        A factor.
    """


def rest_style(city: str, days: int, scale: float = 1.5) -> None:
    """Forecast for a city.

    :param city: The city to look up.
    :param days: How many days ahead.
    :param scale: A factor.
    """


def test_schema_of_every_supported_hint_validates_good_and_rejects_bad_arguments():
    schema = function_schema(google)
    assert schema["name"] == "google" and schema["description"] == "Forecast for a city."
    params = schema["parameters"]
    jsonschema.Draft202012Validator.check_schema(params)
    props = params["properties"]
    assert params["required"] == ["city", "days"]
    assert props["city"] == {"type": "string", "description": "The city to look up."}
    assert props["days"]["type"] == "integer"
    assert props["days"]["description"] == "How many days ahead."
    assert props["scale"] == {"type": "number", "description": "A factor.", "default": 1.5}
    assert props["metric"] == {"type": "boolean", "default": True}
    assert props["mode"]["enum"] == ["fast", "slow"] and props["mode"]["default"] == "fast"
    assert props["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert props["unit"]["default"] == "celsius"
    assert props["label"]["description"] == "A free label."
    validator = jsonschema.Draft202012Validator(params)
    good = [
        {"city": "Lisbon", "days": 3},
        {"city": "Lisbon", "days": 3, "scale": 2, "metric": False, "mode": "slow",
         "unit": "fahrenheit", "tags": ["a", "b"], "weights": {"x": 0.5},
         "address": {"street": "Main", "number": 5}, "note": None, "origin": {"x": 1.0},
         "pair": [1, "one"], "label": "L"},
        {"city": "Oslo", "days": 0, "tags": None, "address": None, "origin": None},
    ]
    for args in good:
        validator.validate(args)
    bad = [
        {"city": "Lisbon"},                                   # missing required
        {"city": 7, "days": 3},                               # wrong type
        {"city": "x", "days": 1.5},                           # not an integer
        {"city": "x", "days": 1, "mode": "medium"},           # Literal
        {"city": "x", "days": 1, "unit": "kelvin"},           # Enum
        {"city": "x", "days": 1, "tags": ["a", 2]},           # list[str]
        {"city": "x", "days": 1, "weights": {"x": "heavy"}},  # dict[str, float]
        {"city": "x", "days": 1, "address": {"street": "Main"}},  # TypedDict key missing
        {"city": "x", "days": 1, "origin": {"y": 1.0}},       # pydantic field missing
        {"city": "x", "days": 1, "pair": [1, 2]},             # tuple[int, str]
        {"city": "x", "days": 1, "surprise": True},           # unknown argument
        {"city": "x", "days": 1, "metric": "yes"},            # bool
    ]
    for args in bad:
        assert list(validator.iter_errors(args)), f"accepted {args}"
    kwargs = bind_arguments(google, good[1])
    assert kwargs["unit"] is Unit.FAHRENHEIT and kwargs["origin"] == Point(x=1.0)
    assert kwargs["pair"] == (1, "one") and kwargs["scale"] == 2.0


@pytest.mark.parametrize("fn", [numpy_style, rest_style])
def test_numpy_and_rest_docstrings_give_the_same_descriptions(fn):
    want = function_schema(google)["parameters"]["properties"]
    got = function_schema(fn)
    assert got["description"] == "Forecast for a city."
    for name in ("city", "days", "scale"):
        assert got["parameters"]["properties"][name]["description"] == want[name]["description"]


def test_unsupported_hints_and_positional_only_parameters_are_refused():
    def bad_key(values: dict[int, str]) -> None: ...
    def positional(x: int, /) -> None: ...
    def unknown(when: threading.Thread) -> None: ...
    for fn in (bad_key, positional, unknown):
        with pytest.raises(TypeError):
            function_schema(fn)


# ------------------------------------------------------------------ the embedded server
def test_registered_tool_is_called_and_answered_with_no_cell_code(conv):
    @conv.tool
    def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
        """Current weather for a city.

        Args:
            city: The city.
        """
        return {"city": city, "temp_c": 21, "unit": unit}

    assert conv.tools["get_weather"].fn is get_weather
    conv.create("What is the weather in Lisbon? Use get_weather.")
    call_response = conv.respond()
    final = conv.wait_tools()  # the response that followed the tool's output
    assert answered(conv)() and final.items[0].id == conv.items[-1].id
    assert conv.wait_tools() is final  # nothing new: the same one
    items = conv.items
    assert [i.type for i in items] == ["message", "function_call", "function_call_output",
                                       "message"]
    call, output, answer = items[1], items[2], items[3]
    assert call.id == call_response.items[0].id
    assert json.loads(call.arguments) == {"city": "Lisbon", "unit": "celsius"}
    assert output.call_id == call.call_id
    assert json.loads(output.output) == {"city": "Lisbon", "temp_c": 21, "unit": "celsius"}
    assert answer.role == "assistant" and answer.text.startswith(
        "The get_weather tool returned")
    declared = conv.session_config["tools"]
    assert declared == [conv.tools["get_weather"].schema]
    statuses = [p["status"] for p in tool_log(conv)]
    assert statuses == ["running", "completed"]
    assert tool_log(conv)[-1]["call_id"] == call.call_id
    assert [c.status for c in conv.tool_calls] == ["completed"]
    # exactly one response.create followed the output
    creates = [e for e in conv.log if e["type"] == "response.create"]
    assert len(creates) == 2


def test_an_exception_and_a_timeout_each_become_an_output(conv, caplog):
    caplog.set_level(logging.WARNING, logger="realtime_nb.tools")

    @conv.tool
    def explode(city: str) -> str:
        raise ValueError(f"no weather for {city}")

    @conv.tool(timeout=0.2)
    def crawl(city: str) -> str:
        time.sleep(1.0)
        return "late"

    conv.create("Call explode for Paris.")
    conv.respond()
    wait_for(answered(conv))
    conv.create("Now call crawl for Rome.")
    conv.respond()
    wait_for(answered(conv, 2))
    outputs = [json.loads(i.output) for i in conv.items if i.type == "function_call_output"]
    assert outputs[0] == {"error": {"type": "ValueError", "message": "no weather for Paris"}}
    assert outputs[1]["error"]["type"] == "TimeoutError"
    assert "crawl did not finish within 0.2 s" in outputs[1]["error"]["message"]
    finals = [p for p in tool_log(conv) if p["status"] in ("failed", "timeout")]
    assert [(p["name"], p["status"]) for p in finals] == [("explode", "failed"),
                                                         ("crawl", "timeout")]
    assert finals[0]["error"] == "ValueError: no weather for Paris"
    assert 0.2 <= finals[1]["elapsed_s"] < 0.9  # the timeout answered, not the slow function
    logged = [r.getMessage() for r in caplog.records]
    assert any("explode" in m and "ValueError" in m for m in logged)
    assert any("crawl" in m and "timed out" in m for m in logged)


def test_async_tool_runs_on_its_own_loop(conv):
    seen: list[str] = []

    @conv.tool
    async def lookup(city: str) -> str:
        await asyncio.sleep(0.05)
        seen.append(threading.current_thread().name)
        return f"{city}: sunny"

    conv.create("Please lookup Oslo.")
    conv.respond()
    wait_for(answered(conv))
    outs = [i.output for i in conv.items if i.type == "function_call_output"]
    assert outs == ["Please lookup Oslo.: sunny"] or outs[0].endswith(": sunny")
    assert seen == ["rnb-tool-loop"]


def test_update_session_keeps_registered_tools_and_remove_tool_redeclares(conv):
    @conv.tool
    def ping(host: str) -> str:
        """Ping a host."""
        return "pong"

    other = {"type": "function", "name": "manual", "description": "Done by hand.",
             "parameters": {"type": "object", "properties": {}}}
    conv.update_session(tools=[other])
    wait_for(lambda: len(conv.session_config.get("tools") or []) == 2)
    assert [t["name"] for t in conv.session_config["tools"]] == ["manual", "ping"]
    conv.remove_tool("ping")
    wait_for(lambda: [t["name"] for t in conv.session_config["tools"]] == ["manual"])
    assert conv.tools == {}
    # a call to a name nobody registered is left to the user: no output, no response
    conv.create("Use manual please.")
    call = conv.respond().items[0]
    time.sleep(0.2)
    assert call.type == "function_call" and conv.items[-1].id == call.id
    assert not tool_log(conv)


def test_auto_respond_off_sends_the_output_only(conv):
    conv.auto_respond = False

    @conv.tool
    def echo(text: str) -> str:
        return text.upper()

    conv.create('Call echo with "hi".')
    conv.respond()
    wait_for(lambda: conv.items[-1].type == "function_call_output")
    time.sleep(0.2)
    assert conv.items[-1].output == "HI"
    assert len([e for e in conv.log if e["type"] == "response.create"]) == 1


def test_approve_and_deny_from_python(conv):
    ran: list[str] = []

    @conv.tool(approve=True)
    def delete_file(path: str) -> str:
        """Delete a file."""
        ran.append(path)
        return f"deleted {path}"

    conv.create('Use delete_file on "a.txt".')
    first = conv.respond().items[0]
    (waiting,) = wait_for(lambda: conv.pending_approvals)
    assert (waiting.id, waiting.name, waiting.status) == (first.call_id, "delete_file",
                                                          "waiting")
    time.sleep(0.1)
    assert ran == [] and conv.items[-1].id == first.id  # nothing runs before approval
    state = conv.approve(first.call_id)
    assert state.status in ("running", "completed")  # a quick tool may be done already
    wait_for(answered(conv))
    assert ran == ["a.txt"] and conv.pending_approvals == []
    conv.create('Use delete_file on "b.txt".')
    second = conv.respond().items[0]
    wait_for(lambda: conv.pending_approvals)
    conv.deny(second.id, reason="not today")  # by item id works too
    wait_for(answered(conv, 2))
    assert ran == ["a.txt"]
    denial = json.loads(next(i.output for i in conv.items
                             if i.type == "function_call_output" and i.call_id == second.call_id))
    assert denial == {"declined": True, "message": "The user declined to run delete_file: "
                                                   "not today"}
    statuses = [(p["call_id"], p["status"]) for p in tool_log(conv)]
    assert statuses == [(first.call_id, "waiting"), (first.call_id, "approved"),
                        (first.call_id, "running"), (first.call_id, "completed"),
                        (second.call_id, "waiting"), (second.call_id, "denied")]
    with pytest.raises(ValueError):
        conv.approve(second.call_id)
    with pytest.raises(KeyError):
        conv.approve("call_nobody")


# ------------------------------------------------------------------ a scripted server
async def two_calls_then_answer(peer: Any) -> None:
    """Items echo; the first response makes two function calls (or an MCP approval request
    when the user says "mcp"), in one response; the next response answers in text."""
    previous = None
    while True:
        event = await peer.recv()
        if event["type"] == "conversation.item.create":
            previous = await echo_items(peer, event, previous)
            if event["item"]["type"] == "message":
                text = event["item"]["content"][0]["text"]
        elif event["type"] == "response.create":
            outputs = [i for i in peer.received if i["type"] == "conversation.item.create"
                       and i["item"]["type"] in ("function_call_output",
                                                 "mcp_approval_response")]
            if outputs:
                body = [{"type": "message", "role": "assistant", "content": [
                    {"type": "output_text", "text": f"{len(outputs)} answers"}]}]
            elif "mcp" in text:
                body = [{"type": "mcp_approval_request", "name": "search_docs",
                         "arguments": "{}", "server_label": "docs"}]
            else:
                body = [{"type": "function_call", "name": name, "call_id": f"call_{name}",
                         "arguments": json.dumps({"seconds": 0.5})}
                        for name in ("slow_a", "slow_b")]
            events, _, previous = response_events(event, body, previous=previous)
            await peer.send_all(events)


def test_two_parallel_calls_run_concurrently_and_are_answered_together():
    with ScriptServer(two_calls_then_answer) as srv:
        conv = rnb.connect(url=srv.url, timeout=10)
        try:
            spans: dict[str, tuple[float, float]] = {}

            def make(name: str) -> Callable[[float], str]:
                def slow(seconds: float) -> str:
                    began = time.monotonic()
                    time.sleep(seconds)
                    spans[name] = (began, time.monotonic())
                    return f"{name} done"
                slow.__name__ = name
                return slow

            conv.tool(make("slow_a"))
            conv.tool(make("slow_b"))
            conv.create("Run slow_a and slow_b.")
            started = time.monotonic()
            calls = conv.respond().items
            assert [c.name for c in calls] == ["slow_a", "slow_b"]
            wait_for(lambda: conv.items[-1].text == "2 answers")
            (a0, a1), (b0, b1) = spans["slow_a"], spans["slow_b"]
            assert a0 < b1 and b0 < a1  # the two runs overlap
            assert max(a1, b1) - min(a0, b0) < 0.9  # in parallel: 0.5 s, not 1 s
            assert max(a1, b1) - started < 0.5 + 2.0  # and they started at once
            types = [i.type for i in conv.items]
            assert types == ["message", "function_call", "function_call", "function_call_output",
                             "function_call_output", "message"]
            out = [e for e in conv.log if e["direction"] == "out"]
            kinds = [e["payload"].get("item", {}).get("type") or e["type"] for e in out
                     if e["type"] in ("conversation.item.create", "response.create")]
            # one response.create for the batch, after both outputs
            assert kinds[-3:] == ["function_call_output", "function_call_output",
                                  "response.create"]
            assert kinds.count("response.create") == 2
        finally:
            conv.close()


def test_the_embedded_server_makes_parallel_calls_and_both_are_answered(conv, strict_ga):
    """A message naming two registered tools gets one response with both calls (as the real
    model's parallel calls), every event valid for the SDK; both run, one answer follows."""
    seen: list[dict] = []
    conv.on("*", lambda e: seen.append(e.data))

    @conv.tool
    def get_weather(city: str) -> dict:
        """Weather for a city."""
        return {"city": city, "temp_c": 21}

    @conv.tool
    def get_time(city: str) -> str:
        """Local time in a city."""
        return "12:00"

    conv.create('Use get_weather and get_time for "Oslo".')
    calls = conv.respond().items
    assert [(c.type, c.name) for c in calls] == [("function_call", "get_weather"),
                                                  ("function_call", "get_time")]
    answer = conv.wait_tools(timeout=10)
    assert answer is not None and answer.status == "completed"
    outputs = [i for i in conv.items if i.type == "function_call_output"]
    assert sorted(o.call_id for o in outputs) == sorted(c.call_id for c in calls)
    done = next(e for e in seen if e["type"] == "response.done")
    assert [o["call_id"] for o in done["response"]["output"]] == [c.call_id for c in calls]
    assert [json.loads(c.arguments) for c in calls] == [{"city": "Oslo"}, {"city": "Oslo"}]
    for event in seen:
        strict_ga(event)


def test_a_call_dropped_with_its_response_is_not_answered_into_the_new_session():
    """The connection drops after the first of two calls is done (its tool runs) but before
    the second: the response is dropped whole and asked again; the first run's output is not
    sent (the new server session never saw that call), the new calls are answered."""
    from realtime_nb.server import EmbeddedServer
    from tests.faultproxy import FaultProxy

    with EmbeddedServer() as server, FaultProxy(server.url) as proxy:
        conv = rnb.connect(url=proxy.url, timeout=10, backoff=(0.01, 0.05))
        try:
            runs: list[str] = []

            @conv.tool
            def get_weather(city: str) -> str:
                """Weather."""
                runs.append("weather")
                time.sleep(0.2)
                return "sunny"

            @conv.tool
            def get_time(city: str) -> str:
                """Time."""
                runs.append("time")
                return "noon"

            proxy.cut("in", lambda e: e.get("type") == "response.output_item.done"
                      and (e.get("item") or {}).get("name") == "get_time", after=False)
            conv.create('Use get_weather and get_time for "Oslo".')
            conv.respond()
            answer = conv.wait_tools(timeout=10)
            assert answer is not None and answer.text.startswith("The get_")
            calls = [i for i in conv.items if i.type == "function_call"]
            outputs = [i for i in conv.items if i.type == "function_call_output"]
            assert len(calls) == 2 and sorted(o.call_id for o in outputs) == sorted(
                c.call_id for c in calls)
            assert conv.errors == [] and runs.count("weather") == 2
        finally:
            conv.close()


def test_mcp_approval_request_is_answered_from_python():
    with ScriptServer(two_calls_then_answer) as srv:
        conv = rnb.connect(url=srv.url, timeout=10)
        try:
            conv.create("Search the mcp docs.")
            request = conv.respond().items[0]
            assert request.type == "mcp_approval_request"
            (pending,) = wait_for(lambda: conv.pending_approvals)
            assert (pending.kind, pending.id, pending.server_label) == ("mcp", request.id, "docs")
            conv.approve(request.id, True, reason="fine")
            wait_for(lambda: conv.items[-1].text == "1 answers")
            response_item = next(i for i in conv.items if i.type == "mcp_approval_response")
            assert response_item.extra["approval_request_id"] == request.id
            assert response_item.extra["approve"] is True
            assert response_item.extra["reason"] == "fine"
            assert [p["status"] for p in tool_log(conv)] == ["waiting", "approved"]
        finally:
            conv.close()


def test_a_loaded_conversation_runs_nothing_again(conv, tmp_path):
    @conv.tool
    def get_weather(city: str) -> dict:
        return {"city": city}

    conv.create("get_weather in Paris")
    conv.respond()
    wait_for(answered(conv))
    path = conv.save(tmp_path / "s.jsonl")
    loaded = rnb.load(path)
    loaded.tool(get_weather)  # registering offline sends nothing and runs nothing
    assert [i.type for i in loaded.items] == [i.type for i in conv.items]
    assert loaded.tool_calls == []
    assert [e["payload"]["status"] for e in loaded.log if e["type"] == "realtime_nb.tool"] == [
        "running", "completed"]
