"""The entry point lets idle BLAS threads sleep soon, before NumPy loads OpenBLAS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from modelward.__main__ import BLAS_SPIN, tune_blas_threads

APP = Path(__file__).resolve().parents[2] / "app"

# Runs the real entry point with a finder that notes the variable when NumPy is
# first imported (OpenBLAS reads it then, once).
PROBE = r"""
import atexit, importlib.abc, json, os, runpy, sys
seen = {}
class Probe(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" and "numpy" not in seen:
            seen["numpy"] = os.environ.get("OPENBLAS_THREAD_TIMEOUT")
        return None
sys.meta_path.insert(0, Probe())
reg = sys.argv[1]
sys.argv = ["modelward", "score", "m:1", "--data", reg + ".csv", "-o", reg + ".out.csv",
            "--registry", reg]
# a command ends with os._exit (no finally runs): the note is written at exit
atexit.register(lambda: json.dump(seen, open(reg + ".probe.json", "w")))
runpy.run_module("modelward", run_name="__main__")
"""


def _numpy_saw(tmp_path: Path, **env: str) -> str | None:
    reg = tmp_path / "reg"
    full = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    full.update(env, PYTHONPATH=str(APP))
    # a score of a model the registry does not hold: it loads NumPy, then refuses
    subprocess.run(
        [sys.executable, "-c", PROBE, str(reg)], env=full, capture_output=True, timeout=120
    )
    note = json.loads((tmp_path / "reg.probe.json").read_text())
    assert "numpy" in note, "the command never imported NumPy"
    return note["numpy"]


def test_a_command_sets_the_spin_before_numpy_loads(tmp_path):
    assert _numpy_saw(tmp_path) == BLAS_SPIN


def test_a_value_the_user_set_is_kept(tmp_path):
    assert _numpy_saw(tmp_path, OPENBLAS_THREAD_TIMEOUT="28") == "28"
    env: dict[str, str] = {"OPENBLAS_THREAD_TIMEOUT": "20"}
    tune_blas_threads(env)
    assert env["OPENBLAS_THREAD_TIMEOUT"] == "20"
    empty: dict[str, str] = {}
    tune_blas_threads(empty)
    assert empty == {"OPENBLAS_THREAD_TIMEOUT": BLAS_SPIN}
