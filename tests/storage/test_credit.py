"""Credit-style validation (#19): Gini, KS, lift, bands, calibration, intervals, thresholds.

Every number is checked against an independent computation (scikit-learn,
``scipy.stats.ks_2samp``, ``pandas.cut``) on the same predictions; the CLI runs
as a real subprocess, the API through ``modelward.api``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as m
from test_training import credit_frame  # same folder: on sys.path under pytest

from modelward.cli.compute import validation_text
from modelward.core.compute.metrics import (
    Predictions,
    ThresholdCurve,
    bootstrap_intervals,
    validation_metrics,
)
from modelward.core.compute.recipe import Recipe
from modelward.core.compute.training import train
from modelward.core.compute.validation import latest_validation, load_validation, validate
from modelward.core.errors import InvalidInput
from modelward.core.registry import Registry

B = 40  # resamples in the tests: enough to compare intervals exactly, cheap


def cli(reg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelward", "--registry", str(reg), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ),
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    """One registry: a binary, a three-class and a regression model, and their test files."""
    tmp = tmp_path_factory.mktemp("credit")
    reg = Registry(tmp / "reg")
    train_df = credit_frame(n=400, seed=0).drop(columns=["ts"])
    test_df = credit_frame(n=600, seed=1).drop(columns=["ts"])
    train_df.to_csv(tmp / "train.csv", index=False)
    test_df.to_csv(tmp / "test.csv", index=False)
    base = Recipe(
        data=str(tmp / "train.csv"),
        target="default",
        estimator="LogisticRegression",
        features=("income", "age", "region", "debt"),
    )
    train(reg, base, "credit")
    for name, df in (("train3", train_df), ("test3", test_df)):
        three = df.drop(columns=["default"])
        three["grade"] = np.digitize(three["debt"] + 0.3 * np.nan_to_num(three["age"]), [18, 30])
        three.to_csv(tmp / f"{name}.csv", index=False)
    train(
        reg,
        base.replace(data=str(tmp / "train3.csv"), target="grade", params={"max_iter": 500}),
        "grade",
    )
    for name, df in (("trainr", train_df), ("testr", test_df)):
        r = df.drop(columns=["default"])
        r["amount"] = r["debt"] * 3 + np.random.default_rng(1).normal(size=len(r))
        r.to_csv(tmp / f"{name}.csv", index=False)
    train(
        reg,
        Recipe(
            data=str(tmp / "trainr.csv"),
            target="amount",
            estimator="Ridge",
            features=("income", "age", "region", "debt"),
        ),
        "amount",
    )
    reg.close()
    return tmp


def _boot_reference(y, fn, n_boot=B, seed=0):
    """Percentile interval of ``fn(idx)`` over the resamples the validation draws."""
    rng = np.random.default_rng(seed)
    vals = [fn(rng.integers(0, len(y), len(y))) for _ in range(n_boot)]
    return np.nanpercentile(vals, [2.5, 97.5])


def test_binary_validation_equals_sklearn_and_scipy(home):
    reg = Registry(home / "reg")
    res = validate(reg, "credit:1", str(home / "test.csv"), n_boot=B, seed=0)
    p = res.predictions
    y = p.y_true == 1
    s = p.proba[:, 1]
    pred = p.y_pred
    auc = m.roc_auc_score(y, s)
    ks = stats.ks_2samp(s[y], s[~y]).statistic
    assert res.metrics["gini"] == pytest.approx(2 * auc - 1, abs=1e-12)
    assert res.metrics["ks"] == pytest.approx(ks, abs=1e-12)
    assert res.metrics["precision"] == pytest.approx(m.precision_score(p.y_true, pred))
    assert res.metrics["recall"] == pytest.approx(m.recall_score(p.y_true, pred))
    c = res.curves
    # lift and gains: the top k rows by score
    order = np.argsort(-s, kind="stable")
    for f, cap in zip(c["gains"]["fraction"][1:], c["gains"]["captured"][1:], strict=True):
        k = int(np.ceil(f * len(s)))
        assert cap == pytest.approx(y[order[:k]].sum() / y.sum())
    lift10 = c["lift"]["lift"][9]
    top = order[: int(np.ceil(0.1 * len(s)))]
    assert lift10 == pytest.approx(y[top].mean() / y.mean())
    # deciles as pandas.qcut draws them, highest first
    cut = pd.qcut(s, 10, duplicates="drop")
    tab = pd.DataFrame({"b": cut, "y": y}).groupby("b", observed=False)["y"].agg(["size", "sum"])
    tab = tab.iloc[::-1]
    assert [b["population"] for b in c["bands"]] == tab["size"].tolist()
    assert [b["events"] for b in c["bands"]] == tab["sum"].tolist()
    assert c["bands"][-1]["cum_capture"] == pytest.approx(1.0)
    assert c["bands"][0]["event_rate"] == pytest.approx(tab["sum"].iloc[0] / tab["size"].iloc[0])
    # Hosmer–Lemeshow over ten groups of risk, by hand
    parts = np.array_split(np.argsort(s, kind="stable"), 10)
    hl = sum((y[a].sum() - s[a].sum()) ** 2 / (s[a].sum() * (1 - s[a].mean())) for a in parts)
    cal = c["calibration_test"]
    assert cal["hosmer_lemeshow"] == pytest.approx(hl)
    assert cal["df"] == 8 and cal["p_value"] == pytest.approx(stats.chi2.sf(hl, 8))
    bins = np.minimum((s * 10).astype(int), 9)
    ece = sum(abs(y[bins == b].sum() - s[bins == b].sum()) for b in range(10)) / len(s)
    assert cal["ece"] == pytest.approx(ece)
    # the intervals: sklearn and scipy on each resample
    iv = c["intervals"]
    assert c["interval_method"] == "percentile bootstrap, 95%, B=40, seed=0"
    ref = {
        "roc_auc": lambda i: m.roc_auc_score(y[i], s[i]),
        "gini": lambda i: 2 * m.roc_auc_score(y[i], s[i]) - 1,
        "ks": lambda i: stats.ks_2samp(s[i][y[i]], s[i][~y[i]]).statistic,
        "accuracy": lambda i: m.accuracy_score(p.y_true[i], pred[i]),
        "f1": lambda i: m.f1_score(p.y_true[i], pred[i]),
        "precision": lambda i: m.precision_score(p.y_true[i], pred[i]),
        "recall": lambda i: m.recall_score(p.y_true[i], pred[i]),
        "log_loss": lambda i: m.log_loss(p.y_true[i], p.proba[i], labels=[0, 1]),
        "brier_score_loss": lambda i: m.brier_score_loss(y[i], s[i]),
        "average_precision": lambda i: m.average_precision_score(y[i], s[i]),
    }
    for key, fn in ref.items():
        np.testing.assert_allclose(iv[key], _boot_reference(y, fn), rtol=1e-10, err_msg=key)
    assert set(iv) == set(res.metrics)
    assert all(lo <= hi for lo, hi in iv.values())


def test_user_band_edges_follow_pandas_cut(home):
    reg = Registry(home / "reg")
    res = validate(
        reg, "credit:1", str(home / "test.csv"), n_boot=0, band_edges="0.2, 0.4,0.6", store=False
    )
    s, y = res.predictions.proba[:, 1], res.predictions.y_true == 1
    edges = [min(0.2, s.min()), 0.4, max(0.6, s.max())]
    cut = pd.cut(s, edges, include_lowest=True)
    counts = pd.Series(cut).value_counts(sort=False).tolist()[::-1]
    assert [b["population"] for b in res.curves["bands"]] == counts
    assert [b["high"] for b in res.curves["bands"]][1:] == [0.6, 0.4][1:]
    assert sum(b["events"] for b in res.curves["bands"]) == int(y.sum())
    with pytest.raises(InvalidInput, match="band edges"):
        validate(reg, "credit:1", str(home / "test.csv"), band_edges="0.5", store=False)


def test_multiclass_macro_metrics_and_gini_ks_per_class(home):
    reg = Registry(home / "reg")
    res = validate(reg, "grade", str(home / "test3.csv"), n_boot=B, store=False)
    p = res.predictions
    assert len(p.classes) == 3
    per = res.curves["per_class"]
    for j, c in enumerate(per):
        yb = p.y_true == c["class"]
        assert c["gini"] == pytest.approx(2 * m.roc_auc_score(yb, p.proba[:, j]) - 1)
        assert c["ks"] == pytest.approx(stats.ks_2samp(p.proba[yb, j], p.proba[~yb, j]).statistic)
    assert res.metrics["ks"] == pytest.approx(np.mean([c["ks"] for c in per]))
    iv = res.curves["intervals"]
    for key, avg in (("f1_macro", m.f1_score), ("precision_macro", m.precision_score)):
        want = _boot_reference(
            p.y_true,
            lambda i, f=avg: f(p.y_true[i], p.y_pred[i], average="macro", zero_division=0),
        )
        np.testing.assert_allclose(iv[key], want, rtol=1e-10, err_msg=key)
    want = _boot_reference(
        p.y_true,
        lambda i: m.roc_auc_score(p.y_true[i], p.proba[i], multi_class="ovr", labels=p.classes),
    )
    np.testing.assert_allclose(iv["roc_auc"], want, rtol=1e-10)
    assert "lift" not in res.curves and "bands" not in res.curves


def test_regression_has_intervals_for_rmse_mae_r2(home):
    reg = Registry(home / "reg")
    res = validate(reg, "amount", str(home / "testr.csv"), n_boot=B, store=False)
    y, yp = res.predictions.y_true, res.predictions.y_pred
    iv = res.curves["intervals"]
    for key, fn in (
        ("rmse", m.root_mean_squared_error),
        ("mae", m.mean_absolute_error),
        ("r2", m.r2_score),
    ):
        np.testing.assert_allclose(
            iv[key], _boot_reference(y, lambda i, f=fn: f(y[i], yp[i])), rtol=1e-10
        )


def test_threshold_curve_is_the_confusion_matrix_at_that_threshold():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 2000)
    s = np.clip(rng.normal(0.35 + 0.2 * y, 0.2), 0, 1).round(2)  # ties on purpose
    curve = ThresholdCurve(y == 1, s)
    for t in (0.0, 0.2, 0.35, 0.5, 0.77, 1.0):
        pt = curve.at(t, cost_fp=2.0, cost_fn=7.0)
        dec = (s >= t).astype(int)
        cm = m.confusion_matrix(y, dec, labels=[0, 1])
        assert pt.confusion_matrix == cm.tolist()
        assert pt.precision == pytest.approx(m.precision_score(y, dec, zero_division=0))
        assert pt.recall == pytest.approx(m.recall_score(y, dec, zero_division=0))
        assert pt.approval_rate == pytest.approx((dec == 0).mean())
        assert pt.expected_cost == 2.0 * cm[0, 1] + 7.0 * cm[1, 0]


def test_intervals_are_vectorised_not_looped():
    """B=500 on 20,000 rows stays well under what 500 scikit-learn passes take."""
    rng = np.random.default_rng(0)
    n = 20_000
    y = rng.integers(0, 2, n)
    s = np.clip(rng.normal(0.3 + 0.2 * y, 0.2), 0, 1)
    p = Predictions(y, (s >= 0.5).astype(int), "classification", np.array([0, 1]), np.c_[1 - s, s])
    iv = bootstrap_intervals(p, validation_metrics(p), n_boot=500)
    assert set(iv) >= {"gini", "ks", "roc_auc", "accuracy", "f1", "log_loss", "brier_score_loss"}


def _events(reg: Registry, action: str) -> list:
    return [e for e in reg.audit_events(limit=1000) if e.action == action]


def test_cli_validate_threshold_and_score_end_to_end(home, tmp_path):
    reg_dir = home / "reg"
    out = cli(
        reg_dir,
        "validate",
        "credit:1",
        "--data",
        str(home / "test.csv"),
        "--json",
        "--n-boot",
        "30",
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert {"gini", "ks"} <= set(doc["metrics"])
    assert set(doc["curves"]["intervals"]) == set(doc["metrics"])
    assert doc["curves"]["interval_method"].endswith("B=30, seed=0")
    assert len(doc["curves"]["bands"]) == 10
    reg = Registry(reg_dir)
    stored = load_validation(reg, latest_validation(reg, "credit:1"))
    reg.close()
    assert stored.metrics == doc["metrics"]
    text = "\n".join(validation_text(stored))  # what `validate` prints without --json
    assert "95% interval" in text and "Hosmer–Lemeshow" in text
    gini_line = next(line for line in text.splitlines() if line.strip().startswith("gini"))
    lo, hi = doc["curves"]["intervals"]["gini"]
    assert f"{lo:.4f} – {hi:.4f}" in gini_line
    assert "cumulative capture" in text

    done = cli(
        reg_dir,
        "threshold",
        "set",
        "credit:1",
        "0.35",
        "--cost-fp",
        "1",
        "--cost-fn",
        "5",
        "--reason",
        "credit policy 2025",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["threshold"] == 0.35 and doc["source"] == "tag" and doc["cost_fn"] == 5.0
    at = doc["at_validation"]
    reg = Registry(reg_dir)
    s, y = stored.predictions.proba[:, 1], stored.predictions.y_true
    cm = m.confusion_matrix(y, (s >= 0.35).astype(int))
    assert at["confusion_matrix"] == cm.tolist()
    assert at["expected_cost"] == cm[0, 1] * 1 + cm[1, 0] * 5
    ev = _events(reg, "version.threshold_set")[-1]
    assert ev.after["threshold"] == 0.35 and ev.reason == "credit policy 2025"
    reg.close()
    shown = cli(reg_dir, "threshold", "show", "credit")
    assert shown.returncode == 0 and "decision threshold 0.35" in shown.stdout

    # score decides with the stored threshold and says so
    scored = tmp_path / "scored.csv"
    run = cli(reg_dir, "score", "credit:1", "--data", str(home / "test.csv"), "-o", str(scored))
    assert run.returncode == 0, run.stderr
    assert "threshold 0.35 (version)" in run.stdout
    table = pd.read_csv(scored)
    np.testing.assert_array_equal(table["decision"], (table["proba_1"] >= 0.35).astype(int))
    manifest = json.loads(Path(str(scored) + ".manifest.json").read_text())
    assert manifest["threshold"] == {"value": 0.35, "source": "version", "stored": 0.35}


@pytest.mark.parametrize(
    ("ref", "value", "words"),
    [
        ("credit:1", "1.5", "between 0 and 1"),
        ("grade", "0.5", "has 3 classes"),
    ],
)
def test_a_refused_threshold_is_one_sentence_nothing_stored_and_audited(home, ref, value, words):
    reg = Registry(home / "reg")
    before = reg.resolve(ref).tags
    refused = len(_events(reg, "version.threshold_refused"))
    reg.close()
    out = cli(home / "reg", "threshold", "set", ref, value)
    assert out.returncode != 0
    assert words in out.stderr and out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr
    reg = Registry(home / "reg")
    assert reg.resolve(ref).tags == before
    events = _events(reg, "version.threshold_refused")
    assert len(events) == refused + 1
    assert words in max(events, key=lambda e: e.seq).after["refused"]


def test_api_sets_and_reads_the_threshold(home):
    import modelward.api as api

    reg = Registry(home / "reg")  # a path works too; an object closes at the end of the test
    doc = api.set_threshold("credit:1", 0.4, cost_fp=1.0, cost_fn=3.0, registry=reg)
    assert doc.threshold == 0.4 and doc.audit_seq
    assert api.get_threshold("credit:1", registry=reg).cost_fn == 3.0
    for ref, value, words in (
        ("credit:1", -0.1, "between 0 and 1"),
        ("credit:1", float("nan"), "between 0 and 1"),
        ("amount", 0.5, "is a regressor"),
    ):
        with pytest.raises(InvalidInput, match=words):
            api.set_threshold(ref, value, registry=reg)
    with pytest.raises(InvalidInput, match="cost of a false negative"):
        api.set_threshold("credit:1", 0.2, cost_fn=-1, registry=reg)
    assert api.get_threshold("credit:1", registry=reg).threshold == 0.4
    assert api.get_threshold("amount", registry=reg).threshold is None
    refused = _events(reg, "version.threshold_refused")
    assert {e.entity_id for e in refused} >= {"credit:1", "amount:1"}
    reg.close()


def test_a_scoring_folder_decides_with_the_stored_threshold(tmp_path):
    from sklearn.linear_model import LogisticRegression

    from modelward import api
    from modelward.core.intake.estimator import log_estimator

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 2)), columns=["income", "debt"])
    y = (X["debt"] - X["income"] + rng.logistic(size=300) > 0).astype(int)
    home = tmp_path / "reg"
    reg = Registry(home)
    log_estimator(reg, LogisticRegression().fit(X, y), "loans", X=X, y=y)
    reg.set_alias("loans:1", "champion", "first")
    api.set_threshold("loans@champion", 0.8, registry=reg, reason="strict")
    reg.close()
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    added = cli(
        home, "folders", "add", str(inbox), "--kind", "scoring", "--model", "loans",
        "--outbox", str(outbox),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    X.assign(loan_id=range(300)).to_csv(inbox / "monday.csv", index=False)
    ran = cli(home, "run", "--once", "--json")
    assert ran.returncode == 0, ran.stderr
    out = next(outbox.glob("monday*.csv"))
    table = pd.read_csv(out)
    np.testing.assert_array_equal(table["decision"], (table["proba_1"] >= 0.8).astype(int))
    assert (table["decision"] != table["prediction"]).any()  # not the 0.5 argmax
    manifest = json.loads(Path(str(out) + ".manifest.json").read_text())
    assert manifest["threshold"] == {"value": 0.8, "source": "version", "stored": 0.8}
