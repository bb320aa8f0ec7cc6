"""Performance monitoring by model kind: a real regressor, 3-class and binary classifier.

Realized metrics must equal scikit-learn's on the same rows (to 1e-9) through
the monitoring service and the ``modelward monitor`` command; a regressor never
gets a classification metric; policies read per-kind metric names the right way up.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression

from modelward import api
from modelward.core.monitoring import service
from modelward.core.monitoring.performance import METRICS
from modelward.core.policies import Policy, Triggers, evaluate_triggers
from modelward.core.policies.triggers import numbers_of_batch
from modelward.core.registry import Registry

FEATURES = ["a", "b", "c"]
CLASSIFICATION = set(METRICS) | {"balanced_accuracy", "f1_macro", "f1_weighted", "log_loss"}
TOL = 1e-9


def _X(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    X["a"] += shift
    X["id"] = np.arange(n) + seed * 100_000
    return X


def _y(kind: str, X: pd.DataFrame, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    z = 2 * X["a"].to_numpy() + X["b"].to_numpy() + 0.5 * rng.normal(size=len(X))
    if kind == "regression":
        return 10.0 + 3 * z
    if kind == "multiclass":
        return np.where(z < -0.7, "low", np.where(z < 0.7, "mid", "high"))
    return np.where(z > 0.3, 2, 1)  # numeric classes 1/2: the positive class is 2


def _model(kind: str, X: pd.DataFrame, y: np.ndarray):
    est = LinearRegression() if kind == "regression" else LogisticRegression(max_iter=500)
    return est.fit(X[FEATURES], y)


def expected(kind: str, model, X: pd.DataFrame, y: np.ndarray, with_proba: bool = True) -> dict:
    """The same metrics computed by scikit-learn directly on the same rows."""
    Xf = X[FEATURES]
    if kind == "regression":
        p = model.predict(Xf)
        out = {
            "rmse": skm.root_mean_squared_error(y, p),
            "mae": skm.mean_absolute_error(y, p),
            "r2": skm.r2_score(y, p),
        }
        if not (y == 0).any():
            out["mape"] = skm.mean_absolute_percentage_error(y, p)
        return out
    if kind == "binary":
        proba = model.predict_proba(Xf)
        pos = model.classes_[1]
        pred = np.where(proba[:, 1] >= 0.5, pos, model.classes_[0])
        return {
            "accuracy": skm.accuracy_score(y, pred),
            "precision": skm.precision_score(y, pred, pos_label=pos),
            "recall": skm.recall_score(y, pred, pos_label=pos),
            "f1": skm.f1_score(y, pred, pos_label=pos),
            "roc_auc": skm.roc_auc_score(y == pos, proba[:, 1]),
        }
    pred = model.predict(Xf)
    out = {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "f1_macro": skm.f1_score(y, pred, average="macro"),
        "f1_weighted": skm.f1_score(y, pred, average="weighted"),
    }
    rec = skm.recall_score(y, pred, labels=model.classes_, average=None)
    out.update({f"recall[{c}]": r for c, r in zip(model.classes_, rec, strict=True)})
    if with_proba:
        out["log_loss"] = skm.log_loss(y, model.predict_proba(Xf), labels=model.classes_)
    return out


def assert_same(got: dict, want: dict) -> None:
    assert set(got) == set(want), (sorted(got), sorted(want))
    for k, v in want.items():
        assert abs(got[k] - float(v)) <= TOL, (k, got[k], v)


@pytest.fixture(scope="module", params=["regression", "multiclass", "binary"])
def monitored(request, tmp_path_factory):
    """A registry with one model of the kind, its reference profiled with labels."""
    kind = request.param
    reg = Registry(tmp_path_factory.mktemp(f"kinds-{kind}") / "registry")
    X = _X(3000, 1)
    y = _y(kind, X, 1)
    model = _model(kind, X, y)
    api.log_model(model, "m", registry=reg, X=X[FEATURES])
    ref = {c: X[c].to_numpy() for c in [*FEATURES, "id"]}
    ref["y"] = y
    prof = service.profile_version(reg, "m:1", ref, target="y", exclude=["id"])
    assert prof.model["kind"] == kind
    return kind, reg, model


REGRESSOR = pytest.mark.parametrize("monitored", ["regression"], indirect=True)


def _batch(kind: str, seed: int, shift: float, labels: bool = True):
    X = _X(1500, seed, shift)
    y = _y(kind, X, seed)
    t = {c: X[c].to_numpy() for c in [*FEATURES, "id"]}
    if labels:
        t["y"] = y
    return X, y, t


def test_realized_equals_sklearn_on_a_drifting_batch(monitored):
    kind, reg, model = monitored
    X, y, t = _batch(kind, 5, 0.8)
    res = service.check_batch(reg, "m:1", t, label_column="y", id_column="id")
    assert res.model_kind == kind
    assert_same(res.performance["realized"], expected(kind, model, X, y))
    if kind == "regression":
        assert not CLASSIFICATION & set(res.performance["realized"])
    stored = numbers_of_batch(reg, res.batch_id)
    assert_same(stored.performance, expected(kind, model, X, y))


def test_estimated_is_per_kind_and_late_labels_realize_it(monitored):
    kind, reg, model = monitored
    X, y, t = _batch(kind, 6, 0.5, labels=False)
    res = service.check_batch(reg, "m:1", t, id_column="id")
    est = res.performance["estimated"]
    if kind == "regression":
        assert set(est) == {"mae", "rmse"}
        assert any("direct loss estimation" in n for n in res.performance_notes)
        truth = expected(kind, model, X, y)
        assert abs(est["mae"] - truth["mae"]) < 0.5 * truth["mae"]
    elif kind == "multiclass":
        assert set(est) == {"accuracy"}
        assert any("confidence-based expected accuracy" in n for n in res.performance_notes)
        assert abs(est["accuracy"] - expected(kind, model, X, y)["accuracy"]) < 0.05
    else:
        assert set(est) == set(METRICS)
    labels = {"id": t["id"], "y": y}
    got = service.attach_labels(reg, res.batch_id, labels, id_column="id", label_column="y")
    # multiclass late labels: class probabilities are not stored per row, so no log loss
    assert_same(got, expected(kind, model, X, y, with_proba=False))


@REGRESSOR
def test_regressor_never_stores_a_classification_metric(monitored):
    kind, reg, _ = monitored
    with reg.read() as cur:
        names = {
            r[0] for r in cur.execute("SELECT DISTINCT metric FROM mon_performance").fetchall()
        }
    assert names and not names & CLASSIFICATION
    prof = service.get_profile(reg, reg.resolve("m:1").id)
    assert prof is not None and not CLASSIFICATION & set(prof.model["reference"])
    assert "calibration" not in prof.model


@REGRESSOR
def test_mape_is_left_out_where_a_true_value_is_zero(monitored):
    kind, reg, model = monitored
    X, y, t = _batch(kind, 7, 0.0)
    t["y"] = y.copy()
    t["y"][3] = 0.0
    res = service.check_batch(reg, "m:1", t, label_column="y")
    assert "mape" not in res.performance["realized"]
    assert any("MAPE is not defined" in n for n in res.performance_notes)
    y2 = y.copy()
    y2[3] = 0.0
    assert_same(res.performance["realized"], expected(kind, model, X, y2))


@REGRESSOR
def test_a_policy_on_rmse_fires_when_rmse_rises(monitored):
    kind, reg, _ = monitored
    _, _, t = _batch(kind, 8, 1.5)
    t["y"] = t["y"] + 4.0  # the relation changed: errors grow
    res = service.check_batch(reg, "m:1", t, label_column="y")
    rmse = res.performance["realized"]["rmse"]
    nums = numbers_of_batch(reg, res.batch_id)

    def fires(metric: str, below: float) -> bool:
        pol = Policy("m", triggers=Triggers(metric=metric, performance_below=below))
        return any(h.trigger == "performance" for h in evaluate_triggers(pol, nums))

    assert fires("rmse", rmse - 0.1) and not fires("rmse", rmse + 0.1)
    assert fires("mape", nums.performance["mape"] / 2)
    assert fires("r2", nums.performance["r2"] + 0.01) and not fires("r2", -10.0)


def _csv(path, cols: dict) -> None:
    pd.DataFrame(cols).to_csv(path, index=False)


@pytest.mark.parametrize("kind", ["regression", "multiclass", "binary"])
def test_cli_monitor_prints_the_kind_metrics(kind, tmp_path, run_cli):
    home = tmp_path / "reg"
    reg = Registry(home)
    X = _X(2000, 1)
    y = _y(kind, X, 1)
    model = _model(kind, X, y)
    api.log_model(model, "m", registry=reg, X=X[FEATURES])
    reg.close()
    _csv(tmp_path / "ref.csv", {**{c: X[c] for c in FEATURES}, "y": y})
    Xb = _X(1000, 9, 0.6)
    yb = _y(kind, Xb, 9)
    _csv(tmp_path / "b.csv", {**{c: Xb[c] for c in FEATURES}, "y": yb})
    common = ["monitor", "m:1", "--registry", str(home), "--batch", str(tmp_path / "b.csv")]
    ref = ["--reference", str(tmp_path / "ref.csv"), "--target", "y"]
    out = run_cli(*common, *ref, "--label-column", "y", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    # the rows as the command read them back from the file
    back = pd.read_csv(tmp_path / "b.csv")
    assert doc["model_kind"] == kind
    assert_same(doc["performance"]["realized"], expected(kind, model, back, back["y"].to_numpy()))
    text = run_cli(*common)
    assert text.returncode == 0, text.stderr
    perf = [ln for ln in text.stdout.splitlines() if "performance:" in ln]
    if kind == "regression":
        assert perf and all("rmse" in ln and "accuracy" not in ln for ln in perf)
        assert "roc_auc" not in text.stdout and "f1" not in text.stdout
    elif kind == "multiclass":
        assert perf and "accuracy" in perf[0] and "roc_auc" not in text.stdout


def test_a_classifier_without_probabilities(tmp_path):
    from sklearn.linear_model import RidgeClassifier

    reg = Registry(tmp_path / "r")
    X = _X(1500, 1)
    y = _y("multiclass", X, 1)
    model = RidgeClassifier().fit(X[FEATURES], y)
    api.log_model(model, "m", registry=reg, X=X[FEATURES])
    ref = {c: X[c].to_numpy() for c in FEATURES}
    ref["y"] = y
    service.profile_version(reg, "m:1", ref, target="y")
    Xb, yb, t = _batch("multiclass", 3, 0.5)
    res = service.check_batch(reg, "m:1", t, label_column="y")
    assert_same(res.performance["realized"], expected("multiclass", model, Xb, yb, False))
    assert any("no class probabilities" in n for n in res.performance_notes)
    del t["y"]
    res = service.check_batch(reg, "m:1", t)
    assert "estimated" not in res.performance
    assert res.performance_notes == ["no estimate: the model gives no class probabilities"]


@REGRESSOR
def test_a_profile_from_before_kinds_is_read_by_the_model_kind(monitored):
    """Old profiles scored every model as binary; a regressor's old numbers are not used."""
    kind, reg, model = monitored
    vid = reg.resolve("m:1").id
    with reg.read() as cur:
        rows = cur.execute("SELECT profile FROM mon_profiles WHERE version_id = ?", [vid])
        doc = json.loads(rows.fetchall()[0][0])
    doc["model"] = {"task": "binary", "threshold": 0.5, "calibration": {"x": [0], "y": [0]}}
    with reg.transaction() as tx:
        tx.q("UPDATE mon_profiles SET profile = ? WHERE version_id = ?", [json.dumps(doc), vid])
    X, y, t = _batch(kind, 12, 0.3)
    res = service.check_batch(reg, "m:1", t, label_column="y")
    assert res.model_kind == "regression"
    assert_same(res.performance["realized"], expected(kind, model, X, y))
    del t["y"]
    res = service.check_batch(reg, "m:1", t)
    assert res.performance == {} and "no estimate" in res.performance_notes[0]
