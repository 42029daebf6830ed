"""The deterministic offline responder behind the embedded server.

The embedded server has no model. Every ``response.create`` is answered by a pure function of
the conversation, the session and the response parameters, so a notebook or a test gets the
same answer every time and can assert on it. The rules, in order:

1. The last context item is a ``function_call_output`` -> an assistant message that quotes the
   tool result: ``The get_weather tool returned {"temp_c": 21}.`` (the tool name comes from the
   ``function_call`` with the same ``call_id``; ``function`` when there is none).
2. Tools are declared (``response.tools`` overrides ``session.tools``), ``tool_choice`` is not
   ``"none"`` and the last user message mentions a function tool's name (or ``tool_choice``
   is ``"required"`` / names a function) -> a ``function_call`` of that tool. Its arguments are
   built by :func:`build_arguments` from the tool's JSON schema and the user's text. A message
   that names several tools plans one call of each, in the order they are named
   (``ResponsePlan.extra`` holds the calls after the first), unless
   ``parallel_tool_calls`` is false or ``tool_choice`` names one function.
3. There is a user message -> ``You said: "<text>". This is the offline responder.`` where
   ``<text>`` is the user's text parts and transcripts joined by spaces (an audio-only message
   without transcript is described as ``<N ms of audio>``).
4. Otherwise -> ``Hello! This is the offline responder; there is no user message yet.``

Token usage is counted the same way everywhere (:func:`count_tokens`: words and punctuation
marks), so usage numbers are deterministic too.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .wire import random_id

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_CHUNK_RE = re.compile(r"\S+\s*|\s+")
_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
#: Values quoted in the message: "double", 'single' (not an apostrophe), «guillemets», “curly”.
_QUOTED_RE = re.compile(r"\"([^\"]+)\"|(?<!\w)'([^']+)'(?!\w)|«([^»]+)»|“([^”]+)”")
#: "in Paris", "for New York", "at Paris, France": capitalised words after in/for/at.
_PLACE_RE = re.compile(r"\b(?i:in|for|at)\s+([A-Z][\w'-]*(?:(?:\s+|,\s*)[A-Z][\w'-]*)*)")
ARGUMENT_CHUNK = 8


@dataclass
class ResponsePlan:
    """What one response will produce: an assistant message or function calls.

    ``chunks`` are the deltas the server streams; their concatenation is ``text`` (message)
    or ``arguments`` (function call).
    """

    kind: Literal["message", "function_call"]
    text: str = ""
    name: str = ""
    call_id: str = ""
    arguments: str = ""
    chunks: list[str] = field(default_factory=list)
    #: Further function calls of the same response (the model's parallel calls), in order.
    extra: list[ResponsePlan] = field(default_factory=list)

    @property
    def calls(self) -> list[ResponsePlan]:
        """Every output item this plan makes: itself, then :attr:`extra`."""
        return [self, *self.extra]

    @property
    def full(self) -> str:
        return self.text if self.kind == "message" else self.arguments


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: words and punctuation marks."""
    return len(_TOKEN_RE.findall(text))


def split_text(text: str) -> list[str]:
    """Word chunks (each word keeps its trailing space), like a model's text deltas."""
    return _CHUNK_RE.findall(text) or [text]


def split_arguments(arguments: str, size: int = ARGUMENT_CHUNK) -> list[str]:
    """Fixed-size slices of the JSON arguments (deltas need not be valid JSON on their own)."""
    return [arguments[i : i + size] for i in range(0, len(arguments), size)] or [arguments]


def audio_ms(b64: Any, rate: int = 24000) -> int:
    """Length in ms of base64 PCM16 audio at ``rate``; 0 for anything that is not base64."""
    if not isinstance(b64, str) or not b64:
        return 0
    try:
        return len(base64.b64decode(b64, validate=False)) * 1000 // (2 * rate)
    except (binascii.Error, ValueError):
        return 0


#: Sample rate of each item's audio, by item id (items not in it: 24 kHz).
Rates = Mapping[str, int]


def item_text(item: Mapping[str, Any], rates: Rates | None = None) -> str:
    """What a reader sees of an item: text parts, transcripts, arguments and output (audio
    without a transcript as its length, at the item's rate in ``rates``)."""
    pieces: list[str] = []
    for part in item.get("content") or []:
        if not isinstance(part, Mapping):
            continue
        text = part.get("text")
        if not isinstance(text, str):
            text = part.get("transcript")
        if isinstance(text, str) and text:
            pieces.append(text)
        elif part.get("type") == "input_audio":
            rate = (rates or {}).get(str(item.get("id")), 24000)
            pieces.append(f"<{audio_ms(part.get('audio'), rate)} ms of audio>")
        elif part.get("type") == "input_image":
            pieces.append("<image>")
    for key in ("name", "arguments", "output"):
        value = item.get(key)
        if isinstance(value, str) and value:
            pieces.append(value)
    return " ".join(pieces)


def _tools(session: Mapping[str, Any], params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    tools = params.get("tools") if params.get("tools") is not None else session.get("tools")
    if not isinstance(tools, list):
        return []
    return [
        t for t in tools
        if isinstance(t, Mapping) and t.get("type", "function") == "function"
        and isinstance(t.get("name"), str) and t.get("name")
    ]


def _pick_tools(
    tools: list[Mapping[str, Any]], choice: Any, user_text: str, parallel: bool = True
) -> list[Mapping[str, Any]]:
    """The tools to call, in the order the text names them (one when not ``parallel``)."""
    if not tools or choice == "none":
        return []
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        return [t for t in tools if t.get("name") == choice.get("name")][:1]
    lowered = user_text.lower()
    found: list[tuple[int, int, Mapping[str, Any]]] = []
    for order, tool in enumerate(tools):
        match = re.search(rf"(?<![\w]){re.escape(str(tool['name']).lower())}(?![\w])", lowered)
        if match:
            found.append((match.start(), order, tool))
    picked = [tool for _, _, tool in sorted(found, key=lambda f: (f[0], f[1]))]
    if not picked and choice == "required":
        picked = tools[:1]
    return picked if parallel else picked[:1]


def _explicit_value(name: str, text: str) -> str | None:
    """``name=value`` / ``name: value`` / ``name="a b"`` written in the user's text."""
    quoted = re.search(rf"\b{re.escape(name)}\s*[=:]\s*\"([^\"]*)\"", text)
    if quoted:
        return quoted.group(1)
    plain = re.search(rf"\b{re.escape(name)}\s*[=:]\s*([^\s,;]+)", text)
    return plain.group(1).rstrip(".?!") if plain else None


class _Values:
    """The values a message offers, handed out in order: numbers and quoted strings."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.numbers = [m.group() for m in _NUMBER_RE.finditer(text)]
        self.quoted = [next(g for g in m.groups() if g is not None)
                       for m in _QUOTED_RE.finditer(text)]

    def number(self) -> str | None:
        return self.numbers.pop(0) if self.numbers else None

    def quote(self) -> str | None:
        return self.quoted.pop(0) if self.quoted else None


def _kind(schema: Mapping[str, Any]) -> tuple[Mapping[str, Any], Any]:
    """(the schema to fill, its JSON type): the first non-null branch of an ``anyOf`` /
    ``oneOf`` or of a type list."""
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list):
            for branch in branches:
                if isinstance(branch, Mapping) and branch.get("type") != "null":
                    return _kind({**schema, **branch, key: None})
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return schema, kind


def _value_for(schema: Mapping[str, Any], name: str, text: str,
               values: _Values | None = None, required: bool = True) -> Any:
    values = values if values is not None else _Values(text)
    schema, kind = _kind(schema)
    explicit = _explicit_value(name, text)
    if explicit is None and not required and "default" in schema:
        return schema["default"]  # an optional field the message says nothing of
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        options = [o for o in enum if o is not None] or enum
        for said in (explicit, *values.quoted):
            for option in options:
                if said is not None and str(option).lower() == said.lower():
                    return option
        lowered = text.lower()
        return next((o for o in options if str(o).lower() in lowered), options[0])
    if kind in ("integer", "number"):
        source = explicit if explicit is not None else values.number()
        match = _NUMBER_RE.search(source or "")
        if not match:
            return schema.get("default", schema.get("minimum", 0))
        number = float(match.group())
        return int(number) if kind == "integer" else number
    if kind == "boolean":
        source = (explicit or text).lower()
        return source in ("true", "yes", "1") if explicit is not None else " yes" in f" {source}"
    if kind == "array":
        return []
    if kind == "object":
        return _object_value(schema, text, values)
    if explicit is not None:
        return explicit
    quoted = values.quote()
    if quoted is not None:
        return quoted
    place = _PLACE_RE.search(text)
    return place.group(1) if place else text.strip()


def _object_value(schema: Mapping[str, Any], text: str, values: _Values) -> dict[str, Any]:
    """An object with its required properties filled (``{}`` when none are required)."""
    props = schema.get("properties")
    required = schema.get("required")
    if not isinstance(props, Mapping) or not isinstance(required, list):
        return {}
    return {str(k): _value_for(v if isinstance(v, Mapping) else {}, str(k), text, values)
            for k, v in props.items() if k in required}


def build_arguments(tool: Mapping[str, Any], user_text: str) -> str:
    """Deterministic JSON arguments for ``tool`` from its parameter schema and the user text.

    Every property of ``parameters.properties`` gets a value, in schema order:
    ``name=value`` / ``name: value`` written in the text wins; an optional property with a
    ``default`` keeps it; otherwise an enum takes the option the text quotes or mentions
    (else its first option), integer/number the next number in the text (else the default or
    0), boolean ``true`` when the text says "yes", arrays ``[]``, objects their required
    properties, and strings the next quoted value ("Lisbon", 'Lisbon', «Lisbon»), else the
    first "in/for/at <Capitalised Words>" place, else the whole user text.
    ``"What's the weather in Paris? (get_weather)"`` gives ``{"location": "Paris"}``.
    """
    params = tool.get("parameters")
    props = params.get("properties") if isinstance(params, Mapping) else None
    required = params.get("required") if isinstance(params, Mapping) else None
    values = _Values(user_text)
    args: dict[str, Any] = {}
    if isinstance(props, Mapping):
        for name, schema in props.items():
            args[str(name)] = _value_for(
                schema if isinstance(schema, Mapping) else {}, name, user_text, values,
                required=not isinstance(required, list) or name in required)
    return json.dumps(args, ensure_ascii=False)


def _last_user_text(context: Sequence[Mapping[str, Any]], rates: Rates | None) -> str | None:
    for item in reversed(context):
        if item.get("type") == "message" and item.get("role") == "user":
            return item_text(item, rates)
    return None


def plan_response(
    context: Sequence[Mapping[str, Any]],
    session: Mapping[str, Any],
    params: Mapping[str, Any] | None = None,
    rates: Rates | None = None,
) -> ResponsePlan:
    """Decide what a response produces from its context items (see the module docstring)."""
    params = params or {}
    last = context[-1] if context else None
    if last is not None and last.get("type") == "function_call_output":
        call = next(
            (i for i in reversed(context)
             if i.get("type") == "function_call" and i.get("call_id") == last.get("call_id")),
            None,
        )
        name = call.get("name") if call is not None else None
        text = f"The {name or 'function'} tool returned {last.get('output', '')}."
        return ResponsePlan("message", text=text, chunks=split_text(text))
    user_text = _last_user_text(context, rates)
    if user_text is not None:
        choice = params.get("tool_choice", session.get("tool_choice", "auto"))
        parallel = params.get("parallel_tool_calls", session.get("parallel_tool_calls"))
        picked = _pick_tools(_tools(session, params), choice, user_text, parallel is not False)
        if picked:
            calls = [_call_plan(tool, user_text) for tool in picked]
            calls[0].extra = calls[1:]
            return calls[0]
        text = f'You said: "{user_text}". This is the offline responder.'
    else:
        text = "Hello! This is the offline responder; there is no user message yet."
    return ResponsePlan("message", text=text, chunks=split_text(text))


def _call_plan(tool: Mapping[str, Any], user_text: str) -> ResponsePlan:
    arguments = build_arguments(tool, user_text)
    return ResponsePlan("function_call", name=str(tool["name"]), call_id=random_id("call_", 16),
                        arguments=arguments, chunks=split_arguments(arguments))


def usage(
    context: Sequence[Mapping[str, Any]], instructions: str, output: str,
    rates: Rates | None = None,
) -> dict[str, Any]:
    """Token usage for ``response.done``, in the GA ``RealtimeResponseUsage`` shape."""
    text_in = count_tokens(instructions) + sum(count_tokens(item_text(i, rates))
                                                for i in context)
    text_out = count_tokens(output)
    return {
        "total_tokens": text_in + text_out,
        "input_tokens": text_in,
        "output_tokens": text_out,
        "input_token_details": {
            "text_tokens": text_in,
            "audio_tokens": 0,
            "image_tokens": 0,
            "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": text_out, "audio_tokens": 0},
    }
