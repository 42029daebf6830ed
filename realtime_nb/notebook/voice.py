"""The widget's voice, kernel side (js/PROTOCOL.md "Audio"; the browser half is js/src/audio).

Kernel -> browser: the assistant's audio as it streams, in custom messages whose PCM16 rides in
the message's binary buffer (never base64 in the JSON). The first chunk of an item goes out at
once (the player starts ~50 ms later); while the browser holds more than :data:`LEAD_S` of
audio ahead of what it plays, later chunks wait up to :data:`HOLD_S` and go out together, so a
response that arrives faster than it plays costs a few messages, not one per delta. When the
user starts speaking (``input_audio_buffer.speech_started``) the kernel tells the browser to
stop at once (kernel -> browser messages get through even while a cell runs).

Browser -> kernel (handled on the kernel's main thread when it is idle): microphone chunks
(``conv.send_audio``), push-to-talk (clear, then commit and respond), the player's reports
(``conv.playback``: when an item began to play, how much was heard), barge-in (``conv.interrupt``:
cancel and truncate at what was heard, clamped to what was received), hands-free mode
(``update_session(turn_detection=...)``) and the play button's fetch of an item's audio
(``conv.audio``, on a thread of its own: it may wait for the server). If the browser's answer to
a stop does not come within :data:`FALLBACK_S` (a cell is running), the kernel truncates at its
own estimate of the played position.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import RealtimeError, RealtimeServerError
from .messages import message_of

if TYPE_CHECKING:
    from ..core.protocol import ServerEvent
    from ..core.records import Record

#: Keep the browser this many seconds of audio ahead before holding chunks back to batch them.
LEAD_S = 0.5
#: Hold chunks back at most this long.
HOLD_S = 0.25
#: The player's jitter buffer (js/src/audio/player.worklet.ts): it starts 50 ms after the first
#: chunk arrives.
PREBUFFER_S = 0.05
#: Without the browser's report this long after ``speech_started``, truncate at the estimate.
FALLBACK_S = 0.4
#: A push-to-talk shorter than this is dropped (the server refuses to commit less).
MIN_COMMIT_MS = 100
#: The server events the voice acts on (see ``_on_records``).
_HEARD = ("response.output_audio.done", "response.done", "input_audio_buffer.speech_started",
          "session.created", "session.updated")


@dataclass
class _Stream:
    """One assistant item's audio on its way to the browser."""

    rate: int
    sent: int = 0  # samples sent
    pending: bytearray = field(default_factory=bytearray)
    first_sent: float | None = None  # wall time of the first chunk
    scheduled: bool = False
    done: bool = False
    stopped: bool = False  # no more forwarding (barge-in)
    ended: bool = False  # the browser played it to the end
    heard: tuple[int, float] | None = None  # (samples heard, when reported)

    def playing_at(self, when: float) -> bool:
        """Whether the browser may still be playing it at ``when`` (an estimate)."""
        if self.ended or self.first_sent is None:
            return False
        total = (self.sent + len(self.pending) // 2) / self.rate
        return when < self.first_sent + PREBUFFER_S + total + 1.0

    def estimate_ms(self, when: float) -> int:
        """The played position at ``when``: the last report moved on by the time since, else
        the time since the first chunk went out."""
        if self.heard is not None:
            samples, at = self.heard
            return int(samples * 1000 / self.rate + max(0.0, when - at) * 1000)
        assert self.first_sent is not None
        return int(max(0.0, when - self.first_sent - PREBUFFER_S) * 1000)


class Voice:
    """The audio routing of one :class:`~.widget.ConversationWidget`."""

    def __init__(self, widget: Any, conv: Any) -> None:
        self._widget = widget
        self._conv = conv
        self._core, self._lock = conv._core, conv._lock
        self._streams: dict[str, _Stream] = {}
        self._interrupted: set[str] = set()
        self._barge: dict[str, float] = {}  # items stopped by speech_started -> when
        self._ptt_bytes = 0
        self._ptt_down = False
        #: what went each way (tests and benchmarks read them)
        self.audio_messages = 0
        self.audio_bytes = 0
        self.mic_messages = 0
        self.mic_chunks = 0
        self.mic_bytes = 0
        self.interrupts: list[tuple[str, int, str]] = []  # (item, audio_end_ms, why)
        self.speech_started: list[float] = []  # when each speech_started arrived
        self.played: dict[str, dict[str, Any]] = {}  # item -> the browser's last reports

    def attach(self) -> None:
        """Listen (caller holds the conversation lock)."""
        self._conv.on_audio(self._on_delta)
        self._core.record_listeners.add(self._on_records, types=_HEARD)

    # ------------------------------------------------------------------ what views show
    def trait(self) -> dict[str, Any]:
        """The ``voice`` trait: the session's PCM rates and turn detection."""
        rates = self._conv.audio_rates
        turn = self._turn_detection()
        return {"in_rate": rates["input"], "out_rate": rates["output"],
                "mode": "vad" if turn and turn.get("type") else "ptt"}

    def view(self, view: dict[str, Any]) -> dict[str, Any]:
        """An item view with its audio length (``audio_s``) and, when it was truncated, where
        (``audio_cut_ms``). Caller holds the lock."""
        store = self._conv._audio  # AudioMixin's store: no public per-item length yet
        item_id = view.get("id")
        seconds = store.seconds(item_id) if isinstance(item_id, str) else None
        if seconds is not None:
            view["audio_s"] = round(seconds, 4)
        cut = store.truncated.get(item_id)
        if cut is not None:
            view["audio_cut_ms"] = cut
        return view

    def _turn_detection(self) -> dict[str, Any] | None:
        session = self._core.model.session or self._core.session_config or {}
        if self._core.dialect.beta_session:
            turn = session.get("turn_detection")
        else:
            audio = session.get("audio")
            inp = audio.get("input") if isinstance(audio, dict) else None
            turn = inp.get("turn_detection") if isinstance(inp, dict) else None
        return turn if isinstance(turn, dict) else None

    # ------------------------------------------------------------------ kernel -> browser
    def _send(self, content: dict[str, Any], pcm: bytes | None = None) -> None:
        self._widget._push(content, None if pcm is None else [pcm])

    def _on_delta(self, item_id: str, pcm: bytes, rate: int) -> None:
        """``conv.on_audio``: session thread, under the lock."""
        if item_id in self._interrupted:
            return
        s = self._streams.get(item_id)
        if s is None:
            s = self._streams[item_id] = _Stream(rate)
        if s.stopped or s.done:
            return
        s.pending += pcm
        now = time.time()
        lead = self._lead(s, now)
        if lead < LEAD_S:
            self._flush(item_id, s)
        elif not s.scheduled:
            s.scheduled = True
            delay = min(HOLD_S, lead - LEAD_S)
            self._conv._call_later(delay, lambda: self._timer(item_id))

    @staticmethod
    def _lead(s: _Stream, now: float) -> float:
        """Seconds of audio the browser holds beyond what it has played (0 before the first
        chunk)."""
        if s.first_sent is None:
            return 0.0
        return s.sent / s.rate - max(0.0, now - s.first_sent - PREBUFFER_S)

    def _timer(self, item_id: str) -> None:
        with self._lock:
            s = self._streams.get(item_id)
            if s is not None:
                s.scheduled = False
                if not s.stopped:
                    self._flush(item_id, s)

    def _flush(self, item_id: str, s: _Stream) -> None:
        if not s.pending:
            return
        pcm, s.pending = bytes(s.pending), bytearray()
        if s.first_sent is None:
            s.first_sent = time.time()
        self._send({"kind": "audio", "item_id": item_id, "offset": s.sent, "rate": s.rate}, pcm)
        s.sent += len(pcm) // 2
        self.audio_messages += 1
        self.audio_bytes += len(pcm)


    def _finish(self, item_id: str) -> None:
        s = self._streams.get(item_id)
        if s is None or s.done:
            return
        if not s.stopped:
            self._flush(item_id, s)
            self._send({"kind": "audio_done", "item_id": item_id, "samples": s.sent})
        s.done = True

    def _on_records(self, records: list[Record], event: ServerEvent) -> None:
        """The core's record listener: session thread, under the lock."""
        etype = event.type
        if etype == "response.output_audio.done":
            item_id = event.data.get("item_id")
            if isinstance(item_id, str):
                self._finish(item_id)
        elif etype == "response.done":  # a cancelled response may skip output_audio.done
            for item_id, s in list(self._streams.items()):
                if not s.done:
                    self._finish(item_id)
        elif etype == "input_audio_buffer.speech_started":
            self._speech_started(event.received_at)
        elif etype in ("session.created", "session.updated"):
            self._widget.voice = self.trait()

    def _speech_started(self, when: float) -> None:
        """The user speaks: the browser stops at once; a response still running is cancelled
        and its item truncated where the browser says it was heard (or, failing an answer,
        where the kernel estimates it was)."""
        self._send({"kind": "audio_stop", "reason": "speech_started"})
        self.speech_started.append(when)
        playing = [i for i, s in self._streams.items()
                   if i not in self._interrupted and not s.stopped and s.playing_at(when)]
        for item_id in playing:
            self._streams[item_id].stopped = True
            self._barge[item_id] = when
        if playing:
            self._conv._call_later(FALLBACK_S, self._fallback)

    def _fallback(self) -> None:
        with self._lock:
            late = [(i, t) for i, t in self._barge.items() if i not in self._interrupted]
            self._barge.clear()
        for item_id, when in late:
            s = self._streams[item_id]
            self._interrupt(item_id, s.estimate_ms(when), "estimate", self._server_cancels())

    def _server_cancels(self) -> bool:
        """Whether server VAD cancels the running response itself (``interrupt_response``)."""
        turn = self._turn_detection()
        return bool(turn and turn.get("interrupt_response", True))

    def _interrupt(self, item_id: str, heard_ms: int, why: str, server_cancels: bool) -> None:
        with self._lock:
            if item_id in self._interrupted:
                return
            self._interrupted.add(item_id)
            s = self._streams.get(item_id)
            if s is not None:
                s.stopped = True
            held = self._conv._audio.pcm(item_id, full=True)
            received_ms = len(held[0]) * 1000 // (2 * held[1]) if held else 0
            complete = s is not None and s.done
        if complete and heard_ms >= received_ms:
            self._conv.playback(item_id, played_ms=received_ms)  # it was all heard
            return
        try:
            end = self._conv.interrupt(item_id, heard_ms, cancel=not server_cancels)
        except RealtimeError as exc:  # the session closed meanwhile
            self._widget._report(exc, "voice", item_id)
            return
        self.interrupts.append((item_id, end, why))

    # ------------------------------------------------------------------ browser -> kernel
    def handle(self, kind: Any, content: dict[str, Any], buffers: Any) -> bool:
        """A message from the browser; False when it is not about audio."""
        if kind == "mic":
            self._mic(buffers)
        elif kind == "ptt":
            self._ptt(bool(content.get("down")))
        elif kind == "played":
            self._played(content)
        elif kind == "audio_fetch":
            threading.Thread(target=self._fetch, name="realtime_nb-audio-fetch", daemon=True,
                             args=(str(content.get("request_id") or ""),
                                   str(content.get("item_id") or ""))).start()
        elif kind == "voice_mode":
            vad = content.get("mode") == "vad"
            try:
                self._conv.update_session(turn_detection="server_vad" if vad else None)
            except RealtimeError as exc:
                self._widget._report(exc, "voice", None)
        else:
            return False
        return True

    def _mic(self, buffers: Any) -> None:
        chunks = [bytes(b) for b in buffers or ()]
        pcm = b"".join(chunks)
        if not pcm or len(pcm) % 2:
            return
        self.mic_messages += 1
        self.mic_chunks += len(chunks)
        self.mic_bytes += len(pcm)
        if self._ptt_down:
            self._ptt_bytes += len(pcm)
        try:
            self._conv.send_audio(pcm)
        except RealtimeError:
            pass  # the session is closed: the header says so

    def _ptt(self, down: bool) -> None:
        try:
            if down:
                self._ptt_down, self._ptt_bytes = True, 0
                self._conv.clear_audio()
                return
            self._ptt_down = False
            rate = self._conv.audio_rates["input"]
            if self._ptt_bytes * 1000 < MIN_COMMIT_MS * 2 * rate:
                self._conv.clear_audio()
                return
            self._conv.commit_audio(wait=False)
            future = self._conv.respond(wait="future")
        except RealtimeError as exc:
            self._widget._report(exc, "voice", None)
            return

        def done(f: Any) -> None:
            exc = f.exception()
            if exc is not None and not isinstance(exc, RealtimeServerError):  # those come as events
                self._widget._report(exc, "voice", None)

        future.add_done_callback(done)

    def _played(self, c: dict[str, Any]) -> None:
        item_id, event = c.get("item_id"), c.get("event")
        rate = c.get("rate")
        if not isinstance(item_id, str) or not isinstance(rate, int) or rate <= 0:
            return
        self.played.setdefault(item_id, {})[str(event)] = dict(c, at=time.time())
        samples = c.get("samples")
        ms = samples * 1000 // rate if isinstance(samples, int) and samples >= 0 else None
        if event == "started" and isinstance(c.get("started_at"), (int, float)):
            self._conv.playback(item_id, started_at=float(c["started_at"]))
            return
        if ms is None:
            return
        with self._lock:
            s = self._streams.get(item_id)
            if s is not None:
                s.heard = (samples, time.time())
                s.ended = s.ended or event == "ended"
        if event == "stopped" and c.get("barge_in"):
            reason = str(c.get("reason") or "")
            server_cancels = reason == "speech_started" and self._server_cancels()
            self._interrupt(item_id, ms, reason or "browser", server_cancels)
        else:
            self._conv.playback(item_id, played_ms=ms)

    def _fetch(self, request_id: str, item_id: str) -> None:
        """The play button of an item this page holds no audio for (own thread: a retrieve
        waits for the server)."""
        reply: dict[str, Any] = {"kind": "audio_clip", "request_id": request_id,
                                 "item_id": item_id}
        try:
            clip = self._conv.audio(item_id)
        except (KeyError, LookupError, RealtimeError) as exc:
            reply["error"] = f"No audio to play: {message_of(exc)}"
            self._send(reply)
            return
        reply.update(rate=clip.rate, samples=len(clip), truncated_ms=clip.truncated_ms)
        self._send(reply, clip.samples.astype("<i2").tobytes())
