"""Plain, JSON-able facts about a fitted estimator (class, parameters, signature).

Used on objects we built ourselves (``log_model``, training) and, inside the
sandbox worker, on objects loaded from untrusted files.
"""

from __future__ import annotations

import math
from typing import Any


def _jsonable(value: Any, depth: int = 0) -> Any:
    if depth > 4:
        return repr(value)[:200]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v, depth + 1) for v in value[:100]]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in list(value.items())[:100]}
    if hasattr(value, "get_params") and hasattr(value, "fit"):
        return class_path(value)
    try:
        import numpy as np  # deferred: start-up cost

        if isinstance(value, np.generic):
            return _jsonable(value.item(), depth + 1)
        if isinstance(value, np.ndarray):
            return f"ndarray{tuple(value.shape)}"
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return repr(value)[:200]


def class_path(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def steps_of(obj: Any) -> list[str]:
    """Class names of a Pipeline's steps (recursively), else ``[]``."""
    steps = getattr(obj, "steps", None)
    if not isinstance(steps, list):
        return []
    out = []
    for item in steps:
        if isinstance(item, tuple) and len(item) == 2:
            name, est = item
            out.append(f"{name}: {type(est).__name__}")
    return out


_EXTRA_LIBRARIES = ("xgboost", "lightgbm", "catboost")


def extras_of(obj: Any, shallow: dict[str, Any] | None = None) -> list[str]:
    """Package extras a (pipeline of) estimator(s) needs to load: ``["xgboost"]``...

    ``shallow``: ``obj.get_params(deep=False)`` when the caller has it; the deep
    walk is needed only when a parameter holds an estimator or a list of steps.
    """
    found: set[str] = set()
    parts = [obj]
    get_params = getattr(obj, "get_params", None)
    if callable(get_params):
        try:
            own = shallow if shallow is not None else get_params(deep=False)
            nested = any(
                hasattr(v, "get_params") or isinstance(v, list | tuple) for v in own.values()
            )
            parts += list((get_params(deep=True) if nested else own).values())
        except Exception:  # a broken estimator: only its own class counts
            pass
    for part in parts:
        top = type(part).__module__.split(".")[0]
        if top in _EXTRA_LIBRARIES:
            found.add(top)
    return sorted(found)


def describe_estimator(obj: Any) -> dict[str, Any]:
    """Metadata of a (fitted) estimator, all JSON-able.

    Keys: ``estimator_class``, ``steps``, ``params`` (shallow), ``signature``
    (``n_features_in``, ``feature_names``, ``classes``), ``sklearn_version``.
    """
    meta: dict[str, Any] = {"estimator_class": class_path(obj), "steps": steps_of(obj)}
    params: dict[str, Any] = {}
    shallow: dict[str, Any] | None = None
    get_params = getattr(obj, "get_params", None)
    if callable(get_params):
        try:
            shallow = dict(get_params(deep=False))
            params = {k: _jsonable(v) for k, v in shallow.items()}
        except Exception:  # a broken estimator still registers, without params
            params, shallow = {}, None
    meta["params"] = params
    sig: dict[str, Any] = {}
    n = getattr(obj, "n_features_in_", None)
    if n is not None:
        sig["n_features_in"] = int(n)
    names = getattr(obj, "feature_names_in_", None)
    if names is not None:
        sig["feature_names"] = [str(x) for x in list(names)]
    classes = getattr(obj, "classes_", None)
    if classes is not None:
        try:
            sig["classes"] = [_jsonable(c) for c in list(classes)]
        except TypeError:
            pass
    meta["signature"] = sig
    ver = getattr(obj, "_sklearn_version", None)
    if isinstance(ver, str):
        meta["sklearn_version"] = ver
    extras = extras_of(obj, shallow)
    if extras:  # a boosting step: loading it needs modelward[xgboost]...
        meta["extras"] = extras
    return meta
