"""Performance over time: realized where labels exist, estimated where they don't.

The metric set follows the model's kind (see :class:`ModelKind`), decided once
when the reference is profiled and stored in the profile:

* **binary** classifiers: ROC AUC, accuracy, precision, recall and F1, with
  the positive class the model's ``classes_[1]`` and the score the
  probability of that class. Estimation without labels is confidence-based
  performance estimation (CBPE): the scores are calibrated on the reference
  (isotonic regression of the label on the score), and a batch's expected
  confusion matrix is the sum of the calibrated probabilities over the rows
  predicted positive and negative. ROC AUC is estimated from the expected
  true- and false-positive rates along the sorted scores.
* **multiclass** classifiers: accuracy, balanced accuracy, macro and
  weighted F1, the recall of each class (``recall[<class>]``) and log loss
  (over the model's ``classes_``). Without labels only accuracy is
  estimated: the expected share of correct rows, the mean top-class
  probability after calibrating it on the reference (raw when the reference
  had no labels). Nothing else has an estimate.
* **regression**: RMSE, MAE, R² and MAPE (only when no true value is 0).
  Without labels, MAE and RMSE are estimated by direct loss estimation on
  the prediction: the reference's mean absolute and squared error per band
  of predicted values, averaged over the batch's predictions.

Every estimate is unbiased only while the relation between inputs and
outcome is unchanged (covariate shift); none can see concept drift, which is
why late labels replace them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelward.core.domain import HIGHER_IS_BETTER
from modelward.core.labels import (  # the label rules, shared with the prediction log
    BINARY,
    KINDS,
    METRICS,
    METRICS_BY_KIND,
    MULTICLASS,
    PRIMARY_METRIC,
    REGRESSION,
    ModelKind,
    check_labels,
    encode_labels,
    kind_of,
)

__all__ = [
    "BINARY",
    "KINDS",
    "METRICS",
    "METRICS_BY_KIND",
    "MULTICLASS",
    "PRIMARY_METRIC",
    "REGRESSION",
    "ModelKind",
    "check_labels",
    "encode_labels",
    "kind_of",
]

#: Metrics where a larger value is worse (every other monitored metric: larger is better).
LOWER_IS_BETTER = frozenset({"rmse", "mae", "mape", "log_loss", "brier_score_loss"})
LOSS_BANDS = 20


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better (``recall[<class>]`` included).

    The policy engine reads this to decide whether a trigger fires below or
    above its threshold (an RMSE of 3 is "below 2.5" worse, not better).
    """
    return HIGHER_IS_BETTER.get(metric, metric not in LOWER_IS_BETTER)


# --------------------------------------------------------------------------- realized
def realized_metrics(
    y: np.ndarray,
    score: np.ndarray,
    threshold: float = 0.5,
    *,
    kind: ModelKind | None = None,
    proba: np.ndarray | None = None,
) -> dict[str, float]:
    """Realized metrics of one kind on the rows that have both a label and a score.

    Parameters
    ----------
    y
        Labels as :func:`encode_labels` gives them.
    score
        Binary: the positive class's probability; multiclass: the predicted
        class index; regression: the prediction.
    threshold
        Binary decision threshold.
    kind
        The model's kind (default: binary).
    proba
        Multiclass class probabilities (rows × classes), for log loss.
    """
    kind = kind or ModelKind(BINARY)
    y = np.asarray(y, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    ok = ~np.isnan(y) & ~np.isnan(score)
    if not ok.any():
        return {}
    if kind.kind == REGRESSION:
        return _regression(y[ok], score[ok])
    if kind.kind == MULTICLASS:
        return _multiclass(y[ok], score[ok], None if proba is None else proba[ok], kind)
    return _binary(y[ok], score[ok], threshold)


def _binary(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    pred = (score >= threshold).astype(np.float64)
    out = {
        "accuracy": float(accuracy_score(y, pred)),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "f1": float(f1_score(y, pred, zero_division=0)),
    }
    if 0 < y.sum() < y.size:
        out["roc_auc"] = float(roc_auc_score(y, score))
    return out


def _multiclass(
    y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, kind: ModelKind
) -> dict[str, float]:
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        f1_score,
        log_loss,
        recall_score,
    )

    yi, pi = y.astype(np.int64), pred.astype(np.int64)
    out = {
        "accuracy": float(accuracy_score(yi, pi)),
        "balanced_accuracy": float(balanced_accuracy_score(yi, pi)),
        "f1_macro": float(f1_score(yi, pi, average="macro", zero_division=0)),
        "f1_weighted": float(f1_score(yi, pi, average="weighted", zero_division=0)),
    }
    present = [k for k in range(len(kind.classes)) if (yi == k).any()]
    if present:
        rec = recall_score(yi, pi, labels=present, average=None, zero_division=0)
        for k, r in zip(present, np.atleast_1d(rec).tolist(), strict=True):
            out[f"recall[{kind.classes[k]}]"] = float(r)
    known = yi >= 0
    if proba is not None and known.any():
        out["log_loss"] = float(
            log_loss(yi[known], proba[known], labels=list(range(len(kind.classes))))
        )
    return out


def _regression(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import (
        mean_absolute_error,
        mean_absolute_percentage_error,
        r2_score,
        root_mean_squared_error,
    )

    out = {
        "rmse": float(root_mean_squared_error(y, pred)),
        "mae": float(mean_absolute_error(y, pred)),
    }
    if y.size > 1:
        out["r2"] = float(r2_score(y, pred))
    if not (y == 0).any():
        out["mape"] = float(mean_absolute_percentage_error(y, pred))
    return out


def realized_notes(y: np.ndarray, score: np.ndarray, kind: ModelKind, has_proba: bool) -> list[str]:
    """Why a metric of the kind is missing from :func:`realized_metrics` (plain sentences)."""
    y = np.asarray(y, dtype=np.float64)
    ok = ~np.isnan(y) & ~np.isnan(np.asarray(score, dtype=np.float64))
    y = y[ok]
    notes = []
    if y.size == 0:
        return ["no labelled row: no realized performance"]
    if kind.kind == REGRESSION:
        zeros = int((y == 0).sum())
        if zeros:
            notes.append(f"MAPE is not defined: {zeros} true value(s) are 0")
        if y.size < 2:
            notes.append("R² is not defined for a single row")
    elif kind.kind == MULTICLASS:
        unseen = int((y < 0).sum())
        if unseen:
            notes.append(
                f"{unseen} row(s) carry a label the model never saw: counted as errors, "
                "left out of log loss"
            )
        if not has_proba:
            notes.append("log loss is not computed: the model gives no class probabilities")
    elif not 0 < y.sum() < y.size:
        notes.append("ROC AUC is not defined: the labels hold one class only")
    return notes


# --------------------------------------------------------------------------- estimated
def calibrate(score: np.ndarray, y: np.ndarray) -> dict[str, list[float]]:
    """An isotonic map from score to probability, as interpolation knots."""
    from sklearn.isotonic import IsotonicRegression  # deferred: start-up cost

    ok = ~np.isnan(y) & ~np.isnan(score)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(score[ok], y[ok])
    return {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}


def estimate_metrics(
    score: np.ndarray, calibration: Mapping[str, Any], threshold: float = 0.5
) -> dict[str, float]:
    """CBPE (binary): expected metrics of unlabelled rows from their calibrated scores."""
    s = score[~np.isnan(score)]
    if s.size == 0:
        return {}
    p = np.interp(s, calibration["x"], calibration["y"])
    pos = s >= threshold
    tp, fp = p[pos].sum(), (1 - p[pos]).sum()
    fn, tn = p[~pos].sum(), (1 - p[~pos]).sum()
    out = {
        "accuracy": float((tp + tn) / s.size),
        "precision": float(tp / (tp + fp)) if tp + fp > 0 else 0.0,
        "recall": float(tp / (tp + fn)) if tp + fn > 0 else 0.0,
    }
    pr, rc = out["precision"], out["recall"]
    out["f1"] = 2 * pr * rc / (pr + rc) if pr + rc > 0 else 0.0
    order = np.argsort(-s, kind="stable")
    ps = p[order]
    tpr = np.concatenate([[0.0], np.cumsum(ps)]) / max(ps.sum(), 1e-12)
    fpr = np.concatenate([[0.0], np.cumsum(1 - ps)]) / max((1 - ps).sum(), 1e-12)
    out["roc_auc"] = float(np.trapezoid(tpr, fpr))
    return out


def estimate_for(
    kind: ModelKind,
    score: np.ndarray,
    proba: np.ndarray | None,
    info: Mapping[str, Any],
    threshold: float = 0.5,
) -> tuple[dict[str, float], str]:
    """Estimated metrics of an unlabelled batch and a sentence saying how (or why not).

    Parameters
    ----------
    kind
        The model's kind.
    score
        The stored per-row score (see :func:`realized_metrics`).
    proba
        Multiclass class probabilities (rows × classes), or ``None``.
    info
        The profile's model information (:func:`reference_model_info`).
    """
    score = np.asarray(score, dtype=np.float64)
    if kind.kind == BINARY:
        if not info.get("calibration"):
            return {}, "no estimate: profile the reference with its labels (--target) to estimate"
        return (
            estimate_metrics(score, info["calibration"], threshold),
            "estimated by CBPE (scores calibrated on the reference)",
        )
    if kind.kind == MULTICLASS:
        if proba is None or not len(proba):
            return {}, "no estimate: the model gives no class probabilities"
        top = proba.max(axis=1)
        top = top[np.isfinite(top)]
        if not top.size:
            return {}, "no estimate: no scored row"
        cal = info.get("confidence_calibration")
        if cal:
            exp = np.interp(top, cal["x"], cal["y"])
            how = "mean top-class probability, calibrated on the reference"
        else:
            exp = top
            how = "mean top-class probability, uncalibrated (the reference had no labels)"
        return (
            {"accuracy": float(exp.mean())},
            f"estimated accuracy is the confidence-based expected accuracy ({how}); "
            "other metrics: no estimate",
        )
    loss = info.get("loss_bands")
    s = score[np.isfinite(score)]
    if not loss or not s.size:
        return {}, "no estimate without labels (profile the reference with --target to estimate)"
    band = np.searchsorted(np.asarray(loss["edges"], dtype=np.float64), s, side="right")
    mae = float(np.asarray(loss["abs"], dtype=np.float64)[band].mean())
    mse = float(np.asarray(loss["sq"], dtype=np.float64)[band].mean())
    return (
        {"mae": mae, "rmse": math.sqrt(mse)},
        "estimated MAE and RMSE by direct loss estimation (the reference's error per band of "
        "predicted values); R² and MAPE: no estimate",
    )


def _loss_bands(pred: np.ndarray, y: np.ndarray) -> dict[str, list[float]] | None:
    ok = np.isfinite(pred) & np.isfinite(y)
    p, err = pred[ok], (pred - y)[ok]
    if p.size < 2 * LOSS_BANDS:
        return None
    edges = np.unique(np.quantile(p, np.linspace(0, 1, LOSS_BANDS + 1)[1:-1]))
    band = np.searchsorted(edges, p, side="right")
    n = np.bincount(band, minlength=len(edges) + 1).astype(np.float64)
    a = np.bincount(band, weights=np.abs(err), minlength=len(edges) + 1)
    q = np.bincount(band, weights=err**2, minlength=len(edges) + 1)
    # an empty band (ties at an edge) takes the overall mean
    fill_a, fill_q = float(np.abs(err).mean()), float((err**2).mean())
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_a = np.where(n > 0, a / n, fill_a)
        mean_q = np.where(n > 0, q / n, fill_q)
    return {"edges": edges.tolist(), "abs": mean_a.tolist(), "sq": mean_q.tolist()}


# --------------------------------------------------------------------------- reference
def reference_model_info(
    scores: np.ndarray,
    labels: np.ndarray,
    bounds: np.ndarray,
    threshold: float = 0.5,
    *,
    kind: ModelKind | None = None,
    proba: np.ndarray | None = None,
) -> dict[str, Any]:
    """Kind, calibration and per-chunk realized performance of the reference (stored in the profile).

    ``labels`` are raw labels (encoded here). ``bands`` holds, per metric,
    the mean and standard deviation over the reference chunks: the charts
    draw mean ± 3σ as the expected range.
    """
    kind = kind or ModelKind(BINARY, (0, 1))
    y = encode_labels(labels, kind)
    if np.count_nonzero(np.isfinite(y) & np.isfinite(scores)) < 2:
        # no labels to speak of (a target column left blank): the kind only, no estimate
        return {**kind.to_json(), "task": kind.kind, "threshold": threshold}
    per_chunk: dict[str, list[float]] = {}
    chunks = list(zip(bounds[:-1], bounds[1:], strict=True))
    for j, (a, b) in enumerate(chunks):
        m = realized_metrics(
            y[a:b], scores[a:b], threshold, kind=kind, proba=None if proba is None else proba[a:b]
        )
        for k, value in m.items():
            per_chunk.setdefault(k, [math.nan] * len(chunks))[j] = value
    bands = {}
    for k, vals in per_chunk.items():
        arr = np.asarray(vals, dtype=np.float64)
        arr = arr[np.isfinite(arr)]
        if arr.size:
            bands[k] = {
                "mean": float(arr.mean()),
                "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
            }
    out: dict[str, Any] = {
        **kind.to_json(),
        "task": kind.kind,
        "threshold": threshold,
        "reference": realized_metrics(y, scores, threshold, kind=kind, proba=proba),
        "chunks": per_chunk,
        "bands": bands,
    }
    if kind.kind == BINARY:
        out["calibration"] = calibrate(scores, y)
    elif kind.kind == MULTICLASS and proba is not None:
        ok = ~np.isnan(y)
        top = proba.max(axis=1)
        correct = (proba.argmax(axis=1) == y).astype(np.float64)
        out["confidence_calibration"] = calibrate(top[ok], correct[ok])
    elif kind.kind == REGRESSION:
        loss = _loss_bands(scores, y)
        if loss is not None:
            out["loss_bands"] = loss
    return out
