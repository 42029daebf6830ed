"""The embedded Realtime server: a real WebSocket server on loopback that answers offline.

``transport`` (sockets, its own thread and loop) drives ``state`` (one connection's
conversation and session, no I/O), which starts ``responses`` (one ``response.create`` as a
sequence of events) planned by the deterministic ``responder``; ``config`` checks
``session.update`` and ``wire`` renders events and items per dialect. ``turns`` (with
``vad``) handles the input audio buffer and turn detection; ``speech`` voices spoken
answers. It imports only :mod:`realtime_nb.core` (items, validation, protocol) and
:mod:`realtime_nb.errors` from the client.
"""

from .transport import EmbeddedServer, default_server

__all__ = ["EmbeddedServer", "default_server"]
