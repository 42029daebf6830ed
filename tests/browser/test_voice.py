"""Voice in the widget, in a real JupyterLab and headless Chromium with a fake microphone.

Chromium's fake capture device plays a WAV written here (48 kHz 16-bit mono: 1 s of silence,
2 s of speech-like noise bursts, 3 s of silence, looped), and the widget opens the microphone
with echo cancellation, noise suppression and gain control off (``w.mic_processing = False``)
so the samples arrive as they are. The embedded server hears with its energy VAD and speaks
with espeak-ng (or its tone voice). The page's player runs with Playwright's ``--mute-audio``:
the tests count the samples the player worklet rendered (``data-played-samples`` on the widget
root), never listen.

* push-to-talk held with the T key on a row (JupyterLab's command-mode shortcuts never see it)
  gives a user audio item with its transcript, whose audio is what the page captured; the
  assistant's answer plays to its last sample; the player reports its start to the kernel;
* the play button replays a stored item from the page, and an item whose audio the kernel does
  not hold is fetched first (``conversation.item.retrieve``); a refused microphone says so;
* hands-free (server VAD): speech during the assistant's answer stops playback and truncates
  the item within 100 ms of what the page had played; the list shows the item cut;
* two views of one widget play once; push-to-talk in one view barges in for both.

Every wait is on a condition in the page or the kernel; the kernel's side is read by running a
cell that prints JSON (the kernel handles browser messages only while idle).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import CHROMIUM_ARGS, chromium, fake_mic_args, speech_wav

pytestmark = pytest.mark.browser

RATE = 24000
ROOT = ".rnb-root"
SETUP = """
import json
import realtime_nb as rnb
from realtime_nb.core.items import item_text
conv = rnb.connect()
conv.update_session(output_modalities=["audio"], input_transcription="whisper-1")
w = conv.widget
w.mic_processing = False

def state():
    out = {"items": [], "mic_bytes": w._voice.mic_bytes, "mic_chunks": w._voice.mic_chunks,
           "mic_messages": w._voice.mic_messages,
           "interrupts": w._voice.interrupts, "played": w._voice.played,
           "truncates": [e["payload"].get("audio_end_ms") for e in conv.log
                         if e["type"] == "conversation.item.truncate"],
           "retrieves": sum(e["type"] == "conversation.item.retrieve" for e in conv.log),
           "started": dict(conv._audio.played)}
    for it in conv.items:
        held = conv._audio.pcm(it.id, full=True)
        pcm = conv._audio.pcm(it.id)
        rms = float(np.sqrt(np.mean(np.frombuffer(pcm[0], "<i2").astype(float) ** 2))) if pcm else 0
        out["items"].append({"id": it.id, "role": it.role, "text": item_text(it),
                             "samples": len(held[0]) // 2 if held else None,
                             "kept": len(pcm[0]) // 2 if pcm else None, "rms": rms,
                             "cut": conv._audio.truncated.get(it.id)})
    print(json.dumps(out))
import numpy as np
w
"""
STATE = "state()"
LONG = "the quick brown fox jumps over the lazy dog while seven bright lanterns glow " * 4


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Chromium with a fake microphone fed from a WAV (overrides conftest's ``browser``)."""
    wav = speech_wav(tmp_path_factory.mktemp("mic") / "speech.wav")
    with chromium([*CHROMIUM_ARGS, *fake_mic_args(wav)]) as b:
        yield b


def kernel_state(page: Any, run_cell: Any, cell_output_text: Any, index: int) -> dict[str, Any]:
    run_cell(page, index)
    return json.loads(cell_output_text(page, index).strip().splitlines()[-1])


def attr(page: Any, name: str, root: str = ROOT) -> str | None:
    return page.locator(root).first.get_attribute(name)


def played(page: Any, root: str = ROOT) -> int:
    return int(attr(page, "data-played-samples", root) or 0)


def wait_idle_player(page: Any, timeout: float = 60_000) -> None:
    """Until the page's player has nothing queued or playing."""
    page.wait_for_function(
        "(sel) => ['idle', 'suspended'].includes(document.querySelector(sel)?.dataset.audioState)",
        arg=ROOT, timeout=timeout)


def open_voice(page: Any, lab_server: Any, open_notebook: Any, run_cell: Any, name: str,
               extra: list[str]) -> None:
    lab_server.write_notebook(name, [SETUP, STATE, *extra])
    open_notebook(page, lab_server.url, name)
    run_cell(page, 0)
    page.wait_for_selector(f"{ROOT}[data-loaded='true'] .rnb-talk")


def test_push_to_talk_then_the_answer_plays_to_the_end(page, lab_server, open_notebook,
                                                      run_cell, cell_output_text):
    open_voice(page, lab_server, open_notebook, run_cell, "ptt.ipynb", [])
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    # T held while the widget has focus (command mode): push-to-talk, no JupyterLab shortcut
    page.locator(f"{ROOT} .rnb-handsfree").focus()
    page.keyboard.down("t")
    # the meter shows a noise burst (the fake device loops its WAV from wherever it is, so the
    # level at any one moment may be silence), then enough is held to hold 2 s of bursts
    page.wait_for_function(
        "(sel) => { const r = document.querySelector(sel);"
        " return r.dataset.talking === '' && +r.dataset.micLevel > -40; }",
        arg=ROOT, timeout=20_000)
    page.wait_for_function(
        "(sel) => { const r = document.querySelector(sel);"
        " return r.dataset.talking === '' && +r.dataset.micSentSamples > 24000 * 2.2; }",
        arg=ROOT, timeout=20_000)
    page.keyboard.up("t")
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells
    # the user's item with its transcript, then the answer, which plays to its last sample
    user = page.locator(f"{ROOT} .rnb-item[data-role='user']")
    user.locator(".rnb-text", has_text="of speech").wait_for(timeout=20_000)
    page.locator(f"{ROOT} .rnb-item[data-role='assistant'][data-status='completed']").wait_for(
        timeout=30_000)
    page.wait_for_function("(sel) => +document.querySelector(sel).dataset.playedSamples > 0",
                           arg=ROOT)
    wait_idle_player(page)
    st = kernel_state(page, run_cell, cell_output_text, 1)
    u, a = st["items"]
    assert u["role"] == "user" and "of speech" in u["text"]
    sent = int(attr(page, "data-mic-sent-samples") or 0)
    # every sample the page captured, in 1024-sample chunks, two a message
    assert st["mic_bytes"] == 2 * sent and st["mic_chunks"] >= 50
    assert st["mic_messages"] == (st["mic_chunks"] + 1) // 2
    assert u["samples"] > RATE * 2 and u["rms"] > 1000  # the noise bursts came through
    assert a["role"] == "assistant" and a["samples"] > 0
    assert played(page) == a["samples"]  # every sample sent, once
    assert a["id"] in st["started"] and st["played"][a["id"]]["ended"]["samples"] == a["samples"]
    # the rows show a play button and the duration
    chip = page.locator(f"{ROOT} .rnb-item[data-item-id='{a['id']}'] .rnb-audio")
    assert chip.locator(".rnb-audio-duration").inner_text().endswith(" s")


def test_play_button_replays_and_fetches(page, lab_server, open_notebook, run_cell,
                                         cell_output_text):
    made = ("import base64\n"
            "tone = (np.sin(np.arange(7200) / 3) * 12000).astype('<i2').tobytes()\n"
            "ext = conv.create({'type': 'message', 'role': 'user', 'content': [\n"
            "    {'type': 'input_audio', 'audio': base64.b64encode(tone).decode()}]})\n"
            "conv.create('Say something.'); r = conv.respond(); print(r.items[0].id)")
    # this page's microphone is refused, as a browser does when the user says no
    page.add_init_script("navigator.mediaDevices.getUserMedia = () => Promise.reject("
                         "new DOMException('Permission denied', 'NotAllowedError'));")
    open_voice(page, lab_server, open_notebook, run_cell, "play.ipynb", [made])
    run_cell(page, 2)
    spoken = cell_output_text(page, 2).strip().splitlines()[-1]
    wait_idle_player(page)
    st = kernel_state(page, run_cell, cell_output_text, 1)
    items = {i["id"]: i for i in st["items"]}
    n = items[spoken]["samples"]
    assert played(page) == n
    # replayed from what the page holds: exactly its samples again, nothing asked
    page.locator(f"{ROOT} .rnb-item[data-item-id='{spoken}'] .rnb-play").click()
    page.wait_for_function("([sel, want]) => +document.querySelector(sel).dataset.playedSamples"
                           " === want", arg=[ROOT, 2 * n], timeout=30_000)
    # an item whose audio the kernel does not hold: fetched (retrieved), then played
    ext = next(i for i in st["items"] if i["role"] == "user")
    assert ext["samples"] is None
    page.locator(f"{ROOT} .rnb-item[data-item-id='{ext['id']}'] .rnb-play").click()
    page.wait_for_function("([sel, want]) => +document.querySelector(sel).dataset.playedSamples"
                           " === want", arg=[ROOT, 2 * n + 7200], timeout=30_000)
    st = kernel_state(page, run_cell, cell_output_text, 1)
    assert st["retrieves"] == 1
    assert page.locator(f"{ROOT} .rnb-item[data-item-id='{ext['id']}'] "
                        ".rnb-audio-duration").inner_text() == "0.3 s"
    # talking without a microphone says why, and sends nothing
    page.locator(f"{ROOT} .rnb-talk").click()
    status = page.locator(f"{ROOT} .rnb-voice-status[data-error]")
    status.filter(has_text="Microphone permission denied").wait_for()
    assert attr(page, "data-mic-state") == "error" and attr(page, "data-mic-sent-samples") == "0"


def test_hands_free_barge_in_truncates_where_the_page_was(page, lab_server, open_notebook,
                                                          run_cell, cell_output_text):
    speak = f"conv.create({LONG!r} * 2); conv.respond(wait=False)"
    open_voice(page, lab_server, open_notebook, run_cell, "vad.ipynb", [speak])
    run_cell(page, 2)
    page.wait_for_function("(sel) => +document.querySelector(sel).dataset.playedSamples > 12000",
                           arg=ROOT, timeout=30_000)
    page.get_by_role("button", name="Hands-free").click()
    # the fake microphone speaks within a few seconds: playback stops at once
    page.wait_for_function(
        "(sel) => { const r = document.querySelector(sel);"
        " return r.dataset.voiceMode === 'vad' && r.dataset.micState === 'on'; }", arg=ROOT)
    page.wait_for_function("(sel) => document.querySelector(sel).dataset.audioState !== 'playing'"
                           " && !document.querySelector(sel).dataset.audioItem", arg=ROOT,
                           timeout=20_000)
    at_stop = played(page)
    page.get_by_role("button", name="Hands-free").click()  # off again
    st = kernel_state(page, run_cell, cell_output_text, 1)
    for _ in range(20):
        if st["truncates"]:
            break
        page.wait_for_timeout(250)
        st = kernel_state(page, run_cell, cell_output_text, 1)
    (item_id, end_ms, why), *_ = st["interrupts"]
    assert why == "speech_started"
    assert st["truncates"][0] == end_ms
    assert abs(end_ms - at_stop * 1000 / RATE) <= 100
    spoken = next(i for i in st["items"] if i["id"] == item_id)
    assert spoken["cut"] == end_ms and spoken["kept"] == end_ms * RATE // 1000
    assert spoken["samples"] > spoken["kept"]  # more had arrived than was heard
    duration = page.locator(f"{ROOT} .rnb-item[data-item-id='{item_id}'] .rnb-audio-duration")
    duration.filter(has_text="(cut)").wait_for()


def test_two_views_play_once_and_push_to_talk_barges_in(page, lab_server, open_notebook,
                                                         run_cell, cell_output_text):
    short = "conv.create('Hello there.'); r = conv.respond(); print(r.items[0].id)"
    long = f"conv.create({LONG!r}); conv.respond(wait=False)"
    open_voice(page, lab_server, open_notebook, run_cell, "views.ipynb", ["w", short, long])
    run_cell(page, 2)  # a second view of the same widget
    page.wait_for_function(f"() => document.querySelectorAll('{ROOT}[data-loaded=\"true\"]')"
                           ".length === 2")
    run_cell(page, 3)
    first = cell_output_text(page, 3).strip().splitlines()[-1]
    wait_idle_player(page)
    st = kernel_state(page, run_cell, cell_output_text, 1)
    n = next(i["samples"] for i in st["items"] if i["id"] == first)
    views = page.locator(ROOT)
    assert [int(v.get_attribute("data-played-samples")) for v in views.all()] == [n, n]
    # a long answer; push-to-talk in the second view stops it for both
    run_cell(page, 4)
    page.wait_for_function("([sel, n]) => +document.querySelector(sel).dataset.playedSamples"
                           " > n + 12000", arg=[ROOT, n], timeout=30_000)
    talk = views.nth(1).locator(".rnb-talk")
    talk.hover()
    page.mouse.down()
    page.wait_for_function("(sel) => [...document.querySelectorAll(sel)].every("
                           "(r) => !r.dataset.audioItem)", arg=ROOT)
    at_stop = played(page)
    page.wait_for_timeout(600)  # still held: nothing plays in either view
    assert [int(v.get_attribute("data-played-samples")) for v in views.all()] == [at_stop] * 2
    page.mouse.up()
    st = kernel_state(page, run_cell, cell_output_text, 1)
    (_, end_ms, why), = [x for x in st["interrupts"] if x[0] != first]
    assert why == "talk" and st["truncates"][-1] == end_ms
    assert abs(end_ms - (at_stop - n) * 1000 / RATE) <= 100
