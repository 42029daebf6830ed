"""The whole session's audio as one timeline: ``conv.audio_timeline()`` (a DataFrame) and
``conv.export_audio(path)`` (a 2-channel WAV: user left, assistant right).

Each clip is placed where it was heard or said, on the wall clock:

* a user clip when it was sent (the time its first byte went out with ``send_audio``; for
  audio this client did not send, when the item entered the conversation);
* an assistant clip when it began to play (the time the player reported, see
  ``conv.playback``) or, with no player, when its first audio arrived; it ends where it was
  truncated.

Clips on one channel never overlap: a clip that would start before the previous one ended
(audio arrives faster than it plays) starts right after it. The WAV runs at the session's
output rate (clips at other rates are resampled); its time 0 is the first clip's start.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .pcm import resample, samples_of

if TYPE_CHECKING:
    import pandas as pd

    from ..core.conversation import Conversation
    from .store import AudioStore

CHANNELS = {"user": 0, "assistant": 1}


@dataclass
class Placement:
    """One clip on the timeline: ``start`` is a wall-clock time (seconds since the epoch)."""

    item_id: str
    role: str
    start: float
    samples: np.ndarray
    rate: int
    truncated_ms: int | None
    transcript: str | None

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate if self.rate else 0.0


def place(store: AudioStore, model: Conversation) -> list[Placement]:
    """Every held clip with its start, in time order, no overlaps within a role."""
    found: list[Placement] = []
    for item_id in {*store.out, *store.user, *store.retrieved}:
        held = store.pcm(item_id)
        if held is None or not held[0]:
            continue
        item = model.get(item_id)
        role = item.role if item is not None and item.role else (
            "user" if item_id in store.user else "assistant")
        if role not in CHANNELS:
            continue
        if role == "user" and item_id in store.user:
            start = store.sent_at(store.user[item_id][0])
        elif role == "assistant":
            start = store.played.get(item_id) or store.first_audio.get(item_id)
        else:
            start = None
        if start is None:
            start = store.seen.get(item_id, 0.0)
        text = next((p.get("transcript") for p in item.content
                     if isinstance(p.get("transcript"), str)), None) if item else None
        found.append(Placement(item_id, role, start, samples_of(held[0]), held[1],
                               store.truncated.get(item_id), text))
    found.sort(key=lambda p: (p.start, p.item_id))
    ends: dict[str, float] = {}
    for clip in found:
        clip.start = max(clip.start, ends.get(clip.role, clip.start))
        ends[clip.role] = clip.start + clip.duration
    return found


def frame(placed: list[Placement]) -> pd.DataFrame:
    """The timeline as a DataFrame: one row per clip, times in seconds from the first."""
    import pandas as pd

    t0 = min((p.start for p in placed), default=0.0)
    rows = [{"item_id": p.item_id, "role": p.role, "start_s": p.start - t0,
             "end_s": p.start - t0 + p.duration, "duration_s": p.duration, "rate": p.rate,
             "truncated_ms": p.truncated_ms, "transcript": p.transcript} for p in placed]
    out = pd.DataFrame(rows, columns=["item_id", "role", "start_s", "end_s", "duration_s",
                                      "rate", "truncated_ms", "transcript"])
    out["truncated_ms"] = out["truncated_ms"].astype("Int64")
    out["role"] = out["role"].astype(pd.CategoricalDtype(list(CHANNELS)))
    return out.set_index("item_id")


def mix(placed: list[Placement], rate: int) -> np.ndarray:
    """The two channels as an ``(n, 2)`` int16 array at ``rate``."""
    t0 = min((p.start for p in placed), default=0.0)
    clips = [(round((p.start - t0) * rate), CHANNELS[p.role],
              resample(p.samples, p.rate, rate)) for p in placed]
    total = max((at + len(s) for at, _, s in clips), default=0)
    out = np.zeros((total, 2), dtype=np.int16)
    for at, channel, samples in clips:
        out[at: at + len(samples), channel] = samples
    return out


def write_wav(path: str | PathLike[str], stereo: np.ndarray, rate: int) -> Path:
    """A 2-channel 16-bit WAV (standard library ``wave``)."""
    target = Path(path)
    with wave.open(str(target), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.ascontiguousarray(stereo, dtype="<i2").tobytes())
    return target


def describe(placed: list[Placement]) -> dict[str, Any]:
    """A summary for reprs and notebooks."""
    return {"clips": len(placed), "seconds": round(sum(p.duration for p in placed), 3)}
