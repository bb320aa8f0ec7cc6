"""Hostile files at the monitoring doors: each is refused in one sentence, or checked soundly.

A tester's files, each of which the checks took without a word or crashed on:

* a reference holding ±1e308 crashed ``drift`` and ``monitor --reference``
  (``LinAlgError``, exit 70); as a batch the same values printed a
  300-digit ratio;
* a one-row (or 30-row) reference gave every column the bound 0 and the
  multivariate check a NaN threshold printed ``(ok)``: ``--fail-on-drift``
  passed a batch nothing like it;
* ``yes``/``no`` labels for a 0/1 model counted every label as 0
  (f1 0.0000), and labels the model never saw (``2``; ``7``/``9`` through
  ``labels``) gave metrics, inverted ones in ``shadow show``;
* a ``--date-column`` of values that are no dates fell back to the arrival
  time without a word.

Every refusal exits 2, writes nothing and leaves one ``input.refused`` event.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelward.core.intake.estimator import log_estimator
from modelward.core.monitoring import service
from modelward.core.registry import Registry

FEATURES = ["age", "income", "debt"]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "income": np.round(rng.normal(50000, 12000, n), 2),
            "debt": np.round(rng.uniform(0, 1, n), 4),
        }
    )
    df["y"] = (df["debt"] + rng.normal(0, 0.2, n) > 0.5).astype(int)
    return df


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """``m:1``, a logistic regression on 0/1, profiled on 600 rows (``ref.csv``)."""
    path = tmp_path / "reg"
    reg = Registry(path)
    try:
        ref = _frame(600, 0)
        model = LogisticRegression(max_iter=1000).fit(ref[FEATURES], ref["y"])
        log_estimator(reg, model, "m", X=ref[FEATURES])
        ref.to_csv(tmp_path / "ref.csv", index=False)
        service.profile_version(reg, "m:1", tmp_path / "ref.csv", target="y")
    finally:
        reg.close()
    return path


def _refusals(home: Path, path: Path) -> list:
    reg = Registry(home)
    try:
        return [
            e
            for e in reg.audit_events(action="input.refused", limit=None)
            if e.entity_id == str(path)
        ]
    finally:
        reg.close()


def _count(home: Path, table: str) -> int:
    reg = Registry(home)
    try:
        with reg._read() as cur:
            return int(cur.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
    finally:
        reg.close()


def _one_sentence(proc) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("modelward: error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return errors[0]


# --------------------------------------------------------------------------- 1. ±1e308
def test_a_reference_whose_values_overflow_is_refused_naming_the_column(run_cli, tmp_path, home):
    huge = _frame(600, 1)
    huge.loc[5, "age"] = -1e308
    huge.loc[6, "age"] = 1e308
    path = tmp_path / "huge.csv"
    huge.to_csv(path, index=False)
    err = _one_sentence(
        run_cli("drift", "--reference", str(path), "--current", str(tmp_path / "ref.csv"))
    )
    assert "'age'" in err and "1e+308" in err and "overflow" in err
    before = _count(home, "mon_profiles")
    proc = run_cli(
        *("monitor", "m:1", "--reference", str(path), "--target", "y"),
        *("--registry", str(home)),
    )
    assert "'age'" in _one_sentence(proc)
    assert _count(home, "mon_profiles") == before
    reg = Registry(home)
    try:
        prof = service.get_profile(reg, reg.resolve("m:1").id)
        assert prof is not None and prof.source.endswith("ref.csv")  # the old profile stands
    finally:
        reg.close()
    (event,) = _refusals(home, path)
    assert event.after["door"] == "monitor" and "'age'" in (event.reason or "")


def test_values_that_overflow_in_a_batch_are_drift_with_a_readable_ratio(run_cli, tmp_path):
    ref = _frame(600, 0)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    batch = _frame(600, 1)
    batch.loc[5, "age"] = -1e308
    batch.loc[6, "age"] = 1e308
    batch.loc[::10, "income"] = 1e308
    batch.to_csv(tmp_path / "b.csv", index=False)
    args = ("drift", "--reference", str(tmp_path / "ref.csv"), "--current", str(tmp_path / "b.csv"))
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    why = [ln for ln in proc.stdout.splitlines() if ln.startswith("why ")]
    assert any(ln.startswith("why age:") for ln in why), proc.stdout
    assert any(ln.startswith("why income:") for ln in why), proc.stdout  # an infinite distance
    for ratio in re.findall(r"\(([^()]*)×\)", proc.stdout):
        assert len(ratio) <= 10, ratio  # 6.73e+304, not 305 digits
    (mv,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("multivariate")]
    assert "not computed" in mv and "(no verdict)" in mv and "(ok)" not in mv, mv
    doc = json.loads(run_cli(*args, "--json").stdout)
    assert doc["multivariate"]["statistic"] is None and not doc["multivariate"]["drifted"]
    assert {f["name"] for f in doc["features"] if f["drifted"]} >= {"age", "income"}


# --------------------------------------------------------------------------- 2. tiny references
@pytest.mark.parametrize("rows", [1, 30, 299])
def test_a_reference_too_small_to_calibrate_is_refused(run_cli, tmp_path, rows):
    _frame(rows, 2).to_csv(tmp_path / "small.csv", index=False)
    _frame(600, 3).assign(age=lambda d: d["age"] + 40).to_csv(tmp_path / "cur.csv", index=False)
    proc = run_cli(
        *("drift", "--reference", str(tmp_path / "small.csv")),
        *("--current", str(tmp_path / "cur.csv"), "--fail-on-drift"),
    )
    err = _one_sentence(proc)  # before: exit 0, every bound 0, "threshold nan (ok)"
    assert f"{rows} row(s)" in err and "300 rows" in err


def test_monitor_refuses_a_tiny_reference_and_audits_it(run_cli, tmp_path, home):
    path = tmp_path / "thirty.csv"
    _frame(30, 4).to_csv(path, index=False)
    proc = run_cli(
        "monitor", "m:1", "--reference", str(path), "--target", "y", "--registry", str(home)
    )
    assert "300 rows" in _one_sentence(proc)
    (event,) = _refusals(home, path)
    assert event.after["door"] == "monitor"


def test_a_multivariate_check_without_a_threshold_is_never_ok(run_cli, tmp_path, home):
    # a profile stored before references were held to 300 rows: one chunk's error
    reg = Registry(home)
    try:
        vid = reg.resolve("m:1").id
        with reg._read() as cur:
            text = cur.execute(
                "SELECT profile FROM mon_profiles WHERE version_id = ?", [vid]
            ).fetchall()[0][0]
        doc = json.loads(text)
        doc["multivariate"]["chunk_errors"] = doc["multivariate"]["chunk_errors"][:1]
        with reg.transaction() as tx:
            tx.q("UPDATE mon_profiles SET profile = ? WHERE version_id = ?", [json.dumps(doc), vid])
    finally:
        reg.close()
    batch = _frame(600, 5)
    batch["income"] = batch["income"] * 3  # far off the reference
    batch.to_csv(tmp_path / "b.csv", index=False)
    proc = run_cli("monitor", "m:1", "--batch", str(tmp_path / "b.csv"), "--registry", str(home))
    assert proc.returncode == 0, proc.stderr
    (mv,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("multivariate")]
    assert "not calibrated" in mv and "(no verdict)" in mv, mv
    assert "nan" not in mv and "(ok)" not in mv, mv
