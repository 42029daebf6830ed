"""The embedded server's audio over real WebSocket traffic on 127.0.0.1: the input buffer,
turn detection (energy VAD), input transcription, spoken responses, truncate and retrieve.

Every GA event is validated strictly against the openai SDK's GA models (``strict_ga``: no
unknown field anywhere); beta events against the SDK's beta models; Yandex events against the
GA models (they are GA-shaped; the items' ``object`` / ``metadata`` are Yandex's own).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
import websockets

from realtime_nb.server import EmbeddedServer
from realtime_nb.server.speech import synthesize, tone_voice
from realtime_nb.server.vad import EnergyVAD, threshold_dbfs

TIMEOUT = 10.0
VAD = {"type": "server_vad", "silence_duration_ms": 300}


def speech_like(rate: int = 24000, *, lead: float = 0.5, bursts: int = 3,
                level: float = 0.25, seed: int = 1) -> np.ndarray:
    """Noise bursts of 300 ms with 80 ms gaps after ``lead`` s of silence, then 1 s of
    silence (int16)."""
    rng = np.random.default_rng(seed)
    parts = [np.zeros(int(lead * rate))]
    for _ in range(bursts):
        parts += [rng.normal(0, level, int(0.3 * rate)), np.zeros(int(0.08 * rate))]
    parts.append(np.zeros(rate))
    return (np.clip(np.concatenate(parts), -1, 1) * 32767).astype("<i2")


class Peer:
    def __init__(self, ws: Any, check: Callable[[dict[str, Any]], Any]) -> None:
        self.ws, self.check = ws, check

    async def send(self, event: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(event))

    async def recv(self) -> dict[str, Any]:
        event = json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
        self.check(event)
        return event

    async def until(self, etype: str) -> list[dict[str, Any]]:
        events = [await self.recv()]
        while events[-1]["type"] != etype:
            events.append(await self.recv())
        return events

    async def append(self, pcm: bytes, chunk: int = 4800) -> None:
        for i in range(0, len(pcm), chunk):
            await self.send({"type": "input_audio_buffer.append",
                             "audio": base64.b64encode(pcm[i: i + chunk]).decode()})

    async def update(self, **session: Any) -> dict[str, Any]:
        await self.send({"type": "session.update", "session": session})
        (updated,) = await self.until("session.updated")
        return updated["session"]


@pytest.fixture(scope="module")
def beta_check() -> Callable[[dict[str, Any]], Any]:
    from openai.types.beta.realtime import RealtimeServerEvent
    from pydantic import TypeAdapter

    adapter = TypeAdapter(RealtimeServerEvent)
    return adapter.validate_python


@pytest.fixture
def yandex_check(strict_ga: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """GA models: strict for the audio, VAD and transcription events; lenient where Yandex
    adds fields of its own (items carry ``object`` / ``metadata``). Not checked: sessions and
    response objects at 44.1 kHz (the GA models allow only 24 kHz) and content parts spelled
    ``output_audio`` (Yandex's documented spelling, which the GA models refuse)."""
    from openai.types.realtime import RealtimeServerEvent
    from pydantic import TypeAdapter

    adapter = TypeAdapter(RealtimeServerEvent)

    def check(event: dict[str, Any]) -> Any:
        etype = event["type"]
        if etype.startswith(("session.", "response.content_part.")) or etype in (
                "response.created", "response.done"):
            return None
        if "item" in event:
            return adapter.validate_python(event)
        return strict_ga(event)

    return check


@contextlib.asynccontextmanager
async def peer(server: EmbeddedServer, check: Callable[[dict[str, Any]], Any],
               dialect: str = "ga", **query: Any) -> AsyncIterator[Peer]:
    url = f"{server.url}?dialect={dialect}" + "".join(f"&{k}={v}" for k, v in query.items())
    async with websockets.connect(url, max_size=None) as ws:
        p = Peer(ws, check)
        await p.until("session.created")
        if dialect == "beta":
            await p.until("conversation.created")
        yield p


def audio_of(events: list[dict[str, Any]], etype: str = "response.output_audio.delta") -> bytes:
    return b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == etype)


async def test_vad_turn_transcription_and_spoken_response(embedded_server, strict_ga):
    signal = speech_like()
    async with peer(embedded_server, strict_ga) as p:
        session = await p.update(type="realtime", output_modalities=["audio"], audio={"input": {
            "turn_detection": VAD, "transcription": {"model": "whisper-1"}}})
        turn = session["audio"]["input"]["turn_detection"]
        assert turn == {"type": "server_vad", "silence_duration_ms": 300, "threshold": 0.5,
                        "prefix_padding_ms": 300, "create_response": True,
                        "interrupt_response": True, "idle_timeout_ms": None}
        await p.append(signal.tobytes())
        events = await p.until("response.done")
    types = [e["type"] for e in events]
    assert types[:8] == [
        "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed", "conversation.item.added", "conversation.item.done",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.completed", "response.created"]
    started, stopped, committed, added = events[:4]
    # speech from 500 ms, padded by 300 ms; three bursts end at 1560 ms, plus 300 ms of silence
    assert started["audio_start_ms"] == 200 and stopped["audio_end_ms"] == 1860
    assert started["item_id"] == stopped["item_id"] == committed["item_id"] == added["item"]["id"]
    assert added["item"]["content"] == [{"type": "input_audio", "transcript": None}]
    assert events[6]["transcript"] == "(1.7 s of speech)"
    assert events[6]["usage"] == {"type": "duration", "seconds": 1.66}
    part = next(e for e in events if e["type"] == "response.content_part.added")["part"]
    assert part == {"type": "audio", "transcript": ""}
    deltas = [e for e in events if e["type"] == "response.output_audio.delta"]
    sizes = {len(base64.b64decode(e["delta"])) for e in deltas[:-1]}
    assert sizes == {3840}  # 80 ms of PCM16 at 24 kHz
    words = "".join(e["delta"] for e in events
                    if e["type"] == "response.output_audio_transcript.delta")
    assert words == 'You said: "(1.7 s of speech)". This is the offline responder.'
    tail = [t for t in types if not t.endswith(".delta")][-6:]
    assert tail == ["response.output_audio.done", "response.output_audio_transcript.done",
                    "response.content_part.done", "response.output_item.done",
                    "conversation.item.done", "response.done"]
    done = events[-1]["response"]
    assert done["status"] == "completed" and done["output_modalities"] == ["audio"]
    assert done["output"][0]["content"] == [{"type": "output_audio", "transcript": words}]
    assert done["usage"]["output_token_details"]["audio_tokens"] > 0


async def test_retrieve_returns_the_committed_span_and_the_streamed_audio(embedded_server,
                                                                          strict_ga):
    signal = speech_like()
    async with peer(embedded_server, strict_ga) as p:
        await p.update(type="realtime", output_modalities=["audio"],
                       audio={"input": {"turn_detection": VAD}})
        await p.append(signal.tobytes())
        events = await p.until("response.done")
        user_id = events[0]["item_id"]
        assistant_id = events[-1]["response"]["output"][0]["id"]
        await p.send({"type": "conversation.item.retrieve", "item_id": user_id})
        got = (await p.until("conversation.item.retrieved"))[-1]
        span = base64.b64decode(got["item"]["content"][0]["audio"])
        assert span == signal.tobytes()[200 * 48: 1860 * 48]
        await p.send({"type": "conversation.item.retrieve", "item_id": assistant_id})
        got = (await p.until("conversation.item.retrieved"))[-1]
        assert base64.b64decode(got["item"]["content"][0]["audio"]) == audio_of(events)


async def test_manual_commit_clear_and_the_100_ms_minimum(embedded_server, strict_ga):
    async with peer(embedded_server, strict_ga) as p:
        await p.append(b"\0" * 48 * 50)  # 50 ms
        await p.send({"type": "input_audio_buffer.commit", "event_id": "short"})
        err = (await p.until("error"))[-1]
        assert err["error"]["code"] == "input_audio_buffer_commit_empty"
        assert err["error"]["event_id"] == "short"
        await p.send({"type": "input_audio_buffer.clear"})
        await p.until("input_audio_buffer.cleared")
        loud = speech_like(lead=0.1)
        await p.append(loud.tobytes())
        await p.send({"type": "input_audio_buffer.commit"})
        committed, added, _ = await p.until("conversation.item.done")
        assert added["item"]["id"] == committed["item_id"]
        assert committed["type"] == "input_audio_buffer.committed"  # no VAD events without VAD
        await p.send({"type": "conversation.item.retrieve", "item_id": committed["item_id"]})
        got = (await p.until("conversation.item.retrieved"))[-1]
        assert base64.b64decode(got["item"]["content"][0]["audio"]) == loud.tobytes()


async def test_truncate_cuts_audio_and_transcript_and_refuses_beyond(embedded_server,
                                                                      strict_ga):
    async with peer(embedded_server, strict_ga) as p:
        await p.update(type="realtime", output_modalities=["audio"])
        await p.send({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_text",
                                                            "text": "Say something."}]}})
        await p.until("conversation.item.done")
        await p.send({"type": "response.create"})
        events = await p.until("response.done")
        item_id = events[-1]["response"]["output"][0]["id"]
        total_ms = len(audio_of(events)) // 48
        await p.send({"type": "conversation.item.truncate", "item_id": item_id,
                      "content_index": 0, "audio_end_ms": total_ms + 1, "event_id": "far"})
        err = (await p.until("error"))[-1]
        assert err["error"]["message"] == (f"Audio content of {total_ms}ms is already shorter "
                                           f"than {total_ms + 1}ms.")
        await p.send({"type": "conversation.item.truncate", "item_id": item_id,
                      "content_index": 0, "audio_end_ms": 700})
        cut = (await p.until("conversation.item.truncated"))[-1]
        assert cut["audio_end_ms"] == 700
        await p.send({"type": "conversation.item.retrieve", "item_id": item_id})
        got = (await p.until("conversation.item.retrieved"))[-1]
        part = got["item"]["content"][0]
        assert base64.b64decode(part["audio"]) == audio_of(events)[: 700 * 48]
        assert part["transcript"] == ""


async def test_speech_interrupts_a_running_response(embedded_server, strict_ga):
    async with peer(embedded_server, strict_ga, chunk_delay=0.02) as p:
        await p.update(type="realtime", output_modalities=["audio"],
                       audio={"input": {"turn_detection": VAD}})
        await p.append(speech_like().tobytes())
        await p.until("response.output_audio.delta")
        await p.append(speech_like(lead=0.1, seed=2).tobytes())
        await p.until("input_audio_buffer.speech_started")
        after: list[dict[str, Any]] = []  # the old response's end and the new turn interleave
        while not ({"response.done", "response.created"} <= {e["type"] for e in after}):
            after.append(await p.recv())
        done = next(e for e in after if e["type"] == "response.done")["response"]
        assert done["status"] == "cancelled"
        assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
        assert done["output"][0]["status"] == "incomplete"
        created = next(e for e in after if e["type"] == "response.created")["response"]
        assert created["id"] != done["id"]  # the new turn gets its own response
        types = [e["type"] for e in after]
        assert types.index("input_audio_buffer.speech_stopped") < types.index(
            "response.created")


async def test_beta_names_and_rates(embedded_server, beta_check):
    async with peer(embedded_server, beta_check, dialect="beta") as p:
        session = await p.update(modalities=["audio", "text"], turn_detection=VAD,
                                 input_audio_transcription={"model": "whisper-1"})
        assert session["turn_detection"]["prefix_padding_ms"] == 300
        await p.append(speech_like().tobytes())
        events = await p.until("response.done")
    types = {e["type"] for e in events}
    assert {"response.audio.delta", "response.audio_transcript.delta", "response.audio.done",
            "response.audio_transcript.done",
            "conversation.item.input_audio_transcription.completed"} <= types
    assert not any(t.startswith("response.output_audio") for t in types)
    part = next(e for e in events if e["type"] == "response.content_part.added")["part"]
    assert part["type"] == "audio"
    assert events[-1]["response"]["output"][0]["content"][0]["type"] == "audio"
    assert len(audio_of(events, "response.audio.delta")) > 0


async def test_yandex_rates_voice_and_events(embedded_server, yandex_check):
    async with peer(embedded_server, yandex_check, dialect="yandex") as p:
        await p.send({"type": "session.update", "event_id": "odd", "session": {
            "audio": {"input": {"format": {"type": "audio/pcm", "rate": 12345}}}}})
        err = (await p.until("error"))[-1]
        assert err["error"]["param"] == "session.audio.input.format.rate"
        pcm = {"type": "audio/pcm", "rate": 44100}
        session = await p.update(output_modalities=["audio"], audio={
            "input": {"format": pcm, "turn_detection": VAD, "transcription": {"model": "x"}},
            "output": {"format": pcm}})
        assert session["audio"]["output"]["voice"] == "dasha"
        await p.append(speech_like(44100).tobytes(), chunk=8820)
        events = await p.until("response.done")
    types = [e["type"] for e in events]
    assert "conversation.item.input_audio_transcription.delta" not in types  # not in Yandex
    assert "conversation.item.input_audio_transcription.completed" in types
    started = events[0]
    assert started["type"] == "input_audio_buffer.speech_started"
    assert started["audio_start_ms"] == 200
    part = next(e for e in events if e["type"] == "response.content_part.added")["part"]
    assert part["type"] == "output_audio"
    deltas = [e for e in events if e["type"] == "response.output_audio.delta"]
    assert len(base64.b64decode(deltas[0]["delta"])) == 44100 * 80 // 1000 * 2


def test_vad_threshold_mapping_and_frames():
    assert threshold_dbfs(0.0) == -60 and threshold_dbfs(0.5) == -35
    assert threshold_dbfs(1.0) == -10
    rate = 24000
    quiet = speech_like(rate, level=10 ** (-45 / 20))  # noise at about -45 dBFS
    loose, strict = EnergyVAD(rate, threshold=0.2), EnergyVAD(rate, threshold=0.5)
    assert [t.kind for t in loose.feed(quiet.tobytes())] == ["started", "stopped"]
    assert strict.feed(quiet.tobytes()) == []
    # frames split across appends give the same turns as one append
    split = EnergyVAD(rate)
    pcm = speech_like(rate).tobytes()
    turns = [t for i in range(0, len(pcm), 1234) for t in split.feed(pcm[i: i + 1234])]
    assert [(t.kind, t.ms) for t in turns] == [("started", 500), ("stopped", 2060)]


def test_speech_is_deterministic_and_at_the_rate():
    tone = tone_voice("Hello there, world.", 16000, "alloy")
    assert tone.dtype == np.int16 and np.abs(tone).max() > 5000
    assert np.array_equal(tone, tone_voice("Hello there, world.", 16000, "alloy"))
    assert not np.array_equal(tone, tone_voice("Hello there, world.", 16000, "echo"))
    spoken = np.frombuffer(synthesize("Hello there.", 44100), dtype="<i2")
    assert spoken.size > 44100 * 0.3 and np.abs(spoken).max() > 1000
    assert synthesize("Hello there.", 44100) == synthesize("Hello there.", 44100)
