""":class:`AudioClip`: one item's audio as numpy samples, a WAV file, and a player in a
notebook."""

from __future__ import annotations

import base64
import html
import io
import wave
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(eq=False)
class AudioClip:
    """Mono PCM16 audio: ``samples`` (numpy int16), ``rate`` (Hz), ``transcript`` (what the
    server's transcript says, or ``None``), the ``item_id`` and ``role`` it belongs to, and
    ``truncated_ms`` when the item was truncated (the clip then ends there, unless it was
    asked for in ``full``).

    In a notebook it shows as an HTML5 audio player (a WAV in a ``data:`` URI) with the
    transcript as text.
    """

    samples: np.ndarray
    rate: int
    transcript: str | None = None
    item_id: str | None = None
    role: str | None = None
    truncated_ms: int | None = None

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.rate if self.rate else 0.0

    def __len__(self) -> int:
        return len(self.samples)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.samples if dtype is None else self.samples.astype(dtype)

    def wav_bytes(self) -> bytes:
        """The clip as a mono 16-bit WAV file, in memory."""
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.rate)
            w.writeframes(np.asarray(self.samples, dtype="<i2").tobytes())
        return out.getvalue()

    def to_wav(self, path: str | PathLike[str]) -> Path:
        """Write a mono 16-bit WAV file (the standard library's ``wave``); returns the path."""
        target = Path(path)
        target.write_bytes(self.wav_bytes())
        return target

    def __repr__(self) -> str:
        who = f" {self.role}" if self.role else ""
        item = f" {self.item_id}" if self.item_id else ""
        cut = f", truncated at {self.truncated_ms} ms" if self.truncated_ms is not None else ""
        text = self.transcript or ""
        short = text[:60] + "…" if len(text) > 60 else text
        return (f"<AudioClip{who}{item} {self.duration_s:.2f} s at {self.rate} Hz{cut}"
                f"{': ' + repr(short) if short else ''}>")

    def _repr_html_(self) -> str:
        uri = "data:audio/wav;base64," + base64.b64encode(self.wav_bytes()).decode("ascii")
        head = html.escape(f"{self.role or 'audio'} · {self.duration_s:.2f} s · {self.rate} Hz"
                           + (f" · {self.item_id}" if self.item_id else ""))
        text = (f'<div class="rnb-audio-transcript">{html.escape(self.transcript)}</div>'
                if self.transcript else "")
        return (f'<div class="rnb-audio"><div class="rnb-audio-head">{head}</div>'
                f'<audio controls preload="metadata" src="{uri}"></audio>{text}</div>')

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}
