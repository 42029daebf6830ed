"""IPython magics: ``%load_ext realtime_nb``, then ``%%rnb`` cells send their body as a message.

``%%rnb [conv] [--role system|user|assistant] [--after ITEM_ID | --root] [--respond]`` sends the
cell's body to ``conv`` (a variable name; default: the most recently connected conversation),
shows the item the server answered with and, with ``--respond``, streams the response into the
cell's output. ``%rnb status`` prints the connection state. Bad flags print a usage message.
"""

from __future__ import annotations

import argparse
import shlex
import time
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display

from .client import RealtimeConversation, last_conversation
from .errors import RealtimeError

_USAGE = (
    "usage: %%rnb [conv] [--role system|user|assistant] [--after ITEM_ID | --root] [--respond]\n"
    "       %rnb status [conv]"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit the kernel's process
        raise ValueError(message)


def _cell_parser() -> _Parser:
    p = _Parser(prog="%%rnb", add_help=False)
    p.add_argument("conv", nargs="?")
    p.add_argument("--role", choices=("system", "user", "assistant"), default="user")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--after", metavar="ITEM_ID")
    where.add_argument("--root", action="store_true")
    p.add_argument("--respond", action="store_true")
    return p


@magics_class
class RealtimeMagics(Magics):
    """The ``%%rnb`` cell magic and the ``%rnb`` line magic."""

    def _conversation(self, name: str | None) -> RealtimeConversation:
        if name is None:
            conv = last_conversation()
            if conv is None:
                raise ValueError("no conversation yet: run conv = realtime_nb.connect() first")
            return conv
        ns = self.shell.user_ns if self.shell is not None else {}
        conv = ns.get(name)
        if not isinstance(conv, RealtimeConversation):
            raise ValueError(f"{name!r} is not a realtime_nb conversation in this notebook")
        return conv

    @cell_magic
    def rnb(self, line: str, cell: str) -> None:
        """Send the cell's body as a message item (see the module docstring)."""
        try:
            args = _cell_parser().parse_args(shlex.split(line))
            conv = self._conversation(args.conv)
        except ValueError as exc:
            print(f"%%rnb: {exc}\n{_USAGE}")
            return
        anchor = "root" if args.root else args.after
        text = cell.rstrip("\n")
        try:
            item = conv.create(role=args.role, text=text, previous_item_id=anchor)
            print(f"{item.id} [{item.role}] {item.status}: {item.text}")
            if args.respond:
                _stream_response(conv)
        except RealtimeError as exc:
            print(f"%%rnb: the server said no: {exc}")

    @line_magic("rnb")
    def rnb_line(self, line: str) -> None:
        """``%rnb status [conv]``: the connection state of a conversation."""
        words = shlex.split(line)
        if not words or words[0] != "status" or len(words) > 2:
            print(_USAGE)
            return
        try:
            conv = self._conversation(words[1] if len(words) == 2 else None)
        except ValueError as exc:
            print(f"%rnb: {exc}")
            return
        reason = conv._core.reason
        extra = f" ({reason})" if reason and conv.status != "open" else ""
        print(f"{conv.endpoint.name}: {conv.status}{extra}; {len(conv)} items, "
              f"{len(conv.log)} events, {len(conv.errors)} errors")


def _stream_response(conv: RealtimeConversation, poll: float = 0.05) -> None:
    """Ask for a response and show its text growing in this cell's output until it is done.

    The cell polls the model from the kernel thread (the session thread keeps receiving), so
    the output updates live without any cross-thread display calls.
    """
    before = {item.id for item in conv.items}
    handle = display({"text/plain": "…"}, raw=True, display_id=True)
    future = conv.respond(wait="future")
    deadline = time.monotonic() + conv.timeout
    shown = ""
    while time.monotonic() < deadline:
        new = [item for item in conv.items if item.id not in before]
        text = "\n".join(f"[{i.role or i.type}] {i.text}" for i in new)
        if text != shown and handle is not None:
            handle.update({"text/plain": text}, raw=True)  # the text itself, not its repr
            shown = text
        if future.done():
            break
        time.sleep(poll)
    if not future.done():
        conv._forget(future)
        print(f"%%rnb: no response.done within {conv.timeout:g}s")
        return
    resp = future.result()
    final = "\n".join(f"[{i.role or i.type}] {i.text}" for i in resp.items)
    if handle is not None:
        handle.update({"text/plain": final}, raw=True)
