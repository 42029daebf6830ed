"""A Jupyter Server extension: kernel messages reach the browser without Nagle's delay.

Jupyter Server's kernel WebSocket leaves Nagle's algorithm on. When the server writes a small
frame while an earlier one is not yet acknowledged, the kernel holds it back until the ACK
comes, and the browser delays its ACK by up to 40 ms (Linux). A widget that streams (the
microphone's messages in, their busy/idle replies and the assistant's audio out) keeps small
frames in flight, so a message like "stop playback, the user is speaking" waited 40-60 ms
between Jupyter Server and the page (measured: ``bench.bench_audio``, 2 cores, Chromium);
with ``TCP_NODELAY`` it arrives in a few ms. Tornado documents the same interaction and the
same cure (``WebSocketHandler.set_nodelay``).

A separate top-level package so that Jupyter Server loads a few lines, not realtime_nb and
pandas. Installed with realtime_nb and enabled by
``etc/jupyter/jupyter_server_config.d/realtime_nb_serverext.json``; disable it with
``jupyter server extension disable realtime_nb_serverext``.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

#: Set on a connection class this extension made, so loading twice does not wrap twice.
MARK = "_realtime_nb_nodelay"


def nodelay_connection(base: type) -> type:
    """``base`` (the server's kernel WebSocket connection class), turning Nagle off on its
    WebSocket when it connects."""
    if getattr(base, MARK, False):
        return base

    async def connect(self: Any) -> Any:
        with contextlib.suppress(Exception):  # a handler without a stream: nothing to tune
            self.websocket_handler.set_nodelay(True)
        result = super(cls, self).connect()
        return await result if inspect.isawaitable(result) else result

    cls = type(f"NoDelay{base.__name__}", (base,), {
        "connect": connect, MARK: True, "__module__": __name__,
        "__doc__": f"{base.__name__} with TCP_NODELAY on its WebSocket (realtime_nb).",
    })
    return cls


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "realtime_nb_serverext"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    settings = serverapp.web_app.settings
    base = settings.get("kernel_websocket_connection_class")
    if base is None:
        serverapp.log.warning("realtime_nb_serverext: no kernel WebSocket connection class")
        return
    settings["kernel_websocket_connection_class"] = nodelay_connection(base)
    serverapp.log.info("realtime_nb_serverext: kernel WebSockets send without Nagle's delay")


__all__ = ["nodelay_connection"]
