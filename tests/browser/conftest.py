"""Fixtures and helpers for browser tests: a real JupyterLab server driven by headless Chromium.

Fixtures
--------
``lab_server`` (module)
    A JupyterLab server (which also serves Notebook 7 at ``/notebooks/``) on a free port, with
    private root, runtime, config, data and workspace directories. Has ``.url``, ``.root_dir``,
    ``.write_notebook(name, cells)`` and ``.log_text()``.
``browser`` (module)
    Debian's ``/usr/bin/chromium`` launched headless through Playwright's *sync* API. Skipped when
    Chromium is missing, except under CI (``CI=true``), where that is a failure.
``page`` (function)
    A new browser context and page. On failure a screenshot, the page's HTML and the browser
    console land in ``test-artifacts/`` and the JupyterLab log is added to the report.
``open_notebook``, ``run_all``, ``run_cell``, ``cell_output_text``
    The helper functions below, as fixtures, so tests need no import from this file.

Playwright's sync API marks its own event loop as the running loop of the main thread while it
is alive. The browser is therefore module-scoped: it is stopped before the next test module,
which may hold pytest-asyncio tests.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = os.environ.get("REALTIME_NB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAB_START_TIMEOUT_S = 60.0
# Default timeout of every Playwright wait (ms). A cold kernel start is 1-3 s here.
PAGE_TIMEOUT_MS = 30_000

# Selectors, checked against JupyterLab 4.6 and Notebook 7.6.
SEL_CELL = ".jp-Notebook .jp-Cell"
SEL_CODE_CELL = ".jp-Notebook .jp-CodeCell"
SEL_KERNEL_IDLE = '.jp-Notebook-ExecutionIndicator[data-status="idle"]'
SEL_RUN_MENU = '.lm-MenuBar-item:has-text("Run")'
SEL_RUN_ALL = '.lm-Menu-item[data-command="runmenu:run-all"]'
SEL_PROMPT = ".jp-InputArea-prompt"
SEL_EDITOR = ".jp-InputArea-editor"
SEL_OUTPUT = ".jp-OutputArea-output"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# JupyterLab server
# --------------------------------------------------------------------------------------------


@dataclass
class LabServer:
    url: str
    root_dir: Path
    log_path: Path
    proc: subprocess.Popen[bytes] = field(repr=False)

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        """Write an nbformat v4 notebook of code cells (python3 kernel) under ``root_dir``."""
        import nbformat
        from nbformat.v4 import new_code_cell, new_notebook

        nb = new_notebook(
            cells=[new_code_cell(src) for src in cells],
            metadata={
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"},
            },
        )
        path = self.root_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return path

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as r:
            return json.loads(r.read())


def _isolated_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    dirs = {
        "JUPYTER_RUNTIME_DIR": tmp / "runtime",
        "JUPYTER_CONFIG_DIR": tmp / "config",
        "JUPYTER_DATA_DIR": tmp / "data",
        "IPYTHONDIR": tmp / "ipython",
    }
    for key, d in dirs.items():
        d.mkdir(parents=True, exist_ok=True)
        env[key] = str(d)
    # No news or update pop-up over the notebook, even where scripts/setup.sh did not write
    # overrides.json into the venv: user settings live in JUPYTER_CONFIG_DIR/lab/user-settings.
    notif = tmp / "config/lab/user-settings/@jupyterlab/apputils-extension"
    notif.mkdir(parents=True, exist_ok=True)
    (notif / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    # The kernel must be this interpreter (the venv), whatever PATH says.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("JUPYTER_TOKEN", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_lab_server(tmp: Path, extra_args: Sequence[str] = ()) -> LabServer:
    """JupyterLab on a free port, isolated in ``tmp``; ``extra_args`` go on its command line."""
    root = tmp / "root"
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log_path = tmp / "jupyterlab.log"
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
        "--allow-root", f"--ServerApp.root_dir={root}",
        f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
        # window.jupyterapp: tests switch the theme with the app's own command
        "--LabApp.expose_app_in_browser=True",
        *extra_args,
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=_isolated_env(tmp),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kernels stop with it
        )
    server = LabServer(url=f"http://127.0.0.1:{port}", root_dir=root, log_path=log_path, proc=proc)
    # Stop it even when the caller dies on an exception before its own clean-up.
    atexit.register(stop_lab_server, server)
    deadline = time.monotonic() + LAB_START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with {proc.returncode} at start-up:\n{server.log_text()}"
            )
        try:
            server.api("/api/status")
            return server
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            stop_lab_server(server)
            raise RuntimeError(
                f"JupyterLab did not answer /api/status within {LAB_START_TIMEOUT_S:.0f} s:\n"
                f"{server.log_text()}"
            )
        time.sleep(0.1)


def stop_lab_server(server: LabServer) -> None:
    proc = server.proc
    if proc.poll() is None:
        proc.terminate()  # jupyter_server shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Kernels left behind in the server's own process group (they are started in it).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    server = start_lab_server(tmp_path_factory.mktemp("jupyterlab"))
    try:
        yield server
    finally:
        stop_lab_server(server)


# --------------------------------------------------------------------------------------------
# Browser
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def chromium(args: list[str] | None = None) -> Iterator[Any]:
    """Debian's Chromium under Playwright (``args``: CHROMIUM_ARGS and more); a missing
    browser skips, or fails in CI."""
    if not os.access(CHROMIUM, os.X_OK):
        msg = (
            f"{CHROMIUM} is missing: run `bash scripts/setup.sh` "
            "(installs Debian's chromium package)"
        )
        if in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the test extra has it
        if in_ci():
            pytest.fail(f"playwright is not installed: {exc}", pytrace=False)
        pytest.skip(f"playwright is not installed: {exc}")

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=args or CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


def speech_wav(path: Path, rate: int = 48000) -> Path:
    """A WAV for the fake microphone (it loops it): 1 s of silence, 2 s of speech-like noise
    bursts (250 ms on, 60 ms off), 3 s of silence; 16-bit mono."""
    import wave

    import numpy as np

    rng = np.random.default_rng(7)
    parts = [np.zeros(rate)]
    for _ in range(7):
        parts += [rng.normal(0, 0.2, int(0.25 * rate)), np.zeros(int(0.06 * rate))]
    parts.append(np.zeros(3 * rate))
    pcm = (np.clip(np.concatenate(parts), -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm.tobytes())
    return path


def fake_mic_args(wav: Path) -> list[str]:
    """Chromium's flags for a fake microphone fed from ``wav``, allowed without asking."""
    return ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    pg = context.new_page()
    console: list[str] = []
    pg.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
    pg.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))
    try:
        yield pg
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is None or rep.failed:
            _save_artifacts(pg, console, request.node.nodeid)
        context.close()


@contextlib.contextmanager
def module_page(browser: Any, lab_server: Any, request: pytest.FixtureRequest, name: str,
                cells: list[str], **context_args: Any) -> Iterator[Any]:
    """A page with the notebook ``name`` (``cells``) open and its first cell run, shared by a
    module's tests (one JupyterLab page for the lot); screenshots and the console are saved
    when any test failed."""
    lab_server.write_notebook(name, cells)
    context = browser.new_context(viewport={"width": 1300, "height": 1000}, **context_args)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    pg = context.new_page()
    console: list[str] = []
    pg.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
    try:
        open_notebook(pg, lab_server.url, name)
        run_cell(pg, 0)
        yield pg
    finally:
        if request.session.testsfailed:
            _save_artifacts(pg, console, Path(name).stem)
        context.close()


def _save_artifacts(pg: Any, console: list[str], nodeid: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")
    with contextlib.suppress(Exception):
        pg.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True, timeout=10_000)
    with contextlib.suppress(Exception):
        (ARTIFACTS / f"{stem}.html").write_text(pg.content())
    with contextlib.suppress(Exception):
        (ARTIFACTS / f"{stem}.console.txt").write_text("\n".join(console) + "\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    if rep.failed:
        server = getattr(item, "funcargs", {}).get("lab_server")
        if isinstance(server, LabServer):
            log = server.log_text()
            rep.sections.append(
                ("JupyterLab log (last 200 lines)", "\n".join(log.splitlines()[-200:]))
            )
    return rep


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def notebook_url(lab_url: str, name: str, app: str = "lab") -> str:
    """The URL that opens ``name`` (a path under the server root) in Lab or Notebook 7."""
    name = urllib.parse.quote(name)
    if app == "lab":
        # ?reset: forget the tabs of an earlier load, so run-all hits this notebook.
        return f"{lab_url}/lab/tree/{name}?reset"
    if app == "notebook":
        return f"{lab_url}/notebooks/{name}"
    raise ValueError(f"app must be 'lab' or 'notebook', not {app!r}")


# Lab 4.6 and Notebook 7 render the execution indicator as data-status="idle" *before* the
# kernel exists, then go initializing -> connecting -> (busy|unknown) -> idle. So "idle" means
# ready only after some other status was seen. This script, installed before the page's own
# scripts, records the statuses.
_KERNEL_WATCH_INIT = """
(() => {
  if (window.__rtnbKernel) return;
  const st = (window.__rtnbKernel = { sawNotIdle: false, status: null, history: [] });
  const check = () => {
    const e = document.querySelector('.jp-Notebook-ExecutionIndicator');
    const s = e ? e.getAttribute('data-status') : null;
    if (s === st.status) return;
    st.status = s;
    st.history.push(s);
    if (s && s !== 'idle') st.sawNotIdle = true;
  };
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'],
  });
})();
"""

_KERNEL_READY_JS = """
(idleSel) => {
  const st = window.__rtnbKernel;
  return !!st && st.sawNotIdle && document.querySelector(idleSel) !== null;
}
"""


def open_notebook(page: Any, lab_url: str, name: str, app: str = "lab") -> None:
    """Open ``name`` in JupyterLab (``app="lab"``) or Notebook 7; wait until its kernel is ready.

    Ready: the notebook's cells are shown and the kernel went through start-up (a status other
    than idle) back to idle, so a run started now is not lost.
    """
    if not getattr(page, "_rtnb_kernel_watch", False):
        page.add_init_script(_KERNEL_WATCH_INIT)
        page._rtnb_kernel_watch = True
    page.goto(notebook_url(lab_url, name, app))
    page.wait_for_selector(SEL_CELL)
    page.wait_for_function(_KERNEL_READY_JS, arg=SEL_KERNEL_IDLE)


def kernel_status_history(page: Any) -> list[str | None]:
    """The execution indicator's data-status values since the page loaded (for diagnostics)."""
    return page.evaluate("() => (window.__rtnbKernel || {history: []}).history")


_PROMPTS_JS = """
(cellSel, codeSel, promptSel, index) => {
  // The input prompts of every code cell (index < 0) or of the index-th cell.
  if (index < 0) return [...document.querySelectorAll(codeSel + ' ' + promptSel)];
  const cell = document.querySelectorAll(cellSel)[index];
  const p = cell && cell.querySelector(promptSel);
  return p ? [p] : [];
}
"""

_WATCH_JS = f"""
([index, sels]) => {{
  const prompts = () => ({_PROMPTS_JS})(sels.cell, sels.code, sels.prompt, index);
  // Remember whether a watched prompt showed "[*]" (queued or running) since this call.
  window.__rtnbSawBusy = false;
  const check = () => {{
    if (prompts().some((p) => p.textContent.includes('*'))) window.__rtnbSawBusy = true;
  }};
  if (window.__rtnbObserver) window.__rtnbObserver.disconnect();
  window.__rtnbObserver = new MutationObserver(check);
  window.__rtnbObserver.observe(document.body,
    {{subtree: true, childList: true, characterData: true}});
}}
"""

_DONE_JS = f"""
([index, sels]) => {{
  if (!window.__rtnbSawBusy) return false;
  const prompts = ({_PROMPTS_JS})(sels.cell, sels.code, sels.prompt, index);
  if (prompts.some((p) => p.textContent.includes('*'))) return false;
  return document.querySelector(sels.idle) !== null;
}}
"""

_SELS = {"cell": SEL_CELL, "code": SEL_CODE_CELL, "prompt": SEL_PROMPT, "idle": SEL_KERNEL_IDLE}


def _run_and_wait(page: Any, index: int, action: Any, timeout_ms: float) -> None:
    """Watch the prompts, do ``action``, wait until they went busy ("[*]") and back, and idle."""
    page.evaluate(_WATCH_JS, [index, _SELS])
    action()
    page.wait_for_function(_DONE_JS, arg=[index, _SELS], timeout=timeout_ms)
    page.evaluate("() => window.__rtnbObserver && window.__rtnbObserver.disconnect()")


def run_all(page: Any, timeout_ms: float = 60_000) -> None:
    """Run > Run All Cells, then wait until no cell is queued or running and the kernel is idle.

    A cell that raises stops the run; this returns then too (check the outputs).
    """

    def click() -> None:
        page.click(SEL_RUN_MENU)
        page.click(SEL_RUN_ALL)

    _run_and_wait(page, -1, click, timeout_ms)


def run_cell(page: Any, index: int, timeout_ms: float = 60_000) -> None:
    """Run the ``index``-th cell (0-based) with Ctrl+Enter (keeps the cell count) and wait."""

    def press() -> None:
        page.locator(SEL_CELL).nth(index).locator(SEL_EDITOR).click()
        page.keyboard.press("Control+Enter")

    _run_and_wait(page, index, press, timeout_ms)


def cell_output_text(page: Any, index: int) -> str:
    """The text of the outputs of the ``index``-th cell (0-based)."""
    return "\n".join(page.locator(SEL_CELL).nth(index).locator(SEL_OUTPUT).all_inner_texts())


@pytest.fixture(name="open_notebook")
def _open_notebook_fixture() -> Any:
    return open_notebook


@pytest.fixture(name="run_all")
def _run_all_fixture() -> Any:
    return run_all


@pytest.fixture(name="run_cell")
def _run_cell_fixture() -> Any:
    return run_cell


@pytest.fixture(name="cell_output_text")
def _cell_output_text_fixture() -> Any:
    return cell_output_text
