"""The browser harness itself, against a real JupyterLab 4 and Notebook 7 (no realtime_nb widget).

A notebook shows an ipywidgets Label (so the widget manager of the front end works) and prints
``1+1``; both must appear in the page after Run > Run All Cells, and again after running a
cell on its own.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CELLS = [
    'import ipywidgets as w\nw.Label(value="harness-ok")',
    "print(1 + 1)",
]


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_run_all_shows_widget_and_output(
    page, lab_server, open_notebook, run_all, cell_output_text, app
):
    name = f"harness_{app}.ipynb"
    lab_server.write_notebook(name, CELLS)

    open_notebook(page, lab_server.url, name, app=app)
    run_all(page)

    label = page.locator(".jp-OutputArea-output .widget-label", has_text="harness-ok")
    expect(label).to_be_visible()
    assert cell_output_text(page, 1).strip() == "2"
    expect(
        page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-InputArea-prompt")
    ).to_have_text("[2]:")


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_run_cell_runs_only_that_cell(
    page, lab_server, open_notebook, run_cell, cell_output_text, app
):
    name = f"harness_cell_{app}.ipynb"
    lab_server.write_notebook(name, CELLS)

    open_notebook(page, lab_server.url, name, app=app)
    run_cell(page, 1)

    assert cell_output_text(page, 1).strip() == "2"
    assert cell_output_text(page, 0) == ""
    # The cell count stays as written (Ctrl+Enter does not add a cell at the end).
    expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(len(CELLS))
