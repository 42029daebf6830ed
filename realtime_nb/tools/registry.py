"""A registered tool: a Python function, its declared schema and how it is run."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .schema import bind_arguments, function_schema

#: Default seconds a tool may run before its call gets a timeout output.
DEFAULT_TIMEOUT = 30.0


@dataclass
class Tool:
    """A Python function the model may call.

    ``schema`` is the session ``tools`` entry (``{"type": "function", "name", "description",
    "parameters"}``), ``fn`` the function itself. ``approve=True``: each call waits for
    ``conv.approve(...)`` first. ``timeout`` (seconds, ``None`` for none) bounds one run.
    """

    fn: Callable[..., Any]
    schema: dict[str, Any]
    approve: bool = False
    timeout: float | None = DEFAULT_TIMEOUT
    is_async: bool = field(init=False)

    def __post_init__(self) -> None:
        call = type(self.fn).__call__ if not inspect.isroutine(self.fn) else None
        self.is_async = inspect.iscoroutinefunction(self.fn) or (
            call is not None and inspect.iscoroutinefunction(call))

    @classmethod
    def from_function(cls, fn: Callable[..., Any], *, name: str | None = None,
                      description: str | None = None, approve: bool = False,
                      timeout: float | None = DEFAULT_TIMEOUT) -> Tool:
        if not callable(fn):
            raise TypeError(f"a tool must be a function, got {type(fn).__name__}")
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be a positive number of seconds (or None)")
        return cls(fn, function_schema(fn, name, description), approve, timeout)

    @property
    def name(self) -> str:
        return str(self.schema["name"])

    @property
    def description(self) -> str:
        return str(self.schema.get("description") or "")

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self.schema["parameters"])

    def arguments(self, text: str | None) -> dict[str, Any]:
        """The keyword arguments of a call from its JSON ``arguments`` text (``ValueError``
        for text that is not a JSON object, ``TypeError`` when it does not fit ``fn``)."""
        decoded = json.loads(text) if text and text.strip() else {}
        if not isinstance(decoded, dict):
            raise ValueError(f"arguments must be a JSON object, got {type(decoded).__name__}")
        return bind_arguments(self.fn, decoded)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        flags = " approve" if self.approve else ""
        return f"<Tool {self.name}{flags} timeout={self.timeout}>"


__all__ = ["DEFAULT_TIMEOUT", "Tool"]
