"""The window's package has no import cycle (Qt signals connect what calls back)."""

from __future__ import annotations

import ast
from pathlib import Path

import modelward.ui

UI = Path(modelward.ui.__file__).parent
PREFIX = "modelward.ui"


def _modules() -> dict[str, Path]:
    mods = {}
    for p in UI.rglob("*.py"):
        parts = p.relative_to(UI).with_suffix("").parts
        name = ".".join((PREFIX, *parts))
        mods[name.removesuffix(".__init__")] = p
    return mods


def _resolve(name: str, mods: dict[str, Path]) -> str | None:
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def _edges(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """Every ui module ``name`` imports, at any depth, except under ``if TYPE_CHECKING``."""
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom) and child.module:
                targets = [child.module] + [f"{child.module}.{a.name}" for a in child.names]
            for t in targets:
                if t.startswith(PREFIX):
                    r = _resolve(t, mods)
                    if r and r != name and r != PREFIX:
                        out.add(r)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
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

    for v in graph:
        if v not in index:
            strong(v)
    return found


def test_no_import_cycle_in_the_ui():
    mods = _modules()
    graph = {n: _edges(n, p, mods) for n, p in mods.items()}
    assert graph["modelward.ui.main_window"], "the graph was not built"
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_screenshot_tooling_ships_in_the_package():
    names = {p.name for p in UI.rglob("*.py")}
    assert not names & {"screenshots.py", "alerts_screens.py", "monitoring_screenshots.py"}
