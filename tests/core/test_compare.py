"""Paired tests against known values and against scikit-learn's own functions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from modelward.core.compute import compare as cmp
from modelward.core.compute.metrics import Predictions, compute_metrics
from modelward.core.errors import InvalidInput


def _delong_by_definition(y, a, b):
    """DeLong (1988) written from the definition: O(m*n) kernel psi, placement values."""
    pos, neg = y.astype(bool), ~y.astype(bool)

    def psi(x, z):
        return (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])

    v10, v01, aucs = [], [], []
    for s in (a, b):
        k = psi(s[pos], s[neg])
        aucs.append(k.mean())
        v10.append(k.mean(axis=1))  # per positive
        v01.append(k.mean(axis=0))  # per negative
    s10, s01 = np.cov(np.array(v10)), np.cov(np.array(v01))
    S = s10 / pos.sum() + s01 / neg.sum()
    var = S[0, 0] + S[1, 1] - 2 * S[0, 1]
    z = (aucs[1] - aucs[0]) / np.sqrt(var)
    return aucs, var, 2 * stats.norm.sf(abs(z))


def _scores(seed=0, n=300):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = np.round(y * 0.8 + rng.normal(size=n), 1)  # rounded: many ties
    b = np.round(y * 1.1 + rng.normal(size=n) * 0.9 + 0.3 * a, 1)
    return y, a, b


def test_delong_matches_the_definition_with_ties():
    from sklearn.metrics import roc_auc_score

    y, a, b = _scores()
    auc_a, auc_b, diff, lo, hi, p = cmp.delong_test(y, a, b)
    (ra, rb), var, rp = _delong_by_definition(y, a, b)
    assert auc_a == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    assert auc_b == pytest.approx(roc_auc_score(y, b), abs=1e-12)
    assert (auc_a, auc_b) == pytest.approx((ra, rb), abs=1e-12)
    assert p == pytest.approx(rp, rel=1e-9)
    half = stats.norm.ppf(0.975) * np.sqrt(var)
    assert (lo, hi) == pytest.approx((diff - half, diff + half), rel=1e-9)


def test_delong_standard_error_agrees_with_a_bootstrap():
    from sklearn.metrics import roc_auc_score

    y, a, b = _scores(seed=3, n=400)
    _, _, diff, lo, hi, _ = cmp.delong_test(y, a, b)
    se = (hi - lo) / (2 * stats.norm.ppf(0.975))
    rng = np.random.default_rng(1)
    boots = []
    for _ in range(800):
        i = rng.integers(0, len(y), len(y))
        boots.append(roc_auc_score(y[i], b[i]) - roc_auc_score(y[i], a[i]))
    assert se == pytest.approx(np.std(boots), rel=0.15)


def test_delong_same_scores_is_no_difference():
    y, a, _ = _scores()
    _, _, diff, lo, hi, p = cmp.delong_test(y, a, a)
    assert (diff, lo, hi, p) == (0.0, 0.0, 0.0, 1.0)


def test_delong_needs_both_classes():
    with pytest.raises(InvalidInput, match="both classes"):
        cmp.delong_test(np.ones(5), np.arange(5), np.arange(5))


def _pairs(b, c, both_right=50, both_wrong=10):
    """Predictions with exactly b rows only A got right and c rows only B got right."""
    n = both_right + both_wrong + b + c
    y = np.zeros(n, dtype=int)
    a_right = np.r_[np.ones(both_right), np.zeros(both_wrong), np.ones(b), np.zeros(c)]
    b_right = np.r_[np.ones(both_right), np.zeros(both_wrong), np.zeros(b), np.ones(c)]
    return y, np.where(a_right == 1, 0, 1), np.where(b_right == 1, 0, 1)


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (2, 8, 0.109375),  # exact: 2 * (1 + 10 + 45) / 1024
        (0, 5, 0.0625),  # exact: 2 / 32
        (10, 20, 0.100348),  # chi-square (|10-20|-1)^2/30 = 2.7 on 1 df
        (121, 59, 5.4501e-6),  # Wikipedia's example: chi2 = 61^2/180 = 20.672, z = 4.547
    ],
)
def test_mcnemar_known_values(b, c, p):
    y, pa, pb = _pairs(b, c)
    acc_a, acc_b, diff, lo, hi, pv, nb, nc = cmp.mcnemar_test(y, pa, pb)
    assert (nb, nc) == (b, c)
    assert pv == pytest.approx(p, rel=1e-3)
    assert diff == pytest.approx(acc_b - acc_a)
    assert lo < diff < hi


def test_mcnemar_no_discordant_pairs():
    assert cmp.mcnemar_p(0, 0) == 1.0


def _binary_predictions(seed, shift=0.0, n=400):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p1 = np.clip(0.5 + (y - 0.5) * (0.4 + shift) + rng.normal(scale=0.25, size=n), 0.01, 0.99)
    p1 = np.round(p1, 2)
    proba = np.column_stack([1 - p1, p1])
    return Predictions(
        y_true=y,
        y_pred=(p1 > 0.5).astype(int),
        task="classification",
        classes=np.array([0, 1]),
        proba=proba,
    )


def _sklearn_weighted(metric, p, w):
    from sklearn import metrics as m

    y, yp, s = p.y_true, p.y_pred, p.proba[:, 1]
    if metric == "accuracy":
        return m.accuracy_score(y, yp, sample_weight=w)
    if metric == "balanced_accuracy":
        return m.balanced_accuracy_score(y, yp, sample_weight=w)
    if metric == "f1":
        return m.f1_score(y, yp, sample_weight=w)
    if metric == "average_precision":
        return m.average_precision_score(y, s, sample_weight=w)
    # the bootstrap divides by the row count: sklearn's weighted mean times sum(w) / n
    if metric == "log_loss":
        return m.log_loss(y, p.proba, sample_weight=w) * w.sum() / len(y)
    return m.brier_score_loss(y, s, sample_weight=w) * w.sum() / len(y)


@pytest.mark.parametrize(
    "metric",
    ["accuracy", "balanced_accuracy", "f1", "average_precision", "log_loss", "brier_score_loss"],
)
def test_weighted_bootstrap_statistics_equal_sklearn_with_sample_weight(metric):

    p = _binary_predictions(0)
    rng = np.random.default_rng(5)
    W = np.stack([np.bincount(rng.integers(0, 400, 400), minlength=400) for _ in range(3)])
    fast = cmp._weighted(metric, p)(W.astype(float))
    for w, got in zip(W, fast, strict=True):
        want = _sklearn_weighted(metric, p, w)
        assert got == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("metric", ["rmse", "mae", "r2"])
def test_weighted_regression_statistics_equal_sklearn(metric):
    from sklearn import metrics as m

    rng = np.random.default_rng(2)
    y = rng.normal(size=300)
    p = Predictions(y_true=y, y_pred=y + rng.normal(scale=0.5, size=300), task="regression")
    w = np.bincount(rng.integers(0, 300, 300), minlength=300).astype(float)
    got = cmp._weighted(metric, p)(w[None, :])[0]
    fn = {
        "rmse": m.root_mean_squared_error,
        "mae": m.mean_absolute_error,
        "r2": m.r2_score,
    }[metric]
    assert got == pytest.approx(fn(p.y_true, p.y_pred, sample_weight=w), rel=1e-9)


def test_fast_and_plain_bootstrap_draw_the_same_resamples():
    from sklearn.metrics import f1_score

    a, b = _binary_predictions(0), _binary_predictions(1, shift=0.1)
    b.y_true = a.y_true
    fast = cmp._bootstrap_weighted(
        cmp._weighted("f1", a),
        cmp._weighted("f1", b),
        400,
        n_boot=200,
        alpha=0.05,
        seed=4,
        cancel=None,
    )
    plain = cmp.paired_bootstrap(
        lambda i: f1_score(a.y_true[i], a.y_pred[i]),
        lambda i: f1_score(a.y_true[i], b.y_pred[i]),
        400,
        n_boot=200,
        seed=4,
    )
    assert fast == pytest.approx(plain, rel=1e-9)


def test_compare_predictions_reports_every_shared_metric_with_its_test():
    a = _binary_predictions(0)
    b = _binary_predictions(1, shift=0.2)
    b.y_true = a.y_true
    diffs = cmp.compare_predictions(a, b, compute_metrics(a), compute_metrics(b), n_boot=300)
    tests = {d.metric: d.test for d in diffs}
    assert tests["roc_auc"] == "DeLong"
    assert tests["accuracy"] == "McNemar"
    assert tests["log_loss"] == "paired bootstrap"
    for d in diffs:
        assert d.ci_low <= d.difference <= d.ci_high
        assert 0 <= d.p_value <= 1


def test_compare_predictions_refuses_different_rows():
    a, b = _binary_predictions(0), _binary_predictions(1)
    with pytest.raises(InvalidInput, match="same rows"):
        cmp.compare_predictions(a, b, {}, {})


@pytest.mark.parametrize(
    ("text", "gate"),
    [
        ("roc_auc>=0.75", cmp.Gate("roc_auc", "min", 0.75)),
        ("rmse <= 3.5", cmp.Gate("rmse", "max", 3.5)),
        ("roc_auc>=champion-0.01", cmp.Gate("roc_auc", "not_worse", 0.01)),
        ("log_loss<=champion+0.02", cmp.Gate("log_loss", "not_worse", 0.02)),
    ],
)
def test_parse_gate(text, gate):
    assert cmp.parse_gate(text) == gate
    assert cmp.parse_gate(str(gate)) == gate


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("auc>=0.7", "unknown metric"),
        ("roc_auc>champion", "bad gate"),
        ("roc_auc<=champion+0.1", "roc_auc>=champion-X"),
        ("rmse>=champion-0.1", "rmse<=champion+X"),
    ],
)
def test_bad_gates(text, words):
    with pytest.raises(InvalidInput, match=words.replace("+", r"\+")):
        cmp.parse_gate(text)


def test_gates_need_significance_for_non_inferiority():
    d = cmp.Difference("roc_auc", 0.80, 0.795, -0.005, -0.02, 0.01, 0.5, "DeLong", True)
    loose, tight = (
        cmp.parse_gate("roc_auc>=champion-0.03"),
        cmp.parse_gate("roc_auc>=champion-0.01"),
    )
    res = cmp.evaluate_gates(
        [loose, tight, cmp.parse_gate("roc_auc>=0.79")], {"roc_auc": 0.795}, [d]
    )
    assert [r.passed for r in res] == [True, False, True]
    lower = cmp.Difference("rmse", 1.0, 1.1, 0.1, 0.05, 0.15, 0.01, "paired bootstrap", False)
    res = cmp.evaluate_gates([cmp.parse_gate("rmse<=champion+0.2")], {"rmse": 1.1}, [lower])
    assert res[0].passed
    assert lower.verdict == "worse"
