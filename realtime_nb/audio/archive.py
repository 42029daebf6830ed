"""Audio saved beside a log: ``conv.save(path, audio=True)`` writes ``<stem>.audio.zip`` next
to the log file, and ``realtime_nb.load(path)`` reads it back.

The zip holds plain files: one mono 16-bit WAV per item (``items/<item_id>.wav``), the input
tape (``input.wav``) and ``index.json`` with what the timeline needs (rates, times, spans,
truncations). Audio holds no secrets; the index holds item ids and times only.
"""

from __future__ import annotations

import io
import json
import wave
import zipfile
from os import PathLike
from pathlib import Path
from typing import Any

from .store import AudioStore

VERSION = 1


def archive_path(log_path: str | PathLike[str]) -> Path:
    """``session.jsonl`` -> ``session.audio.zip`` (same folder)."""
    path = Path(log_path)
    return path.with_name(path.stem + ".audio.zip")


def _wav(pcm: bytes, rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate or 24000)
        w.writeframes(pcm)
    return out.getvalue()


def _unwav(data: bytes) -> tuple[bytes, int]:
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.readframes(w.getnframes()), w.getframerate()


def save(store: AudioStore, log_path: str | PathLike[str]) -> Path:
    """Write the store's audio beside the log; returns the zip's path."""
    target = archive_path(log_path)
    index: dict[str, Any] = {
        "version": VERSION, "out": sorted(store.out), "retrieved": sorted(store.retrieved),
        "user": {k: list(v) for k, v in store.user.items()},
        "lengths": {k: list(v) for k, v in store.lengths.items()},
        "truncated": store.truncated, "seen": store.seen, "first_audio": store.first_audio,
        "played": store.played, "played_ms": store.played_ms, "vad": store.vad,
        "tape": {"rate": store.tape_rate, "marks": store.marks, "origin": store.origin,
                 "buffer_start": store.buffer_start},
    }
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("index.json", json.dumps(index))
        z.writestr("input.wav", _wav(bytes(store.tape), store.tape_rate))
        for item_id in store.out:
            z.writestr(f"items/{item_id}.wav", _wav(bytes(store.out[item_id]),
                                                    store.out_rate[item_id]))
        for item_id, (pcm, rate) in store.retrieved.items():
            z.writestr(f"retrieved/{item_id}.wav", _wav(pcm, rate))
    return target


def restore(store: AudioStore, log_path: str | PathLike[str]) -> list[str]:
    """Fill the store from the zip beside ``log_path`` (nothing when there is none); returns
    the ids of the items whose audio it restored."""
    source = archive_path(log_path)
    if not source.is_file():
        return []
    with zipfile.ZipFile(source) as z:
        index = json.loads(z.read("index.json"))
        if index.get("version") != VERSION:
            raise ValueError(f"{source.name}: unknown audio archive version "
                             f"{index.get('version')!r}")
        tape, _rate = _unwav(z.read("input.wav"))
        for item_id in index["out"]:
            pcm, out_rate = _unwav(z.read(f"items/{item_id}.wav"))
            store.out[item_id], store.out_rate[item_id] = bytearray(pcm), out_rate
        for item_id in index["retrieved"]:
            store.retrieved[item_id] = _unwav(z.read(f"retrieved/{item_id}.wav"))
    meta = index["tape"]
    store.tape, store.tape_rate = bytearray(tape), meta["rate"]
    store.marks = [(int(o), float(t)) for o, t in meta["marks"]]
    store.origin, store.buffer_start = meta["origin"], meta["buffer_start"]
    store.user = {k: (int(v[0]), int(v[1])) for k, v in index["user"].items()}
    store.lengths.update({k: (int(v[0]), int(v[1])) for k, v in index["lengths"].items()})
    for name in ("truncated", "seen", "first_audio", "played", "played_ms", "vad"):
        getattr(store, name).update(index[name])
    return sorted({*index["out"], *index["retrieved"], *index["user"]})
