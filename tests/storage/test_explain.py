"""Explanations and reason codes through the user's doors: CLI, API, worker; every model kind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelward import api
from modelward.core.compute.data import read_table
from modelward.core.compute.explain import explain_validation, reasons_for
from modelward.core.compute.recipe import Recipe
from modelward.core.compute.training import train
from modelward.core.compute.validation import load_validation, validate
from modelward.core.compute.worker import run_in_worker
from modelward.core.errors import Cancelled, InvalidInput
from modelward.core.progress import CancelToken
from modelward.core.registry import Registry

CONTRACT = {"method", "rows_used", "importance", "pdp"}
PDP_KEYS = {"feature", "kind", "grid", "average", "ice", "target"}


def _frame(n: int, seed: int, target: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 15, n)
    age = rng.integers(18, 80, n).astype(float)
    region = rng.choice(["north", "south", "east"], n)
    debt = rng.normal(10, 5, n)
    score = 0.08 * (debt - 10) - 0.05 * (income - 50) + (region == "south") * 0.8
    noisy = score + rng.logistic(size=n) * 0.5
    ys = {
        "default": (noisy > 0).astype(int),
        "grade": np.where(noisy > 0.5, "C", np.where(noisy > -0.5, "B", "A")),
        "amount": 3 * score + rng.normal(0, 0.2, n),
    }
    return pd.DataFrame(
        {"income": income, "age": age, "region": region, "debt": debt, target: ys[target]}
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """One registry: a binary boosting model, a multiclass linear one, a regression forest."""
    tmp = tmp_path_factory.mktemp("explain")
    reg = Registry(tmp / "reg")
    files = {}
    for name, target, estimator, params in [
        ("credit", "default", "HistGradientBoostingClassifier", {"max_iter": 20}),
        ("grades", "grade", "LogisticRegression", {}),
        ("amounts", "amount", "RandomForestRegressor", {"n_estimators": 10, "max_depth": 5}),
    ]:
        train_csv, test_csv = tmp / f"{name}-train.csv", tmp / f"{name}-test.csv"
        _frame(240, 0, target).to_csv(train_csv, index=False)
        _frame(160, 1, target).to_csv(test_csv, index=False)
        train(
            reg,
            Recipe(data=str(train_csv), target=target, estimator=estimator, params=params),
            name,
        )
        files[name] = test_csv
    yield reg, files, tmp
    reg.close()


def _cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "modelward", "--registry", str(tmp / "reg"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_cli_explain_stores_the_contract_with_the_validation(world):
    reg, files, tmp = world
    proc = _cli(
        tmp, "explain", "credit:1", "--data", str(files["credit"]), "--repeats", "2", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    doc = out["explanations"]
    assert CONTRACT <= set(doc) and doc["rows_used"] == 160
    assert "2 repeats" in doc["method"] and "scoring=roc_auc" in doc["method"]
    means = [i["mean"] for i in doc["importance"]]
    assert means == sorted(means, reverse=True)
    assert {i["feature"] for i in doc["importance"]} == {"income", "age", "region", "debt"}
    kinds = {p["feature"]: p["kind"] for p in doc["pdp"]}
    assert kinds["region"] == "categorical" and kinds["income"] == "numeric"
    for p in doc["pdp"]:
        assert PDP_KEYS <= set(p) and p["target"] == "probability of class 1"
        assert len(p["average"]) == len(p["grid"]) and len(p["ice"]) == 50
        assert all(len(line) == len(p["grid"]) for line in p["ice"])
    region = next(p for p in doc["pdp"] if p["feature"] == "region")
    assert sorted(region["grid"]) == ["east", "north", "south"]
    # the stored validation carries the same document (what the reports render)
    stored = load_validation(reg, out["validation_id"], predictions=False).curves["explanations"]
    assert {k: stored[k] for k in CONTRACT} == {k: doc[k] for k in CONTRACT}
    # the ICE lines average to the partial dependence where all rows are kept
    assert np.isfinite(np.asarray(region["average"], dtype=float)).all()


def test_cli_row_reason_codes_and_score_reason_columns(world):
    reg, files, tmp = world
    proc = _cli(
        tmp,
        "explain",
        "credit:1",
        "--data",
        str(files["credit"]),
        "--rows",
        "2-3",
        "--top",
        "4",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["method"].startswith("TreeSHAP")
    assert [r["row"] for r in doc["rows"]] == [2, 3]
    for r in doc["rows"]:
        assert r["explains"] == "log-odds of class 1"
        total = r["base"] + sum(c["contribution"] for c in r["reasons"])
        assert total == pytest.approx(r["output"], abs=1e-9)  # 4 codes = every column
    out = tmp / "scored.csv"
    proc = _cli(
        tmp, "score", "credit:1", "--data", str(files["credit"]), "-o", str(out), "--reasons", "2"
    )
    assert proc.returncode == 0, proc.stderr
    scored = pd.read_csv(out)
    assert list(scored.columns[-4:]) == ["reason_1", "reason_1_value", "reason_2", "reason_2_value"]
    first = doc["rows"][0]["reasons"]
    assert scored.loc[1, "reason_1"] == first[0]["feature"]
    assert scored.loc[1, "reason_1_value"] == pytest.approx(first[0]["contribution"])
    manifest = json.loads(Path(f"{out}.manifest.json").read_text())
    assert manifest["reasons"]["method"].startswith("TreeSHAP")


def test_a_file_missing_a_column_is_one_sentence(world):
    reg, files, tmp = world
    bad = tmp / "no-debt.csv"
    read_table(files["credit"]).drop(columns=["debt"]).to_csv(bad, index=False)
    proc = _cli(tmp, "explain", "credit:1", "--data", str(bad), "--row", "1")
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "'debt'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_extra_column_is_named_unless_allowed(world):
    reg, files, tmp = world
    extra = tmp / "extra.csv"
    df = read_table(files["credit"])
    df["note"] = "x"
    df.to_csv(extra, index=False)
    with pytest.raises(InvalidInput, match="not trained on: 'note'"):
        api.reasons("credit:1", extra, reg, rows="1")
    assert api.reasons("credit:1", extra, reg, rows="1", allow_extra=True)["rows"]
    with pytest.raises(InvalidInput, match="not in the data"):
        api.reasons("credit:1", extra, reg, rows="999", allow_extra=True)


def test_api_explains_multiclass_per_class_with_a_proper_score(world):
    reg, files, _ = world
    out = api.explain("grades:1", files["grades"], reg, n_repeats=2, top=2)
    doc = out["explanations"]
    assert "scoring=neg_log_loss" in doc["method"]
    targets = {p["target"] for p in doc["pdp"]}
    assert targets == {"probability of class A", "probability of class B", "probability of class C"}
    res = api.reasons("grades:1", files["grades"], reg, rows=[1, 2, 3], k=4)
    assert res["method"].startswith("exact linear")
    # each row explains its predicted class, in the softmax score (logit) space
    model = api.load_model("grades:1", reg)
    X = read_table(files["grades"]).iloc[:3][["income", "age", "region", "debt"]]
    predicted = model.predict(X)
    raw = model.decision_function(X)
    for r, cls, scores in zip(res["rows"], predicted, raw, strict=True):
        assert r["explains"] == f"logit (softmax score) of class {cls}"
        idx = list(model.classes_).index(cls)
        assert r["output"] == pytest.approx(scores[idx], abs=1e-9)
        total = r["base"] + sum(c["contribution"] for c in r["reasons"])
        assert total == pytest.approx(r["output"], abs=1e-9)


def test_api_explains_regression_and_reasons_add_up_to_the_prediction(world):
    reg, files, _ = world
    doc = api.explain("amounts:1", files["amounts"], reg, n_repeats=2, top=1)["explanations"]
    assert "scoring=r2" in doc["method"] and doc["pdp"][0]["target"] == "prediction"
    assert doc["importance"][0]["feature"] in ("debt", "income", "region")
    res = api.reasons("amounts:1", files["amounts"], reg, rows="1-5", k=4)
    model = api.load_model("amounts:1", reg)
    X = read_table(files["amounts"]).iloc[:5][["income", "age", "region", "debt"]]
    np.testing.assert_allclose([r["output"] for r in res["rows"]], model.predict(X), atol=1e-9)


def test_cancel_stops_the_explanation_and_stores_nothing(world):
    reg, files, _ = world
    vid = validate(reg, "credit:1", str(files["credit"])).validation_id
    before = load_validation(reg, vid, predictions=False).curves.get("explanations")
    token = CancelToken()
    seen: list[str] = []

    def progress(fraction: float, status: str) -> None:
        seen.append(status)
        if "scorings" in status:  # cancel once permutation importance is under way
            token.cancel()

    with pytest.raises(Cancelled):
        explain_validation(reg, vid, n_repeats=3, progress=progress, cancel=token)
    assert any("1 of" in s for s in seen) and not any("partial dependence" in s for s in seen)
    assert load_validation(reg, vid, predictions=False).curves.get("explanations") == before


def test_explain_runs_in_the_worker(world):
    # (the window's row click runs the "reasons" request: tests/ui/test_explain_panel.py)
    reg, files, _ = world
    vid = validate(reg, "amounts:1", str(files["amounts"])).validation_id
    progress: list[float] = []
    out = run_in_worker(
        {"registry": str(reg.home), "kind": "explain", "validation_id": vid},
        lambda m: progress.append(m.get("progress", 0.0)),
    )
    assert out["validation_id"] == vid and CONTRACT <= set(out["explanations"])
    assert progress and max(progress) <= 1.0
    stored = load_validation(reg, vid, predictions=False).curves["explanations"]
    assert stored["importance"] == out["explanations"]["importance"]
    direct = reasons_for(reg, "amounts:1", str(files["amounts"]), rows="4")
    assert direct["rows"][0]["row"] == 4 and direct["method"].startswith("TreeSHAP")
