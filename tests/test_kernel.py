"""connect() inside a real Jupyter kernel: events keep arriving between and during cells."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

CELLS = [
    # 1: a slow-streaming embedded server so that the response spans the next cells
    """
import time, json
import realtime_nb as rnb
from realtime_nb.server import EmbeddedServer
srv = EmbeddedServer(chunk_delay=0.05).start()
conv = rnb.connect(url=srv.url)
item = conv.create("Hello from a kernel cell")
conv.respond(wait=False)
print(json.dumps({"created": item.id, "n_items_now": len(conv.items)}))
""",
    # 2: a cell that blocks the kernel's loop while the response streams
    """
time.sleep(2.5)
deltas = [e for e in conv.log if e["type"] == "response.output_text.delta"]
done = [e for e in conv.log if e["type"] == "response.done"]
print(json.dumps({"items": [i.text for i in conv.items], "deltas": len(deltas),
                  "done": len(done), "status": conv.status}))
""",
    # 3: the next cell sees everything that arrived in between, and can keep going
    """
second = conv.respond()
print(json.dumps({"n_items": len(conv.items), "second": second.status}))
conv.close(); srv.stop()
""",
]


def _run(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src.strip()) for src in CELLS]
    client = NotebookClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    results = []
    for cell in nb.cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, errors[0]["traceback"]
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        results.append(json.loads(text.strip().splitlines()[-1]))
    return results


@pytest.mark.timeout(120)
def test_events_arrive_between_and_during_blocking_cells(tmp_path):
    first, blocked, last = _run(tmp_path)
    assert first["n_items_now"] == 1
    # while the cell slept, the session thread received the whole streamed response
    assert blocked["done"] == 1 and blocked["deltas"] >= 3 and blocked["status"] == "open"
    assert blocked["items"][0] == "Hello from a kernel cell"
    assert "Hello from a kernel cell" in blocked["items"][1]
    assert last == {"n_items": 3, "second": "completed"}
