"""A key given through the environment reaches the server and nothing else: not the saved
notebook, not the widget state, not the event log, not any repr or error."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

FAKE_KEY = "sk-fake-0123456789-DO-NOT-LEAK-abcdef"

CELLS = [
    """
import os, json
import realtime_nb as rnb
from realtime_nb.server import EmbeddedServer
srv = EmbeddedServer().start()
# the real OpenAI code path (Bearer key from OPENAI_API_KEY), pointed at the loopback server
conv = rnb.connect("openai", model="gpt-realtime", url=srv.url)
conv.create("hello")
conv.respond()
conv
""",
    "conv.widget",
    "print(repr(conv)); print(repr(conv.endpoint)); print(conv.endpoint.name)",
    "print(json.dumps(conv.log, default=str))",
    "conv.events",
    """
try:
    auth = {"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]}
    rnb.connect(url="ws://127.0.0.1:9/v1/realtime", headers=auth, open_timeout=2)
except rnb.RealtimeError as exc:
    print("error:", exc, repr(exc))
""",
    "sent = conv.endpoint.headers['Authorization']\n"
    "print('key in use:', sent == 'Bearer ' + os.environ['OPENAI_API_KEY'])",
    "conv.close(); srv.stop()",
]


@pytest.mark.timeout(120)
def test_the_key_is_nowhere_in_the_saved_notebook(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src.strip()) for src in CELLS]
    client = NotebookClient(nb, timeout=60, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    for cell in nb.cells:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
    path = Path(tmp_path) / "saved.ipynb"
    nbformat.write(nb, path)
    raw = path.read_bytes()
    assert b"application/vnd.jupyter.widget-state+json" in raw  # widget state was saved
    assert b"realtime.item" in raw or b"hello" in raw  # and the conversation is in the file
    assert FAKE_KEY.encode() not in raw
    assert FAKE_KEY[8:24].encode() not in raw  # no fragment either
    # the key was in use (the handshake carried it), so the test is not vacuous
    outputs = "".join(o.get("text", "") for c in nb.cells for o in c.outputs)
    assert "key in use: True" in outputs
    assert "<redacted>" in outputs and "error:" in outputs
    assert os.environ["OPENAI_API_KEY"] == FAKE_KEY
