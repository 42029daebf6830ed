"""The voice part of the facade: send audio, hear and keep the assistant's, export the session.

:class:`AudioMixin` is one part of :class:`~realtime_nb.client.RealtimeConversation` (see
:mod:`realtime_nb.parts`). It registers an :class:`~.store.AudioStore` as the core's first
record listener (``conv.df`` reads ``audio_s`` from it), maps the voice settings of
``update_session`` to each dialect's fields, and extends ``save`` to write the audio beside
the log.

For the widget (its kernel side): microphone chunks arrive as binary buffers of PCM16 at the
session's input rate: ``conv.send_audio(bytes(buffer))``. Output audio streams to
``conv.on_audio(fn)`` (``fn(item_id, pcm_bytes, rate)``, session thread) and any item's audio
is ``conv.audio(item_id)`` (it blocks to retrieve audio the kernel does not hold: call it off
the session thread, or ``conv.retrieve(item_id, wait="future")`` first). The player reports
with ``conv.playback(item_id, started_at=..., played_ms=...)`` (the WAV timeline places the
item there), and a barge-in is ``conv.interrupt(item_id, played_ms)``.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import protocol
from ..errors import ConnectionClosedError, RealtimeError, RealtimeTimeoutError
from ..parts import Part
from .clip import AudioClip
from .pcm import b64encode, nbytes, samples_of, to_pcm16
from .store import AudioStore, DeltaListener

if TYPE_CHECKING:
    import pandas as pd

#: Milliseconds of audio in one ``input_audio_buffer.append`` that ``send_audio`` sends.
APPEND_MS = 100
_UNSET: Any = object()


class NoAudioError(RealtimeError, LookupError):
    """The item has no audio, or its audio is neither held nor reachable."""


class AudioMixin(Part):
    """``send_audio``, ``commit_audio``, ``clear_audio``, ``audio``, ``export_audio``,
    ``audio_timeline``, ``on_audio``, ``playback``, ``interrupt`` and
    ``save(path, audio=True)``."""

    _audio: AudioStore
    _frame: Any

    def _attach(self) -> None:
        super()._attach()
        self._audio = AudioStore(self._core)
        listeners = self._core.record_listeners  # the store first: conv.df reads its lengths
        listeners.add(self._audio.on_records, types=self._audio.handled, first=True)
        listeners.add(self._audio.after_records, deltas=False)
        self._frame.audio_seconds = self._audio.seconds
        self._core.audio_of = self._audio.replay_audio  # a reconnect replays user audio

    @property
    def audio_rates(self) -> dict[str, int]:
        """The PCM16 sample rates of the session's audio: ``{"input": ..., "output": ...}``
        (what this client sent with ``update_session``, else what the server reported).
        The microphone sends at ``input``; output deltas and clips come at ``output``."""
        with self._lock:
            return {"input": self._audio.rate("input"), "output": self._audio.rate("output")}

    # ------------------------------------------------------------------ sending
    def send_audio(self, samples: Any, *, rate: int | None = None, commit: bool = False
                   ) -> float:
        """Append audio to the server's input buffer; returns the seconds sent.

        ``samples``: a numpy int16 or float (-1..1) array, mono or ``(n, channels)``, or PCM16
        little-endian bytes; ``rate`` is theirs (``None``: already at the session's input
        rate), resampled with soxr to the session's. Sent as ``input_audio_buffer.append``
        events of 100 ms (base64 only on the wire) and kept as sent (``conv.audio`` of the
        user item it becomes). ``commit=True`` then commits (see :meth:`commit_audio`).
        With turn detection on, the server commits by itself when the speech stops.
        """
        if self._session is None:
            raise ConnectionClosedError("this conversation is not connected; audio cannot be "
                                        "sent")
        with self._lock:
            target = self._audio.rate("input")
        pcm = to_pcm16(samples, rate, target)
        if pcm:
            step = nbytes(APPEND_MS, target)
            with self._lock:
                self._audio.sent(pcm, target, time.time())
            for i in range(0, len(pcm), step):
                self._call(protocol.input_audio_append(b64encode(pcm[i: i + step])), None,
                           None, None, False)
        if commit:
            self.commit_audio()
        return len(pcm) / (2 * target)

    def commit_audio(self, *, wait: bool = True, timeout: float | None = None) -> str | None:
        """``input_audio_buffer.commit``: the buffer becomes a user item. Returns its id once
        the item reached done (``wait=False``: ``None`` at once). A server
        error (less than 100 ms buffered) raises :class:`~realtime_nb.RealtimeServerError`."""
        event = protocol.input_audio_commit()
        future: concurrent.futures.Future[str] = concurrent.futures.Future()
        with self._lock:
            self._audio.commits.append((event["event_id"], future))
        if wait and self._session is not None and self._session.in_session_thread:
            raise RealtimeError("a blocking call from a realtime_nb callback would wait "
                                "forever; use commit_audio(wait=False) there")
        self._call(event, None, None, timeout, False)
        if not wait:
            return None
        limit = self.timeout if timeout is None else timeout
        try:
            return future.result(limit)
        except concurrent.futures.TimeoutError:
            raise RealtimeTimeoutError(f"the committed item was not done within {limit:g}s "
                                       f"for {event['event_id']}") from None

    def clear_audio(self) -> str:
        """``input_audio_buffer.clear`` (fire and forget); returns the client event id."""
        event = protocol.input_audio_clear()
        with self._lock:
            self._audio.cleared()
        self._call(event, None, None, None, False)
        return str(event["event_id"])

    # ------------------------------------------------------------------ reading
    def audio(self, item_id: str, *, full: bool = False, timeout: float | None = None
              ) -> AudioClip:
        """The item's audio as an :class:`~realtime_nb.AudioClip` (int16 samples, rate,
        transcript; a player in a notebook).

        Output audio as it streamed in, input audio as it was sent; audio this client does not
        hold is asked of the server (``conversation.item.retrieve``). A truncated item's clip
        ends where it was truncated (``full=True``: everything received). Raises
        :class:`NoAudioError` for an item without audio, or whose audio is neither held nor
        reachable (a loaded session saved without ``audio=True``).
        """
        with self._lock:
            item = self._core.model.get(item_id)
            held = self._audio.pcm(item_id, full=full)
        if item is None and held is None:
            raise KeyError(item_id)
        if held is None:
            if item is not None and not any(p.get("type") in ("input_audio", "output_audio",
                                                               "audio") for p in item.content):
                raise NoAudioError(f"item {item_id} has no audio")
            if self._session is None:
                raise NoAudioError(f"the audio of {item_id} is not held: this conversation was "
                                   "loaded from a log saved without audio "
                                   "(use conv.save(path, audio=True))")
            self._call(protocol.item_retrieve(item_id), "retrieved", item_id, timeout)
            with self._lock:
                item = self._core.model.get(item_id)
                held = self._audio.pcm(item_id, full=full)
            if held is None:
                raise NoAudioError(f"the server returned no audio for {item_id}")
        with self._lock:
            cut = self._audio.truncated.get(item_id)
        text = None
        if item is not None:
            text = next((p.get("transcript") for p in item.content
                         if isinstance(p.get("transcript"), str)), None)
        return AudioClip(samples_of(held[0]), held[1], text, item_id,
                         item.role if item is not None else None, cut)

    def audio_timeline(self) -> pd.DataFrame:
        """Every held clip placed on the session's timeline (see :meth:`export_audio`): one
        row per clip, ``start_s`` / ``end_s`` from the first clip, ``duration_s``, ``rate``,
        ``truncated_ms``, ``transcript``."""
        from .timeline import frame, place

        with self._lock:
            placed = place(self._audio, self._core.model)
        return frame(placed)

    def export_audio(self, path: str | PathLike[str], *, rate: int | None = None) -> Path:
        """The whole session as one 2-channel 16-bit WAV: user left, assistant right, at the
        session's output rate (or ``rate``). Each user clip is placed when it was sent, each
        assistant clip when it began to play (:meth:`playback`) or, with no player, when it
        arrived, cut where it was truncated. Returns the path."""
        from .timeline import mix, place, write_wav

        with self._lock:
            placed = place(self._audio, self._core.model)
            target = rate or self._audio.rate("output")
        return write_wav(path, mix(placed, target), target)

    # ------------------------------------------------------------------ the player
    def on_audio(self, callback: DeltaListener) -> DeltaListener:
        """Call ``callback(item_id, pcm, rate)`` with each output audio delta as it arrives,
        decoded (PCM16 little-endian mono bytes at ``rate``), on the session's thread: keep
        it short (the widget forwards it to the browser's player). Returns the callback."""
        with self._lock:
            self._audio.delta_listeners.append(callback)
        return callback

    def off_audio(self, callback: DeltaListener) -> None:
        with self._lock:
            if callback in self._audio.delta_listeners:
                self._audio.delta_listeners.remove(callback)

    def playback(self, item_id: str, *, started_at: float | None = None,
                 played_ms: int | None = None) -> None:
        """The player reports: ``item_id`` began to play at ``started_at`` (epoch seconds)
        and/or has played ``played_ms`` of it. The timeline places the item there."""
        with self._lock:
            if started_at is not None:
                self._audio.played.setdefault(item_id, float(started_at))
            if played_ms is not None:
                self._audio.played_ms[item_id] = int(played_ms)

    def interrupt(self, item_id: str, played_ms: int, *, cancel: bool = True) -> int:
        """Barge-in: cancel the item's response if it is still running (``cancel``), and
        truncate the item at ``played_ms`` clamped to the audio received, so the server keeps
        only what was heard. Fire and forget (safe in callbacks); returns the ``audio_end_ms``
        sent."""
        with self._lock:
            held = self._audio.pcm(item_id, full=True)
            received = len(held[0]) * 1000 // (2 * held[1]) if held else 0
            end = max(0, min(int(played_ms), received))
            self._audio.played_ms[item_id] = end
            rid = self._core.model.response_of(item_id)
            running = rid is not None and not getattr(self._core.model.responses.get(rid),
                                                      "finished", True)
        if cancel and running:
            self._call(protocol.response_cancel(rid), None, None, None, False)
        self._call(protocol.item_truncate(item_id, 0, end), None, None, None, False)
        return end

    # ------------------------------------------------------------------ saving
    def save(self, path: str | PathLike[str], *, audio: bool = False) -> Path:  # type: ignore[override]
        """Write the log (see ``DataMixin.save``); with ``audio=True`` also the held audio
        beside it (``<stem>.audio.zip``: WAVs and an index), which ``realtime_nb.load``
        restores."""
        saved: Path = super().save(path)  # type: ignore[misc]
        if audio:
            from .archive import save

            with self._lock:
                save(self._audio, saved)
        return saved

    def _restore_audio(self, path: str | PathLike[str]) -> None:
        """``realtime_nb.load``: restore the audio saved beside the log, if any."""
        from .archive import restore

        with self._lock:
            ids = restore(self._audio, path)
            items = [i for i in map(self._core.model.get, ids) if i is not None]
        if items:
            self._frame.refresh(items)

    # ------------------------------------------------------------------ session fields
    def _prepare_session(self, fields: dict[str, Any]) -> dict[str, Any]:
        """``voice=``, ``turn_detection=``, ``output_modalities=``, ``input_transcription=``
        in each dialect's spelling (GA and Yandex: ``audio.input.*`` / ``audio.output.*`` and
        ``output_modalities``; beta: flat ``voice``, ``turn_detection``, ``modalities``,
        ``input_audio_transcription``)."""
        fields = dict(fields)
        beta = self._core.dialect.beta_session
        voice = fields.pop("voice", _UNSET)
        turn = fields.pop("turn_detection", _UNSET)
        transcription = fields.pop("input_transcription", _UNSET)
        if isinstance(turn, str):
            turn = {"type": turn}
        if isinstance(transcription, str):
            transcription = {"model": transcription}
        if beta:
            for key, value in (("voice", voice), ("turn_detection", turn),
                               ("input_audio_transcription", transcription)):
                if value is not _UNSET:
                    fields[key] = value
            modalities = fields.pop("output_modalities", _UNSET)
            if modalities is not _UNSET:
                fields["modalities"] = (sorted({"audio", "text", *modalities})
                                        if "audio" in modalities else list(modalities))
        else:
            audio = _copy2(fields.get("audio"))
            if voice is not _UNSET:
                audio.setdefault("output", {})["voice"] = voice
            if turn is not _UNSET:
                audio.setdefault("input", {})["turn_detection"] = turn
            if transcription is not _UNSET:
                audio.setdefault("input", {})["transcription"] = transcription
            if audio:
                fields["audio"] = audio
        return super()._prepare_session(fields)


def _copy2(audio: Any) -> dict[str, Any]:
    """A two-level copy of an ``audio`` session field (``{}`` when not given)."""
    if not isinstance(audio, Mapping):
        return {}
    return {k: dict(v) if isinstance(v, Mapping) else v for k, v in audio.items()}
