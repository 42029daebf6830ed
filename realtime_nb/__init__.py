"""realtime_nb: a Jupyter widget for Realtime conversation APIs, with an embedded offline server.

``conv = realtime_nb.connect()`` opens a conversation on the embedded loopback server;
``connect("openai")`` and ``connect("yandex")`` talk to the real services with a key from the
environment. Display ``conv`` in JupyterLab to see and edit the conversation live.
"""

from __future__ import annotations

from .audio.clip import AudioClip
from .client import RealtimeConversation, connect, load
from .core.items import Item
from .core.waiters import Response
from .data.parquet import read_parquet, to_parquet_dataset
from .data.prices import PRICE_SOURCES as price_sources
from .data.prices import PRICES as prices
from .data.sessions import read_sessions
from .data.turns import turns_frame
from .errors import (
    ConnectionClosedError,
    InvalidItemError,
    ProtocolError,
    RealtimeError,
    RealtimeServerError,
    RealtimeTimeoutError,
)
from .tools import Tool, ToolCall

__version__ = "0.1.0"


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext realtime_nb``: register the ``%%rnb`` and ``%rnb`` magics."""
    from .magics import RealtimeMagics

    ipython.register_magics(RealtimeMagics)  # type: ignore[attr-defined]


__all__ = [
    "AudioClip",
    "ConnectionClosedError",
    "InvalidItemError",
    "Item",
    "ProtocolError",
    "RealtimeConversation",
    "RealtimeError",
    "RealtimeServerError",
    "RealtimeTimeoutError",
    "Response",
    "Tool",
    "ToolCall",
    "__version__",
    "connect",
    "load",
    "price_sources",
    "prices",
    "read_parquet",
    "read_sessions",
    "to_parquet_dataset",
    "turns_frame",
]
