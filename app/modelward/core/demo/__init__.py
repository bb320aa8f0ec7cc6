""" "Create demo workspace": a small credit-risk registry to explore in seconds.

A synthetic credit-risk data set is generated with NumPy (no download, same
data on every machine), two scikit-learn models are trained on it and logged
as :func:`modelward.api.log_model` does with their hold-out metrics, and the
better one becomes ``credit-risk@champion``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelward.core.compute.validation import validate
from modelward.core.demo.data import DEMO_MODEL, FEATURES, credit_data
from modelward.core.demo.monitoring import add_monitoring_demo
from modelward.core.demo.policy_loop import run_demo_loop
from modelward.core.errors import NotFound
from modelward.core.intake.estimator import log_estimator
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress, sub_progress

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = ["DEMO_MODEL", "FEATURES", "DemoResult", "create_demo_workspace", "credit_data"]


@dataclass(frozen=True)
class DemoResult:
    """The refs the demo created and which one is the champion."""

    refs: tuple[str, ...]
    champion: str


def _metrics(model: Any, X: Any, y: Any) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score  # deferred: start-up cost

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
    import pandas as pd  # deferred: start-up cost
    from sklearn.ensemble import HistGradientBoostingClassifier  # deferred: start-up cost
    from sklearn.linear_model import LogisticRegression  # deferred: start-up cost
    from sklearn.model_selection import train_test_split  # deferred: start-up cost
    from sklearn.pipeline import make_pipeline  # deferred: start-up cost
    from sklearn.preprocessing import StandardScaler  # deferred: start-up cost

    progress(0.02, "generating credit data")
    X, y = credit_data()
    # named columns: the versions record their features, so they can be validated
    X = pd.DataFrame(X, columns=list(FEATURES))
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
        v = log_estimator(
            registry,
            est,
            DEMO_MODEL,
            X=X_tr,
            y=y_tr,
            metrics=metrics,
            tags={"demo": "true", "features": ",".join(FEATURES)},
            description="Probability of default on a synthetic credit book (demo)",
        )
        refs.append(v.ref)
        scores.append(metrics["roc_auc"])
    best = refs[max(range(len(refs)), key=lambda k: scores[k])]
    progress(0.97, "setting the champion")
    registry.set_alias(best, "champion", "demo workspace: best hold-out ROC AUC")
    check(cancel)
    progress(0.98, "validating the champion on the hold-out")
    # a stored validation fills the champion's model card (metrics, curves, intervals)
    holdout = registry.home / "demo" / "credit-holdout.csv"
    holdout.parent.mkdir(parents=True, exist_ok=True)
    X_te.assign(default=y_te).to_csv(holdout, index=False)
    validate(registry, best, str(holdout), target="default", cancel=cancel)
    progress(1.0, "demo workspace ready")
    return DemoResult(tuple(refs), best)


@dataclass(frozen=True)
class FullDemo:
    """What :func:`build_full_demo` did; each part is skipped when already there."""

    champion: str
    created_models: bool
    monitored_batches: int
    loop: str | None  # "credit-loop: 1 -> 2 (approved by …)", or None when already run

    def lines(self) -> list[str]:
        out = [f"champion {self.champion}"]
        out.append(
            f"{self.monitored_batches} monthly batches checked for drift and performance"
            if self.monitored_batches
            else "monthly batches already checked"
        )
        out.append(self.loop or "closed loop already shown")
        return out


def build_full_demo(
    registry: Registry,
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> FullDemo:
    """The whole demo workspace: models and champion, twelve monitored months, one closed loop.

    Safe to run again on the same registry: what exists is kept.
    """

    try:
        champion = registry.resolve(f"{DEMO_MODEL}@champion").ref
        created = False
    except NotFound:
        champion = create_demo_workspace(
            registry, progress=sub_progress(progress, 0.0, 0.15), cancel=cancel
        ).champion
        created = True
    check(cancel)
    already = registry.audit_events(limit=1, action="monitor.checked", entity_prefix=DEMO_MODEL)
    batches = 0
    if not already:
        batches = len(
            add_monitoring_demo(
                registry, progress=sub_progress(progress, 0.15, 0.65), cancel=cancel
            )
        )
    check(cancel)
    loop_text = None
    try:
        registry.resolve("credit-loop@champion")
    except NotFound:
        res = run_demo_loop(registry, progress=sub_progress(progress, 0.65, 1.0), cancel=cancel)
        who = f" (approved by {res.approval.decided_by})" if res.approval else ""
        loop_text = (
            f"closed loop: drift -> alert -> retrain -> approval -> promotion, "
            f"{res.champion_before} -> {res.champion_after}{who}"
        )
    progress(1.0, "demo workspace ready")
    return FullDemo(champion, created, batches, loop_text)
