"""The saved-session file: ``conv.save(path)`` writes it, ``realtime_nb.load(path)`` and
``realtime_nb.read_sessions(paths)`` read it.

File format (UTF-8, one JSON object per line):

* line 1, the header: ``{"format": "realtime_nb.events", "version": 1, "endpoint": ...,
  "provider": ..., "model": ..., "dialect": ..., "session_id": ..., "saved_at": ...,
  "entries": N}``. ``endpoint`` is the redacted display name (no query string, no
  credentials); headers and keys are never written. ``session_id`` is the server's id of the
  session (``session.id`` of the first ``session.created`` in the log), ``null`` when the
  server sent none; readers use the file's stem then (files written before the field existed
  have no ``session_id`` either: the field is optional, so the version stays 1);
* then one :class:`~realtime_nb.eventlog.LogEntry` per line, in ``seq`` order (audio already
  replaced by its length in the log).

Reading streams the file (:class:`SavedFile`) and names ``file:line`` (1-based, the header is
line 1) of anything it cannot read. A last line without its newline that does not parse is a
file still being written: it is skipped with a :class:`SavedFileWarning`. Any other bad line
raises :class:`ValueError`, or with ``errors="warn"`` is skipped with a warning.

``realtime_nb.load`` (in :mod:`realtime_nb.client`) feeds every entry through
:meth:`Connection.load_entry <realtime_nb.core.connection.Connection.load_entry>` of a core
with no socket, so the same model, ``conv.df`` and ``conv.events`` come back offline.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from os import PathLike
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from ..core.eventlog import EventLog, LogEntry
from ..core.protocol import read_object

if TYPE_CHECKING:
    from ..endpoints import Endpoint

FORMAT = "realtime_nb.events"
VERSION = 1
_ENTRY_KEYS = ("seq", "ts", "direction", "type", "event_id", "item_id", "response_id",
               "error_code", "payload", "note")
_KEYS = frozenset(_ENTRY_KEYS)
_DIRECTIONS = frozenset(("in", "out", "local"))
#: ``"raise"``: a corrupt line raises; ``"warn"``: it is skipped with a warning.
Errors = Literal["raise", "warn"]


class SavedFileWarning(UserWarning):
    """Part of a saved file could not be read and was skipped (the message says where)."""


def session_id_of(entries: Sequence[LogEntry]) -> str | None:
    """The server's session id: ``session.id`` of the first ``session.created`` (a reconnect
    greets again with a new id; the first one names the conversation)."""
    for entry in entries:
        if entry["direction"] == "in" and entry["type"] == "session.created":
            session = entry["payload"].get("session")
            sid = session.get("id") if isinstance(session, dict) else None
            return sid if isinstance(sid, str) and sid else None
    return None


def header(endpoint: Endpoint, entries: int, session_id: str | None = None) -> dict[str, Any]:
    """The first line of a saved file (nothing secret: the endpoint's redacted name only)."""
    ep = endpoint
    return {
        "format": FORMAT,
        "version": VERSION,
        "endpoint": ep.name,
        "provider": ep.provider,
        "model": ep.model,
        "dialect": ep.dialect,
        "session_id": session_id,
        "saved_at": time.time(),
        "entries": entries,
    }


def save(log: EventLog, endpoint: Endpoint, path: str | PathLike[str]) -> Path:
    """Write every entry of ``log`` to ``path`` (JSON lines with a header); returns it.

    Safe while the session is live: the log is copied in one step, then parsed and written
    to a temporary file that replaces ``path`` at the end (a reader never sees half a file
    under the final name).
    """
    entries = log.entries()  # a consistent copy, parsed without the session lock
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    head = header(endpoint, len(entries), session_id_of(entries))
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(head, ensure_ascii=False) + "\n")
        for entry in entries:
            fh.write(json.dumps(entry, ensure_ascii=False, default=repr) + "\n")
    os.replace(tmp, target)
    return target


def _problem(line: bytes) -> str | None:
    """What is wrong with a header line, or None."""
    try:
        head = json.loads(line)
    except ValueError:  # not JSON, or not UTF-8
        head = None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        return f"not a realtime_nb event file (no {FORMAT!r} header)"
    if head.get("version") != VERSION:
        return (f"format version {head.get('version')!r}; this realtime_nb reads "
                f"version {VERSION}")
    return None


def _entry_problem(line: bytes) -> tuple[LogEntry | None, str | None]:
    """The entry of one line, or why it is not one (bytes: a line that is not UTF-8 is one
    bad line, not an error that ends the file)."""
    try:
        entry = read_object(line)  # json.loads semantics, orjson speed
    except Exception as exc:
        text = str(exc).replace("text frame is ", "", 1).replace("frame is ", "", 1)
        return None, text.split("\n", 1)[0]  # "not JSON: ...", "not valid UTF-8 (...)"
    if not _KEYS <= entry.keys():
        return None, "not a log entry"
    if entry["direction"] not in _DIRECTIONS or not isinstance(entry["payload"], dict):
        return None, "bad direction or payload"
    return entry, None  # type: ignore[return-value]


class SavedFile:
    """One saved file, read as a stream: ``header`` at once, entries while iterating.

    ``errors="raise"`` raises :class:`ValueError` naming ``file:line`` on a bad header or a
    corrupt line; ``errors="warn"`` skips them with a :class:`SavedFileWarning` (a bad header
    skips the whole file: no entries). A truncated last line (no newline, does not parse: the
    file is still being written) is skipped with a warning either way. ``skipped`` counts the
    lines skipped so far. Use as a context manager, or exhaust it, to close the file.
    """

    def __init__(self, path: str | PathLike[str], errors: Errors = "raise") -> None:
        if errors not in ("raise", "warn"):
            raise ValueError(f"errors must be 'raise' or 'warn', got {errors!r}")
        self.path = path
        self.errors = errors
        self.skipped = 0
        self._fh: IO[bytes] | None = Path(path).open("rb")
        first = self._fh.readline()
        problem = _problem(first)
        self.header: dict[str, Any] = {} if problem else json.loads(first)
        if problem:
            self._bad(1, problem, whole_file=True)

    @property
    def stem(self) -> str:
        return Path(self.path).stem

    @property
    def session_id(self) -> str:
        """The header's ``session_id``, or the file's stem when it has none."""
        sid = self.header.get("session_id")
        return str(sid) if sid not in (None, "") else self.stem

    def _bad(self, lineno: int, problem: str, *, whole_file: bool = False) -> None:
        where = f"{self.path}:{lineno}"
        if self.errors == "raise":
            self.close()
            raise ValueError(f"{where}: {problem}")
        self.skipped += 1
        what = "file" if whole_file else "line"
        warnings.warn(f"{where}: {problem}; {what} skipped", SavedFileWarning, stacklevel=3)
        if whole_file:
            self.close()

    def __iter__(self) -> Iterator[LogEntry]:
        fh = self._fh
        if fh is None:
            return
        try:
            for lineno, line in enumerate(fh, start=2):
                if not line.strip():
                    continue
                entry, problem = _entry_problem(line)
                if entry is not None:
                    yield entry
                elif not line.endswith(b"\n"):  # the last line, cut short by a writer
                    self.skipped += 1
                    warnings.warn(f"{self.path}:{lineno}: truncated last line skipped (the "
                                  f"file may still be being written)", SavedFileWarning,
                                  stacklevel=2)
                else:
                    self._bad(lineno, problem or "unreadable")
        finally:
            self.close()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> SavedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_entries(path: str | PathLike[str], *, errors: Errors = "raise"
                 ) -> tuple[dict[str, Any], list[LogEntry]]:
    """The header and the log entries of a saved file (see :class:`SavedFile`)."""
    saved = SavedFile(path, errors)
    return saved.header, list(saved)


__all__ = ["FORMAT", "VERSION", "SavedFile", "SavedFileWarning", "read_entries", "save",
           "session_id_of"]
