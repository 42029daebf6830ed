"""Issue 14 in a real JupyterLab: the widget's life around it (one notebook, one page, in file
order): the session panel, a closed session, narrow windows, an accessibility scan (axe-core,
light and dark), the %%rnb magic, the quickstart's words, a saved notebook, and last a kernel
that hangs and then restarts. Each test is named after the finding it pins and failed on the
code before its fix.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import (
    REPO_ROOT,
    cell_output_text,
    module_page,
    run_cell,
)

pytestmark = pytest.mark.browser

ROWS = ".rnb-root .rnb-item"
AXE = REPO_ROOT / "js" / "node_modules" / "axe-core" / "axe.min.js"

CELLS = [
    # 0
    "import json, os, time\nimport realtime_nb as rnb\n%load_ext realtime_nb\n"
    "conv = rnb.connect()\nconv.create(role='system', text='Be brief.')\n"
    "conv.create('What is a **conversation item**?')\nconv.respond()\nconv",
    # 1
    "print(json.dumps(conv.session_config))",
    # 2: f7
    "%%rnb --respond\nTell me two things",
    # 3: f4
    "closed = rnb.connect()\nclosed.create('before closing')\nclosed.close()\nclosed",
    # 4: the kernel's pid (f2)
    "print(os.getpid())\nconv.widget.action_timeout = 3",
    # 5
    "conv.create('written after the widget was shown')\ntime.sleep(2.5)",
]


@pytest.fixture(scope="module")
def nb(browser: Any, lab_server: Any, request: pytest.FixtureRequest) -> Any:
    with module_page(browser, lab_server, request, "ux_life.ipynb", CELLS) as page:
        page.wait_for_function(f"document.querySelectorAll('{ROWS}').length === 3")
        yield page


def session(page: Any) -> dict[str, Any]:
    run_cell(page, 1)
    return json.loads(cell_output_text(page, 1).strip().splitlines()[-1])


def test_session_panel_edits_what_the_server_accepts(nb):
    root = nb.locator(".rnb-root").first
    root.get_by_role("button", name="Toggle session panel").click()
    panel = root.locator(".rnb-session")
    expect(panel).to_be_visible()
    expect(panel.get_by_label("Instructions")).to_have_value(re.compile("offline responder"))
    panel.get_by_label("Instructions").fill("Answer like a pirate.")
    panel.get_by_label("Turn detection (server VAD)").check()
    panel.get_by_label("Threshold").fill("0.7")
    panel.get_by_label("Voice").select_option("marin")
    panel.get_by_role("button", name="Apply session settings").click()
    expect(panel.locator(".rnb-session-status")).to_contain_text("as the server reported")
    cfg = session(nb)
    assert cfg["instructions"] == "Answer like a pirate."
    assert cfg["audio"]["input"]["turn_detection"]["threshold"] == 0.7
    assert cfg["audio"]["output"]["voice"] == "marin"
    # a change the server refuses: its error shows beside the field it names
    panel.get_by_label("Tools (JSON array)").fill('[{"type": "function"}]')
    panel.get_by_role("button", name="Apply session settings").click()
    expect(panel.locator('[data-field="tools"] .rnb-field-error')).to_contain_text("name")
    panel.get_by_label("Tools (JSON array)").fill("[not json")
    panel.get_by_role("button", name="Apply session settings").click()
    expect(panel.locator('[data-field="tools"] .rnb-field-error')).to_contain_text("JSON")
    panel.get_by_role("button", name="Reset session settings").click()
    root.get_by_role("button", name="Toggle session panel").click()
    no_stderr(nb)


def no_stderr(page: Any) -> None:
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    assert stderr.count() == 0, stderr.all_inner_texts()


def test_f7_rnb_respond_prints_the_answer_as_text(nb):
    run_cell(nb, 2)
    out = cell_output_text(nb, 2)
    assert "[assistant] You said:" in out, out
    assert not re.search(r"^['\"]", out.strip().splitlines()[-1]), out
    assert "\\n" not in out


def test_f4_a_closed_session_says_so_once_and_turns_the_controls_off(nb):
    run_cell(nb, 3)
    closed = nb.locator(".rnb-root").nth(1)
    expect(closed.locator(".rnb-status")).to_have_attribute("data-status", "closed")
    expect(closed.locator(".rnb-notice")).to_contain_text("The session is closed")
    for name in ("Send message", "Ask for a response", "Stop response"):
        expect(closed.get_by_role("button", name=name)).to_be_disabled()
    expect(closed.locator(".rnb-composer textarea")).to_be_disabled()
    item = closed.locator(".rnb-item").first
    item.hover()
    expect(item.get_by_role("button", name="Delete item")).to_be_disabled()
    expect(item.get_by_role("button", name="Copy text")).to_be_enabled()  # reading still works
    assert closed.locator(".rnb-error").count() == 0
    assert closed.inner_text().count("The session is closed") == 1  # said once, in words


def test_f22_nothing_is_clipped_at_500px_with_the_sidebar_open(nb):
    nb.set_viewport_size({"width": 500, "height": 900})
    try:
        sidebar = nb.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="filebrowser"]')
        if sidebar.count() and "lm-mod-current" not in (sidebar.get_attribute("class") or ""):
            sidebar.click()
        root = nb.locator(".rnb-root").first
        root.scroll_into_view_if_needed()
        first = root.locator(".rnb-item").first
        first.hover()
        clipped = root.evaluate("""(root) => {
            const out = [], box = root.getBoundingClientRect();
            const cell = root.closest('.jp-OutputArea-output') || root.parentElement;
            const outer = cell.getBoundingClientRect();
            if (box.right > outer.right + 1) out.push('root ' + box.right + ' > ' + outer.right);
            const els = root.querySelectorAll('.rnb-header button, .rnb-counts, .rnb-status, '
              + '.rnb-item:first-child .rnb-actions button');
            for (const e of els) {
              const r = e.getBoundingClientRect();
              if (r.width === 0) continue;
              if (r.right > box.right + 1 || r.left < box.left - 1)
                out.push((e.getAttribute('aria-label') || e.className) + ' ' + r.right);
            }
            if (root.scrollWidth > root.clientWidth + 1) out.push('wide ' + root.scrollWidth);
            return out; }""")
        assert clipped == [], clipped
    finally:
        nb.set_viewport_size({"width": 1300, "height": 1000})


def _axe(page: Any) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    return page.evaluate("""async () => {
        const r = await axe.run('.rnb-root', {resultTypes: ['violations']});
        return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(
            (n) => n.target.join(' ') + ': ' + n.failureSummary)}));
    }""")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_f11_axe_finds_no_serious_or_critical_violation(nb, theme):
    if not AXE.exists():
        pytest.skip("js/node_modules/axe-core is missing: run npm ci in js/")
    label = "JupyterLab Dark" if theme == "dark" else "JupyterLab Light"
    nb.evaluate("""async (label) => {
        const app = window.jupyterapp || window.jupyterlab;
        if (app) await app.commands.execute('apputils:change-theme', {theme: label});
    }""", label)
    if theme == "dark":
        nb.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
    root = nb.locator(".rnb-root").first
    toggles = [root.get_by_role("button", name=n) for n in ("Toggle event log",
                                                            "Toggle session panel")]
    toggles = [t for t in toggles if t.count()]  # every panel open: all of it is scanned
    for t in toggles:
        t.click()
    root.locator(".rnb-item").nth(1).hover()  # a row's actions shown
    try:
        violations = _axe(nb)
    finally:
        for t in toggles:
            t.click()
    assert violations == [], json.dumps(violations, indent=1)


CONTRAST_JS = """(root) => {
  const parse = (c) => {
    let m = c.match(/rgba?\\(([^)]+)\\)/);
    if (m) { const v = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
             return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; }
    m = c.match(/color\\(srgb ([^)]+)\\)/);
    if (m) { const v = m[1].split(/[ \\/]+/).filter(Boolean).map(Number);
             return [v[0] * 255, v[1] * 255, v[2] * 255, v.length > 3 ? v[3] : 1]; }
    return [0, 0, 0, 0];
  };
  const over = (top, bottom) => { const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]); };
  const bgOf = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let bg = document.body.dataset.jpThemeLight === 'false' ? [17, 17, 17, 1] : [255, 255, 255, 1];
    for (const l of layers.reverse()) bg = over(l, bg);
    return bg;
  };
  const opacity = (el) => { let o = 1;
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      o *= +getComputedStyle(e).opacity; }
    return o; };
  const lum = (c) => { const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const out = [];
  const check = (el, min, what) => {
    const r = el.getBoundingClientRect();
    const op = opacity(el);
    if (!r.width || !r.height || op === 0 || getComputedStyle(el).visibility === 'hidden') return;
    const bg = bgOf(el);
    const st = getComputedStyle(el);
    const fg = parse(el.matches('.rnb-icon') ? st.backgroundColor : st.color);
    fg[3] *= op;
    const v = ratio(over(fg, bg), bg);
    if (v < min) out.push(what + ' ' + (el.textContent || el.className).trim().slice(0, 30)
                          + ' ' + v.toFixed(2));
  };
  for (const e of root.querySelectorAll('.rnb-chip, .rnb-role, .rnb-counts, .rnb-status, '
      + '.rnb-call-id, .rnb-muted, .rnb-endpoint, .rnb-text')) check(e, 4.5, 'text');
  for (const e of root.querySelectorAll('.rnb-item .rnb-actions button')) {
    if (e.querySelector('.rnb-icon')) check(e.querySelector('.rnb-icon'), 3, 'icon');
    else check(e, 4.5, 'button');
  }
  return out;
}"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_f11_text_and_row_actions_meet_aa_contrast_at_rest(nb, theme):
    """WCAG AA measured from the computed colours (axe leaves translucent text and mixed
    backgrounds as "needs review"): text 4.5:1, icons 3:1, row actions at rest included."""
    label = "JupyterLab Dark" if theme == "dark" else "JupyterLab Light"
    nb.evaluate("""async (label) => {
        await window.jupyterapp.commands.execute('apputils:change-theme', {theme: label}); }""",
                label)
    nb.wait_for_function(
        f"document.body.dataset.jpThemeLight === '{'false' if theme == 'dark' else 'true'}'")
    nb.mouse.move(0, 0)
    nb.wait_for_timeout(300)
    low = nb.locator(".rnb-root").first.evaluate(CONTRAST_JS)
    try:
        assert low == [], low
    finally:
        if theme == "dark":
            nb.evaluate("""() => window.jupyterapp.commands.execute('apputils:change-theme',
                {theme: 'JupyterLab Light'})""")
            nb.wait_for_function("document.body.dataset.jpThemeLight === 'true'")


def test_f14_the_quickstart_names_buttons_that_exist(nb):
    quick = json.loads((REPO_ROOT / "notebooks" / "quickstart.ipynb").read_text())
    prose = "\n".join("".join(c["source"]) for c in quick["cells"] if c["cell_type"] == "markdown")
    names = set(re.findall(r"\*\*([^*]+)\*\*", prose))
    assert names, "the quickstart names no button"
    root = nb.locator(".rnb-root").first
    root.locator(".rnb-item").first.hover()
    shown = set(root.evaluate("""(root) => [...root.querySelectorAll('button')].flatMap(
        (b) => [b.title, b.textContent.trim()]).filter(Boolean)"""))
    assert names <= shown, sorted(names - shown)


def _text(v: Any) -> str:
    return "".join(v) if isinstance(v, list) else str(v)


def test_f18_a_saved_notebook_keeps_a_current_static_copy(nb, lab_server):
    run_cell(nb, 5)  # a new item after the widget was displayed, then the refresh interval
    nb.keyboard.press("Control+s")
    path = Path(lab_server.root_dir) / "ux_life.ipynb"
    deadline = time.monotonic() + 15
    while True:
        saved = json.loads(path.read_text())
        outputs = saved["cells"][0]["outputs"]
        html = [o for o in outputs if "text/html" in o.get("data", {})]
        static = "".join(html[-1]["data"]["text/html"]) if html else ""
        if "written after" in static or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert html, [list(o.get("data", {})) for o in outputs]
    assert "written after the widget was shown" in static
    assert "What is a **conversation item**?" in static  # escaped text, not markup
    plain = "".join(_text(o["data"].get("text/plain", "")) for o in outputs if "data" in o)
    assert "items=0" not in plain
    raw = path.read_text()
    for secret in ("sk-", "Bearer ", "Api-Key "):
        assert secret not in raw
    # what GitHub or nbviewer show: the static copy (the live widget's CSS is not there)
    page = nb.context.new_page()
    try:
        page.set_content("".join(html[-1]["data"]["text/html"]))
        expect(page.get_by_text("written after the widget was shown")).to_be_visible()
    finally:
        page.close()
    # while the live widget is on the page, the copy stays out of sight
    expect(nb.locator(".rnb-static-fallback").first).to_be_hidden()


def test_f2_a_hung_or_restarted_kernel_is_noticed(nb, lab_server):
    run_cell(nb, 4)
    pid = int(cell_output_text(nb, 4).strip().splitlines()[-1])
    root = nb.locator(".rnb-root").first
    composer = root.locator(".rnb-composer textarea")
    os.kill(pid, signal.SIGSTOP)  # a kernel that does not answer
    try:
        composer.fill("anyone there?")
        composer.press("Enter")
        expect(root.locator(".rnb-composer .rnb-error")).to_contain_text(
            "no answer from the kernel", timeout=15_000)
        expect(root.locator(".rnb-composer")).not_to_have_attribute("data-pending", "")
    finally:
        os.kill(pid, signal.SIGCONT)
    kernel = lab_server.api("/api/sessions")[0]["kernel"]["id"]
    nb.evaluate("""async (id) => {
        const r = await fetch('/api/kernels/' + id + '/restart', {method: 'POST'});
        return r.status; }""", kernel)
    expect(root.locator(".rnb-status")).to_have_attribute("data-status", "disconnected",
                                                           timeout=20_000)
    expect(root.locator(".rnb-notice")).to_contain_text("Run the cell again")
    expect(composer).to_be_disabled()
    expect(root.get_by_role("button", name="Ask for a response")).to_be_disabled()
