"""JSON Schema for a Python function: the ``tools`` entry a Realtime session declares.

:func:`function_schema` reads a function's signature, its type hints and its docstring:

* hints: ``str``, ``int``, ``float``, ``bool``, ``None``, ``Literal[...]``, ``Enum`` subclasses,
  ``list[...]`` / ``tuple[...]`` / ``set[...]`` / ``Sequence[...]``, ``dict`` /
  ``dict[str, ...]``, ``TypedDict`` classes, ``Optional[...]`` / ``X | None``, other unions,
  ``Annotated[X, "text"]`` (the text becomes the field's description), ``Any``, and pydantic
  models when pydantic is installed (their own ``model_json_schema``);
* defaults appear as ``default`` and make the parameter optional;
* the docstring's summary becomes the tool's description and each parameter's text its
  ``description``, in Google, NumPy or reST style (read by the ``docstring_parser`` package).

:func:`coerce` turns the JSON the model sent back into what the hints ask for (enum members,
pydantic models, tuples, sets), so the function receives its own types.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: JSON types of plain Python classes.
_SCALARS: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
#: Container classes (``typing.get_origin`` maps ``typing.List`` & co. to these).
_ARRAYS = (list, tuple, set, frozenset, Sequence)
_SETS = (set, frozenset)
_MAPPINGS = (dict, Mapping)


def _pydantic_model(tp: Any) -> bool:
    try:
        from pydantic import BaseModel
    except ImportError:  # pydantic is optional
        return False
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def _json_value(value: Any) -> Any:
    """A default value as JSON (enum members by value, tuples and sets as lists)."""
    if isinstance(value, enum.Enum):
        return _json_value(value.value)
    if isinstance(value, (tuple, list, set, frozenset)):
        return [_json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if _pydantic_model(type(value)):
        return value.model_dump(mode="json")
    raise TypeError(f"default {value!r} cannot be written as JSON")


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` that also accepts ``null``."""
    kind = schema.get("type")
    if isinstance(kind, str) and set(schema) <= {"type", "enum", "description", "items",
                                                   "additionalProperties", "properties",
                                                   "required", "uniqueItems", "minItems",
                                                   "maxItems", "prefixItems"}:
        out = {**schema, "type": [kind, "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [schema, {"type": "null"}]}


class SchemaBuilder:
    """Builds JSON schemas for hints; pydantic definitions are collected in ``defs`` (they
    become the parameters' ``$defs``, where pydantic's ``#/$defs/...`` references point)."""

    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def schema(self, tp: Any, where: str) -> dict[str, Any]:
        """The JSON schema of one type hint; ``TypeError`` (naming ``where``) if unsupported."""
        if tp is inspect.Parameter.empty or tp is Any or tp is object:
            return {}
        if tp is None or tp is type(None):
            return {"type": "null"}
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            inner = self.schema(args[0], where)
            text = next((a for a in args[1:] if isinstance(a, str)), None)
            return {**inner, "description": text} if text else inner
        if origin is typing.Literal:
            values = [_json_value(a) for a in args]
            kinds = {_SCALARS.get(type(v)) for v in values if v is not None}
            out: dict[str, Any] = {"enum": values}
            if len(kinds) == 1 and None not in kinds:
                out["type"] = kinds.pop() if None not in values else [kinds.pop(), "null"]
            return out
        if origin in (typing.Union, types.UnionType):
            branches = [a for a in args if a is not type(None)]
            if len(branches) == 1:
                inner = self.schema(branches[0], where)
                return _nullable(inner) if len(branches) < len(args) else inner
            out = {"anyOf": [self.schema(a, where) for a in branches]}
            if len(branches) < len(args):
                out["anyOf"].append({"type": "null"})
            return out
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            values = [_json_value(m.value) for m in tp]
            kinds = {_SCALARS.get(type(v)) for v in values}
            out = {"enum": values}
            if len(kinds) == 1 and None not in kinds:
                out["type"] = kinds.pop()
            return out
        if tp in _SCALARS:
            return {"type": _SCALARS[tp]}
        if _is_typeddict(tp):
            hints = typing.get_type_hints(tp, include_extras=True)
            return {
                "type": "object",
                "properties": {k: self.schema(v, f"{where}.{k}") for k, v in hints.items()},
                "required": [k for k in hints if k in tp.__required_keys__],
                "additionalProperties": False,
            }
        if _pydantic_model(tp):
            schema = dict(tp.model_json_schema())
            self.defs.update(schema.pop("$defs", {}))
            return schema
        kind = origin or tp
        if kind in _ARRAYS:
            return self._array(kind, args, where)
        if kind in _MAPPINGS:
            if args and args[0] is not str:
                raise TypeError(f"{where}: JSON object keys are strings, not {args[0]!r}")
            out = {"type": "object"}
            if len(args) == 2 and args[1] is not Any:
                out["additionalProperties"] = self.schema(args[1], f"{where}[]")
            return out
        raise TypeError(f"{where}: no JSON schema for the type hint {tp!r}")

    def _array(self, kind: Any, args: tuple[Any, ...], where: str) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array"}
        if kind is tuple and args and args[-1] is not Ellipsis:
            items = [self.schema(a, f"{where}[{i}]") for i, a in enumerate(args)]
            out.update(prefixItems=items, minItems=len(items), maxItems=len(items))
            return out
        if args:
            out["items"] = self.schema(args[0], f"{where}[]")
        if kind in _SETS:
            out["uniqueItems"] = True
        return out


def _docstring(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """(summary, {parameter: text}) from the function's docstring, any common style."""
    import docstring_parser

    doc = inspect.getdoc(fn)
    if not doc:
        return "", {}
    parsed = docstring_parser.parse(doc)
    summary = " ".join(p for p in (parsed.short_description, parsed.long_description) if p)
    params = {p.arg_name: " ".join(p.description.split()) for p in parsed.params
              if p.description}
    return " ".join(summary.split()), params


def parameters_schema(fn: Callable[..., Any], docs: Mapping[str, str] | None = None
                      ) -> dict[str, Any]:
    """The ``parameters`` object (a JSON Schema of type ``object``) of ``fn``."""
    signature = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # an unresolvable forward reference
        raise TypeError(f"cannot read the type hints of {fn!r}: {exc}") from exc
    builder = SchemaBuilder()
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, param in signature.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.kind is param.POSITIONAL_ONLY:
            raise TypeError(f"{fn.__name__}: positional-only parameter {name!r} cannot be "
                            "passed by name from JSON")
        schema = builder.schema(hints.get(name, param.annotation), name)
        if docs and docs.get(name) and "description" not in schema:
            schema = {**schema, "description": docs[name]}
        if param.default is param.empty:
            required.append(name)
        else:
            schema = {**schema, "default": _json_value(param.default)}
        properties[name] = schema
    out: dict[str, Any] = {"type": "object", "properties": properties, "required": required,
                           "additionalProperties": False}
    if builder.defs:
        out["$defs"] = builder.defs
    return out


def function_schema(fn: Callable[..., Any], name: str | None = None,
                    description: str | None = None) -> dict[str, Any]:
    """The session ``tools`` entry of ``fn``: ``{"type": "function", "name", "description",
    "parameters"}``. ``name`` defaults to the function's name, ``description`` to the
    docstring's summary."""
    summary, docs = _docstring(fn)
    tool_name = name or getattr(fn, "__name__", None)
    if not tool_name or tool_name == "<lambda>":
        raise TypeError("give the tool a name: conv.tool(fn, name='...')")
    return {"type": "function", "name": tool_name,
            "description": description if description is not None else summary,
            "parameters": parameters_schema(fn, docs)}


# ------------------------------------------------------------------ JSON -> Python
def coerce(tp: Any, value: Any) -> Any:
    """``value`` (decoded JSON) as the hint ``tp`` asks: enum members, pydantic models,
    tuples and sets; anything else is passed as it is (the function sees what was sent)."""
    if tp is inspect.Parameter.empty or tp is Any or value is None:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return coerce(args[0], value)
    if origin in (typing.Union, types.UnionType):
        for branch in (a for a in args if a is not type(None)):
            try:
                return _strict(branch, coerce(branch, value))
            except (TypeError, ValueError):
                continue
        return value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if _pydantic_model(tp):
        return tp.model_validate(value)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    kind = origin or tp
    if kind in _ARRAYS and isinstance(value, list):
        if kind is tuple and args and args[-1] is not Ellipsis:
            return tuple(coerce(a, v) for a, v in zip(args, value, strict=False))
        items = [coerce(args[0], v) for v in value] if args else value
        if kind is tuple:
            return tuple(items)
        if kind in _SETS:
            return kind(items)
        return items
    if _is_typeddict(tp) and isinstance(value, dict):
        hints = typing.get_type_hints(tp)
        return {k: coerce(hints.get(k, Any), v) for k, v in value.items()}
    if kind in _MAPPINGS and len(args) == 2 and isinstance(value, dict):
        return {k: coerce(args[1], v) for k, v in value.items()}
    return value


def _strict(tp: Any, value: Any) -> Any:
    """``value`` if it plainly is a ``tp`` (for picking a union branch), else ``TypeError``."""
    base = typing.get_origin(tp) or tp
    if isinstance(base, type) and not _is_typeddict(base) and not isinstance(value, base):
        if not (base is float and isinstance(value, int)):
            raise TypeError(f"{value!r} is not a {base.__name__}")
    return value


def bind_arguments(fn: Callable[..., Any], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``fn`` from the model's decoded JSON arguments (coerced to the
    hints); ``TypeError`` if they do not fit the signature."""
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(fn, include_extras=True)
    kwargs = {k: coerce(hints.get(k, Any), v) for k, v in arguments.items()}
    signature.bind(**kwargs)  # raises TypeError for a missing or unexpected argument
    return kwargs


def to_json_text(value: Any) -> str:
    """A function's return value as the ``output`` text: ``str`` as is, anything else as JSON
    (enum members by value, dataclasses and pydantic models as objects, sets as lists)."""
    import json

    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if _pydantic_model(type(value)):
        return value.model_dump(mode="json")
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    return str(value)


__all__ = ["bind_arguments", "coerce", "function_schema", "parameters_schema", "to_json_text"]
