"""The core never imports Qt (checked in a fresh interpreter) and has no import cycle."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import modelward
import modelward.core

PACKAGE_ROOT = Path(modelward.__file__).parent
ACYCLIC = ("modelward.core", "modelward")
"""Packages that must have no import cycle inside them: the core, and the whole package."""


def test_importing_every_core_module_loads_no_qt():
    names = [
        m.name for m in pkgutil.walk_packages(modelward.core.__path__, prefix="modelward.core.")
    ]
    assert "modelward.core.registry.registry" in names
    code = (
        "import importlib, sys\n"
        f"for n in {names!r}: importlib.import_module(n)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'shiboken6', 'pyqtgraph') or m.startswith('modelward.ui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_and_api_import_light():
    """The CLI entry imports neither Qt nor scikit-learn until a command needs them."""
    code = (
        "import sys, modelward.cli, modelward.api\n"
        "print(','.join(sorted(m for m in ('PySide6', 'sklearn', 'scipy') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_test_modules_have_unique_basenames():
    """pytest imports test modules by basename: two with the same name break collection."""
    from collections import Counter
    from pathlib import Path

    names = Counter(p.name for p in Path(__file__).parents[1].rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []


# --------------------------------------------------------------------------- import cycles
def _modules(root: Path) -> dict[str, Path]:
    """Every module of the package under ``root`` by dotted name."""
    out = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at module level and inside functions, outside TYPE_CHECKING."""
    for child in ast.iter_child_nodes(tree):
        if _is_type_checking(child):
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _imports(child)


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def import_graph(root: Path = PACKAGE_ROOT) -> dict[str, set[str]]:
    """The import graph of the package at ``root``, built from the source with ``ast``.

    ``from pkg import sub`` points at ``pkg.sub`` when that is a module (as
    Python runs it), else at ``pkg``. Imports of a module's own package
    ``__init__`` by Python itself are not edges (they cannot form a cycle the
    code wrote).
    """
    modules = _modules(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    pkg = _package_of(name, path).split(".")
                    pkg = pkg[: len(pkg) - (node.level - 1)]
                    base = ".".join([*pkg, base] if base else pkg)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]], within: str) -> list[list[str]]:
    """Strongly connected components of more than one module inside package ``within``."""
    nodes = sorted(n for n in graph if n == within or n.startswith(within + "."))
    inside = set(nodes)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:  # Tarjan; the graph is small, recursion is fine
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v] & inside):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for n in nodes:
        if n not in index:
            visit(n)
    return found


@pytest.mark.parametrize("package", ACYCLIC)
def test_no_import_cycle(package):
    graph = import_graph()
    assert f"{package}.registry.registry" in graph or package != "modelward.core"
    assert cycles(graph, package) == []


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path):
    pkg = tmp_path / "demo_pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from demo_pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from demo_pkg import a\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from demo_pkg import a\n"
    )
    (pkg / "d.py").write_text("from . import c\n")
    graph = import_graph(pkg)
    assert graph["demo_pkg.a"] == {"demo_pkg.sub.b"}
    assert graph["demo_pkg.c"] == set()  # TYPE_CHECKING only
    assert graph["demo_pkg.d"] == {"demo_pkg.c"}
    assert cycles(graph, "demo_pkg") == [["demo_pkg.a", "demo_pkg.sub.b"]]
