"""The core never imports Qt: checked in a fresh interpreter, module by module."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import modelward.core


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
