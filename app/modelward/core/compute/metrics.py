"""Predictions and the metrics and curves computed from them (scikit-learn's functions).

Metric names follow scikit-learn: ``accuracy``, ``balanced_accuracy``,
``roc_auc``, ``average_precision`` (the area under the precision-recall
curve), ``log_loss``, ``brier_score_loss``, ``f1`` (``f1_macro`` for more than
two classes), ``rmse``, ``mae``, ``r2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelward.core.domain import HIGHER_IS_BETTER
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress

__all__ = [
    "HIGHER_IS_BETTER",
    "Predictions",
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
