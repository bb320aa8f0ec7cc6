"""Convert a registered version to another format: skops, its library's own, or ONNX.

``--to native`` is for a reviewer-trusted pickle of an XGBoost, LightGBM or
CatBoost model: the sandbox worker unpickles it with the reviewer's approved
globals and saves it natively (:func:`convert_to_native`); the app never
unpickles it.

Both conversions load the source with the restricted loader (after its
SHA-256 is verified), write the new file, and send it through the intake door
like any file from outside; the new version's lineage names the source
(:func:`conversion_lineage`), and its metrics and tags are copied.

An ONNX conversion is only registered when the ONNX model gives the same
answers as the source on real rows: the maximum absolute difference of the
probabilities (classifiers) or predictions (regressors) on the version's
validation data (or a given file) is stored in the new version's lineage
(``onnx_parity``), and a difference above the tolerance refuses the
conversion: nothing is registered, the ONNX bytes are quarantined with the
reason and one ``ingest.rejected`` event is audited.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import modelward.core.compute.data as _data
from modelward.core.artifacts.native import CLASS_LABELS, load_native, onnx_per_class_outputs
from modelward.core.artifacts.safeload import approved_globals, load_artifact
from modelward.core.artifacts.sandbox import default_sandbox
from modelward.core.errors import InvalidInput, NotFound, RejectedFile
from modelward.core.intake.door import accept_model_file
from modelward.core.intake.quarantine import quarantine

if TYPE_CHECKING:
    from modelward.core.domain import ModelVersion, RegisterResult
    from modelward.core.registry import Registry

ONNX = "onnx"
NATIVE = "native"
TARGETS = ("skops", ONNX, NATIVE)
DEFAULT_TOLERANCE = 1e-4
"""Largest absolute difference of a probability (or prediction) an ONNX conversion may show."""
PARITY_ROWS = 100_000
"""Rows of the parity data compared at most (the first ones)."""
MISSING_TEXT = "nan"
"""What a missing category is fed to a converted ONNX model as (ONNX strings have no NaN;
the native adapter feeds text columns with ``astype(str)``, which writes NaN so)."""
META_INPUTS = "modelward.inputs"
"""ONNX metadata key: the feature columns in order, ``[{name, kind}]`` (JSON)."""
META_CLASSES = CLASS_LABELS  # a classifier's classes, in probability-column order (JSON)
META_TASK = "modelward.task"


def conversion_lineage(src: ModelVersion, **extra: Any) -> dict[str, Any]:
    """The lineage of a version made from ``src`` by a conversion or an export.

    Parameters
    ----------
    src
        The source version.
    **extra
        More entries (``onnx_parity``, ...).
    """
    return {
        "source": f"converted from {src.ref}",
        "converted_from": src.ref,
        "converted_from_sha256": src.sha256,
        "converted_from_format": src.format,
        **extra,
    }


def convert_version(
    registry: Registry,
    ref: str,
    *,
    to: str = "skops",
    data: str | None = None,
    tolerance: float | None = None,
) -> RegisterResult:
    """Re-save a registered version as skops or ONNX and register it as a new version.

    Parameters
    ----------
    registry
        The registry.
    ref
        ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS``.
    to
        ``"skops"``, ``"onnx"``, or ``"native"`` (see :func:`convert_to_native`).
    data
        ONNX only: the table (CSV, Parquet or ``dataset:ID``) the parity check
        scores; default the version's newest validation data, else its
        training snapshot.
    tolerance
        ONNX only: the largest absolute difference of a probability
        (classifiers) or prediction (regressors) accepted; default
        :data:`DEFAULT_TOLERANCE`.

    Returns
    -------
    RegisterResult
        The new version (or the existing one with identical bytes).

    Raises
    ------
    InvalidInput
        An unknown target, a version in that format already, no data for the
        parity check, or a model skl2onnx cannot convert.
    RejectedFile
        The ONNX model differs from the source by more than the tolerance
        (audited, quarantined, nothing registered).
    """
    if to not in TARGETS:
        raise InvalidInput(f"cannot convert to {to!r}; supported: {', '.join(TARGETS)}")
    if to != ONNX and (data is not None or tolerance is not None):
        raise InvalidInput("--data and --tolerance belong to the parity check of --to onnx")
    if to == NATIVE:
        return convert_to_native(registry, ref)
    src = registry.resolve(ref)
    if src.format == to:
        raise InvalidInput(f"{src.ref} is already in the {to} format")
    if to == ONNX:
        return _to_onnx(registry, src, data=data, tolerance=tolerance)
    import skops.io as sio  # deferred: start-up cost

    model = load_artifact(registry.artifacts, src.sha256, src.format, registry=registry)
    with tempfile.TemporaryDirectory(prefix="modelward-convert-") as tmp:
        path = Path(tmp) / f"{src.name}-v{src.version}.skops"
        sio.dump(model, path)
        return _register(registry, src, path, conversion_lineage(src))


def convert_to_native(registry: Registry, ref: str) -> RegisterResult:
    """Re-save a trusted pickled XGBoost, LightGBM or CatBoost version in its own format.

    The source's bytes are unpickled only in the sandbox worker, with the
    globals a reviewer approved for them (``modelward trust``); the worker
    writes the native file, which then enters through the intake door like
    any file (and is read back by its library there). The new version's
    lineage names the source; metrics and tags are copied.

    Raises
    ------
    InvalidInput
        The version is not a pickle or joblib file.
    RejectedFile
        Its bytes do not load with the approved globals, or hold no boosting model.
    """
    src = registry.resolve(ref)
    if src.format not in ("pickle", "joblib"):
        raise InvalidInput(
            f"{src.ref} is {src.format}; only pickle and joblib versions convert to native"
        )
    extra = approved_globals(registry, src.sha256)
    with tempfile.TemporaryDirectory(prefix="modelward-convert-") as tmp:
        out = Path(tmp) / f"{src.name}-v{src.version}.native"
        made = default_sandbox().save_native(
            registry.artifacts.path_for(src.sha256),
            out,
            fmt=src.format,
            sha256=src.sha256,
            extra_globals=extra,
        )
        lineage = conversion_lineage(src, converted_from_class=made.get("estimator_class"))
        return _register(registry, src, out, lineage)


def _register(
    registry: Registry,
    src: ModelVersion,
    path: Path,
    lineage: dict[str, Any],
    declared: dict[str, Any] | None = None,
) -> RegisterResult:
    return accept_model_file(
        registry,
        path,
        name=src.name,
        lineage=lineage,
        metrics=dict(src.metrics),
        tags=dict(src.tags),
        declared=declared,
    ).register_result()


# ----------------------------------------------------------------------------- ONNX
@dataclass(frozen=True)
class Parity:
    """How far an ONNX model's answers are from its source's on the same rows."""

    max_abs_diff: float
    compared: str  # "probability" | "prediction"
    rows: int
    labels_agree: float | None
    tolerance: float
    data: str
    data_fingerprint: str

    @property
    def ok(self) -> bool:
        return math.isfinite(self.max_abs_diff) and self.max_abs_diff <= self.tolerance

    def to_json(self) -> dict[str, Any]:
        return {
            "max_abs_diff": self.max_abs_diff,
            "compared": self.compared,
            "rows": self.rows,
            "labels_agree": self.labels_agree,
            "tolerance": self.tolerance,
            "data": self.data,
            "data_fingerprint": self.data_fingerprint,
        }


def _to_onnx(
    registry: Registry, src: ModelVersion, *, data: str | None, tolerance: float | None
) -> RegisterResult:
    tol = DEFAULT_TOLERANCE if tolerance is None else float(tolerance)
    if not math.isfinite(tol) or tol < 0:
        raise InvalidInput(f"the tolerance must be a number of 0 or more, not {tolerance!r}")
    model = load_artifact(registry.artifacts, src.sha256, src.format, registry=registry)
    if not hasattr(model, "get_params"):
        raise InvalidInput(
            f"{src.ref} is not a scikit-learn model; only scikit-learn pipelines convert to ONNX"
        )
    features = _features(src, model)
    task = str((src.signature or {}).get("task") or "")
    if not task:
        task = "classification" if hasattr(model, "predict_proba") else "regression"
    onx = onnx_bytes(model, features, task)
    df, shown = validation_frame(registry, src, data)
    par = parity(model, onx, df, features, task, tolerance=tol, data=shown)
    with tempfile.TemporaryDirectory(prefix="modelward-convert-") as tmp:
        path = Path(tmp) / f"{src.name}-v{src.version}.onnx"
        path.write_bytes(onx)
        if not par.ok:
            reason = (
                f"the ONNX model differs from {src.ref} by up to {par.max_abs_diff:.3g} in a "
                f"{par.compared} on {par.rows} rows of {shown}, more than the tolerance "
                f"{tol:g}, so it was not registered"
            )
            quarantine(
                registry,
                path,
                source=f"conversion of {src.ref} to onnx",
                reason=reason,
                sha256=hashlib.sha256(onx).hexdigest(),
            )
            raise RejectedFile(reason)
        declared = {
            "estimator_class": src.estimator_class,
            "params": dict(src.params),
            "signature": _onnx_signature(src, features, task, model),
        }
        return _register(
            registry, src, path, conversion_lineage(src, onnx_parity=par.to_json()), declared
        )


def _features(src: ModelVersion, model: Any) -> list[dict[str, Any]]:
    """The feature columns in order with their kinds (numeric/categorical)."""
    sig = src.signature or {}
    if sig.get("features"):
        return [
            {"name": str(c["name"]), "kind": c.get("kind") or _data.NUMERIC}
            for c in sig["features"]
        ]
    names = sig.get("feature_names") or list(getattr(model, "feature_names_in_", []) or [])
    if not names:
        raise InvalidInput(
            f"{src.ref} does not record its feature names, so an ONNX model's inputs "
            "cannot be named"
        )
    # Without recorded kinds: a column the model's encoders take as text is categorical.
    text_cols = _text_columns(model)
    return [
        {"name": str(n), "kind": _data.CATEGORICAL if n in text_cols else _data.NUMERIC}
        for n in names
    ]


def _text_columns(model: Any) -> set[str]:
    """Columns a ColumnTransformer hands to an encoder: they hold categories."""
    out: set[str] = set()
    for step in _walk(model):
        for _name, tr, cols in getattr(step, "transformers_", None) or []:
            if any(type(s).__name__.endswith("Encoder") for s in _walk(tr)):
                out.update(str(c) for c in cols if isinstance(c, str))
    return out


def _walk(est: Any) -> Iterator[Any]:
    yield est
    for attr in ("steps", "transformers_"):
        for part in getattr(est, attr, None) or []:
            if not isinstance(part[1], str):  # "drop" / "passthrough"
                yield from _walk(part[1])


def _onnx_signature(
    src: ModelVersion, features: list[dict[str, Any]], task: str, model: Any
) -> dict[str, Any]:
    sig = dict(src.signature or {})
    sig.setdefault("features", features)
    sig["task"] = task
    if task == "classification" and "classes" not in sig and hasattr(model, "classes_"):
        sig["classes"] = [v.item() if hasattr(v, "item") else v for v in model.classes_]
    return sig


_SKL2ONNX = threading.Lock()


@contextlib.contextmanager
def _bool_safe_trees() -> Iterator[None]:
    """skl2onnx 1.20 writes a Python ``bool`` into an integer attribute of tree nodes
    (``nodes_missing_value_tracks_true`` of leaves), which onnx >= 1.17 refuses; the
    value is passed on as the integer it stands for while a conversion runs."""
    import skl2onnx.common.tree_ensemble as te  # deferred: optional extra

    with _SKL2ONNX:
        original = te.add_node

        def add_node(*args: Any, nodes_missing_value_tracks_true: Any = 0, **kw: Any) -> Any:
            return original(
                *args, nodes_missing_value_tracks_true=int(nodes_missing_value_tracks_true), **kw
            )

        te.add_node = add_node
        try:
            yield
        finally:
            te.add_node = original


def _routes_columns(model: Any) -> bool:
    """Whether the model's first step picks its columns by name (a ColumnTransformer)."""
    first = model.steps[0][1] if hasattr(model, "steps") and model.steps else model
    return type(first).__name__ == "ColumnTransformer"


def _onnx_ready(model: Any) -> Any:
    """A copy of ``model`` whose imputers of text columns look for :data:`MISSING_TEXT`.

    scikit-learn marks a missing category with NaN; an ONNX string tensor
    cannot hold NaN, so missing categories are fed as :data:`MISSING_TEXT`
    and the copy's imputers replace that instead (same fill value). The
    parity check proves the two agree on real rows.
    """
    ready = copy.deepcopy(model)
    for step in _walk(ready):
        if type(step).__name__ == "SimpleImputer" and _imputes_text(step):
            missing = step.missing_values
            if isinstance(missing, float) and math.isnan(missing) or missing is None:
                step.missing_values = MISSING_TEXT
    return ready


def _imputes_text(imputer: Any) -> bool:
    stats = getattr(imputer, "statistics_", None)
    return (
        stats is not None
        and getattr(stats, "dtype", None) is not None
        and stats.dtype.kind in "OUS"
    )


def onnx_bytes(model: Any, features: list[dict[str, Any]], task: str) -> bytes:
    """Convert a fitted scikit-learn model (or pipeline) to ONNX bytes with skl2onnx.

    A pipeline that starts with a ColumnTransformer gets one input per
    feature column, named after it: float for numeric columns, string for
    categorical ones (a missing category fed as :data:`MISSING_TEXT`); any
    other model one float tensor ``X`` ``[N, n_features]`` whose column names
    are in the metadata (``feature_names``). Classifiers give ``label`` and
    one ``[N]`` output ``probability_<class>`` per class (no ZipMap and no
    2-D output; see :func:`~modelward.core.artifacts.native.onnx_per_class_outputs`).
    The column list, the task and the classes are written into the model's metadata
    (:data:`META_INPUTS`, :data:`META_TASK`, :data:`META_CLASSES`). Inputs
    are plain columns ``[N]`` (what MLflow's ONNX flavor feeds too).

    Raises
    ------
    InvalidInput
        skl2onnx is not installed, or it cannot convert a part of the model
        (named in the message).
    """
    try:
        from skl2onnx import to_onnx  # deferred: optional extra
        from skl2onnx.common.data_types import (  # deferred: optional extra
            FloatTensorType,
            StringTensorType,
        )
    except ImportError:
        raise InvalidInput(
            "converting to ONNX needs skl2onnx and onnxruntime: install modelward[onnx]"
        ) from None
    per_column = _routes_columns(model)
    if per_column:
        inputs: list[tuple[str, Any]] = [
            (
                c["name"],
                StringTensorType([None, 1])
                if c["kind"] == _data.CATEGORICAL
                else FloatTensorType([None, 1]),
            )
            for c in features
        ]
    else:
        text = [c["name"] for c in features if c["kind"] == _data.CATEGORICAL]
        if text:
            raise InvalidInput(
                f"the model takes the text column {text[0]!r} without a ColumnTransformer "
                "to encode it, so ONNX cannot feed it"
            )
        inputs = [("X", FloatTensorType([None, len(features)]))]
    ready = _onnx_ready(model)
    options: dict[Any, Any] = {}
    if task == "classification":
        options[id(ready)] = {"zipmap": False}
    try:
        with _bool_safe_trees():
            onx = to_onnx(ready, initial_types=inputs, options=options)
    except Exception as e:
        what = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InvalidInput(f"skl2onnx cannot convert this model: {what}") from None
    meta = {
        META_INPUTS: json.dumps([{"name": c["name"], "kind": c["kind"]} for c in features]),
        META_TASK: task,
    }
    classes = getattr(model, "classes_", None)
    if task == "classification" and classes is not None:
        meta[META_CLASSES] = json.dumps(
            [v.item() if hasattr(v, "item") else v for v in classes], default=str
        )
    if per_column:
        _flat_inputs(onx)
    else:  # one tensor: the native adapter picks the columns by these names
        meta["feature_names"] = json.dumps([c["name"] for c in features])
    for key, value in meta.items():
        prop = onx.metadata_props.add()
        prop.key, prop.value = key, value
    onx.producer_name = "modelward"
    out = bytes(onx.SerializeToString())
    if task == "classification":
        # One [N] output per class: what MLflow's ONNX flavor can put in a DataFrame.
        out = onnx_per_class_outputs(out)
    return out


def _flat_inputs(onx: Any) -> None:
    """Make every ``[N, 1]`` input a plain column ``[N]`` (reshaped inside the graph).

    A column is what a DataFrame holds, and what MLflow's ONNX flavor feeds
    (``df[name].values``), so the same file scores here and there.
    """
    from onnx import TensorProto, helper  # deferred: optional extra

    graph = onx.graph
    shape_name = "modelward_column_shape"
    graph.initializer.append(helper.make_tensor(shape_name, TensorProto.INT64, [2], [-1, 1]))
    reshapes = []
    for inp in graph.input:
        inner = f"{inp.name}__column"
        for node in graph.node:
            for k, name in enumerate(node.input):
                if name == inp.name:
                    node.input[k] = inner
        reshapes.append(
            helper.make_node("Reshape", [inp.name, shape_name], [inner], name=f"{inp.name}_2d")
        )
        dims = inp.type.tensor_type.shape.dim
        while len(dims) > 1:
            dims.pop()
    for node in reversed(reshapes):
        graph.node.insert(0, node)


def validation_frame(registry: Registry, src: ModelVersion, data: str | None) -> tuple[Any, str]:
    """A version's validation data as a DataFrame (its first rows), and how it is shown.

    ``data`` when given (a path or ``dataset:ID``); else the data of the
    version's newest validation that can still be read; else its training
    snapshot; else the same for the version it was converted from.

    Raises
    ------
    InvalidInput
        None of them exists.
    """
    if data is not None:
        path = _data.resolve_source(data, registry)
        return _data.read_table(path, limit=PARITY_ROWS), str(data)
    v: ModelVersion | None = src
    for _hop in range(8):  # a conversion's data is its source's
        if v is None:
            break
        found = _own_validation_data(registry, v)
        if found is not None:
            return found
        parent = (v.lineage or {}).get("converted_from")
        try:
            v = registry.resolve(str(parent)) if parent else None
        except NotFound:
            v = None
    raise InvalidInput(
        f"{src.ref} has no validation data or training snapshot to check against; "
        "give a table with --data FILE"
    )


def _own_validation_data(registry: Registry, v: ModelVersion) -> tuple[Any, str] | None:
    with registry.read() as cur:
        rows = cur.execute(
            "SELECT data_source FROM validations WHERE version_id = ? ORDER BY id DESC",
            [v.id],
        ).fetchall()
    for (source,) in rows:
        if not source:
            continue
        try:
            path = _data.resolve_source(source, registry)
        except (NotFound, InvalidInput):
            continue
        if path.is_file():
            return _data.read_table(path, limit=PARITY_ROWS), f"the validation data {source}"
    snap = (v.lineage or {}).get("snapshot_sha256")
    if snap and registry.artifacts.has(str(snap)):
        path = registry.artifacts.verify(str(snap))
        return _data.read_table(path, limit=PARITY_ROWS), "the training snapshot"
    return None


def parity(
    model: Any,
    onx: bytes,
    df: Any,
    features: list[dict[str, Any]],
    task: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    data: str = "",
) -> Parity:
    """Score ``df`` with the source model and the ONNX bytes; compare their answers.

    Classifiers compare every class's probability, regressors the
    predictions; ``labels_agree`` is the share of rows where the predicted
    labels are equal.

    Raises
    ------
    InvalidInput
        The table lacks a feature column, or has no rows.
    """
    import numpy as np  # deferred: start-up cost

    _data.check_columns(df, features, allow_extra=True)
    if len(df) == 0:
        raise InvalidInput(f"{data or 'the parity data'} has no rows to compare on")
    X = _data.feature_frame(df, {c["name"]: c["kind"] for c in features})
    # The adapter every later use of the version goes through (score, validate, monitor).
    converted: Any = load_native(onx, ONNX, threads=1)  # a classifier or a regressor
    labels_agree: float | None = None
    if task == "classification":
        want = np.asarray(model.predict_proba(X), dtype=np.float64)
        got = np.asarray(converted.predict_proba(X), dtype=np.float64)
        compared = "probability"
        ours = np.asarray(converted.predict(X)).astype(str)
        labels_agree = float(np.mean(ours == np.asarray(model.predict(X)).astype(str)))
    else:
        want = np.asarray(model.predict(X), dtype=np.float64).ravel()
        got = np.asarray(converted.predict(X), dtype=np.float64).ravel()
        compared = "prediction"
    if want.shape != got.shape:
        diff = math.inf
    else:
        d = np.abs(want - got)
        diff = float(np.nanmax(d)) if d.size else 0.0
        if np.isnan(d).any() and not np.isnan(d).all():
            # NaN on one side only is a difference without bound
            if (np.isnan(want) != np.isnan(got)).any():
                diff = math.inf
    return Parity(
        max_abs_diff=diff,
        compared=compared,
        rows=len(df),
        labels_agree=labels_agree,
        tolerance=tolerance,
        data=data,
        data_fingerprint=_data.fingerprint_frame(df),
    )
