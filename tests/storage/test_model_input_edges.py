"""Data a model meets in the field that once ended in 'unexpected error' (exit 70).

Each case goes through the command a user runs, as a real subprocess: the
command either does its work on what it can use and says what it left out, or
refuses in one sentence (exit 2) with the refusal in the audit trail.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelward.core.intake.estimator import log_estimator
from modelward.core.monitoring import service
from modelward.core.registry import Registry

F = ["a", "b", "c"]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=F)
    df["label"] = (df["a"] + df["b"] > 0).astype(int)
    return df


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """``bin:1`` (two classes) and ``multi:1`` (three) logistic regressions."""
    home = tmp_path_factory.mktemp("edges") / "reg"
    ref = _frame(2000, 0)
    reg = Registry(home)
    try:
        log_estimator(reg, LogisticRegression().fit(ref[F], ref["label"]), "bin", X=ref[F])
        three = pd.cut(ref["a"], [-99, -0.5, 0.5, 99], labels=False).astype(int)
        log_estimator(reg, LogisticRegression().fit(ref[F], three), "multi", X=ref[F])
    finally:
        reg.close()
    return home


def test_explaining_a_three_class_model_on_labels_of_two_classes(run_cli, home, tmp_path):
    """A validation file that happens to hold no row of one class (the labels are 0 and 1,
    the model knows 0, 1 and 2): the log loss is taken over the model's classes."""
    data = tmp_path / "validation.csv"
    _frame(400, 1).to_csv(data, index=False)
    proc = run_cli(
        *("explain", "multi:1", "--data", str(data), "--target", "label"),
        *("--repeats", "2", "--registry", str(home), "--json"),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert "neg_log_loss" in json.dumps(out)
    assert {d["feature"] for d in out["explanations"]["importance"]} == set(F)


def test_profiling_a_reference_with_an_infinite_value_is_refused_in_one_sentence(
    run_cli, home, tmp_path
):
    ref = _frame(500, 2)
    ref.loc[7, "b"] = np.inf
    path = tmp_path / "reference.csv"
    ref.to_csv(path, index=False)
    proc = run_cli(
        *("monitor", "bin:1", "--reference", str(path), "--target", "label"),
        *("--registry", str(home)),
        timeout=600,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"modelward: error: {path} holds infinite values in column(s) 'b' (1); "
        "a model cannot score them"
    ]
    reg = Registry(home)
    try:
        assert service.get_profile(reg, reg.resolve("bin:1").id) is None  # nothing stored
        refused = [e for e in reg.audit_events() if e.action == "input.refused"]
        assert any(e.entity_id == str(path) for e in refused)
    finally:
        reg.close()


def test_profiling_with_a_target_left_blank_says_there_is_no_estimate(run_cli, home, tmp_path):
    ref = _frame(500, 3)
    ref["label"] = np.nan
    path = tmp_path / "reference.csv"
    ref.to_csv(path, index=False)
    proc = run_cli(
        *("monitor", "multi:1", "--reference", str(path), "--target", "label"),
        *("--registry", str(home)),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "'label' holds no labels" in proc.stdout
    reg = Registry(home)
    try:
        prof = service.get_profile(reg, reg.resolve("multi:1").id)
    finally:
        reg.close()
    assert prof is not None and prof.model["kind"] == "multiclass"
    assert "reference" not in prof.model


def test_validating_with_an_empty_cell_the_model_cannot_take_is_refused_in_one_sentence(
    run_cli, home, tmp_path
):
    """Validation scores every row or none; the sentence names the column, the count and
    the first row (it was scikit-learn's 'Input X contains NaN')."""
    data = _frame(300, 4)
    data.loc[[9, 20], "c"] = np.nan
    path = tmp_path / "validation.csv"
    data.to_csv(path, index=False)
    proc = run_cli(
        *("validate", "bin:1", "--data", str(path), "--target", "label", "--n-boot", "0"),
        *("--registry", str(home)),
        timeout=600,
    )
    assert proc.returncode == 2, proc.stderr
    # (progress lines go to stderr first; the error is the one last line)
    assert proc.stderr.strip().splitlines()[-1] == (
        "modelward: error: bin:1 cannot take a missing value, and the data leaves 'c' (2) "
        "empty in 2 row(s), first in row 10; fill them or leave those rows out"
    )
    assert "Traceback" not in proc.stderr and "NaN" not in proc.stderr
    reg = Registry(home)
    try:
        refused = [e for e in reg.audit_events() if e.action == "input.refused"]
        assert any(e.entity_id == str(path) and e.after["door"] == "validate" for e in refused)
        assert not [e for e in reg.audit_events() if e.action == "validation.recorded"]
    finally:
        reg.close()


def test_drift_counts_a_column_left_blank_in_every_row_as_missing(run_cli, tmp_path):
    ref, cur = _frame(2000, 5), _frame(1000, 6)
    cur["b"] = np.nan
    rp, cp = tmp_path / "reference.csv", tmp_path / "current.csv"
    ref.to_csv(rp, index=False)
    cur.to_csv(cp, index=False)
    proc = run_cli("drift", "--reference", str(rp), "--current", str(cp), "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr
    b = next(f for f in json.loads(proc.stdout)["features"] if f["name"] == "b")
    assert b["drifted"] and b["lens"] == "missing"
    # the table prints the p-value that judged it: Fisher's, not the distribution test's
    text = run_cli("drift", "--reference", str(rp), "--current", str(cp), timeout=600).stdout
    row = next(line.split() for line in text.splitlines() if line.startswith("b "))
    assert row[2] == "missing" and row[5] == f"{b['stats']['missing_p']:.3g}" and row[6] == "DRIFT"


def test_late_labels_with_a_clashing_repeated_or_missing_id(run_cli, home, tmp_path):
    """One label per id: two labels for one id are refused (which is true is not ours to
    guess); the same label again is kept once; a row without an id is left out, and said."""
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"loan": ["a", "b", "b", None, "c"], "y": [1, 0, 0, 1, 1]}).to_csv(
        labels, index=False
    )
    proc = run_cli(
        *("labels", "bin", "--data", str(labels), "--id", "loan", "--label", "y"),
        *("--registry", str(home)),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "stored 3 label(s) of 'y' for bin" in proc.stdout
    assert "1 row(s) without an id were left out" in proc.stdout
    assert "1 row(s) repeated an id and its label: kept once" in proc.stdout

    clash = tmp_path / "clash.csv"
    pd.DataFrame({"loan": ["a", "b", "b"], "y": [1, 0, 1]}).to_csv(clash, index=False)
    proc = run_cli(
        *("labels", "bin", "--data", str(clash), "--id", "loan", "--label", "y"),
        *("--registry", str(home)),
        timeout=600,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "modelward: error: clash.csv: the id 'b' has two different labels ('0' and '1'); "
        "give one label per id"
    )
    proc = run_cli(
        *("labels", "bin", "--data", str(tmp_path / "none.csv"), "--id", "loan"),
        *("--registry", str(home)),
        timeout=600,
    )
    assert proc.returncode == 2 and "no such data file" in proc.stderr


def test_scoring_with_repeated_ids_logged_row_by_row_says_so(run_cli, home, tmp_path):
    """Late labels join logged rows by id: rows sharing an id are named at scoring time."""
    data = _frame(50, 7)
    data.insert(0, "loan", [f"L{i % 40}" for i in range(50)])  # ten ids on two rows each
    path = tmp_path / "batch.csv"
    data.to_csv(path, index=False)
    out = tmp_path / "scored.csv"
    args = ("score", "bin:1", "--data", str(path), "-o", str(out), "--id-column", "loan")
    proc = run_cli(*args, "--log-rows", "--json", "--registry", str(home), timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["repeated_ids"] == 10
    proc = run_cli(*args, "--log-rows", "--registry", str(home), timeout=600)  # the text
    assert proc.returncode == 0, proc.stderr
    assert (
        "modelward: warning: 10 logged row(s) repeat an id of another row; a late label for "
        "such an id will join every row that has it"
    ) in proc.stderr
    # only a row-level log joins labels by id: a summary says nothing of it
    proc = run_cli(*args, "--json", "--registry", str(home), timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "repeated_ids" not in json.loads(proc.stdout)["summary"]
    assert "repeat an id" not in proc.stderr


def test_training_on_a_small_table_says_how_few_rows_its_metrics_come_from(run_cli, tmp_path):
    """Taken (a first look at a small table is legitimate), but said, and kept with the
    version: 40 rows, a quarter held out, metrics from 10 rows."""
    home = tmp_path / "reg"
    data = tmp_path / "small.csv"
    _frame(40, 8).to_csv(data, index=False)
    proc = run_cli(
        *("train", "--data", str(data), "--target", "label", "--name", "small"),
        *("--estimator", "LogisticRegression", "--registry", str(home)),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    said = (
        "the metrics come from 10 held-out row(s) per evaluation; "
        "with fewer than 30 they say little about the model"
    )
    assert f"warning: {said}" in proc.stdout
    reg = Registry(home)
    try:
        assert said in reg.resolve("small:1").signature["warnings"]
    finally:
        reg.close()
