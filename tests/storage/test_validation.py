"""Validation and champion/challenger on real files; the CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_training import credit_frame  # same folder: on sys.path under pytest

from modelward.core.compute.compare import compare, promote
from modelward.core.compute.data import read_table
from modelward.core.compute.recipe import Recipe
from modelward.core.compute.training import train
from modelward.core.compute.validation import load_validation, validate
from modelward.core.errors import InvalidInput
from modelward.core.registry import Registry


@pytest.fixture
def setup(tmp_path: Path):
    reg = Registry(tmp_path / "reg")
    train_csv, test_csv = tmp_path / "train.csv", tmp_path / "test.csv"
    credit_frame(n=300, seed=0).to_csv(train_csv, index=False)
    credit_frame(n=400, seed=1).to_csv(test_csv, index=False)
    base = Recipe(data=str(train_csv), target="default", estimator="LogisticRegression")
    train(reg, base, "credit")
    train(
        reg, base.replace(estimator="RandomForestClassifier", params={"n_estimators": 30}), "credit"
    )
    return reg, test_csv, tmp_path


def _validations(reg: Registry) -> int:
    with reg.read() as cur:
        return int(cur.execute("SELECT count(*) FROM validations").fetchall()[0][0])


def test_classification_metrics_are_sklearns_on_the_same_predictions(setup):
    from scipy.stats import ks_2samp
    from sklearn import metrics as m

    from modelward.core.artifacts.safeload import load_artifact

    reg, test_csv, _ = setup
    res = validate(reg, "credit:1", str(test_csv))
    v = reg.resolve("credit:1")
    model = load_artifact(reg.artifacts, v.sha256, v.format)
    df = read_table(test_csv)
    X = df[["income", "age", "region", "debt"]].copy()
    X["region"] = X["region"].astype(object)
    y = df["default"].to_numpy()
    proba = model.predict_proba(X)
    pred = model.classes_[proba.argmax(axis=1)]
    want = {
        "accuracy": m.accuracy_score(y, pred),
        "balanced_accuracy": m.balanced_accuracy_score(y, pred),
        "f1": m.f1_score(y, pred),
        "roc_auc": m.roc_auc_score(y, proba[:, 1]),
        "average_precision": m.average_precision_score(y, proba[:, 1]),
        "log_loss": m.log_loss(y, proba),
        "brier_score_loss": m.brier_score_loss(y, proba[:, 1]),
        # credit-style validation (#19)
        "precision": m.precision_score(y, pred),
        "recall": m.recall_score(y, pred),
        "gini": 2 * m.roc_auc_score(y, proba[:, 1]) - 1,
        "ks": ks_2samp(proba[y == 1, 1], proba[y == 0, 1]).statistic,
    }
    assert res.metrics == pytest.approx(want, rel=1e-12)
    assert res.curves["confusion_matrix"] == m.confusion_matrix(y, pred).tolist()
    assert set(res.curves) >= {"roc", "pr", "calibration"}
    assert res.curves["roc"]["fpr"][0] == 0.0 and res.curves["roc"]["tpr"][-1] == 1.0
    # the stored predictions are these predictions
    stored = read_table(reg.artifacts.verify(res.predictions_sha256))
    np.testing.assert_allclose(stored["proba_1"].to_numpy(), proba[:, 1])
    assert stored["y_true"].tolist() == y.tolist()


def test_a_second_validation_on_the_same_data_reuses_the_stored_one(setup):
    reg, test_csv, _ = setup
    first = validate(reg, "credit:1", str(test_csv))
    again = validate(reg, "credit:1", str(test_csv))
    assert again.validation_id == first.validation_id
    assert again.metrics == first.metrics
    np.testing.assert_allclose(again.predictions.proba, first.predictions.proba)
    loaded = load_validation(reg, first.validation_id)
    assert loaded.curves == json.loads(json.dumps(first.curves))
    assert _validations(reg) == 1


def test_regression_metrics(tmp_path):
    from sklearn import metrics as m

    reg = Registry(tmp_path / "reg")
    df = credit_frame(n=300).drop(columns=["default"])
    df["amount"] = df["debt"] * 3 + np.random.default_rng(1).normal(size=len(df))
    df.to_csv(tmp_path / "r.csv", index=False)
    train(reg, Recipe(data=str(tmp_path / "r.csv"), target="amount", estimator="Ridge"), "amount")
    res = validate(reg, "amount", str(tmp_path / "r.csv"))
    p = res.predictions
    assert res.metrics == pytest.approx(
        {
            "rmse": m.root_mean_squared_error(p.y_true, p.y_pred),
            "mae": m.mean_absolute_error(p.y_true, p.y_pred),
            "r2": m.r2_score(p.y_true, p.y_pred),
        },
        rel=1e-12,
    )
    assert sum(res.curves["residual_histogram"]["counts"]) == 300


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("drop debt", ["lacks", "'debt'"]),
        ("extra column", ["not trained on", "'notes'"]),
        ("text in age", ["'age'", "row 5", "'n/k'"]),
        ("unseen label", ["'default'", "row 3", "never saw", "2"]),
        ("no target", ["no target column 'default'"]),
    ],
)
def test_schema_is_checked_before_scoring(setup, change, words):
    reg, _, tmp_path = setup
    df = credit_frame(n=50, seed=2)
    if change == "drop debt":
        df = df.drop(columns=["debt"])
    elif change == "extra column":
        df["notes"] = "x"
    elif change == "text in age":
        df["age"] = df["age"].astype(object)
        df.loc[4, "age"] = "n/k"
    elif change == "unseen label":
        df.loc[2, "default"] = 2
    elif change == "no target":
        df = df.drop(columns=["default"])
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    runs_before = reg.audit_head()
    with pytest.raises(InvalidInput) as e:
        validate(reg, "credit:1", str(path))
    for w in words:
        assert w in str(e.value)
    assert _validations(reg) == 0
    # nothing written, not even a run: only the refusal's own event
    assert reg.audit_head() == runs_before + 1
    (event,) = reg.audit_events(action="input.refused", limit=1)
    assert event.entity_id == str(path) and event.after["door"] == "validate"
    assert event.reason == str(e.value)


def test_extra_columns_may_be_allowed(setup):
    reg, _, tmp_path = setup
    df = credit_frame(n=50, seed=2)
    df["notes"] = "x"
    df.to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(
        InvalidInput, match=r"a column .* 'notes' \(allow them with --allow-extra\)"
    ):
        validate(reg, "credit:1", str(tmp_path / "x.csv"))  # the refusal says the way out
    assert validate(reg, "credit:1", str(tmp_path / "x.csv"), allow_extra=True).rows == 50


def test_champion_and_challenger_with_gates_and_promotion(setup):
    reg, test_csv, _ = setup
    reg.set_alias("credit:1", "champion", "first model")
    res = compare(
        reg,
        "credit@champion",
        "credit:2",
        str(test_csv),
        gates=["roc_auc>=0.5", "accuracy>=0.99"],
        n_boot=200,
    )
    assert not res.promotion_allowed
    assert [g.passed for g in res.gates] == [True, False]
    by = {d.metric: d for d in res.differences}
    assert by["roc_auc"].test == "DeLong" and by["accuracy"].test == "McNemar"
    assert by["roc_auc"].champion == res.champion.metrics["roc_auc"]
    with pytest.raises(InvalidInput, match="accuracy>=0.99"):
        promote(reg, res.comparison_id, reason="try")
    ok = compare(
        reg, "credit@champion", "credit:2", str(test_csv), gates=["roc_auc>=0.5"], n_boot=200
    )
    assert ok.promotion_allowed
    # both validations were reused: the same predictions serve every comparison
    assert ok.champion.validation_id == res.champion.validation_id
    promote(reg, ok.comparison_id, reason="gates passed")
    assert reg.resolve("credit@champion").version == 2
    with reg.read() as cur:
        rows = cur.execute("SELECT promotion_allowed FROM comparisons ORDER BY id").fetchall()
    assert rows == [(False,), (True,)]
    assert reg.verify_audit().ok


def test_cli_train_validate_compare_json(run_cli, tmp_path):
    home = str(tmp_path / "cli-reg")
    data = tmp_path / "d.csv"
    credit_frame(n=200).to_csv(data, index=False)
    common = ["--registry", home, "--json"]
    r = run_cli(
        "train",
        "--data",
        str(data),
        "--target",
        "default",
        "--estimator",
        "LogisticRegression",
        "--param",
        "C=0.5",
        "--name",
        "credit",
        *common,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["name"], out["version"]) == ("credit", 1) and "roc_auc" in out["metrics"]
    r = run_cli(
        "train",
        "--data",
        str(data),
        "--target",
        "default",
        "--estimator",
        "DecisionTreeClassifier",
        "--param",
        "max_depth=3",
        "--name",
        "credit",
        "--split",
        "kfold",
        "--folds",
        "3",
        *common,
    )
    assert r.returncode == 0, r.stderr
    r = run_cli("validate", "credit:1", "--data", str(data), *common)
    assert r.returncode == 0, r.stderr
    assert {"roc_auc", "accuracy", "log_loss"} <= set(json.loads(r.stdout)["metrics"])
    r = run_cli(
        "compare",
        "credit:1",
        "credit:2",
        "--data",
        str(data),
        "--gate",
        "roc_auc>=0.5",
        "--n-boot",
        "100",
        *common,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["promotion_allowed"] is True
    r = run_cli(
        "train",
        "--data",
        str(data),
        "--target",
        "nope",
        "--estimator",
        "Ridge",
        "--name",
        "x",
        "--registry",
        home,
    )
    assert r.returncode == 2
    assert "no target column 'nope'" in r.stderr and "Traceback" not in r.stderr
