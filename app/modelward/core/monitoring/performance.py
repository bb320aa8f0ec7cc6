"""Performance over time: realized where labels exist, estimated where they don't.

Binary classifiers only for estimation. Estimation is confidence-based
performance estimation (CBPE): the model's scores are calibrated on the
reference (isotonic regression of the label on the score), and a batch's
expected confusion matrix is the sum of the calibrated probabilities over the
rows predicted positive and negative. ROC AUC is estimated from the expected
true- and false-positive rates along the sorted scores. The estimate is
unbiased while the relation between score and outcome is unchanged (covariate
shift); it cannot see concept drift, which is why late labels replace it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1")


def positive_labels(y: np.ndarray, positive: Any = None) -> np.ndarray:
    """Labels as 0/1 floats (NaN where missing); the positive class is the larger label."""
    y = np.asarray(y)
    if y.dtype.kind in "fiub":
        yf = y.astype(np.float64)
        pos_num = 1.0 if positive is None else float(positive)
        out: np.ndarray = (yf == pos_num).astype(np.float64)
        out[np.isnan(yf)] = np.nan
        return out
    vals = [str(v) for v in y.tolist() if v is not None]
    pos = str(positive) if positive is not None else (max(vals) if vals else None)
    return np.array([np.nan if v is None else float(str(v) == pos) for v in y.tolist()])


def realized_metrics(y: np.ndarray, score: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """ROC AUC, accuracy, precision, recall and F1 on labelled rows (0/1 labels)."""
    from sklearn.metrics import (  # deferred: start-up cost
        accuracy_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    ok = ~np.isnan(y) & ~np.isnan(score)
    y, score = y[ok], score[ok]
    if y.size == 0:
        return {}
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


def calibrate(score: np.ndarray, y: np.ndarray) -> dict[str, list[float]]:
    """An isotonic map from score to probability, as interpolation knots."""
    from sklearn.isotonic import IsotonicRegression  # deferred: start-up cost

    ok = ~np.isnan(y) & ~np.isnan(score)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(score[ok], y[ok])
    return {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}


def estimate_metrics(
    score: np.ndarray, calibration: Mapping[str, Any], threshold: float = 0.5
) -> dict[str, float]:
    """CBPE: expected metrics of unlabelled rows from their calibrated scores."""
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


def reference_model_info(
    scores: np.ndarray, labels: np.ndarray, bounds: np.ndarray, threshold: float = 0.5
) -> dict[str, Any]:
    """Calibration and per-chunk realized performance of the reference (stored in the profile).

    ``bands`` holds, per metric, the mean and standard deviation over the
    reference chunks: the charts draw mean ± 3σ as the expected range.
    """
    y = positive_labels(labels)
    per_chunk: dict[str, list[float]] = {m: [] for m in METRICS}
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        m = realized_metrics(y[a:b], scores[a:b], threshold)
        for k in METRICS:
            per_chunk[k].append(m.get(k, float("nan")))
    bands = {}
    for k, v in per_chunk.items():
        arr = np.asarray(v, dtype=np.float64)
        arr = arr[np.isfinite(arr)]
        if arr.size:
            bands[k] = {
                "mean": float(arr.mean()),
                "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
            }
    return {
        "task": "binary",
        "threshold": threshold,
        "calibration": calibrate(scores, y),
        "reference": realized_metrics(y, scores, threshold),
        "chunks": per_chunk,
        "bands": bands,
    }
