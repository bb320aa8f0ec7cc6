"""What a model predicts, and labels matched to it: one rule for monitoring and the prediction log.

:class:`ModelKind` (binary, multiclass, regression, and the classes) decides
the metric set; :func:`encode_labels` matches labels to the classes as
predictions are stored; :func:`check_labels` refuses labels the model never
saw. Monitoring's batch checks and ``labels`` (late labels joined to the
prediction log) both use them; they live below both, so that neither service
imports the other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelward.core.errors import InvalidInput
from modelward.core.tables import bool_word, truth_classes

BINARY = "binary"
MULTICLASS = "multiclass"
REGRESSION = "regression"
KINDS = (BINARY, MULTICLASS, REGRESSION)

#: The binary metric set (kept under its old name).
METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1")
#: The fixed metrics of each kind (multiclass also has ``recall[<class>]`` per class).
METRICS_BY_KIND: dict[str, tuple[str, ...]] = {
    BINARY: METRICS,
    MULTICLASS: ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "log_loss"),
    REGRESSION: ("rmse", "mae", "r2", "mape"),
}
#: The metric a chart or a policy follows first.
PRIMARY_METRIC = {BINARY: "roc_auc", MULTICLASS: "accuracy", REGRESSION: "rmse"}


@dataclass(frozen=True)
class ModelKind:
    """What a model predicts: ``kind`` (binary, multiclass, regression) and its classes.

    ``classes`` is the model's ``classes_`` in order (empty for a regressor);
    probabilities and stored class indices refer to this order.
    """

    kind: str
    classes: tuple[Any, ...] = ()

    @property
    def is_classifier(self) -> bool:
        return self.kind != REGRESSION

    @property
    def metrics(self) -> tuple[str, ...]:
        return METRICS_BY_KIND[self.kind]

    @property
    def primary(self) -> str:
        return PRIMARY_METRIC[self.kind]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "classes": [_jsonable(c) for c in self.classes]}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ModelKind:
        return cls(str(d["kind"]), tuple(d.get("classes") or ()))


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v if isinstance(v, (str, int, float, bool)) or v is None else str(v)


def kind_of(signature: Mapping[str, Any] | None, model: Any = None) -> ModelKind:
    """The kind of a registered model, from its recorded signature or the loaded model.

    Registration records the estimator's ``classes_`` in the signature (and
    training records ``task``); the loaded model's own ``classes_`` wins when
    given, since probability columns follow it.

    Parameters
    ----------
    signature
        The version's signature (``classes``, ``task``), or ``None``.
    model
        The loaded estimator, or ``None`` to decide from the signature alone.
    """
    sig = signature or {}
    classes: Sequence[Any] | None = None
    if model is not None and getattr(model, "classes_", None) is not None:
        classes = [_jsonable(c) for c in list(model.classes_)]
    elif sig.get("classes"):
        classes = list(sig["classes"])
    task = sig.get("task")
    if classes is None or task == "regression":
        if task == "classification" and classes is None:
            from modelward.core.errors import InvalidInput

            raise InvalidInput("a classifier without classes cannot be monitored")
        return ModelKind(REGRESSION)
    return ModelKind(BINARY if len(classes) <= 2 else MULTICLASS, tuple(classes))


# --------------------------------------------------------------------------- labels
def encode_labels(y: np.ndarray, kind: ModelKind) -> np.ndarray:
    """Labels as floats in the form predictions are stored (NaN where missing).

    Binary: 1.0 for the positive class ``classes[1]``, else 0.0. Multiclass:
    the index into ``classes``; labels the model never saw get negative
    indices (-1, -2, … in sorted order), so they count as errors but never as
    a known class. Regression: the value itself.
    """
    y = np.asarray(y)
    if kind.kind == REGRESSION:
        if y.dtype.kind in "fiub":
            return y.astype(np.float64)
        return np.array([_to_float(v) for v in y.tolist()], dtype=np.float64)
    missing = np.array([_is_missing(v) for v in y.tolist()], dtype=bool)
    keys = _label_keys(y, kind.classes)
    index = {k: i for i, k in enumerate(_label_keys(np.asarray(kind.classes), kind.classes))}
    unseen = sorted({k for k, m in zip(keys, missing, strict=True) if not m and k not in index})
    index.update({k: -(i + 1) for i, k in enumerate(unseen)})
    out = np.array([np.nan if m else float(index[k]) for k, m in zip(keys, missing, strict=True)])
    if kind.kind == BINARY:
        pos = out == 1.0
        out[~np.isnan(out)] = 0.0
        out[pos] = 1.0
    return out


def _label_text(v: Any) -> str:
    """A label as a user wrote it: 2, not the 2.0 a numeric column reads."""
    if isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _to_float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _label_keys(y: np.ndarray, classes: Sequence[Any]) -> list[Any]:
    """Comparable keys: numbers compare as numbers when the classes are numeric."""
    numeric = all(
        isinstance(c, (int, float, np.number)) and not isinstance(c, bool) for c in classes
    )
    if truth_classes(classes) is not None:
        # A yes/no target: a model trained on a CSV's yes/no before its words were
        # kept has the classes False/True, others no/yes; labels come as either,
        # as text or numbers. Compared by truth value; other words stay unseen.
        return [str(v) if (b := bool_word(v)) is None else str(b) for v in y.tolist()]
    out: list[Any] = []
    for v in y.tolist():
        if numeric:
            f = _to_float(v)
            if math.isnan(f) and (b := bool_word(v)) is not None:
                # true/false or yes/no for a model of the classes 0/1: DuckDB reads
                # these words as BOOLEAN, which `validate` matches to 1 and 0 (the
                # batch's reader gives them as text)
                f = float(b)
            out.append(f if not math.isnan(f) else str(v))
        else:
            out.append(str(v))
    return out


def check_labels(
    y: np.ndarray,
    kind: ModelKind,
    *,
    source: str,
    column: str,
    first_row: int = 0,
    rows: Sequence[int] | None = None,
    model: str = "the model",
) -> None:
    """Refuse labels the model never saw (a regressor's: labels that are not numbers).

    ``validate``'s rule, matched as :func:`encode_labels` matches labels to
    the classes: a label counted as no class would turn into the negative
    class (binary) or an error, and the realized metrics would be wrong
    without a word. Missing labels are rows not labelled yet, not refused.
    ``first_row`` is the row number of ``y[0]`` counted from 0 (a file read
    in batches); ``rows`` gives each label's row instead (labels taken apart
    from their file). ``model`` names the model in the sentence.

    Raises
    ------
    InvalidInput
        Naming the label(s), the first row and the model's classes.
    """
    y = np.asarray(y)
    missing = np.array([_is_missing(v) for v in y.tolist()], dtype=bool)
    if kind.kind == REGRESSION:
        bad = ~missing & np.isnan(encode_labels(y, kind))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            row = first_row + i if rows is None else int(rows[i])
            raise InvalidInput(
                f"{source}: the label column {column!r} has the label {_label_text(y[i])!r} in "
                f"row {row + 1}, which is not a number, and {model} is a regressor"
            )
        return
    keys = _label_keys(y, kind.classes)
    known = set(_label_keys(np.asarray(kind.classes, dtype=object), kind.classes))
    bad = np.array([not m and k not in known for k, m in zip(keys, missing, strict=True)])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = first_row + i if rows is None else int(rows[i])
        labels = sorted({_label_text(v) for v in y[bad].tolist()})
        shown = ", ".join(labels[:5]) + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
        raise InvalidInput(
            f"{source}: the label column {column!r} has label{'s' if len(labels) > 1 else ''} "
            f"{shown} (first in row {row + 1}) that {model} never saw; "
            f"it knows {', '.join(map(str, kind.classes))}"
        )
