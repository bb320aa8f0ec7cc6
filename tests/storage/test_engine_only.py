"""Commands run on DuckDB's engine module alone, never importing the ``duckdb`` package.

The package's Python layer (relational API, expressions, version metadata)
costs about 100 ms of every process; ModelWard needs only SQL. Each command
runs in a child, through ``python -m modelward``'s own entry point, and the
child fails when anything imported the package.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelward import api

APP = Path(__file__).resolve().parents[2] / "app"

# a child that runs one command through `python -m modelward`'s entry point; what
# follows it asserts on the modules that command imported
RUN = (
    "import runpy, sys\n"
    "sys.argv = ['modelward', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('modelward', run_name='__main__')\n"
    "except SystemExit as e:\n"
    "    assert not e.code, f'exit {e.code}'\n"
)
CHILD = (
    RUN + "assert '_duckdb' in sys.modules\n"
    "assert 'duckdb' not in sys.modules, 'the duckdb package was imported'\n"
)


def _run(*args: str, child: str = CHILD) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(APP))
    return subprocess.run(
        [sys.executable, "-c", child, *args], capture_output=True, text=True, env=env, check=False
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("engine")
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"a": rng.normal(size=400), "b": rng.choice(["x", "y"], 400)})
    df["y"] = (df["a"] > 0).astype(int)
    df.to_csv(tmp / "d.csv", index=False)
    df.to_parquet(tmp / "d.parquet", index=False)
    home = str(tmp / "reg")
    X = df[["a"]]
    api.log_model(LogisticRegression().fit(X, df["y"]), "m", X=X, registry=home)
    api.open_registry(home).close()
    return tmp, home


@pytest.mark.parametrize(
    "command",
    [
        ("list", "--filter", "name:m", "--sort=-created", "--limit", "3"),
        ("show", "m:1"),
        ("score", "m:1", "--data", "{tmp}/d.parquet", "-o", "{tmp}/out.csv"),
        ("drift", "--reference", "{tmp}/d.csv", "--current", "{tmp}/d.parquet"),
        ("validate", "m:1", "--data", "{tmp}/d.csv", "--target", "y", "--allow-extra"),
    ],
    ids=lambda c: c[0],
)
def test_a_command_never_imports_the_duckdb_package(made, command):
    tmp, home = made
    args = [a.format(tmp=tmp) for a in command]
    res = _run(*args, "--registry", home)
    assert res.returncode == 0, res.stderr


LEAN = (
    RUN + "heavy = {'socket', 'subprocess', 'hashlib', 'decimal', 'uuid'} & set(sys.modules)\n"
    "assert not heavy, f'list imported {sorted(heavy)}'\n"
)


def test_list_imports_no_module_it_does_not_use(made):
    """A page of versions is read without sockets, processes, hashes or DuckDB's list binding.

    Each of these cost 2-3 ms of a `list` process (its target is < 150 ms over
    100,000 versions): the host tag, the stop signals and the sandbox's processes
    import them when used; the page's ids are written into its statements.
    """
    _tmp, home = made
    for args in (("list", "--filter", "name:m", "--limit", "3"), ("list", "--json")):
        res = _run(*args, "--registry", home, child=LEAN)
        assert res.returncode == 0, res.stderr
