"""Drift statistics against SciPy and hand-computed values; verdicts on known drift."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from modelward.core.errors import InvalidInput
from modelward.core.monitoring.binning import Moments, count_numeric
from modelward.core.monitoring.drift import (
    adjust_pvalues,
    check_drift,
    chi2_from_counts,
    choose_method,
    js_distance,
    ks_from_counts,
    psi,
    wasserstein_from_bins,
)
from modelward.core.monitoring.performance import calibrate, estimate_metrics, realized_metrics
from modelward.core.monitoring.profile import build_profile, make_edges, reconstruction_error
from modelward.core.monitoring.quality import SchemaMismatch


def test_psi_hand_computed():
    # p = (.5, .5), q = (.25, .75): -.25 ln .5 + .25 ln 1.5
    assert psi(np.array([50, 50]), np.array([25, 75])) == pytest.approx(
        0.25 * np.log(2) + 0.25 * np.log(1.5)
    )
    assert psi(np.array([10, 30]), np.array([1, 3])) == pytest.approx(0.0)
    # an empty bin is floored at 1e-4, never infinite
    assert np.isfinite(psi(np.array([100, 0]), np.array([50, 50])))


def test_js_distance_matches_scipy():
    a, b = np.array([5, 10, 85]), np.array([30, 30, 40])
    assert js_distance(a, b) == pytest.approx(jensenshannon(a / 100, b / 100, base=2))
    assert js_distance(a, a * 3) == pytest.approx(0.0, abs=1e-7)


def _binned(ref: np.ndarray, cur: np.ndarray, n_bins: int = 100):
    e = make_edges(ref, n_bins)
    return count_numeric(ref, e), count_numeric(cur, e)


def test_ks_exact_on_discrete_data():
    rng = np.random.default_rng(1)
    ref = rng.integers(0, 12, 800).astype(float)
    cur = rng.integers(1, 13, 300).astype(float)  # one value the reference never saw
    r, c = _binned(ref, cur)
    d, p = ks_from_counts(r.counts, c.counts)
    want = stats.ks_2samp(ref, cur, method="asymp")
    assert d == pytest.approx(want.statistic)
    assert p == pytest.approx(want.pvalue, rel=1e-6)


def test_ks_on_continuous_data_within_one_bin():
    rng = np.random.default_rng(2)
    ref, cur = rng.normal(size=5000), rng.normal(0.2, 1.1, size=700)
    r, c = _binned(ref, cur, 100)
    d, p = ks_from_counts(r.counts, c.counts)
    want = stats.ks_2samp(ref, cur, method="asymp")
    # the grid can miss the supremum by at most one bin's mass (1 % of the reference
    # plus whatever the current has in that bin)
    assert want.statistic - 0.03 <= d <= want.statistic + 1e-12
    assert p == pytest.approx(want.pvalue, rel=0.5, abs=1e-4)


def test_wasserstein_exact_for_discrete_and_close_for_continuous():
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 20, 2000).astype(float)
    cur = rng.integers(3, 25, 900).astype(float)
    r, c = _binned(ref, cur)
    got = wasserstein_from_bins(r.counts, r.sums, c.counts, c.sums)
    assert got == pytest.approx(stats.wasserstein_distance(ref, cur), rel=1e-9)
    ref, cur = rng.normal(size=20000), rng.normal(0.3, 1.2, 20000)
    r, c = _binned(ref, cur)
    got = wasserstein_from_bins(r.counts, r.sums, c.counts, c.sums)
    assert got == pytest.approx(stats.wasserstein_distance(ref, cur), abs=0.02)


def test_chi2_matches_scipy_and_counts_unseen():
    ref, cur = np.array([40, 30, 30, 0]), np.array([10, 10, 5, 7])  # last: unseen
    stat, p = chi2_from_counts(ref, cur)
    want = stats.chi2_contingency(np.vstack([ref, cur]), correction=False)
    assert stat == pytest.approx(want.statistic)
    assert p == pytest.approx(want.pvalue)


def test_multiple_testing_corrections():
    p = np.array([0.01, 0.04, 0.03, 0.5])
    assert adjust_pvalues(p, "bh") == pytest.approx(stats.false_discovery_control(p))
    # Holm: sorted .01 .03 .04 .5 times 4 3 2 1, running max, capped at 1
    assert adjust_pvalues(p, "holm") == pytest.approx([0.04, 0.09, 0.09, 0.5])
    with pytest.raises(InvalidInput):
        adjust_pvalues(p, "bonferroni-ish")


def test_method_is_one_family_at_every_size():
    # Before issue 15 the method switched from KS/chi-square to PSI alone above
    # 1000 rows (a cliff in detection); now every size is judged the same way.
    for n in (200, 500, 1000, 1001, 5000, 1_000_000):
        assert choose_method("numeric", n)[0] == "combined"
        assert choose_method("categorical", n)[0] == "combined"
    why = choose_method("numeric", 5000)[1]
    assert "PSI" in why and "Wasserstein" in why and "Kolmogorov" in why and "missing" in why


def _table(rng: np.random.Generator, n: int, shift: float = 0.0, cat_p=(0.5, 0.3, 0.2)):
    a = rng.normal(shift, 1, n)
    return {
        "a": a,
        "b": 0.8 * a + rng.normal(0, 0.6, n),
        "c": rng.exponential(2.0, n),
        "k": np.array(["x", "y", "z"])[rng.choice(3, n, p=cat_p)],
    }


@pytest.fixture(scope="module")
def profile():
    return build_profile(_table(np.random.default_rng(10), 20000))


@pytest.mark.parametrize("n", [400, 4000])
def test_identical_distribution_not_flagged(profile, n):
    rep = check_drift(_table(np.random.default_rng(11), n), profile)
    assert not any(f.drifted for f in rep.features)
    assert rep.drift_share == 0.0 and not rep.drifted
    assert not rep.multivariate["drifted"]


@pytest.mark.parametrize("n", [400, 4000])
def test_known_drift_flagged(profile, n):
    rep = check_drift(
        _table(np.random.default_rng(12), n, shift=1.0, cat_p=(0.2, 0.3, 0.5)), profile
    )
    assert rep.feature("a").drifted and rep.feature("k").drifted
    assert not rep.feature("c").drifted
    f = rep.feature("a")
    assert f.method == "combined" and rep.method == "combined"
    assert f.n_current == n and f.n_reference == 20000 and f.reason
    # the test's p-value is kept at every size, raw and BH-adjusted
    assert f.p_value is not None and f.p_adjusted is not None


def test_unseen_categories_are_counted(profile):
    t = _table(np.random.default_rng(13), 3000)
    t["k"] = np.where(np.arange(3000) % 10 == 0, "new", t["k"])
    rep = check_drift(t, profile)
    assert rep.feature("k").unseen == 300
    assert rep.feature("k").unseen_examples == ("new",)
    q = {c.name: c for c in rep.quality.columns}
    assert q["k"].unseen == 300


def test_override_and_reference_thresholds(profile):
    t = _table(np.random.default_rng(14), 5000)
    rep = check_drift(t, profile, methods={"*": "wasserstein"}, thresholds="reference")
    f = rep.feature("a")
    assert f.method == "wasserstein" and f.threshold_source.startswith("reference:")
    assert rep.feature("k").method != "wasserstein"  # does not apply to categorical
    assert not any(x.drifted for x in rep.features)
    with pytest.raises(InvalidInput, match="does not apply"):
        check_drift(t, profile, methods={"k": "ks"})


def test_multivariate_drift_sees_a_broken_correlation(profile):
    t = _table(np.random.default_rng(15), 5000)
    t["b"] = np.random.default_rng(16).permutation(t["b"])  # same marginal, correlation gone
    rep = check_drift(t, profile)
    assert not rep.feature("b").drifted
    assert rep.multivariate["drifted"]


def test_schema_mismatch_names_columns(profile):
    t = _table(np.random.default_rng(17), 100)
    del t["c"]
    t["a"] = t["a"].astype(str)
    with pytest.raises(SchemaMismatch, match=r"missing column\(s\) c.*a are numeric"):
        check_drift(t, profile)


def test_reconstruction_error_from_moments_equals_rows():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(500, 4))
    center = rng.normal(size=4) * 0.1
    w, _ = np.linalg.qr(rng.normal(size=(4, 2)))
    direct = np.mean(np.sum(((z - center) - (z - center) @ w @ w.T) ** 2, axis=1))
    m = Moments(len(z), z.sum(axis=0), z.T @ z)
    assert reconstruction_error(m, center, w) == pytest.approx(direct)


def test_cbpe_estimates_realized_performance_when_calibrated():
    rng = np.random.default_rng(5)
    s_ref = rng.beta(2, 3, 20000)
    y_ref = (rng.random(20000) < s_ref).astype(float)
    cal = calibrate(s_ref, y_ref)
    s = rng.beta(3, 2, 20000)  # covariate shift: more high scores
    y = (rng.random(20000) < s).astype(float)
    est, real = estimate_metrics(s, cal), realized_metrics(y, s)
    for k in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert est[k] == pytest.approx(real[k], abs=0.02), k
