"""The saved-session file: ``conv.save(path)`` writes it, ``realtime_nb.load(path)`` reads it.

File format (UTF-8, one JSON object per line):

* line 1, the header: ``{"format": "realtime_nb.events", "version": 1, "endpoint": ...,
  "provider": ..., "model": ..., "dialect": ..., "saved_at": ..., "entries": N}``.
  ``endpoint`` is the redacted display name (no query string, no credentials); headers and
  keys are never written;
* then one :class:`~realtime_nb.eventlog.LogEntry` per line, in ``seq`` order (audio already
  replaced by its length in the log).

``realtime_nb.load`` (in :mod:`realtime_nb.client`) feeds every entry through
:meth:`Connection.load_entry <realtime_nb.core.connection.Connection.load_entry>` of a core
with no socket, so the same model, ``conv.df`` and ``conv.events`` come back offline.
"""

from __future__ import annotations

import json
import os
import time
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.eventlog import EventLog, LogEntry

if TYPE_CHECKING:
    from ..endpoints import Endpoint

FORMAT = "realtime_nb.events"
VERSION = 1
_ENTRY_KEYS = ("seq", "ts", "direction", "type", "event_id", "item_id", "response_id",
               "error_code", "payload", "note")


def header(endpoint: Endpoint, entries: int) -> dict[str, Any]:
    """The first line of a saved file (nothing secret: the endpoint's redacted name only)."""
    ep = endpoint
    return {
        "format": FORMAT,
        "version": VERSION,
        "endpoint": ep.name,
        "provider": ep.provider,
        "model": ep.model,
        "dialect": ep.dialect,
        "saved_at": time.time(),
        "entries": entries,
    }


def save(log: EventLog, endpoint: Endpoint, path: str | PathLike[str]) -> Path:
    """Write every entry of ``log`` to ``path`` (JSON lines with a header); returns it.

    Safe while the session is live: the log is copied in one step, then parsed and written
    to a temporary file that replaces ``path`` at the end.
    """
    entries = log.entries()  # a consistent copy, parsed without the session lock
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(header(endpoint, len(entries)), ensure_ascii=False) + "\n")
        for entry in entries:
            fh.write(json.dumps(entry, ensure_ascii=False, default=repr) + "\n")
    os.replace(tmp, target)
    return target


def _check_header(line: str, path: str | PathLike[str]) -> dict[str, Any]:
    try:
        head = json.loads(line)
    except ValueError:
        head = None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise ValueError(f"{path} is not a realtime_nb event file (no {FORMAT!r} header)")
    if head.get("version") != VERSION:
        raise ValueError(
            f"{path} has format version {head.get('version')!r}; this realtime_nb reads "
            f"version {VERSION}"
        )
    return head


def read_entries(path: str | PathLike[str]) -> tuple[dict[str, Any], list[LogEntry]]:
    """The header and the log entries of a saved file."""
    entries: list[LogEntry] = []
    with Path(path).open(encoding="utf-8") as fh:
        head = _check_header(fh.readline(), path)
        for lineno, line in enumerate(fh, start=2):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: not JSON ({exc})") from None
            if not isinstance(entry, dict) or any(k not in entry for k in _ENTRY_KEYS):
                raise ValueError(f"{path}:{lineno}: not a log entry")
            if (entry["direction"] not in ("in", "out", "local")
                    or not isinstance(entry["payload"], dict)):
                raise ValueError(f"{path}:{lineno}: bad direction or payload")
            entries.append(entry)  # type: ignore[arg-type]
    return head, entries


__all__ = ["FORMAT", "VERSION", "read_entries", "save"]
