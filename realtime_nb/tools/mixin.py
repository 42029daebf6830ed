"""``conv.tool``: Python functions as tools of a conversation (the facade's tools part).

:class:`ToolsMixin` registers functions (``@conv.tool``), declares them to the server with
``session.update``, keeps them declared beside the tools ``update_session(tools=[...])``
names, and runs the model's calls of them (:mod:`.runner`). ``approve`` / ``deny`` answer the
calls that wait for a person: tools registered with ``approve=True`` and MCP
``mcp_approval_request`` items.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, overload

from ..core import protocol
from ..errors import ConnectionClosedError
from ..parts import Part
from .registry import DEFAULT_TIMEOUT, Tool
from .runner import ToolCall, ToolRunner

F = TypeVar("F", bound=Callable[..., Any])


class _Host:
    """The conversation as the runner sees it (:class:`~.runner.ToolHost`)."""

    def __init__(self, part: ToolsMixin) -> None:
        self.part = part
        self.lock: threading.RLock = part._lock
        self.tools: dict[str, Tool] = part._tools

    @property
    def live(self) -> bool:
        return self.part._session is not None

    def submit_item(self, item: dict[str, Any]) -> None:
        item = {**item, "id": item.get("id") or protocol.new_item_id()}
        self.part._call(protocol.item_create(item), None, None, None, False)

    def submit_response(self) -> Any:
        params = self.part.auto_respond if isinstance(self.part.auto_respond, dict) else {}
        return self.part._call(protocol.response_create(params), "response", None, None,
                               "future")

    def log_local(self, payload: dict[str, Any]) -> None:
        with self.lock:
            self.part._core.log_local(payload)

    def call_later(self, seconds: float, fn: Callable[[], Any]) -> None:
        self.part._call_later(seconds, fn)

    def auto_respond(self) -> bool:
        return bool(self.part.auto_respond)

    def has_output(self, call_id: str) -> bool:
        return any(i.type == "function_call_output" and i.call_id == call_id
                   for i in self.part._core.model)

    def item_of(self, item_id: str) -> Any:
        return self.part._core.model.get(item_id)


class ToolsMixin(Part):
    """``tool``, ``tools``, ``remove_tool``, ``approve``, ``deny``, ``wait_tools``,
    ``tool_calls``, ``pending_approvals`` and ``auto_respond`` (see the module doc)."""

    #: After the calls of one response have their outputs, send ``response.create``:
    #: ``True`` (the default), ``False`` (you ask for the next response yourself), or a dict
    #: of response parameters for it (``{"instructions": ...}``).
    auto_respond: bool | dict[str, Any] = True
    _tools: dict[str, Tool]
    _named_tools: list[dict[str, Any]]
    _tool_runner: ToolRunner

    def _attach(self) -> None:
        super()._attach()
        self._tools = {}
        self._named_tools = []
        self._tool_runner = ToolRunner(_Host(self))
        self._core.record_listeners.add(self._tool_runner.on_records, deltas=False)

    def _carry(self, other: Any) -> None:
        super()._carry(other)
        with self._lock:
            tools = list(self._tools.values())
        if tools:
            with other._lock:
                other._tools.update({t.name: t for t in tools})
            other._declare_tools()

    # ------------------------------------------------------------------ registering
    @overload
    def tool(self, fn: F, /, *, name: str | None = None, description: str | None = None,
             approve: bool = False, timeout: float | None = DEFAULT_TIMEOUT) -> F: ...
    @overload
    def tool(self, fn: None = None, /, *, name: str | None = None,
             description: str | None = None, approve: bool = False,
             timeout: float | None = DEFAULT_TIMEOUT) -> Callable[[F], F]: ...

    def tool(self, fn: Callable[..., Any] | None = None, /, *, name: str | None = None,
             description: str | None = None, approve: bool = False,
             timeout: float | None = DEFAULT_TIMEOUT) -> Any:
        """Register a sync or async function as a tool the model may call; returns it
        unchanged (so ``@conv.tool`` and ``@conv.tool(approve=True, timeout=5)`` work as
        decorators).

        Its JSON schema comes from the signature, type hints and docstring
        (:func:`~realtime_nb.tools.schema.function_schema`); ``name`` and ``description``
        override the function's. The tools are declared at once with ``session.update``.
        When the model calls it, it runs off the receive thread for at most ``timeout``
        seconds (``None``: no limit) and its result goes back as a ``function_call_output``;
        ``approve=True`` waits for :meth:`approve` / :meth:`deny` first. Registering a name
        again replaces the tool.
        """
        if fn is None:
            def register(f: F) -> F:
                return self.tool(f, name=name, description=description, approve=approve,
                                 timeout=timeout)
            return register
        new = Tool.from_function(fn, name=name, description=description, approve=approve,
                                 timeout=timeout)
        with self._lock:
            self._tools[new.name] = new
        self._declare_tools()
        return fn

    @property
    def tools(self) -> dict[str, Tool]:
        """The registered tools by name (each with ``.schema``, ``.fn``, ``.approve``,
        ``.timeout``); a copy of the registry."""
        with self._lock:
            return dict(self._tools)

    def remove_tool(self, name: str) -> Tool:
        """Unregister a tool and declare the rest; returns it (``KeyError`` if unknown)."""
        with self._lock:
            removed = self._tools.pop(name)
        self._declare_tools()
        return removed

    def _declare_tools(self) -> None:
        if self._session is None:
            return  # a loaded conversation: nothing to tell
        fields = self._prepare_session({"tools": list(self._named_tools)})
        if self.endpoint.dialect == "ga":
            fields.setdefault("type", "realtime")
        try:
            self._call(protocol.session_update(fields), None, None, None, False)
        except ConnectionClosedError:
            pass  # closed: the registry still changes, there is no server to tell

    def _prepare_session(self, fields: dict[str, Any]) -> dict[str, Any]:
        fields = super()._prepare_session(fields)
        if "tools" not in fields:
            return fields
        named = [t for t in (fields.get("tools") or [])]
        with self._lock:
            self._named_tools = named
            taken = {t.get("name") for t in named if isinstance(t, dict)}
            registered = [t.schema for n, t in self._tools.items() if n not in taken]
        return {**fields, "tools": [*named, *registered]}

    # ------------------------------------------------------------------ calls and approval
    @property
    def tool_calls(self) -> list[ToolCall]:
        """Every call of a registered tool and every MCP approval request seen, oldest first
        (copies: ``id``, ``kind``, ``name``, ``arguments``, ``status``, ``started_at``,
        ``finished_at``, ``elapsed_s``, ``output``, ``error``)."""
        return self._tool_runner.snapshot()

    @property
    def pending_approvals(self) -> list[ToolCall]:
        """The calls waiting for :meth:`approve` / :meth:`deny`: ``approve=True`` tools and
        MCP ``mcp_approval_request`` items."""
        return [c for c in self._tool_runner.snapshot() if c.status == "waiting"]

    def approve(self, call_id: str, approved: bool = True, reason: str | None = None
                ) -> ToolCall:
        """Answer a call waiting for approval: ``call_id`` is a function call's ``call_id``
        (or its item id) or an ``mcp_approval_request`` item id. Approved, the tool runs;
        denied, its output says the user declined (with ``reason``). An MCP request gets an
        ``mcp_approval_response`` item. Then, as for any call, ``response.create`` follows
        once every call of that response is answered (``auto_respond``). Returns the call's
        new state; ``KeyError`` for an unknown id, ``ValueError`` if it is not waiting."""
        return self._tool_runner.decide(call_id, approved, reason)

    def wait_tools(self, timeout: float | None = None) -> Any:
        """Wait until no tool call runs or waits for approval and the response that followed
        the last batch of calls is done; returns that :class:`~realtime_nb.Response` (``None``
        when none was sent). A cell's way to let the model finish a tool round trip:
        ``conv.respond(); conv.wait_tools()``. Raises ``RealtimeTimeoutError`` after
        ``timeout`` seconds (default: ``conv.timeout``)."""
        import time

        from ..errors import RealtimeTimeoutError

        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            settled, future = self._tool_runner.settled()
            if settled:
                break
            if time.monotonic() > deadline:
                raise RealtimeTimeoutError(f"tool calls still open after {limit:g}s: "
                                           f"{self.pending_approvals or self.tool_calls}")
            time.sleep(0.01)
        if future is None:
            return None
        try:
            return future.result(max(deadline - time.monotonic(), 0.001))
        except TimeoutError:
            raise RealtimeTimeoutError(f"the response after the tool calls did not finish "
                                       f"within {limit:g}s") from None

    def deny(self, call_id: str, reason: str | None = None) -> ToolCall:
        """``approve(call_id, False, reason)``."""
        return self.approve(call_id, False, reason)


__all__ = ["ToolsMixin"]
