"""The public conversation object: ``conv = realtime_nb.connect()``.

:class:`RealtimeConversation` is a thin facade over a :class:`~realtime_nb.session.Session`:
each method builds a validated client event (:mod:`realtime_nb.protocol`), submits it and waits
for the server's reply with a timeout. Every blocking method has an ``a``-prefixed async twin
that never blocks the caller's event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import protocol
from .doneitems import AsyncDoneItems, DoneItems
from .endpoints import Endpoint, resolve_endpoint
from .errors import RealtimeError, RealtimeTimeoutError
from .eventlog import LogEntry
from .frame import ItemFrame
from .items import Item, message
from .session import Callback, Response, Session

if TYPE_CHECKING:
    from os import PathLike
    from pathlib import Path

    import pandas as pd

    from .server import EmbeddedServer
    from .table import ItemTable
    from .widget import ConversationWidget

DEFAULT_TIMEOUT = 30.0

_WAIT_FOR = {
    "item_done": "conversation.item.done",
    "deleted": "conversation.item.deleted",
    "retrieved": "conversation.item.retrieved",
    "truncated": "conversation.item.truncated",
    "response": "response.done",
}


class RealtimeConversation:
    """A live Realtime conversation: create items, ask for responses, watch every event.

    Thread-safety: server events are applied on the session's own thread; reading ``items``
    from a cell takes a consistent snapshot. Callbacks registered with :meth:`on` run on that
    thread: keep them short, and use :meth:`send` (not the blocking methods) inside them.
    """

    def __init__(
        self,
        session: Session,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        server: EmbeddedServer | None = None,
    ) -> None:
        self._session = session
        self.timeout = timeout
        self._server = server
        self._widget: Any = None
        self._frame = ItemFrame(session)

    # ------------------------------------------------------------------ state
    @property
    def endpoint(self) -> Endpoint:
        return self._session.endpoint

    @property
    def status(self) -> str:
        """``connecting`` / ``open`` / ``closing`` / ``closed`` / ``error``."""
        return self._session.status

    @property
    def items(self) -> list[Item]:
        """Copies of the items in the server's conversation order."""
        with self._session.lock:
            return [item.copy() for item in self._session.model]

    def item(self, item_id: str) -> Item:
        """One item by id (a copy); ``KeyError`` if the conversation has no such item."""
        with self._session.lock:
            found = self._session.model.get(item_id)
            if found is None:
                raise KeyError(item_id)
            return found.copy()

    @property
    def errors(self) -> list[RealtimeError]:
        """Every ``error`` event the server sent, oldest first."""
        return list(self._session.errors)

    @property
    def log(self) -> list[LogEntry]:
        """The raw event log (both directions) as dicts; see ``conv.events`` for a DataFrame."""
        return self._session.log.entries()  # parsed outside the lock: receiving goes on

    @property
    def skipped(self) -> int:
        """How many server frames or events could not be applied (logged with the reason)."""
        return self._session.skipped

    @property
    def session_config(self) -> dict[str, Any]:
        """The session configuration from the last ``session.created`` / ``session.updated``."""
        with self._session.lock:
            return dict(self._session.model.session)

    def __len__(self) -> int:
        return len(self._session.model)

    def __repr__(self) -> str:
        return (
            f"<RealtimeConversation {self.endpoint.name} status={self.status} "
            f"items={len(self)} events={len(self._session.log)}>"
        )

    # ------------------------------------------------------------------ waiting
    def _call(self, event: dict[str, Any], kind: str, key: str | None,
              timeout: float | None) -> Any:
        """Submit and wait; refused (before sending) on the session's own thread."""
        if self._session.in_session_thread:
            raise RealtimeError(
                "a blocking call from a realtime_nb callback would wait forever; "
                "use conv.send(...) (or wait=False) there"
            )
        future = self._session.submit(event, None if kind == "sent" else kind, key)
        return self._wait(future, event, kind, timeout)

    def _wait(self, future: concurrent.futures.Future[Any], event: dict[str, Any], kind: str,
              timeout: float | None) -> Any:
        limit = self.timeout if timeout is None else timeout
        try:
            return future.result(limit)
        except concurrent.futures.TimeoutError:
            self._session.forget(future)
            raise RealtimeTimeoutError(self._timeout_text(event, kind, limit)) from None

    async def _await(self, future: concurrent.futures.Future[Any], event: dict[str, Any],
                     kind: str, timeout: float | None) -> Any:
        limit = self.timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), limit)
        except (asyncio.TimeoutError, TimeoutError):
            self._session.forget(future)
            raise RealtimeTimeoutError(self._timeout_text(event, kind, limit)) from None

    def _timeout_text(self, event: dict[str, Any], kind: str, limit: float) -> str:
        return (
            f"no {_WAIT_FOR.get(kind, kind)} within {limit:g}s for {event['type']} "
            f"(event_id {event['event_id']}); the session is {self.status}"
        )

    # ------------------------------------------------------------------ building events
    def _create_event(
        self,
        item: str | Mapping[str, Any] | None,
        role: str,
        text: str | None,
        previous_item_id: str | None,
        metadata: dict[str, str] | None,
        item_id: str | None,
    ) -> dict[str, Any]:
        if item is None and text is None:
            raise TypeError("create() needs text, or an item dict")
        if isinstance(item, str):
            if text is not None:
                raise TypeError("give the text once: create('Hello') or create(text='Hello')")
            text, item = item, None
        if item is None:
            built = message(text, role, metadata=metadata)
        else:
            if not isinstance(item, Mapping):
                raise TypeError(f"item must be a dict or a string, got {type(item).__name__}")
            built = dict(item)
            if metadata is not None:
                built["metadata"] = metadata
        if item_id is not None:
            built["id"] = item_id
        built.setdefault("id", protocol.new_item_id())
        return protocol.item_create(built, previous_item_id)

    # ------------------------------------------------------------------ item calls
    def create(
        self,
        item: str | Mapping[str, Any] | None = None,
        *,
        role: str = "user",
        text: str | None = None,
        previous_item_id: str | None = None,
        metadata: dict[str, str] | None = None,
        id: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> Item | None:
        """Send ``conversation.item.create`` and return the item once the server finalised it.

        ``create("Hello")`` is a user message; ``role=`` picks system or assistant; an item
        dict is sent as it is (after validation). ``previous_item_id="root"`` inserts at the
        top, an item id right after that item, ``None`` appends. The item gets a client id
        (at most 32 characters) unless ``id=`` is given. Raises
        :class:`~realtime_nb.InvalidItemError` before sending anything if the item is wrong,
        :class:`~realtime_nb.RealtimeServerError` if the server rejects it.
        """
        event = self._create_event(item, role, text, previous_item_id, metadata, id)
        if not wait:
            self._session.submit(event, "item_done", event["item"]["id"])
            return None
        return self._call(event, "item_done", event["item"]["id"], timeout)

    async def acreate(
        self,
        item: str | Mapping[str, Any] | None = None,
        *,
        role: str = "user",
        text: str | None = None,
        previous_item_id: str | None = None,
        metadata: dict[str, str] | None = None,
        id: str | None = None,
        timeout: float | None = None,
    ) -> Item:
        """Async twin of :meth:`create`."""
        event = self._create_event(item, role, text, previous_item_id, metadata, id)
        fut = self._session.submit(event, "item_done", event["item"]["id"])
        return await self._await(fut, event, "item_done", timeout)

    def delete(self, item_id: str, *, timeout: float | None = None) -> str:
        """``conversation.item.delete``; returns the id once ``conversation.item.deleted`` came."""
        event = protocol.item_delete(item_id)
        return self._call(event, "deleted", item_id, timeout)

    async def adelete(self, item_id: str, *, timeout: float | None = None) -> str:
        event = protocol.item_delete(item_id)
        return await self._await(self._session.submit(event, "deleted", item_id), event,
                                 "deleted", timeout)

    def retrieve(self, item_id: str, *, timeout: float | None = None) -> Item:
        """``conversation.item.retrieve``; returns the merged item from the server's answer."""
        event = protocol.item_retrieve(item_id)
        return self._call(event, "retrieved", item_id, timeout)

    async def aretrieve(self, item_id: str, *, timeout: float | None = None) -> Item:
        event = protocol.item_retrieve(item_id)
        return await self._await(self._session.submit(event, "retrieved", item_id), event,
                                 "retrieved", timeout)

    def truncate(self, item_id: str, content_index: int = 0, audio_end_ms: int = 0, *,
                 timeout: float | None = None) -> Item | None:
        """``conversation.item.truncate``; the item once ``conversation.item.truncated`` came."""
        event = protocol.item_truncate(item_id, content_index, audio_end_ms)
        return self._call(event, "truncated", item_id, timeout)

    async def atruncate(self, item_id: str, content_index: int = 0, audio_end_ms: int = 0, *,
                        timeout: float | None = None) -> Item | None:
        event = protocol.item_truncate(item_id, content_index, audio_end_ms)
        return await self._await(self._session.submit(event, "truncated", item_id), event,
                                 "truncated", timeout)

    # ------------------------------------------------------------------ responses
    def respond(self, response: Mapping[str, Any] | None = None, *, wait: bool = True,
                timeout: float | None = None, **params: Any) -> Response | None:
        """``response.create``; returns the :class:`Response` when ``response.done`` arrives.

        Keyword arguments become response parameters (``instructions=...``,
        ``conversation="none"``, ``output_modalities=["text"]``).
        """
        event = protocol.response_create({**(response or {}), **params})
        if not wait:
            self._session.submit(event, "response")
            return None
        return self._call(event, "response", None, timeout)

    async def arespond(self, response: Mapping[str, Any] | None = None, *,
                       timeout: float | None = None, **params: Any) -> Response:
        event = protocol.response_create({**(response or {}), **params})
        return await self._await(self._session.submit(event, "response"), event, "response",
                                 timeout)

    def cancel(self, response_id: str | None = None) -> str:
        """``response.cancel`` (fire and forget); returns the client event id."""
        return self.send(protocol.response_cancel(response_id))

    def update_session(self, session: Mapping[str, Any] | None = None, **fields: Any) -> str:
        """``session.update`` (fire and forget; ``session.updated`` arrives as an event).

        GA servers require ``session.type``; it defaults to ``"realtime"`` there.
        """
        merged = {**(session or {}), **fields}
        if self.endpoint.dialect == "ga":
            merged.setdefault("type", "realtime")
        return self.send(protocol.session_update(merged))

    # ------------------------------------------------------------------ raw events
    def send(self, event: Mapping[str, Any], *, wait: bool = False,
             timeout: float | None = None) -> str:
        """Send any client event (validated when its type is known); returns its ``event_id``.

        Server errors naming this event arrive in :attr:`errors` and ``on("error")``
        callbacks. With ``wait=True`` it returns once the frame is on the wire.
        """
        clean = protocol.validate_client_event(event)
        if wait:
            self._call(clean, "sent", None, timeout)
        else:
            self._session.submit(clean)
        return str(clean["event_id"])

    def on(self, event_type: str, callback: Callback) -> Callback:
        """Call ``callback(event)`` for each server event of this type (GA or beta name), or
        every event with ``"*"``. Returns the callback, so it works as a decorator."""
        self._session.on(event_type, callback)
        return callback

    def off(self, event_type: str, callback: Callback | None = None) -> None:
        self._session.off(event_type, callback)

    # ------------------------------------------------------------------ display
    @property
    def widget(self) -> ConversationWidget:
        """The live, editable list of this conversation (created on first use)."""
        if self._widget is None:
            from .widget import ConversationWidget

            self._widget = ConversationWidget(self._session)
        return self._widget

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # ---- analysis
    _events: Any = None  # the EventFrame, made on first use of `events`

    @property
    def df(self) -> pd.DataFrame:
        """The done items as a DataFrame, one row per item that reached done, in conversation
        order; always current when read (see ``realtime_nb.frame`` and the README's column
        table). Deleted items keep their row with ``deleted=True``:
        ``conv.df[~conv.df.deleted]`` is the live conversation. Each read is a cheap shallow
        copy; editing it never changes the session or the next read."""
        return self._frame.frame()

    @property
    def events(self) -> pd.DataFrame:
        """The event log (both directions) as a DataFrame: ``seq``, ``ts``, ``direction``,
        ``type``, ``event_id``, ``item_id``, ``response_id``, ``error_code``, ``payload``
        (dict, audio replaced by its length) and ``note``."""
        if self._events is None:
            from .events import EventFrame

            self._events = EventFrame(self._session)
        return self._events.frame()

    def save(self, path: str | PathLike[str]) -> Path:
        """Write every logged event to ``path`` as JSON lines; ``realtime_nb.load(path)``
        rebuilds the conversation, ``df`` and ``events`` offline. Returns the path."""
        from .replay import save

        return save(self, path)

    def to_parquet(self, path: str | PathLike[str], *, events: bool = False, **kwargs: Any
                   ) -> Path:
        """Write ``df`` (or ``events`` with ``events=True``) to Parquet so that
        ``realtime_nb.read_parquet(path)`` gives it back with every dtype and object cell."""
        from .parquet import to_parquet

        return to_parquet(self.events if events else self.df, path, **kwargs)

    def table(self, *, interval: float = 0.5) -> ItemTable:
        """A live table widget of ``df`` that refreshes at most every ``interval`` seconds and
        sends only the rows that changed."""
        from .table import ItemTable

        return ItemTable(self._frame, interval=interval)

    def done_items(self, timeout: float | None = None, *, count: int | None = None
                   ) -> DoneItems:
        """Iterate items as they reach done, from this call on (copies).

        Stops quietly when no item lands for ``timeout`` seconds (default: ``conv.timeout``;
        ``math.inf`` waits until the session closes), after ``count`` items, or when the
        session closes. ``for item in conv.done_items(timeout=5): ...``
        """
        return DoneItems(self._frame, self.timeout if timeout is None else timeout, count)

    def adone_items(self, timeout: float | None = None, *, count: int | None = None
                    ) -> AsyncDoneItems:
        """Async twin of :meth:`done_items`: ``async for item in conv.adone_items(): ...``."""
        return AsyncDoneItems(self._frame, self.timeout if timeout is None else timeout, count)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the connection (the conversation, log and items stay readable)."""
        self._session.close()

    def __enter__(self) -> RealtimeConversation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    provider: str | None = None,
    *,
    model: str | None = None,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
    dialect: str | None = None,
    api_key: str | None = None,
    iam_token: str | None = None,
    folder_id: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    open_timeout: float = 15.0,
    reconnect: bool = True,
    max_attempts: int = 8,
    backoff: tuple[float, float] = (0.25, 8.0),
) -> RealtimeConversation:
    """Open a Realtime conversation.

    * ``connect()`` — the embedded offline server on 127.0.0.1 (started on first use);
    * ``connect("openai", model="gpt-realtime")`` — key from ``api_key`` or ``OPENAI_API_KEY``
      (``dialect="beta"`` for the beta protocol);
    * ``connect("yandex")`` — ``YANDEX_API_KEY`` (or ``YANDEX_IAM_TOKEN``) and
      ``YANDEX_FOLDER_ID`` (or a full ``model="gpt://<folder>/..."``);
    * ``connect(url="wss://...", headers={...}, dialect="ga"|"beta"|"yandex")`` — anything else.

    Returns once the server sent ``session.created``. ``timeout`` is the default wait of every
    blocking call on the conversation. When the connection drops, the session reconnects
    (``reconnect=True``, up to ``max_attempts`` tries in a row with exponential backoff from
    ``backoff[0]`` seconds up to ``backoff[1]``, with jitter), replays the conversation into
    the new server session and re-sends what was in flight; a fatal answer (bad key, no
    quota) stops it.
    """
    endpoint, server = resolve_endpoint(
        provider, model=model, url=url, headers=headers, dialect=dialect, api_key=api_key,
        iam_token=iam_token, folder_id=folder_id,
    )
    session = Session(endpoint, open_timeout=open_timeout, reconnect=reconnect,
                      max_attempts=max_attempts, backoff=backoff).start()
    conv = RealtimeConversation(session, timeout=timeout, server=server)
    global _LAST
    _LAST = weakref.ref(conv)
    return conv


_LAST: weakref.ReferenceType[RealtimeConversation] | None = None


def last_conversation() -> RealtimeConversation | None:
    """The most recently connected conversation still alive (for the ``%%rnb`` magic)."""
    return _LAST() if _LAST is not None else None
