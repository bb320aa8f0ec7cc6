"""The numeric test of the combined drift method: binned Anderson–Darling and smooth tests."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import anderson_ksamp

from modelward.core.monitoring.drift import (
    ad_from_counts,
    cauchy_combine,
    missing_test,
    smooth_from_counts,
)

EDGES = np.quantile(np.random.default_rng(0).normal(size=20_000), np.linspace(0, 1, 101)[1:-1])


def _counts(x: np.ndarray) -> np.ndarray:
    return np.bincount(np.searchsorted(EDGES, x), minlength=len(EDGES) + 1)


def test_statistic_equals_scipy_midrank_on_the_bin_indices():
    rng = np.random.default_rng(1)
    ref, cur = rng.normal(size=5000), rng.normal(0.1, 1.2, 300)
    a2, p = ad_from_counts(_counts(ref), _counts(cur))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = anderson_ksamp(
            [np.searchsorted(EDGES, ref), np.searchsorted(EDGES, cur)], variant="midrank"
        )
    # SciPy reports the standardised statistic; ours is A² itself: compare through
    # SciPy's own p-value inside its interpolation range (0.001..0.25)
    assert 0.001 < res.pvalue < 0.25 or p < 0.001
    assert p == pytest.approx(res.pvalue, rel=0.25) or (p < 0.001 and res.pvalue == 0.001)
    assert a2 > 0


def test_p_value_is_calibrated_under_no_drift_and_not_floored():
    rng = np.random.default_rng(2)
    ref = _counts(rng.normal(size=20_000))
    ps = np.array([ad_from_counts(ref, _counts(rng.normal(size=200)))[1] for _ in range(400)])
    assert 0.02 < (ps < 0.05).mean() < 0.09
    _, p = ad_from_counts(ref, _counts(rng.normal(0, 1.5, 2000)))
    assert p < 1e-6  # far below SciPy's interpolation floor, so BH can rank it


def test_more_power_than_ks_for_a_change_of_scale():
    from modelward.core.monitoring.drift import ks_from_counts

    rng = np.random.default_rng(3)
    ref = _counts(rng.normal(size=20_000))
    wins = 0
    for _ in range(40):
        cur = _counts(rng.normal(0, 1.25, 300))
        wins += ad_from_counts(ref, cur)[1] < ks_from_counts(ref, cur)[1]
    assert wins >= 30


def test_smooth_test_is_the_two_proportion_test_for_two_values():
    # two values: one component, the squared z of the difference of proportions
    # with the reference's variance times (1/n + 1/N)
    stat, p = smooth_from_counts(np.array([0, 500, 0, 500, 0]), np.array([0, 60, 0, 40, 0]))
    z = 0.1 / np.sqrt(0.25 * (1 / 100 + 1 / 1000))
    assert stat == pytest.approx(z**2)
    assert p == pytest.approx(2 * 0.5 * __import__("math").erfc(z / np.sqrt(2)))


def test_smooth_test_is_calibrated_and_finds_a_shape_change_anderson_darling_misses():
    rng = np.random.default_rng(4)
    ref = _counts(rng.normal(size=20_000))
    null = np.array([smooth_from_counts(ref, _counts(rng.normal(size=200)))[1] for _ in range(400)])
    assert 0.02 < (null < 0.05).mean() < 0.09
    # same mean and variance, two modes: Anderson–Darling rarely sees it at n = 500
    smooth_hits = ad_hits = 0
    for _ in range(20):
        x = np.where(rng.random(500) < 0.5, -0.8, 0.8) + rng.normal(0, 0.6, 500)
        smooth_hits += smooth_from_counts(ref, _counts(x))[1] < 0.001
        ad_hits += ad_from_counts(ref, _counts(x))[1] < 0.001
    assert smooth_hits >= 16 and ad_hits <= 8


def test_cauchy_combination():
    assert cauchy_combine([0.3, 0.3]) == pytest.approx(0.3)
    assert cauchy_combine([1e-20, 0.9]) == pytest.approx(2e-20)  # the smallest, times k
    assert cauchy_combine([float("nan"), 0.2]) == pytest.approx(0.2)
    assert np.isnan(cauchy_combine([]))
    # valid for independent uniforms: its level is the nominal one
    rng = np.random.default_rng(5)
    ps = np.array([cauchy_combine(rng.random(2)) for _ in range(4000)])
    assert 0.04 < (ps < 0.05).mean() < 0.06


def test_missing_rate_test_equals_scipy_fisher_exact():
    from scipy.stats import fisher_exact

    for cur_miss, rows, ref_miss, ref_rows in [
        (3, 100, 10, 1000),
        (30, 800, 500, 5000),
        (200, 1000, 10, 20_000),
        (1, 2, 0, 3),
        (5, 10, 5, 10),
    ]:
        want = fisher_exact([[cur_miss, rows - cur_miss], [ref_miss, ref_rows - ref_miss]])
        assert missing_test(ref_miss, ref_rows, cur_miss, rows) == pytest.approx(
            want.pvalue, rel=1e-6
        )
    assert missing_test(0, 100, 0, 50) == 1.0


def test_the_check_imports_no_scipy(tmp_path):
    # scipy.stats costs seconds at the start of every `drift` process, scipy.special about one
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from modelward.core.monitoring.drift import check_drift\n"
        "from modelward.core.monitoring.profile import build_profile\n"
        "rng = np.random.default_rng(0)\n"
        "ref = {'a': rng.normal(size=3000), 'k': rng.choice(['x', 'y'], 3000),\n"
        "       'm': np.where(rng.random(3000) < 0.1, np.nan, 1.0)}\n"
        "cur = {'a': rng.normal(0.5, 1, 300), 'k': rng.choice(['x', 'z'], 300),\n"
        "       'm': np.where(rng.random(300) < 0.3, np.nan, 1.0)}\n"
        "rep = check_drift(cur, build_profile(ref))\n"
        "assert rep.feature('a').drifted and rep.feature('m').drifted\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_distribution_tails_equal_scipy():
    from scipy.special import chdtrc, chdtri, gammaln, ndtri

    from modelward.core.monitoring.tails import chi2_isf, chi2_sf, log_gamma, norm_isf

    for df in (1, 2, 3, 4, 7, 49, 500, 3000, 0.37, 2.5, 120.8):
        for x in (1e-3, 0.5, 2, 10, 80, 700, 4000):
            want = chdtrc(df, x)
            if want > 1e-290:
                assert chi2_sf(df, x) == pytest.approx(want, rel=1e-9)
    for df in (0.3, 1, 1.5, 3.7, 15.5, 99, 1000):
        for tail in (1e-4, 1e-2, 0.3):
            assert chi2_isf(df, tail) == pytest.approx(chdtri(df, tail), rel=1e-9)
    assert norm_isf(1e-4) == pytest.approx(ndtri(1 - 1e-4), rel=1e-12)
    x = np.array([0.5, 1.0, 2.5, 10.0, 1e6 + 0.5])
    assert log_gamma(x) == pytest.approx(gammaln(x), rel=1e-12)


def test_the_smooth_test_split_by_symmetry_finds_symmetric_changes_sooner_at_the_same_level():
    """The column's p-value joins Anderson–Darling with the smooth test's odd half
    (location, skew) and even half (scale, kurtosis): a bimodal batch of equal mean and
    variance at n = 200 is flagged more often than when the whole 4-component test is
    joined, at the level a 14-column BH correction asks (0.05 / 14), with as few false
    alarms."""
    from modelward.core.monitoring.drift import SMOOTH_EVEN, SMOOTH_ODD

    rng = np.random.default_rng(6)
    ref = _counts(rng.normal(size=20_000))
    level = 0.05 / 14

    def split(c: np.ndarray) -> float:
        odd = smooth_from_counts(ref, c, components=SMOOTH_ODD)[1]
        even = smooth_from_counts(ref, c, components=SMOOTH_EVEN)[1]
        return cauchy_combine([ad_from_counts(ref, c)[1], odd, even])

    def whole(c: np.ndarray) -> float:
        return cauchy_combine([ad_from_counts(ref, c)[1], smooth_from_counts(ref, c)[1]])

    bimodal = [
        _counts(np.where(rng.random(200) < 0.5, -0.8, 0.8) + rng.normal(0, 0.6, 200))
        for _ in range(200)
    ]
    split_hits = sum(split(c) < level for c in bimodal)
    whole_hits = sum(whole(c) < level for c in bimodal)
    assert split_hits >= whole_hits + 12, (split_hits, whole_hits)
    null = [_counts(rng.normal(size=200)) for _ in range(2000)]
    assert sum(split(c) < 0.05 for c in null) / len(null) < 0.07
    assert sum(split(c) < level for c in null) <= 2 * level * len(null) + 5

    # and it is the p-value a check of a column judges by, its halves in the reason
    from modelward.core.monitoring.drift import check_drift, column_stats
    from modelward.core.monitoring.profile import build_profile

    prof = build_profile({"x": rng.normal(size=20_000)})
    batch = np.where(rng.random(500) < 0.5, -0.8, 0.8) + rng.normal(0, 0.6, 500)
    fd = check_drift({"x": batch}, prof).feature("x")
    col = prof.features["x"]
    st = column_stats(
        col, np.bincount(np.searchsorted(col.edges, batch), minlength=len(col.edges) + 1)
    )
    assert fd.p_value == pytest.approx(st["ad_smooth_p"])
    assert st["ad_smooth_p"] == pytest.approx(
        cauchy_combine([st["ad_p"], st["smooth_odd_p"], st["smooth_even_p"]])
    )
    assert (
        fd.drifted and "for location and skew" in fd.reason and "for scale and shape" in fd.reason
    )
