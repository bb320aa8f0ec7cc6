"""MLflow model folders through the intake door.

:func:`accept_mlflow_folder` reads the folder's ``MLmodel``
(:func:`~modelward.core.artifacts.mlflow_folder.read_mlmodel`), then sends
the flavor's model file through :func:`~modelward.core.intake.accept_model_file`
like any model file: an ONNX, XGBoost, LightGBM or CatBoost file is read by
its own library in the sandbox, a scikit-learn pickle goes through the trust
path (refused unless every global it names is allowed or a reviewer trusted
its bytes). The signature's columns and types become the version's features,
and the flavor, library versions, run id and signature are kept in its
lineage (``lineage["mlflow"]``), with a warning for each library saved at
another version than the one installed.

A folder refused for its ``MLmodel`` (hostile YAML, no flavor, a model file
outside the folder...) is refused like a file: its ``MLmodel`` bytes are
quarantined with the reason and one ``ingest.rejected`` event is audited.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelward.core.artifacts.mlflow_folder import (
    MAX_MLMODEL_BYTES,
    MLMODEL,
    is_mlflow_folder,
    read_mlmodel,
)
from modelward.core.errors import RejectedFile
from modelward.core.intake.door import SeenFn, accept_model_file
from modelward.core.intake.quarantine import quarantine
from modelward.core.intake.result import MODEL, REFUSED, IntakeResult
from modelward.core.progress import ProgressFn, no_progress
from modelward.core.refs import validate_name
from modelward.core.registry import Registry

__all__ = ["accept_mlflow_folder", "accept_model_path", "is_mlflow_folder"]


def accept_mlflow_folder(
    registry: Registry,
    folder: str | os.PathLike[str],
    *,
    name: str,
    source: str | None = None,
    lineage: Mapping[str, Any] | None = None,
    seen: SeenFn | None = None,
    progress: ProgressFn = no_progress,
    metrics: Mapping[str, float] | None = None,
    params: Mapping[str, Any] | None = None,
) -> IntakeResult:
    """Take an MLflow model folder into the registry as a version of ``name``, or refuse it.

    Parameters
    ----------
    registry
        The registry.
    folder
        The folder holding ``MLmodel``.
    name
        The model; created on first use.
    source
        Where it came from (default: the folder's path).
    lineage
        More lineage (a watched folder's ``inbox``).
    seen, progress, metrics, params
        As for :func:`~modelward.core.intake.accept_model_file` (``register --metric/--param``).

    Returns
    -------
    IntakeResult
        Accepted or duplicate with the version; refused with the reason
        (quarantined, audited).
    """
    validate_name(name)
    root = Path(folder)
    shown = source or str(root)
    try:
        mlf = read_mlmodel(root)
    except RejectedFile as rej:
        return _refuse_folder(registry, root, shown, rej.reason)
    full_lineage: dict[str, Any] = {"source": str(root.absolute()), "mlflow": mlf.lineage()}
    full_lineage.update(lineage or {})
    declared: dict[str, Any] | None = None
    if mlf.features:
        declared = {"signature": {"features": mlf.features, "source": "MLmodel signature"}}
    return accept_model_file(
        registry,
        mlf.model_file,
        name=name,
        source=shown,
        lineage=full_lineage,
        declared=declared,
        seen=seen,
        progress=progress,
        metrics=metrics,
        params=params,
    )


def _refuse_folder(registry: Registry, root: Path, source: str, reason: str) -> IntakeResult:
    """Quarantine the folder's ``MLmodel`` bytes with the reason; one ``ingest.rejected`` event."""
    mlmodel = root / MLMODEL
    digest = hashlib.sha256()
    size = 0
    try:
        if not mlmodel.is_symlink():
            with open(mlmodel, "rb") as f:
                # A huge MLmodel is hashed whole but never parsed.
                while chunk := f.read(MAX_MLMODEL_BYTES):
                    digest.update(chunk)
                    size += len(chunk)
    except OSError:
        pass
    sha = digest.hexdigest() if size else None
    dest = quarantine(registry, mlmodel, source=source, reason=reason, sha256=sha)
    return IntakeResult(
        MODEL, REFUSED, source, sha or "", size, reason=reason, quarantined_to=str(dest)
    )


def accept_model_path(
    registry: Registry, path: str | os.PathLike[str], *, name: str, **kw: Any
) -> IntakeResult:
    """A model file, or an MLflow model folder, through the door (see :func:`accept_mlflow_folder`)."""
    if is_mlflow_folder(path):
        return accept_mlflow_folder(registry, path, name=name, **kw)
    return accept_model_file(registry, path, name=name, **kw)
