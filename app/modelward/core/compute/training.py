"""Training jobs: a recipe in, a registered version (with its evidence) out.

:func:`fit_recipe` is the pure part: a DataFrame and a recipe in, a fitted
pipeline with its fold scores out. :func:`train` wraps it as a job on a
registry: it snapshots the training data to Parquet, records a run, and
registers the version only at the very end, so a cancelled or failed job
leaves no version behind (only its run row, marked ``cancelled`` or
``failed``). :func:`retrain_from_lineage` runs a version's recipe again on its
snapshot and reproduces its metrics exactly.
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import modelward.core.compute.data as _data
from modelward import __version__
from modelward.core import duck
from modelward.core.compute.metrics import compute_metrics, predict, primary_metric
from modelward.core.compute.parallel import Compute, run_tasks
from modelward.core.compute.recipe import Recipe, boosting_defaults, resolve_estimator
from modelward.core.errors import IntegrityError, InvalidInput, ModelWardError
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress, sub_progress
from modelward.core.refs import validate_name
from modelward.core.registry.refusals import door
from modelward.core.settings import load_settings
from modelward.core.tables import id_like_frame

__all__ = [
    "FitResult",
    "FoldScore",
    "TrainResult",
    "TrainingFailed",
    "build_pipeline",
    "environment",
    "fit_recipe",
    "retrain_from_lineage",
    "train",
]

ScoreFn = Callable[["FoldScore"], None]


class TrainingFailed(ModelWardError):
    """scikit-learn refused to fit the data (its reason, in one line)."""


@dataclass(frozen=True)
class FoldScore:
    """One finished fit: sent to ``on_score`` as it finishes, for a live chart.

    ``stage`` is ``search`` (a candidate's inner fold) or ``evaluate`` (a fold
    of the recipe's split); ``done``/``total`` count fits across the job.
    """

    stage: str
    candidate: int
    fold: int
    params: dict[str, Any]
    metrics: dict[str, float]
    done: int
    total: int


@dataclass
class FitResult:
    """What :func:`fit_recipe` returns: the fitted pipeline and its evidence."""

    model: Any
    task: str
    metrics: dict[str, float]
    fold_metrics: list[dict[str, float]]
    params: dict[str, Any]
    signature: dict[str, Any]
    search: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TrainResult:
    """A finished training job: the version it registered and how it got there."""

    name: str
    version: int
    version_id: int
    run_id: int
    created: bool
    metrics: dict[str, float]
    fold_metrics: list[dict[str, float]]
    params: dict[str, Any]
    data_fingerprint: str
    snapshot_sha256: str
    timings: dict[str, float]
    reproduced: bool | None = None
    original_metrics: dict[str, float] | None = None
    warnings: list[str] = field(default_factory=list)
    """One line each: what the training left out or would not trust (id-like columns)."""

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["ref"] = self.ref
        return d


# --------------------------------------------------------------------------- pipeline
def build_pipeline(kinds: dict[str, str], estimator: Any) -> Any:
    """Preprocessing from the column kinds, then ``estimator``, in one Pipeline.

    Numbers: median imputation and standard scaling. Categories: a constant
    for missing values and one-hot encoding (unknown categories ignored, rare
    ones grouped). The pipeline takes a DataFrame with the feature columns.
    """
    from sklearn.compose import ColumnTransformer  # deferred: start-up cost
    from sklearn.impute import SimpleImputer  # deferred: start-up cost
    from sklearn.pipeline import Pipeline  # deferred: start-up cost
    from sklearn.preprocessing import OneHotEncoder, StandardScaler  # deferred: start-up cost

    num = [c for c, k in kinds.items() if k == _data.NUMERIC]
    cat = [c for c, k in kinds.items() if k == _data.CATEGORICAL]
    parts: list[tuple[str, Any, list[str]]] = []
    if num:
        parts.append(
            (
                "numeric",
                Pipeline(
                    [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
                ),
                num,
            )
        )
    if cat:
        parts.append(
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
                        (
                            "onehot",
                            OneHotEncoder(
                                handle_unknown="ignore", max_categories=50, sparse_output=False
                            ),
                        ),
                    ]
                ),
                cat,
            )
        )
    prep = ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=True)
    return Pipeline([("prep", prep), ("model", estimator)])


def _make_estimator(recipe: Recipe, params: dict[str, Any]) -> Any:
    cls = resolve_estimator(recipe.estimator)
    est = cls()
    full = dict(params)
    if "random_state" in est.get_params(deep=False) and "random_state" not in full:
        full["random_state"] = recipe.seed
    full.update(boosting_defaults(cls, full))  # XGBoost/LightGBM: one thread per fit
    try:
        return est.set_params(**full)
    except (ValueError, TypeError) as e:
        raise InvalidInput(f"bad parameters for {cls.__name__}: {_first_line(e)}") from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _fit_error(error: str, X: Any) -> str:
    """The fit's error, or what caused it when an overflow turned into 'Input X contains NaN'."""
    if not any(w in error for w in ("NaN", "infinity", "too large")):
        return error
    import numpy as np  # deferred: start-up cost

    for col in X.columns:
        values = X[col]
        if values.dtype.kind != "f":
            continue
        with np.errstate(invalid="ignore"):
            big = np.flatnonzero(np.abs(values.to_numpy()) > _data.SQUARE_MAX)
        if big.size:
            v = float(values.iloc[int(big[0])])
            return (
                f"column {str(col)!r} holds {v:g} (row {int(big[0]) + 1}), so large that the "
                "fit's arithmetic overflows to infinity; scale the column or cap its values "
                f"(scikit-learn said: {error})"
            )
    return error


def _fit_and_score(
    key: tuple[str, int, int],
    pipeline: Any,
    X: Any,
    y: Any,
    train_idx: Any,
    test_idx: Any,
    task: str,
    keep: bool,
) -> tuple[tuple[str, int, int], dict[str, float], Any, str | None]:
    """One fit and its test-fold metrics. Runs in a worker: returns errors as text."""

    from sklearn.base import clone  # deferred: start-up cost

    model = clone(pipeline)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter; metrics tell the story
            model.fit(X.iloc[train_idx], y[train_idx])
            p = predict(model, X.iloc[test_idx], y[test_idx], task)
            metrics = compute_metrics(p)
    except (ValueError, TypeError, ArithmeticError, MemoryError) as e:
        return key, {}, None, f"{type(e).__name__}: {_first_line(e)}"
    return key, metrics, (model if keep else None), None


FEW_HELD_OUT = 30
"""Fewer held-out rows per evaluation than this, and the training run warns."""


# --------------------------------------------------------------------------- splits
def _splits(recipe: Recipe, y: Any, task: str, n: int) -> list[tuple[Any, Any]]:
    import numpy as np  # deferred: start-up cost
    from sklearn import model_selection as ms  # deferred: start-up cost

    s = recipe.split
    idx = np.arange(n)
    if s.kind == "holdout":
        n_test = int(np.ceil(n * s.test_size))
        if n_test < 1 or n - n_test < 2:
            raise InvalidInput(f"the data has {n} rows, too few for a holdout split")
        strat = None
        if task == "classification":
            _, counts = np.unique(y, return_counts=True)
            if counts.min() >= 2 and n_test >= len(counts) and n - n_test >= len(counts):
                strat = y
        tr, te = ms.train_test_split(
            idx, test_size=s.test_size, random_state=recipe.seed, stratify=strat
        )
        return [(np.sort(tr), np.sort(te))]
    if s.kind == "time" and s.folds < 2:
        n_test = int(np.ceil(n * s.test_size))
        if n_test < 1 or n - n_test < 2:
            raise InvalidInput(f"the data has {n} rows, too few for a time-based split")
        return [(idx[: n - n_test], idx[n - n_test :])]
    folds = int(s.folds)
    if n < folds + (1 if s.kind == "time" else 0):
        raise InvalidInput(f"the data has {n} rows, fewer than the {folds} folds of the split")
    if s.kind == "time":
        return list(ms.TimeSeriesSplit(n_splits=folds).split(idx))
    if s.kind == "stratified":
        labels, counts = np.unique(y, return_counts=True)
        if counts.min() < folds:
            raise InvalidInput(
                f"class {labels[counts.argmin()].item()!r} of the target has only "
                f"{counts.min()} row(s), fewer than the {folds} folds"
            )
        return list(ms.StratifiedKFold(folds, shuffle=True, random_state=recipe.seed).split(idx, y))
    return list(ms.KFold(folds, shuffle=True, random_state=recipe.seed).split(idx))


def _search_splits(recipe: Recipe, y: Any, task: str, rows: Any) -> list[tuple[Any, Any]]:
    """Inner folds for the parameter search, over the training rows only."""
    import numpy as np  # deferred: start-up cost
    from sklearn import model_selection as ms  # deferred: start-up cost

    assert recipe.search is not None
    k = int(recipe.search.folds)
    if len(rows) < k:
        raise InvalidInput(
            f"the training part has {len(rows)} rows, fewer than the {k} search folds"
        )
    if recipe.split.kind == "time":
        parts = ms.TimeSeriesSplit(n_splits=k).split(rows)
    elif task == "classification" and np.unique(y[rows], return_counts=True)[1].min() >= k:
        parts = ms.StratifiedKFold(k, shuffle=True, random_state=recipe.seed).split(rows, y[rows])
    else:
        parts = ms.KFold(k, shuffle=True, random_state=recipe.seed).split(rows)
    return [(rows[a], rows[b]) for a, b in parts]


def _candidates(recipe: Recipe) -> list[dict[str, Any]]:
    from sklearn.model_selection import ParameterGrid, ParameterSampler  # deferred: start-up cost

    if recipe.search is None:
        return [dict(recipe.params)]
    s = recipe.search
    if s.kind == "grid":
        grid = ParameterGrid(s.space)
        if len(grid) > 500:
            raise InvalidInput(f"the grid has {len(grid)} combinations; 500 is the limit")
        cands = list(grid)
    else:
        cands = list(ParameterSampler(s.space, n_iter=int(s.n_iter), random_state=recipe.seed))
    return [{**recipe.params, **c} for c in cands]


# --------------------------------------------------------------------------- pure fit
def _class_key(v: Any) -> str:
    """A class as text, so that ``1``, ``1.0`` and ``"1"`` are the same class."""
    v = v.item() if hasattr(v, "item") else v
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def _check_classes(y: Any, recipe: Recipe) -> None:
    """Refuse a target outside the declared classes, or with more classes than the limit."""
    import numpy as np  # deferred: start-up cost

    uniq = np.unique(y)
    if recipe.classes:
        declared = {_class_key(c) for c in recipe.classes}
        keys = [k for k in (_class_key(u) for u in uniq) if k not in declared]
        if keys:
            first = next(i for i, v in enumerate(y) if _class_key(v) == keys[0]) + 1
            shown = ", ".join(repr(k) for k in keys[:5]) + (" …" if len(keys) > 5 else "")
            allowed = ", ".join(repr(_class_key(c)) for c in recipe.classes)
            raise InvalidInput(
                f"the target column {recipe.target!r} holds {len(keys)} value(s) outside the "
                f"declared classes ({allowed}): {shown}, first in row {first}"
            )
    limit = int(load_settings().train_max_classes)
    if len(uniq) > limit:
        raise InvalidInput(
            f"the target column {recipe.target!r} has {len(uniq):,} distinct values, more than "
            f"the limit of {limit} classes (train_max_classes); for a continuous target choose "
            "a regressor"
        )


def _id_columns(
    df: Any, recipe: Recipe, features: list[str]
) -> tuple[list[str], list[str], dict[str, str]]:
    """Features without the id-like columns (unless kept), the warning, and what was left out."""
    found = id_like_frame(df[features]) if features else {}
    if not found:
        return features, [], {}
    one = len(found) == 1
    if one:
        ((c, why),) = found.items()
        looks = f"column {c!r} looks like an identifier ({why})"
    else:
        names = ", ".join(f"{c!r} ({why})" for c, why in found.items())
        looks = f"columns {names} look like identifiers"
    if recipe.features:
        return (
            features,
            [
                f"{looks}: a model that learns from {'it' if one else 'them'} only "
                "memorises rows; leave it out of --features"
            ],
            {},
        )
    if recipe.keep_id_columns:
        return features, [f"{looks}: kept as feature{'' if one else 's'} (--keep-id-columns)"], {}
    kept = [c for c in features if c not in found]
    left_out = {c: f"looks like an identifier ({why})" for c, why in found.items()}
    return (
        kept,
        [
            f"{looks}: left out of the features; keep {'it' if one else 'them'} with "
            "--keep-id-columns"
        ],
        left_out,
    )


def _prepare(df: Any, recipe: Recipe) -> tuple[Any, Any, str, dict[str, Any]]:
    """Checks, ordering and feature typing: ``(X, y, task, signature)``.

    ``signature["warnings"]`` holds what the checks warn about (id-like columns).
    """
    import numpy as np  # deferred: start-up cost

    task = recipe.resolved_task()
    _data.check_target(df, recipe.target, task)
    tcol = recipe.split.time_column
    if recipe.split.kind == "time":
        assert tcol is not None
        if tcol not in df.columns:
            raise InvalidInput(f"the data has no time column {tcol!r}")
        empty = df[tcol].isna()
        if empty.any():
            raise InvalidInput(
                f"the time column {tcol!r} is empty in row {int(np.flatnonzero(empty)[0]) + 1}"
            )
        df = df.sort_values(tcol, kind="mergesort").reset_index(drop=True)
    excluded = {recipe.target, *([tcol] if tcol else [])}
    if recipe.features:
        missing = [c for c in recipe.features if c not in df.columns]
        if missing:
            raise InvalidInput(
                f"the data has no feature column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(m) for m in missing)}"
            )
        features = [c for c in recipe.features if c not in excluded]
    else:
        features = [str(c) for c in df.columns if c not in excluded]
    features, warned, left_out = _id_columns(df, recipe, features)
    kinds, dropped = _data.column_kinds(df, features, explicit=bool(recipe.features))
    # Left out, not unknown: validation and intake take files that still carry them.
    dropped = {**left_out, **dropped}
    if not kinds:
        raise InvalidInput("no usable feature columns: every column is the target or left out")
    X = _data.feature_frame(df, kinds)
    y_series = df[recipe.target]
    if task == "regression":
        y = y_series.to_numpy(dtype=float)
    elif str(y_series.dtype) in ("string", "str") or y_series.dtype == object:
        y = y_series.astype(str).to_numpy(dtype=object)
    else:
        y = y_series.to_numpy()
    if task == "classification":
        _check_classes(y, recipe)
    signature: dict[str, Any] = {
        "features": [{"name": c, "kind": k, "dtype": str(df[c].dtype)} for c, k in kinds.items()],
        "target": recipe.target,
        "task": task,
        "time_column": tcol,
        "dropped": dropped,
    }
    if task == "classification":
        signature["classes"] = [v.item() if hasattr(v, "item") else v for v in np.unique(y)]
    if warned:
        signature["warnings"] = warned
    return X, y, task, signature


def fit_recipe(
    df: Any,
    recipe: Recipe,
    *,
    compute: Compute | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    on_score: ScoreFn | None = None,
) -> FitResult:
    """Fit a recipe on a DataFrame: search, validate by the split, fit the final model.

    The search (if any) scores candidates by cross-validation on the training
    rows (for k-fold splits, all rows) with the primary metric (ROC AUC,
    balanced accuracy or R²). The best candidate is then scored on the split;
    the registered model is the holdout model itself, or for k-fold splits a
    refit on all rows. Cancel is honoured between fits.

    Raises
    ------
    InvalidInput
        Bad data or recipe, named precisely.
    TrainingFailed
        scikit-learn refused to fit (its reason, in one line).
    Cancelled
        ``cancel`` was set.
    """
    import numpy as np  # deferred: start-up cost

    recipe.check()
    compute = compute or Compute()
    progress(0.0, "checking the data")
    X, y, task, signature = _prepare(df, recipe)
    n = len(X)
    splits = _splits(recipe, y, task, n)
    held = min(len(te) for _tr, te in splits)
    if held < FEW_HELD_OUT:
        # taken (a first look at a small table is legitimate), but said, and kept with the version
        signature.setdefault("warnings", []).append(
            f"the metrics come from {held} held-out row(s) per evaluation; "
            f"with fewer than {FEW_HELD_OUT} they say little about the model"
        )
    check(cancel)
    candidates = _candidates(recipe)
    searching = recipe.search is not None and len(candidates) > 1
    train_rows = np.arange(n) if len(splits) > 1 else splits[0][0]
    inner = _search_splits(recipe, y, task, train_rows) if searching else []
    refit = len(splits) > 1
    total = (len(candidates) * len(inner) if searching else 0) + len(splits) + int(refit)
    done = 0
    n_classes = len(signature.get("classes", [])) or 2
    primary = primary_metric(task, n_classes)

    def run(
        stage: str, jobs: list[tuple[Any, ...]], params_of: Callable[[int], dict[str, Any]]
    ) -> dict[tuple[str, int, int], tuple[dict[str, float], Any]]:
        nonlocal done
        out: dict[tuple[str, int, int], tuple[dict[str, float], Any]] = {}
        gen = run_tasks(_fit_and_score, jobs, compute)
        try:
            for key, metrics, model, error in gen:
                if error is not None:
                    raise TrainingFailed(
                        f"{recipe.estimator} could not be fitted ({stage} fold {key[2] + 1}): "
                        f"{_fit_error(error, X)}"
                    )
                out[key] = (metrics, model)
                done += 1
                progress(done / total, f"{stage}: {done} of {total} fits")
                if on_score is not None:
                    on_score(
                        FoldScore(stage, key[1], key[2], params_of(key[1]), metrics, done, total)
                    )
                check(cancel)
        finally:
            close = getattr(gen, "close", None)
            if close is not None:
                close()
        return out

    search_log: list[dict[str, Any]] = []
    best = 0
    if searching:
        jobs = [
            (
                ("search", ci, fi),
                build_pipeline(_kinds(signature), _make_estimator(recipe, cand)),
                X,
                y,
                tr,
                te,
                task,
                False,
            )
            for ci, cand in enumerate(candidates)
            for fi, (tr, te) in enumerate(inner)
        ]
        res = run("search", jobs, lambda ci: candidates[ci])
        for ci, cand in enumerate(candidates):
            scores = [res[("search", ci, fi)][0].get(primary, np.nan) for fi in range(len(inner))]
            search_log.append(
                {
                    "params": cand,
                    primary: float(np.nanmean(scores)) if np.isfinite(scores).any() else None,
                }
            )
        means = [s[primary] if s[primary] is not None else -np.inf for s in search_log]
        best = int(np.argmax(means))
    params = candidates[best]
    pipeline = build_pipeline(_kinds(signature), _make_estimator(recipe, params))
    jobs = [
        (("evaluate", best, fi), pipeline, X, y, tr, te, task, not refit)
        for fi, (tr, te) in enumerate(splits)
    ]
    res = run("evaluate", jobs, lambda _ci: params)
    fold_metrics = [res[("evaluate", best, fi)][0] for fi in range(len(splits))]
    keys = sorted(set().union(*fold_metrics))
    metrics = {k: float(np.mean([fm[k] for fm in fold_metrics if k in fm])) for k in keys}
    if refit:
        check(cancel)
        progress(done / total, "fitting the final model on all rows")
        _, _, model, error = _fit_and_score(
            ("final", best, 0), pipeline, X, y, np.arange(n), np.arange(min(n, 1)), task, True
        )
        if error is not None:
            raise TrainingFailed(f"{recipe.estimator} could not be fitted: {_fit_error(error, X)}")
        done += 1
        progress(1.0, "fitted")
    else:
        model = res[("evaluate", best, 0)][1]
    return FitResult(
        model=model,
        task=task,
        metrics=metrics,
        fold_metrics=fold_metrics,
        params=params,
        signature=signature,
        search=search_log,
        warnings=list(signature.get("warnings", [])),
    )


def _kinds(signature: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["kind"] for c in signature["features"]}


# --------------------------------------------------------------------------- jobs
def environment() -> dict[str, str]:
    """Versions that decide whether a model reproduces: Python, libraries, platform."""
    import numpy  # deferred: start-up cost
    import pandas  # deferred: start-up cost
    import scipy  # deferred: start-up cost
    import sklearn  # deferred: start-up cost
    import skops  # deferred: start-up cost

    return {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "pandas": pandas.__version__,
        "duckdb": duck.VERSION,
        "skops": skops.__version__,
        "modelward": __version__,
        "platform": platform.platform(),
    }


def _json_safe(value: Any) -> Any:
    return json.loads(
        json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    )


@door("train", source="recipe.data", ref="name")
def train(
    registry: Any,
    recipe: Recipe,
    name: str,
    *,
    compute: Compute | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    on_score: ScoreFn | None = None,
    description: str | None = None,
) -> TrainResult:
    """Train ``recipe`` and register the result as a new version of model ``name``.

    Steps: snapshot the data to Parquet (DuckDB) and read it back, fit
    (:func:`fit_recipe`), save the pipeline with skops, then store the model
    and the snapshot in the artifact store and register the version with its
    metrics and lineage (recipe, data fingerprint, snapshot, environment,
    seed, run id). The version is registered last, in one transaction, so a
    cancelled or failed job leaves no version behind; its run is marked
    ``cancelled`` or ``failed`` with the reason.

    Parameters
    ----------
    registry
        The :class:`~modelward.core.registry.Registry`.
    recipe
        What to train.
    name
        Model name; the version is added under it.
    compute
        Parallelism (:class:`~modelward.core.compute.parallel.Compute`).
    progress, cancel
        Progress callback and cancel token (checked between fits).
    on_score
        Called with a :class:`FoldScore` as each fit finishes (live charts).

    Returns
    -------
    TrainResult

    Raises
    ------
    InvalidInput, NotFound, TrainingFailed, Cancelled
    """

    validate_name(name)
    recipe.check()
    return _train_job(
        registry,
        recipe,
        name,
        source=None,
        compute=compute,
        progress=progress,
        cancel=cancel,
        on_score=on_score,
        description=description,
    )


def _train_job(
    registry: Any,
    recipe: Recipe,
    name: str,
    *,
    source: tuple[Path, str] | None,
    compute: Compute | None,
    progress: ProgressFn,
    cancel: CancelToken | None,
    on_score: ScoreFn | None,
    description: str | None = None,
    extra_lineage: dict[str, Any] | None = None,
) -> TrainResult:
    import skops.io as sio  # deferred: start-up cost

    compute = compute or Compute()
    timings: dict[str, float] = {}
    # The file is found before the run starts: one that cannot be looked at (a
    # symlink loop) is refused at the door (``input.refused``), as a bad file is
    # when the command line opens it first, not a failed run.
    src = _data.resolve_source(recipe.data, registry) if source is None else source[0]
    run_id = registry.create_run(
        "train", params={"name": name, "recipe": recipe.to_json(), **(extra_lineage or {})}
    )
    with registry.recording_failure(
        run_id, wrap=lambda msg: TrainingFailed(f"training failed: {msg}")
    ):
        with tempfile.TemporaryDirectory(prefix="modelward-train-") as tmp:
            t0 = time.perf_counter()
            progress(0.0, "reading the data")
            if source is None:
                snapshot = Path(tmp) / "snapshot.parquet"
                # a CSV's yes/no target stays yes/no: the classes are the file's words
                _data.write_parquet(src, snapshot, words=[recipe.target] if recipe.target else [])
                known_sha = None
            else:
                snapshot, known_sha = source
            timings["snapshot_s"] = time.perf_counter() - t0
            check(cancel)
            t0 = time.perf_counter()
            df = _data.read_table(snapshot, label=src.name)  # a refusal names the user's file
            fingerprint = _data.fingerprint_frame(df)
            timings["read_s"] = time.perf_counter() - t0
            check(cancel)
            t0 = time.perf_counter()
            fitted = fit_recipe(
                df,
                recipe,
                compute=compute,
                progress=sub_progress(progress, 0.05, 0.9),
                cancel=cancel,
                on_score=on_score,
            )
            timings["fit_s"] = time.perf_counter() - t0
            check(cancel)
            t0 = time.perf_counter()
            progress(0.9, "saving the model")
            model_path = Path(tmp) / "model.skops"
            sio.dump(fitted.model, model_path)
            check(cancel)  # the last point where cancel is honoured: nothing stored yet
            t1 = time.perf_counter()
            if known_sha is None or not registry.artifacts.has(known_sha):
                snap_sha, _ = registry.artifacts.put_file(snapshot)
            else:
                snap_sha = known_sha
            timings["snapshot_s"] += time.perf_counter() - t1
            sha, size = registry.artifacts.put_file(model_path)
            cls = resolve_estimator(recipe.estimator)
            lineage = {
                "source": "training",
                "recipe": recipe.to_json(),
                "data": str(src),
                "data_fingerprint": fingerprint,
                "data_rows": len(df),
                "snapshot_sha256": snap_sha,
                "snapshot_format": "parquet",
                "environment": environment(),
                "seed": recipe.seed,
                "run_id": run_id,
                "best_params": _json_safe(fitted.params),
                **(extra_lineage or {}),
            }
            progress(0.97, "registering")
            # One connection for the last writes (version, then run): the registry
            # is held for a moment instead of being opened once per write.
            with registry.session():
                res = registry.add_version(
                    name,
                    sha256=sha,
                    size=size,
                    format="skops",
                    estimator_class=f"{cls.__module__}.{cls.__name__}",
                    params=_json_safe(fitted.model.named_steps["model"].get_params(deep=False)),
                    signature=_json_safe(fitted.signature),
                    lineage=lineage,
                    metrics=fitted.metrics,
                    task=fitted.task,
                    description=description,
                )
                timings["save_s"] = time.perf_counter() - t0
                for digest in (sha, snap_sha):  # recorded: no longer a crash's leftover
                    registry.artifacts.settle(digest)
                v = res.version
                result = TrainResult(
                    name=v.name,
                    version=v.version,
                    version_id=v.id,
                    run_id=run_id,
                    created=res.created,
                    metrics=dict(fitted.metrics),
                    fold_metrics=fitted.fold_metrics,
                    params=_json_safe(fitted.params),
                    data_fingerprint=fingerprint,
                    snapshot_sha256=snap_sha,
                    timings=timings,
                    warnings=fitted.warnings,
                )
                registry.finish_run(
                    run_id,
                    "finished",
                    result={
                        "version": v.ref,
                        "metrics": result.metrics,
                        "fold_metrics": result.fold_metrics,
                        "search": _json_safe(fitted.search),
                        "timings": timings,
                        "warnings": fitted.warnings,
                    },
                    version_id=v.id,
                )
    progress(1.0, f"registered {v.ref}")
    return result


def retrain_from_lineage(
    registry: Any,
    ref: str,
    *,
    name: str | None = None,
    compute: Compute | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    on_score: ScoreFn | None = None,
) -> TrainResult:
    """Train a version's recipe again on its training-data snapshot.

    The result is registered under ``name`` (default: the same model) with
    ``retrained_from`` in its lineage; ``reproduced`` tells whether every
    metric equals the original's exactly.

    Raises
    ------
    InvalidInput
        The version was not trained by ModelWard (no recipe or snapshot).
    IntegrityError
        The snapshot is missing or no longer matches its fingerprint.
    """
    v = registry.resolve(ref)
    lin = v.lineage or {}
    if "recipe" not in lin or "snapshot_sha256" not in lin:
        raise InvalidInput(
            f"{v.ref} was not trained by ModelWard: its lineage has no recipe and data snapshot"
        )
    recipe = Recipe.from_json(lin["recipe"])
    snap_sha = str(lin["snapshot_sha256"])
    path = registry.artifacts.verify(snap_sha)
    expected = lin.get("data_fingerprint")
    if expected:
        actual = _data.fingerprint_frame(_data.read_table(path))
        if actual != expected:
            raise IntegrityError(
                f"the training data snapshot of {v.ref} no longer matches its fingerprint"
            )
    res = _train_job(
        registry,
        recipe,
        name or v.name,
        source=(path, snap_sha),
        compute=compute,
        progress=progress,
        cancel=cancel,
        on_score=on_score,
        extra_lineage={"retrained_from": v.ref},
    )
    same = set(res.metrics) == set(v.metrics) and all(
        res.metrics[k] == v.metrics[k] for k in v.metrics
    )

    return replace(res, reproduced=same, original_metrics=dict(v.metrics))
