"""``compare`` does not bootstrap each version's own intervals; ``validate`` adds them later, equal.

The comparison needs only the paired differences. A validation it stores is
marked ``intervals_deferred``; the next validation of that version on the
same data bootstraps the intervals from the stored predictions (no new
scoring run) and they equal those of a validation computed from scratch.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelward.core.compute.compare import compare
from modelward.core.compute.validation import ensure_intervals, load_validation, validate
from modelward.core.intake.estimator import log_estimator
from modelward.core.registry import Registry


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["age", "income", "debt"])
    noise = rng.normal(size=n)
    return X, pd.Series((X["age"] - X["debt"] + noise > 0).astype(int), name="default")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("cmpiv")
    reg = Registry(tmp / "reg")
    X, y = _frame(300, 0)
    for c in (1.0, 0.05):
        log_estimator(reg, LogisticRegression(C=c).fit(X, y), "credit", X=X, y=y)
    Xt, yt = _frame(400, 1)
    Xt.assign(default=yt).to_csv(tmp / "test.csv", index=False)
    yield reg, str(tmp / "test.csv")
    reg.close()


def _validate_runs(reg: Registry) -> int:
    with reg.read() as cur:
        return int(cur.execute("SELECT count(*) FROM runs WHERE kind = 'validate'").fetchone()[0])


def test_compare_defers_the_intervals_and_validate_adds_the_same_numbers(home):
    reg, test_csv = home
    res = compare(reg, "credit:1", "credit:2", test_csv, n_boot=100, target="default")
    for side in (res.champion, res.challenger):
        stored = load_validation(reg, side.validation_id, predictions=False)
        assert "intervals" not in stored.curves and stored.curves["intervals_deferred"] is True
    runs = _validate_runs(reg)
    assert runs == 2

    # a second comparison reuses both validations, intervals still not needed
    again = compare(reg, "credit:1", "credit:2", test_csv, n_boot=100, target="default")
    assert again.champion.validation_id == res.champion.validation_id
    assert [d.to_json() for d in again.differences] == [d.to_json() for d in res.differences]
    assert _validate_runs(reg) == runs

    # a report reads them without storing; validate stores them: both equal a fresh validation
    fresh = validate(reg, "credit:1", test_csv, store=False, target="default")
    peek = ensure_intervals(reg, res.champion.validation_id, store=False)
    assert peek.curves["intervals"] == fresh.curves["intervals"]
    assert load_validation(reg, res.champion.validation_id).curves["intervals_deferred"]
    v = validate(reg, "credit:1", test_csv, target="default")
    assert v.validation_id == res.champion.validation_id and _validate_runs(reg) == runs
    assert v.metrics == fresh.metrics
    assert v.curves["intervals"] == fresh.curves["intervals"]
    assert v.curves["interval_method"] == fresh.curves["interval_method"]
    assert "intervals_deferred" not in v.curves
    stored = load_validation(reg, v.validation_id, predictions=False)
    assert json.dumps(stored.curves["intervals"]) == json.dumps(fresh.curves["intervals"])
    assert "intervals_deferred" not in stored.curves

    # and a later comparison reuses the validation that now has them
    third = compare(reg, "credit:1", "credit:2", test_csv, n_boot=100, target="default")
    assert third.champion.validation_id == v.validation_id
    assert [d.to_json() for d in third.differences] == [d.to_json() for d in res.differences]
    assert "intervals" in load_validation(reg, v.validation_id, predictions=False).curves
