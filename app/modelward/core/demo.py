""" "Create demo workspace": a small credit-risk registry to explore in seconds.

A synthetic credit-risk data set is generated with NumPy (no download, same
data on every machine), two scikit-learn models are trained on it and logged
through :func:`modelward.api.log_model` with their hold-out metrics, and the
better one becomes ``credit-risk@champion``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelward.core.progress import CancelToken, ProgressFn, check, no_progress

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = ["DEMO_MODEL", "FEATURES", "DemoResult", "create_demo_workspace", "credit_data"]

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


@dataclass(frozen=True)
class DemoResult:
    """The refs the demo created and which one is the champion."""

    refs: tuple[str, ...]
    champion: str


def credit_data(n: int = 4000, seed: int = 7) -> tuple[Any, Any]:
    """A synthetic credit-risk table: ``X`` (n × 8 floats, :data:`FEATURES`) and ``y`` (default 0/1).

    Default risk rises with debt ratio, late payments and utilisation and falls
    with income, age and time in employment, through a logistic link.
    """
    import numpy as np

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


def _metrics(model: Any, X: Any, y: Any) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    proba = model.predict_proba(X)[:, 1]
    pred = (proba >= 0.5).astype(int)
    return {
        "roc_auc": round(float(roc_auc_score(y, proba)), 4),
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "f1": round(float(f1_score(y, pred, zero_division=0)), 4),
    }


def create_demo_workspace(
    registry: Registry,
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> DemoResult:
    """Train and register the demo models in ``registry``.

    Parameters
    ----------
    registry
        Where to register (usually an empty one).
    progress, cancel
        The usual progress callback and cancel token (checked between models).

    Returns
    -------
    DemoResult
        The refs of the two versions and the champion's ref.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from modelward import api

    progress(0.02, "generating credit data")
    X, y = credit_data()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    candidates = [
        (
            "logistic regression",
            make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500)),
        ),
        (
            "gradient boosting",
            HistGradientBoostingClassifier(max_iter=80, learning_rate=0.1, random_state=0),
        ),
    ]
    refs: list[str] = []
    scores: list[float] = []
    for i, (label, est) in enumerate(candidates):
        check(cancel)
        lo, hi = 0.05 + 0.45 * i, 0.05 + 0.45 * (i + 1)
        progress(lo, f"training {label}")
        est.fit(X_tr, y_tr)
        metrics = _metrics(est, X_te, y_te)
        check(cancel)
        progress(lo + 0.7 * (hi - lo), f"registering {label}")
        v = api.log_model(
            est,
            DEMO_MODEL,
            X=X_tr,
            y=y_tr,
            metrics=metrics,
            registry=registry,
            tags={"demo": "true", "features": ",".join(FEATURES)},
            description="Probability of default on a synthetic credit book (demo)",
        )
        refs.append(v.ref)
        scores.append(metrics["roc_auc"])
    best = refs[max(range(len(refs)), key=lambda k: scores[k])]
    progress(0.97, "setting the champion")
    registry.set_alias(best, "champion", "demo workspace: best hold-out ROC AUC")
    progress(1.0, "demo workspace ready")
    return DemoResult(tuple(refs), best)
