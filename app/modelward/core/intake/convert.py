"""Convert an accepted pickle or joblib version to the skops format."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from modelward.core.artifacts.safeload import load_artifact
from modelward.core.errors import InvalidInput
from modelward.core.intake.door import accept_model_file

if TYPE_CHECKING:
    from modelward.core.domain import RegisterResult
    from modelward.core.registry import Registry

TARGETS = ("skops",)


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
        Target format; only ``"skops"``.

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
