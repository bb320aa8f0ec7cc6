"""Validation of any registered version on any labelled table.

The schema is checked before anything is scored: missing or extra columns,
numbers that hold text, and target labels the model never saw are each named
in one sentence. Then the model (loaded through the safe loader) scores the
table in chunks; metrics and chart data are computed with scikit-learn's
functions; the predictions are stored as a Parquet artifact with the run, so
later checks (a champion/challenger comparison) reuse them.
"""

from __future__ import annotations

import json
import math
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

import modelward.core.compute.data as _data
from modelward.core.artifacts.safeload import load_artifact
from modelward.core.clock import utcnow
from modelward.core.compute.decision import THRESHOLD_KEY, stored_threshold
from modelward.core.compute.metrics import (
    DEFAULT_BOOT,
    Predictions,
    ThresholdCurve,
    bootstrap_intervals,
    credit_curves,
    curves,
    interval_method,
    predict,
    validation_metrics,
)
from modelward.core.errors import InvalidInput, ModelWardError, NotFound
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress, sub_progress
from modelward.core.registry.refusals import door
from modelward.core.tables import bool_word, truth_classes

__all__ = [
    "COST_FN_KEY",
    "COST_FP_KEY",
    "DecisionThreshold",
    "ValidationResult",
    "clear_decision_threshold",
    "decision_threshold",
    "ensure_intervals",
    "set_decision_threshold",
    "threshold_curve",
    "find_validation",
    "latest_validation",
    "load_validation",
    "prepare_frame",
    "validate",
]


@dataclass(frozen=True)
class ValidationResult:
    """Metrics, chart data and predictions of one version on one table.

    ``curves`` holds plain lists for the charts: ``confusion_matrix`` and
    ``classes``; for binary tasks ``roc`` (``fpr``, ``tpr``), ``pr``
    (``recall``, ``precision``) and ``calibration`` (``mean_predicted``,
    ``fraction_positive``); for regression ``residual_histogram`` and
    ``residuals`` (``predicted``, ``residual``).

    Every validation also holds ``intervals`` (``{metric: [low, high]}``,
    percentile bootstrap) and ``interval_method`` (in words, with B and the
    seed), except one stored by ``compare``, which holds
    ``intervals_deferred`` until the next validation of that version on that
    data adds them. Binary: ``lift`` (``fraction``, ``lift``), ``gains`` (``fraction``,
    ``captured``), ``bands`` (the score-band table, highest scores first, see
    :func:`~modelward.core.compute.metrics.score_bands`) and, with
    probabilities, ``calibration_test`` (``hosmer_lemeshow``, ``df``,
    ``p_value``, ``ece``); more than two classes: ``per_class`` (Gini and KS
    of each class against the rest).
    """

    ref: str
    version_id: int
    task: str
    target: str
    rows: int
    data_fingerprint: str
    metrics: dict[str, float]
    curves: dict[str, Any]
    validation_id: int | None = None
    run_id: int | None = None
    predictions_sha256: str | None = None
    data_source: str | None = None
    predictions: Predictions | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "version_id": self.version_id,
            "task": self.task,
            "target": self.target,
            "rows": self.rows,
            "data_fingerprint": self.data_fingerprint,
            "data_source": self.data_source,
            "metrics": self.metrics,
            "curves": self.curves,
            "validation_id": self.validation_id,
            "run_id": self.run_id,
            "predictions_sha256": self.predictions_sha256,
        }


def _features_of(version: Any, model: Any) -> list[dict[str, Any]]:
    """The version's features: ``{"name", "kind"}``, the kind ``None`` where it is unknown.

    A version trained here records each kind; one logged from a notebook records
    the training frame's dtypes instead, and the kinds are read from them
    (:func:`~modelward.core.compute.data.kind_of_dtype`, as scoring reads them):
    a file then reaches the model in the types it was fitted on (a text column
    the file holds as integers as text, numbers as numbers, or a refusal that
    names the column), not as whatever the file's reader made of it.
    """
    sig = version.signature or {}
    if sig.get("features"):
        return list(sig["features"])
    names = sig.get("feature_names") or list(getattr(model, "feature_names_in_", []) or [])
    if not names:
        raise InvalidInput(
            f"{version.ref} does not record its feature names, so its columns cannot be "
            "matched to the data"
        )
    dtypes = {str(c.get("name")): str(c.get("dtype") or "") for c in sig.get("columns") or []}
    return [{"name": str(n), "kind": _data.kind_of_dtype(dtypes.get(str(n), ""))} for n in names]


def _align_labels(y: Any, classes: Any, target: str) -> Any:
    """The target in the type of the model's classes; unseen labels are an error."""
    import numpy as np  # deferred: start-up cost
    import pandas as pd  # deferred: start-up cost

    classes = np.asarray(classes)
    truth = truth_classes(classes.tolist())
    if truth is not None:
        # yes/no and True/False are one target whichever file (CSV, Parquet) held
        # the labels or trained the model; a word that is neither stays unseen
        y = np.array(
            [truth.get(b, v) if (b := bool_word(v)) is not None else v for v in y.tolist()],
            dtype=object,
        )
        unseen = np.array([not any(v is c or v == c for c in truth.values()) for v in y])
        if not unseen.any() and classes.dtype.kind == "b":
            y = y.astype(bool)
    elif classes.dtype.kind in "OUS":
        y = y.astype(str).to_numpy(dtype=object)
    elif not pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y):
        num = pd.to_numeric(y, errors="coerce")
        if num.isna().any():
            row = int(np.flatnonzero(num.isna().to_numpy())[0])
            raise InvalidInput(
                f"the target column {target!r} has the label {y.iloc[row]!r} in row {row + 1}, "
                f"which the model never saw (it knows {', '.join(map(str, classes.tolist()))})"
            )
        y = num.to_numpy()
    else:
        y = y.to_numpy()
    if truth is None:
        unseen = ~np.isin(y, classes)
    if unseen.any():
        row = int(np.flatnonzero(unseen)[0])
        labels = sorted({str(v) for v in np.asarray(y)[unseen]})[:5]
        raise InvalidInput(
            f"the target column {target!r} has label{'s' if len(labels) > 1 else ''} "
            f"{', '.join(labels)} (first in row {row + 1}) that the model never saw; "
            f"it knows {', '.join(map(str, classes.tolist()))}"
        )
    return y


def prepare_frame(
    version: Any,
    model: Any,
    df: Any,
    *,
    target: str | None = None,
    allow_extra: bool = False,
) -> tuple[Any, Any, str, str]:
    """Check a table against a version and return ``(X, y, task, target)``.

    Raises
    ------
    InvalidInput
        Missing target or feature columns, extra columns, wrong types, or
        target labels the model never saw, each named.
    """
    sig = version.signature or {}
    target = target or sig.get("target")
    if not target:
        raise InvalidInput(
            f"{version.ref} does not record its target column; name it (--target COLUMN)"
        )
    task = sig.get("task") or ("classification" if hasattr(model, "classes_") else "regression")
    features = _features_of(version, model)
    if task == "regression" or target not in df.columns:
        # names a missing target column, or text in a regression target
        _data.check_target(df, target, task)
    # the target, the time column and columns training left out (timestamps, ids) may be present
    allowed = [target, *([sig["time_column"]] if sig.get("time_column") else [])]
    allowed += list(sig.get("dropped") or {})
    _data.check_columns(df, features, allowed_extra=allowed, allow_extra=allow_extra)
    empty = df[target].isna()
    if empty.any():
        raise InvalidInput(
            f"the target column {target!r} is empty in {int(empty.sum())} row(s), first in "
            f"row {int(empty.to_numpy().nonzero()[0][0]) + 1}"
        )
    X = _data.feature_frame(df, {c["name"]: c["kind"] for c in features})
    _refuse_missing_it_cannot_take(version, model, X)
    if task == "classification":
        classes = getattr(model, "classes_", None)
        if classes is None:
            raise InvalidInput(f"{version.ref} is a classifier without classes; cannot validate it")
        y = _align_labels(df[target], classes, target)
    else:
        y = _regression_target(df[target], target)
    return X, y, task, target


def _regression_target(col: Any, target: str) -> Any:
    """A regressor's target as floats; truth words, and values whose squares overflow, refused.

    The strict reader types a column of yes/no (true/false) words as booleans:
    as numbers they would be 1 and 0, metrics of a regressor on a target of words.
    """
    import numpy as np  # deferred: start-up cost
    from pandas.api import types as pt  # deferred: start-up cost

    if pt.is_bool_dtype(col):
        raise InvalidInput(
            f"the target column {target!r} holds yes/no (true/false) words, not numbers; "
            "a regressor's target must be numbers"
        )
    y = col.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        big = np.flatnonzero(~(np.abs(y) <= _data.SQUARE_MAX))
    if big.size:
        row = int(big[0])
        raise InvalidInput(
            f"the target column {target!r} holds {y[row]:g} (row {row + 1}), too large to "
            f"measure a regressor's errors by (their squares overflow past {_data.SQUARE_MAX:g})"
        )
    return y


def _refuse_missing_it_cannot_take(version: Any, model: Any, X: Any) -> None:
    """Refuse, in one sentence, empty feature cells that the model cannot take.

    The model predicts a few of those rows first: one that takes missing values
    (gradient boosting, a pipeline that imputes) is not refused. Validation
    scores every row or none: a figure on the complete rows only would not be
    the figure of this data.
    """
    missing = X.isna()
    rows = missing.any(axis=1).to_numpy()
    if not rows.any():
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.predict(X[rows].head(3))
    except ValueError:
        cols = [str(c) for c in X.columns if missing[c].any()]
        shown = ", ".join(f"{c!r} ({int(missing[c].sum())})" for c in cols[:5])
        more = f" and {len(cols) - 5} more column(s)" if len(cols) > 5 else ""
        raise InvalidInput(
            f"{version.ref} cannot take a missing value, and the data leaves {shown}{more} "
            f"empty in {int(rows.sum())} row(s), first in row {int(rows.nonzero()[0][0]) + 1}; "
            "fill them or leave those rows out"
        ) from None


@door("validate", source="data")
def validate(
    registry: Any,
    ref: str,
    data: str,
    *,
    target: str | None = None,
    allow_extra: bool = False,
    store: bool = True,
    reuse: bool = True,
    n_boot: int = DEFAULT_BOOT,
    seed: int = 0,
    band_edges: Any = None,
    intervals: bool = True,
    vet: Callable[[Any, str], None] | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> ValidationResult:
    """Score version ``ref`` on the labelled table ``data`` and record the result.

    Parameters
    ----------
    registry
        The registry.
    ref
        ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS``.
    data
        CSV or Parquet path, or ``dataset:ID``.
    target
        Target column; default the one the version was trained on.
    allow_extra
        Ignore columns the model does not use instead of refusing them.
    store
        Record a validation run, its metrics and its predictions (Parquet
        artifact). ``False`` only computes.
    reuse
        Return the stored validation of the same version on the same data
        (same fingerprint) instead of scoring again.
    n_boot, seed
        Bootstrap resamples and the seed of the metrics' intervals.
    band_edges
        Edges of the score bands (binary); default the score's deciles.
    intervals
        Bootstrap the metrics' intervals now. ``False`` (what ``compare``
        does: it bootstraps the paired differences instead) stores the
        validation with ``intervals_deferred``; the next validation of the
        same version on the same data computes them from the stored
        predictions (the same numbers: same rows, resamples and seed) and
        stores them, without scoring again.
    vet
        ``vet(y, task)``, called with the target's values before anything is
        stored (also before a stored validation is reused): the caller's
        refusal (``InvalidInput``: too few rows for what it will do with them)
        commits nothing.

    Returns
    -------
    ValidationResult
        With ``predictions`` loaded.

    Raises
    ------
    InvalidInput
        The schema does not match (a clear error before scoring).
    NotFound, RejectedFile, Cancelled
    """

    progress(0.0, "reading the data")
    version = registry.resolve(ref)
    path = _data.resolve_source(data, registry)
    df = _data.read_table(path)
    fingerprint = _data.fingerprint_frame(df)
    check(cancel)
    edges = _band_edges(band_edges)
    # a stored validation answers only for the default bands and intervals (and
    # one from before the intervals were recorded is done again)
    if reuse and store and edges is None and n_boot == DEFAULT_BOOT and seed == 0:
        found = find_validation(registry, version.id, fingerprint, target=target)
        if found is not None:
            stored = load_validation(registry, found)
            if vet is not None and stored.predictions is not None:
                vet(stored.predictions.y_true, stored.task)
            if "intervals" in stored.curves or (
                stored.curves.get("intervals_deferred") and not intervals
            ):
                progress(1.0, "reused a stored validation")
                return stored
            if stored.curves.get("intervals_deferred"):
                return ensure_intervals(registry, found, progress=progress, cancel=cancel)
    progress(0.1, "loading the model")
    model = load_artifact(registry.artifacts, version.sha256, version.format, registry=registry)
    X, y, task, target = prepare_frame(version, model, df, target=target, allow_extra=allow_extra)
    if n_boot < 0:
        raise InvalidInput(f"the number of bootstrap resamples must be 0 or more, not {n_boot}")
    if vet is not None:
        vet(y, task)
    check(cancel)
    run_id = (
        registry.create_run(
            "validate", params={"ref": version.ref, "data": str(path), "fingerprint": fingerprint}
        )
        if store
        else None
    )
    with registry.recording_failure(
        run_id, wrap=lambda msg: ModelWardError(f"validation of {version.ref} failed: {msg}")
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            preds = predict(
                model, X, y, task, progress=sub_progress(progress, 0.2, 0.7), cancel=cancel
            )
            metrics = validation_metrics(preds)
            chart = curves(preds)
            chart.update(credit_curves(preds, band_edges=edges))
            if intervals:
                chart["intervals"] = bootstrap_intervals(
                    preds,
                    metrics,
                    n_boot=n_boot,
                    seed=seed,
                    progress=sub_progress(progress, 0.7, 0.88),
                    cancel=cancel,
                )
                chart["interval_method"] = interval_method(n_boot, seed)
            else:
                chart["intervals_deferred"] = True
        check(cancel)
        result = ValidationResult(
            ref=version.ref,
            version_id=version.id,
            task=task,
            target=target,
            rows=len(df),
            data_fingerprint=fingerprint,
            metrics=metrics,
            curves=chart,
            data_source=str(path),
            predictions=preds,
        )
        if run_id is not None:
            progress(0.9, "storing the predictions")
            result = _store(registry, result, run_id)
    progress(1.0, "validated")
    return result


def ensure_intervals(
    registry: Any,
    validation_id: int,
    *,
    store: bool = True,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> ValidationResult:
    """A stored validation with its metrics' intervals, bootstrapped now if ``compare`` deferred them.

    The intervals are computed from the stored predictions with the default
    resamples and seed, so they are the numbers :func:`validate` would have
    stored; with ``store`` they are stored with the validation (a report,
    which only reads, passes ``False``).

    Returns
    -------
    ValidationResult
        With ``predictions`` loaded.
    """
    stored = load_validation(registry, validation_id)
    if not stored.curves.get("intervals_deferred"):
        return stored
    assert stored.predictions is not None
    progress(0.1, "confidence intervals of a stored validation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = bootstrap_intervals(
            stored.predictions,
            stored.metrics,
            n_boot=DEFAULT_BOOT,
            seed=0,
            progress=sub_progress(progress, 0.1, 0.95),
            cancel=cancel,
        )
    check(cancel)
    if not store:
        curves = {k: v for k, v in stored.curves.items() if k != "intervals_deferred"}
        curves["intervals"] = found
        curves["interval_method"] = interval_method(DEFAULT_BOOT, 0)
        return replace(stored, curves=curves)
    with registry.transaction() as tx:
        # read again inside the write: explanations may have been added meanwhile
        rows = tx.q("SELECT curves FROM validations WHERE id = ?", [validation_id]).fetchall()
        curves = json.loads(rows[0][0])
        curves.pop("intervals_deferred", None)
        curves["intervals"] = found
        curves["interval_method"] = interval_method(DEFAULT_BOOT, 0)
        tx.q(
            "UPDATE validations SET curves = ? WHERE id = ?",
            [json.dumps(curves, allow_nan=False), validation_id],
        )
    progress(1.0, "reused a stored validation")
    return replace(stored, curves=curves)


def _band_edges(edges: Any) -> list[float] | None:
    """User band edges as increasing numbers, or ``None`` (deciles)."""
    if edges is None:
        return None
    if isinstance(edges, str):
        edges = [e for e in edges.replace(";", ",").split(",") if e.strip()]
    try:
        vals = sorted(float(e) for e in edges)
    except (TypeError, ValueError):
        raise InvalidInput(f"band edges must be numbers, like 0.1,0.2,0.5; not {edges!r}") from None
    if len(set(vals)) < 2 or len(set(vals)) != len(vals) or not all(map(math.isfinite, vals)):
        raise InvalidInput("band edges must be at least two different finite numbers, each once")
    return vals


def _store(registry: Any, result: ValidationResult, run_id: int) -> ValidationResult:
    assert result.predictions is not None
    with tempfile.TemporaryDirectory(prefix="modelward-validate-") as tmp:
        dest = Path(tmp) / "predictions.parquet"
        _data.frame_to_parquet(result.predictions.to_frame(), dest)
        sha, _ = registry.artifacts.put_file(dest)
    with registry.transaction() as tx:
        vid = tx.next_id("seq_validations")
        tx.q(
            "INSERT INTO validations VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                vid,
                run_id,
                result.version_id,
                result.data_fingerprint,
                result.data_source,
                result.rows,
                result.task,
                result.target,
                json.dumps(result.metrics),
                json.dumps(result.curves),
                sha,
                utcnow(),
                tx.actor,
            ],
        )
        tx.audit(
            "version.validated",
            "version",
            result.ref,
            after={
                "validation_id": vid,
                "data_fingerprint": result.data_fingerprint,
                "rows": result.rows,
                "metrics": result.metrics,
                "predictions_sha256": sha,
            },
        )
    registry.finish_run(
        run_id,
        "finished",
        result={"validation_id": vid, "metrics": result.metrics, "predictions_sha256": sha},
        version_id=result.version_id,
    )
    return replace(result, validation_id=vid, run_id=run_id, predictions_sha256=sha)


def find_validation(
    registry: Any, version_id: int, fingerprint: str, *, target: str | None = None
) -> int | None:
    """The newest stored validation of a version on data with this fingerprint."""
    sql = "SELECT id FROM validations WHERE version_id = ? AND data_fingerprint = ?"
    args: list[Any] = [version_id, fingerprint]
    if target:
        sql += " AND target = ?"
        args.append(target)
    with registry.read() as cur:
        rows = cur.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchall()
    return int(rows[0][0]) if rows else None


def load_validation(
    registry: Any, validation_id: int, *, predictions: bool = True
) -> ValidationResult:
    """A stored validation, with its predictions read back from the artifact store."""

    with registry.read() as cur:
        rows = cur.execute(
            "SELECT v.id, v.run_id, v.version_id, v.data_fingerprint, v.data_source, v.rows, "
            "v.task, v.target, v.metrics, v.curves, v.predictions_sha256 "
            "FROM validations v WHERE v.id = ?",
            [validation_id],
        ).fetchall()
    if not rows:
        raise NotFound(f"no validation with id {validation_id}")
    r = rows[0]
    version = registry.get_version_by_id(int(r[2]))
    crv = json.loads(r[9])
    preds = None
    if predictions:
        frame = _data.read_table(registry.artifacts.verify(r[10]))
        classes = crv.get("classes") if r[6] == "classification" else None
        preds = Predictions.from_frame(frame, r[6], classes)
    return ValidationResult(
        ref=version.ref,
        version_id=int(r[2]),
        task=r[6],
        target=r[7],
        rows=int(r[5]),
        data_fingerprint=r[3],
        metrics=json.loads(r[8]),
        curves=crv,
        validation_id=int(r[0]),
        run_id=int(r[1]),
        predictions_sha256=r[10],
        data_source=r[4],
        predictions=preds,
    )


# --------------------------------------------------------------------------- decision threshold
COST_FP_KEY = "decision_cost_fp"
COST_FN_KEY = "decision_cost_fn"
"""Version tags holding the costs a decision threshold was chosen with."""


@dataclass(frozen=True)
class DecisionThreshold:
    """The decision threshold stored with a version (``threshold`` ``None``: none).

    ``source`` is ``"tag"`` (set with :func:`set_decision_threshold`, audited),
    ``"signature"`` (recorded with the model file) or ``None``.
    """

    ref: str
    threshold: float | None
    cost_fp: float | None = None
    cost_fn: float | None = None
    source: str | None = None
    audit_seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "threshold": self.threshold,
            "cost_fp": self.cost_fp,
            "cost_fn": self.cost_fn,
            "source": self.source,
            "audit_seq": self.audit_seq,
        }


def _num(raw: Any) -> float | None:
    try:
        return None if raw is None else float(raw)
    except (TypeError, ValueError):
        return None


def decision_threshold(registry: Any, ref: str) -> DecisionThreshold:
    """The decision threshold stored with version ``ref`` (what ``score`` uses)."""
    v = registry.resolve(ref)
    tags = v.tags or {}
    value = stored_threshold(v)
    source = (
        "tag" if tags.get(THRESHOLD_KEY) is not None else "signature" if value is not None else None
    )
    return DecisionThreshold(
        ref=v.ref,
        threshold=value,
        cost_fp=_num(tags.get(COST_FP_KEY)),
        cost_fn=_num(tags.get(COST_FN_KEY)),
        source=source,
    )


def _binary_refusal(v: Any) -> str | None:
    """Why version ``v`` cannot hold a decision threshold, or ``None`` when it can."""
    sig = v.signature or {}
    if sig.get("task") == "regression":
        return f"a decision threshold applies to a binary classifier; {v.ref} is a regressor"
    classes = sig.get("classes")
    if classes is None:
        return (
            f"{v.ref} does not record its classes, so it cannot be told to be a binary "
            "classifier; a decision threshold applies to one"
        )
    if len(classes) != 2:
        return (
            f"a decision threshold applies to a binary classifier; {v.ref} has "
            f"{len(classes)} classes"
        )
    return None


def _refuse(
    registry: Any, v: Any, message: str, attempted: dict[str, Any], reason: str | None
) -> NoReturn:
    """Record the refused change (one audit event, nothing else) and raise."""
    with registry.transaction() as tx:
        tx.audit(
            "version.threshold_refused",
            "version",
            v.ref,
            after={**attempted, "refused": message},
            reason=reason,
        )
    raise InvalidInput(message)


def set_decision_threshold(
    registry: Any,
    ref: str,
    threshold: float,
    *,
    cost_fp: float | None = None,
    cost_fn: float | None = None,
    reason: str | None = None,
) -> DecisionThreshold:
    """Store ``threshold`` with version ``ref`` as its decision threshold (audited).

    The threshold is kept in the version's tags (``decision_threshold``, and
    the costs it was chosen with in ``decision_cost_fp`` / ``decision_cost_fn``);
    ``score`` decides a binary model's rows with it (score ≥ threshold: the
    second class). One ``version.threshold_set`` event in the same transaction.

    Raises
    ------
    InvalidInput
        A threshold outside [0, 1], a negative cost, or a version that is not a
        binary classifier: nothing is stored, and a ``version.threshold_refused``
        event records the attempt.
    NotFound
    """
    v = registry.resolve(ref)
    attempted = {"threshold": threshold, "cost_fp": cost_fp, "cost_fn": cost_fn}
    value = _num(threshold)
    if value is None or not math.isfinite(value) or not 0.0 <= value <= 1.0:
        _refuse(
            registry,
            v,
            f"the threshold must be between 0 and 1, not {threshold}",
            attempted,
            reason,
        )
    for name, cost in (("false positive", cost_fp), ("false negative", cost_fn)):
        c = _num(cost) if cost is not None else 0.0
        if c is None or not math.isfinite(c) or c < 0:
            _refuse(
                registry,
                v,
                f"the cost of a {name} must be a number ≥ 0, not {cost}",
                attempted,
                reason,
            )
    why = _binary_refusal(v)
    if why is not None:
        _refuse(registry, v, why, attempted, reason)
    assert value is not None
    before = decision_threshold(registry, v.ref)
    tags = dict(v.tags or {})
    tags[THRESHOLD_KEY] = repr(value)
    for key, cost in ((COST_FP_KEY, cost_fp), (COST_FN_KEY, cost_fn)):
        if cost is None:
            tags.pop(key, None)
        else:
            tags[key] = repr(float(cost))
    after = {"threshold": value, "cost_fp": cost_fp, "cost_fn": cost_fn}
    return _write_threshold_tags(registry, v, tags, "version.threshold_set", before, after, reason)


def clear_decision_threshold(
    registry: Any, ref: str, *, reason: str | None = None
) -> DecisionThreshold:
    """Remove the decision threshold set with :func:`set_decision_threshold` (audited)."""
    v = registry.resolve(ref)
    before = decision_threshold(registry, v.ref)
    tags = {
        k: val
        for k, val in (v.tags or {}).items()
        if k not in (THRESHOLD_KEY, COST_FP_KEY, COST_FN_KEY)
    }
    after = {"threshold": None}
    return _write_threshold_tags(
        registry, v, tags, "version.threshold_cleared", before, after, reason
    )


def _write_threshold_tags(
    registry: Any,
    v: Any,
    tags: dict[str, Any],
    action: str,
    before: DecisionThreshold,
    after: dict[str, Any],
    reason: str | None,
) -> DecisionThreshold:
    """Store a version's new tags and the audit event of the threshold change, in one transaction."""
    with registry.transaction() as tx:
        tx.q(
            "UPDATE versions SET tags = ? WHERE id = ?",
            [json.dumps(tags, sort_keys=True, ensure_ascii=False), v.id],
        )
        seq = tx.audit(
            action,
            "version",
            v.ref,
            before={
                "threshold": before.threshold,
                "cost_fp": before.cost_fp,
                "cost_fn": before.cost_fn,
            },
            after=after,
            reason=reason,
        )
    return replace(decision_threshold(registry, v.ref), audit_seq=int(seq))


def latest_validation(registry: Any, ref: str) -> int | None:
    """The id of the newest stored validation of version ``ref``, or ``None``."""
    v = registry.resolve(ref)
    with registry.read() as cur:
        rows = cur.execute(
            "SELECT id FROM validations WHERE version_id = ? ORDER BY id DESC LIMIT 1", [v.id]
        ).fetchall()
    return int(rows[0][0]) if rows else None


def threshold_curve(registry: Any, validation_id: int) -> Any:
    """The :class:`~modelward.core.compute.metrics.ThresholdCurve` of a stored binary
    validation (its predictions read back once), or ``None`` for other tasks."""
    res = load_validation(registry, validation_id)
    p = res.predictions
    if p is None or not p.binary or p.proba is None:  # a threshold is on a probability
        return None
    return ThresholdCurve.from_predictions(p)
