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
    assert "PSI" in why and "Wasserstein" in why and "Anderson–Darling" in why and "missing" in why


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


# --------------------------------------------------------------------------- issue 15
def _detections(profile, n: int, seeds: range, **shift) -> int:
    hits = 0
    for s in seeds:
        rep = check_drift(_table(np.random.default_rng(1000 + s), n, **shift), profile)
        hits += rep.feature("a").drifted
    return hits


def test_no_cliff_between_1000_and_1001_rows(profile):
    # Before issue 15 a +0.25σ shift went from 10/10 detected at n=1000 to 0/10 at
    # n=1001, where the method switched to PSI >= 0.1 alone.
    at_1000 = _detections(profile, 1000, range(10), shift=0.25)
    at_1001 = _detections(profile, 1001, range(10, 20), shift=0.25)
    assert at_1000 >= 9 and at_1001 >= 9
    # and large batches keep seeing it
    assert _detections(profile, 50_000, range(20, 22), shift=0.25) == 2


def test_small_shifts_seen_by_a_lens_at_large_n(profile):
    # an exponential whose scale grew x1.35 has PSI below 0.1 yet is drift
    t = _table(np.random.default_rng(30), 20_000)
    t["c"] = np.random.default_rng(31).exponential(2.7, 20_000)
    f = check_drift(t, profile).feature("c")
    assert f.drifted and f.stats["psi"] < 0.1
    assert "wasserstein" in f.fired


def test_missing_rate_change_is_drift(profile):
    rng = np.random.default_rng(40)
    t = _table(rng, 5000)
    t["a"] = np.where(rng.random(5000) < 0.20, np.nan, t["a"])
    rep = check_drift(t, profile)
    f = rep.feature("a")
    assert f.drifted and "missing" in f.fired
    assert "missing rate 0.0% → 19.4%" in f.reason
    assert f.stats["missing_rate"] == pytest.approx(0.2, abs=0.02)
    # the same share of missing values as the reference is not
    assert not check_drift(_table(rng, 5000), profile).feature("a").drifted


def test_missing_rate_from_1_to_20_percent():
    rng = np.random.default_rng(41)
    ref = rng.normal(size=20000)
    ref[rng.random(20000) < 0.01] = np.nan
    prof = build_profile({"x": ref, "y": rng.normal(size=20000)})
    for n, rate, want in ((500, 0.20, True), (500, 0.01, False), (100_000, 0.011, False)):
        x = rng.normal(size=n)
        x[rng.random(n) < rate] = np.nan
        f = check_drift({"x": x, "y": rng.normal(size=n)}, prof).feature("x")
        assert f.drifted is want, (n, rate, f.reason)


def test_p_values_are_bh_adjusted_and_drive_the_verdict(profile):
    rep = check_drift(_table(np.random.default_rng(50), 800, shift=0.3), profile)
    raw = [f.p_value for f in rep.features]
    assert all(p is not None for p in raw)
    adj = stats.false_discovery_control(raw, method="bh")
    assert [f.p_adjusted for f in rep.features] == pytest.approx(adj)
    assert "Benjamini" in rep.features[0].threshold_source or "BH" in (
        rep.features[0].threshold_source
    )


def test_reason_names_the_lens_and_by_how_much(profile):
    rep = check_drift(_table(np.random.default_rng(60), 5000, shift=0.5), profile)
    f = rep.feature("a")
    assert f.drifted and f.lens in ("psi", "wasserstein", "jensenshannon")
    assert f.reason.startswith("drift seen by ")
    assert (
        "×)" in f.reason and "Anderson–Darling + smooth test (Cauchy-combined) p (BH)" in f.reason
    )
    assert f.statistic >= f.threshold
    quiet = rep.feature("c")
    assert not quiet.drifted and quiet.reason.startswith("no lens fired: closest ")
    assert quiet.threshold_source.startswith("reference: ")


def test_one_method_family_per_report_or_said(profile):
    t = _table(np.random.default_rng(70), 3000)
    assert check_drift(t, profile).method == "combined"
    mixed = check_drift(t, profile, methods={"*": "wasserstein"})
    assert mixed.method.startswith("mixed: wasserstein for a, b, c; combined for k")


def test_lenses_are_stored_with_the_profile(profile):
    from modelward.core.monitoring.profile import ReferenceProfile

    lenses = profile.features["a"].lenses
    assert {"psi_floor", "wasserstein_floor", "ks_floor", "missing_floor"} <= set(lenses)
    assert any(k.startswith("psi_null_") for k in lenses)
    again = ReferenceProfile.from_json(profile.to_json())
    assert again.features["a"].lenses == pytest.approx(lenses)
    # a profile stored before the lenses existed gets them when checked
    doc = profile.to_json()
    for c in doc["features"]:
        c.pop("lenses")
    old = ReferenceProfile.from_json(doc)
    rep = check_drift(_table(np.random.default_rng(71), 2000), old)
    assert old.features["a"].lenses == pytest.approx(lenses)
    assert not rep.feature("a").drifted


def test_multivariate_source_says_no_rescaling_when_none(profile):
    big = check_drift(_table(np.random.default_rng(80), 5000), profile).multivariate
    assert "widened" not in big["threshold_source"]
    small = check_drift(_table(np.random.default_rng(81), 300), profile).multivariate
    assert "widened" in small["threshold_source"]


def test_cli_drift_prints_adjusted_p_values_and_reasons(tmp_path):
    import subprocess
    import sys

    import pyarrow as pa
    import pyarrow.csv as pacsv

    ref = _table(np.random.default_rng(90), 5000)
    cur = _table(np.random.default_rng(91), 1500, shift=0.5)
    cur["c"] = np.where(np.random.default_rng(92).random(1500) < 0.2, np.nan, cur["c"])
    for name, t in (("ref.csv", ref), ("cur.csv", cur)):
        pacsv.write_csv(pa.table(t), tmp_path / name)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelward",
            "drift",
            "--reference",
            str(tmp_path / "ref.csv"),
            "--current",
            str(tmp_path / "cur.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "P (BH)" in out and "LENS" in out
    assert "method: combined at every size" in out
    assert "why a: drift seen by" in out and "why c: drift seen by missing rate" in out
    js = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelward",
            "drift",
            "--reference",
            str(tmp_path / "ref.csv"),
            "--current",
            str(tmp_path / "cur.csv"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    doc = __import__("json").loads(js.stdout)
    a = next(f for f in doc["features"] if f["name"] == "a")
    line = next(x for x in out.splitlines() if x.startswith("a "))
    assert f"{a['p_adjusted']:.3g}" in line.split()
    assert doc["method"] == "combined" and a["fired"]
