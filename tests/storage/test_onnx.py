"""ONNX out: ``convert --to onnx`` with a parity check, and an ONNX version scoring without scikit-learn."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("skl2onnx")
pytest.importorskip("onnxruntime")

from modelward.core.compute.recipe import Recipe  # noqa: E402
from modelward.core.compute.training import train  # noqa: E402
from modelward.core.intake.convert import convert_version  # noqa: E402
from modelward.core.registry import Registry  # noqa: E402


def credit(n: int = 200, seed: int = 0, *, missing: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 15, n)
    region = rng.choice(["north", "south", "east"], n).astype(object)
    debt = rng.normal(10, 5, n)
    logit = 0.08 * (debt - 10) - 0.05 * (income - 50) + (region == "south") * 0.8
    y = (logit + rng.logistic(size=n) > 0).astype(int)
    if missing:
        region[rng.choice(n, 8, replace=False)] = None  # a missing category: imputed by the model
    return pd.DataFrame({"income": income, "region": region, "debt": debt, "default": y})


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry with a logistic regression trained on numbers and a category (with gaps)."""
    root = tmp_path_factory.mktemp("onnx")
    data = root / "credit.csv"
    credit().to_csv(data, index=False)
    reg = Registry(root / "reg")
    train(reg, Recipe(data=str(data), target="default", estimator="LogisticRegression"), "credit")
    return root


def _cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelward", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_convert_to_onnx_records_parity_and_scores_without_sklearn(home: Path):
    reg_dir = str(home / "reg")
    r = _cli("convert", "credit:1", "--to", "onnx", "--registry", reg_dir, "--json")
    assert r.returncode == 0, r.stderr
    v = json.loads(r.stdout)
    assert v["format"] == "onnx" and v["name"] == "credit" and v["version"] == 2
    lin = v["lineage"]
    assert lin["converted_from"] == "credit:1" and lin["converted_from_format"] == "skops"
    par = lin["onnx_parity"]
    assert par["compared"] == "probability" and par["rows"] == 200
    assert 0 <= par["max_abs_diff"] <= 1e-4 and par["labels_agree"] == 1.0
    assert par["data"] == "the training snapshot"
    assert [f["name"] for f in v["signature"]["features"]] == ["income", "region", "debt"]

    # The ONNX version scores in a process where scikit-learn cannot be imported at all.
    out_onnx = home / "onnx.csv"
    blocked = (
        "import sys; sys.modules['sklearn'] = None; "
        "from modelward.cli import main; "
        f"code = main(['score', 'credit:2', '--data', {str(home / 'credit.csv')!r}, "
        f"'-o', {str(out_onnx)!r}, '--registry', {reg_dir!r}]); "
        "assert not any(m == 'sklearn' or m.startswith('sklearn.') for m in sys.modules "
        "if sys.modules[m] is not None), 'scikit-learn was imported'; "
        "sys.exit(code)"
    )
    r = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    a = pd.read_csv(out_onnx)
    prob = sorted(c for c in a.columns if c.startswith("proba"))
    assert prob and len(a) == 200
    from modelward import api
    from modelward.core.compute import data as D

    source = api.load_model("credit:1", registry=Registry(reg_dir))
    frame = D.feature_frame(
        pd.read_csv(home / "credit.csv"),
        {"income": "numeric", "region": "categorical", "debt": "numeric"},
    )
    want = source.predict_proba(frame)
    assert np.abs(a[prob].to_numpy() - want).max() <= 1e-4


def test_an_onnx_version_scores_without_importing_sklearn_or_onnx_where_both_are_installed(
    home: Path,
):
    """Both cost a whole process 1.85 s of the 2.7 s a 100,000-row ONNX score took: the
    adapter took scikit-learn's bases at import, and read the classes from the graph
    with the ``onnx`` package. The first use that needs scikit-learn still gets it."""
    reg_dir = str(home / "reg")
    r = _cli("convert", "credit:1", "--to", "onnx", "--registry", reg_dir, "--json")
    assert r.returncode == 0, r.stderr
    ref = json.loads(r.stdout)["ref"]
    out = home / "onnx-lean.csv"
    script = (
        "import sys; from modelward.cli import main; "
        f"code = main(['score', {ref!r}, '--data', {str(home / 'credit.csv')!r}, "
        f"'-o', {str(out)!r}, '--registry', {reg_dir!r}]); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'onnx'})); "
        "sys.exit(code)"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"
    assert len(pd.read_csv(out)) == 200

    from modelward import api

    model = api.load_model(ref, registry=Registry(reg_dir))
    frame = credit()
    assert model.score(frame.drop(columns="default"), frame["default"]) > 0.5
    assert type(model).__name__ == "NativeClassifier"


def test_a_conversion_beyond_the_tolerance_is_refused_audited_and_leaves_nothing(home: Path):
    reg_dir = str(home / "reg")
    before = Registry(reg_dir).list_versions()
    r = _cli("convert", "credit:1", "--to", "onnx", "--tolerance", "0", "--registry", reg_dir)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    msg = r.stderr.strip().splitlines()[-1]
    assert "differs from credit:1 by up to" in msg and "tolerance 0" in msg
    assert "not registered" in msg
    reg = Registry(reg_dir)
    assert [v.ref for v in reg.list_versions()] == [v.ref for v in before]
    with reg.read() as cur:
        (reason,) = cur.execute(
            "SELECT reason FROM audit WHERE action = 'ingest.rejected' ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    assert "differs from credit:1" in reason


def test_random_forest_and_gradient_boosting_convert_within_tolerance(tmp_path: Path):
    data = tmp_path / "d.csv"
    credit(160, seed=1, missing=False).to_csv(data, index=False)
    other = tmp_path / "other.csv"
    credit(60, seed=2, missing=False).to_csv(other, index=False)
    reg = Registry(tmp_path / "reg")
    forest = Recipe(
        data=str(data),
        target="default",
        estimator="RandomForestClassifier",
        params={"n_estimators": 10, "random_state": 0},
    )
    train(reg, forest, "forest")
    boosted = Recipe(
        data=str(data), target="debt", estimator="HistGradientBoostingRegressor",
        params={"max_iter": 20},
    )  # fmt: skip
    train(reg, boosted, "boosted")
    f = convert_version(reg, "forest:1", to="onnx", data=str(other)).version
    assert f.format == "onnx" and f.lineage["onnx_parity"]["rows"] == 60
    assert f.lineage["onnx_parity"]["data"] == str(other)
    b = convert_version(reg, "boosted:1", to="onnx").version
    par = b.lineage["onnx_parity"]
    assert par["compared"] == "prediction" and par["max_abs_diff"] <= 1e-4
    from modelward.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="already in the onnx format"):
        convert_version(reg, b.ref, to="onnx")
