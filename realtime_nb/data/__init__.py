"""A conversation as data: ``conv.df`` (``frame``, ``framecache``, ``columns``),
``conv.events`` (``eventframe``), saved sessions (``saved``), Parquet (``parquet``) and items as
they reach done (``doneitems``); ``analysis`` is the facade's part that exposes them.
It consumes the core's records and log; it never touches the socket.
"""
