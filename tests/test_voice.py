"""Voice in the kernel, end to end on the embedded server (real loopback WebSocket traffic,
real numpy arrays): send_audio with turn detection, the committed user item, the spoken
response, conv.audio, truncate and barge-in, retrieve of audio the client does not hold,
save/load with audio, the WAV timeline, and a real recorded voice stream replayed through the
client core."""

from __future__ import annotations

import base64
import json
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import realtime_nb as rnb
from realtime_nb.audio.mixin import NoAudioError
from realtime_nb.audio.pcm import as_int16, resample, to_pcm16
from realtime_nb.core.connection import Connection
from realtime_nb.errors import RealtimeServerError
from realtime_nb.server import EmbeddedServer

STREAMS = Path(__file__).resolve().parent / "real_streams"
VAD = {"type": "server_vad", "silence_duration_ms": 300}


def speech_like(rate: int = 16000, *, lead: float = 0.5, seed: int = 1) -> np.ndarray:
    """float32: ``lead`` s of silence, three 300 ms noise bursts 80 ms apart, 1 s of silence."""
    rng = np.random.default_rng(seed)
    parts = [np.zeros(int(lead * rate))]
    for _ in range(3):
        parts += [rng.normal(0, 0.25, int(0.3 * rate)), np.zeros(int(0.08 * rate))]
    parts.append(np.zeros(rate))
    return np.clip(np.concatenate(parts), -1, 1).astype(np.float32)


class Waiter:
    """Collects events of some types (``conv.on``); ``wait(type)`` blocks until one came."""

    def __init__(self, conv: Any, *types: str) -> None:
        self.events: list[Any] = []
        self._cond = threading.Condition()
        for etype in types:
            conv.on(etype, self._got)

    def _got(self, event: Any) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait(self, etype: str, count: int = 1, timeout: float = 10) -> list[Any]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.of(etype)) >= count, timeout), (
                etype, [e.type for e in self.events])
            return self.of(etype)

    def of(self, etype: str) -> list[Any]:
        return [e for e in self.events if e.type == etype]


@pytest.fixture
def voice(conv: Any) -> Iterator[tuple[Any, Waiter]]:
    """A conversation with turn detection, spoken answers and input transcription."""
    seen = Waiter(conv, "session.updated", "input_audio_buffer.speech_started",
                  "input_audio_buffer.speech_stopped", "input_audio_buffer.committed",
                  "response.output_audio.delta", "response.done",
                  "conversation.item.input_audio_transcription.completed")
    conv.update_session(turn_detection=VAD, output_modalities=["audio"],
                        input_transcription="whisper-1", voice="verse")
    seen.wait("session.updated")
    yield conv, seen


def test_a_spoken_turn_through_send_audio(voice):
    conv, seen = voice
    signal = speech_like()
    sent = conv.send_audio(signal, rate=16000)
    assert sent == pytest.approx(len(signal) / 16000, abs=1e-3)
    (started,) = seen.wait("input_audio_buffer.speech_started")
    (stopped,) = seen.wait("input_audio_buffer.speech_stopped")
    (done,) = seen.wait("response.done")
    seen.wait("conversation.item.input_audio_transcription.completed")
    assert (started.data["audio_start_ms"], stopped.data["audio_end_ms"]) == (200, 1860)
    user, assistant = conv.items
    assert user.id == started.data["item_id"] and user.role == "user"
    assert user.content[0]["type"] == "input_audio"
    assert user.content[0]["transcript"] == "(1.7 s of speech)"
    assert assistant.content[0]["type"] == "output_audio" and done.response_id
    # the user clip is the committed span of what was sent (resampled to 24 kHz)
    pcm = to_pcm16(signal, 16000, 24000)
    clip = conv.audio(user.id)
    assert clip.rate == 24000 and clip.transcript == "(1.7 s of speech)"
    assert clip.samples.tobytes() == pcm[200 * 48: 1860 * 48]
    # the assistant clip holds exactly the samples of the decoded deltas
    streamed = b"".join(base64.b64decode(e.data["delta"])
                        for e in seen.of("response.output_audio.delta"))
    spoken = conv.audio(assistant.id)
    assert spoken.samples.dtype == np.int16 and spoken.samples.tobytes() == streamed
    assert spoken.transcript == assistant.content[0]["transcript"]
    assert spoken.duration_s == pytest.approx(len(streamed) / 48000)
    # conv.df: audio_s; the log and conv.events keep audio stripped
    df = conv.df
    assert str(df.audio_s.dtype) == "Float64"
    assert df.loc[user.id, "audio_s"] == pytest.approx(1.66)
    assert df.loc[assistant.id, "audio_s"] == pytest.approx(spoken.duration_s)
    ev = conv.events
    deltas = ev[ev.type == "response.output_audio.delta"]
    assert len(deltas) and all(isinstance(p["delta"], int) for p in deltas.payload)
    appends = ev[ev.type == "input_audio_buffer.append"]
    assert all(isinstance(p["audio"], int) for p in appends.payload)


def test_a_reconnect_replays_user_audio_as_audio():
    """After a drop the new server session gets the user's turn back as audio (the client
    holds what it sent), not as a transcript; assistant audio goes back as text."""
    with EmbeddedServer() as srv:
        conv = rnb.connect(url=srv.url, timeout=20, backoff=(0.01, 0.05))
        try:
            seen = Waiter(conv, "session.updated", "response.done")
            conv.update_session(turn_detection=VAD, output_modalities=["audio"])
            seen.wait("session.updated")
            conv.send_audio(speech_like(), rate=16000)
            seen.wait("response.done")
            user, assistant = conv.items
            held = conv.audio(user.id).samples.tobytes()
            srv.drop_connections()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not (
                    conv.status == "open" and srv.connection_count() == 1
                    and len(srv.conversations()[-1]) == 2):
                time.sleep(0.02)
            replayed = {i["id"]: i for i in srv.conversations()[-1]}
            part = replayed[user.id]["content"][0]
            assert part["type"] == "input_audio" and base64.b64decode(part["audio"]) == held
            assert replayed[assistant.id]["content"][0]["type"] == "output_text"
        finally:
            conv.close()


def test_timeline_and_wav_export(voice, tmp_path):
    conv, seen = voice
    conv.send_audio(speech_like(), rate=16000)
    seen.wait("response.done")
    user, assistant = conv.items
    conv.playback(assistant.id, started_at=seen.of("response.done")[0].received_at + 1.0)
    table = conv.audio_timeline()
    assert list(table.index) == [user.id, assistant.id]
    assert table.loc[user.id, "start_s"] == 0.0
    assert table.loc[assistant.id, "start_s"] > table.loc[user.id, "start_s"]
    assert table.loc[assistant.id, "duration_s"] == pytest.approx(conv.audio(assistant.id)
                                                                  .duration_s)
    path = conv.export_audio(tmp_path / "session.wav")
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 24000)
        frames = w.getnframes()
        stereo = np.frombuffer(w.readframes(frames), dtype="<i2").reshape(-1, 2)
    assert frames == pytest.approx(table.end_s.max() * 24000, abs=2)
    at = round(table.loc[assistant.id, "start_s"] * 24000)
    spoken = conv.audio(assistant.id).samples
    assert np.array_equal(stereo[at: at + len(spoken), 1], spoken)  # right: the assistant
    assert np.array_equal(stereo[: len(conv.audio(user.id)), 0], conv.audio(user.id).samples)


def test_manual_commit_clear_and_errors(conv):
    with pytest.raises(RealtimeServerError, match="buffer too small"):
        conv.commit_audio()
    conv.send_audio(np.zeros(2400, dtype=np.int16))
    conv.clear_audio()
    tone = (np.sin(np.arange(12000) / 5) * 0.3).astype(np.float64)
    conv.send_audio(tone)  # 0.5 s at the session's rate
    item_id = conv.commit_audio()
    clip = conv.audio(item_id)
    assert np.array_equal(clip.samples, as_int16(tone))  # what was cleared is not in it
    assert conv.df.loc[item_id, "audio_s"] == pytest.approx(0.5)
    with pytest.raises(NoAudioError, match="has no audio"):
        conv.audio(conv.create("plain text").id)
    with pytest.raises(KeyError):
        conv.audio("no_such_item")


def test_truncate_and_interrupt(conv):
    conv.update_session(output_modalities=["audio"])
    conv.create("Tell me something.")
    resp = conv.respond()
    item = resp.items[0]
    full = conv.audio(item.id)
    assert full.duration_s > 1
    conv.truncate(item.id, 0, 600)
    cut = conv.audio(item.id)
    assert cut.truncated_ms == 600 and len(cut) == 600 * 24
    assert np.array_equal(cut.samples, full.samples[: 600 * 24])
    assert len(conv.audio(item.id, full=True)) == len(full)
    assert conv.df.loc[item.id, "audio_s"] == pytest.approx(0.6)
    assert conv.df.loc[item.id, "text"] == ""  # the unheard transcript is dropped
    # barge-in clamps to what was received, cancels nothing that already finished
    conv.create("Again please.")
    again = conv.respond().items[0]
    received = conv.audio(again.id).duration_s * 1000
    assert conv.interrupt(again.id, 10**6) == int(received)
    assert conv.interrupt(again.id, 300) == 300
    conv.retrieve(again.id)
    assert conv.df.loc[again.id, "audio_s"] == pytest.approx(0.3)


def test_audio_the_client_does_not_hold_is_retrieved(conv):
    pcm = as_int16(np.sin(np.arange(7200) / 3) * 0.5).tobytes()  # 300 ms
    made = conv.create({"type": "message", "role": "user", "content": [
        {"type": "input_audio", "audio": base64.b64encode(pcm).decode()}]})
    assert conv.df.loc[made.id, "audio_s"] is pd.NA  # created here, but not held
    clip = conv.audio(made.id)  # asks the server: conversation.item.retrieve
    assert clip.samples.tobytes() == pcm
    assert conv.df.loc[made.id, "audio_s"] == pytest.approx(0.3)
    retrieves = conv.events[conv.events.type == "conversation.item.retrieve"]
    assert len(retrieves) == 1
    conv.audio(made.id)
    assert len(conv.events[conv.events.type == "conversation.item.retrieve"]) == 1


def test_save_and_load_with_and_without_audio(voice, tmp_path):
    conv, seen = voice
    conv.send_audio(speech_like(), rate=16000)
    seen.wait("response.done")
    user, assistant = conv.items
    kept = {i.id: conv.audio(i.id) for i in conv.items}
    path = conv.save(tmp_path / "voice.jsonl", audio=True)
    assert (tmp_path / "voice.audio.zip").is_file()
    loaded = rnb.load(path)
    for item_id, clip in kept.items():
        again = loaded.audio(item_id)
        assert again.rate == clip.rate and np.array_equal(again.samples, clip.samples)
    pd.testing.assert_series_equal(loaded.df.audio_s, conv.df.audio_s)
    a, b = loaded.audio_timeline(), conv.audio_timeline()
    pd.testing.assert_frame_equal(a, b)
    bare = rnb.load(conv.save(tmp_path / "bare.jsonl"))
    with pytest.raises(NoAudioError, match="saved without audio"):
        bare.audio(assistant.id)
    # lengths survive without the audio: the VAD span, the deltas' lengths in the log
    assert bare.df.loc[user.id, "audio_s"] == pytest.approx(1.66)
    assert bare.df.loc[assistant.id, "audio_s"] == pytest.approx(kept[assistant.id].duration_s,
                                                                  abs=0.01)


@pytest.mark.parametrize("dialect", ["ga", "beta", "yandex"])
def test_voice_fields_per_dialect(dialect):
    conv = rnb.connect(dialect=dialect, timeout=10)
    try:
        seen = Waiter(conv, "session.updated")
        conv.update_session(voice="ash", turn_detection="server_vad",
                            output_modalities=["audio"], input_transcription="whisper-1")
        session = seen.wait("session.updated")[0].data["session"]
        if dialect == "beta":
            assert session["voice"] == "ash" and session["modalities"] == ["audio", "text"]
            assert session["turn_detection"]["type"] == "server_vad"
            assert session["input_audio_transcription"] == {"model": "whisper-1"}
        else:
            audio = session["audio"]
            assert audio["output"]["voice"] == "ash" and session["output_modalities"] == ["audio"]
            assert audio["input"]["turn_detection"]["type"] == "server_vad"
            assert audio["input"]["transcription"] == {"model": "whisper-1"}
        conv.update_session(turn_detection=None, input_transcription=None)
        session = seen.wait("session.updated", 2)[1].data["session"]
        found = session if dialect == "beta" else session["audio"]["input"]
        assert found.get("turn_detection") is None
    finally:
        conv.close()


def test_yandex_rate_is_followed():
    conv = rnb.connect(dialect="yandex", timeout=10)
    try:
        seen = Waiter(conv, "session.updated", "response.done")
        pcm = {"type": "audio/pcm", "rate": 44100}
        conv.update_session(output_modalities=["audio"], audio={"input": {"format": pcm},
                                                                "output": {"format": pcm}})
        seen.wait("session.updated")
        sent = speech_like(16000)
        conv.send_audio(sent, rate=16000)
        item_id = conv.commit_audio()
        clip = conv.audio(item_id)
        assert clip.rate == 44100 and len(clip) == len(resample(as_int16(sent), 16000, 44100))
        conv.respond()
        spoken = conv.audio(conv.items[-1].id)
        assert spoken.rate == 44100 and spoken.duration_s > 1
    finally:
        conv.close()


def test_pcm_conversions():
    assert as_int16(np.array([0.0, 1.0, -1.0, 2.0])).tolist() == [0, 32767, -32767, 32767]
    assert as_int16(b"\x01\x00\xff\xff").tolist() == [1, -1]
    assert as_int16(np.array([[0.5, -0.5], [1.0, 1.0]], dtype=np.float32)).tolist() == [0, 32767]
    with pytest.raises(ValueError, match="pairs"):
        as_int16(b"\x00")
    with pytest.raises(TypeError, match="int16 or float"):
        as_int16(np.zeros(4, dtype=np.int32))
    one_second = resample(as_int16(np.sin(np.arange(16000) / 8) * 0.5), 16000, 24000)
    assert one_second.dtype == np.int16 and len(one_second) == 24000


def test_clip_repr_is_a_player_with_escaped_text():
    clip = rnb.AudioClip(np.zeros(2400, dtype=np.int16), 24000, "<script>x</script>", "i1",
                         "assistant")
    bundle = clip._repr_mimebundle_()
    page = bundle["text/html"]
    assert '<audio controls preload="metadata" src="data:audio/wav;base64,' in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "0.10 s" in bundle["text/plain"]
    wav = base64.b64decode(page.split("base64,")[1].split('"')[0])
    assert wav == clip.wav_bytes() and wav[:4] == b"RIFF"


def replay(name: str) -> Any:
    """A recorded real stream fed frame by frame through the client core (offline)."""
    lines = (STREAMS / name).read_text().splitlines()
    meta = json.loads(lines[0])["_meta"]
    conv = rnb.RealtimeConversation(Connection.offline(meta["dialect"]))
    with conv._lock:
        for line in lines[1:]:
            conv._core.receive(line)
    return conv


def test_real_voice_stream_with_truncation_replayed():
    conv = replay("beta_webrtc_interrupt_truncate.jsonl")
    greeting = "item_BaU74LY2Poiq8lBMVXZ4R"
    user = "item_BaU77Slsnn0R5n45bdlkP"
    store = conv._audio
    assert store.truncated == {greeting: 1860}
    assert store.vad[user] == [2900, 3520]
    df = conv.df
    assert df.loc[greeting, "audio_s"] == pytest.approx(1.86)  # what was heard
    assert df.loc[user, "audio_s"] == pytest.approx(0.62)  # the VAD span
    assert df.loc["simulated-user-1748035262335", "audio_s"] is pd.NA  # a text item
    assert df.loc[user, "text"] == "Bye.\n"
    with pytest.raises(NoAudioError, match="not held"):  # WebRTC: audio never on the socket
        conv.audio(greeting)
    assert conv.audio_timeline().empty
    ga = replay("ga_sip_two_turns.jsonl")
    spans = {k: v for k, v in ga._audio.vad.items()}
    assert len(spans) == 2 and all(end > start for start, end in spans.values())
    users = ga.df[ga.df.role == "user"]
    assert users.audio_s.notna().all()


def test_on_audio_streams_decoded_deltas(conv):
    got: list[tuple[str, bytes, int]] = []
    conv.on_audio(lambda item_id, pcm, rate: got.append((item_id, pcm, rate)))
    conv.update_session(output_modalities=["audio"])
    conv.create("Hi.")
    item = conv.respond().items[0]
    assert {(i, r) for i, _, r in got} == {(item.id, 24000)}
    assert b"".join(p for _, p, _ in got) == conv.audio(item.id).samples.tobytes()
    with pytest.raises(RealtimeServerError):  # nothing buffered: the server refuses
        conv.commit_audio(timeout=5)


def test_audio_rates_follow_the_session():
    conv = rnb.connect(dialect="yandex", timeout=10)
    try:
        assert conv.audio_rates == {"input": 24000, "output": 24000}
        seen = Waiter(conv, "session.updated")
        conv.update_session(audio={"input": {"format": {"type": "audio/pcm", "rate": 16000}}})
        seen.wait("session.updated")
        assert conv.audio_rates == {"input": 16000, "output": 24000}
    finally:
        conv.close()
