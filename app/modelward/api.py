"""The notebook face of ModelWard.

Examples
--------
>>> from modelward import api
>>> v = api.log_model(clf, "credit-risk", X=X_train, y=y_train,
...                   metrics={"roc_auc": 0.91})          # doctest: +SKIP
>>> model = api.load_model("credit-risk@champion")        # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from modelward.core.domain import ModelInfo, ModelVersion
from modelward.core.paths import resolve_home
from modelward.core.registry import Registry
from modelward.core.registry.connection import HOLD

if TYPE_CHECKING:
    from modelward.core.compute.score import ScoreResult
    from modelward.core.compute.validation import DecisionThreshold, ValidationResult
    from modelward.core.domain import RegisterResult
    from modelward.core.monitoring.drift import DriftReport
    from modelward.core.monitoring.profile import ReferenceProfile
    from modelward.core.monitoring.service import BatchResult

__all__ = [
    "add_labels",
    "add_shadow",
    "drift",
    "list_models",
    "load_model",
    "log_model",
    "monitor",
    "open_registry",
    "prediction_report",
    "profile",
    "register",
    "remove_shadow",
    "score",
    "get_threshold",
    "set_threshold",
    "validate",
    "explain",
    "reasons",
]

RegistryLike = Registry | str | os.PathLike[str] | None
DataLike = Any
"""A CSV or Parquet path, a pandas DataFrame, or a mapping of column name to array."""


_OPEN: dict[str, Registry] = {}
_OPEN_LOCK = threading.Lock()


def open_registry(registry: RegistryLike = None) -> Registry:
    """A :class:`Registry` for ``registry`` (a path, ``None`` for the default, or one).

    Paths are opened once per process and kept: a notebook that logs in a loop
    reuses the connection, which is held between calls (no reopen) and let go
    as soon as the window or the CLI knocks, or after a long idle time.
    """
    if isinstance(registry, Registry):
        return registry
    home = str(resolve_home(registry))
    with _OPEN_LOCK:
        reg = _OPEN.get(home)
        if reg is None:
            reg = Registry(home, idle_release=HOLD)
            _OPEN[home] = reg
        return reg


def log_model(
    estimator: Any,
    name: str,
    X: Any = None,
    y: Any = None,
    metrics: dict[str, float] | None = None,
    registry: RegistryLike = None,
    *,
    tags: dict[str, str] | None = None,
    description: str | None = None,
    params: dict[str, Any] | None = None,
) -> ModelVersion:
    """Save ``estimator`` safely and register it as a new version.

    scikit-learn estimators are saved as skops; XGBoost, LightGBM and CatBoost
    models in their own library's format. The saved bytes are proved to load
    back before anything is recorded.

    Parameters
    ----------
    estimator
        A scikit-learn estimator (usually fitted).
    name
        Model name; created on first use.
    X, y
        Optional training data: records its fingerprint, and the signature
        (column names and types) when ``X`` has columns.
    metrics
        Scalar metrics to store with the version (searchable: ``roc_auc>0.8``).
    registry
        A registry path or :class:`Registry`; default ``MODELWARD_HOME`` or the
        user data folder.
    tags, description
        Recorded with the version.
    params
        Parameters you state (``{"learning_rate": 0.1, "features": "v2"}``):
        scalars, searchable as ``param.NAME`` (``param.features=v2``). The
        estimator's own hyperparameters are recorded anyway (and searchable
        the same way); a stated parameter of the same name wins in the search.

    Returns
    -------
    ModelVersion
        The new (or, for identical bytes, the existing) version.
    """
    # deferred: start-up cost (the intake door brings scikit-learn and NumPy)
    from modelward.core.intake.estimator import log_estimator

    return log_estimator(
        open_registry(registry),
        estimator,
        name,
        X=X,
        y=y,
        metrics=metrics,
        tags=tags,
        description=description,
        params=params,
    )


def load_model(ref: str, registry: RegistryLike = None) -> Any:
    """Load ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS`` through the safe loader."""
    from modelward.core.artifacts.safeload import load_artifact

    reg = open_registry(registry)
    v = reg.resolve(ref)
    return load_artifact(reg.artifacts, v.sha256, v.format, registry=reg)


def register(
    path: str | os.PathLike[str],
    name: str | None = None,
    registry: RegistryLike = None,
    *,
    metrics: dict[str, float] | None = None,
    params: dict[str, Any] | None = None,
) -> RegisterResult:
    """Register a model file (or an MLflow model folder) through the intake door.

    The same door as ``modelward register`` and the watched folders: triage by
    bytes, a copy into the store, the checks in the sandbox (a pickle is never
    loaded in this process). ``name`` defaults to one made from the file name.

    Raises
    ------
    RejectedFile
        The file was refused; it is quarantined, the refusal audited, and the
        sentence says why.
    """
    # deferred: start-up cost (the intake door)
    from modelward.core.intake import model_name_for
    from modelward.core.intake.mlflow import accept_model_path

    reg = open_registry(registry)
    return accept_model_path(
        reg, path, name=name or model_name_for(path), metrics=metrics, params=params
    ).register_result()


def list_models(registry: RegistryLike = None) -> list[ModelInfo]:
    """All models of the registry with their version counts."""
    return open_registry(registry).list_models()


def score(
    ref: str,
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    registry: RegistryLike = None,
    *,
    id_columns: list[str] | tuple[str, ...] = (),
    threshold: float | None = None,
    fmt: str | None = None,
    threads: int | None = None,
    log_rows: bool = False,
    dask: str | None = None,
    reasons: int = 0,
) -> ScoreResult:
    """Score a CSV or Parquet file with ``ref`` and write the predictions to ``out``.

    The same run as ``modelward score``: the output is written atomically with
    ``<out>.manifest.json`` beside it, and rows that cannot be scored go to
    ``<out>.rejected.csv`` with a reason.

    Parameters
    ----------
    ref
        ``NAME:VERSION`` or ``NAME@ALIAS`` (resolved once).
    data, out
        Input file (or ``dataset:ID``) and output file (``.csv`` or ``.parquet``).
    registry
        A registry path or :class:`Registry`.
    id_columns
        Columns passed through to the output.
    threshold
        Decision threshold of a binary classifier (default: the stored one).
    fmt
        ``csv`` or ``parquet`` (default: by the output's extension).
    threads
        Threads of the job (default: every core).
    log_rows
        Keep every prediction in the prediction log (a summary is always
        kept), so labels that arrive later (:func:`add_labels`) join them by id.
    dask
        ``tcp://host:port`` of a Dask scheduler: a Parquet input is scored
        across the cluster's workers.
    reasons
        Add each row's top ``reasons`` reason codes as columns (see :func:`reasons`).

    Returns
    -------
    ScoreResult
        Row counts, paths and hashes of what was written.
    """
    # deferred: start-up cost (scoring brings DuckDB, pandas and scikit-learn)
    from modelward.core.compute.score import score_file
    from modelward.core.monitoring import kept_pass

    return score_file(
        open_registry(registry),
        ref,
        data,
        out,
        id_columns=id_columns,
        fmt=fmt,
        threshold=threshold,
        threads=threads or os.cpu_count() or 1,
        log="rows" if log_rows else "summary",
        dask=dask,
        reasons=reasons,
        log_pass=kept_pass,  # a later check of a batch logged row by row does not read it
    )


def add_shadow(
    name: str, version: int, registry: RegistryLike = None, *, reason: str | None = None
) -> str:
    """Let ``name:version`` score ``name``'s scoring-folder batches in the shadow (audited).

    Its predictions go to the prediction log, never to the outbox; see
    :func:`prediction_report`. Returns the version's reference.
    """
    from modelward.core.registry.predictions import add_shadow as _add

    return _add(open_registry(registry), name, version, reason=reason)


def remove_shadow(
    name: str, version: int, registry: RegistryLike = None, *, reason: str | None = None
) -> str:
    """Stop ``name:version`` scoring in the shadow (audited)."""
    from modelward.core.registry.predictions import remove_shadow as _remove

    return _remove(open_registry(registry), name, version, reason=reason)


def add_labels(
    name: str,
    data: str | os.PathLike[str],
    id_column: str,
    registry: RegistryLike = None,
    *,
    label_column: str | None = None,
) -> dict[str, Any]:
    """Store labels that arrived later for ``name``'s scored rows, keyed by ``id_column``.

    Returns ``rows`` stored, the ``label_column`` used and how many ids
    ``matched`` predictions logged at row level.
    """
    # deferred: start-up cost (the strict reader brings DuckDB)
    from modelward.core.compute.predlog import add_labels as _add

    return _add(open_registry(registry), name, data, id_column=id_column, label_column=label_column)


def prediction_report(name: str, registry: RegistryLike = None) -> dict[str, Any]:
    """The prediction log of ``name`` per version: champion and shadow challengers.

    Per version: batches and rows scored, mean score; for a shadow its
    ``agreement`` with the champion, ``mean_abs_score_diff`` and
    ``score_psi``; ``realized`` metrics where labels arrived.
    """
    # deferred: start-up cost (NumPy and scikit-learn)
    from modelward.core.compute.predlog import prediction_report as _report

    return _report(open_registry(registry), name)


# ---------------------------------------------------------------- credit-style validation (#19)
def validate(
    ref: str,
    data: str | os.PathLike[str],
    registry: RegistryLike = None,
    *,
    target: str | None = None,
    n_boot: int = 500,
    seed: int = 0,
    band_edges: Any = None,
) -> ValidationResult:
    """Validate ``ref`` on a labelled table: metrics with bootstrap intervals, Gini, KS,
    lift and gains, score bands and the calibration test (stored, audited).

    See :class:`modelward.core.compute.validation.ValidationResult` for what
    ``curves`` holds.
    """
    # deferred: start-up cost (NumPy, pandas and scikit-learn)
    from modelward.core.compute.validation import validate as _validate

    return _validate(
        open_registry(registry),
        ref,
        str(data),
        target=target,
        n_boot=n_boot,
        seed=seed,
        band_edges=band_edges,
    )


def set_threshold(
    ref: str,
    threshold: float,
    registry: RegistryLike = None,
    *,
    cost_fp: float | None = None,
    cost_fn: float | None = None,
    reason: str | None = None,
) -> DecisionThreshold:
    """Store ``threshold`` as the decision threshold of the binary model ``ref`` (audited).

    ``score`` then decides each row with it (score ≥ threshold: the second
    class). A threshold outside [0, 1] or a model that is not a binary
    classifier is refused (:class:`~modelward.core.errors.InvalidInput`), and
    the refusal is audited.
    """
    # deferred: start-up cost
    from modelward.core.compute.validation import set_decision_threshold

    return set_decision_threshold(
        open_registry(registry), ref, threshold, cost_fp=cost_fp, cost_fn=cost_fn, reason=reason
    )


def get_threshold(ref: str, registry: RegistryLike = None) -> DecisionThreshold:
    """The decision threshold stored with ``ref`` (``threshold`` is ``None`` when there is none)."""
    # deferred: start-up cost
    from modelward.core.compute.validation import decision_threshold

    return decision_threshold(open_registry(registry), ref)


# --------------------------------------------------------------------------- explanations (#19)
def explain(
    ref: str,
    data: str | os.PathLike[str],
    registry: RegistryLike = None,
    *,
    target: str | None = None,
    allow_extra: bool = False,
    n_repeats: int = 5,
    top: int = 5,
    max_rows: int = 100_000,
) -> dict[str, Any]:
    """What drives ``ref`` on the labelled table ``data``: importance and partial dependence.

    Validates ``ref`` on ``data`` (or reuses the stored validation), computes
    permutation importance and partial dependence with ICE curves, and stores
    them with the validation (``curves["explanations"]``).

    Returns
    -------
    dict
        ``validation_id`` and ``explanations`` (``method``, ``rows_used``,
        ``importance``, ``pdp``, ``background``).
    """
    # deferred: start-up cost (scikit-learn)
    from modelward.core.compute.explain import explain_version

    vid, doc = explain_version(
        open_registry(registry),
        ref,
        str(data),
        target=target,
        allow_extra=allow_extra,
        n_repeats=n_repeats,
        top=top,
        max_rows=max_rows,
    )
    return {"validation_id": vid, "explanations": doc}


def reasons(
    ref: str,
    data: str | os.PathLike[str],
    registry: RegistryLike = None,
    *,
    rows: str | list[int] | None = None,
    k: int = 5,
    allow_extra: bool = False,
    target: str | None = None,
) -> dict[str, Any]:
    """Reason codes: each row's top ``k`` features with signed contributions.

    Parameters
    ----------
    rows
        Row numbers from 1 (``"1-10"`` or ``[3, 7]``); default every row.
    target
        The data's target column, when it holds one the version does not
        record: not taken for a column the model was not trained on.

    Returns
    -------
    dict
        ``method`` (exact linear, TreeSHAP or the sampled fallback), ``meaning``,
        and ``rows``: per row ``row``, ``explains`` (log-odds, probability or
        prediction), ``base``, ``output`` and ``reasons`` (``feature``,
        ``contribution``); ``base`` plus all contributions is ``output``.
    """
    # deferred: start-up cost (scikit-learn)
    from modelward.core.compute.explain import reasons_for

    return reasons_for(
        open_registry(registry),
        ref,
        str(data),
        rows=rows,
        k=k,
        allow_extra=allow_extra,
        target=target,
    )


# --------------------------------------------------------------------------------- monitoring
def _columns(data: DataLike) -> Any:
    """A DataFrame as a mapping of column arrays; a path or a mapping as given."""
    if hasattr(data, "columns") and hasattr(data, "to_numpy"):
        return {str(c): data[c].to_numpy() for c in data.columns}
    return data


def profile(
    ref: str,
    reference: DataLike,
    registry: RegistryLike = None,
    *,
    target: str | None = None,
    features: list[str] | None = None,
    categorical: list[str] | tuple[str, ...] = (),
    exclude: list[str] | tuple[str, ...] = (),
    protected: str | None = None,
) -> ReferenceProfile:
    """Profile the reference data of ``ref`` (with its model's scores) and store it (audited).

    What ``modelward monitor REF --reference PATH`` does: every later batch
    check of ``ref`` compares with this profile. ``reference`` is a file, a
    DataFrame or a mapping of column arrays; ``target`` its label column,
    ``protected`` a protected attribute whose groups are compared.
    """
    # deferred: start-up cost (NumPy and the drift statistics)
    from modelward.core.monitoring.service import profile_version

    return profile_version(
        open_registry(registry),
        ref,
        _columns(reference),
        target=target,
        features=features,
        categorical=categorical,
        exclude=exclude,
        protected=protected,
    )


def monitor(
    ref: str,
    batch: DataLike,
    registry: RegistryLike = None,
    *,
    name: str | None = None,
    batch_time: str | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    segment_by: str | None = None,
    protected: str | None = None,
    date_column: str | None = None,
    log_rows: bool = False,
    strict_columns: bool = False,
    rescore: bool = False,
) -> BatchResult:
    """Check one batch for ``ref`` against its stored profile, store the results (audited).

    The same check as ``modelward monitor REF --batch PATH``: the batch's
    columns against the model's (extra ones kept and listed in
    ``extra_columns``, refused with ``strict_columns``), drift per column,
    data quality, the intake's flags (``intake``), performance by model kind
    (realized with ``label_column``, estimated without), segments and the
    gaps between protected groups (an alert when one crosses its threshold).
    A batch that ``score`` already scored with its rows logged is not scored
    again unless ``rescore``.

    Parameters
    ----------
    batch
        A CSV or Parquet file, a DataFrame or a mapping of column arrays.
    name, batch_time
        How the batch is shown, and when its rows happened (default: a date in
        the file name, then a date column, then now).
    id_column, log_rows
        Row ids, and whether to keep every row's prediction (labels that
        arrive later join them by id).

    Raises
    ------
    InvalidInput
        An unreadable file, or columns missing, of the wrong type (or extra,
        with ``strict_columns``); nothing is stored, and the refusal is audited.
    NotFound
        ``ref`` has no reference profile yet (:func:`profile` first).
    """
    # deferred: start-up cost (NumPy, the drift statistics, the model loader)
    from modelward.core.monitoring.service import check_batch
    from modelward.core.policies.engine import group_gap_alert

    reg = open_registry(registry)
    res = check_batch(
        reg,
        ref,
        _columns(batch),
        name=name,
        batch_time=batch_time,
        id_column=id_column,
        label_column=label_column,
        segment_by=segment_by,
        protected=protected,
        date_column=date_column,
        log_rows=True if log_rows else None,
        reuse_log=not rescore,
        intake_scan=True,
        strict_columns=strict_columns,
    )
    if res.groups.get("crossed"):
        group_gap_alert(reg, res.model_name, res.batch_id)
    return res


def drift(
    reference: DataLike,
    current: DataLike,
    *,
    features: list[str] | None = None,
    categorical: list[str] | tuple[str, ...] = (),
    method: str | None = None,
) -> DriftReport:
    """Compare two tables column by column, with no model and no registry (``modelward drift``).

    ``reference`` and ``current`` are files, DataFrames or mappings of column
    arrays; ``method`` one statistic everywhere (``psi``, ``ks``,
    ``wasserstein``, ``jensenshannon``, ``chi2``; default the combined lenses).
    The report's ``drifted``, ``drift_share`` and ``columns`` say what moved.
    """
    # deferred: start-up cost (NumPy and the drift statistics)
    from modelward.core.monitoring.drift import drift_between

    return drift_between(
        _columns(reference),
        _columns(current),
        features=features,
        categorical=categorical,
        methods={"*": method} if method else None,
    )
