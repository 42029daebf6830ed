"""The embedded server's turn detection: an energy voice-activity detector on PCM16 mono.

:class:`EnergyVAD` cuts the input audio into 10 ms frames and compares each frame's RMS level
(in dBFS: 0 is a full-scale square wave) with a threshold taken from the session's
``turn_detection.threshold`` (0 to 1, higher needs louder speech, like the real service):

    level_dbfs > -60 + 50 * threshold        (0.0 -> -60 dBFS, 0.5 -> -35 dBFS, 1.0 -> -10 dBFS)

Speech *starts* at the first of three voiced frames in a row (30 ms, so a click does not
count) and *stops* once ``silence_duration_ms`` of unvoiced frames followed it. Times are
milliseconds of all audio written in the session (the clock of ``audio_start_ms`` /
``audio_end_ms``); the stop time is where the silence was complete, so it includes
``silence_duration_ms`` as the real service's does. The caller adds ``prefix_padding_ms``.
``semantic_vad`` is served by the same detector (there is no model to judge meaning).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_MS = 10
START_FRAMES = 3
DEFAULTS = {"threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500}


def threshold_dbfs(threshold: float) -> float:
    """The frame level (dBFS) above which a frame is voiced, for a 0-1 ``threshold``."""
    return -60.0 + 50.0 * min(1.0, max(0.0, float(threshold)))


@dataclass
class Turn:
    """A VAD event: ``kind`` is ``started`` (``ms``: speech onset) or ``stopped`` (``ms``:
    the end of the silence that ended it)."""

    kind: str
    ms: int


class EnergyVAD:
    """Feed PCM16 mono bytes as they are appended; get the speech starts and stops."""

    def __init__(self, rate: int, *, threshold: float | None = None,
                 silence_duration_ms: int | None = None, start_ms: int = 0) -> None:
        self.rate = rate
        self.frame = rate * FRAME_MS // 1000  # samples per frame
        level = threshold_dbfs(DEFAULTS["threshold"] if threshold is None else threshold)
        # compare mean squares, not levels: no log per frame
        self.limit = (10 ** (level / 20) * 32768) ** 2
        silence = DEFAULTS["silence_duration_ms"] if silence_duration_ms is None \
            else silence_duration_ms
        self.silence_frames = max(1, -(-int(silence) // FRAME_MS))
        self.frames = start_ms // FRAME_MS  # frames seen since the session started
        self.speaking = False
        self._run = 0  # voiced frames in a row (before a start) or silent ones (during speech)
        self._rest = np.empty(0, dtype=np.int16)

    def feed(self, pcm: bytes) -> list[Turn]:
        """The starts and stops that these bytes complete (in order)."""
        samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
        if self._rest.size:
            samples = np.concatenate([self._rest, samples])
        whole = samples.size // self.frame * self.frame
        self._rest = samples[whole:].copy()
        if not whole:
            return []
        frames = samples[:whole].astype(np.float64).reshape(-1, self.frame)
        voiced = (frames * frames).mean(axis=1) > self.limit
        turns: list[Turn] = []
        for is_voiced in voiced.tolist():
            self.frames += 1
            if not self.speaking:
                self._run = self._run + 1 if is_voiced else 0
                if self._run >= START_FRAMES:
                    self.speaking, self._run = True, 0
                    turns.append(Turn("started", (self.frames - START_FRAMES) * FRAME_MS))
            else:
                self._run = 0 if is_voiced else self._run + 1
                if self._run >= self.silence_frames:
                    self.speaking, self._run = False, 0
                    turns.append(Turn("stopped", self.frames * FRAME_MS))
        return turns

    def reset(self) -> None:
        """Forget a speech in progress (the buffer was cleared or committed by hand)."""
        self.speaking, self._run = False, 0


class InputBuffer:
    """The input audio buffer of one connection, on the session's audio clock.

    ``total`` bytes were written in the session; the buffer holds the last ones, from byte
    ``start`` on. With turn detection on, an :class:`EnergyVAD` listens to every append;
    ``speech`` is the ``(audio_start_ms, item_id)`` of the turn being spoken.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.start = 0
        self.total = 0
        self.rate = 24000
        self.vad: EnergyVAD | None = None
        self._vad_key: tuple[object, ...] | None = None
        self.speech: tuple[int, str] | None = None

    def ms(self, nbytes: int) -> int:
        return nbytes * 1000 // (2 * self.rate)

    def offset(self, ms: int) -> int:
        """The session byte offset of ``ms`` (whole samples)."""
        return ms * self.rate // 1000 * 2

    @property
    def start_ms(self) -> int:
        return self.ms(self.start)

    def configure(self, rate: int, turn: dict[str, object] | None) -> None:
        """Follow the session: its input rate and turn detection (a new detector when they
        change; none without turn detection)."""
        key = None if turn is None else (rate, turn.get("threshold"),
                                         turn.get("silence_duration_ms"))
        if rate != self.rate:
            self.rate = rate
        if key == self._vad_key:
            return
        self._vad_key = key
        self.speech = None
        self.vad = None if turn is None else EnergyVAD(
            rate, threshold=turn.get("threshold"),  # type: ignore[arg-type]
            silence_duration_ms=turn.get("silence_duration_ms"),  # type: ignore[arg-type]
            start_ms=self.ms(self.total))

    def append(self, raw: bytes) -> list[Turn]:
        self.buffer += raw
        self.total += len(raw)
        return self.vad.feed(raw) if self.vad is not None else []

    def take(self, start_ms: int | None = None, end_ms: int | None = None) -> bytes:
        """The buffered audio from ``start_ms`` to ``end_ms`` (session clock; ``None``: the
        buffer's start / end); the buffer then starts at ``end_ms``."""
        lo = self.start if start_ms is None else max(self.start, self.offset(start_ms))
        hi = self.total if end_ms is None else min(self.total, self.offset(end_ms))
        audio = bytes(self.buffer[lo - self.start: max(lo, hi) - self.start])
        del self.buffer[: max(lo, hi) - self.start]
        self.start = max(lo, hi)
        self.speech = None
        if end_ms is None and self.vad is not None:
            self.vad.reset()
        return audio

    def clear(self) -> None:
        self.start, self.buffer, self.speech = self.total, bytearray(), None
        if self.vad is not None:
            self.vad.reset()
