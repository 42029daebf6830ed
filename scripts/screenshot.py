"""Take the README screenshots: the widget with a realistic conversation in a real JupyterLab.

Run: .venv/bin/python scripts/screenshot.py [OUTDIR]      (default: docs/)

Writes screenshot.png (light), screenshot-dark.png, screenshot-narrow.png (a 500 px window),
screenshot-session.png (the session panel open), screenshot-long.png (a long answer,
collapsed) and screenshot-voice.png (a spoken turn with play buttons, a tool waiting for
approval, the voice bar). Uses the browser tests' harness (tests/browser/conftest.py):
Debian's Chromium, a private JupyterLab on a free port, the embedded server (no key, no
network).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser import conftest as lab  # noqa: E402

ANSWER = """Oslo in late autumn is **cold and dark early**, so plan for it:

- Sunset is around **15:30**: start outdoor plans early.
- Bring layers and waterproof shoes; it is often near `0 °C`.
- Public transport is excellent: buy tickets in the *Ruter* app.

Card payments work almost everywhere, so you hardly need cash."""

LONG = "\n\n".join(
    f"## Day {d}\n\n" + " ".join(
        f"Walk {k} covers a different part of the city, with a stop for coffee and a museum."
        for k in range(1, 9))
    for d in range(1, 8))

#: A spoken turn (noise bursts as the microphone, the embedded server's voice answering), then
#: a tool that asks for approval, waiting on Approve / Deny.
VOICE = """import time
import numpy as np
vc = rnb.connect()
vc.update_session(turn_detection={"type": "server_vad", "silence_duration_ms": 300},
                  output_modalities=["audio"], input_transcription="whisper-1")

@vc.tool(approve=True)
def delete_file(path: str) -> str:
    \"\"\"Delete a file from the workspace.

    Args:
        path: The file to delete.
    \"\"\"
    return f"deleted {path}"

rate = 24000
rng = np.random.default_rng(7)
burst = lambda: np.concatenate([rng.normal(0, 0.2, rate // 4), np.zeros(rate // 16)])
signal = np.concatenate([np.zeros(rate // 2), *[burst() for _ in range(5)],
                         np.zeros(rate)]).astype(np.float32)
turn = vc.done_items(timeout=30)
for start in range(0, len(signal), rate // 10):  # 100 ms chunks, in real time
    vc.send_audio(signal[start:start + rate // 10])
    time.sleep(0.1)
next(item for item in turn if item.role == "assistant")
turn.close()
vc.update_session(turn_detection=None)
vc.create('Please use delete_file for "/tmp/old_notes.txt".')
vc.respond()
vc"""

CELLS = [
    f"""import json
import realtime_nb as rnb
conv = rnb.connect()
conv.create(role="system", text="You are a concise travel assistant.", previous_item_id="root")
conv.create("Hi! I'm flying to Oslo tomorrow. Anything I should know?")
conv.create(role="assistant", text={ANSWER!r})
conv.update_session(tools=[{{"type": "function", "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {{"type": "object", "properties": {{"city": {{"type": "string"}}}},
                   "required": ["city"]}}}}])
conv.create("What is the weather in Oslo? Use get_weather.")
call = conv.respond().items[0]
conv.create({{"type": "function_call_output", "call_id": call.call_id,
             "output": json.dumps({{"city": "Oslo", "temp_c": 4, "sky": "light snow"}})}})
conv.respond()
conv""",
    f"""long = rnb.connect()
long.create("Plan a week of walks in Oslo, day by day.")
long.create(role="assistant", text={LONG!r})
long""",
    VOICE,
]


def theme(page: Any, name: str) -> None:
    page.evaluate("""async (name) => {
        await window.jupyterapp.commands.execute('apputils:change-theme', {theme: name}); }""",
                  name)
    light = "true" if "Light" in name else "false"
    page.wait_for_function(f"document.body.dataset.jpThemeLight === '{light}'")
    page.wait_for_timeout(400)


def shot(page: Any, index: int, path: Path, hover: int | None = None) -> None:
    """The index-th widget; with ``hover``, the mouse rests on that row (its actions show)."""
    root = page.locator(".rnb-root").nth(index)
    if hover is None:
        page.mouse.move(0, 0)  # no hover: row actions rest hidden
    else:
        root.locator(".rnb-item").nth(hover).hover()
    page.wait_for_timeout(300)
    root.screenshot(path=str(path))
    print(path)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0]) if args else ROOT / "docs"
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    server = lab.start_lab_server(tmp)
    try:
        server.write_notebook("demo.ipynb", CELLS)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=lab.CHROMIUM, args=lab.CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1000, "height": 2000})
            lab.open_notebook(page, server.url, "demo.ipynb")
            page.add_style_tag(content=".rnb-root { --rnb-list-max-height: 2000px; }")
            lab.run_all(page)
            page.wait_for_function(
                "document.querySelectorAll('.rnb-root').length === 3 && "
                "[...document.querySelectorAll('.rnb-root')[0].querySelectorAll('.rnb-item')]"
                ".filter(r => r.dataset.role === 'assistant').length === 2")
            lab_hide_sidebar(page)
            shot(page, 0, out / "screenshot.png", hover=2)
            shot(page, 1, out / "screenshot-long.png")
            page.locator(".rnb-root").nth(2).locator(".rnb-tool button").first.wait_for()
            shot(page, 2, out / "screenshot-voice.png")
            root = page.locator(".rnb-root").first
            root.get_by_role("button", name="Toggle session panel").click()
            shot(page, 0, out / "screenshot-session.png")
            root.get_by_role("button", name="Toggle session panel").click()
            theme(page, "JupyterLab Dark")
            shot(page, 0, out / "screenshot-dark.png")
            theme(page, "JupyterLab Light")
            page.set_viewport_size({"width": 500, "height": 2000})
            page.wait_for_timeout(500)
            shot(page, 0, out / "screenshot-narrow.png")
            browser.close()
    finally:
        lab.stop_lab_server(server)


def lab_hide_sidebar(page: Any) -> None:
    """Collapse Lab's left sidebar so the notebook (and the widget) gets the width."""
    page.evaluate("""async () => {
        const app = window.jupyterapp;
        if (app && app.shell && !app.shell.leftCollapsed) app.shell.collapseLeft();
    }""")
    page.wait_for_timeout(300)


if __name__ == "__main__":
    main()
