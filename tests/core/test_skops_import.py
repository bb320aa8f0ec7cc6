"""skops imported once per process with a faster ``whichmodule`` giving the same answers."""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest

from modelward.core.artifacts.safeload import _skops_io, fast_whichmodule


def _ufuncs(module: types.ModuleType) -> list[object]:
    out = []
    for name in dir(module):
        obj = getattr(module, name)
        if isinstance(obj, np.ufunc) or type(obj).__name__.endswith("ufunc"):
            out.append(obj)
    return out


def test_same_module_as_skops_for_every_numpy_and_scipy_ufunc() -> None:
    import scipy.special

    _skops_io()
    import skops.io._utils as utils

    # skops.io may have been imported before (by another test): take its own function
    slow = getattr(utils.whichmodule, "slow", utils.whichmodule)
    fast = fast_whichmodule(slow)
    objs = _ufuncs(np) + _ufuncs(scipy.special)
    assert len(objs) > 200
    for obj in objs:
        assert fast(obj, obj.__name__) == slow(obj, obj.__name__), obj.__name__


def _slow(obj: object, name: str) -> str:
    for module_name, module in sys.modules.copy().items():
        if module_name in ("__main__", "__mp_main__") or module is None:
            continue
        try:
            found = getattr(module, name, None)
        except (AttributeError, ImportError):
            continue
        if found is obj:
            return module_name
    return "__main__"


class _Thing:
    """An object without ``__module__`` on the instance (like a ufunc)."""

    __slots__ = ()


@pytest.mark.parametrize("how", ["hook", "subclass", "object", "plain", "none"])
def test_same_answer_through_hooks_subclasses_and_other_objects(how: str) -> None:
    obj = object()
    name = "mw_only_here_xyz"
    key = f"_mw_test_mod_{how}"
    if how == "hook":
        mod = types.ModuleType(key)
        mod.__getattr__ = lambda n: obj if n == name else (_ for _ in ()).throw(AttributeError(n))  # type: ignore[attr-defined]
    elif how == "subclass":

        class Lazy(types.ModuleType):
            def __getattr__(self, n: str) -> object:
                if n == name:
                    return obj
                raise AttributeError(n)

        mod = Lazy(key)
    elif how == "object":
        mod = types.SimpleNamespace(**{name: obj})  # type: ignore[assignment]
    elif how == "plain":
        mod = types.ModuleType(key)
        setattr(mod, name, obj)
    else:
        mod = types.ModuleType(key)
    sys.modules[key] = mod  # type: ignore[assignment]
    try:
        fast = fast_whichmodule(_slow)
        got = fast(obj, name)
        assert got == _slow(obj, name)
        assert got == ("__main__" if how == "none" else key)
    finally:
        del sys.modules[key]


def test_a_fresh_process_builds_the_same_trusted_tables_as_skops() -> None:
    code = r"""
import hashlib, json, sys
import sklearn.pipeline, sklearn.linear_model, sklearn.preprocessing
if sys.argv[1] == "fast":
    from modelward.core.artifacts.safeload import _skops_io
    _skops_io()
else:
    import sklearn.utils
    sklearn.utils.all_estimators = lambda *a, **k: []
    import skops.io
import skops.io._trusted_types as tt
import skops.io._utils as utils
lists = [getattr(tt, k) for k in sorted(dir(tt)) if k.endswith("NAMES")]
print(hashlib.sha256(json.dumps(lists).encode()).hexdigest(), sum(map(len, lists)))
hooked = any(type(f).__name__ == "_SkopsUtilsHook" for f in sys.meta_path)
print(hasattr(utils.whichmodule, "slow"), hooked)
"""
    slow, fast = (
        subprocess.run(
            [sys.executable, "-c", code, mode], capture_output=True, text=True, check=True
        ).stdout.split("\n")
        for mode in ("slow", "fast")
    )
    assert slow[0] == fast[0]  # the same trusted-type tables
    assert int(fast[0].split()[1]) > 200
    # skops.io._utils keeps the fast function; the import hook is gone
    assert slow[1] == "False False" and fast[1] == "True False"
