"""PCM16 conversions: numpy int16 / float arrays and bytes, resampling, base64.

The Realtime APIs carry audio as base64 PCM16 (signed 16-bit little-endian, mono) at the
session's rate: 24 kHz for OpenAI, configurable for Yandex. Float samples are read as -1..1
(clipped); int16 as they are; bytes as PCM16 little-endian. Resampling uses python-soxr
(libsoxr: a maintained, reference-quality resampler with wheels for every platform and no
SciPy dependency).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import numpy as np

#: What ``send_audio`` and :func:`as_int16` accept.
Samples = Any  # np.ndarray (int16 or float, 1-D or (n, channels)) | bytes | bytearray | memoryview


def as_int16(samples: Samples) -> np.ndarray:
    """Mono int16 samples from an int16 or float array (floats -1..1, clipped; several
    channels as ``(n, channels)`` are averaged) or PCM16 little-endian bytes."""
    if isinstance(samples, (bytes, bytearray, memoryview)):
        raw = bytes(samples)
        if len(raw) % 2:
            raise ValueError(f"PCM16 bytes come in pairs; got {len(raw)} bytes")
        return np.frombuffer(raw, dtype="<i2").astype(np.int16)
    array = np.asarray(samples)
    if array.ndim == 2:
        if array.dtype.kind == "f":
            array = array.mean(axis=1)
        elif array.dtype == np.int16:
            array = np.round(array.astype(np.float64).mean(axis=1)).astype(np.int16)
    if array.ndim != 1:
        raise ValueError(f"audio must be 1-D (mono) or (n, channels); got shape {array.shape}")
    if array.dtype == np.int16:
        return array
    if array.dtype.kind == "f":
        return np.round(np.clip(array, -1.0, 1.0) * 32767.0).astype(np.int16)
    raise TypeError(f"audio must be int16 or float samples, or PCM16 bytes; got {array.dtype} "
                    "(scale integers to int16 first)")


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """int16 samples at ``rate_in`` as int16 samples at ``rate_out`` (soxr, high quality)."""
    if rate_in == rate_out or samples.size == 0:
        return samples
    import soxr

    return np.asarray(soxr.resample(samples, int(rate_in), int(rate_out), quality="HQ"),
                      dtype=np.int16)


def to_pcm16(samples: Samples, rate: int | None, target: int) -> bytes:
    """PCM16 little-endian bytes at ``target`` Hz (``rate=None``: already at ``target``)."""
    mono = as_int16(samples)
    if rate is not None and rate != target:
        mono = resample(mono, rate, target)
    return mono.astype("<i2", copy=False).tobytes()


def samples_of(pcm: bytes | bytearray) -> np.ndarray:
    """PCM16 bytes as a new (writable) int16 array."""
    return np.frombuffer(bytes(pcm[: len(pcm) // 2 * 2]), dtype="<i2").astype(np.int16)


def b64decode(text: str) -> bytes:
    return base64.b64decode(text)


def b64encode(pcm: bytes | bytearray | memoryview) -> str:
    return base64.b64encode(pcm).decode("ascii")


def nbytes(ms: float, rate: int) -> int:
    """Bytes of ``ms`` milliseconds of PCM16 mono at ``rate`` (whole samples)."""
    return int(ms * rate // 1000) * 2


def session_rate(session: Mapping[str, Any], beta: bool, side: str, default: int = 24000
                 ) -> int:
    """The PCM16 rate of a session's ``side`` (``input`` / ``output``) audio: GA and Yandex
    ``audio.<side>.format.rate``; beta ``pcm16`` is 24 kHz."""
    if beta:
        return 24000
    audio = session.get("audio")
    part = audio.get(side) if isinstance(audio, Mapping) else None
    fmt = part.get("format") if isinstance(part, Mapping) else None
    rate = fmt.get("rate") if isinstance(fmt, Mapping) else None
    return rate if isinstance(rate, int) and not isinstance(rate, bool) and rate > 0 else default
