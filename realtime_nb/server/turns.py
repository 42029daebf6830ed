"""The embedded server's input audio: ``input_audio_buffer.append / commit / clear``, turn
detection and the user items a committed buffer becomes.

:class:`InputAudio` is a part of :class:`~.state.ConnectionState` (its ``_on_input_audio_*``
handlers). With ``turn_detection`` on (``server_vad``, or ``semantic_vad`` served by the same
energy detector, :mod:`.vad`), every append is listened to: ``speech_started`` (its
``audio_start_ms`` is the onset minus ``prefix_padding_ms``, never before the buffer's start;
``interrupt_response`` cancels the running response with reason ``turn_detected``), then
``speech_stopped`` (``audio_end_ms``: where ``silence_duration_ms`` of silence ended), the
automatic commit of exactly that span, and with ``create_response`` a response. Without turn
detection the client commits by hand (at least 100 ms). When the session asks for input
transcription, the committed item's transcript follows as ``...input_audio_transcription``
events; offline it is a description of the audio ("(1.4 s of speech)"), not recognition.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from .config import audio_rate, transcription, turn_detection
from .responses import ResponseRun
from .vad import InputBuffer
from .wire import RequestError, random_id, server_event

MIN_COMMIT_MS = 100


@dataclass
class Outcome:
    """What one client frame leads to: events to send now, a response to start or cancel."""

    events: list[dict[str, Any]] = field(default_factory=list)
    start: ResponseRun | None = None
    cancel: ResponseRun | None = None



class InputAudio:
    """The input-audio handlers of a connection's state (see the module doc)."""

    dialect: str
    session: dict[str, Any]
    input: InputBuffer
    rates: dict[str, int]
    active: dict[str, ResponseRun]

    def insert(self, item: dict[str, Any], after: str | None = None, *, at_end: bool = True
               ) -> str | None:
        raise NotImplementedError

    def item_events(self, item: dict[str, Any], previous: str | None, *, done: bool = True
                    ) -> list[dict[str, Any]]:
        raise NotImplementedError

    # ------------------------------------------------------------------ audio buffer
    def _on_input_audio_buffer_append(self, event: dict[str, Any]) -> Outcome:
        try:
            raw = base64.b64decode(event["audio"], validate=True)
        except (binascii.Error, ValueError):
            raise RequestError("Invalid 'audio': expected base64-encoded audio.",
                               param="audio") from None
        turn = turn_detection(self.session, self.dialect)
        self.input.configure(audio_rate(self.session, self.dialect, "input"), turn)
        out = Outcome()
        for found in self.input.append(raw):
            if turn is None:
                break
            if found.kind == "started":
                self._speech_started(found.ms, turn, out)
            elif self.input.speech is not None:
                self._speech_stopped(found.ms, turn, out)
        return out

    def _speech_started(self, onset_ms: int, turn: dict[str, Any], out: Outcome) -> None:
        start = max(self.input.start_ms, onset_ms - int(turn.get("prefix_padding_ms") or 0))
        item_id = random_id("item_")
        self.input.speech = (start, item_id)
        out.events.append(server_event("input_audio_buffer.speech_started",
                                       audio_start_ms=start, item_id=item_id))
        running = next((r for r in self.active.values()
                        if r.in_conversation and not r.cancelled), None)
        if running is not None and turn.get("interrupt_response"):
            running.cancelled, running.cancel_reason = True, "turn_detected"
            out.cancel = running

    def _speech_stopped(self, end_ms: int, turn: dict[str, Any], out: Outcome) -> None:
        start, item_id = self.input.speech  # type: ignore[misc]
        out.events.append(server_event("input_audio_buffer.speech_stopped",
                                       audio_end_ms=end_ms, item_id=item_id))
        out.events += self._commit(self.input.take(start, end_ms), item_id)
        busy = any(r.in_conversation and not r.cancelled for r in self.active.values())
        if turn.get("create_response") and not busy and out.start is None:
            run = ResponseRun(self, {})
            self.active[run.id] = run
            self.rates[run.item["id"]] = run.rate
            out.start = run

    def _on_input_audio_buffer_commit(self, event: dict[str, Any]) -> Outcome:
        ms = len(self.input.buffer) * 1000 / (2 * self.input.rate)
        if ms < MIN_COMMIT_MS:
            raise RequestError(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty")
        item_id = self.input.speech[1] if self.input.speech else random_id("item_")
        return Outcome(self._commit(self.input.take(), item_id))

    def _commit(self, audio: bytes, item_id: str) -> list[dict[str, Any]]:
        """The committed buffer as a user item; then, when the session asks for input
        transcription, its transcript (offline: a description of the audio, not speech
        recognition)."""
        part: dict[str, Any] = {"type": "input_audio",
                                "audio": base64.b64encode(audio).decode("ascii"),
                                "transcript": None}
        item: dict[str, Any] = {"id": item_id, "type": "message", "status": "completed",
                                "role": "user", "content": [part]}
        if self.dialect == "yandex":
            item["metadata"] = None
        self.rates[item_id] = self.input.rate
        previous = self.insert(item)
        events = [server_event("input_audio_buffer.committed", previous_item_id=previous,
                               item_id=item_id), *self.item_events(item, previous)]
        if transcription(self.session, self.dialect) is not None:
            seconds = len(audio) / (2 * self.input.rate)
            text = part["transcript"] = f"({seconds:.1f} s of speech)"
            where = {"item_id": item_id, "content_index": 0}
            if self.dialect != "yandex":  # Yandex lists no transcription deltas
                events.append(server_event(
                    "conversation.item.input_audio_transcription.delta", **where, delta=text))
            events.append(server_event(
                "conversation.item.input_audio_transcription.completed", **where,
                transcript=text, usage={"type": "duration", "seconds": round(seconds, 3)}))
        return events

    def _on_input_audio_buffer_clear(self, event: dict[str, Any]) -> Outcome:
        self.input.clear()
        return Outcome([server_event("input_audio_buffer.cleared")])

