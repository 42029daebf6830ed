"""The sans-I/O core: everything a conversation knows and decides, with no sockets, threads,
asyncio, pandas or widgets. Frames go in (:meth:`connection.Connection.receive`), records and
client events to send come out; :mod:`realtime_nb.session` moves them over a socket.

``items`` (the wire item) and ``validation`` (strict checks of cell input), ``protocol`` (the
dialect table, parsing, client-event builders), ``order`` (one list ordered by item id),
``records`` and ``conversation`` (the model), ``eventlog``, ``waiters`` (calls waiting for
answers), ``resync`` (rebuilding after a reconnect) and ``connection`` (the state machine).
"""
