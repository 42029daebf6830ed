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

The widget's audio (issue 13's browser figures, each from one run):

* **kernel -> browser bytes**: a :class:`~realtime_nb.notebook.widget.ConversationWidget`
  whose comm serialises every message like ipykernel (:class:`bench.RecordingComm`) forwards a
  spoken answer of the same server; "bytes" is what the widget sent for the audio (each
  ``audio`` / ``audio_done`` message's content frame plus its binary buffers) against the raw
  PCM16 of the answer (``conv.audio``), target <= 1.05x; "wire" adds the Jupyter envelope
  (info). Once as the server sends (faster than real time, as the real services do), once
  with deltas paced at about real time (``chunk_delay``; info).
* **in Chromium** (a real JupyterLab page, the browser tests' harness as in bench_render,
  with Chromium's fake microphone fed from a generated WAV of noise bursts; the Realtime server
  in a process of its own, as a real service is):
  - first audio delta in the kernel (``received_at`` of the item's first
    ``response.output_audio.delta``) to the first sample rendered by the page's player (the
    player worklet's frame mapped to the page's clock, js/src/audio/player.ts ``renderedAt``;
    never before the piece reached the page), over ``ANSWERS`` short answers, median, target
    <= 30 ms: once with the deltas about as fast as they play (:data:`PACED`: a real service
    streams while it speaks), and once as the embedded server sends them (a whole answer
    within ~50 ms, the kernel busy decoding the burst while the first piece travels; info).
    Each answer is asked for from a kernel thread 0.5 s after its cell ran, as push-to-talk or
    server VAD would start it: JupyterLab's own work for a cell run (30-60 ms of the page's
    main thread, traced) otherwise lands on the first delta and is the harness's, not the
    audio path's (measured with the cell's run overlapping: 34-48 ms);
  - ``speech_started`` in the kernel to playback stopped in the page (when the worklet stopped
    rendering the item), hands-free (server VAD) with the microphone streaming throughout and
    a long answer asked for again after each stop, median of ``BARGE_INS``, target <= 50 ms
    (one barge-in alone moved between 45 and 115 ms from run to run while Nagle's algorithm
    held Jupyter Server's frames to the page; ``realtime_nb_serverext`` turns it off);
  - browser -> kernel microphone bytes while hands-free streams: each ``mic`` message's
    content part plus its buffers as the page's WebSocket frames carry them (parsed from
    JupyterLab's v1 kernel protocol) against the PCM16 they carry, target <= 1.05x; the
    whole frames (info);
  - kernel -> browser audio in the page's received frames (info, a cross-check).

Playwright's waits poll every ``POLL_MS`` rather than every animation frame, so the harness
does not load the page's main thread while it measures.
"""

from __future__ import annotations

import json
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench import REPO_ROOT, RecordingComm, Row, fmt_ms, recording_comms

SECONDS = 30
QUICK_SECONDS = 8
CHUNK_MS = 40
RATE = 24000
TARGET = 0.05
BYTES_TARGET = 1.05
FIRST_SAMPLE_TARGET_MS = 30.0
STOP_TARGET_MS = 50.0
ANSWERS = 9
QUICK_ANSWERS = 5
#: Barge-ins measured (the median is the figure): one is too noisy on 2 cores.
BARGE_INS = 5
QUICK_BARGE_INS = 2
#: Playwright's waits poll the page this often (ms): its default, every animation frame,
#: loads the page's main thread with the harness's own work while audio arrives.
POLL_MS = 100

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
    out = cpu(quick)
    out["widget"] = widget_bytes()
    out["page"] = page(quick)
    return out


def cpu(quick: bool = False) -> dict[str, Any]:
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


# -------------------------------------------------------------------------------------------
# kernel -> browser bytes, from the widget's comm


class _AudioComm(RecordingComm):
    """A :class:`bench.RecordingComm` that also sums, for the audio messages alone, the content
    frame, the binary buffers and the whole wire message."""

    def __init__(self, **kwargs: Any) -> None:
        self.audio = {"messages": 0, "content": 0, "buffers": 0, "wire": 0}
        super().__init__(**kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:
        content = (data or {}).get("content") if (data or {}).get("method") == "custom" else None
        kind = content.get("kind") if isinstance(content, dict) else None
        with self.lock:
            before = (self.content_bytes, self.wire_bytes)
        super().publish_msg(msg_type, data, metadata, buffers, **keys)
        if kind in ("audio", "audio_done"):
            with self.lock:
                a = self.audio
                a["messages"] += 1
                a["content"] += self.content_bytes - before[0]
                a["buffers"] += sum(len(b) for b in buffers or ())
                a["wire"] += self.wire_bytes - before[1]


def _forwarded(url: str, text: str) -> dict[str, Any]:
    """One spoken answer through a widget: what its comm sent for the audio."""
    import realtime_nb as rnb
    from realtime_nb.notebook.widget import ConversationWidget

    conv = rnb.connect(url=url, timeout=120)
    try:
        conv.update_session(output_modalities=["audio"])
        with recording_comms(_AudioComm):
            widget = ConversationWidget(conv)
        conv.create(text)
        t0 = time.perf_counter()
        item = conv.respond().items[0]
        wall = time.perf_counter() - t0
        time.sleep(0.5)  # the last held chunks and audio_done
        pcm = len(conv.audio(item.id).samples) * 2
        a = dict(widget.comm.audio)
        widget.close()
    finally:
        conv.close()
    return {**a, "pcm": pcm, "seconds": pcm / 2 / RATE, "wall_s": wall,
            "bytes_ratio": (a["content"] + a["buffers"]) / pcm, "wire_ratio": a["wire"] / pcm}


def widget_bytes() -> dict[str, Any]:
    proc, url = _server()
    text = " ".join(_WORDS[i % len(_WORDS)] for i in range(40))
    try:
        burst = _forwarded(url, text)
        # about real time: an 80 ms audio delta and about one transcript delta between each
        paced = _forwarded(f"{url}?chunk_delay=0.04", text)
    finally:
        proc.terminate()
        proc.wait(10)
    return {"burst": burst, "paced": paced}


# -------------------------------------------------------------------------------------------
# in Chromium


def _v1_frame(data: bytes) -> tuple[dict[str, Any], int, int] | None:
    """A JupyterLab v1 kernel WebSocket frame (offsets, channel, header, parent header,
    metadata, content, buffers): ``(content, content bytes, buffer bytes)``, or None."""
    if len(data) < 8:
        return None
    n = struct.unpack_from("<Q", data, 0)[0]
    if n < 6 or 8 * (n + 1) > len(data):
        return None
    offsets = [*struct.unpack_from(f"<{n}Q", data, 8), len(data)]
    content = data[offsets[4]: offsets[5]]
    try:
        msg = json.loads(content)
    except ValueError:
        return None
    return msg, len(content), len(data) - offsets[5]


class _Frames:
    """Sums the page's kernel WebSocket frames that carry widget custom messages of some kinds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sums: dict[str, dict[str, int]] = {}
        self.on = True

    def add(self, payload: Any) -> None:
        if not self.on or isinstance(payload, str):
            return
        got = _v1_frame(bytes(payload))
        if got is None:
            return
        msg, content, buffers = got
        data = msg.get("data") if isinstance(msg, dict) else None
        inner = data.get("content") if isinstance(data, dict) else None
        kind = inner.get("kind") if isinstance(inner, dict) else None
        if kind not in ("mic", "audio", "audio_done"):
            return
        with self.lock:
            d = self.sums.setdefault(kind, {"messages": 0, "content": 0, "buffers": 0,
                                            "frames": 0})
            d["messages"] += 1
            d["content"] += content
            d["buffers"] += buffers
            d["frames"] += len(payload)


#: The answers' deltas about as fast as they play (an 80 ms audio delta and about one
#: transcript delta every 40 ms): a real service streams while it speaks.
PACED = "chunk_delay=0.04"


def _cells(url: str) -> list[str]:
    """Two conversations, each with its widget: ``fast`` gets its deltas as the embedded server
    sends them (a whole answer within ~50 ms), ``conv`` at about real time (:data:`PACED`)."""
    setup = f"""
import json, threading, time
import realtime_nb as rnb
fast = rnb.connect(url={url!r})
conv = rnb.connect(url={url + "?" + PACED!r})
for c in (fast, conv):
    c.update_session(output_modalities=["audio"], input_transcription="whisper-1")
    c.widget.mic_processing = False
last = {{}}
def answer(c):
    # asked from a kernel thread once this cell's run is over, as push-to-talk or server VAD
    # starts an answer: JupyterLab's own work for running a cell (tens of ms of the page's
    # main thread) is the harness's, not the audio path's, and must not land on the first delta
    def go():
        time.sleep(0.5)
        c.create("Hi.")
        iid = c.respond().items[0].id
        last.update(item=iid, first_delta=c._audio.first_audio[iid])
    last.clear()
    threading.Thread(target=go, daemon=True).start()
def long_answer():
    while conv.widget.responding:  # hands-free: an answer server VAD started may still run
        time.sleep(0.05)
    conv.create({" ".join(_WORDS) * 2!r})
    conv.respond(wait=False)
fast.widget
"""
    got = """
while not last:
    time.sleep(0.05)
print(json.dumps(last))
"""
    report = """
v = conv.widget._voice
print(json.dumps({"speech": v.speech_started, "played": v.played, "interrupts": v.interrupts,
                  "mic_bytes": v.mic_bytes, "mic_messages": v.mic_messages}))
"""
    return [setup, "conv.widget", "answer(fast)", "answer(conv)", "long_answer()", report, got]


#: The notebook's cells (see :func:`_cells`).
LONG_CELL, REPORT_CELL, GOT_CELL = 4, 5, 6
_WALL = "() => performance.timeOrigin + performance.now() - Date.now()"
ROOT = ".rnb-root"


def _first_samples(pg: Any, h: Any, cell: int, view: int, n: int) -> dict[str, list[float]]:
    """Run the answer cell ``n`` times; for each, the page's times (ms after the kernel got
    the first delta) of the first chunk arriving, the first sample rendered, and the worklet's
    report of it reaching the page."""
    out: dict[str, list[float]] = {"chunk": [], "sample": [], "report": []}
    root = pg.locator(ROOT).nth(view)
    root.locator(".rnb-voice").wait_for()
    for _ in range(n):
        before = root.get_attribute("data-first-sample") or ""
        h.run_cell(pg, cell)  # returns at once; the answer starts 0.5 s later
        pg.wait_for_function(
            "([sel, i, prev]) => { const v = document.querySelectorAll(sel)[i].dataset"
            ".firstSample; return !!v && v !== prev; }", arg=[ROOT, view, before],
            polling=POLL_MS)
        h.run_cell(pg, GOT_CELL)
        got = json.loads(h.cell_output_text(pg, GOT_CELL).strip().splitlines()[-1])
        first = root.get_attribute("data-first-sample").split()
        assert first[0] == got["item"], (first, got)
        skew = pg.evaluate(_WALL)  # the page's clock against Date.now()
        wall, arrived, reported = (float(x) - skew - got["first_delta"] * 1000
                                   for x in first[1:])
        out["sample"].append(wall)
        out["chunk"].append(arrived)
        out["report"].append(reported)
        pg.wait_for_function("([sel, i]) => document.querySelectorAll(sel)[i]"
                             ".dataset.audioState === 'idle'", arg=[ROOT, view],
                             polling=POLL_MS)
    return out


def page(quick: bool = False) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from bench.bench_render import harness

    h = harness()
    answers = QUICK_ANSWERS if quick else ANSWERS
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rnb-bench-audio-") as tmp:
        wav = h.speech_wav(Path(tmp) / "speech.wav")
        # the Realtime server in a process of its own, as a real service is: the kernel's
        # threads do only the kernel's work
        proc, url = _server()
        server = h.start_lab_server(Path(tmp) / "lab")
        frames_in, frames_out = _Frames(), _Frames()
        try:
            server.write_notebook("voice.ipynb", _cells(url))
            pw = sync_playwright().start()
            try:
                browser = pw.chromium.launch(executable_path=h.CHROMIUM,
                                             args=[*h.CHROMIUM_ARGS, *h.fake_mic_args(wav)])
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                context.set_default_timeout(60_000)
                pg = context.new_page()
                pg.on("websocket", lambda ws: (ws.on("framereceived", frames_in.add),
                                               ws.on("framesent", frames_out.add)))
                h.open_notebook(pg, server.url, "voice.ipynb")
                h.run_cell(pg, 0)
                h.run_cell(pg, 1)
                pg.wait_for_function("(sel) => document.querySelectorAll(sel).length === 2",
                                     arg=f"{ROOT}[data-loaded='true'] .rnb-talk")
                for view in (0, 1):  # a gesture in each widget: its player is ready
                    pg.locator(f"{ROOT} .rnb-header").nth(view).click()
                out["fast"] = _first_samples(pg, h, 2, 0, answers)
                out["paced"] = _first_samples(pg, h, 3, 1, answers)
                out["latency"] = pg.evaluate(
                    "async () => { const c = new AudioContext({sampleRate: 24000});"
                    " await new Promise((r) => setTimeout(r, 300));"
                    " const l = [c.outputLatency, c.baseLatency]; c.close(); return l; }")
                frames_in.on = False
                # barge-in: hands-free, the microphone streaming all along (the fake device
                # loops 6 s: 1 s silence, 2 s of noise bursts, 3 s silence); a long answer is
                # asked for again and again, and each burst stops the one playing
                root = pg.locator(ROOT).nth(1)
                hands_free = root.get_by_role("button", name="Hands-free")
                for i in range(QUICK_BARGE_INS if quick else BARGE_INS):
                    h.run_cell(pg, LONG_CELL)
                    pg.wait_for_function("(sel) => document.querySelectorAll(sel)[1]"
                                         ".dataset.audioItem", arg=ROOT, polling=POLL_MS)
                    if i == 0:
                        pg.wait_for_timeout(300)
                        hands_free.click()
                    pg.wait_for_function("(sel) => !document.querySelectorAll(sel)[1]"
                                         ".dataset.audioItem", arg=ROOT, timeout=30_000,
                                         polling=POLL_MS)
                pg.wait_for_timeout(4000)  # more microphone, for its bytes
                hands_free.click()
                pg.wait_for_timeout(500)
                out["mic_sent_samples"] = int(root.get_attribute("data-mic-sent-samples") or 0)
                h.run_cell(pg, REPORT_CELL)
                out["kernel"] = json.loads(
                    h.cell_output_text(pg, REPORT_CELL).strip().splitlines()[-1])
                browser.close()
            finally:
                pw.stop()
        finally:
            h.stop_lab_server(server)
            proc.terminate()
            proc.wait(10)
    out["frames_in"] = frames_in.sums
    out["frames_out"] = frames_out.sums
    out.update(_stops(out["kernel"]))
    return out


def _stops(k: dict[str, Any]) -> dict[str, Any]:
    """Each barge-in by speech: the kernel's ``speech_started`` (the latest before the page
    was asked to stop) to the page's stop, and to the page's asking (ms)."""
    stop, asked = [], []
    for item, _end, why in k["interrupts"]:
        stopped = (k["played"].get(item) or {}).get("stopped")
        if why != "speech_started" or not stopped:
            continue
        speech = [t for t in k["speech"] if t <= stopped["asked_at"]]
        if speech:
            stop.append((stopped["stopped_at"] - speech[-1]) * 1000)
            asked.append((stopped["asked_at"] - speech[-1]) * 1000)
    return {"stops_ms": stop, "stops_asked_ms": asked, "interrupts": k["interrupts"]}


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
        *_widget_rows(r["widget"]),
        *_page_rows(r["page"]),
    ]


def _widget_rows(w: dict[str, Any]) -> list[Row]:
    b, p = w["burst"], w["paced"]
    return [
        Row(f"voice: kernel -> browser bytes of {b['seconds']:.1f} s of assistant audio "
            f"({b['messages']} messages)", f"{b['content'] + b['buffers']:,} B",
            f"PCM {b['pcm']:,} B", f"{b['bytes_ratio']:.3f}", f"<= {BYTES_TARGET}x",
            b["bytes_ratio"] <= BYTES_TARGET),
        Row("voice: the same with the Jupyter envelope (wire)", f"{b['wire']:,} B",
            f"PCM {b['pcm']:,} B", f"{b['wire_ratio']:.3f}"),
        Row(f"voice: kernel -> browser, deltas paced at about real time ({p['messages']} "
            f"messages, {p['wall_s']:.1f} s)", f"{p['content'] + p['buffers']:,} B",
            f"PCM {p['pcm']:,} B", f"{p['bytes_ratio']:.3f}",
            f"wire {p['wire_ratio']:.3f}"),
    ]


def _page_rows(p: dict[str, Any]) -> list[Row]:
    mic = p["frames_out"].get("mic", {"messages": 0, "content": 0, "buffers": 0, "frames": 0})
    pcm = mic["buffers"] or 1
    mic_ratio = (mic["content"] + mic["buffers"]) / pcm
    audio = p["frames_in"].get("audio", {"messages": 0, "content": 0, "buffers": 0,
                                         "frames": 0})
    lat = p.get("latency") or [0, 0]
    stops = p["stops_ms"]
    stop = statistics.median(stops) if stops else float("nan")
    asked = statistics.median(p["stops_asked_ms"]) if stops else float("nan")
    out = []
    for key, how, target in (("paced", "deltas at about real time", True),
                             ("fast", "a whole answer's deltas within ~50 ms", False)):
        f = p[key]
        med = statistics.median(f["sample"])
        out.append(Row(
            f"voice: first audio delta in the kernel -> first sample in Chromium's player, "
            f"{how} (median of {len(f['sample'])})", fmt_ms(med),
            f"chunk in the page {statistics.median(f['chunk']):.1f} ms",
            f"{min(f['sample']):.0f}..{max(f['sample']):.0f} ms",
            f"<= {FIRST_SAMPLE_TARGET_MS:.0f} ms" if target else "",
            med <= FIRST_SAMPLE_TARGET_MS if target else None))
    return [
        *out,
        Row("voice: speech_started in the kernel -> playback stopped in Chromium (hands-free, "
            f"median of {len(stops)})", fmt_ms(stop), f"stop asked in the page {asked:.1f} ms",
            f"{min(stops, default=0):.0f}..{max(stops, default=0):.0f} ms",
            f"<= {STOP_TARGET_MS:.0f} ms", stop <= STOP_TARGET_MS),
        Row(f"voice: browser -> kernel microphone bytes ({mic['messages']} messages of "
            f"{mic['buffers'] // max(1, mic['messages']) // 2} samples)",
            f"{mic['content'] + mic['buffers']:,} B", f"PCM {mic['buffers']:,} B",
            f"{mic_ratio:.3f}", f"<= {BYTES_TARGET}x", mic_ratio <= BYTES_TARGET),
        Row("voice: the same as whole WebSocket frames (wire)", f"{mic['frames']:,} B",
            f"PCM {mic['buffers']:,} B", f"{mic['frames'] / pcm:.3f}"),
        Row(f"voice: kernel -> browser audio in the page's frames ({audio['messages']} "
            "messages)", f"{audio['content'] + audio['buffers']:,} B",
            f"PCM {audio['buffers']:,} B",
            f"{(audio['content'] + audio['buffers']) / max(1, audio['buffers']):.3f}",
            f"frames {audio['frames'] / max(1, audio['buffers']):.3f}"),
        Row("voice: Chromium's output latency (subtracted from what was heard)",
            f"{(lat[0] + lat[1]) * 1e3:.1f} ms", f"output {lat[0] * 1e3:.1f} + base "
            f"{lat[1] * 1e3:.1f} ms"),
    ]
