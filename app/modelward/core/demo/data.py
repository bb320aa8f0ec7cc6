"""The demo's synthetic credit-risk data: the same rows on every machine, no download."""

from __future__ import annotations

from typing import Any

__all__ = ["DEMO_MODEL", "FEATURES", "credit_data"]

DEMO_MODEL = "credit-risk"
FEATURES = (
    "age",
    "income",
    "debt_ratio",
    "credit_lines",
    "late_payments",
    "utilisation",
    "months_employed",
    "loan_amount",
)


def credit_data(n: int = 4000, seed: int = 7) -> tuple[Any, Any]:
    """A synthetic credit-risk table: ``X`` (n × 8 floats, :data:`FEATURES`) and ``y`` (default 0/1).

    Default risk rises with debt ratio, late payments and utilisation and falls
    with income, age and time in employment, through a logistic link.
    """
    import numpy as np  # deferred: start-up cost

    rng = np.random.default_rng(seed)
    age = rng.uniform(21, 75, n)
    income = rng.lognormal(10.6, 0.45, n)
    debt_ratio = rng.beta(2, 5, n)
    credit_lines = rng.poisson(4, n).astype(float)
    late = rng.poisson(0.6, n).astype(float)
    util = rng.beta(2, 3, n)
    employed = rng.gamma(2.0, 30.0, n)
    loan = rng.lognormal(9.2, 0.7, n)
    z = (
        -2.2
        + 3.0 * debt_ratio
        + 0.9 * late
        + 2.2 * util
        - 0.6 * (np.log(income) - 10.6)
        - 0.02 * (age - 45)
        - 0.006 * employed
        + 0.25 * (np.log(loan) - 9.2)
        + 0.15 * np.sin(credit_lines)
    )
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int)
    X = np.column_stack([age, income, debt_ratio, credit_lines, late, util, employed, loan])
    return X, y
