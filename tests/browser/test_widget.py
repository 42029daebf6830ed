"""The realtime_nb widget in a real JupyterLab (and Notebook 7), driven by headless Chromium.

Every assertion waits on a condition in the page; the kernel side is checked by running a cell
that prints what the session logged.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ROWS = ".rnb-root .rnb-item"
SETUP = "import json, time\nimport realtime_nb as rnb\nconv = rnb.connect()\nconv"


def row_texts(page, root=".rnb-root"):
    return page.locator(f"{root} .rnb-item .rnb-text").all_inner_texts()


def row(page, text):
    return page.locator(ROWS).filter(has=page.locator(".rnb-text", has_text=text))


def kernel_json(page, run_cell, cell_output_text, index):
    run_cell(page, index)
    return json.loads(cell_output_text(page, index).strip().splitlines()[-1])


def wait_texts(page, expected, root=".rnb-root"):
    page.wait_for_function(
        """([sel, want]) => {
             const got = [...document.querySelectorAll(sel)].map((e) => e.textContent.trim());
             return JSON.stringify(got) === JSON.stringify(want);
           }""",
        arg=[f"{root} .rnb-item .rnb-text", expected],
    )


def test_list_follows_the_server_and_edits_become_protocol_events(
    page, lab_server, open_notebook, run_all, run_cell, cell_output_text
):
    lab_server.write_notebook("edit.ipynb", [
        SETUP,
        'a = conv.create("first")\nb = conv.create("second")\n'
        'c = conv.create(role="system", text="be brief", previous_item_id="root")',
        "conv.respond()",
        "print(json.dumps({'texts': [i.text for i in conv.items], "
        "'out': [e['type'] for e in conv.log if e['direction'] == 'out']}))",
    ])
    open_notebook(page, lab_server.url, "edit.ipynb")
    run_all(page)
    page.wait_for_selector(".rnb-root[data-loaded]")
    # created items appear in the server's order, with their role badges
    page.wait_for_function(f"document.querySelectorAll('{ROWS}').length === 4")
    roles = page.locator(ROWS).evaluate_all("rs => rs.map(r => r.dataset.role)")
    assert roles == ["system", "user", "user", "assistant"]
    texts = row_texts(page)
    assert texts[:3] == ["be brief", "first", "second"] and "second" in texts[3]
    expect(page.locator(".rnb-status")).to_have_attribute("data-status", "open")
    expect(page.locator(".rnb-count-items")).to_have_text("4")

    # edit "first" in the list: it is replaced in the same slot
    target = row(page, "first")
    target.hover()
    target.get_by_role("button", name="Edit item").click()
    editor = page.locator(".rnb-root .rnb-editor textarea")
    editor.fill("first, edited")
    page.get_by_role("button", name="Save edit").click()
    wait_texts(page, ["be brief", "first, edited", "second", texts[3]])
    state = kernel_json(page, run_cell, cell_output_text, 3)
    assert state["texts"][:3] == ["be brief", "first, edited", "second"]
    assert state["out"][-2:] == ["conversation.item.create", "conversation.item.delete"]

    # delete "second"
    victim = row(page, "second").first
    victim.hover()
    victim.get_by_role("button", name="Delete item").click()
    wait_texts(page, ["be brief", "first, edited", texts[3]])

    # insert after the system message, and at the top
    anchor = row(page, "be brief")
    anchor.hover()
    anchor.get_by_role("button", name="Insert after").click()
    page.locator(".rnb-root .rnb-editor textarea").fill("inserted below system")
    page.get_by_role("button", name="Save edit").click()
    wait_texts(page, ["be brief", "inserted below system", "first, edited", texts[3]])
    page.get_by_role("button", name="Insert at top").click()
    page.locator(".rnb-root .rnb-editor textarea").fill("at the very top")
    page.get_by_role("button", name="Save edit").click()
    wait_texts(page, ["at the very top", "be brief", "inserted below system", "first, edited",
                      texts[3]])

    # the composer: Enter sends, the button asks for a response that streams in
    composer = page.locator(".rnb-composer textarea")
    composer.fill("sent from the composer")
    composer.press("Enter")
    page.wait_for_function(
        f"[...document.querySelectorAll('{ROWS} .rnb-text')].some(e => "
        "e.textContent.trim() === 'sent from the composer')")
    page.get_by_role("button", name="Ask for a response").click()
    page.wait_for_function(
        """(sel) => { const r = [...document.querySelectorAll(sel)].pop();
             return r.dataset.role === 'assistant' && r.dataset.status === 'completed' &&
                    r.textContent.includes('sent from the composer'); }""", arg=ROWS)
    state = kernel_json(page, run_cell, cell_output_text, 3)
    assert state["texts"] == row_texts(page)


def test_server_errors_show_inline_and_a_closed_session_turns_the_controls_off(
    page, lab_server, open_notebook, run_all, run_cell, cell_output_text
):
    lab_server.write_notebook("errors.ipynb", [
        SETUP,
        'hello = conv.create("hello")\nother = conv.create("other")',
        # the server rejects this truncate (no content part 5): its error belongs to "hello"
        'conv.send({"type": "conversation.item.truncate", "item_id": hello.id, '
        '"content_index": 5, "audio_end_ms": 0})',
        'conv.send({"type": "conversation.item.delete", "item_id": "item_nope"})',
        "conv.close()",
        "print(json.dumps([i.text for i in conv.items]))",
    ])
    open_notebook(page, lab_server.url, "errors.ipynb")
    run_all(page)
    page.wait_for_function(f"document.querySelectorAll('{ROWS}').length === 2")
    # an error about an item shows inside that item's row ...
    expect(row(page, "hello").locator(".rnb-error")).to_contain_text("content_index")
    # ... one about an unknown item in the list's error area
    expect(page.locator(".rnb-root .rnb-errors .rnb-error")).to_contain_text("item_nope")
    expect(page.locator(".rnb-status")).to_have_attribute("data-status", "closed")
    # a closed session turns the controls off and says why once, in words: no action can
    # end in "the session is closed" errors, and the list does not change
    expect(page.locator(".rnb-root .rnb-notice")).to_contain_text("The session is closed")
    hello = row(page, "hello")
    hello.hover()
    expect(hello.get_by_role("button", name="Edit item")).to_be_disabled()
    expect(page.locator(".rnb-composer textarea")).to_be_disabled()
    assert row_texts(page) == ["hello", "other"]
    assert kernel_json(page, run_cell, cell_output_text, 5) == ["hello", "other"]


XSS = [
    "<img src=x onerror=\"window.__xss=(window.__xss||0)+1\">",
    "<script>window.__xss=(window.__xss||0)+1</script>",
    "<a href=\"javascript:window.__xss=1\">click</a>",
    "<svg onload=\"window.__xss=(window.__xss||0)+1\"></svg>",
]


def test_hostile_content_renders_as_text_in_every_field(
    page, lab_server, open_notebook, run_all
):
    payloads = json.dumps(XSS)
    lab_server.write_notebook("xss.ipynb", [
        SETUP,
        f"P = {payloads}\n"
        "for p in P:\n"
        "    conv.create(p)\n"
        "    conv.create(role='system', text=p)\n"
        "conv.create({'type': 'function_call', 'name': 'f', 'call_id': 'c1', "
        "'arguments': json.dumps({'html': P[0]})})\n"
        "conv.create({'type': 'function_call_output', 'call_id': 'c1', 'output': P[1]})\n"
        "conv.create({'type': 'mcp_call', 'id': 'm1', 'name': P[1], 'arguments': '{}', "
        "'server_label': P[2], 'output': P[3]})\n"
        "conv.create({'type': 'mcp_list_tools', 'server_label': P[3], "
        "'tools': [{'name': P[2], 'input_schema': {}}]})\n"
        "conv.create({'type': 'mcp_approval_response', 'id': 'r1', "
        "'approval_request_id': 'm1', 'approve': False, 'reason': P[0]})\n"
        # the server's error message quotes the bad anchor: errors are text too
        "conv.send({'type': 'conversation.item.create', 'previous_item_id': P[0], "
        "'item': {'type': 'message', 'role': 'user', "
        "'content': [{'type': 'input_text', 'text': 'x'}]}})\n"
        "conv.respond()",
    ])
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_notebook(page, lab_server.url, "xss.ipynb")
    # a list tall enough that the virtualised list renders every row at once
    page.add_style_tag(content=".rnb-root { --rnb-list-max-height: 20000px; }")
    run_all(page)
    expect(page.locator(".rnb-count-items")).to_have_text("14")
    page.wait_for_function(f"document.querySelectorAll('{ROWS}').length === 14")
    expect(page.locator(".rnb-root .rnb-errors .rnb-error")).to_contain_text("<img src=x")
    page.get_by_role("button", name="Toggle event log").click()  # payloads in the log, too
    page.wait_for_selector(".rnb-root .rnb-log .rnb-log-row")
    page.evaluate("document.querySelectorAll('.rnb-root details').forEach(d => d.open = true)")
    root_text = page.locator(".rnb-root").first.inner_text()
    for p in XSS:
        assert p in root_text or p.replace('"', '\\"') in root_text
    counts = page.evaluate("""() => {
        const r = document.querySelector('.rnb-root');
        return {img: r.querySelectorAll('img').length, script: r.querySelectorAll('script').length,
                svg: r.querySelectorAll('svg').length,
                js: [...r.querySelectorAll('a')].filter(
                      a => a.href.startsWith('javascript')).length,
                xss: window.__xss || 0};
    }""")
    assert counts == {"img": 0, "script": 0, "svg": 0, "js": 0, "xss": 0}
    assert dialogs == []


def test_updates_arrive_live_while_a_cell_blocks_and_a_second_view_agrees(
    page, lab_server, open_notebook, run_all
):
    lab_server.write_notebook("live.ipynb", [
        "import time\nimport realtime_nb as rnb\nfrom realtime_nb.server import EmbeddedServer\n"
        "srv = EmbeddedServer(chunk_delay=0.3).start()\nconv = rnb.connect(url=srv.url)\n"
        "conv.create('stream to me slowly please')\nconv",
        "conv.widget",  # a second view of the same widget
        "conv.respond(wait=False)\ntime.sleep(20)",
    ])
    open_notebook(page, lab_server.url, "live.ipynb")
    # run all, but do not wait for the sleeping cell: watch the page while the kernel is busy
    page.click('.lm-MenuBar-item:has-text("Run")')
    page.click('.lm-Menu-item[data-command="runmenu:run-all"]')
    page.wait_for_function(
        f"document.querySelectorAll('{ROWS}[data-streaming]').length >= 1", timeout=15_000)
    busy = page.locator('.jp-Notebook-ExecutionIndicator[data-status="busy"]')
    expect(busy).to_have_count(1)  # the deltas reached the browser while the cell blocked
    page.wait_for_function(
        f"[...document.querySelectorAll('{ROWS}')].filter(r => r.dataset.role === 'assistant'"
        " && r.dataset.status === 'completed').length === 2", timeout=20_000)
    roots = page.locator(".rnb-root")
    expect(roots).to_have_count(2)
    first = roots.nth(0).locator(".rnb-item .rnb-text").all_inner_texts()
    second = roots.nth(1).locator(".rnb-item .rnb-text").all_inner_texts()
    assert first == second and len(first) == 2


def test_an_open_log_panel_streams_events_while_a_cell_blocks(
    page, lab_server, open_notebook, run_cell
):
    """Log entries reach the browser only while a panel is open (js/PROTOCOL.md): opening it
    fetches the recent tail, then the entries stream live, even while a cell blocks."""
    lab_server.write_notebook("logpanel.ipynb", [
        "import time\nimport realtime_nb as rnb\nfrom realtime_nb.server import EmbeddedServer\n"
        "srv = EmbeddedServer(chunk_delay=0.3).start()\nconv = rnb.connect(url=srv.url)\n"
        "conv.create('talk to me slowly')\nconv",
        "conv.respond(wait=False)\ntime.sleep(20)",
    ])
    open_notebook(page, lab_server.url, "logpanel.ipynb")
    run_cell(page, 0)
    log_types = ".rnb-root .rnb-log .rnb-log-row .rnb-log-type"
    page.get_by_role("button", name="Toggle event log").click()
    page.wait_for_function(  # the tail, answered while the kernel is idle
        f"[...document.querySelectorAll('{log_types}')].some("
        "e => e.textContent.includes('conversation.item.done'))")
    assert not any("response." in t for t in page.locator(log_types).all_inner_texts())
    page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        f"[...document.querySelectorAll('{log_types}')].some("
        "e => e.textContent.includes('response.output_text.delta'))", timeout=15_000)
    busy = page.locator('.jp-Notebook-ExecutionIndicator[data-status="busy"]')
    expect(busy).to_have_count(1)  # streamed into the open panel while the cell blocked
    types = page.locator(log_types).all_inner_texts()
    assert any("response.created" in t for t in types)
    events = int(page.locator(".rnb-root .rnb-count-events").first.inner_text())
    assert events >= len(types)


def test_the_same_notebook_renders_in_notebook_7(page, lab_server, open_notebook, run_all):
    lab_server.write_notebook("nb7.ipynb", [SETUP, 'conv.create("hello from notebook 7")'])
    open_notebook(page, lab_server.url, "nb7.ipynb", app="notebook")
    run_all(page)
    page.wait_for_function(
        f"[...document.querySelectorAll('{ROWS} .rnb-text')].some(e => "
        "e.textContent.includes('hello from notebook 7'))")
    expect(page.locator(".rnb-status")).to_have_attribute("data-status", "open")
