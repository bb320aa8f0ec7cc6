"""A version written out as an MLflow model folder, for teams that also run MLflow.

The folder holds the version's own bytes (``model.onnx`` or ``model.skops``,
never a pickle), an ``MLmodel`` naming MLflow's flavor for them (``onnx``, or
``sklearn`` with ``serialization_format: skops``) and ``python_function``,
the signature from the version's feature columns and types, an input example
(rows of its validation data without gaps), and the requirements pinned to
the versions installed here. Registering the folder again gives back the
same version (same bytes). The export is audited (``version.exported``).
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

from modelward.core.artifacts.mlflow_folder import MLMODEL, dump_yaml
from modelward.core.clock import utcnow
from modelward.core.errors import InvalidInput
from modelward.core.intake.convert import validation_frame
from modelward.core.registry import Registry

__all__ = ["EXAMPLE_ROWS", "export_mlflow"]

EXAMPLE_ROWS = 5
_MODEL_FILES = {"onnx": "model.onnx", "skops": "model.skops"}


def _installed(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
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
        ``ref``, ``path``, ``flavor``, ``files`` (name -> SHA-256),
        ``input_example_rows``, ``audit_seq``.

    Raises
    ------
    InvalidInput
        A pickle/joblib or another format MLflow cannot load safely (convert
        it first), a version without feature columns, or ``out`` in use.
    """
    v = registry.resolve(ref)
    model_file = _MODEL_FILES.get(v.format)
    if model_file is None:
        raise InvalidInput(
            f"{v.ref} is a {v.format} file; an MLflow folder carries skops or ONNX: "
            f"convert it first (modelward convert {v.ref} --to onnx, or --to skops)"
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
    onnx = v.format == "onnx"
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
    tmp.mkdir(parents=True)
    try:
        data = registry.artifacts.read_bytes(v.sha256)  # verified against its digest
        (tmp / model_file).write_bytes(data)
        inputs = [
            {"type": _mlflow_type(f, onnx), "name": str(f["name"]), "required": True}
            for f in features
        ]
        example_rows = _write_example(registry, v, features, tmp / "input_example.json", onnx)
        requirements = _requirements(onnx)
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
            "flavors": _flavors(v, model_file, onnx, py, data),
            "model_uuid": uuid.uuid4().hex,
            "utc_time_created": utcnow(),
            "signature": {"inputs": json.dumps(inputs), "outputs": None, "params": None},
            "metadata": {
                "modelward_ref": v.ref,
                "modelward_sha256": v.sha256,
                "modelward_format": v.format,
            },
        }
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
    flavor = "onnx" if onnx else "sklearn"
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
        "audit_seq": seq,
    }


def _flavors(v: Any, model_file: str, onnx: bool, py: str, data: bytes) -> dict[str, Any]:
    env = {"virtualenv": "python_env.yaml"}
    if onnx:
        return {
            "onnx": {
                "code": None,
                "data": model_file,
                "onnx_version": _installed("onnx") or "unknown",
                "providers": ["CPUExecutionProvider"],
            },
            "python_function": {
                "data": model_file,
                "env": env,
                "loader_module": "mlflow.onnx",
                "python_version": py,
            },
        }
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


def _skops_types(data: bytes) -> list[str]:
    """The types MLflow must trust to load the skops file (the ones our allowlist admitted)."""
    from modelward.core.artifacts.safeload import _skops_io  # deferred: start-up cost

    return sorted(_skops_io().get_untrusted_types(data=data))


def _requirements(onnx: bool) -> list[str]:
    dists = ["onnxruntime", "onnx", "numpy", "pandas"] if onnx else ["scikit-learn", "skops"]
    if not onnx:
        dists += ["numpy", "scipy", "pandas"]
    return [f"{d}=={_installed(d)}" if _installed(d) else d for d in dists]


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
