"""The few distribution tails the drift check needs, in the standard library and NumPy.

``scipy.special`` costs about a second to import at the start of every
``drift`` and ``monitor`` process, and the check only needs the chi-square
upper tail and its inverse, the normal quantile and log-gamma. Each is
checked against SciPy in the tests (relative error below 1e-9).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

_LOG_TINY = -745.0  # exp() of anything lower is 0 in double precision


def _gamma_q(a: float, x: float) -> float:
    """Regularised upper incomplete gamma ``Q(a, x)`` (series or continued fraction)."""
    if x <= 0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        # P(a, x) by its series, Q = 1 - P
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    # Lentz's continued fraction for Q
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return math.exp(log_front) * h if log_front > _LOG_TINY else 0.0


def chi2_sf(df: float, x: float) -> float:
    """Upper tail ``P(χ²_df > x)`` (SciPy's ``chdtrc(df, x)``)."""
    if not math.isfinite(x):
        return 0.0 if x > 0 else 1.0
    if x <= 0:
        return 1.0
    return min(max(_gamma_q(df / 2.0, x / 2.0), 0.0), 1.0)


def chi2_isf(df: float, tail: float) -> float:
    """The ``x`` with ``P(χ²_df > x) = tail`` (SciPy's ``chdtri(df, tail)``)."""
    a = df / 2.0
    z = NormalDist().inv_cdf(1.0 - tail)
    # Wilson–Hilferty start, then Newton on log Q (the tail spans many decades)
    w = 1.0 - 2.0 / (9.0 * df) + z * math.sqrt(2.0 / (9.0 * df))
    x = max(df * w**3, 1e-8)
    target = math.log(tail)
    for _ in range(100):
        q = chi2_sf(df, x)
        if q <= 0:
            x /= 2.0
            continue
        # d/dx log Q(a, x/2) = -pdf(x) / Q, pdf of χ²_df at x
        log_pdf = (a - 1.0) * math.log(x / 2.0) - x / 2.0 - math.lgamma(a) - math.log(2.0)
        step = (math.log(q) - target) / (math.exp(log_pdf) / q)
        new = x + step
        if new <= 0:
            new = x / 2.0
        if abs(new - x) <= 1e-13 * max(x, 1.0):
            return new
        x = new
    return x


def norm_isf(tail: float) -> float:
    """The standard normal quantile with ``tail`` above it (SciPy's ``ndtri(1 - tail)``)."""
    return NormalDist().inv_cdf(1.0 - tail)


_LGAMMA = np.frompyfunc(math.lgamma, 1, 1)


def log_gamma(x: np.ndarray) -> np.ndarray:
    """``ln Γ(x)`` of every element (SciPy's ``gammaln`` for positive ``x``)."""
    out: np.ndarray = np.asarray(_LGAMMA(np.asarray(x, dtype=np.float64)), dtype=np.float64)
    return out
