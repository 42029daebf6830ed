"""Take the README screenshot: the widget with a realistic conversation in a real JupyterLab.

Run: .venv/bin/python scripts/screenshot.py [docs/screenshot.png] [--dark]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser import conftest as lab  # noqa: E402

CELLS = [
    """import json
import realtime_nb as rnb
conv = rnb.connect()
conv.create(role="system", text="You are a concise travel assistant.", previous_item_id="root")
conv.create("Hi! I'm flying to Oslo tomorrow. Anything I should know?")
conv.respond()
conv.update_session(tools=[{"type": "function", "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}])
conv.create("What is the weather in Oslo? Use get_weather.")
call = conv.respond().items[0]
conv.create({"type": "function_call_output", "call_id": call.call_id,
             "output": json.dumps({"city": "Oslo", "temp_c": 4, "sky": "light snow"})})
conv.respond()
conv""",
]


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0]) if args else ROOT / "docs" / "screenshot.png"
    tmp = Path(tempfile.mkdtemp())
    server = lab.start_lab_server(tmp)
    try:
        server.write_notebook("demo.ipynb", CELLS)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=lab.CHROMIUM, args=lab.CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 1100})
            lab.open_notebook(page, server.url, "demo.ipynb")
            page.add_style_tag(content=".rnb-root { --rnb-list-max-height: 2000px; }")
            lab.run_all(page)
            page.wait_for_selector(".rnb-root .rnb-item[data-role='assistant']")
            page.locator(".rnb-root").first.screenshot(path=str(out))
            browser.close()
    finally:
        lab.stop_lab_server(server)
    print(out)


if __name__ == "__main__":
    main()
