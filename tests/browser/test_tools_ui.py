"""Issue 15 in a real JupyterLab: tool calls in the widget (one notebook, one page, in file
order). Approve and deny from the browser, a cell's answer settling the buttons, a running
tool's spinner and elapsed time, an MCP approval request (a scripted server in the notebook),
an accessibility scan with the buttons on screen, and the same calls in the conversation saved
and loaded again. The kernel side is checked by cells that print what the conversation holds.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import (
    REPO_ROOT,
    cell_output_text,
    module_page,
    run_cell,
)
from .test_ux_lifecycle import AXE, CONTRAST_JS, _axe

pytestmark = pytest.mark.browser

SCRIPTED = REPO_ROOT / "tests" / "scripted.py"

CELLS = [
    # 0: an embedded-server conversation with three tools
    "import importlib.util, json, time\nimport realtime_nb as rnb\n"
    "conv = rnb.connect()\nruns = []\n\n"
    "@conv.tool(approve=True)\ndef get_weather(city: str) -> dict:\n"
    '    """Current weather for a city."""\n'
    "    runs.append(['get_weather', city])\n    return {'city': city, 'temp_c': 21}\n\n"
    "@conv.tool(approve=True)\ndef delete_file(path: str) -> str:\n"
    '    """Delete a file."""\n'
    "    runs.append(['delete_file', path])\n    return 'deleted'\n\n"
    "@conv.tool\ndef slow_sum(a: int, b: int) -> int:\n"
    '    """Add two numbers, slowly."""\n'
    "    time.sleep(3)\n    return a + b\n\n"
    "def state(c=conv):\n"
    "    print(json.dumps({'runs': runs, 'calls': [[t.name, t.status] for t in c.tool_calls],\n"
    "                      'types': [i.type for i in c.items],\n"
    "                      'outputs': [i.output for i in c.items\n"
    "                                  if i.type == 'function_call_output']}))\n"
    "conv",
    # 1
    "conv.create('Use get_weather for \"Oslo\".')\nconv.respond();",
    # 2
    "state()",
    # 3
    "conv.create('Use delete_file for \"/tmp/notes.txt\".')\nconv.respond();",
    # 4: answered by a cell, not the browser
    "conv.create('Use get_weather for \"Lima\".')\nconv.respond()\n"
    "conv.approve(conv.pending_approvals[0].id)\nconv.wait_tools(timeout=10);",
    # 5
    "conv.create('Use slow_sum for 2 and 3.')\nconv.respond();",
    # 6: a scripted server that asks for MCP approval, then answers
    f"spec = importlib.util.spec_from_file_location('rnb_scripted', {str(SCRIPTED)!r})\n"
    "scripted = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(scripted)\n\n"
    "async def mcp_script(peer):\n"
    "    previous = None\n"
    "    while True:\n"
    "        event = await peer.recv()\n"
    "        if event['type'] == 'conversation.item.create':\n"
    "            previous = await scripted.echo_items(peer, event, previous)\n"
    "        elif event['type'] == 'response.create':\n"
    "            answered = [e for e in peer.received if e['type'] == 'conversation.item.create'\n"
    "                        and e['item']['type'] == 'mcp_approval_response']\n"
    "            body = ([{'type': 'message', 'role': 'assistant', 'content': [\n"
    "                        {'type': 'output_text', 'text': 'the docs say yes'}]}] if answered\n"
    "                    else [{'type': 'mcp_approval_request', 'name': 'search_docs',\n"
    "                           'arguments': json.dumps({'query': 'tools'}),\n"
    "                           'server_label': 'docs'}])\n"
    "            events, _, previous = scripted.response_events(event, body, previous=previous)\n"
    "            await peer.send_all(events)\n\n"
    "srv = scripted.ScriptServer(mcp_script).__enter__()\n"
    "mconv = rnb.connect(url=srv.url, timeout=10)\n"
    "mconv.create('Search the docs.')\nmconv.respond()\nmconv",
    # 7
    "print(json.dumps({'sent': [e['item'] for e in srv.peers[0].received\n"
    "                           if e['type'] == 'conversation.item.create'\n"
    "                           and e['item']['type'] == 'mcp_approval_response'],\n"
    "                  'calls': [[t.name, t.status] for t in mconv.tool_calls],\n"
    "                  'last': mconv.items[-1].text}))",
    # 8: a call left waiting, for the accessibility scan
    "conv.create('Use delete_file for \"/tmp/keep.txt\".')\nconv.respond();",
    # 9: the conversation saved and loaded again
    "conv.save('tools_saved.jsonl')\nloaded = rnb.load('tools_saved.jsonl')\nloaded",
]


@pytest.fixture(scope="module")
def nb(browser: Any, lab_server: Any, request: pytest.FixtureRequest) -> Any:
    with module_page(browser, lab_server, request, "tools_ui.ipynb", CELLS) as page:
        page.wait_for_selector(".rnb-root[data-loaded='true']")
        yield page


def kernel(page: Any, index: int) -> dict[str, Any]:
    run_cell(page, index)
    return json.loads(cell_output_text(page, index).strip().splitlines()[-1])


def call_row(root: Any, name: str, argument: str) -> Any:
    """The row of the call of ``name`` whose arguments mention ``argument``."""
    return root.locator(".rnb-item").filter(
        has=root.page.locator(".rnb-name", has_text=re.compile(f"^{name}$"))).filter(
        has_text=argument)


def test_approve_from_the_browser_runs_the_tool_and_the_answer_follows(nb):
    root = nb.locator(".rnb-root").first
    run_cell(nb, 1)
    row = call_row(root, "get_weather", "Oslo")
    strip = row.locator(".rnb-tool")
    expect(strip).to_have_attribute("data-tool-status", "waiting")
    expect(strip.locator(".rnb-tool-status")).to_have_text("waiting for approval")
    expect(row.locator("pre.rnb-text")).to_have_text('{\n  "city": "Oslo"\n}')  # readable
    assert kernel(nb, 2)["runs"] == []  # nothing runs before a person says so
    strip.get_by_role("button", name="Approve").click()
    expect(strip).to_have_attribute("data-tool-status", "completed")
    expect(strip.get_by_role("button", name="Approve")).to_be_hidden()
    expect(strip.locator(".rnb-tool-elapsed")).to_have_text(re.compile(r"^\d+\.\d s$"))
    # the output, then the model's answer, follow in the list
    out = root.locator('.rnb-item[data-type="function_call_output"]')
    expect(out.last).to_contain_text('"temp_c": 21')
    expect(root.locator('.rnb-item[data-role="assistant"]').last).to_contain_text("get_weather")
    state = kernel(nb, 2)
    assert state["runs"] == [["get_weather", "Oslo"]]
    assert state["calls"] == [["get_weather", "completed"]]
    assert state["types"] == ["message", "function_call", "function_call_output", "message"]


def test_deny_from_the_browser_sends_the_declined_output_and_runs_nothing(nb):
    root = nb.locator(".rnb-root").first
    run_cell(nb, 3)
    strip = call_row(root, "delete_file", "notes.txt").locator(".rnb-tool")
    expect(strip).to_have_attribute("data-tool-status", "waiting")
    strip.get_by_label("Reason (optional)").fill("not my notes")
    strip.get_by_role("button", name="Deny").click()
    expect(strip).to_have_attribute("data-tool-status", "denied")
    expect(strip.locator(".rnb-tool-detail")).to_have_text(
        "The user declined to run delete_file: not my notes")
    expect(root.locator('.rnb-item[data-type="function_call_output"]').last).to_contain_text(
        '"declined": true')
    state = kernel(nb, 2)
    assert ["delete_file", "denied"] in state["calls"]
    assert all(name != "delete_file" for name, _ in state["runs"])  # it never ran
    declined = json.loads(state["outputs"][-1])
    assert declined == {"declined": True,
                        "message": "The user declined to run delete_file: not my notes"}


def test_a_cell_that_approves_settles_the_buttons_too(nb):
    root = nb.locator(".rnb-root").first
    run_cell(nb, 4)
    strip = call_row(root, "get_weather", "Lima").locator(".rnb-tool")
    expect(strip).to_have_attribute("data-tool-status", "completed")
    expect(strip.locator(".rnb-tool-decide")).to_be_hidden()
    expect(strip.locator(".rnb-tool-status")).to_have_text("completed")


def test_a_running_tool_shows_a_spinner_and_its_elapsed_time_then_its_output(nb):
    root = nb.locator(".rnb-root").first
    run_cell(nb, 5)  # returns once the response is done; the tool runs on for ~3 s
    strip = call_row(root, "slow_sum", "").locator(".rnb-tool")
    expect(strip).to_have_attribute("data-tool-status", "running")
    expect(strip.locator(".rnb-spinner")).to_be_visible()
    elapsed = strip.locator(".rnb-tool-elapsed")

    def seconds() -> float:
        return float(elapsed.inner_text().removesuffix(" s"))

    first = seconds()
    nb.wait_for_timeout(1200)
    assert strip.get_attribute("data-tool-status") == "running"
    assert seconds() >= first + 1.0  # ticked in the browser
    expect(strip).to_have_attribute("data-tool-status", "completed", timeout=10_000)
    expect(strip.locator(".rnb-spinner")).to_be_hidden()
    assert 3.0 <= seconds() < 6.0
    expect(root.locator('.rnb-item[data-type="function_call_output"]').last).to_contain_text("5")


def test_an_mcp_approval_request_answered_in_the_browser_sends_mcp_approval_response(nb):
    run_cell(nb, 6)
    root = nb.locator(".rnb-root").nth(1)
    row = root.locator('.rnb-item[data-type="mcp_approval_request"]')
    expect(row.locator(".rnb-server-label")).to_have_text("docs")
    strip = row.locator(".rnb-tool")
    expect(strip).to_have_attribute("data-tool-status", "waiting")
    expect(strip).to_have_attribute("aria-label", "MCP tool search_docs: waiting for approval")
    strip.get_by_label("Reason (optional)").fill("read-only search")
    strip.get_by_role("button", name="Approve").click()
    expect(strip).to_have_attribute("data-tool-status", "approved")
    expect(strip.locator(".rnb-tool-detail")).to_have_text("read-only search")
    expect(root.locator('.rnb-item[data-type="mcp_approval_response"]')).to_contain_text(
        "approved: yes")
    expect(root.locator(".rnb-item").last).to_contain_text("the docs say yes")
    state = kernel(nb, 7)
    (sent,) = state["sent"]
    assert (sent["approve"], sent["reason"]) == (True, "read-only search")
    assert sent["approval_request_id"] == row.get_attribute("data-item-id")
    assert state["calls"] == [["search_docs", "approved"]]


# the contrast check of test_ux_lifecycle, pointed at the tool strips
TOOL_CONTRAST_JS = CONTRAST_JS
for old, new in [
    ("'.rnb-chip, .rnb-role, .rnb-counts, .rnb-status, '\n      + '.rnb-call-id, .rnb-muted, "
     ".rnb-endpoint, .rnb-text'", "'.rnb-tool-status, .rnb-tool-elapsed, .rnb-tool-detail'"),
    ("'.rnb-item .rnb-actions button'", "'.rnb-tool button'"),
]:
    assert TOOL_CONTRAST_JS.count(old) == 1, old
    TOOL_CONTRAST_JS = TOOL_CONTRAST_JS.replace(old, new)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_buttons_pass_axe_and_aa_contrast(nb, theme):
    if not AXE.exists():
        pytest.skip("js/node_modules/axe-core is missing: run npm ci in js/")
    if theme == "light":
        run_cell(nb, 8)
    root = nb.locator(".rnb-root").first
    waiting = root.locator('.rnb-tool[data-tool-status="waiting"]')
    expect(waiting.get_by_role("button", name="Approve")).to_be_visible()
    label = "JupyterLab Dark" if theme == "dark" else "JupyterLab Light"
    nb.evaluate("""async (label) => {
        await window.jupyterapp.commands.execute('apputils:change-theme', {theme: label}); }""",
                label)
    nb.wait_for_function(
        f"document.body.dataset.jpThemeLight === '{'false' if theme == 'dark' else 'true'}'")
    nb.mouse.move(0, 0)
    nb.wait_for_timeout(300)
    try:
        violations = _axe(nb)
        low = root.evaluate(TOOL_CONTRAST_JS)
        # keyboard: Tab from the reason field reaches Approve, then Deny
        waiting.get_by_label("Reason (optional)").focus()
        nb.keyboard.press("Tab")
        focused = nb.evaluate("document.activeElement.getAttribute('aria-label')")
        nb.keyboard.press("Tab")
        after = nb.evaluate("document.activeElement.getAttribute('aria-label')")
    finally:
        if theme == "dark":
            nb.evaluate("""() => window.jupyterapp.commands.execute('apputils:change-theme',
                {theme: 'JupyterLab Light'})""")
            nb.wait_for_function("document.body.dataset.jpThemeLight === 'true'")
    assert violations == [], json.dumps(violations, indent=1)
    assert low == [], low
    assert (focused, after) == ("Approve", "Deny")


def test_a_saved_conversation_shows_how_its_calls_ended(nb):
    run_cell(nb, 9)
    root = nb.locator(".rnb-root").nth(2)
    expect(root).to_have_attribute("data-loaded", "true")
    waiting = call_row(root, "delete_file", "keep.txt").locator(".rnb-tool")
    expect(waiting).to_have_attribute("data-tool-status", "waiting")
    expect(waiting.get_by_role("button", name="Approve")).to_be_disabled()  # nobody to ask
    expect(call_row(root, "slow_sum", "").locator(".rnb-tool-elapsed")).to_have_text(
        re.compile(r"^[3-5]\.\d s$"))
    root.locator(".rnb-list").evaluate("(e) => { e.scrollTop = 0; }")
    denied = call_row(root, "delete_file", "notes.txt").locator(".rnb-tool")
    expect(denied).to_have_attribute("data-tool-status", "denied")
    expect(denied.locator(".rnb-tool-detail")).to_have_text(
        "The user declined to run delete_file: not my notes")
