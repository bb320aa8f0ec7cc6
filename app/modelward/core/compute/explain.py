"""Global explanations of a validated version: what drives the model.

Permutation importance on the validation data (with its spread over
repeats) and partial dependence with ICE curves for the most important
features, numeric and categorical, all computed by scikit-learn's
:mod:`sklearn.inspection`. The result is stored with the validation run, in
its ``curves`` JSON under ``"explanations"``:

``{"method": str, "rows_used": int, "importance": [{"feature", "mean", "std"}…]
(sorted by mean, descending), "pdp": [{"feature", "kind": "numeric" |
"categorical", "grid", "average", "ice": [[…]…], "target"}…]}``, and
``background``: up to 100 rows of the validation data (the reference rows of
the linear and sampled reason codes, :mod:`modelward.core.compute.reasons`).

Scoring: ROC AUC for a binary classifier, the log loss (negated, a proper
score) for a multiclass one, R² for a regressor. Partial dependence is the
predicted probability of the positive class (binary), of *each* class
(multiclass: one entry per feature and class), or the prediction.

Rows are capped (:data:`MAX_ROWS` for importance, :data:`PD_ROWS` for partial
dependence, :data:`ICE_LINES` ICE lines kept): permutation importance costs
``features x repeats`` scorings of the whole table, and its spread over repeats
already shows how stable the ranking is; an average over a few thousand
rows draws the same curve as over a million.
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import numpy as np

import modelward.core.compute.data as _data
from modelward.core.artifacts.safeload import load_artifact
from modelward.core.compute.parallel import limited_threads
from modelward.core.compute.reasons import ReasonColumns, ReasonExplainer
from modelward.core.compute.validation import (
    _features_of,
    load_validation,
    prepare_frame,
    validate,
)
from modelward.core.errors import InvalidInput
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress, sub_progress
from modelward.core.registry.refusals import door

__all__ = [
    "ICE_LINES",
    "MAX_ROWS",
    "PD_ROWS",
    "explain_model",
    "explain_validation",
    "explain_version",
    "explainer_for",
    "feature_frame",
    "parse_rows",
    "preview_rows",
    "stored_explanations",
    "reason_columns",
    "reasons_for",
    "scoring_for",
]

MAX_ROWS = 100_000
"""Rows of the validation data permutation importance uses (a seeded sample beyond)."""
PD_ROWS = 2_000
"""Rows partial dependence averages over."""
ICE_LINES = 50
"""ICE curves kept per feature (a seeded sample of the PD rows)."""
BACKGROUND_ROWS = 100


def scoring_for(model: Any, task: str) -> str:
    """The scikit-learn scorer permutation importance uses for ``model``."""
    if task == "regression":
        return "r2"
    classes = getattr(model, "classes_", [])
    if len(classes) == 2:
        if hasattr(model, "predict_proba") or hasattr(model, "decision_function"):
            return "roc_auc"
        return "balanced_accuracy"
    return "neg_log_loss" if hasattr(model, "predict_proba") else "balanced_accuracy"


def _plain(v: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN and infinities to ``None``."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _sample(n: int, k: int, seed: int) -> np.ndarray:
    if n <= k:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def explain_model(
    model: Any,
    X: Any,
    y: Any,
    task: str,
    *,
    n_repeats: int = 5,
    top: int = 5,
    max_rows: int = MAX_ROWS,
    pd_rows: int = PD_ROWS,
    ice_lines: int = ICE_LINES,
    grid_resolution: int = 20,
    random_state: int = 0,
    threads: int = 1,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Permutation importance and partial dependence (with ICE) of ``model`` on ``X, y``.

    Parameters
    ----------
    model
        A fitted estimator or pipeline taking ``X``'s columns.
    X, y
        The validation features (a DataFrame) and target.
    task
        ``classification`` or ``regression``.
    n_repeats
        Shuffles per feature; the spread over them is reported as ``std``.
    top
        Features (by importance) that get partial dependence curves.
    max_rows, pd_rows, ice_lines
        Row caps (see the module's docstring).
    grid_resolution
        Points of a numeric feature's grid (5th to 95th percentile).
    threads
        BLAS and OpenMP threads of the computation.
    progress, cancel
        Reported and checked after each scoring of a shuffled table.

    Returns
    -------
    dict
        The ``explanations`` document (see the module's docstring).
    """
    from sklearn.inspection import (  # deferred: start-up cost
        partial_dependence,
        permutation_importance,
    )
    from sklearn.metrics import get_scorer, log_loss, make_scorer  # deferred: start-up cost

    n, d = len(X), X.shape[1]
    _enough_to_explain(X, "")
    rows = _sample(n, max_rows, random_state)
    Xs = X.iloc[rows].reset_index(drop=True)
    ys = np.asarray(y)[rows]
    name = scoring_for(model, task)
    if name == "roc_auc" and len(np.unique(ys.astype(str))) < 2:
        name = "accuracy"  # ROC AUC needs both classes among the labels
    if name == "neg_log_loss":
        # every class of the model, whether or not the labels hold each of them
        base = make_scorer(
            log_loss,
            greater_is_better=False,
            response_method="predict_proba",
            labels=list(getattr(model, "classes_", [])) or None,
        )
    else:
        base = get_scorer(name)
    total = 1 + d * n_repeats
    calls = [0]
    imp_progress = sub_progress(progress, 0.0, 0.7)

    def scorer(est: Any, Xp: Any, yp: Any) -> float:
        # permutation_importance calls the scorer once per shuffled table: the
        # natural place to report progress and honour a cancel
        check(cancel)
        value = float(base(est, Xp, yp))
        calls[0] += 1
        imp_progress(calls[0] / total, f"permutation importance ({calls[0]} of {total} scorings)")
        return value

    with limited_threads(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        progress(0.0, "permutation importance")
        imp = permutation_importance(
            model, Xs, ys, scoring=scorer, n_repeats=n_repeats, random_state=random_state
        )
        order = np.argsort(-imp.importances_mean, kind="stable")
        cols = [str(c) for c in X.columns]
        importance = [
            {
                "feature": cols[j],
                "mean": _plain(float(imp.importances_mean[j])),
                "std": _plain(float(imp.importances_std[j])),
            }
            for j in order
        ]
        pd_idx = _sample(len(Xs), pd_rows, random_state + 1)
        Xp = Xs.iloc[pd_idx].reset_index(drop=True)
        ice_idx = _sample(len(Xp), ice_lines, random_state + 2)
        chosen = [cols[j] for j in order[: max(0, min(top, d))]]
        classes = getattr(model, "classes_", None) if task == "classification" else None
        pdp: list[dict[str, Any]] = []
        for i, feat in enumerate(chosen):
            check(cancel)
            progress(0.7 + 0.3 * i / max(len(chosen), 1), f"partial dependence of {feat}")
            categorical = not np.issubdtype(np.asarray(Xp[feat]).dtype, np.number)
            col = Xp[feat]
            if categorical and col.isna().any():
                continue  # a missing category has no place on the grid
            res = partial_dependence(
                model,
                Xp,
                [feat],
                categorical_features=[feat] if categorical else None,
                grid_resolution=grid_resolution,
                kind="both",
            )
            grid = [_plain(v) for v in np.asarray(res["grid_values"][0]).tolist()]
            avg = np.asarray(res["average"])
            ice = np.asarray(res["individual"])[:, ice_idx, :]
            if classes is None:
                targets = ["prediction"]
            elif len(classes) == 2:
                targets = [f"probability of class {classes[1]}"]
            else:
                targets = [f"probability of class {c}" for c in classes]
            if not hasattr(model, "predict_proba") and classes is not None:
                targets = [t.replace("probability", "decision score") for t in targets]
            for k, target in enumerate(targets[: avg.shape[0]]):
                pdp.append(
                    {
                        "feature": feat,
                        "kind": "categorical" if categorical else "numeric",
                        "grid": grid,
                        "average": [_plain(float(v)) for v in avg[k]],
                        "ice": [[_plain(float(v)) for v in line] for line in ice[k]],
                        "target": target,
                    }
                )
    bg = Xs.iloc[_sample(len(Xs), BACKGROUND_ROWS, random_state + 3)]
    progress(1.0, "explained")
    return {
        "method": f"permutation importance (sklearn.inspection), {n_repeats} repeats, "
        f"scoring={name}; partial dependence and ICE over {len(Xp):,} rows",
        "rows_used": len(Xs),
        "importance": importance,
        "pdp": pdp,
        "background": json.loads(bg.to_json(orient="records")),
    }


def explain_validation(
    registry: Any,
    validation_id: int,
    *,
    n_repeats: int = 5,
    top: int = 5,
    max_rows: int = MAX_ROWS,
    threads: int = 1,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Explain the version of a stored validation on its data, and store the result with it.

    The explanations go into the validation's ``curves`` JSON under
    ``"explanations"`` (replacing earlier ones), with an audit event.

    Raises
    ------
    InvalidInput
        The validation's data file is gone or no longer matches.
    NotFound, Cancelled
    """
    progress(0.0, "reading the validation data")
    val = load_validation(registry, validation_id, predictions=False)
    version = registry.get_version_by_id(val.version_id)
    source = val.data_source or ""
    try:
        path = _data.resolve_source(source, registry)
        df = _data.read_table(path)
    except (OSError, InvalidInput) as e:
        raise InvalidInput(
            f"the data of validation #{validation_id} ({source}) cannot be read again: {e}"
        ) from None
    if _data.fingerprint_frame(df) != val.data_fingerprint:
        raise InvalidInput(
            f"{source} changed since validation #{validation_id}; validate it again first"
        )
    check(cancel)
    progress(0.05, "loading the model")
    model = load_artifact(registry.artifacts, version.sha256, version.format)
    X, y, task, _ = prepare_frame(version, model, df, target=val.target, allow_extra=True)
    doc = explain_model(
        model,
        X,
        y,
        task,
        n_repeats=n_repeats,
        top=top,
        max_rows=max_rows,
        threads=threads,
        progress=sub_progress(progress, 0.1, 0.97),
        cancel=cancel,
    )
    check(cancel)
    store_explanations(registry, validation_id, version.ref, doc)
    progress(1.0, "explanations stored")
    return doc


def store_explanations(registry: Any, validation_id: int, ref: str, doc: dict[str, Any]) -> None:
    """Put ``doc`` into validation ``validation_id``'s curves under ``explanations``."""
    with registry.transaction() as tx:
        rows = tx.q("SELECT curves FROM validations WHERE id = ?", [validation_id]).fetchall()
        curves = json.loads(rows[0][0]) if rows else {}
        curves["explanations"] = doc
        tx.q(
            "UPDATE validations SET curves = ? WHERE id = ?",
            [json.dumps(curves, allow_nan=False), validation_id],
        )
        tx.audit(
            "version.explained",
            "version",
            ref,
            after={
                "validation_id": validation_id,
                "method": doc["method"],
                "rows_used": doc["rows_used"],
                "top": [i["feature"] for i in doc["importance"][:5]],
            },
        )


def _enough_to_explain(y: Any, _task: str) -> None:
    """Permutation needs rows to shuffle: at least two."""
    if len(y) < 2:
        raise InvalidInput("explanations need at least two rows of validation data")


@door("explain", source="data")
def explain_version(
    registry: Any,
    ref: str,
    data: str,
    *,
    target: str | None = None,
    allow_extra: bool = False,
    n_repeats: int = 5,
    top: int = 5,
    max_rows: int = MAX_ROWS,
    threads: int = 1,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[int, dict[str, Any]]:
    """Validate ``ref`` on ``data`` (or reuse the stored validation) and explain it.

    Returns
    -------
    tuple
        ``(validation_id, explanations)``.
    """
    res = validate(
        registry,
        ref,
        data,
        target=target,
        allow_extra=allow_extra,
        vet=_enough_to_explain,  # refused before the validation is stored
        progress=sub_progress(progress, 0.0, 0.3),
        cancel=cancel,
    )
    assert res.validation_id is not None
    doc = explain_validation(
        registry,
        res.validation_id,
        n_repeats=n_repeats,
        top=top,
        max_rows=max_rows,
        threads=threads,
        progress=sub_progress(progress, 0.3, 1.0),
        cancel=cancel,
    )
    return res.validation_id, doc


# --------------------------------------------------------------------------- reason codes
def feature_frame(
    version: Any, model: Any, df: Any, *, allow_extra: bool = False, target: str | None = None
) -> Any:
    """The model's feature columns of ``df``, checked; the target may be present or not.

    ``target`` names the target column when the version does not record it
    (or the data calls it otherwise): it is not taken for an extra column.

    Raises
    ------
    InvalidInput
        Missing or extra columns, or text in a numeric column, in one sentence.
    """
    sig = version.signature or {}
    features = _features_of(version, model)
    allowed = [c for c in (sig.get("target"), target, sig.get("time_column")) if c]
    allowed += list(sig.get("dropped") or {})
    _data.check_columns(df, features, allowed_extra=allowed, allow_extra=allow_extra)
    kinds = {c["name"]: c["kind"] for c in features}
    if all(k is not None for k in kinds.values()):
        return _data.feature_frame(df, kinds)
    return df[[c["name"] for c in features]]


def stored_background(registry: Any, version_id: int) -> Any:
    """The background rows stored with the version's newest explained validation, or ``None``."""
    import pandas as pd  # deferred: start-up cost

    with registry.read() as cur:
        rows = cur.execute(
            "SELECT curves FROM validations WHERE version_id = ? ORDER BY id DESC", [version_id]
        ).fetchall()
    for (text,) in rows:
        bg = (json.loads(text).get("explanations") or {}).get("background")
        if bg:
            return pd.DataFrame.from_records(bg)
    return None


def explainer_for(registry: Any, version: Any, model: Any, X: Any) -> ReasonExplainer:
    """A :class:`~modelward.core.compute.reasons.ReasonExplainer` for ``version``.

    Its background is the one stored with the version's newest explanations
    (a fixed reference: the same row gets the same codes in every batch); a
    version never explained uses a sample of ``X``, which the meaning says.
    """
    bg = stored_background(registry, version.id)
    own = bg is None
    if bg is not None:
        try:
            bg = feature_frame(version, model, bg, allow_extra=True)
        except InvalidInput:
            own, bg = True, None
    if own:
        bg = X.iloc[_sample(len(X), BACKGROUND_ROWS, 0)]
    ex = ReasonExplainer(model, [str(c) for c in X.columns], bg)
    if own and ex.kind != "tree":
        ex.meaning += " (the background is a sample of the rows explained: explain the version "
        ex.meaning += "on its validation data first for a fixed reference)"
    return ex


def parse_rows(text: str, n: int) -> list[int]:
    """``"3"``, ``"1-10"``, ``"1,4,9"`` (row numbers from 1) as a checked list."""
    out: list[int] = []
    try:
        for part in str(text).split(","):
            part = part.strip()
            if "-" in part:
                a, b = (int(p) for p in part.split("-", 1))
                out.extend(range(a, b + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise InvalidInput(
            f"rows {text!r}: use a number, a range like 1-10, or a list 1,4,9"
        ) from None
    bad = [r for r in out if not 1 <= r <= n]
    if bad or not out:
        raise InvalidInput(
            f"row {bad[0] if bad else text} is not in the data (it has rows 1 to {n:,})"
        )
    return out


@door("reasons", source="data")
def reasons_for(
    registry: Any,
    ref: str,
    data: str,
    *,
    rows: str | list[int] | None = None,
    k: int = 5,
    allow_extra: bool = False,
    target: str | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Reason codes of rows of ``data`` scored by ``ref``.

    Parameters
    ----------
    target
        The target column, when the data holds it and the version does not
        record it: not an extra column (and named, it must be there).
    rows
        Row numbers from 1 (``"1-10"``, ``[3, 7]``); default every row.
    k
        Codes per row (largest contributions by size).

    Returns
    -------
    dict
        :meth:`~modelward.core.compute.reasons.Reasons.to_json` plus ``ref``.
    """
    version = registry.resolve(ref)
    df = _data.read_table(_data.resolve_source(data, registry))
    if target and target not in df.columns:
        cols = ", ".join(repr(str(c)) for c in list(df.columns)[:20])
        raise InvalidInput(f"the data has no target column {target!r}; its columns are {cols}")
    model = load_artifact(registry.artifacts, version.sha256, version.format)
    X = feature_frame(version, model, df, allow_extra=allow_extra, target=target)
    chosen = (
        list(range(1, len(X) + 1))
        if rows is None
        else parse_rows(rows, len(X))
        if isinstance(rows, str)
        else parse_rows(",".join(map(str, rows)), len(X))
    )
    ex = explainer_for(registry, version, model, X)
    with limited_threads(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ex.explain(X.iloc[[r - 1 for r in chosen]])
    doc = res.to_json(k, chosen)
    doc["ref"] = version.ref
    return doc


def reason_columns(
    registry: Any, version: Any, model: Any, features: list[str], k: int, dask: str | None
) -> ReasonColumns:
    """The reason-code columns of a scoring run (``score --reasons K``)."""
    if dask is not None:
        raise InvalidInput("reason codes are not computed on a Dask cluster; score without --dask")
    if int(k) < 1:
        raise InvalidInput(f"--reasons takes a number of codes from 1, not {k}")
    return ReasonColumns(
        lambda X: explainer_for(registry, version, model, X), int(k), len(features)
    )


def stored_explanations(registry: Any, validation_id: int) -> dict[str, Any] | None:
    """The explanations stored with validation ``validation_id``, or ``None``."""
    val = load_validation(registry, validation_id, predictions=False)
    doc = val.curves.get("explanations")
    return doc if isinstance(doc, dict) else None


def preview_rows(registry: Any, validation_id: int, n: int = 200) -> dict[str, Any]:
    """The first ``n`` rows of a validation: its data and what the model said, for a table.

    Returns
    -------
    dict
        ``columns`` (``row``, the target, ``prediction``, a score column when
        there is one, then the features) and ``rows`` (JSON-safe lists).
    """
    val = load_validation(registry, validation_id)
    assert val.predictions is not None
    p = val.predictions
    df = _data.read_table(_data.resolve_source(val.data_source or "", registry), limit=n)
    k = min(n, len(df), len(p.y_pred))
    cols = ["row", val.target, "prediction"]
    data: list[list[Any]] = [
        list(range(1, k + 1)),
        [_plain(v) for v in np.asarray(p.y_true)[:k].tolist()],
        [_plain(v) for v in np.asarray(p.y_pred)[:k].tolist()],
    ]
    score = p.positive_score()
    if score is not None:
        cols.append("score")
        data.append([_plain(float(v)) for v in np.asarray(score)[:k]])
    for c in df.columns:
        if c == val.target:
            continue
        cols.append(str(c))
        data.append([_plain(v) for v in df[c].iloc[:k].tolist()])
    return {"columns": cols, "rows": [list(r) for r in zip(*data, strict=True)]}
