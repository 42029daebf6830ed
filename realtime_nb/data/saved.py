"""Save a conversation's event log as JSON lines and rebuild it offline: ``save`` / ``load``.

File format (UTF-8, one JSON object per line):

* line 1, the header: ``{"format": "realtime_nb.events", "version": 1, "endpoint": ...,
  "provider": ..., "model": ..., "dialect": ..., "saved_at": ..., "entries": N}``.
  ``endpoint`` is the redacted display name (no query string, no credentials); headers and
  keys are never written;
* then one :class:`~realtime_nb.eventlog.LogEntry` per line, in ``seq`` order (audio already
  replaced by its length in the log).

:func:`load` feeds every entry through :meth:`Session.replay <realtime_nb.session.Session.replay>`
of an offline session, so the same model, ``conv.df`` and ``conv.events`` come back with no
connection. The loaded conversation's status is ``closed``: its blocking calls raise
:class:`~realtime_nb.errors.ConnectionClosedError`.
"""

from __future__ import annotations

import json
import os
import time
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .eventlog import LogEntry

if TYPE_CHECKING:
    from .client import RealtimeConversation
    from .session import Session

FORMAT = "realtime_nb.events"
VERSION = 1
_ENTRY_KEYS = ("seq", "ts", "direction", "type", "event_id", "item_id", "response_id",
               "error_code", "payload", "note")


def header(session: Session, entries: int) -> dict[str, Any]:
    """The first line of a saved file (nothing secret: the endpoint's redacted name only)."""
    ep = session.endpoint
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


def save(conv: RealtimeConversation | Session, path: str | PathLike[str]) -> Path:
    """Write every log entry of ``conv`` to ``path`` (JSON lines with a header); returns it.

    Safe while the session is live: the log is copied in one step, then parsed and written
    to a temporary file that replaces ``path`` at the end.
    """
    session: Session = getattr(conv, "_session", conv)  # type: ignore[assignment]
    entries = session.log.entries()  # a consistent copy, parsed without the session lock
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(header(session, len(entries)), ensure_ascii=False) + "\n")
        for entry in entries:
            fh.write(json.dumps(entry, ensure_ascii=False, default=repr) + "\n")
    os.replace(tmp, target)
    return target


def read_header(path: str | PathLike[str]) -> dict[str, Any]:
    """The header of a saved file (raises ``ValueError`` if it is not one)."""
    with Path(path).open(encoding="utf-8") as fh:
        return _check_header(fh.readline(), path)


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


def load(path: str | PathLike[str]) -> RealtimeConversation:
    """Rebuild a saved conversation offline: same items, ``df`` and ``events``, no connection."""
    from .client import RealtimeConversation
    from .session import Session

    head, entries = read_entries(path)
    dialect = head.get("dialect") if head.get("dialect") in ("ga", "beta", "yandex") else "ga"
    session = Session.offline(str(head.get("endpoint") or "saved session"), str(dialect))
    conv = RealtimeConversation(session)
    for entry in entries:
        session.replay(entry)
    return conv


__all__ = ["FORMAT", "VERSION", "load", "read_entries", "read_header", "save"]
