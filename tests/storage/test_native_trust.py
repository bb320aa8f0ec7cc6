"""A joblib'd XGBoost model: refused with how to save it natively; once a reviewer trusts its
bytes, the override covers every later use (validate, compare, score, monitor), and
``convert --to native`` re-saves it natively, unpickling it only in the sandbox."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest

xgb = pytest.importorskip("xgboost")


def test_trusted_xgboost_joblib_end_to_end(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    y = (X.a - X.b > 0).astype(int)
    X.assign(y=y).to_csv(tmp_path / "data.csv", index=False)
    model = xgb.XGBClassifier(n_estimators=4, max_depth=2).fit(X, y)
    joblib.dump(model, tmp_path / "credit.joblib")
    reg = ["--registry", str(tmp_path / "reg")]
    data = ["--data", str(tmp_path / "data.csv")]

    r = run_cli("register", str(tmp_path / "credit.joblib"), *reg)
    assert r.returncode == 3
    assert 'model.save_model("model.json")' in r.stderr
    assert "convert NAME --to native" in r.stderr

    r = run_cli(
        "trust", str(tmp_path / "credit.joblib"), "--name", "credit",
        "--allow", "xgboost.sklearn:XGBClassifier", "--allow", "xgboost.core:Booster",
        "--reviewer", "Ann Reviewer", "--reason", "our own model, checked", *reg,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr

    # Every later use of the same bytes honours the override.
    r = run_cli("validate", "credit:1", *data, "--target", "y", "--json", *reg)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metrics"]["accuracy"] > 0.8

    r = run_cli("convert", "credit:1", "--to", "native", "--json", *reg)
    assert r.returncode == 0, r.stderr
    converted = json.loads(r.stdout)
    assert converted["format"] == "xgboost-ubj"
    assert converted["lineage"]["converted_from"] == "credit:1"

    r = run_cli("compare", "credit:1", "credit:2", *data, "--target", "y", "--json", *reg)
    assert r.returncode == 0, r.stderr

    r = run_cli("score", "credit:1", *data, "-o", str(tmp_path / "scored.csv"), *reg)
    assert r.returncode == 0, r.stderr
    scored = pd.read_csv(tmp_path / "scored.csv")
    np.testing.assert_allclose(scored["proba_1"], model.predict_proba(X)[:, 1], rtol=1e-5)

    r = run_cli(
        "monitor", "credit:1", "--batch", str(tmp_path / "data.csv"),
        "--reference", str(tmp_path / "data.csv"), "--target", "y", *reg,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
