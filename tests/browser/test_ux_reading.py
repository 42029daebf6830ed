"""Issue 14 in a real JupyterLab: the widget as a new user meets it (one notebook, one page).

Each test is named after the finding it pins (``f1`` = finding 1 of issue 14) and failed on
the code before its fix. The tests share one page and one kernel, in file order: the cells of
the notebook below are run by the tests that need them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import (
    cell_output_text,
    module_page,
    run_cell,
)

pytestmark = pytest.mark.browser

ROWS = ".rnb-root .rnb-item"
LONG = "A long line of a very long message that goes on and on.\n" * 18_000  # ~1 MB
MARKDOWN = ("# Plan\\n\\nSome **bold** words and `inline code`.\\n\\n```python\\n"
            "print('hello')\\n```\\n\\n- one\\n- two")

CELLS = [
    # 0: a server that streams slowly enough to watch a response run
    "import json, time\nimport realtime_nb as rnb\nfrom realtime_nb.server import EmbeddedServer\n"
    "srv = EmbeddedServer(chunk_delay=0.12).start()\nconv = rnb.connect(url=srv.url)\n"
    "conv.create('hello there')\nconv",
    # 1: the kernel's view of the conversation
    "print(json.dumps([[i.role or i.type, i.text] for i in conv.items]))",
    # 2: f19
    'conv.create("")',
    # 3: reading material
    "conv.create('שלום עולם, מה שלומך היום?')\n"
    f"conv.create(role='assistant', text=\"{MARKDOWN}\")\n"
    "conv.create({'type': 'function_call', 'name': 'get_weather', 'call_id': 'call_1', "
    "'arguments': json.dumps({'city': 'Oslo'})})\n"
    "conv.create({'type': 'function_call_output', 'call_id': 'call_1', "
    "'output': json.dumps({'temp_c': 4})})\n"
    "conv.create('edit me')",
    # 4: f8: a 1 MB message
    f"conv.create({LONG!r})\nprint('long done')",
    # 5: f17: delete the item being edited, from a cell
    "conv.delete(next(i.id for i in conv.items if i.text == 'edit me'))",
    # 6: f9: an error this cell raises
    'conv.delete("item_not_there_at_all")',
    # 7: f9: an error nobody raises (fire and forget)
    'conv.send({"type": "conversation.item.delete", "item_id": "item_fire_and_forget"})',
    # 8: many items (a long list)
    "n = len(conv) + 60\nfor i in range(60):\n    conv.create(f'filler {i}', wait=False)\n"
    "while len(conv) < n:\n    time.sleep(0.02)\nprint(len(conv))",
    # 9: f12: one item, one event
    "solo = rnb.connect()\nprint(len(solo.log))\nsolo",
]


@pytest.fixture(scope="module")
def nb(browser: Any, lab_server: Any, request: pytest.FixtureRequest) -> Any:
    with module_page(browser, lab_server, request, "ux_reading.ipynb", CELLS,
                     permissions=["clipboard-read", "clipboard-write"]) as page:
        page.wait_for_function(f"document.querySelectorAll('{ROWS}').length === 1")
        yield page


def row(page: Any, text: str) -> Any:
    return page.locator(ROWS).filter(has=page.locator(".rnb-text", has_text=text)).first


def kernel_items(page: Any) -> list[list[str]]:
    run_cell(page, 1)
    return json.loads(cell_output_text(page, 1).strip().splitlines()[-1])


RAISING = (2, 6)  # the cells that raise on purpose


def no_stderr(page: Any) -> None:
    """Widget actions never write to a cell's output (finding 3): no stderr (nor error) output
    but those of the cells that raise on purpose."""
    found = page.evaluate("""(raising) => [...document.querySelectorAll('.jp-Notebook .jp-Cell')]
        .flatMap((c, i) => raising.includes(i) ? [] : [...c.querySelectorAll(
          '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
          .map((o) => i + ': ' + o.textContent))""", list(RAISING))
    assert found == [], found


def test_f1_shift_enter_is_a_newline_in_the_composer_and_the_editors(nb):
    composer = nb.locator(".rnb-composer textarea")
    composer.click()
    nb.keyboard.type("line one")
    nb.keyboard.press("Shift+Enter")
    nb.keyboard.type("line two")
    assert composer.input_value() == "line one\nline two"
    composer.fill("")
    target = row(nb, "hello there")
    target.hover()
    target.get_by_role("button", name="Edit item").click()
    editor = nb.locator(".rnb-root .rnb-editor textarea")
    editor.press("End")
    editor.press("Shift+Enter")
    editor.press("Enter")
    nb.keyboard.type("third")
    assert editor.input_value() == "hello there\n\nthird"
    editor.press("Escape")
    expect(nb.locator(".rnb-root .rnb-editor")).to_have_count(0)


def test_f3_controls_follow_the_response_and_never_write_to_a_cell(nb):
    stop = nb.get_by_role("button", name="Stop response")
    respond = nb.get_by_role("button", name="Ask for a response")
    expect(stop).to_be_disabled()  # nothing runs: nothing to stop (it was a server error)
    respond.click()
    expect(nb.locator(".rnb-root .rnb-responding")).to_be_visible()
    expect(respond).to_be_disabled()  # a second one would be a server error
    expect(stop).to_be_enabled()
    stop.click()
    expect(nb.locator(".rnb-root .rnb-responding")).to_be_hidden(timeout=15_000)
    expect(respond).to_be_enabled()
    expect(stop).to_be_disabled()
    assert not nb.locator(".rnb-root .rnb-error").count()
    no_stderr(nb)


def test_f6_ctrl_enter_sends_the_text_then_asks_for_the_answer(nb):
    composer = nb.locator(".rnb-composer textarea")
    composer.fill("what about ctrl enter?")
    composer.press("Control+Enter")
    nb.wait_for_function(
        """(sel) => { const r = [...document.querySelectorAll(sel)];
             const last = r[r.length - 1], prev = r[r.length - 2];
             return last && prev && prev.dataset.role === 'user' &&
               prev.textContent.includes('what about ctrl enter?') &&
               last.dataset.role === 'assistant' && last.dataset.status === 'completed' &&
               last.textContent.includes('what about ctrl enter?'); }""", arg=ROWS,
        timeout=20_000)
    expect(composer).to_have_value("")


def test_f19_an_empty_message_is_refused_by_the_cell_and_the_composer_alike(nb):
    before = nb.locator(ROWS).count()
    run_cell(nb, 2)
    assert "InvalidItemError" in cell_output_text(nb, 2)
    composer = nb.locator(".rnb-composer textarea")
    composer.fill("   ")
    composer.press("Enter")
    nb.wait_for_timeout(300)
    expect(nb.locator(ROWS)).to_have_count(before)
    assert all(text for _, text in kernel_items(nb))


def test_f16_markdown_rtl_and_copy(nb):
    """Reading: Markdown (sanitized), dir="auto" text, copy buttons, the raw text."""
    run_cell(nb, 3)
    rtl = row(nb, "שלום עולם")
    expect(rtl).to_be_visible()
    assert rtl.locator(".rnb-text").evaluate("e => getComputedStyle(e).direction") == "rtl"
    md_id = row(nb, "Some bold words").get_attribute("data-item-id")
    md = nb.locator(f'{ROWS}[data-item-id="{md_id}"]')
    expect(md.locator(".rnb-text strong")).to_have_text("bold")
    expect(md.locator(".rnb-text h1")).to_have_text("Plan")
    md.hover()
    md.get_by_role("button", name="Copy code").click()
    assert nb.evaluate("navigator.clipboard.readText()") == "print('hello')\n"
    md.get_by_role("button", name="Show raw text").click()
    expect(md.locator(".rnb-text")).to_contain_text("**bold**")
    md.get_by_role("button", name="Copy text").click()
    assert nb.evaluate("navigator.clipboard.readText()").startswith("# Plan")


def test_f15_function_output_editor_is_monospace_and_warns_on_bad_json(nb):
    out = nb.locator(f'{ROWS}[data-type="function_call_output"]')
    out.hover()
    out.get_by_role("button", name="Edit item").click()
    editor = out.locator(".rnb-editor textarea")
    assert "mono" in editor.evaluate("e => getComputedStyle(e).fontFamily").lower()
    editor.fill('{"temp_c": 4,')
    expect(out.locator(".rnb-editor .rnb-warning")).to_contain_text("Not valid JSON")
    out.get_by_role("button", name="Save edit").click()  # allowed anyway
    nb.wait_for_function(
        f"""() => [...document.querySelectorAll('{ROWS}[data-type="function_call_output"]')]
              .some(r => r.textContent.includes('"temp_c": 4,'))""")


def test_f8_a_1mb_message_is_one_short_row_until_asked(nb):
    nb.evaluate("""() => { window.__longTasks = [];
        new PerformanceObserver((l) => window.__longTasks.push(...l.getEntries().map(
            (e) => e.duration))).observe({type: 'longtask', buffered: false}); }""")
    run_cell(nb, 4, timeout_ms=120_000)
    long_row = row(nb, "A long line of a very long message")
    long_row.scroll_into_view_if_needed()
    height = long_row.evaluate("e => e.getBoundingClientRect().height")
    assert height < 700, height
    more = long_row.get_by_role("button", name="Show more")
    expect(more).to_contain_text("more characters")
    assert max(nb.evaluate("window.__longTasks") or [0]) < 1000
    more.click()
    expect(long_row.get_by_role("button", name="Show less")).to_be_visible()
    assert long_row.evaluate("e => e.getBoundingClientRect().height") < 2000
    long_row.get_by_role("button", name="Show less").click()


def test_f17_an_edit_survives_the_deletion_of_its_item(nb):
    target = row(nb, "edit me")
    target.scroll_into_view_if_needed()
    target.hover()
    target.get_by_role("button", name="Edit item").click()
    nb.locator(".rnb-root .rnb-editor textarea").fill("my careful rewrite")
    run_cell(nb, 5)  # another hand deletes the item
    editor = nb.locator(".rnb-root .rnb-editor")
    expect(editor).to_have_count(1)
    expect(editor.locator(".rnb-editor-note")).to_contain_text("was deleted")
    expect(editor.locator("textarea")).to_have_value("my careful rewrite")
    editor.get_by_role("button", name="Save edit").click()
    expect(row(nb, "my careful rewrite")).to_be_visible()
    texts = [t for _, t in kernel_items(nb)]
    assert "edit me" not in texts and "my careful rewrite" in texts


def test_f9_errors_belong_to_their_cause_and_can_be_dismissed(nb):
    run_cell(nb, 6)
    assert "RealtimeServerError" in cell_output_text(nb, 6)  # raised where it was caused
    run_cell(nb, 7)
    errors = nb.locator(".rnb-root .rnb-errors .rnb-error")
    expect(errors.filter(has_text="item_fire_and_forget")).to_have_count(1)
    # the error the cell raised is not shown again in the widget
    expect(nb.locator(".rnb-root .rnb-error", has_text="item_not_there_at_all")).to_have_count(0)
    errors.first.get_by_role("button", name="Dismiss error").click()
    expect(errors).to_have_count(0)


def test_f5_an_insert_at_the_top_of_a_long_list_is_scrolled_to_and_highlighted(nb):
    run_cell(nb, 8)
    nb.locator(".rnb-root .rnb-list").evaluate("e => { e.scrollTop = e.scrollHeight; }")
    nb.get_by_role("button", name="Insert at top").click()
    nb.locator(".rnb-top-editor textarea").fill("inserted at the very top")
    nb.locator(".rnb-top-editor").get_by_role("button", name="Save edit").click()
    new = row(nb, "inserted at the very top")
    expect(new).to_have_attribute("data-flash", "true")
    box = new.bounding_box()
    view = nb.locator(".rnb-root .rnb-list").bounding_box()
    assert view["y"] - 1 <= box["y"] and box["y"] + 10 <= view["y"] + view["height"], (box, view)


def test_f10_the_latest_pill_covers_no_row(nb):
    lst = nb.locator(".rnb-root .rnb-list").first
    lst.evaluate("e => { e.scrollTop = 0; e.dispatchEvent(new Event('scroll')); }")
    lst.hover()
    nb.mouse.wheel(0, -200)
    pill = nb.get_by_role("button", name="Jump to latest")
    expect(pill).to_be_visible()
    p, v = pill.bounding_box(), lst.bounding_box()
    overlap = not (p["y"] >= v["y"] + v["height"] or p["y"] + p["height"] <= v["y"])
    assert not overlap, (p, v)
    pill.click()
    expect(pill).to_be_hidden()


BOTTOM = "(e) => e.scrollHeight - e.clientHeight - e.scrollTop"


def test_f20_the_list_keeps_its_place_when_lab_moves_its_cell(nb):
    """The cause of the list found at the top: JupyterLab moves a cell's DOM by taking it out
    and putting it back in one go (moving a cell, its windowed notebook, splitting a panel);
    the browser resets a re-attached scroller to the top and fires no scroll or resize event,
    so the list stayed at the top while it believed it followed the bottom."""
    lst = nb.locator(".rnb-root .rnb-list").first
    lst.evaluate("e => { e.scrollTop = e.scrollHeight; }")
    nb.wait_for_timeout(200)
    assert lst.evaluate(BOTTOM) < 2
    # Lab's own move: cell 0 (the widget) down and back up
    nb.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").click()
    for command in ("notebook:move-cell-down", "notebook:move-cell-up"):
        nb.evaluate("(c) => window.jupyterapp.commands.execute(c)", command)
    nb.wait_for_timeout(400)
    assert lst.evaluate(BOTTOM) < 2, lst.evaluate("e => e.scrollTop")
    # the same, done directly: out of the page and back in one task
    reattach = """(e) => { const o = e.closest('.jp-OutputArea'), p = o.parentNode,
                         n = o.nextSibling; o.remove(); p.insertBefore(o, n); }"""
    lst.evaluate(reattach)
    nb.wait_for_timeout(400)
    assert lst.evaluate(BOTTOM) < 2, lst.evaluate("e => e.scrollTop")
    # a reader who scrolled up keeps their place too
    nb.mouse.move(10, 10)
    lst.hover()
    nb.mouse.wheel(0, -1500)
    nb.wait_for_timeout(300)
    top = lst.evaluate("e => e.scrollTop")
    assert lst.evaluate(BOTTOM) > 100
    lst.evaluate(reattach)
    nb.wait_for_timeout(400)
    assert abs(lst.evaluate("e => e.scrollTop") - top) < 2
    nb.get_by_role("button", name="Jump to latest").click()


def test_f21_one_tab_stop_in_the_list_arrows_move_and_tab_reaches_the_actions(nb):
    expect(nb.locator(".rnb-root [role=list]").first).to_be_attached()
    rows = nb.locator(f".rnb-root [role=list] > {ROWS.split()[-1]}")
    assert rows.count() > 3
    tabbable = nb.locator(f'{ROWS}[tabindex="0"]')
    expect(tabbable).to_have_count(1)  # roving tabindex: the list is one Tab stop
    tabbable.focus()
    first_id = nb.evaluate("document.activeElement.dataset.itemId")
    nb.keyboard.press("ArrowUp")
    second_id = nb.evaluate("document.activeElement.dataset.itemId")
    assert second_id and second_id != first_id
    expect(nb.locator(f'{ROWS}[tabindex="0"]')).to_have_count(1)
    nb.keyboard.press("Tab")
    active = nb.evaluate("""() => { const a = document.activeElement;
        return {label: a.getAttribute('aria-label'),
                row: a.closest('.rnb-item')?.dataset.itemId}; }""")
    assert active["row"] == second_id and active["label"], active
    nb.wait_for_function(  # the focused row's actions are shown (they are hidden at rest)
        "() => getComputedStyle(document.activeElement.closest('.rnb-actions')).opacity === '1'")


def test_f13_log_rows_show_they_open_and_types_break_only_at_dots(nb):
    nb.get_by_role("button", name="Toggle event log").first.click()
    line = nb.locator(".rnb-root .rnb-log .rnb-log-line").first
    expect(line).to_be_visible()
    marker = line.evaluate("e => getComputedStyle(e, '::before').content")
    assert marker not in ("none", "normal", '""'), marker
    nb.locator(".rnb-root").first.evaluate("e => { e.style.width = '330px'; }")
    nb.wait_for_timeout(200)
    broken = nb.evaluate("""() => {
        const out = [];
        for (const t of document.querySelectorAll('.rnb-root .rnb-log-type')) {
          for (const n of t.childNodes) {
            if (n.nodeType !== 3 || !n.textContent) continue;
            const r = document.createRange(); r.selectNodeContents(n);
            const lines = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
            if (lines.size > 1) out.push(n.textContent);
          }
          if (!t.querySelector('wbr') && t.getClientRects().length && (() => {
                const r = document.createRange(); r.selectNodeContents(t);
                return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size > 1;
              })()) out.push(t.textContent);
        }
        return out; }""")
    assert broken == [], broken[:5]
    nb.locator(".rnb-root").first.evaluate("e => { e.style.width = ''; }")
    nb.get_by_role("button", name="Toggle event log").first.click()


def test_f12_counts_say_1_item_and_1_event(nb):
    run_cell(nb, 9)
    events = int(cell_output_text(nb, 9).strip().splitlines()[0])
    solo = nb.locator(".rnb-root").nth(1)
    expect(solo.locator(".rnb-counts")).to_contain_text("0 items")
    word = "event" if events == 1 else "events"
    # "1 event", not "1 events" (a whole word: "1 events" contains "1 event")
    expect(solo.locator(".rnb-counts")).to_contain_text(re.compile(rf"\b{events} {word}\b"))
    composer = solo.locator(".rnb-composer textarea")
    composer.fill("only one")
    composer.press("Enter")
    expect(solo.locator(".rnb-counts")).to_contain_text(re.compile(r"\b1 item\b"))
    # the only stderr line is the core's warning about cell 7's own fire-and-forget send
    stderr = nb.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    expected = ("item_fire_and_forget", "InvalidItemError", "item_not_there_at_all")
    texts = stderr.all_inner_texts()
    assert all(not t.strip() or any(x in t for x in expected) for t in texts), texts
