"""What any test could detect: the power of the best test of one known shift, per column.

The drift matrix (``bench_drift_matrix.py``) asks ModelWard to flag a shifted
column while it keeps its false alarms at or below today's rate (0.4 % of
columns at n = 500; the issue's ceiling is 1 %). For three cells at n = 200
and 500 it does not, where Evidently or NannyML do. This script puts a number
on what is possible there: the power of the most powerful test of that one
shift against no shift (Neyman–Pearson), a test that knows what the shift is,
its direction and its size, and that the reference distribution is exactly
N(0, 1). No drift test knows any of that, so its power can only be lower.

* mean + δσ: the one-sided z-test of the mean with known variance,
  power = Φ(δ √n − z₁₋α) in closed form.
* normal → bimodal (½N(−0.8, 0.6²) + ½N(0.8, 0.6²), the matrix's shape change
  at equal mean and variance): the likelihood-ratio test of that mixture
  against N(0, 1), its null quantile and power by simulation.

Each cell also gives the chance that a test of that power flags the column in
at least 2 of 3 seeds (the matrix's rule): p³ + 3p²(1 − p).

For the bimodal batch a second bound is closer to what an omnibus test can
do: Neyman's smooth test on just the two components that carry the change
(the Legendre polynomials of order 2 and 4 of the reference's CDF; the odd
ones are zero for a symmetric change, and the higher even ones carry 1.7 of
its 14.3 units of χ² noncentrality at n = 200), χ² with 2 degrees of freedom,
its power from the noncentral χ². It knows where the change is but not its
direction or size. ModelWard's test must also guard location and skew, so it
pays more (it joins three p-values).

Run: ``python bench/bench_drift_bound.py`` (about 20 s; ``--draws`` to change
the simulation's size).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy import stats

CELLS = (("mean+0.1σ", 0.1, 500), ("mean+0.25σ", 0.25, 200), ("normal→bimodal", None, 200))
RATES = (0.004, 0.01)  # ModelWard's false alarms per column at n = 500; the ceiling


def bimodal_llr(x: np.ndarray) -> np.ndarray:
    alt = 0.5 * stats.norm.pdf(x, -0.8, 0.6) + 0.5 * stats.norm.pdf(x, 0.8, 0.6)
    return np.asarray(np.log(alt) - stats.norm.logpdf(x))


def bimodal_power(n: int, rates, draws: int, seed: int = 0) -> dict[float, float]:
    rng = np.random.default_rng(seed)
    null, alt = [], []
    for _ in range(draws // 1000):
        null.append(bimodal_llr(rng.normal(0, 1, (1000, n))).sum(1))
        side = np.where(rng.random((1000, n)) < 0.5, -0.8, 0.8)
        alt.append(bimodal_llr(side + rng.normal(0, 0.6, (1000, n))).sum(1))
    s0, s1 = np.concatenate(null), np.concatenate(alt)
    return {a: float(np.mean(s1 > np.quantile(s0, 1 - a))) for a in rates}


def bimodal_smooth_power(n: int, rates) -> dict[float, float]:
    """Power of the smooth test on components 2 and 4 (χ², 2 df) against the bimodal batch."""
    from numpy.polynomial import legendre
    from scipy import integrate

    def mean_component(j: int) -> float:
        c = np.zeros(j + 1)
        c[j] = 1.0

        def f(x: float) -> float:
            u = stats.norm.cdf(x)
            dens = 0.5 * stats.norm.pdf(x, -0.8, 0.6) + 0.5 * stats.norm.pdf(x, 0.8, 0.6)
            return float(np.sqrt(2 * j + 1) * legendre.legval(2 * u - 1, c) * dens)

        return float(integrate.quad(f, -12, 12, limit=200)[0])

    nc = n * sum(mean_component(j) ** 2 for j in (2, 4))
    return {a: float(stats.ncx2.sf(stats.chi2.isf(a, 2), 2, nc)) for a in rates}


def two_of_three(p: float) -> float:
    return p**3 + 3 * p**2 * (1 - p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=200_000)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    rows = []
    for kind, delta, n in CELLS:
        if delta is None:
            power = bimodal_power(n, RATES, args.draws)
        else:
            power = {
                a: float(stats.norm.cdf(delta * np.sqrt(n) - stats.norm.ppf(1 - a))) for a in RATES
            }
        rows.append({"shift": kind, "n": n, "power": power})
        if delta is None:
            rows.append(
                {
                    "shift": f"{kind}, smooth test of P2 and P4",
                    "n": n,
                    "power": bimodal_smooth_power(n, RATES),
                }
            )
    print("The best test of the one known shift (an upper bound for any drift test), per column:\n")
    head = " | ".join(f"power at {a:.1%} / P(≥ 2 of 3)" for a in RATES)
    print(f"| shift | n | {head} |")
    print("|---|---|" + "---|" * len(RATES))
    for r in rows:
        cells = " | ".join(
            f"{r['power'][a]:.2f} / {two_of_three(r['power'][a]):.2f}" for a in RATES
        )
        print(f"| {r['shift']} | {r['n']} | {cells} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
