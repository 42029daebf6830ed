"""Voice: the kernel's CPU per second of two-way audio.

The embedded server runs in its own process (``python -m realtime_nb serve``), so the
process CPU time (``time.process_time``: every thread of this process, the session's
receive/send thread included) is the kernel's alone. One connection with spoken answers:

* **microphone in**: ``SECONDS`` of PCM16 at 24 kHz handed to ``conv.send_audio`` as 40 ms
  byte chunks, the way the widget forwards the browser's microphone (each chunk: kept on the
  tape, base64, one ``input_audio_buffer.append`` on the wire), until the last is sent;
* **assistant out**: a response whose speech lasts about as long (the responder repeats a
  long user message), received whole: 80 ms ``response.output_audio.delta`` events with their
  transcript deltas, each parsed, logged (audio stripped), decoded into the audio store and
  offered to ``conv.df``.

The figure: CPU seconds per second of microphone audio plus CPU seconds per second of
assistant audio, as a share of one core (target <= 5%, issue 13). One run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from bench import REPO_ROOT, Row

SECONDS = 30
QUICK_SECONDS = 8
CHUNK_MS = 40
RATE = 24000
TARGET = 0.05

_WORDS = ("the quick brown fox jumps over a lazy dog while seven bright lanterns glow "
          "along the quiet river and a distant bell rings twice before the evening rain").split()


def _server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "realtime_nb", "serve", "--port", "0"],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    url = line.rsplit(" ", 1)[-1].strip()
    if not url.startswith("ws://"):
        proc.kill()
        raise RuntimeError(f"the embedded server did not start: {line!r}")
    return proc, url


def run(quick: bool = False) -> dict[str, Any]:
    import numpy as np

    import realtime_nb as rnb

    seconds = QUICK_SECONDS if quick else SECONDS
    proc, url = _server()
    try:
        conv = rnb.connect(url=url, timeout=120)
        conv.update_session(output_modalities=["audio"])
        rng = np.random.default_rng(3)
        pcm = (rng.normal(0, 0.1, seconds * RATE).clip(-1, 1) * 32767).astype("<i2").tobytes()
        step = RATE * CHUNK_MS // 1000 * 2
        chunks = [pcm[i: i + step] for i in range(0, len(pcm), step)]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for chunk in chunks:
            conv.send_audio(chunk)
        conv.send({"type": "input_audio_buffer.clear"}, wait=True)  # after every append
        mic_cpu, mic_wall = time.process_time() - cpu0, time.perf_counter() - wall0
        mic_s = len(pcm) / (2 * RATE)

        words = int(seconds * 2.6)  # about 2.6 spoken words a second
        conv.create(" ".join(_WORDS[i % len(_WORDS)] for i in range(words)))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        response = conv.respond()
        out_cpu, out_wall = time.process_time() - cpu0, time.perf_counter() - wall0
        item = response.items[0]
        out_s = conv.audio(item.id).duration_s
        deltas = int((conv.events.type == "response.output_audio.delta").sum())
        conv.close()
    finally:
        proc.terminate()
        proc.wait(10)
    from realtime_nb.server.speech import engine

    share = mic_cpu / mic_s + out_cpu / out_s
    return {
        "mic_seconds": mic_s, "mic_chunks": len(chunks), "mic_cpu_s": mic_cpu,
        "mic_wall_s": mic_wall, "out_seconds": out_s, "out_deltas": deltas,
        "out_cpu_s": out_cpu, "out_wall_s": out_wall, "cpu_share": share,
        "target": TARGET, "ok": share <= TARGET, "voice": engine(),
    }


def rows(r: dict[str, Any]) -> list[Row]:
    return [
        Row(f"voice: kernel CPU per s of two-way audio ({CHUNK_MS} ms mic chunks in, 80 ms "
            "deltas out)", f"{r['cpu_share'] * 100:.2f}% of a core",
            f"in {r['mic_cpu_s'] / r['mic_seconds'] * 1e3:.1f} + out "
            f"{r['out_cpu_s'] / r['out_seconds'] * 1e3:.1f} ms CPU per s", "",
            f"<= {r['target'] * 100:.0f}%", bool(r["ok"])),
        Row(f"voice: {r['mic_seconds']:.0f} s of mic audio sent ({r['mic_chunks']} chunks)",
            f"{r['mic_cpu_s'] * 1e3:.0f} ms CPU", f"wall {r['mic_wall_s'] * 1e3:.0f} ms"),
        Row(f"voice: {r['out_seconds']:.1f} s of assistant audio received "
            f"({r['out_deltas']} deltas, {r['voice']})", f"{r['out_cpu_s'] * 1e3:.0f} ms CPU",
            f"wall {r['out_wall_s'] * 1e3:.0f} ms"),
    ]
