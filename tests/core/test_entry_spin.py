"""The entry point lets idle BLAS and OpenMP threads sleep soon, before NumPy loads OpenBLAS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from modelward.__main__ import THREAD_SPIN, tune_thread_spin

APP = Path(__file__).resolve().parents[2] / "app"

# Runs the real entry point with a finder that notes the variable when NumPy is
# first imported (OpenBLAS reads it then, once).
PROBE = r"""
import atexit, importlib.abc, json, os, runpy, sys
seen = {}
class Probe(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" and "numpy" not in seen:
            seen["numpy"] = [os.environ.get(k) for k in
                             ("OPENBLAS_THREAD_TIMEOUT", "GOMP_SPINCOUNT")]
        return None
sys.meta_path.insert(0, Probe())
reg = sys.argv[1]
sys.argv = ["modelward", "score", "m:1", "--data", reg + ".csv", "-o", reg + ".out.csv",
            "--registry", reg]
# a command ends with os._exit (no finally runs): the note is written at exit
atexit.register(lambda: json.dump(seen, open(reg + ".probe.json", "w")))
runpy.run_module("modelward", run_name="__main__")
"""


def _numpy_saw(tmp_path: Path, **env: str) -> list[str | None]:
    reg = tmp_path / "reg"
    full = {k: v for k, v in os.environ.items() if k not in (*THREAD_SPIN, "OMP_WAIT_POLICY")}
    full.update(env, PYTHONPATH=str(APP))
    # a score of a model the registry does not hold: it loads NumPy, then refuses
    subprocess.run(
        [sys.executable, "-c", PROBE, str(reg)], env=full, capture_output=True, timeout=120
    )
    note = json.loads((tmp_path / "reg.probe.json").read_text())
    assert "numpy" in note, "the command never imported NumPy"
    return note["numpy"]


def test_a_command_sets_the_spins_before_numpy_loads(tmp_path):
    assert _numpy_saw(tmp_path) == list(THREAD_SPIN.values())


def test_a_value_the_user_set_is_kept(tmp_path):
    assert _numpy_saw(tmp_path, OPENBLAS_THREAD_TIMEOUT="28", GOMP_SPINCOUNT="5") == ["28", "5"]
    env: dict[str, str] = {"OPENBLAS_THREAD_TIMEOUT": "20", "OMP_WAIT_POLICY": "ACTIVE"}
    tune_thread_spin(env)
    assert env == {"OPENBLAS_THREAD_TIMEOUT": "20", "OMP_WAIT_POLICY": "ACTIVE"}
    empty: dict[str, str] = {}
    tune_thread_spin(empty)
    assert empty == THREAD_SPIN
