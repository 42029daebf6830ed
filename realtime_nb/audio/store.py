"""The audio of a conversation, kept as it streamed: :class:`AudioStore`, a record listener.

It keeps three kinds of audio, all PCM16 mono bytes with their rate:

* **output** audio of each assistant item, decoded from ``response.output_audio.delta`` as it
  arrives (the listener gets every event whole, audio included; only the log strips it);
* **input** audio as this client sent it (``conv.send_audio``): one *tape* per conversation
  with the time each chunk was sent. A committed buffer becomes a span of the tape: with
  turn detection the server's ``audio_start_ms`` .. ``audio_end_ms`` (session clock), without
  it everything appended since the last commit or clear;
* **retrieved** audio from ``conversation.item.retrieved`` (items this client never held: made
  by another client, or in a resumed session).

It also notes what the timeline needs: when each item was first seen, when its first audio
arrived, when the player reported it began to play, and where it was truncated. Lengths are
known even without the bytes where the events tell them (truncation, VAD spans, the lengths a
saved log keeps of its deltas), so ``conv.df.audio_s`` is filled for a loaded session too.

Per delta the work is one base64 decode and one append. Every method runs under the
conversation's lock (the listener under the session's, the facade's calls take it).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import collections
import concurrent.futures
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import RealtimeServerError
from .pcm import b64decode, nbytes, session_rate

if TYPE_CHECKING:
    from ..core.connection import Connection
    from ..core.protocol import ServerEvent
    from ..core.records import Record

logger = logging.getLogger("realtime_nb")

#: ``fn(item_id, pcm, rate)`` for each output audio delta, decoded (session thread).
DeltaListener = Callable[[str, bytes, int], None]


class AudioStore:
    """See the module doc. ``core`` gives the session's rates."""

    def __init__(self, core: Connection) -> None:
        self._core = core
        self.out: dict[str, bytearray] = {}  # assistant audio by item, as streamed
        self.out_rate: dict[str, int] = {}
        self.retrieved: dict[str, tuple[bytes, int]] = {}
        self.lengths: dict[str, tuple[int, int]] = {}  # (bytes, rate) known, not held
        self.truncated: dict[str, int] = {}  # item -> audio_end_ms
        self.seen: dict[str, float] = {}  # item -> when it entered the conversation
        self.first_audio: dict[str, float] = {}  # item -> when its first audio arrived
        self.played: dict[str, float] = {}  # item -> when the player began it
        self.played_ms: dict[str, int] = {}  # item -> the last position the player reported
        # input: the tape
        self.tape = bytearray()
        self.tape_rate = 0
        self.marks: list[tuple[int, float]] = []  # (tape offset, time sent) per chunk
        self.origin = 0  # tape offset where the server session's audio clock starts
        self.buffer_start = 0  # tape offset of the server's uncommitted buffer
        self.vad: dict[str, list[int | None]] = {}  # item -> [audio_start_ms, audio_end_ms]
        self.user: dict[str, tuple[int, int]] = {}  # item -> tape span (bytes)
        self.commits: collections.deque[tuple[str, concurrent.futures.Future[str]]] = \
            collections.deque()
        #: committed item id -> the future of the commit that made it (until the item is done)
        self.committing: dict[str, concurrent.futures.Future[str]] = {}
        self.delta_listeners: list[DeltaListener] = []
        self._handlers: dict[str, Callable[[ServerEvent], None]] = {
            "response.output_audio.delta": self._on_delta,
            "conversation.item.added": self._on_item,
            "conversation.item.created": self._on_item,
            "conversation.item.truncated": self._on_truncated,
            "conversation.item.retrieved": self._on_retrieved,
            "input_audio_buffer.speech_started": self._on_speech_started,
            "input_audio_buffer.speech_stopped": self._on_speech_stopped,
            "input_audio_buffer.committed": self._on_committed,
            "session.created": self._on_session_created,
            "error": self._on_error,
        }

    # ------------------------------------------------------------------ rates
    def rate(self, side: str) -> int:
        """The session's PCM16 rate for ``input`` or ``output`` audio: what this client asked
        for with ``session.update`` if it did, else what the server reported."""
        core = self._core
        beta = core.dialect.beta_session
        default = core.dialect.audio_rates[0]
        asked = session_rate(core.session_config, beta, side, 0)
        return asked or session_rate(core.model.session, beta, side, default)

    # ------------------------------------------------------------------ listener
    @property
    def handled(self) -> frozenset[str]:
        """The event types :meth:`on_records` acts on (it listens to these alone)."""
        return frozenset(self._handlers)

    def on_records(self, records: list[Record], event: ServerEvent) -> None:
        """The record listener (first of the core's: the frame reads lengths from here)."""
        handler = self._handlers.get(event.type)
        if handler is not None:
            handler(event)

    def _on_delta(self, event: ServerEvent) -> None:
        data = event.data
        item_id, delta = data.get("item_id"), data.get("delta")
        if not isinstance(item_id, str):
            return
        if item_id not in self.first_audio:
            self.first_audio[item_id] = event.received_at
            self.out_rate[item_id] = self.rate("output")
        if isinstance(delta, int):  # a saved log keeps the length of the base64 text
            held, rate = self.lengths.get(item_id, (0, self.out_rate[item_id]))
            self.lengths[item_id] = (held + delta // 4 * 3, rate)
            return
        if not isinstance(delta, str):
            return
        try:
            pcm = b64decode(delta)
        except (binascii.Error, ValueError):
            logger.warning("audio delta of %s is not base64; skipped", item_id)
            return
        buf = self.out.get(item_id)
        if buf is None:
            buf = self.out[item_id] = bytearray()
        buf += pcm
        for fn in self.delta_listeners:
            try:
                fn(item_id, pcm, self.out_rate[item_id])
            except Exception:
                logger.exception("audio delta listener %r failed", fn)

    def after_records(self, records: list[Record], event: ServerEvent) -> None:
        """The core's last record listener: a commit is answered once its item reached done
        (every other listener, ``conv.df`` included, has seen it)."""
        if self.committing:
            for rec in records:
                item = getattr(rec, "item", None)
                if getattr(rec, "done", False) and item is not None:
                    future = self.committing.pop(item.id, None)
                    if future is not None and not future.done():
                        future.set_result(item.id)

    def _on_item(self, event: ServerEvent) -> None:
        item_id = event.item_id
        if item_id is not None and item_id not in self.seen:
            self.seen[item_id] = event.received_at

    def _on_truncated(self, event: ServerEvent) -> None:
        item_id, end = event.data.get("item_id"), event.data.get("audio_end_ms")
        if isinstance(item_id, str) and isinstance(end, int):
            self.truncated[item_id] = end

    def _on_retrieved(self, event: ServerEvent) -> None:
        item = event.item_data or {}
        item_id = item.get("id")
        for part in item.get("content") or ():
            audio = part.get("audio") if isinstance(part, dict) else None
            if isinstance(item_id, str) and isinstance(audio, str):
                side = "input" if part.get("type") == "input_audio" else "output"
                try:
                    self.retrieved[item_id] = (b64decode(audio), self.rate(side))
                except (binascii.Error, ValueError):
                    logger.warning("retrieved audio of %s is not base64; skipped", item_id)
                return

    def _on_speech_started(self, event: ServerEvent) -> None:
        item_id, ms = event.data.get("item_id"), event.data.get("audio_start_ms")
        if isinstance(item_id, str) and isinstance(ms, int):
            self.vad[item_id] = [ms, None]

    def _on_speech_stopped(self, event: ServerEvent) -> None:
        item_id, ms = event.data.get("item_id"), event.data.get("audio_end_ms")
        if isinstance(item_id, str) and isinstance(ms, int):
            self.vad.setdefault(item_id, [None, None])[1] = ms

    def _on_committed(self, event: ServerEvent) -> None:
        item_id = event.data.get("item_id")
        if not isinstance(item_id, str):
            return
        turn = self.vad.get(item_id)
        end = len(self.tape)
        if turn is not None and turn[0] is not None and turn[1] is not None and self.tape_rate:
            lo = min(end, self.origin + nbytes(turn[0], self.tape_rate))
            hi = min(end, self.origin + nbytes(turn[1], self.tape_rate))
            self.buffer_start = max(self.buffer_start, hi)
        else:
            lo, hi, self.buffer_start = self.buffer_start, end, end
            if self.commits:  # a commit this client asked for: answered once its item is done
                self.committing[item_id] = self.commits.popleft()[1]
        if hi > lo:
            self.user[item_id] = (lo, hi)

    def _on_session_created(self, event: ServerEvent) -> None:
        self.origin = self.buffer_start = len(self.tape)  # a new server session: a new clock

    def _on_error(self, event: ServerEvent) -> None:
        err = event.data.get("error")
        failed = err.get("event_id") if isinstance(err, dict) else None
        for entry in list(self.commits):
            if entry[0] == failed:
                self.commits.remove(entry)
                if not entry[1].done():
                    entry[1].set_exception(RealtimeServerError.from_event(event.data))

    # ------------------------------------------------------------------ input (the facade)
    def sent(self, pcm: bytes, rate: int, when: float) -> None:
        """``pcm`` (at ``rate``) is being appended to the server's buffer now."""
        if rate != self.tape_rate and self.tape:
            logger.warning("the input rate changed from %s to %s Hz; the tape's clock "
                           "assumes one rate", self.tape_rate, rate)
        self.tape_rate = rate
        self.marks.append((len(self.tape), when))
        self.tape += pcm

    def cleared(self) -> None:
        self.buffer_start = len(self.tape)

    def sent_at(self, offset: int) -> float | None:
        """When the tape byte ``offset`` was sent (its chunk's time plus its place in it)."""
        if not self.marks:
            return None
        i = max(0, bisect.bisect_right(self.marks, (offset, float("inf"))) - 1)
        start, when = self.marks[i]
        return when + (offset - start) / (2 * self.tape_rate)

    # ------------------------------------------------------------------ reading
    def pcm(self, item_id: str, *, full: bool = False) -> tuple[bytes, int] | None:
        """The held audio of an item and its rate (cut where it was truncated unless
        ``full``), or ``None`` when this client holds none."""
        if item_id in self.out:
            pcm, rate = bytes(self.out[item_id]), self.out_rate[item_id]
        elif item_id in self.user:
            lo, hi = self.user[item_id]
            pcm, rate = bytes(self.tape[lo:hi]), self.tape_rate
        elif item_id in self.retrieved:
            return self.retrieved[item_id]
        else:
            return None
        cut = self.truncated.get(item_id)
        if cut is not None and not full:
            pcm = pcm[: nbytes(cut, rate)]
        return pcm, rate

    def seconds(self, item_id: str) -> float | None:
        """Seconds of audio in the item as far as this client knows (``None``: no audio
        known). Read by ``conv.df``'s ``audio_s`` column."""
        cut = self.truncated.get(item_id)
        held = self._held(item_id)
        if held is not None:
            return held[0] / (2 * held[1])
        known = self.lengths.get(item_id)
        if known is not None:
            seconds = known[0] / (2 * known[1])
            return seconds if cut is None else min(seconds, cut / 1000)
        if cut is not None:
            return cut / 1000
        turn = self.vad.get(item_id)
        if turn is not None and turn[0] is not None and turn[1] is not None:
            return max(0, turn[1] - turn[0]) / 1000
        return None

    def _held(self, item_id: str) -> tuple[int, int] | None:
        """``(bytes, rate)`` of the held audio as :meth:`pcm` gives it, without copying."""
        if item_id in self.out:
            size, rate = len(self.out[item_id]), self.out_rate[item_id]
        elif item_id in self.user:
            lo, hi = self.user[item_id]
            size, rate = hi - lo, self.tape_rate
        elif item_id in self.retrieved:
            return len(self.retrieved[item_id][0]), self.retrieved[item_id][1]
        else:
            return None
        cut = self.truncated.get(item_id)
        return (size if cut is None else min(size, nbytes(cut, rate))), rate

    def replay_audio(self, item_id: str) -> str | None:
        """A user item's audio as a reconnect replays it (base64 PCM16), when this client holds
        it at the session's current input rate; ``None``: it goes back as its transcript."""
        if item_id not in self.user or self.tape_rate != self.rate("input"):
            return None
        lo, hi = self.user[item_id]
        return base64.b64encode(bytes(self.tape[lo:hi])).decode("ascii")

    def holds(self, item_id: str) -> bool:
        return item_id in self.out or item_id in self.user or item_id in self.retrieved
