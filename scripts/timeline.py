"""Draw docs/timeline.png: conv.plot_timeline() of a scripted voice session.

The session is an event log written here (deterministic, no server): spoken and typed user
turns, responses asked for by the client and started by the server's voice detection, audio
played and one answer cut short by the user speaking again, and tool runs (one of them
failing) as the tool runner logs them.

    .venv/bin/python scripts/timeline.py                       # docs/timeline.png (5 turns)
    .venv/bin/python scripts/timeline.py --turns 500 --out /tmp/t500.png
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

from realtime_nb.core.protocol import REQUEST_KEY
from realtime_nb.data.timeline import plot_timeline

T0 = 1_790_000_000.0
BYTES_PER_S = 48_000  # PCM16 at 24 kHz


class Log:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, ts: float, direction: str, payload: dict[str, Any]) -> None:
        self.entries.append({
            "seq": len(self.entries), "ts": ts, "direction": direction, "type": payload["type"],
            "event_id": payload.get("event_id"), "item_id": payload.get("item_id"),
            "response_id": payload.get("response_id") or (payload.get("response") or {}).get("id"),
            "error_code": None, "payload": payload, "note": None})


def session(turns: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    log = Log()
    log.add(T0, "in", {"type": "session.created", "session": {
        "model": "gpt-realtime", "audio": {"output": {"format": {"type": "audio/pcm",
                                                                 "rate": 24000}}}}})
    t = T0 + 0.8
    for n in range(turns):
        rid, item = f"resp_{n}", f"item_a{n}"
        spoken = n % 3 != 2
        if spoken:  # the user speaks; the server starts the response itself
            log.add(t, "in", {"type": "input_audio_buffer.speech_started", "item_id": f"u{n}"})
            t += rng.uniform(1.2, 3.0)
            log.add(t, "in", {"type": "input_audio_buffer.speech_stopped", "item_id": f"u{n}"})
            t += rng.uniform(0.25, 0.5)
            meta = None
        else:  # the user types; the client asks for the response
            log.add(t, "out", {"type": "conversation.item.create", "event_id": f"e{n}",
                               "item": {"type": "message", "role": "user", "content": [
                                   {"type": "input_text", "text": "..."}]}})
            t += 0.05
            log.add(t, "out", {"type": "response.create", "event_id": f"r{n}",
                               "response": {"metadata": {REQUEST_KEY: f"r{n}"}}})
            t += rng.uniform(0.15, 0.3)
            meta = {REQUEST_KEY: f"r{n}"}
        log.add(t, "in", {"type": "response.created", "response": {"id": rid, "metadata": meta}})
        tool = n % 4 == 1
        if tool:  # a function call, the tool's run, then the answer in the next response
            t += rng.uniform(0.3, 0.6)
            log.add(t, "in", {"type": "response.done", "response": {
                "id": rid, "status": "completed", "output": [
                    {"id": f"fc{n}", "type": "function_call", "call_id": f"call_{n}"}]}})
            name = "get_weather" if n % 8 == 1 else "search_docs"
            log.add(t + 0.01, "local", {"type": "realtime_nb.tool", "status": "running",
                                        "name": name, "call_id": f"call_{n}"})
            t += rng.uniform(0.4, 1.2)
            failed = n % 16 == 13
            log.add(t, "local", {"type": "realtime_nb.tool",
                                 "status": "failed" if failed else "completed",
                                 "name": name, "call_id": f"call_{n}"})
            t += 0.02
            rid = f"resp_{n}b"
            log.add(t, "out", {"type": "response.create", "event_id": f"rb{n}",
                               "response": {"metadata": {REQUEST_KEY: f"rb{n}"}}})
            t += rng.uniform(0.15, 0.3)
            log.add(t, "in", {"type": "response.created", "response": {
                "id": rid, "metadata": {REQUEST_KEY: f"rb{n}"}}})
        t += rng.uniform(0.15, 0.35)
        first = t
        seconds = rng.uniform(1.5, 4.0)
        chunks = max(1, int(seconds / 0.2))
        for _ in range(chunks):  # audio arrives faster than it plays
            log.add(t, "in", {"type": "response.output_audio.delta", "response_id": rid,
                              "item_id": item, "delta": int(BYTES_PER_S * 0.2 * 4 / 3)})
            log.add(t, "in", {"type": "response.output_audio_transcript.delta",
                              "response_id": rid, "item_id": item, "delta": "word "})
            t += 0.2 / rng.uniform(2.5, 4.0)
        cut = n % 5 == 3
        log.add(t, "in", {"type": "response.done", "response": {
            "id": rid, "status": "completed", "output": [{"id": item, "type": "message"}]}})
        played_until = first + chunks * 0.2
        if cut:  # the user speaks over the answer: it is truncated where playback was
            heard = round(chunks * 0.2 * 1000 * 0.45)
            t = first + heard / 1000
            log.add(t, "out", {"type": "conversation.item.truncate", "item_id": item,
                               "content_index": 0, "audio_end_ms": heard})
            t += 0.3
        else:
            t = played_until + rng.uniform(0.6, 2.0)
    return log.entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent.parent / "docs" / "timeline.png")
    args = parser.parse_args()
    fig = plot_timeline(session(args.turns),
                        title=f"A scripted voice session: {args.turns} user turns")
    fig.savefig(args.out, dpi=110)
    print(args.out)


if __name__ == "__main__":
    main()
