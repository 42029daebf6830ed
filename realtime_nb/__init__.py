"""realtime_nb: a Jupyter widget for Realtime conversation APIs, with an embedded offline server."""

from __future__ import annotations

from .errors import (
    ConnectionClosedError,
    InvalidItemError,
    ProtocolError,
    RealtimeError,
    RealtimeServerError,
    RealtimeTimeoutError,
)
from .items import Item

__version__ = "0.1.0"

__all__ = [
    "ConnectionClosedError",
    "InvalidItemError",
    "Item",
    "ProtocolError",
    "RealtimeError",
    "RealtimeServerError",
    "RealtimeTimeoutError",
    "__version__",
]
