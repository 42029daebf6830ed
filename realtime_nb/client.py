"""The facade: ``conv = realtime_nb.connect()``, ``realtime_nb.load(path)`` and the
:class:`RealtimeConversation` they return.

A conversation is a live :class:`~realtime_nb.session.Session` (or, once loaded from a file,
the sans-I/O :class:`~realtime_nb.core.connection.Connection` alone). Each method builds a
validated client event (:mod:`realtime_nb.core.protocol`), submits it and waits for the
server's answer with a timeout. Every blocking method has an ``a``-prefixed async twin that
never blocks the caller's event loop; ``wait=False`` sends without waiting (returns ``None``)
and ``wait="future"`` returns the call's ``concurrent.futures.Future``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .audio.mixin import AudioMixin
from .core import protocol
from .core.connection import Callback, Connection
from .core.eventlog import LogEntry
from .core.items import Item
from .core.validation import message
from .core.waiters import Response
from .data.analysis import DataMixin
from .data.branches import BranchMixin
from .data.frame import ItemFrame
from .data.turnsmixin import TurnsMixin
from .endpoints import Endpoint, resolve_endpoint
from .errors import InvalidItemError, RealtimeError
from .session import Session
from .tools.mixin import ToolsMixin
from .waiting import Caller, Wait

if TYPE_CHECKING:
    from os import PathLike

    from .notebook.table import ItemTable
    from .notebook.widget import ConversationWidget
    from .server import EmbeddedServer

DEFAULT_TIMEOUT = 30.0
Source = str | Mapping[str, Any] | None


class RealtimeConversation(AudioMixin, BranchMixin, ToolsMixin, TurnsMixin, DataMixin, Caller):
    """A Realtime conversation: create items, ask for responses, watch every event.

    Thread-safety: server events are applied on the session's own thread; reading ``items``
    from a cell takes a consistent snapshot. Callbacks registered with :meth:`on` run on that
    thread: keep them short, and use :meth:`send` (not the blocking methods) inside them.
    """

    def __init__(self, source: Session | Connection, *, endpoint: Endpoint | None = None,
                 timeout: float = DEFAULT_TIMEOUT, server: EmbeddedServer | None = None) -> None:
        if isinstance(source, Session):
            self._session: Session | None = source
            self._core, self._lock, self.endpoint = source.core, source.lock, source.endpoint
        else:
            self._session, self._core, self._lock = None, source, threading.RLock()
            self.endpoint = endpoint or Endpoint("offline://saved session", source.dialect.name,
                                                 "offline")
        self.timeout = timeout
        self._server = server
        self._widget: Any = None
        self._events: Any = None  # the EventFrame, made on first use of `events`
        self._frame = ItemFrame(self._core, self._lock)
        with self._lock:
            self._attach()

    # ------------------------------------------------------------------ state
    @property
    def status(self) -> str:
        """``connecting`` / ``open`` / ``reconnecting`` / ``closing`` / ``closed`` / ``error``."""
        return self._core.status

    @property
    def items(self) -> list[Item]:
        """Copies of the items in the server's conversation order."""
        with self._lock:
            return [item.copy() for item in self._core.model]

    def item(self, item_id: str) -> Item:
        """One item by id (a copy); ``KeyError`` if the conversation has no such item."""
        with self._lock:
            found = self._core.model.get(item_id)
            if found is None:
                raise KeyError(item_id)
            return found.copy()

    @property
    def errors(self) -> list[RealtimeError]:
        """Every ``error`` event the server sent, oldest first."""
        return list(self._core.errors)

    @property
    def log(self) -> list[LogEntry]:
        """The raw event log (both directions) as dicts; see ``conv.events`` for a DataFrame."""
        return self._core.log.entries()  # parsed outside the lock: receiving goes on

    @property
    def skipped(self) -> int:
        """How many server frames or events could not be applied (logged with the reason)."""
        return self._core.skipped

    @property
    def session_config(self) -> dict[str, Any]:
        """The session configuration from the last ``session.created`` / ``session.updated``."""
        with self._lock:
            return dict(self._core.model.session)

    def __len__(self) -> int:
        return len(self._core.model)

    def __repr__(self) -> str:
        return (f"<RealtimeConversation {self.endpoint.name} status={self.status} "
                f"items={len(self)} events={len(self._core.log)}>")

    # ------------------------------------------------------------------ item calls
    def _create_event(self, item: Source, role: str, text: str | None,
                      previous_item_id: str | None, metadata: dict[str, str] | None,
                      item_id: str | None) -> dict[str, Any]:
        if item is None and text is None:
            raise TypeError("create() needs text, or an item dict")
        if isinstance(item, str):
            if text is not None:
                raise TypeError("give the text once: create('Hello') or create(text='Hello')")
            text, item = item, None
        if item is None:
            if isinstance(text, str) and not text.strip():  # as the widget composer does
                raise InvalidItemError("item.content[0].text", "is empty: write something first")
            built = message(text, role, metadata=metadata)
        elif isinstance(item, Mapping):
            built = dict(item)
            if metadata is not None:
                built["metadata"] = metadata
        else:
            raise TypeError(f"item must be a dict or a string, got {type(item).__name__}")
        if item_id is not None:
            built["id"] = item_id
        built.setdefault("id", protocol.new_item_id())
        return protocol.item_create(built, previous_item_id)

    def create(self, item: Source = None, *, role: str = "user", text: str | None = None,
               previous_item_id: str | None = None, metadata: dict[str, str] | None = None,
               id: str | None = None, wait: Wait = True, timeout: float | None = None) -> Any:
        """Send ``conversation.item.create`` and return the item once the server finalised it.

        ``create("Hello")`` is a user message; ``role=`` picks system or assistant; an item
        dict is sent as it is (after validation). ``previous_item_id="root"`` inserts at the
        top, an item id right after that item, ``None`` appends. The item gets a client id
        (at most 32 characters) unless ``id=`` is given. Raises
        :class:`~realtime_nb.InvalidItemError` before sending anything if the item is wrong,
        :class:`~realtime_nb.RealtimeServerError` if the server rejects it.
        """
        event = self._create_event(item, role, text, previous_item_id, metadata, id)
        return self._call(event, "item_done", event["item"]["id"], timeout, wait)

    async def acreate(self, item: Source = None, *, role: str = "user", text: str | None = None,
                      previous_item_id: str | None = None,
                      metadata: dict[str, str] | None = None, id: str | None = None,
                      timeout: float | None = None) -> Item:
        """Async twin of :meth:`create`."""
        event = self._create_event(item, role, text, previous_item_id, metadata, id)
        return await self._await(event, "item_done", event["item"]["id"], timeout)

    def delete(self, item_id: str, *, wait: Wait = True, timeout: float | None = None) -> Any:
        """``conversation.item.delete``; returns the id once ``conversation.item.deleted`` came."""
        return self._call(protocol.item_delete(item_id), "deleted", item_id, timeout, wait)

    async def adelete(self, item_id: str, *, timeout: float | None = None) -> str:
        return await self._await(protocol.item_delete(item_id), "deleted", item_id, timeout)

    def retrieve(self, item_id: str, *, wait: Wait = True, timeout: float | None = None) -> Any:
        """``conversation.item.retrieve``; returns the merged item from the server's answer."""
        return self._call(protocol.item_retrieve(item_id), "retrieved", item_id, timeout, wait)

    async def aretrieve(self, item_id: str, *, timeout: float | None = None) -> Item:
        return await self._await(protocol.item_retrieve(item_id), "retrieved", item_id, timeout)

    def truncate(self, item_id: str, content_index: int = 0, audio_end_ms: int = 0, *,
                 wait: Wait = True, timeout: float | None = None) -> Any:
        """``conversation.item.truncate``; the item once ``conversation.item.truncated`` came."""
        event = protocol.item_truncate(item_id, content_index, audio_end_ms)
        return self._call(event, "truncated", item_id, timeout, wait)

    async def atruncate(self, item_id: str, content_index: int = 0, audio_end_ms: int = 0, *,
                        timeout: float | None = None) -> Item | None:
        event = protocol.item_truncate(item_id, content_index, audio_end_ms)
        return await self._await(event, "truncated", item_id, timeout)

    # ------------------------------------------------------------------ responses
    def respond(self, response: Mapping[str, Any] | None = None, *, wait: Wait = True,
                timeout: float | None = None, **params: Any) -> Any:
        """``response.create``; returns the :class:`Response` when ``response.done`` arrives.

        Keyword arguments become response parameters (``instructions=...``,
        ``conversation="none"``, ``output_modalities=["text"]``). Interrupting the wait
        (Jupyter's stop button) cancels the response.
        """
        event = protocol.response_create({**(response or {}), **params})
        return self._call(event, "response", None, timeout, wait)

    async def arespond(self, response: Mapping[str, Any] | None = None, *,
                       timeout: float | None = None, **params: Any) -> Response:
        event = protocol.response_create({**(response or {}), **params})
        return await self._await(event, "response", None, timeout)

    def cancel(self, response_id: str | None = None) -> str:
        """``response.cancel`` (fire and forget); returns the client event id."""
        return self.send(protocol.response_cancel(response_id))

    def update_session(self, session: Mapping[str, Any] | None = None, **fields: Any) -> str:
        """``session.update`` (fire and forget; ``session.updated`` arrives as an event).

        GA servers require ``session.type``; it defaults to ``"realtime"`` there.
        """
        merged = self._prepare_session({**(session or {}), **fields})
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
        self._call(clean, None, None, timeout, wait)
        return str(clean["event_id"])

    def on(self, event_type: str, callback: Callback) -> Callback:
        """Call ``callback(event)`` for each server event of this type (GA or beta name), or
        every event with ``"*"``. Returns the callback, so it works as a decorator."""
        with self._lock:
            self._core.callbacks.setdefault(event_type, []).append(callback)
        return callback

    def off(self, event_type: str, callback: Callback | None = None) -> None:
        with self._lock:
            if callback is None:
                self._core.callbacks.pop(event_type, None)
            elif callback in self._core.callbacks.get(event_type, ()):
                self._core.callbacks[event_type].remove(callback)

    # ------------------------------------------------------------------ display
    @property
    def widget(self) -> ConversationWidget:
        """The live, editable list of this conversation (created on first use)."""
        if self._widget is None:
            from .notebook.widget import ConversationWidget

            self._widget = ConversationWidget(self)
        return self._widget

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _open(self, seed: Callable[[Connection], None], connect_kwargs: dict[str, Any]
              ) -> RealtimeConversation:
        if connect_kwargs or self._session is None:
            return _connect(seed, **connect_kwargs)
        session = self._session
        return _open(seed, self.endpoint, self._server, timeout=self.timeout,
                     open_timeout=session.open_timeout, reconnect=session.core.life.reconnect,
                     max_attempts=session.core.max_attempts, backoff=session.backoff)

    def _call_later(self, seconds: float, fn: Callable[[], Any]) -> None:
        """Run ``fn`` soon on the session's thread (a timer thread when not connected)."""
        if self._session is not None:
            self._session.call_later(seconds, fn)
        else:
            timer = threading.Timer(seconds, fn)
            timer.daemon = True
            timer.start()

    def table(self, *, interval: float = 0.5) -> ItemTable:
        """A live table widget of ``df`` that refreshes at most every ``interval`` seconds and
        sends only the rows that changed."""
        from .notebook.table import ItemTable

        return ItemTable(self._frame, self._call_later, interval=interval)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the connection (the conversation, log and items stay readable)."""
        if self._session is not None:
            self._session.close()

    def __enter__(self) -> RealtimeConversation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(provider: str | None = None, *, model: str | None = None, url: str | None = None,
            headers: Mapping[str, str] | None = None, dialect: str | None = None,
            api_key: str | None = None, iam_token: str | None = None,
            folder_id: str | None = None, timeout: float = DEFAULT_TIMEOUT,
            open_timeout: float = 15.0, reconnect: bool = True, max_attempts: int = 8,
            backoff: tuple[float, float] = (0.25, 8.0)) -> RealtimeConversation:
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
    return _open(None, endpoint, server, timeout=timeout, open_timeout=open_timeout,
                 reconnect=reconnect, max_attempts=max_attempts, backoff=backoff)


def _connect(seed: Callable[[Connection], None] | None, **kwargs: Any) -> RealtimeConversation:
    """``connect(**kwargs)`` for a core that ``seed`` fills first (resume, fork)."""
    names = ("provider", "model", "url", "headers", "dialect", "api_key", "iam_token",
             "folder_id")
    endpoint, server = resolve_endpoint(**{k: kwargs.pop(k) for k in names if k in kwargs})
    return _open(seed, endpoint, server, **kwargs)


def _open(seed: Callable[[Connection], None] | None, endpoint: Endpoint,
          server: EmbeddedServer | None, *, timeout: float = DEFAULT_TIMEOUT,
          open_timeout: float = 15.0, reconnect: bool = True, max_attempts: int = 8,
          backoff: tuple[float, float] = (0.25, 8.0)) -> RealtimeConversation:
    session = Session(endpoint, open_timeout=open_timeout, reconnect=reconnect,
                      max_attempts=max_attempts, backoff=backoff)
    conv = RealtimeConversation(session, timeout=timeout, server=server)  # listens from now
    if seed is not None:
        with session.lock:
            seed(session.core)
            last = session.core.model.ids()[-1:]
    session.start()
    if seed is not None and last:
        conv.retrieve(last[0])  # the server answers in order: the replayed history is in
    global _LAST
    _LAST = weakref.ref(conv)
    return conv


def load(path: str | PathLike[str]) -> RealtimeConversation:
    """Rebuild a saved conversation offline: same items, ``df`` and ``events``, no connection
    (its blocking calls raise :class:`~realtime_nb.ConnectionClosedError`)."""
    from .data.saved import read_entries

    head, entries = read_entries(path)
    name = head.get("dialect") if head.get("dialect") in protocol.DIALECT_NAMES else "ga"
    core = Connection.offline(str(name), f"loaded from {Path(path).name}")
    endpoint = Endpoint(f"offline://{head.get('endpoint') or 'saved session'}",
                        core.dialect.name, "offline", head.get("model"))
    conv = RealtimeConversation(core, endpoint=endpoint)
    for entry in entries:
        core.load_entry(entry)
    conv._restore_audio(path)  # the audio saved beside the log (save(path, audio=True))
    return conv


_LAST: weakref.ReferenceType[RealtimeConversation] | None = None


def last_conversation() -> RealtimeConversation | None:
    """The most recently connected conversation still alive (for the ``%%rnb`` magic)."""
    return _LAST() if _LAST is not None else None
