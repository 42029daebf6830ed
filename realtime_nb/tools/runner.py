"""Running the model's calls of registered tools, off the session's receive thread.

:class:`ToolRunner` listens to the core's records (on the session thread, under the
conversation lock) and only dispatches there:

* a ``function_call`` item of a registered tool that reaches done (``completed``, made by a
  response) becomes a :class:`ToolCall`: it runs at once on its own daemon thread (an
  ``async`` function on the runner's own event loop thread), or waits for ``conv.approve(...)`` when
  the tool was registered with ``approve=True``. An ``mcp_approval_request`` item waits the
  same way;
* each run is bounded by the tool's timeout; its return value (JSON, ``str`` as is), an
  exception or the timeout becomes a ``function_call_output`` item;
* once every call of one response has its output and that response is done, one
  ``response.create`` follows (``auto_respond``), so calls the model made in parallel are
  answered together. A response that also called a name nobody registered is left to the
  user (no ``response.create``: its output is still missing).

Every step is logged as a ``local`` event-log entry of type ``realtime_nb.tool`` (statuses
``waiting``, ``approved``, ``denied``, ``running``, ``completed``, ``failed``, ``timeout``), so
the widget, ``conv.events``, the timeline and a saved file all see tool runs; failures are
also logged with Python's ``logging`` (logger ``realtime_nb.tools``).

Locking: everything here runs under the conversation's lock (the session lock, an RLock),
the lock the record listeners already hold, so there is a single lock and no ordering to
get wrong. Nothing blocks while holding it: client events are only queued.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .registry import Tool
from .schema import to_json_text

if TYPE_CHECKING:
    from ..core.records import Record

logger = logging.getLogger("realtime_nb.tools")

ToolStatus = Literal["waiting", "running", "completed", "failed", "timeout", "denied",
                     "approved", "dropped"]
#: Statuses after which a call has its answer (``dropped``: its response was lost with the
#: connection and asked for again; nothing is sent for it).
FINAL = frozenset({"completed", "failed", "timeout", "denied", "approved", "dropped"})
#: At most this many characters of an output go into the ``realtime_nb.tool`` log entry.
LOGGED_OUTPUT = 2000


@dataclass
class ToolCall:
    """One call the model made, as the runner knows it (the widget reads these).

    ``kind`` is ``function`` (a registered Python tool; ``id`` is its ``call_id``) or ``mcp``
    (an ``mcp_approval_request``; ``id`` is the item id). ``status``: ``waiting`` (for
    approval), ``running``, then ``completed``, ``failed``, ``timeout`` or ``denied``; an
    MCP request ends ``approved`` or ``denied``. Times are epoch seconds.
    """

    id: str
    kind: Literal["function", "mcp"]
    name: str
    arguments: str
    item_id: str
    response_id: str | None
    status: ToolStatus
    approve: bool = False
    server_label: str | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    output: str | None = None
    error: str | None = None

    @property
    def elapsed_s(self) -> float | None:
        """Seconds the run took (so far, while running); ``None`` before it started."""
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at


@dataclass
class _Batch:
    """The calls of one response: answered together with one ``response.create``."""

    calls: set[str] = field(default_factory=set)
    answered: set[str] = field(default_factory=set)
    done: bool = False
    status: str | None = None
    blocked: bool = False  # the response also called a name that is not registered
    responded: bool = False
    follow_up: Any = None  # the future of the response.create sent for the batch


class ToolHost:
    """What the runner needs of the conversation (the facade's part provides it)."""

    lock: threading.RLock
    tools: dict[str, Tool]
    live: bool

    def submit_item(self, item: dict[str, Any]) -> None: ...
    def submit_response(self) -> Any: ...
    def log_local(self, payload: dict[str, Any]) -> None: ...
    def call_later(self, seconds: float, fn: Callable[[], Any]) -> None: ...
    def auto_respond(self) -> bool: ...
    def has_output(self, call_id: str) -> bool: ...
    def item_of(self, item_id: str) -> Any: ...


class ToolRunner:
    """Runs registered tools for one conversation (see the module doc)."""

    def __init__(self, host: ToolHost) -> None:
        self.host = host
        self.calls: dict[str, ToolCall] = {}  # id -> call, in arrival order
        self._batches: dict[str, _Batch] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ records (session thread)
    def on_records(self, records: list[Record], event: Any) -> None:
        """Record listener: dispatch done tool calls and finished responses (quickly)."""
        if not self.host.live:
            return  # a loaded conversation replays its log: nothing runs again
        for rec in records:
            kind = rec.kind
            if kind == "removed" and rec.event_type == "realtime_nb.resync":  # type: ignore[union-attr]
                self._dropped(rec.item.id, rec.response_id)  # type: ignore[union-attr]
            elif kind == "response_done":
                self._response_done(rec.response_id, rec.status, rec.item_ids)  # type: ignore[union-attr]
            elif kind != "skipped" and rec.done:  # type: ignore[union-attr]
                item = rec.item  # type: ignore[union-attr]
                if item.type == "function_call" or item.type == "mcp_approval_request":
                    self._item_done(item, rec.response_id)  # type: ignore[union-attr]

    def _item_done(self, item: Any, response_id: str | None) -> None:
        if item.type == "mcp_approval_request":
            if item.id in self.calls:
                return
            call = ToolCall(item.id, "mcp", item.name or "", item.arguments or "", item.id,
                            response_id, "waiting", True,
                            server_label=item.extra.get("server_label"))
            self._add(call)
            self._log(call, "waiting")
            return
        tool = self.host.tools.get(item.name or "")
        if (tool is None or response_id is None or item.status != "completed"
                or not item.call_id or item.call_id in self.calls
                or self.host.has_output(item.call_id)):
            return  # not ours: an unregistered name, a seeded or unfinished call, or answered
        call = ToolCall(item.call_id, "function", tool.name, item.arguments or "", item.id,
                        response_id, "waiting" if tool.approve else "running", tool.approve)
        self._add(call)
        if tool.approve:
            self._log(call, "waiting")
        else:
            self._start(call, tool)

    def _dropped(self, item_id: str, response_id: str | None) -> None:
        """A lost connection took the call's response away (it is asked again): the batch is
        gone, and a run still going is not answered into the new server session."""
        self._batches.pop(response_id or "", None)
        for call in self.calls.values():
            if call.item_id == item_id and call.status not in FINAL:
                call.status, call.finished_at = "dropped", time.time()
                self._log(call, "dropped")

    def _add(self, call: ToolCall) -> None:
        self.calls[call.id] = call
        if call.response_id is not None:
            self._batches.setdefault(call.response_id, _Batch()).calls.add(call.id)

    def _response_done(self, response_id: str, status: str | None, item_ids: tuple[str, ...]
                       ) -> None:
        batch = self._batches.setdefault(response_id, _Batch())
        batch.done, batch.status = True, status
        for item_id in item_ids:
            item = self.host.item_of(item_id)
            if (item is not None and item.type == "function_call"
                    and (item.name or "") not in self.host.tools):
                batch.blocked = True
        self._continue(response_id)

    # ------------------------------------------------------------------ running
    def _start(self, call: ToolCall, tool: Tool) -> None:
        call.status, call.started_at = "running", time.time()
        self._log(call, "running")
        try:
            kwargs = tool.arguments(call.arguments)
        except (ValueError, TypeError) as exc:
            self._finish(call, error=exc)
            return
        if tool.is_async:
            loop = self._event_loop()
            future: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(
                tool.fn(**kwargs), loop)
        else:
            future = _in_thread(tool.fn, kwargs, f"rnb-tool-{tool.name}")
        future.add_done_callback(lambda f: self._settle(call, f))
        if tool.timeout is not None:
            self.host.call_later(tool.timeout, lambda: self._time_out(call, future, tool))

    def _settle(self, call: ToolCall, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():
            return  # cancelled by the timeout, which already answered
        exc = future.exception()
        with self.host.lock:
            if exc is not None:
                self._finish(call, error=exc)
            else:
                try:
                    text = to_json_text(future.result())
                except Exception as err:  # the value cannot be written as JSON
                    self._finish(call, error=err)
                else:
                    self._finish(call, output=text)

    def _time_out(self, call: ToolCall, future: concurrent.futures.Future[Any], tool: Tool
                  ) -> None:
        with self.host.lock:
            if call.status != "running":
                return
            future.cancel()  # an async run stops; a thread cannot be stopped, its result is ignored
            self._finish(call, error=TimeoutError(
                f"{tool.name} did not finish within {tool.timeout:g} s"), status="timeout")

    def _finish(self, call: ToolCall, *, output: str | None = None,
                error: BaseException | None = None, status: ToolStatus | None = None) -> None:
        """Answer a call once: its output item, its log entry, then maybe the response."""
        with self.host.lock:
            if call.status in FINAL:
                return
            call.finished_at = time.time()
            if error is not None:
                call.status = status or "failed"
                call.error = f"{type(error).__name__}: {error}"
                output = json.dumps({"error": {"type": type(error).__name__,
                                               "message": str(error)}}, ensure_ascii=False)
                logger.warning("tool %s (call %s) %s: %s", call.name, call.id,
                               "timed out" if call.status == "timeout" else "raised",
                               call.error, exc_info=error if call.status == "failed" else None)
            else:
                call.status = status or "completed"
            call.output = output
            self._send_output(call)
            self._log(call, call.status)
            if call.response_id is not None:
                self._batches.setdefault(call.response_id, _Batch()).answered.add(call.id)
                self._continue(call.response_id)

    def _send_output(self, call: ToolCall) -> None:
        if not self.host.live:
            return
        if call.kind == "function" and self.host.item_of(call.item_id) is None:
            # its response was dropped with a lost connection (and asked again): the new
            # server session never saw this call, so its output would only be refused
            logger.info("tool %s (call %s) finished after its call left the conversation",
                        call.name, call.id)
            return
        try:
            self.host.submit_item({"type": "function_call_output", "call_id": call.id,
                                   "output": call.output or ""})
        except Exception:  # the connection closed meanwhile
            logger.warning("could not send the output of tool %s (call %s)", call.name,
                           call.id, exc_info=True)

    def _continue(self, response_id: str) -> None:
        batch = self._batches.get(response_id)
        if (batch is None or not batch.done or batch.responded or batch.blocked
                or not batch.calls or not batch.calls <= batch.answered):
            return
        batch.responded = True
        if batch.status == "completed" and self.host.auto_respond() and self.host.live:
            try:
                batch.follow_up = self.host.submit_response()
            except Exception:
                logger.warning("could not ask for the response after tool calls",
                               exc_info=True)

    # ------------------------------------------------------------------ approval
    def decide(self, call_id: str, approved: bool, reason: str | None) -> ToolCall:
        """Approve or deny a waiting call (a function call id, its item id, or an MCP
        approval request's item id)."""
        with self.host.lock:
            call = self.calls.get(call_id) or next(
                (c for c in self.calls.values() if c.item_id == call_id), None)
            if call is None:
                raise KeyError(f"no tool call {call_id!r} is known to this conversation")
            if call.status != "waiting":
                raise ValueError(f"tool call {call_id!r} is {call.status}, not waiting for "
                                 "approval")
            if call.kind == "mcp":
                self._answer_mcp(call, approved, reason)
            elif approved:
                self._log(call, "approved", reason=reason)
                tool = self.host.tools.get(call.name)
                if tool is None:
                    self._finish(call, error=LookupError(f"tool {call.name} was removed"))
                else:
                    self._start(call, tool)
            else:
                text = f"The user declined to run {call.name}" + (f": {reason}" if reason
                                                                    else ".")
                call.error = text
                self._finish(call, output=json.dumps({"declined": True, "message": text},
                                                     ensure_ascii=False), status="denied")
            return copy.copy(call)

    def _answer_mcp(self, call: ToolCall, approved: bool, reason: str | None) -> None:
        from ..core.protocol import new_item_id

        item: dict[str, Any] = {"type": "mcp_approval_response", "id": new_item_id(),
                                "approval_request_id": call.item_id, "approve": approved}
        if reason:
            item["reason"] = reason
        call.status = "approved" if approved else "denied"
        call.finished_at = time.time()
        call.output = reason
        if self.host.live:
            self.host.submit_item(item)
        self._log(call, call.status, reason=reason)
        if call.response_id is not None:
            self._batches.setdefault(call.response_id, _Batch()).answered.add(call.id)
            self._continue(call.response_id)

    # ------------------------------------------------------------------ state for readers
    def settled(self) -> tuple[bool, Any]:
        """(no call runs or waits for approval and every batch is answered, the future of
        the newest follow-up response)."""
        with self.host.lock:
            busy = any(c.status in ("running", "waiting") for c in self.calls.values())
            open_batch = any(b.calls and not b.responded and not b.blocked and
                             b.status in (None, "completed") for b in self._batches.values())
            futures = [b.follow_up for b in self._batches.values() if b.follow_up is not None]
            return not busy and not open_batch, futures[-1] if futures else None

    def snapshot(self) -> list[ToolCall]:
        with self.host.lock:
            return [copy.copy(c) for c in self.calls.values()]

    def _log(self, call: ToolCall, status: str, **extra: Any) -> None:
        payload: dict[str, Any] = {
            "type": "realtime_nb.tool", "status": status, "kind": call.kind, "name": call.name,
            "call_id": call.id, "item_id": call.item_id, "response_id": call.response_id,
        }
        if status in FINAL and call.started_at is not None:
            payload["elapsed_s"] = round(call.elapsed_s or 0.0, 6)
        if status in ("completed", "failed", "timeout", "denied") and call.output is not None:
            payload["output"] = call.output[:LOGGED_OUTPUT]
        if call.error and status in ("failed", "timeout"):
            payload["error"] = call.error
        payload.update({k: v for k, v in extra.items() if v is not None})
        with self.host.lock:
            self.host.log_local(payload)

    # ------------------------------------------------------------------ executors
    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="rnb-tool-loop",
                             daemon=True).start()
            self._loop = loop
        return self._loop

    def close(self) -> None:
        """Stop the async tools' loop (running threads finish on their own)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop = None


def _in_thread(fn: Callable[..., Any], kwargs: dict[str, Any], name: str
               ) -> concurrent.futures.Future[Any]:
    """Run ``fn(**kwargs)`` on a new daemon thread: calls are few, each gets its own thread
    (parallel calls run in parallel), and a tool that hangs past its timeout can never keep
    the kernel from exiting, as a pool's non-daemon worker would."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = fn(**kwargs)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


__all__ = ["FINAL", "ToolCall", "ToolHost", "ToolRunner"]
