"""Session configuration of the embedded server: defaults, ``session.update`` checks, merging.

The GA session object must validate strictly against the openai SDK's
``RealtimeSessionCreateRequest`` (the model ``session.created``/``session.updated`` use), so:

* the GA object carries no ``id`` / ``object`` / ``expires_at`` — the real service sends them,
  but the SDK model has no such fields and a strict check would flag them as extras;
* a GA ``session.update`` is checked against a small schema mirroring that model, and an
  unknown field is refused like the real service does (``Unknown parameter: 'session.x'.``)
  instead of being merged into a config that would then fail validation.

The beta dialect keeps the flat beta session (``modalities``, ``voice``, ``input_audio_format``
...), Yandex the GA shape plus ``id``/``object``; both merge leniently.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from ..core.protocol import dialect as dialect_spec
from .wire import random_id

DEFAULT_MODEL = "gpt-realtime"
DEFAULT_INSTRUCTIONS = "You are the realtime_nb offline responder; your answers are deterministic."


class ConfigError(ValueError):
    """A ``session.update`` the server refuses; becomes an ``error`` event."""

    def __init__(self, message: str, param: str | None, code: str = "invalid_value") -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


def default_session(dialect: str, model: str | None) -> dict[str, Any]:
    """The effective config a new connection starts with (sent in ``session.created``).

    Output is text until a client asks for audio (``output_modalities`` / beta ``modalities``)
    and there is no turn detection until a client turns it on (``turn_detection``), so that a
    text client never meets audio it did not ask for. Yandex speaks with its own default voice.
    """
    spec = dialect_spec(dialect)
    pcm = {"type": "audio/pcm", "rate": spec.audio_rates[0]}
    if dialect == "beta":
        return {
            "id": random_id("sess_"),
            "object": "realtime.session",
            "model": model or DEFAULT_MODEL,
            "modalities": ["text"],
            "instructions": DEFAULT_INSTRUCTIONS,
            "voice": "alloy",
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "input_audio_transcription": None,
            "turn_detection": None,
            "tools": [],
            "tool_choice": "auto",
            "temperature": 0.8,
            "max_response_output_tokens": "inf",
        }
    session: dict[str, Any] = {
        "type": "realtime",
        "model": model or DEFAULT_MODEL,
        "output_modalities": ["text"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "audio": {
            "input": {
                "format": dict(pcm),
                "noise_reduction": None,
                "transcription": None,
                "turn_detection": None,
            },
            "output": {"format": dict(pcm), "voice": spec.default_voice, "speed": 1.0},
        },
        "include": None,
    }
    if dialect == "yandex":
        session = {"id": random_id("sess_"), "object": "realtime.session", **session}
    return session


# ------------------------------------------------------------------------------ GA schema
Check = Callable[[Any, str], None]
Schema = Mapping[str, Any]  # field -> Schema (nested object) | Check


def _fail(path: str, what: str) -> None:
    raise ConfigError(f"Invalid value for '{path}': expected {what}.", path)


def _type(*types: type, nullable: bool = True) -> Check:
    def check(value: Any, path: str) -> None:
        if value is None and nullable:
            return
        numeric = int in types or float in types
        if isinstance(value, bool) and numeric and bool not in types:
            _fail(path, " or ".join(t.__name__ for t in types))
        if not isinstance(value, types):
            _fail(path, " or ".join(t.__name__ for t in types))

    return check


def _one_of(*options: Any, nullable: bool = True) -> Check:
    def check(value: Any, path: str) -> None:
        if (value is None and nullable) or value in options:
            return
        raise ConfigError(
            f"Invalid value: {value!r}. Supported values are: "
            + ", ".join(repr(o) for o in options) + ".",
            path,
        )

    return check


def _object(schema: Schema, required: tuple[str, ...] = ()) -> Check:
    def check(value: Any, path: str) -> None:
        if value is None:
            return
        if not isinstance(value, Mapping):
            _fail(path, "an object")
        check_object(value, schema, path, required)

    return check


def _list_of(item: Check) -> Check:
    def check(value: Any, path: str) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            _fail(path, "an array")
        for i, entry in enumerate(value):
            item(entry, f"{path}[{i}]")

    return check


def _either(*checks: Check) -> Check:
    def check(value: Any, path: str) -> None:
        errors = []
        for c in checks:
            try:
                c(value, path)
                return
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]

    return check


def _max_tokens(value: Any, path: str) -> None:
    if value is None or value == "inf":
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4096:
        _fail(path, "an integer between 1 and 4096, or 'inf'")


_FORMAT = _object({"type": _one_of("audio/pcm", "audio/pcmu", "audio/pcma"),
                   "rate": _one_of(24000)})
_TURN = _object({
    "type": _one_of("server_vad", "semantic_vad", nullable=False),
    "create_response": _type(bool), "idle_timeout_ms": _type(int),
    "interrupt_response": _type(bool), "prefix_padding_ms": _type(int),
    "silence_duration_ms": _type(int), "threshold": _type(float, int),
    "eagerness": _one_of("low", "medium", "high", "auto"),
}, required=("type",))
_FUNCTION_TOOL = _object({
    "type": _one_of("function"), "name": _type(str, nullable=False),
    "description": _type(str), "parameters": _type(dict),
}, required=("name",))
_MCP_TOOL_FIELDS = (
    "allowed_callers", "allowed_tools", "authorization", "connector_id", "defer_loading",
    "headers", "require_approval", "server_description", "server_url", "tunnel_id",
)
_MCP_TOOL = _object({"type": _one_of("mcp", nullable=False),
                     "server_label": _type(str, nullable=False),
                     **{k: _type(object) for k in _MCP_TOOL_FIELDS}}, required=("server_label",))


def _tool(value: Any, path: str) -> None:
    if isinstance(value, Mapping) and value.get("type") == "mcp":
        _MCP_TOOL(value, path)
    else:
        _FUNCTION_TOOL(value, path)


GA_SESSION: Schema = {
    "type": _one_of("realtime", nullable=False),
    "model": _type(str),
    "output_modalities": _list_of(_one_of("text", "audio", nullable=False)),
    "instructions": _type(str),
    "tools": _list_of(_tool),
    "tool_choice": _either(
        _one_of("none", "auto", "required"),
        _object({"type": _one_of("function", nullable=False), "name": _type(str, nullable=False)},
                required=("type", "name")),
        _object({"type": _one_of("mcp", nullable=False), "server_label": _type(str, nullable=False),
                 "name": _type(str)}, required=("type", "server_label")),
    ),
    "max_output_tokens": _max_tokens,
    "tracing": _either(
        _one_of("auto"),
        _object({"group_id": _type(str), "metadata": _type(object), "workflow_name": _type(str)}),
    ),
    "truncation": _either(
        _one_of("auto", "disabled"),
        _object({"type": _one_of("retention_ratio", nullable=False),
                 "retention_ratio": _type(float, int, nullable=False),
                 "token_limits": _object({"post_instructions": _type(int)})},
                required=("type", "retention_ratio")),
    ),
    "prompt": _object({"id": _type(str, nullable=False), "variables": _type(dict),
                       "version": _type(str)}, required=("id",)),
    "audio": {
        "input": {
            "format": _FORMAT,
            "noise_reduction": _object({"type": _one_of("near_field", "far_field"),
                                        "strength": _type(float, int)}),
            "transcription": _object({
                "model": _type(str), "language": _type(str), "prompt": _type(str),
                "delay": _one_of("minimal", "low", "medium", "high", "xhigh"),
                "keywords": _list_of(_type(str, nullable=False)),
                "languages": _list_of(_type(str, nullable=False)),
            }),
            "turn_detection": _TURN,
        },
        "output": {
            "format": _FORMAT,
            "speed": _type(float, int),
            "voice": _either(_type(str), _object({"id": _type(str, nullable=False)},
                                                 required=("id",))),
        },
    },
    "include": _list_of(_one_of("item.input_audio_transcription.logprobs", nullable=False)),
    "parallel_tool_calls": _type(bool),
    "reasoning": _object({"effort": _type(str)}),
}

BETA_SESSION_FIELDS = (
    "model", "modalities", "instructions", "voice", "input_audio_format", "output_audio_format",
    "input_audio_transcription", "turn_detection", "tools", "tool_choice", "temperature",
    "max_response_output_tokens", "input_audio_noise_reduction", "speed", "tracing",
)


def check_object(value: Mapping[str, Any], schema: Schema, path: str,
                 required: tuple[str, ...] = ()) -> None:
    """Refuse unknown fields and wrong values, naming the dotted path like the real service."""
    for key in required:
        if value.get(key) is None:
            raise ConfigError(f"Missing required parameter: '{path}.{key}'.", f"{path}.{key}",
                              "missing_required_parameter")
    for key, sub in value.items():
        where = f"{path}.{key}"
        rule = schema.get(key)
        if rule is None:
            raise ConfigError(f"Unknown parameter: '{where}'.", where, "unknown_parameter")
        if isinstance(rule, Mapping):
            if sub is None:
                continue
            if not isinstance(sub, Mapping):
                _fail(where, "an object")
            check_object(sub, rule, where)
        else:
            rule(sub, where)


def deep_merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``patch`` over ``base``: nested objects merge, everything else (lists too) replaces."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_update(current: dict[str, Any], patch: Any, dialect: str) -> dict[str, Any]:
    """The new effective session after a ``session.update``, or :class:`ConfigError`.

    GA requires ``session.type`` (the real GA service does); beta and Yandex do not.
    """
    if not isinstance(patch, Mapping):
        raise ConfigError("Invalid type for 'session': expected an object.", "session",
                          "invalid_type")
    if dialect == "beta":
        # GA clients put session.type everywhere; beta has no such field, so it is ignored
        patch = {k: v for k, v in patch.items() if k != "type"}
        for key in patch:
            if key not in BETA_SESSION_FIELDS:
                raise ConfigError(f"Unknown parameter: 'session.{key}'.", f"session.{key}",
                                  "unknown_parameter")
        return _fill_turn_detection(deep_merge(current, patch), dialect)
    if dialect == "ga":
        if patch.get("type") is None:
            raise ConfigError("Missing required parameter: 'session.type'.", "session.type",
                              "missing_required_parameter")
        if patch.get("type") == "transcription":
            raise ConfigError("The embedded server does not support transcription sessions; "
                              "use session.type 'realtime'.", "session.type")
        check_object(patch, GA_SESSION, "session")
    patch = {k: v for k, v in patch.items() if k not in ("id", "object")}
    merged = deep_merge(current, patch)
    if dialect == "yandex":
        _check_rates(merged, dialect)
    return _fill_turn_detection(merged, dialect)


# ------------------------------------------------------------------------------ audio settings
#: What the real service fills in for a turn detection given by its type alone.
TURN_DEFAULTS: dict[str, dict[str, Any]] = {
    "server_vad": {"threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500,
                   "create_response": True, "interrupt_response": True},
    "semantic_vad": {"eagerness": "auto", "create_response": True, "interrupt_response": True},
}


def _fill_turn_detection(session: dict[str, Any], dialect: str) -> dict[str, Any]:
    turn = turn_detection(session, dialect)
    if turn is None:
        return session
    for key, value in TURN_DEFAULTS.get(turn.get("type"), {}).items():  # type: ignore[arg-type]
        if turn.get(key) is None:
            turn[key] = value
    if dialect == "ga" and turn.get("type") == "server_vad" and "idle_timeout_ms" not in turn:
        turn["idle_timeout_ms"] = None
    return session


def _check_rates(session: Mapping[str, Any], dialect: str) -> None:
    rates = dialect_spec(dialect).audio_rates
    audio = session.get("audio") if isinstance(session.get("audio"), Mapping) else {}
    for side in ("input", "output"):
        fmt = (audio.get(side) or {}).get("format") if isinstance(audio, Mapping) else None
        if not isinstance(fmt, Mapping):
            continue
        if fmt.get("type") not in (None, "audio/pcm"):
            raise ConfigError(f"Invalid value: {fmt.get('type')!r}. Supported values are: "
                              "'audio/pcm'.", f"session.audio.{side}.format.type")
        if fmt.get("rate") is not None and fmt.get("rate") not in rates:
            raise ConfigError(f"Invalid value: {fmt.get('rate')!r}. Supported values are: "
                              + ", ".join(map(str, rates)) + ".",
                              f"session.audio.{side}.format.rate")


def _audio(session: Mapping[str, Any], side: str) -> dict[str, Any]:
    audio = session.get("audio")
    found = audio.get(side) if isinstance(audio, dict) else None
    return found if isinstance(found, dict) else {}


def audio_rate(session: Mapping[str, Any], dialect: str, side: str) -> int:
    """The PCM16 sample rate of the session's ``side`` (``input`` / ``output``) audio (beta:
    ``pcm16`` is 24 kHz)."""
    if dialect == "beta":
        return 24000
    fmt = _audio(session, side).get("format")
    rate = fmt.get("rate") if isinstance(fmt, dict) else None
    return rate if isinstance(rate, int) and rate > 0 else dialect_spec(dialect).audio_rates[0]


def turn_detection(session: Mapping[str, Any], dialect: str) -> dict[str, Any] | None:
    """The session's turn detection object (live: edits change the session), or ``None``."""
    found = session.get("turn_detection") if dialect == "beta" else \
        _audio(session, "input").get("turn_detection")
    return found if isinstance(found, dict) and found.get("type") else None


def transcription(session: Mapping[str, Any], dialect: str) -> dict[str, Any] | None:
    """The session's input transcription settings, or ``None`` (not asked for)."""
    found = session.get("input_audio_transcription") if dialect == "beta" else \
        _audio(session, "input").get("transcription")
    return found if isinstance(found, dict) else None


def wants_audio(session: Mapping[str, Any], dialect: str, params: Mapping[str, Any]) -> bool:
    """Whether a response speaks: ``audio`` in its (or the session's) output modalities."""
    key = "modalities" if dialect == "beta" else "output_modalities"
    found = params.get(key)
    if found is None:
        found = session.get(key)
    return isinstance(found, list) and "audio" in found


def voice(session: Mapping[str, Any], dialect: str, params: Mapping[str, Any]) -> str:
    """The voice of a response (its own, else the session's)."""
    if dialect == "beta":
        found = params.get("voice") or session.get("voice")
    else:
        out = params.get("audio", {}).get("output", {}) if isinstance(params.get("audio"),
                                                                     dict) else {}
        found = out.get("voice") or _audio(session, "output").get("voice")
    if isinstance(found, dict):
        found = found.get("id")
    return found if isinstance(found, str) and found else dialect_spec(dialect).default_voice
