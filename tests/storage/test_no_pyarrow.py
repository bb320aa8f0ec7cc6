"""The app runs without pyarrow: scoring, the prediction log, labels, drift and monitoring.

pyarrow is a test and benchmark dependency only (the bundle leaves it out).
Each command runs in a real subprocess whose ``import pyarrow`` raises, as
in an environment where it is not installed; the outputs are checked here.
"""

from __future__ import annotations

import json
import os
import sys

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from modelward import api
from modelward.core.intake.estimator import log_estimator
from modelward.core.registry import Registry

FEATURES = ["age", "income", "debt"]

# Makes ``import pyarrow`` (and every submodule) fail, as if it were not installed.
SHIM = """
import sys

class _NoPyarrow:
    def find_spec(self, name, path=None, target=None):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, _NoPyarrow())
"""


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    df.insert(0, "loan_id", [f"L{seed}-{i:05d}" for i in range(n)])
    df["y"] = (df["age"] + 0.5 * df["income"] > 0).astype(int)
    return df


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("no-pyarrow")
    shim = root / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SHIM, encoding="utf-8")
    ref, cur = _frame(400, 1), _frame(300, 2)
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    for name, df in (("ref", ref), ("cur", cur)):
        con.register("df", df)
        con.execute(f"COPY df TO '{root / (name + '.parquet')}' (FORMAT parquet)")
        con.unregister("df")
    con.close()
    cur.to_csv(root / "cur.csv", index=False)
    home = root / "reg"
    reg = Registry(home)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(ref[FEATURES], ref["y"])
    log_estimator(reg, model, "credit", X=ref[FEATURES], y=ref["y"])
    reg.close()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(shim), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    )
    return root, home, env, model, cur


def _ok(proc):
    assert proc.returncode == 0, proc.stderr
    return proc


def test_the_shim_hides_pyarrow(world):
    import subprocess

    _root, _home, env, _model, _cur = world
    proc = subprocess.run(
        [sys.executable, "-c", "import pyarrow"], env=env, capture_output=True, text=True
    )
    assert proc.returncode != 0 and "No module named 'pyarrow'" in proc.stderr


def test_score_log_labels_drift_and_monitor_without_pyarrow(world, run_cli):
    root, home, env, model, cur = world
    reg_args = ("--registry", str(home))

    # score Parquet -> Parquet with every row logged, and CSV -> CSV
    out = root / "scored.parquet"
    doc = json.loads(
        _ok(
            run_cli(
                *("score", "credit:1", "--data", str(root / "cur.parquet"), "-o", str(out)),
                *("--id-column", "loan_id", "--log-rows", "--json", *reg_args),
                env=env,
            )
        ).stdout
    )
    assert doc["rows"] == {"in": 300, "scored": 300, "rejected": 0}
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    got = con.execute(f"SELECT * FROM read_parquet('{out}')").df()
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{out}')").fetchall()
    types = {r[0]: r[1] for r in described}
    assert list(got.columns) == ["loan_id", "prediction", "proba_0", "proba_1"]
    assert (types["loan_id"], types["prediction"], types["proba_1"]) == (
        "VARCHAR",
        "BIGINT",
        "DOUBLE",
    )
    assert got["loan_id"].tolist() == cur["loan_id"].tolist()
    np.testing.assert_allclose(
        got[["proba_0", "proba_1"]].to_numpy(), model.predict_proba(cur[FEATURES]), rtol=1e-12
    )
    out_csv = root / "scored.csv"
    _ok(
        run_cli(
            *("score", "credit:1", "--data", str(root / "cur.csv"), "-o", str(out_csv)),
            *("--id-column", "loan_id", *reg_args),
            env=env,
        )
    )
    text = pd.read_csv(out_csv)
    assert text["loan_id"].tolist() == cur["loan_id"].tolist()
    np.testing.assert_allclose(text["proba_1"], got["proba_1"], rtol=1e-15)
    con.close()

    # late labels join the logged rows by id: realized metrics from the log
    labels = root / "labels.csv"
    cur[["loan_id", "y"]].to_csv(labels, index=False)
    _ok(
        run_cli(
            *("labels", "credit", "--data", str(labels), "--id", "loan_id", "--label", "y"),
            *reg_args,
            env=env,
        )
    )
    shown = json.loads(
        _ok(run_cli("shadow", "show", "credit", "--json", *reg_args, env=env)).stdout
    )
    (v,) = shown["versions"]
    # two batches logged (Parquet with its rows, CSV as a summary); the rows join the labels
    assert (v["batches"], v["rows"]) == (2, 600) and v["realized"]["labelled_rows"] == 300
    expected = float((model.predict(cur[FEATURES]) == cur["y"]).mean())
    assert v["realized"]["accuracy"] == pytest.approx(expected)

    # drift of a CSV against a Parquet reference, and a monitored batch
    drift = json.loads(
        _ok(
            run_cli(
                *("drift", "--reference", str(root / "ref.parquet")),
                *("--current", str(root / "cur.csv"), "--json"),
                env=env,
            )
        ).stdout
    )
    assert drift
    _ok(
        run_cli(
            *("monitor", "credit:1", "--reference", str(root / "ref.parquet"), "--target", "y"),
            *("--exclude", "loan_id", "--batch", str(root / "cur.parquet"), "--json", *reg_args),
            env=env,
        )
    )
    reg = api.open_registry(str(home))
    try:
        assert reg.audit_events(action="score.completed")
    finally:
        reg.close()
