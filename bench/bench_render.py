"""Rendering in Chromium: first paint of a 10,000-item conversation, and frame times while
deltas stream, in a real JupyterLab page (the browser tests' harness:
tests/browser/conftest.py's ``start_lab_server``, ``open_notebook``, ``run_cell``).

The notebook fills a conversation on the embedded server (``conv.create(..., wait=False)`` in
chunks), creates ``conv.widget`` in one cell (the model and its snapshot reach the page), then
displays it in the next. Measured in the page with ``performance.now()``:

* first paint: from the moment the display cell's output element appears to the first frame
  painted after ``.rnb-item`` rows exist (a rAF then a task: the frame has been painted);
  baseline: the same measure for an ``ipywidgets.HTML`` of 10,000 short ``<div>`` lines,
  created and displayed the same way in the same page. Target < 300 ms.
* end to end (info): from pressing Ctrl+Enter on a cell that creates a *new* widget of the
  same 10,000 items and displays it, to its rows painted (kernel snapshot, transfer, model).
* streaming: a kernel thread runs ``create`` + ``respond`` turns on the embedded server (each
  answer streams one delta per word, as fast as the server sends) while the page records
  every animation frame. "frame work" is the time spent in ``requestAnimationFrame``
  callbacks per frame (the widget coalesces deltas and paints there, forced layout
  included; the page's ``requestAnimationFrame`` is wrapped to time them); "frame interval"
  is the time between frames; "main-thread busy" is Chromium's TaskDuration (CDP
  ``Performance.getMetrics``) over the window divided by the frames. Target: frame work
  < 16 ms at the median. Baseline: the frame interval of the same page idle.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import REPO_ROOT, Row, fmt_ms

N_ITEMS = 10_000
QUICK_ITEMS = 2_000
TURNS = 8
WORDS_PER_ANSWER = 400
QUICK_TURNS = 3
FIRST_PAINT_TARGET_MS = 300.0
FRAME_TARGET_MS = 16.0


def harness() -> ModuleType:
    """tests/browser/conftest.py, loaded as a plain module (it only needs pytest importable)."""
    name = "realtime_nb_browser_harness"
    if name in sys.modules:
        return sys.modules[name]
    path = REPO_ROOT / "tests" / "browser" / "conftest.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def cells(n_items: int, turns: int, words: int) -> list[str]:
    fill = f"""
import json, threading, time
import realtime_nb as rnb
conv = rnb.connect()
N = {n_items}
t0 = time.perf_counter()
for start in range(0, N, 250):  # chunks: a burst of 10,000 waiting creates is quadratic
    for i in range(start, min(N, start + 250)):
        words = 'lorem ipsum dolor sit amet consectetur adipiscing elit ' * (1 + i % 9)
        conv.create(f'message {{i}}: ' + words, role='user' if i % 2 == 0 else 'assistant',
                    wait=False)
    while len(conv) < min(N, start + 250):
        time.sleep(0.002)
print(json.dumps({{"fill_s": time.perf_counter() - t0, "items": len(conv)}}))
"""
    make_widget = """
t0 = time.perf_counter()
w = conv.widget
print(json.dumps({"widget_s": time.perf_counter() - t0}))
"""
    html = """
import ipywidgets
lines = ''.join(f"<div class='rnb-bench-line'>line {i}: lorem ipsum dolor sit amet</div>"
                for i in range(N))
h = ipywidgets.HTML(lines)
"""
    end_to_end = """
from realtime_nb.notebook.widget import ConversationWidget
ConversationWidget(conv)
"""
    stream = f"""
done = threading.Event()
stats = {{}}
def chat():
    text = ' '.join(f'word{{k}}' for k in range({words}))
    n0 = len(conv.log)
    t = time.perf_counter()
    for i in range({turns}):
        conv.create(f'turn {{i}}: ' + text)
        conv.respond()
    stats['stream_s'] = time.perf_counter() - t
    stats['deltas'] = sum(1 for e in conv.log[n0:] if e['type'].endswith('.delta'))
    done.set()
threading.Thread(target=chat, daemon=True).start()
"""
    wait = """
done.wait(300)
print(json.dumps(stats))
"""
    return [fill, make_widget, "w", html, "h", "h.close()", stream, wait, end_to_end]


_WATCH_PAINT = """
([cellIndex, rowSel]) => {
  const raf = window.__rnbOrigRaf || window.requestAnimationFrame.bind(window);
  const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[cellIndex];
  const st = (window.__rnbPaint = {tRun: performance.now(), tOut: null, tRows: null,
                                   tPaint: null, rows: 0});
  const check = () => {
    if (st.tOut === null && cell.querySelector('.jp-OutputArea-output')) {
      st.tOut = performance.now();
    }
    if (st.tRows === null && cell.querySelector(rowSel)) {
      st.tRows = performance.now();
      st.rows = cell.querySelectorAll(rowSel).length;
      obs.disconnect();
      raf(() => setTimeout(() => { st.tPaint = performance.now(); }, 0));
    }
  };
  const obs = new MutationObserver(check);
  obs.observe(cell, {subtree: true, childList: true});
}
"""

_FRAMES_START = """
() => {
  if (!window.__rnbOrigRaf) {
    const orig = (window.__rnbOrigRaf = window.requestAnimationFrame.bind(window));
    window.__rnbCbWork = 0;
    window.requestAnimationFrame = (cb) => orig((ts) => {
      const t0 = performance.now();
      try { cb(ts); } finally { window.__rnbCbWork += performance.now() - t0; }
    });
  }
  const orig = window.__rnbOrigRaf;
  const st = (window.__rnbFrames = {intervals: [], work: [], last: null, running: true});
  const loop = (ts) => {
    if (st.last !== null) {
      st.intervals.push(ts - st.last);
      st.work.push(window.__rnbCbWork);
    }
    window.__rnbCbWork = 0;
    st.last = ts;
    if (st.running) orig(loop);
  };
  orig(loop);
}
"""

_FRAMES_STOP = """
() => { const st = window.__rnbFrames; st.running = false;
        return {intervals: st.intervals, work: st.work}; }
"""


def _first_paint(page: Any, h: ModuleType, cell: int, row_sel: str) -> dict[str, float]:
    page.evaluate(_WATCH_PAINT, [cell, row_sel])
    h.run_cell(page, cell, timeout_ms=120_000)
    page.wait_for_function("() => window.__rnbPaint && window.__rnbPaint.tPaint !== null",
                           timeout=120_000)
    st = page.evaluate("() => window.__rnbPaint")
    return {"out_to_paint_ms": st["tPaint"] - st["tOut"],
            "out_to_rows_ms": st["tRows"] - st["tOut"],
            "run_to_paint_ms": st["tPaint"] - st["tRun"], "rows_in_dom": st["rows"]}


def _frames(page: Any, cdp: Any, action: Any) -> dict[str, Any]:
    def busy() -> float:
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return metrics.get("TaskDuration", 0.0) * 1e3

    b0 = busy()
    t0 = time.perf_counter()
    page.evaluate(_FRAMES_START)
    action()
    got = page.evaluate(_FRAMES_STOP)
    wall = time.perf_counter() - t0
    b1 = busy()
    intervals, work = got["intervals"], got["work"]
    n = max(1, len(intervals))
    return {
        "frames": len(intervals),
        "wall_s": wall,
        "interval_median_ms": statistics.median(intervals) if intervals else float("nan"),
        "interval_p95_ms": _pct(intervals, 95),
        "slow_frames_share": sum(1 for x in intervals if x > 20) / n,
        "work_median_ms": statistics.median(work) if work else float("nan"),
        "work_p95_ms": _pct(work, 95),
        "work_max_ms": max(work) if work else float("nan"),
        "busy_per_frame_ms": (b1 - b0) / n,
        "busy_share": (b1 - b0) / 1e3 / wall,
    }


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


def run(quick: bool = False) -> dict[str, Any]:
    h = harness()
    n = QUICK_ITEMS if quick else N_ITEMS
    turns = QUICK_TURNS if quick else TURNS
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {"n_items": n}
    with tempfile.TemporaryDirectory(prefix="rnb-bench-lab-") as tmp:
        server = h.start_lab_server(Path(tmp))
        try:
            server.write_notebook("bench.ipynb", cells(n, turns, WORDS_PER_ANSWER))
            pw = sync_playwright().start()
            try:
                browser = pw.chromium.launch(executable_path=h.CHROMIUM, args=h.CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                context.set_default_timeout(120_000)
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                h.open_notebook(page, server.url, "bench.ipynb")
                cdp = context.new_cdp_session(page)
                cdp.send("Performance.enable")
                h.run_cell(page, 0, timeout_ms=300_000)
                out["fill"] = json.loads(h.cell_output_text(page, 0).strip().splitlines()[-1])
                h.run_cell(page, 1, timeout_ms=120_000)
                out["widget"] = json.loads(h.cell_output_text(page, 1).strip().splitlines()[-1])
                out["paint"] = _first_paint(page, h, 2, ".rnb-item")
                h.run_cell(page, 3, timeout_ms=120_000)
                out["html"] = _first_paint(page, h, 4, ".rnb-bench-line")
                h.run_cell(page, 5)  # h.close(): its 10,000 divs leave the page
                # scroll the display cell's widget into view, then frames idle vs streaming
                page.locator(".jp-Notebook .jp-Cell").nth(2).scroll_into_view_if_needed()
                out["idle"] = _frames(page, cdp, lambda: page.wait_for_timeout(2000))

                def stream() -> None:
                    h.run_cell(page, 6, timeout_ms=120_000)
                    h.run_cell(page, 7, timeout_ms=300_000)

                out["stream"] = _frames(page, cdp, stream)
                out["stream_kernel"] = json.loads(
                    h.cell_output_text(page, 7).strip().splitlines()[-1])
                out["end_to_end"] = _first_paint(page, h, 8, ".rnb-item")
                out["page_errors"] = errors
                browser.close()
            finally:
                pw.stop()
        finally:
            h.stop_lab_server(server)
    return out


def rows(r: dict[str, Any]) -> list[Row]:
    n = r["n_items"]
    p, html, e2e = r["paint"], r["html"], r["end_to_end"]
    s, idle, k = r["stream"], r["idle"], r["stream_kernel"]
    fp = p["out_to_paint_ms"]
    rate = k["deltas"] / k["stream_s"] if k.get("stream_s") else 0.0
    return [
        Row(f"render first paint, {n:,} items (output -> rows painted)", fmt_ms(fp),
            f"HTML {fmt_ms(html['out_to_paint_ms'])}", f"{fp / html['out_to_paint_ms']:.2f}",
            f"< {FIRST_PAINT_TARGET_MS:.0f} ms", fp < FIRST_PAINT_TARGET_MS),
        Row(f"render end to end, new widget of {n:,} items (run -> painted)",
            fmt_ms(e2e["run_to_paint_ms"]), f"HTML {fmt_ms(html['run_to_paint_ms'])}",
            f"{e2e['run_to_paint_ms'] / html['run_to_paint_ms']:.2f}"),
        Row(f"render frame work while streaming ({rate:,.0f} deltas/s)",
            f"{s['work_median_ms']:.2f} ms", "", f"p95 {s['work_p95_ms']:.1f}",
            f"< {FRAME_TARGET_MS:.0f} ms median", s["work_median_ms"] < FRAME_TARGET_MS),
        Row("render frame interval while streaming (median)",
            f"{s['interval_median_ms']:.1f} ms", f"idle {idle['interval_median_ms']:.1f} ms",
            f"{s['interval_median_ms'] / idle['interval_median_ms']:.2f}"),
        Row("render frames slower than 20 ms while streaming",
            f"{100 * s['slow_frames_share']:.0f}%", f"idle {100 * idle['slow_frames_share']:.0f}%"),
        Row("render main-thread busy per frame while streaming",
            f"{s['busy_per_frame_ms']:.1f} ms", f"idle {idle['busy_per_frame_ms']:.1f} ms",
            f"{100 * s['busy_share']:.0f}% busy"),
    ]


def main() -> None:
    import argparse

    from bench import format_table

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    result = run(parser.parse_args().quick)
    print(format_table(rows(result)))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
