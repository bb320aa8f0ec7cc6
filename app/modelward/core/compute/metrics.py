"""Predictions and the metrics and curves computed from them (scikit-learn's functions).

Metric names follow scikit-learn: ``accuracy``, ``balanced_accuracy``,
``roc_auc``, ``average_precision`` (the area under the precision-recall
curve), ``log_loss``, ``brier_score_loss``, ``f1`` (``f1_macro`` for more than
two classes), ``rmse``, ``mae``, ``r2``. A validation adds ``precision``,
``recall``, ``gini`` (2·AUC − 1) and ``ks`` (the Kolmogorov–Smirnov statistic),
lift and gains, score bands, the calibration test and percentile-bootstrap
intervals of every metric (:func:`validation_metrics`, :func:`credit_curves`,
:func:`bootstrap_intervals`), and :class:`ThresholdCurve` answers "what does
this decision threshold do" in O(log n).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelward.core.domain import HIGHER_IS_BETTER
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress

__all__ = [
    "DEFAULT_BOOT",
    "HIGHER_IS_BETTER",
    "Predictions",
    "ThresholdCurve",
    "ThresholdPoint",
    "bootstrap_intervals",
    "calibration_test",
    "credit_curves",
    "gains_table",
    "interval_method",
    "ks_statistic",
    "score_bands",
    "validation_metrics",
    "classification_curves",
    "compute_metrics",
    "predict",
    "primary_metric",
    "regression_curves",
]


_CHUNK = 200_000
_MAX_CURVE_POINTS = 400


@dataclass
class Predictions:
    """What a model said about a table: labels or values, and scores where it has them.

    ``proba`` has one column per class in ``classes`` (classifiers with
    ``predict_proba``); ``decision`` holds ``decision_function`` scores for
    binary classifiers without probabilities.
    """

    y_true: Any
    y_pred: Any
    task: str
    classes: Any = None
    proba: Any = None
    decision: Any = None

    @property
    def binary(self) -> bool:
        return self.task == "classification" and self.classes is not None and len(self.classes) == 2

    def positive_score(self) -> Any:
        """Score of the second (positive) class for binary tasks, else ``None``."""
        if not self.binary:
            return None
        if self.proba is not None:
            return self.proba[:, 1]
        return self.decision

    def to_frame(self) -> Any:
        """A DataFrame (row, y_true, y_pred, proba_<class>...) to store with a run."""
        import numpy as np  # deferred: start-up cost
        import pandas as pd  # deferred: start-up cost

        cols: dict[str, Any] = {
            "row": np.arange(1, len(self.y_pred) + 1, dtype=np.int64),
            "y_true": np.asarray(self.y_true),
            "y_pred": np.asarray(self.y_pred),
        }
        if self.proba is not None:
            for i, c in enumerate(self.classes):
                cols[f"proba_{c}"] = self.proba[:, i]
        if self.decision is not None:
            cols["decision"] = self.decision
        return pd.DataFrame(cols)

    @classmethod
    def from_frame(cls, df: Any, task: str, classes: Any = None) -> Predictions:
        """Read back :meth:`to_frame` output."""
        import numpy as np  # deferred: start-up cost

        proba = None
        if classes is not None and all(f"proba_{c}" in df.columns for c in classes):
            proba = np.column_stack([df[f"proba_{c}"].to_numpy() for c in classes])
        decision = df["decision"].to_numpy() if "decision" in df.columns else None
        return cls(
            y_true=df["y_true"].to_numpy(),
            y_pred=df["y_pred"].to_numpy(),
            task=task,
            classes=None if classes is None else np.asarray(classes),
            proba=proba,
            decision=decision,
        )


def predict(
    model: Any,
    X: Any,
    y_true: Any,
    task: str,
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> Predictions:
    """Score ``X`` in chunks (cancellable between chunks)."""
    import numpy as np  # deferred: start-up cost

    n = len(X)
    classes = getattr(model, "classes_", None) if task == "classification" else None
    has_proba = classes is not None and hasattr(model, "predict_proba")
    preds, probas, decisions = [], [], []
    for start in range(0, max(n, 1), _CHUNK):
        check(cancel)
        part = X.iloc[start : start + _CHUNK] if hasattr(X, "iloc") else X[start : start + _CHUNK]
        if has_proba:
            p = model.predict_proba(part)
            probas.append(p)
            preds.append(np.asarray(classes)[np.argmax(p, axis=1)])
        else:
            preds.append(model.predict(part))
            if classes is not None and len(classes) == 2 and hasattr(model, "decision_function"):
                decisions.append(np.asarray(model.decision_function(part), dtype=float))
        progress(min(start + _CHUNK, n) / max(n, 1), "scoring")
    return Predictions(
        y_true=np.asarray(y_true),
        y_pred=np.concatenate(preds) if preds else np.array([]),
        task=task,
        classes=None if classes is None else np.asarray(classes),
        proba=np.vstack(probas) if probas else None,
        decision=np.concatenate(decisions) if decisions else None,
    )


def primary_metric(task: str, n_classes: int = 2) -> str:
    """The metric a search optimises: ROC AUC (binary), balanced accuracy, or R²."""
    if task == "regression":
        return "r2"
    return "roc_auc" if n_classes == 2 else "balanced_accuracy"


def compute_metrics(p: Predictions) -> dict[str, float]:
    """All scalar metrics of ``p`` with scikit-learn's functions.

    Returns
    -------
    dict
        Classification: ``accuracy``, ``balanced_accuracy``, ``f1`` (binary) or
        ``f1_macro``, and with scores ``roc_auc``, ``average_precision``
        (binary), ``log_loss`` and ``brier_score_loss`` (with probabilities).
        Regression: ``rmse``, ``mae``, ``r2``.
    """
    import numpy as np  # deferred: start-up cost
    from sklearn import metrics as m  # deferred: start-up cost

    if p.task == "regression":
        y, yp = np.asarray(p.y_true, dtype=float), np.asarray(p.y_pred, dtype=float)
        return {
            "rmse": float(m.root_mean_squared_error(y, yp)),
            "mae": float(m.mean_absolute_error(y, yp)),
            "r2": float(m.r2_score(y, yp)) if len(y) > 1 else float("nan"),
        }
    classes = p.classes
    out = {
        "accuracy": float(m.accuracy_score(p.y_true, p.y_pred)),
        "balanced_accuracy": float(m.balanced_accuracy_score(p.y_true, p.y_pred)),
    }
    present = len(np.unique(p.y_true)) >= 2
    if p.binary:
        pos = classes[1]
        out["f1"] = float(m.f1_score(p.y_true, p.y_pred, pos_label=pos))
        score = p.positive_score()
        if score is not None and present:
            yb = np.asarray(p.y_true) == pos
            out["roc_auc"] = float(m.roc_auc_score(yb, score))
            out["average_precision"] = float(m.average_precision_score(yb, score))
    else:
        out["f1_macro"] = float(m.f1_score(p.y_true, p.y_pred, average="macro"))
        if p.proba is not None and present and set(np.unique(p.y_true)) == set(classes):
            out["roc_auc"] = float(
                m.roc_auc_score(p.y_true, p.proba, multi_class="ovr", labels=classes)
            )
    if p.proba is not None:
        out["log_loss"] = float(m.log_loss(p.y_true, p.proba, labels=classes))
        if p.binary:
            out["brier_score_loss"] = float(
                m.brier_score_loss(np.asarray(p.y_true) == classes[1], p.proba[:, 1])
            )
        else:
            out["brier_score_loss"] = float(m.brier_score_loss(p.y_true, p.proba, labels=classes))
    return out


def _thin(*arrays: Any) -> list[list[float]]:
    """At most ``_MAX_CURVE_POINTS`` points of a curve (first and last kept), as lists."""
    import numpy as np  # deferred: start-up cost

    n = len(arrays[0])
    if n > _MAX_CURVE_POINTS:
        idx = np.unique(np.linspace(0, n - 1, _MAX_CURVE_POINTS).round().astype(int))
        arrays = tuple(np.asarray(a)[idx] for a in arrays)
    return [[float(v) for v in a] for a in arrays]


def classification_curves(p: Predictions) -> dict[str, Any]:
    """Confusion matrix, and for binary tasks the ROC, PR and calibration curves.

    All values are plain lists, ready for JSON and for a chart.
    """
    import numpy as np  # deferred: start-up cost
    from sklearn import metrics as m  # deferred: start-up cost

    classes = p.classes
    out: dict[str, Any] = {
        "classes": [c.item() if hasattr(c, "item") else c for c in classes],
        "confusion_matrix": m.confusion_matrix(p.y_true, p.y_pred, labels=classes).tolist(),
    }
    score = p.positive_score()
    yb = np.asarray(p.y_true) == classes[1] if p.binary else None
    if score is not None and yb is not None and 0 < yb.sum() < len(yb):
        fpr, tpr, _ = m.roc_curve(yb, score)
        out["roc"] = dict(zip(("fpr", "tpr"), _thin(fpr, tpr), strict=True))
        prec, rec, _ = m.precision_recall_curve(yb, score)
        out["pr"] = dict(zip(("recall", "precision"), _thin(rec, prec), strict=True))
        if p.proba is not None:
            from sklearn.calibration import calibration_curve  # deferred: start-up cost

            frac, mean_pred = calibration_curve(yb, p.proba[:, 1], n_bins=10, strategy="quantile")
            out["calibration"] = {
                "mean_predicted": [float(v) for v in mean_pred],
                "fraction_positive": [float(v) for v in frac],
            }
    return out


def regression_curves(p: Predictions) -> dict[str, Any]:
    """Residuals: a histogram and a sample of (predicted, residual) points."""
    import numpy as np  # deferred: start-up cost

    y, yp = np.asarray(p.y_true, dtype=float), np.asarray(p.y_pred, dtype=float)
    res = y - yp
    counts, edges = np.histogram(res, bins=40)
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(res), size=min(len(res), 2000), replace=False))
    return {
        "residual_histogram": {"counts": counts.tolist(), "edges": edges.tolist()},
        "residuals": {"predicted": yp[idx].tolist(), "residual": res[idx].tolist()},
    }


def curves(p: Predictions) -> dict[str, Any]:
    """The charts' data for ``p`` (classification or regression)."""
    return regression_curves(p) if p.task == "regression" else classification_curves(p)


# --------------------------------------------------------------------------- credit-style validation
# Gini, KS, lift and gains, score bands, Hosmer–Lemeshow and ECE, thresholds and
# bootstrap intervals. Each is checked in the tests against an independent
# computation (scikit-learn, scipy.stats.ks_2samp, pandas.cut) on the same data.

DEFAULT_BOOT = 500
"""Bootstrap resamples of a validation's intervals."""
_BOOT_CELLS = 4_000_000  # rows × resamples per block of the bootstrap (32 MB of float64)
_GAIN_POINTS = 100


def _binary_target(p: Predictions) -> tuple[Any, Any] | None:
    """``(events, score)`` of a binary task (event: the second class), else ``None``."""
    import numpy as np  # deferred: start-up cost

    score = p.positive_score()
    if score is None:
        return None
    return np.asarray(p.y_true) == p.classes[1], np.asarray(score, dtype=float)


def ks_statistic(events: Any, score: Any) -> float:
    """The Kolmogorov–Smirnov statistic: the largest gap between the score's
    distributions among events and non-events (``scipy.stats.ks_2samp``'s statistic).

    Parameters
    ----------
    events
        Booleans, ``True`` for an event (the positive class).
    score
        The model's score (higher: more likely an event).
    """
    import numpy as np  # deferred: start-up cost

    y = np.asarray(events, dtype=bool)
    s = np.asarray(score, dtype=float)
    order = np.argsort(s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # the last row of each score
    pos = np.cumsum(y)[last] / max(int(y.sum()), 1)
    neg = np.cumsum(~y)[last] / max(int((~y).sum()), 1)
    return float(np.max(np.abs(pos - neg))) if len(s) else float("nan")


def gains_table(events: Any, score: Any, points: int = _GAIN_POINTS) -> dict[str, Any]:
    """Cumulative gains and lift: rows sorted by score, highest first.

    Returns
    -------
    dict
        ``gains`` (``fraction`` of the population, ``captured`` share of the
        events in it) and ``lift`` (``fraction``, ``lift`` = captured / fraction),
        at ``points`` evenly spaced fractions (the top 1 %, 2 %, …).
    """
    import numpy as np  # deferred: start-up cost

    y = np.asarray(events, dtype=bool)
    s = np.asarray(score, dtype=float)
    n, total = len(y), max(int(y.sum()), 1)
    order = np.argsort(-s, kind="stable")
    cum = np.cumsum(y[order])
    frac = np.arange(1, points + 1) / points
    k = np.maximum(np.ceil(frac * n).astype(int), 1)
    captured = cum[k - 1] / total
    lift = captured / (k / n)
    return {
        "gains": {"fraction": [0.0, *frac.tolist()], "captured": [0.0, *captured.tolist()]},
        "lift": {"fraction": frac.tolist(), "lift": lift.tolist()},
    }


def score_bands(
    events: Any, score: Any, edges: Any = None, bands: int = 10
) -> list[dict[str, Any]]:
    """The score-band table: population, events, event rate and cumulative capture per band.

    Parameters
    ----------
    events, score
        As for :func:`ks_statistic`.
    edges
        Band edges (increasing); by default the score's deciles (``bands``
        quantiles; tied edges merge). Each band holds ``low < score <= high``,
        the lowest also its ``low`` (as ``pandas.cut(..., include_lowest=True)``);
        the outer edges widen to hold every score.

    Returns
    -------
    list of dict
        Highest band first (the riskiest), each with ``band``, ``low``,
        ``high``, ``population``, ``events``, ``event_rate`` and ``cum_capture``
        (the share of all events in this band and those above it).
    """
    import numpy as np  # deferred: start-up cost

    y = np.asarray(events, dtype=bool)
    s = np.asarray(score, dtype=float)
    if edges is None:
        e = np.unique(np.quantile(s, np.linspace(0, 1, bands + 1)))
    else:
        e = np.asarray(sorted(float(x) for x in edges), dtype=float)
        if len(e) < 2 or len(np.unique(e)) != len(e):
            raise ValueError("band edges must be at least two different numbers")
        e[0], e[-1] = min(e[0], float(s.min())), max(e[-1], float(s.max()))
    if len(e) == 1:  # every row has the same score: one band
        e = np.array([e[0], e[0]])
    idx = np.clip(np.searchsorted(e, s, side="left") - 1, 0, len(e) - 2)
    pop = np.bincount(idx, minlength=len(e) - 1)
    ev = np.bincount(idx, weights=y, minlength=len(e) - 1).astype(np.int64)
    total = max(int(y.sum()), 1)
    out: list[dict[str, Any]] = []
    cum = 0
    for i in range(len(e) - 2, -1, -1):
        cum += int(ev[i])
        out.append(
            {
                "band": f"{e[i]:.4g}–{e[i + 1]:.4g}",
                "low": float(e[i]),
                "high": float(e[i + 1]),
                "population": int(pop[i]),
                "events": int(ev[i]),
                "event_rate": float(ev[i] / pop[i]) if pop[i] else 0.0,
                "cum_capture": cum / total,
            }
        )
    return out


def calibration_test(events: Any, proba: Any, groups: int = 10) -> dict[str, Any]:
    """Hosmer–Lemeshow over deciles of risk, and the expected calibration error.

    Hosmer–Lemeshow: rows in ``groups`` groups of (nearly) equal size by
    predicted probability; ``H = Σ (O − E)² / (E (1 − E/n))`` with ``df =
    groups − 2`` and the χ² p-value. ECE: ten equal-width probability bins,
    ``Σ n_b/n · |observed rate − mean probability|``.
    """
    import numpy as np  # deferred: start-up cost
    from scipy import stats  # deferred: start-up cost

    y = np.asarray(events, dtype=float)
    q = np.clip(np.asarray(proba, dtype=float), 0.0, 1.0)
    order = np.argsort(q, kind="stable")
    parts = [a for a in np.array_split(order, groups) if len(a)]
    hl = 0.0
    for a in parts:
        obs, exp, n = y[a].sum(), q[a].sum(), len(a)
        denom = exp * (1 - exp / n)
        if denom > 0:
            hl += (obs - exp) ** 2 / denom
    df = max(len(parts) - 2, 1)
    b = np.minimum((q * 10).astype(int), 9)
    cnt = np.bincount(b, minlength=10)
    gap = np.abs(np.bincount(b, weights=y, minlength=10) - np.bincount(b, weights=q, minlength=10))
    ece = float(gap.sum() / max(len(q), 1)) if cnt.sum() else float("nan")
    return {
        "hosmer_lemeshow": float(hl),
        "df": int(df),
        "p_value": float(stats.chi2.sf(hl, df)),
        "ece": ece,
    }


def validation_metrics(p: Predictions) -> dict[str, float]:
    """:func:`compute_metrics` and what a model validator reads first.

    Binary: ``gini`` (2·AUC − 1), ``ks`` (:func:`ks_statistic`), ``precision``
    and ``recall`` (of the second class). More than two classes:
    ``precision_macro``, ``recall_macro``, and ``gini`` and ``ks`` as the mean
    over the classes, each one against the rest (per class in
    :func:`credit_curves`).
    """
    import numpy as np  # deferred: start-up cost
    from sklearn import metrics as m  # deferred: start-up cost

    out = compute_metrics(p)
    if p.task == "regression":
        return out
    if p.binary:
        pos = p.classes[1]
        out["precision"] = float(
            m.precision_score(p.y_true, p.y_pred, pos_label=pos, zero_division=0)
        )
        out["recall"] = float(m.recall_score(p.y_true, p.y_pred, pos_label=pos, zero_division=0))
        bt = _binary_target(p)
        if bt is not None and "roc_auc" in out:
            out["gini"] = 2 * out["roc_auc"] - 1
            out["ks"] = ks_statistic(*bt)
    else:
        out["precision_macro"] = float(
            m.precision_score(p.y_true, p.y_pred, average="macro", zero_division=0)
        )
        out["recall_macro"] = float(
            m.recall_score(p.y_true, p.y_pred, average="macro", zero_division=0)
        )
        if "roc_auc" in out:
            per = _per_class(p)
            out["gini"] = float(np.mean([c["gini"] for c in per]))
            out["ks"] = float(np.mean([c["ks"] for c in per]))
    return out


def _per_class(p: Predictions) -> list[dict[str, Any]]:
    """Gini and KS of each class against the rest (more than two classes, with probabilities)."""
    import numpy as np  # deferred: start-up cost
    from sklearn import metrics as m  # deferred: start-up cost

    out = []
    y = np.asarray(p.y_true)
    for j, c in enumerate(p.classes):
        yb = y == c
        if 0 < yb.sum() < len(yb):
            auc = float(m.roc_auc_score(yb, p.proba[:, j]))
            out.append(
                {
                    "class": c.item() if hasattr(c, "item") else c,
                    "gini": 2 * auc - 1,
                    "ks": ks_statistic(yb, p.proba[:, j]),
                }
            )
    return out


def credit_curves(p: Predictions, *, band_edges: Any = None) -> dict[str, Any]:
    """Lift, gains, score bands and the calibration test (binary); Gini/KS per class (multi-class)."""
    if p.task == "regression":
        return {}
    if not p.binary:
        return {"per_class": _per_class(p)} if p.proba is not None else {}
    bt = _binary_target(p)
    if bt is None or not 0 < bt[0].sum() < len(bt[0]):
        return {}
    out: dict[str, Any] = gains_table(*bt)
    out["bands"] = score_bands(*bt, edges=band_edges)
    if p.proba is not None:
        out["calibration_test"] = calibration_test(bt[0], p.proba[:, 1])
    return out


# ---------------------------------------------------------------- the bootstrap
def _rank_stats(ws: Any, starts: Any, ev: Any) -> dict[str, Any]:
    """AUC, KS and average precision of each resample (rows of counts ``ws``).

    ``ws`` counts the rows in the order of their score (ascending), ``ev``
    are the events in that order, ``starts`` the first row of each distinct
    score (``None``: no ties, every row its own score).
    """
    import numpy as np  # deferred: start-up cost

    pos = ws * ev
    neg = ws - pos
    if starts is not None:
        pos = np.add.reduceat(pos, starts, axis=1)
        neg = np.add.reduceat(neg, starts, axis=1)
    cp, cn = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
    tp_, tn_ = cp[:, -1:], cn[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (pos * (cn - 0.5 * neg)).sum(axis=1) / (tp_[:, 0] * tn_[:, 0])
        ks = np.max(np.abs(cp / tp_ - cn / tn_), axis=1)
        tp = tp_ - (cp - pos)  # events at or above each score
        fp = tn_ - (cn - neg)
        ap = (pos / tp_ * np.where(tp + fp > 0, tp / (tp + fp), 0.0)).sum(axis=1)
    bad = (tp_[:, 0] == 0) | (tn_[:, 0] == 0)
    for a in (auc, ks, ap):
        a[bad] = np.nan
    return {"auc": auc, "ks": ks, "ap": ap}


def _ranker(score: Any, events: Any) -> tuple[Any, Any, Any]:
    """``(order, starts, events)``: the sort of one score that :func:`_rank_stats` reads."""
    import numpy as np  # deferred: start-up cost

    order = np.argsort(score, kind="stable")
    s = np.asarray(score)[order]
    starts = np.r_[0, np.flatnonzero(np.diff(s) != 0) + 1]
    return order, (None if len(starts) == len(s) else starts), np.asarray(events, float)[order]


def bootstrap_intervals(
    p: Predictions,
    metrics: dict[str, float],
    *,
    n_boot: int = DEFAULT_BOOT,
    seed: int = 0,
    alpha: float = 0.05,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, list[float]]:
    """Percentile bootstrap intervals of every metric in ``metrics`` that has one.

    Resample ``b`` takes the rows ``numpy.random.default_rng(seed).integers(0, n, n)``
    (the ``b``-th draw of that generator), so the interval equals computing
    each metric with scikit-learn on ``y[idx]`` ``n_boot`` times and taking the
    ``alpha/2`` and ``1 − alpha/2`` percentiles (``numpy.nanpercentile``; a
    resample without an event has no AUC). The work is vectorised: each block
    of resamples is a matrix of row counts; sums become one matrix product,
    and the rank metrics (AUC, Gini, KS, average precision) reuse one sort of
    the scores.

    Returns
    -------
    dict
        ``{metric: [low, high]}``.
    """
    import numpy as np  # deferred: start-up cost

    n = len(p.y_true)
    if n == 0 or n_boot < 1:
        return {}
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    rankers: list[tuple[Any, Any, Any]] = []
    y = np.asarray(p.y_true)
    if p.task == "regression":
        yt, yp = y.astype(float), np.asarray(p.y_pred, dtype=float)
        e = yt - yp
        cols.update(se=e * e, ae=np.abs(e), y=yt, y2=yt * yt)
    else:
        classes = list(p.classes)
        pred = np.asarray(p.y_pred)
        cols["correct"] = (pred == y).astype(float)
        for j, c in enumerate(classes):
            cols[f"tp{j}"] = ((y == c) & (pred == c)).astype(float)
            cols[f"pp{j}"] = (pred == c).astype(float)
            cols[f"ap{j}"] = (y == c).astype(float)
        if p.proba is not None:
            pr = np.asarray(p.proba, dtype=float)
            onehot = y[:, None] == np.asarray(classes)[None, :]
            eps = np.finfo(pr.dtype).eps
            picked = np.clip(pr[np.arange(n), onehot.argmax(axis=1)], eps, 1 - eps)
            cols["ll"] = -np.log(picked)
            if p.binary:
                cols["brier"] = (pr[:, 1] - onehot[:, 1]) ** 2
            else:
                cols["brier"] = ((pr - onehot) ** 2).sum(axis=1)
        if p.binary:
            bt = _binary_target(p)
            if bt is not None:
                rankers.append(_ranker(bt[1], bt[0]))
        elif p.proba is not None:
            for j, c in enumerate(classes):
                rankers.append(_ranker(np.asarray(p.proba)[:, j], y == c))
    names = list(cols)
    mat = np.column_stack([cols[k] for k in names])
    # The rows are counted in the order of the first score: its resamples need
    # no reordering (a scatter into sorted positions costs what a count does).
    inv = None
    rel: list[Any] = []
    if rankers:
        base = rankers[0][0]
        inv = np.empty(n, dtype=np.intp)
        inv[base] = np.arange(n)
        mat = mat[base]
        rel = [None, *(inv[o] for o, _, _ in rankers[1:])]
    block = max(1, min(n_boot, _BOOT_CELLS // max(n, 1)))
    sums: list[Any] = []
    ranks: list[list[dict[str, Any]]] = []
    done = 0
    while done < n_boot:
        check(cancel)
        b = min(block, n_boot - done)
        idx = rng.integers(0, n, size=(b, n))
        at = inv[idx] if inv is not None else idx
        at += (np.arange(b, dtype=np.intp) * n)[:, None]
        w = np.bincount(at.ravel(), minlength=b * n).reshape(b, n).astype(float)
        del idx, at
        sums.append(w @ mat)
        ranks.append(
            [
                _rank_stats(w if r is None else w[:, r], st, ev)
                for r, (_, st, ev) in zip(rel, rankers, strict=True)
            ]
            if rankers
            else []
        )
        done += b
        progress(done / n_boot, "bootstrap intervals")
    s = dict(zip(names, np.vstack(sums).T, strict=True))
    reps: dict[str, Any] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        if p.task == "regression":
            reps["rmse"] = np.sqrt(s["se"] / n)
            reps["mae"] = s["ae"] / n
            sst = s["y2"] - s["y"] ** 2 / n
            r2 = 1 - s["se"] / sst
            reps["r2"] = np.where(sst > 0, r2, np.nan)
        else:
            k = len(p.classes)
            tp = np.column_stack([s[f"tp{j}"] for j in range(k)])
            pp = np.column_stack([s[f"pp{j}"] for j in range(k)])
            ap = np.column_stack([s[f"ap{j}"] for j in range(k)])
            prec = np.where(pp > 0, tp / pp, 0.0)
            rec = np.where(ap > 0, tp / ap, 0.0)
            f1 = np.where(pp + ap > 0, 2 * tp / (pp + ap), 0.0)
            present = (pp + ap) > 0
            reps["accuracy"] = s["correct"] / n
            reps["balanced_accuracy"] = np.nanmean(np.where(ap > 0, rec, np.nan), axis=1)
            if p.binary:
                reps["precision"], reps["recall"], reps["f1"] = prec[:, 1], rec[:, 1], f1[:, 1]
            else:
                cnt = present.sum(axis=1)
                reps["precision_macro"] = (prec * present).sum(axis=1) / cnt
                reps["recall_macro"] = (rec * present).sum(axis=1) / cnt
                reps["f1_macro"] = (f1 * present).sum(axis=1) / cnt
            if "ll" in s:
                reps["log_loss"] = s["ll"] / n
                reps["brier_score_loss"] = s["brier"] / n
            if rankers:
                per = [
                    {
                        key: np.concatenate([blk[j][key] for blk in ranks])
                        for key in ("auc", "ks", "ap")
                    }
                    for j in range(len(rankers))
                ]
                if p.binary:
                    reps["roc_auc"] = per[0]["auc"]
                    reps["gini"] = 2 * per[0]["auc"] - 1
                    reps["ks"] = per[0]["ks"]
                    reps["average_precision"] = per[0]["ap"]
                else:
                    auc = np.column_stack([c["auc"] for c in per])
                    reps["roc_auc"] = auc.mean(axis=1)  # nan when a class is missing
                    reps["gini"] = (2 * auc - 1).mean(axis=1)
                    reps["ks"] = np.column_stack([c["ks"] for c in per]).mean(axis=1)
    out: dict[str, list[float]] = {}
    for key in metrics:
        r = reps.get(key)
        if r is None or not np.isfinite(r).any():
            continue
        lo, hi = np.nanpercentile(r, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        out[key] = [float(lo), float(hi)]
    return out


def interval_method(n_boot: int, seed: int, alpha: float = 0.05) -> str:
    """How :func:`bootstrap_intervals` made its intervals, in words (stored with them)."""
    return f"percentile bootstrap, {1 - alpha:.0%}, B={n_boot}, seed={seed}"


# ---------------------------------------------------------------- thresholds
@dataclass(frozen=True)
class ThresholdPoint:
    """What a decision threshold does on a validation's rows.

    A row is decided positive (the second class, the event) when its score is
    at or above ``threshold``, as ``score`` decides. ``approval_rate`` is the
    share decided negative (below the threshold: in credit, the applicants
    approved). ``expected_cost`` is ``cost_fp · FP + cost_fn · FN`` over the
    rows, ``cost_per_row`` that over the number of rows.
    """

    threshold: float
    tn: int
    fp: int
    fn: int
    tp: int
    precision: float
    recall: float
    approval_rate: float
    expected_cost: float
    cost_per_row: float
    cost_fp: float = 1.0
    cost_fn: float = 1.0

    @property
    def confusion_matrix(self) -> list[list[int]]:
        """``[[TN, FP], [FN, TP]]`` (rows: true class, columns: decided), as scikit-learn's."""
        return [[self.tn, self.fp], [self.fn, self.tp]]

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "confusion_matrix": self.confusion_matrix,
            "precision": self.precision,
            "recall": self.recall,
            "approval_rate": self.approval_rate,
            "expected_cost": self.expected_cost,
            "cost_per_row": self.cost_per_row,
            "cost_fp": self.cost_fp,
            "cost_fn": self.cost_fn,
        }


class ThresholdCurve:
    """A binary validation's scores sorted once, so any threshold is a binary search.

    Parameters
    ----------
    events
        Booleans, ``True`` for an event (the second class).
    score
        The score the threshold applies to (the probability of the second class).
    """

    def __init__(self, events: Any, score: Any):
        import numpy as np  # deferred: start-up cost

        s = np.asarray(score, dtype=float)
        order = np.argsort(s, kind="stable")
        self.scores = s[order]
        # events at or above sorted position i: total − events below i
        below = np.r_[0, np.cumsum(np.asarray(events, dtype=bool)[order])]
        self._events_below = below
        self.n = len(s)
        self.events = int(below[-1])

    @classmethod
    def from_predictions(cls, p: Predictions) -> ThresholdCurve:
        """The curve of a binary validation's predictions (refused otherwise)."""
        bt = _binary_target(p)
        if bt is None:
            raise ValueError("a decision threshold applies to a binary classifier")
        return cls(*bt)

    def at(self, threshold: float, cost_fp: float = 1.0, cost_fn: float = 1.0) -> ThresholdPoint:
        """The confusion matrix and the rates at ``threshold`` (O(log n))."""
        import numpy as np  # deferred: start-up cost

        i = int(np.searchsorted(self.scores, threshold, side="left"))  # rows below
        tp = self.events - int(self._events_below[i])
        decided_pos = self.n - i
        fp = decided_pos - tp
        fn = self.events - tp
        tn = self.n - tp - fp - fn
        cost = cost_fp * fp + cost_fn * fn
        return ThresholdPoint(
            threshold=float(threshold),
            tn=tn,
            fp=fp,
            fn=fn,
            tp=tp,
            precision=tp / decided_pos if decided_pos else 0.0,
            recall=tp / self.events if self.events else 0.0,
            approval_rate=i / self.n if self.n else 0.0,
            expected_cost=float(cost),
            cost_per_row=float(cost / self.n) if self.n else 0.0,
            cost_fp=float(cost_fp),
            cost_fn=float(cost_fn),
        )
