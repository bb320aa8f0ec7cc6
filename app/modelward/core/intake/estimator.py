"""A live estimator enters the registry: saved safely, proved loadable, then through the door.

The notebook API (``modelward.api.log_model``) and the demo workspace both
register fitted estimators this way, so there is one piece of code for it.
scikit-learn estimators are saved as skops; XGBoost, LightGBM and CatBoost
models in their own library's format (:func:`~modelward.core.artifacts.native.save_native`),
never pickled.

A version that could not be loaded back is never recorded: skops bytes are
checked against the loader's allowlist (every type they name), native bytes
are read back by their library, before anything is committed.
"""

from __future__ import annotations

import platform as _py_platform
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.core.artifacts.metadata import describe_estimator
from modelward.core.artifacts.safeload import check_skops_types
from modelward.core.datasets import fingerprint_arrays
from modelward.core.errors import InvalidInput, RejectedFile
from modelward.core.intake.door import accept_model_file

if TYPE_CHECKING:
    from modelward.core.domain import ModelVersion
    from modelward.core.registry import Registry

__all__ = ["log_estimator"]


def environment() -> dict[str, str]:
    """Python, scikit-learn, NumPy and OS versions, recorded with a logged estimator."""
    # deferred: start-up cost
    import numpy
    import sklearn

    return {
        "python": _py_platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": numpy.__version__,
        "platform": _py_platform.platform(),
    }


def columns_signature(X: Any) -> dict[str, Any]:
    """Column names and dtypes of a table, or the feature count of an array."""
    cols = getattr(X, "columns", None)
    dtypes = getattr(X, "dtypes", None)
    if cols is None or dtypes is None:
        shape = getattr(X, "shape", None)
        return {"n_features_in": int(shape[1])} if shape is not None and len(shape) == 2 else {}
    return {
        "columns": [{"name": str(c), "dtype": str(t)} for c, t in zip(cols, dtypes, strict=False)]
    }


def log_estimator(
    registry: Registry,
    estimator: Any,
    name: str,
    *,
    X: Any = None,
    y: Any = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    source: str = "notebook",
) -> ModelVersion:
    """Save ``estimator`` in the skops format and register it as a version of ``name``.

    Parameters
    ----------
    registry
        The registry.
    estimator
        A scikit-learn estimator (usually fitted).
    name
        Model name; created on first use.
    X, y
        Optional training data: records its fingerprint, and the signature
        (column names and types) when ``X`` has columns.
    metrics, tags, description
        Recorded with the version.
    source
        Where the estimator came from, for lineage and audit.

    Returns
    -------
    ModelVersion
        The new (or, for identical bytes, the existing) version.

    Raises
    ------
    InvalidInput
        The estimator could not be loaded back from its saved bytes (a type
        outside the allowlist, a boosting model inside a pipeline); nothing
        was recorded.
    """
    import skops.io as sio  # deferred: start-up cost

    data, declared = _saved(estimator, sio)
    signature = dict(declared.pop("signature"))
    if X is not None:
        signature.update(columns_signature(X))
    lineage: dict[str, Any] = {"source": source, "environment": environment()}
    if X is not None:
        lineage["training_data"] = fingerprint_arrays(X, y)
    # These bytes were written here from the live estimator, described above:
    # the door records them without the sandbox (they are not from outside).
    result = accept_model_file(
        registry,
        data,
        name=name,
        source=source,
        declared={**declared, "signature": signature},
        inspect=False,
        lineage=lineage,
        metrics=metrics,
        tags=tags,
        description=description,
    )
    return result.register_result().version


def _saved(estimator: Any, sio: Any) -> tuple[bytes, dict[str, Any]]:
    """The bytes to register for ``estimator`` and what the door records of them.

    Raises :class:`InvalidInput` when the bytes would not load back.
    """
    # deferred: start-up cost (the adapters import the boosting library on use)
    from modelward.core.artifacts.native import (
        describe_native,
        load_native,
        native_kind_of,
        save_native,
    )

    kind = native_kind_of(estimator)
    if kind is not None:
        with tempfile.TemporaryDirectory(prefix="modelward-native-") as tmp:
            path = Path(tmp) / "model"
            save_native(estimator, path)
            data = path.read_bytes()
        try:
            # The library's own parser reads back what it wrote: no pickle involved.
            meta = describe_native(load_native(data, kind))
        except RejectedFile as e:
            raise InvalidInput(f"the model would not load back: {e.reason}") from None
        return data, {
            "format": kind,
            "estimator_class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
            "params": {"params": meta["params"], "steps": [], "native": meta["native"]},
            "signature": meta["signature"],
        }
    meta = describe_estimator(estimator)
    data = sio.dumps(estimator)
    try:
        check_skops_types(data)
    except RejectedFile as e:
        raise InvalidInput(
            f"{type(estimator).__name__} would not load back from its skops file: {e.reason}"
        ) from None
    return data, {
        "format": "skops",
        "estimator_class": meta["estimator_class"],
        "params": {"params": meta["params"], "steps": meta["steps"]},
        "signature": meta["signature"],
    }
