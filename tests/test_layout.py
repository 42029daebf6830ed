"""The package layout keeps its rules (docs/architecture.md): imports point one way, there is
no import cycle, the core does no I/O, and no module grows past about 400 lines.

Every import counts, wherever it is written (module level, inside a function, or under
``if TYPE_CHECKING:``): a reader who follows them must never come back to where they started.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "realtime_nb"
MAX_LINES = 420  # "about 400"

#: What may not appear in the sans-I/O core (top-level module names).
CORE_FORBIDDEN = {
    "socket", "ssl", "selectors", "asyncio", "threading", "concurrent", "multiprocessing",
    "subprocess", "websockets", "pandas", "ipywidgets", "anywidget", "traitlets", "IPython",
}
#: Package-internal imports each layer may make (prefixes of realtime_nb.* module names).
ALLOWED = {
    "errors": (),
    "core": ("core", "errors"),
    "server": ("server", "core.items", "core.validation", "core.protocol", "errors"),
    "session": ("core", "endpoints", "errors"),
    "data": ("data", "core", "endpoints", "errors", "parts"),
    "parts": ("core", "endpoints", "errors", "session"),
    "waiting": ("parts", "core", "errors"),
    "tools": ("tools", "parts", "core", "errors"),
    "audio": ("audio", "parts", "core", "errors"),
    "notebook": ("notebook", "data", "core", "errors"),
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The realtime_nb module a dotted name refers to (a module, else its package)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> tuple[set[str], set[str]]:
    """(package modules it imports, top-level names of outside modules it imports)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    inside: set[str] = set()
    outside: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names = [f"{prefix}.{a.name}" for a in node.names] + [prefix]
        for name in names:
            if name == "realtime_nb" or name.startswith("realtime_nb."):
                target = _resolve(name)
                if target is not None and target != module:
                    inside.add(target)
            elif name:
                outside.add(name.split(".")[0])
    # "from pkg import mod" also lists pkg itself: its __init__ counts only when nothing below
    # it was named (every module runs its parents' __init__, which is not an edge to follow)
    return {m for m in inside if not any(o.startswith(m + ".") for o in inside)
            or MODULES[m].name != "__init__.py"}, outside


GRAPH = {m: imports_of(m)[0] for m in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in GRAPH:
        if v not in index:
            visit(v)
    return found


def test_there_is_no_import_cycle():
    assert _cycles() == []


def test_the_cycle_finder_finds_a_cycle():
    """The check above can fail: a made-up edge back from the core to the facade is a cycle."""
    GRAPH["realtime_nb.core.items"].add("realtime_nb.client")
    try:
        assert any("realtime_nb.client" in c for c in _cycles())
    finally:
        GRAPH["realtime_nb.core.items"].discard("realtime_nb.client")


def _layer(module: str) -> str | None:
    rest = module.removeprefix("realtime_nb.")
    head = rest.split(".")[0]
    return head if head in ALLOWED else None


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m)))
def test_imports_point_one_way(module):
    allowed = ALLOWED[_layer(module)]  # type: ignore[index]
    for target in sorted(GRAPH[module]):
        rest = target.removeprefix("realtime_nb.")
        if rest == "realtime_nb":
            continue
        assert any(rest == a or rest.startswith(a + ".") for a in allowed), (
            f"{module} imports {target}; its layer may import only {allowed}")


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) == "core"))
def test_the_core_does_no_io(module):
    bad = imports_of(module)[1] & CORE_FORBIDDEN
    assert not bad, f"{module} imports {sorted(bad)}"


def test_the_rules_would_catch_a_forbidden_import(tmp_path):
    """The core check can fail: a module importing threading is caught by imports_of."""
    probe = PACKAGE / "core" / "_layout_probe.py"
    probe.write_text("import threading\nfrom ..session import Session\n", encoding="utf-8")
    try:
        MODULES["realtime_nb.core._layout_probe"] = probe
        inside, outside = imports_of("realtime_nb.core._layout_probe")
        assert "threading" in outside and "realtime_nb.session" in inside
    finally:
        MODULES.pop("realtime_nb.core._layout_probe", None)
        probe.unlink()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_about_400_lines(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines"
