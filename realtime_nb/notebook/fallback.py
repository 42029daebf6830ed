"""A static copy of the conversation next to the live widget, for saved notebooks.

A widget output is only a model id: a notebook reopened after its kernel stopped shows "model
not found", and GitHub or nbviewer show nothing of the conversation. So when the widget is
displayed, the cell also gets a second output, a plain transcript (``text/html`` and
``text/plain``) with a ``display_id``, and the kernel keeps it current (at most every
``interval`` seconds after a change) with ``update_display_data``: whenever the notebook is
saved, the transcript in it is the conversation as it was a moment before.

While the live widget is on the page its stylesheet hides the transcript
(``.rnb-static-fallback``, js/src/styles.css); without it (a reopened notebook, GitHub,
nbviewer, nbconvert) the transcript shows. Server content is escaped: it is data, never HTML.
It holds what the widget shows (roles, texts, the endpoint's redacted display name), never a
key or a header.
"""

from __future__ import annotations

import html
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

#: The transcript keeps the last this many items, each clipped to CLIP characters.
TAIL = 60
CLIP = 2000
CLASS = "rnb-static-fallback"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def transcript(rows: list[tuple[str, str]], total: int, title: str) -> dict[str, str]:
    """The mime bundle of a transcript: ``rows`` = (label, text) of the last items."""
    when = time.strftime("%Y-%m-%d %H:%M")
    head = f"{title}: {_plural(total, 'item')} (static copy as of {when}; run the " \
           "notebook to get the live widget)"
    skipped = total - len(rows)
    lines = [head]
    if skipped > 0:
        lines.append(f"… {_plural(skipped, 'earlier item')} not shown")
    cells = []
    for label, text in rows:
        clipped = text if len(text) <= CLIP else text[:CLIP] + f" … ({len(text):,} characters)"
        lines.append(f"[{label}] {clipped}")
        cells.append(f'<tr><th style="text-align:left;vertical-align:top;padding-right:8px">'
                     f'{html.escape(label)}</th><td style="white-space:pre-wrap" dir="auto">'
                     f"{html.escape(clipped)}</td></tr>")
    more = f"<p>… {html.escape(_plural(skipped, 'earlier item'))} not shown</p>" \
        if skipped > 0 else ""
    body = f'<div class="{CLASS}"><p><b>{html.escape(head)}</b></p>{more}' \
           f"<table>{''.join(cells)}</table></div>"
    return {"text/plain": "\n".join(lines), "text/html": body}


class Fallback:
    """Publishes and refreshes the transcript output of one widget.

    ``rows()`` returns (rows, total) under the caller's lock; ``call_later(seconds, fn)``
    runs ``fn`` on the session's thread. Without an IPython kernel nothing is published.
    """

    def __init__(self, rows: Callable[[], tuple[list[tuple[str, str]], int]], title: str,
                 call_later: Callable[[float, Callable[[], Any]], None],
                 interval: float = 2.0) -> None:
        self._rows = rows
        self._title = title
        self._call_later = call_later
        self._interval = interval
        self.display_id = f"rnb-{uuid.uuid4().hex}"
        self._shown = False  # a transcript output exists
        self._last: dict[str, str] | None = None
        self._lock = threading.Lock()
        self._scheduled = False
        self._waiting_cell = False

    def bundle(self) -> dict[str, str]:
        rows, total = self._rows()
        return transcript(rows, total, self._title)

    def after_display(self) -> None:
        """The widget was just displayed: put the transcript after it, once the cell ends
        (so the widget stays the cell's first output)."""
        shell = _shell()
        if shell is None or self._waiting_cell:
            return
        self._waiting_cell = True

        def publish(*_: Any) -> None:
            shell.events.unregister("post_run_cell", publish)
            self._waiting_cell = False
            from IPython.display import display

            self._last = self.bundle()
            display(self._last, raw=True, display_id=self.display_id)
            self._shown = True

        shell.events.register("post_run_cell", publish)

    def changed(self) -> None:
        """The conversation changed: refresh the transcript a little later (once)."""
        if not self._shown:
            return
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        self._call_later(self._interval, self.refresh)

    def refresh(self) -> None:
        with self._lock:
            self._scheduled = False
        if _shell() is None:
            return
        new = self.bundle()
        if self._last is not None and new["text/plain"].split("\n")[1:] == \
                self._last["text/plain"].split("\n")[1:]:
            return  # only the time changed
        self._last = new
        from IPython.display import update_display

        update_display(new, raw=True, display_id=self.display_id)


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    shell = get_ipython()
    return shell if shell is not None and hasattr(shell, "kernel") else None
