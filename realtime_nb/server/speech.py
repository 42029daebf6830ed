"""Speech for the embedded server's audio responses: PCM16 mono at the session's rate.

The embedded server has no voice model. It speaks the responder's text with espeak-ng when
its program is on the ``PATH`` (Debian package ``espeak-ng``, installed by
``scripts/setup.sh``), and otherwise with a deterministic *tone voice*: one harmonic tone per
word, its pitch from the word's CRC-32 and the voice, its length from the word's letters, with
short pauses between words and longer ones after punctuation. Both are deterministic: the same
text, rate and voice always give the same samples. ``REALTIME_NB_TTS=tone`` forces the tone
voice (tests that compare exact samples across machines).

espeak-ng writes a 22,050 Hz WAV to stdout whose header carries a placeholder length when the
output is a pipe, so the samples are read after the 44-byte header; they are resampled to the
session's rate with soxr. The text is passed on stdin (never as an argument).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import zlib

import numpy as np

ESPEAK_RATE = 22050
_WAV_HEADER = 44
_WORD_RE = re.compile(r"[\w'’-]+|[.,;:!?]")
#: espeak-ng variants a voice name is mapped onto (by CRC-32), so voices sound different.
_VARIANTS = ("en+m3", "en+f3", "en+m1", "en+f2", "en+f4")


def engine() -> str:
    """``"espeak-ng"`` when it will be used, else ``"tone"``."""
    if os.environ.get("REALTIME_NB_TTS", "").lower() == "tone":
        return "tone"
    return "espeak-ng" if shutil.which("espeak-ng") else "tone"


def synthesize(text: str, rate: int, voice: str = "alloy") -> bytes:
    """``text`` spoken at ``rate`` Hz as PCM16 little-endian mono bytes (see the module doc).
    Results are cached (the same answer is often spoken again in tests and demos)."""
    return _synthesize(text, int(rate), str(voice), engine())


@functools.lru_cache(maxsize=64)
def _synthesize(text: str, rate: int, voice: str, how: str) -> bytes:
    samples = None
    if how == "espeak-ng" and text.strip():
        samples = _espeak(text, rate, voice)
    if samples is None:
        samples = tone_voice(text, rate, voice)
    return samples.astype("<i2").tobytes()


def _espeak(text: str, rate: int, voice: str) -> np.ndarray | None:
    program = shutil.which("espeak-ng")
    if program is None:
        return None
    variant = _VARIANTS[zlib.crc32(voice.encode()) % len(_VARIANTS)]
    try:
        done = subprocess.run([program, "--stdout", "-v", variant], input=text.encode(),
                              capture_output=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    raw = done.stdout[_WAV_HEADER:]
    samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")
    if samples.size == 0:
        return None
    if rate == ESPEAK_RATE:
        return samples.astype(np.int16)
    import soxr

    return np.asarray(soxr.resample(samples.astype(np.int16), ESPEAK_RATE, rate),
                      dtype=np.int16)


def tone_voice(text: str, rate: int, voice: str = "alloy") -> np.ndarray:
    """The deterministic tone voice (int16 samples at ``rate``); 0.3 s of silence for a text
    without words."""
    base = 110.0 + 60.0 * (zlib.crc32(voice.encode()) % 4)
    pieces: list[np.ndarray] = []
    for token in _WORD_RE.findall(text):
        if not token[0].isalnum():
            pieces.append(np.zeros(int(rate * (0.25 if token in ".!?" else 0.12)), np.int16))
            continue
        letters = sum(ch.isalnum() for ch in token)
        seconds = min(0.48, max(0.12, 0.06 * letters))
        pitch = base + (zlib.crc32(token.lower().encode()) % 90)
        pieces.append(_tone(pitch, seconds, rate))
        pieces.append(np.zeros(int(rate * 0.05), np.int16))
    if not pieces:
        return np.zeros(int(rate * 0.3), np.int16)
    return np.concatenate(pieces)


def _tone(pitch: float, seconds: float, rate: int) -> np.ndarray:
    n = int(rate * seconds)
    t = np.arange(n) / rate
    wave = (np.sin(2 * np.pi * pitch * t) + 0.5 * np.sin(4 * np.pi * pitch * t)
            + 0.25 * np.sin(6 * np.pi * pitch * t))
    edge = min(n // 2, int(rate * 0.01))
    env = np.ones(n)
    if edge:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, edge))
        env[:edge], env[n - edge:] = ramp, ramp[::-1]
    return np.round(wave * env * (0.3 / 1.75) * 32767).astype(np.int16)
