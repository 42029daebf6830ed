"""Python functions as tools of a Realtime conversation: schema (:mod:`.schema`), the
registered :class:`~.registry.Tool`, the :class:`~.runner.ToolRunner` and the facade's part
(:class:`~.mixin.ToolsMixin`)."""

from __future__ import annotations

from .registry import Tool
from .runner import ToolCall
from .schema import function_schema

__all__ = ["Tool", "ToolCall", "function_schema"]
