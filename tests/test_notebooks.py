"""Every shipped notebook runs top to bottom in a real kernel against the embedded server."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SECRET_MARKERS = ("sk-", "Api-Key ", "Bearer ", "t1.")


def execute(name: str, tmp_path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=90, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{name} cell {i}: {out.get('evalue')}"
    return nb


def text_of(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out:
            parts.append(out.data.get("text/plain", ""))
    return "".join(parts)


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_saved_notebooks_are_clean(name):
    raw = (NOTEBOOKS / name).read_text()
    nb = nbformat.reads(raw, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, name  # no stale outputs
    for marker in SECRET_MARKERS:
        assert marker not in raw, f"{name} contains {marker!r}"


@pytest.mark.timeout(180)
def test_quickstart(tmp_path):
    nb = execute("quickstart.ipynb", tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "application/vnd.jupyter.widget-view+json" in code[0].outputs[0].data
    assert "('system', 'Answer in one sentence.'), ('user', 'Hello! What can you do?')" in text_of(
        code[2])
    assert text_of(code[3]).startswith("completed - ")
    assert "[assistant]" in text_of(code[5])
    assert ": open; 5 items" in text_of(code[6])
    frame = text_of(code[7])
    assert "[5 rows x 6 columns]" in frame or frame.count("completed") == 5
    dtypes = text_of(code[8])
    for col, dtype in (("type", "category"), ("text", "string"), ("latency_s", "Float64")):
        assert any(line.split() == [col, dtype] for line in dtypes.splitlines()), (col, dtypes)


@pytest.mark.timeout(180)
def test_teaching(tmp_path):
    nb = execute("teaching.ipynb", tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    order = text_of(code[2]).splitlines()
    assert order[0].split()[0] == "None" and "[system]" in order[0]
    assert "[user] The sky is blue." in order[1] and "[user] Why is it blue?" in order[2]
    call = text_of(code[4]).split()
    assert call[:2] == ["function_call", "get_weather"] and call[2].startswith("call_")
    assert "The get_weather tool returned" in text_of(code[5]) and "18" in text_of(code[5])
    assert "7 items; 1 deleted row(s) kept in conv.df" in text_of(code[7])


@pytest.mark.timeout(180)
def test_analysis(tmp_path):
    nb = execute("analysis.ipynb", tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    shape = json.loads(text_of(code[1]).strip().splitlines()[-1])
    assert shape["rows"] == 13
    assert shape["columns"][:6] == ["position", "previous_item_id", "type", "role", "status",
                                    "text"]
    assert {"latency_s", "deleted", "total_tokens", "response_id"} <= set(shape["columns"])
    counts = text_of(code[2])
    assert "function_call_output" in counts and "assistant    5" in counts
    tokens = json.loads(text_of(code[4]).strip().splitlines()[0])
    assert tokens["responses"] == 6 and tokens["total_tokens"] > 0
    assert any("image/png" in o.get("data", {}) for o in code[6].outputs)  # the plots
    assert "parquet round trip ok" in text_of(code[7])
    assert "items=13" in text_of(code[8])
    sessions = next(c for c in code if "read_sessions" in "".join(c.source))
    per_file = json.loads(text_of(sessions).strip().splitlines()[0])
    assert len(per_file) == 3 and set(per_file.values()) == {4}  # 2 shared + question, answer


@pytest.mark.timeout(180)
def test_voice(tmp_path):
    nb = execute("voice.ipynb", tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert text_of(code[1]).startswith("2.64 s at 24000 Hz")
    spoken = text_of(code[2])
    assert "user: (1.7 s of speech)" in spoken
    assert 'assistant: You said: "(1.7 s of speech)"' in spoken
    for cell in (code[3], code[4]):  # conv.audio(...) shows a player
        html = next(o.data["text/html"] for o in cell.outputs if "text/html" in o.get("data", {}))
        assert '<audio controls preload="metadata" src="data:audio/wav;base64,' in html
    assert "int16" in text_of(code[4]) and " 24000 " in text_of(code[4])
    assert "audio_s" in text_of(code[5]) and "1.74" in text_of(code[5])
    assert "start_s" in text_of(code[6]) and "assistant" in text_of(code[6])
    assert any("image/png" in o.get("data", {}) for o in code[7].outputs)  # the timeline plot
    assert text_of(code[8]).startswith("2 channels, 24000 Hz, ")
