"""The %%rnb and %rnb magics in a real kernel against the embedded server."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

CELLS = [
    "%load_ext realtime_nb\nimport realtime_nb as rnb\nconv = rnb.connect()",
    "%%rnb\nHello from a magic cell",
    "%%rnb conv --role system --root\nAnswer briefly.",
    "%%rnb --respond\nSay something back",
    "print([(i.role, i.text) for i in conv.items])",
    "%%rnb --role robot\nnope",
    "%%rnb --after item_missing\nlost",
    "%rnb status",
    "%rnb",
    "%%rnb nothing_here\nx",
]


@pytest.mark.timeout(120)
def test_magics_in_a_real_kernel(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    NotebookClient(nb, timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    def out(i):
        cell = nb.cells[i]
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
        parts = []
        for o in cell.outputs:
            if o.output_type == "stream":
                parts.append(o.text)
            elif "data" in o:
                parts.append(o.data.get("text/plain", ""))
        return "".join(parts)

    assert "[user] completed: Hello from a magic cell" in out(1)
    assert "[system] completed: Answer briefly." in out(2)
    streamed = out(3)
    assert "[user] completed: Say something back" in streamed
    assert "[assistant]" in streamed and "Say something back" in streamed.split("[assistant]")[1]
    roles = out(4)
    assert roles.index("'system'") < roles.index("Hello from a magic cell")
    assert "usage: %%rnb" in out(5) and "robot" in out(5)
    assert "the server said no" in out(6) and "item_missing" in out(6)
    assert ": open; 4 items" in out(7)
    assert "usage:" in out(8)
    assert "not a realtime_nb conversation" in out(9)
