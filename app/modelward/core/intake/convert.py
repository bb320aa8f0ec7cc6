"""Convert an accepted pickle or joblib version to the skops format, or to its library's own format.

``--to native`` is for a reviewer-trusted pickle of an XGBoost, LightGBM or
CatBoost model: the sandbox worker unpickles it with the reviewer's approved
globals and saves it natively (:func:`convert_to_native`); the app never
unpickles it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from modelward.core.artifacts.safeload import approved_globals, load_artifact
from modelward.core.artifacts.sandbox import default_sandbox
from modelward.core.errors import InvalidInput
from modelward.core.intake.door import accept_model_file

if TYPE_CHECKING:
    from modelward.core.domain import RegisterResult
    from modelward.core.registry import Registry

NATIVE = "native"
TARGETS = ("skops", NATIVE)


def convert_version(registry: Registry, ref: str, *, to: str = "skops") -> RegisterResult:
    """Re-save a registered version as skops and register it as a new version.

    The source is loaded with the restricted loader (after its SHA-256 is
    verified), written with :func:`skops.io.dump`, and the new file goes
    through the intake door like any file from outside. The new version's
    lineage names the source (``converted_from``), and its metrics are copied.

    Parameters
    ----------
    registry
        The registry.
    ref
        ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS``.
    to
        ``"skops"``, or ``"native"`` (see :func:`convert_to_native`).

    Returns
    -------
    RegisterResult
        The new version (or the existing one with identical bytes).

    Raises
    ------
    InvalidInput
        An unknown target, or a version that is skops already.
    """
    import skops.io as sio  # deferred: start-up cost

    if to not in TARGETS:
        raise InvalidInput(f"cannot convert to {to!r}; supported: {', '.join(TARGETS)}")
    if to == NATIVE:
        return convert_to_native(registry, ref)
    src = registry.resolve(ref)
    if src.format == to:
        raise InvalidInput(f"{src.ref} is already in the {to} format")
    model = load_artifact(registry.artifacts, src.sha256, src.format, registry=registry)
    lineage = {
        "source": f"converted from {src.ref}",
        "converted_from": src.ref,
        "converted_from_sha256": src.sha256,
        "converted_from_format": src.format,
    }
    with tempfile.TemporaryDirectory(prefix="modelward-convert-") as tmp:
        path = Path(tmp) / f"{src.name}-v{src.version}.skops"
        sio.dump(model, path)
        return accept_model_file(
            registry,
            path,
            name=src.name,
            lineage=lineage,
            metrics=dict(src.metrics),
            tags=dict(src.tags),
        ).register_result()


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
        lineage = {
            "source": f"converted from {src.ref}",
            "converted_from": src.ref,
            "converted_from_sha256": src.sha256,
            "converted_from_format": src.format,
            "converted_from_class": made.get("estimator_class"),
        }
        return accept_model_file(
            registry,
            out,
            name=src.name,
            lineage=lineage,
            metrics=dict(src.metrics),
            tags=dict(src.tags),
        ).register_result()
