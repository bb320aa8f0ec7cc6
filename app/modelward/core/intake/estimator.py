"""A live estimator enters the registry: saved as skops, then through the door.

The notebook API (``modelward.api.log_model``) and the demo workspace both
register fitted estimators this way, so there is one piece of code for it.
"""

from __future__ import annotations

import platform as _py_platform
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelward.core.artifacts.metadata import describe_estimator
from modelward.core.datasets import fingerprint_arrays
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
    params: Mapping[str, Any] | None = None,
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
    params
        Parameters you state (searchable as ``param.NAME``), beside the
        estimator's own hyperparameters, which are recorded anyway.
    source
        Where the estimator came from, for lineage and audit.

    Returns
    -------
    ModelVersion
        The new (or, for identical bytes, the existing) version.
    """
    import skops.io as sio  # deferred: start-up cost

    meta = describe_estimator(estimator)
    signature = dict(meta["signature"])
    if X is not None:
        signature.update(columns_signature(X))
    lineage: dict[str, Any] = {"source": source, "environment": environment()}
    if X is not None:
        lineage["training_data"] = fingerprint_arrays(X, y)
    # These bytes were written here from the live estimator, described above:
    # the door records them without the sandbox (they are not from outside).
    result = accept_model_file(
        registry,
        sio.dumps(estimator),
        name=name,
        source=source,
        declared={
            "format": "skops",
            "estimator_class": meta["estimator_class"],
            "params": {"params": meta["params"], "steps": meta["steps"]},
            "signature": signature,
        },
        inspect=False,
        lineage=lineage,
        metrics=metrics,
        tags=tags,
        description=description,
        params=params,
    )
    return result.register_result().version
