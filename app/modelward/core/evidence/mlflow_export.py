"""A version written out as an MLflow model folder, for teams that also run MLflow.

The folder holds the version's own bytes, never a pickle: ``model.onnx``,
``model.skops``, XGBoost's ``model.ubj``/``model.json``, LightGBM's
``model.lgb`` (its text model) or CatBoost's ``model.cb`` (its ``.cbm`` or
JSON model, as ``mlflow.catboost`` names it). ``MLmodel`` names MLflow's
flavor for them (``onnx``; ``sklearn`` with ``serialization_format: skops``;
``xgboost`` or ``lightgbm`` with ``model_class`` the library's ``Booster``;
``catboost`` with ``model_type`` ``CatBoostClassifier`` or
``CatBoostRegressor`` and its ``save_format``) and ``python_function``, so
``mlflow.pyfunc.load_model(folder).predict(df)`` works; the signature comes
from the version's feature columns and types (a CatBoost model's categorical
features from the file itself), the outputs from what the flavor's
``predict`` returns (CatBoost: the class labels of a classifier, as MLflow's
own flavor infers them). An input example (rows of its validation data
without gaps) and the requirements pinned to the versions installed here
complete it. Nothing here imports MLflow; the boosting libraries are not
imported either, except CatBoost's for a CatBoost export (to read which
features are categorical).

An ONNX classifier whose probabilities are one ``[N, k]`` output (a file
registered from elsewhere, or converted before ModelWard wrote the per-class
form) is written with one ``[N]`` output per class instead
(:func:`~modelward.core.artifacts.native.onnx_per_class_outputs`): MLflow's
ONNX flavor puts every output in one DataFrame column. Any other version
(and every ONNX conversion ModelWard makes now) is written byte for byte, so
registering the folder again gives back the same version. The export is
audited (``version.exported``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import uuid
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from modelward.core.artifacts.formats import (
    CATBOOST_CBM,
    CATBOOST_JSON,
    LIGHTGBM_TEXT,
    ONNX,
    XGBOOST_JSON,
    XGBOOST_UBJ,
)
from modelward.core.artifacts.mlflow_folder import MLMODEL, dump_yaml
from modelward.core.artifacts.native import (
    load_catboost,
    onnx_per_class_outputs,
)
from modelward.core.clock import utcnow
from modelward.core.errors import InvalidInput
from modelward.core.intake.convert import validation_frame
from modelward.core.registry import Registry

__all__ = ["EXAMPLE_ROWS", "export_mlflow"]

EXAMPLE_ROWS = 5
_MODEL_FILES = {
    ONNX: "model.onnx",
    "skops": "model.skops",
    XGBOOST_UBJ: "model.ubj",
    XGBOOST_JSON: "model.json",
    LIGHTGBM_TEXT: "model.lgb",
    # mlflow.catboost's one file name, whatever its save_format
    CATBOOST_CBM: "model.cb",
    CATBOOST_JSON: "model.cb",
}
# format -> the MLflow flavor that loads it
_FLAVOR = {
    ONNX: "onnx",
    "skops": "sklearn",
    XGBOOST_UBJ: "xgboost",
    XGBOOST_JSON: "xgboost",
    LIGHTGBM_TEXT: "lightgbm",
    CATBOOST_CBM: "catboost",
    CATBOOST_JSON: "catboost",
}


def _installed(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _pinned(*dists: str) -> str | None:
    """``dist==version`` of the first of ``dists`` installed here (xgboost or xgboost-cpu...)."""
    for d in dists:
        v = _installed(d)
        if v:
            return f"{d}=={v}"
    return None


def _mlflow_type(feature: dict[str, Any], onnx: bool) -> str:
    """The MLflow column type of a feature (ONNX float inputs take doubles: MLflow casts them)."""
    if feature.get("kind") == "categorical":
        return "string"
    dtype = str(feature.get("dtype") or "float64").lower()
    if onnx or dtype.startswith("float"):
        return "double"
    if dtype.startswith("bool"):
        return "boolean"
    if dtype.startswith(("int", "uint")):
        return "long"
    return "double"


def export_mlflow(registry: Registry, ref: str, out: str | os.PathLike[str]) -> dict[str, Any]:
    """Write version ``ref`` as an MLflow model folder at ``out``.

    Parameters
    ----------
    registry
        The registry.
    ref
        ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS``.
    out
        The folder to create (it must not exist, or be empty); written under a
        temporary name beside it and renamed when complete.

    Returns
    -------
    dict
        ``ref``, ``path``, ``flavor`` (``onnx``, ``sklearn``, ``xgboost``,
        ``lightgbm``, ``catboost``), ``files`` (name -> SHA-256), ``input_example_rows``,
        ``rewritten`` (an ONNX classifier given per-class outputs: its
        bytes differ from the version's), ``audit_seq``.

    Raises
    ------
    InvalidInput
        A pickle/joblib or another format this export does not write
        (convert it first), a version without feature columns, or ``out``
        in use.
    MissingExtra
        A CatBoost version where the catboost package is not installed.
    """
    v = registry.resolve(ref)
    model_file = _MODEL_FILES.get(v.format)
    if model_file is None:
        raise InvalidInput(
            f"{v.ref} is a {v.format} file; an MLflow folder carries skops, ONNX, XGBoost, "
            f"LightGBM or CatBoost: convert it first (modelward convert {v.ref} --to onnx, "
            "or --to skops)"
        )
    sig = v.signature or {}
    features = list(sig.get("features") or [])
    if not features and sig.get("feature_names"):
        features = [{"name": n, "kind": "numeric"} for n in sig["feature_names"]]
    if not features:
        raise InvalidInput(
            f"{v.ref} does not record its feature columns, so no MLflow signature can be written"
        )
    dest = Path(out)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidInput(f"{dest} exists and is not an empty folder")
    onnx = v.format == ONNX
    flavor = _FLAVOR[v.format]
    data = registry.artifacts.read_bytes(v.sha256)  # verified against its digest
    if flavor == "catboost" and not sig.get("features"):
        # A registered CatBoost file records only its feature names; its categorical
        # features take text, so the signature must say string for them.
        cats = _catboost_categorical(data, v.format, v.ref)
        features = [
            {**f, "kind": "categorical"} if i in cats else f for i, f in enumerate(features)
        ]
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
    tmp.mkdir(parents=True)
    try:
        written = data
        if onnx and sig.get("task") == "classification":
            written = onnx_per_class_outputs(data)
        (tmp / model_file).write_bytes(written)
        inputs = [
            {"type": _mlflow_type(f, onnx), "name": str(f["name"]), "required": True}
            for f in features
        ]
        example_rows = _write_example(registry, v, features, tmp / "input_example.json", onnx)
        requirements = _requirements(v.format)
        (tmp / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
        py = platform.python_version()
        (tmp / "python_env.yaml").write_text(
            dump_yaml(
                {
                    "python": py,
                    "build_dependencies": ["pip"],
                    "dependencies": ["-r requirements.txt"],
                }
            ),
            encoding="utf-8",
        )
        doc: dict[str, Any] = {
            "flavors": _flavors(v, model_file, py, data),
            "model_uuid": uuid.uuid4().hex,
            "utc_time_created": utcnow(),
            "signature": {
                "inputs": json.dumps(inputs),
                "outputs": _outputs(v, written),
                "params": None,
            },
            "metadata": {
                "modelward_ref": v.ref,
                "modelward_sha256": v.sha256,
                "modelward_format": v.format,
            },
        }
        if written is not data:
            doc["metadata"]["modelward_rewritten"] = "one probability output per class"
        if sig.get("task") == "classification" and sig.get("classes") is not None:
            doc["metadata"]["classes"] = list(sig["classes"])
        if example_rows:
            doc["saved_input_example_info"] = {
                "artifact_path": "input_example.json",
                "type": "dataframe",
                "pandas_orient": "split",
            }
        (tmp / MLMODEL).write_text(dump_yaml(doc), encoding="utf-8")
        files = {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(tmp.iterdir())
            if p.is_file()
        }
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with registry.transaction() as tx:
        seq = tx.audit(
            "version.exported",
            "version",
            v.ref,
            after={
                "format": "mlflow",
                "flavor": flavor,
                "path": str(dest.absolute()),
                "files": files,
            },
        )
    return {
        "ref": v.ref,
        "path": str(dest),
        "format": "mlflow",
        "flavor": flavor,
        "files": files,
        "input_example_rows": example_rows,
        "rewritten": written is not data,
        "audit_seq": seq,
    }


def _flavors(v: Any, model_file: str, py: str, data: bytes) -> dict[str, Any]:
    env = {"virtualenv": "python_env.yaml"}
    flavor = _FLAVOR[v.format]
    if flavor == "sklearn":
        return {
            "python_function": {
                "env": env,
                "loader_module": "mlflow.sklearn",
                "model_path": model_file,
                "predict_fn": "predict",
                "python_version": py,
            },
            "sklearn": {
                "code": None,
                "pickled_model": model_file,
                "serialization_format": "skops",
                "sklearn_version": (v.params or {}).get("sklearn_version")
                or _installed("scikit-learn"),
                "skops_trusted_types": _skops_types(data),
            },
        }
    pyfunc = {
        "data": model_file,
        "env": env,
        "loader_module": f"mlflow.{flavor}",
        "python_version": py,
    }
    if flavor == "onnx":
        own: dict[str, Any] = {
            "code": None,
            "data": model_file,
            "onnx_version": _installed("onnx") or "unknown",
            "providers": ["CPUExecutionProvider"],
        }
    elif flavor == "catboost":
        # What mlflow.catboost.save_model writes: the estimator class its loader
        # instantiates, and the format handed to CatBoost's load_model.
        classify = (v.signature or {}).get("task") == "classification"
        own = {
            "catboost_version": _library_version(v, "catboost"),
            "code": None,
            "data": model_file,
            "model_type": "CatBoostClassifier" if classify else "CatBoostRegressor",
            "save_format": "json" if v.format == CATBOOST_JSON else "cbm",
        }
    elif flavor == "xgboost":
        # The Booster: pyfunc's predict gives probabilities (or values), as ModelWard scores.
        own = {
            "code": None,
            "data": model_file,
            "model_class": "xgboost.core.Booster",
            "model_format": "json" if v.format == XGBOOST_JSON else "ubj",
            "xgb_version": _library_version(v, "xgboost", "xgboost-cpu"),
        }
    else:
        own = {
            "code": None,
            "data": model_file,
            "model_class": "lightgbm.basic.Booster",
            "lgb_version": _library_version(v, "lightgbm"),
        }
    return {flavor: own, "python_function": pyfunc}


def _library_version(v: Any, *dists: str) -> str:
    """The library's version installed here, else the one the version was registered with."""
    for d in dists:
        here = _installed(d)
        if here:
            return here
    native = (v.params or {}).get("native") or {}
    return str(native.get("library_version") or "unknown")


def _outputs(v: Any, written: bytes) -> str | None:
    """The signature's outputs: what the flavor's pyfunc ``predict`` returns (JSON), or ``None``."""
    sig = v.signature or {}
    classes = list(sig.get("classes") or [])
    classify = sig.get("task") == "classification"
    if v.format == ONNX:
        return json.dumps(_onnx_outputs(written)) if written else None
    if v.format in (XGBOOST_UBJ, XGBOOST_JSON, LIGHTGBM_TEXT):
        # Booster.predict: P(class 1) for two classes, [N, k] for more, the value for regressors.
        dtype = "float64" if v.format == LIGHTGBM_TEXT else "float32"
        shape = [-1, len(classes)] if classify and len(classes) > 2 else [-1]
        return json.dumps([{"type": "tensor", "tensor-spec": {"dtype": dtype, "shape": shape}}])
    if v.format in (CATBOOST_CBM, CATBOOST_JSON):
        # CatBoostClassifier.predict: the labels, (N,) for two classes, (N, 1) for more;
        # CatBoostRegressor.predict: the values. Written as MLflow infers them.
        if not classify:
            return json.dumps([{"type": "double", "required": True}])
        ints = bool(classes) and all(
            isinstance(c, int) and not isinstance(c, bool) for c in classes
        )
        if len(classes) > 2:
            spec = {"dtype": "int64" if ints else "object", "shape": [-1, 1]}
            return json.dumps([{"type": "tensor", "tensor-spec": spec}])
        return json.dumps([{"type": "long" if ints else "string", "required": True}])
    return None


def _catboost_categorical(data: bytes, fmt: str, ref: str) -> set[int]:
    """The indices of a CatBoost model's categorical features, read by CatBoost itself."""
    model = load_catboost(data, fmt, ref)  # the catboost extra; only a CatBoost export needs it
    return {int(i) for i in model.get_cat_feature_indices()}


def _onnx_outputs(data: bytes) -> list[dict[str, Any]]:
    """One column per graph output (MLflow's ONNX flavor gives each its own column)."""
    import onnx  # deferred: part of the onnx extra, only an ONNX export needs it

    types = {
        onnx.TensorProto.FLOAT: "float",
        onnx.TensorProto.DOUBLE: "double",
        onnx.TensorProto.INT64: "long",
        onnx.TensorProto.INT32: "integer",
        onnx.TensorProto.STRING: "string",
        onnx.TensorProto.BOOL: "boolean",
    }
    return [
        {
            "type": types.get(o.type.tensor_type.elem_type, "binary"),
            "name": o.name,
            "required": True,
        }
        for o in onnx.load_model_from_string(data).graph.output
    ]


def _skops_types(data: bytes) -> list[str]:
    """The types MLflow must trust to load the skops file (the ones our allowlist admitted)."""
    from modelward.core.artifacts.safeload import _skops_io  # deferred: start-up cost

    return sorted(_skops_io().get_untrusted_types(data=data))


_REQUIREMENTS: dict[str, list[tuple[str, ...]]] = {
    "onnx": [("onnxruntime",), ("onnx",)],
    "sklearn": [("scikit-learn",), ("skops",), ("scipy",)],
    "xgboost": [("xgboost", "xgboost-cpu"), ("scipy",)],
    "lightgbm": [("lightgbm",), ("scipy",)],
    "catboost": [("catboost",), ("scipy",)],
}
"""What each flavor imports (a group names alternative distributions of one library)."""


def _requirements(fmt: str) -> list[str]:
    """The pinned requirements of a folder with a ``fmt`` model (what its flavor imports)."""
    wanted = [*_REQUIREMENTS[_FLAVOR[fmt]], ("numpy",), ("pandas",)]
    return [_pinned(*dists) or dists[0] for dists in wanted]


def _write_example(
    registry: Registry, v: Any, features: list[dict[str, Any]], path: Path, onnx: bool
) -> int:
    """Up to :data:`EXAMPLE_ROWS` complete rows of the validation data (split orient); 0 if none."""
    try:
        df, _shown = validation_frame(registry, v, None)
    except InvalidInput:
        return 0
    names = [str(f["name"]) for f in features]
    if any(n not in df.columns for n in names):
        return 0
    rows = df[names].dropna().head(EXAMPLE_ROWS)
    if rows.empty:
        return 0
    cols: dict[str, list[Any]] = {}
    cast = {"string": str, "long": int, "boolean": bool, "double": float}
    for f in features:
        to = cast[_mlflow_type(f, onnx)]
        cols[str(f["name"])] = [to(x) for x in rows[str(f["name"])]]
    doc = {
        "columns": names,
        "data": [[cols[n][i] for n in names] for i in range(len(rows))],
    }
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    path.write_text(json.dumps(doc), encoding="utf-8")
    return len(rows)
