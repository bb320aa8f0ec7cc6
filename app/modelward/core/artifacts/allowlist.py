"""The exact ``(module, name)`` pairs a model file may name.

A pickle names every callable it needs as a *global*: a module and a name. The
unpickler looks it up and calls it. Restricting which globals may be looked up
is the only way to keep a pickle from running code of its choice, so the list
is exact, never a wildcard: ``sklearn``, ``numpy`` and ``joblib`` all hold
functions that write files or load other pickles (``numpy.save``,
``sklearn.tree.export_graphviz``, ``joblib.load``, ``numpy.load`` …).

What is allowed:

- every **class** defined in scikit-learn's own (non-test) modules, derived
  from the installed scikit-learn by walking its packages — estimators,
  transformers and the helper classes fitted models hold (``Tree``, losses,
  links, binners, predictors, scorers, splitters …) — minus a short list of
  classes that run other code when called; plus the handful of Cython pickle
  helpers (``newObj``, ``__pyx_unpickle_*``) that only allocate an instance
  of such a class, and the metric functions behind the named scorers;
- numpy's array, scalar, dtype, masked-array and random-generator
  reconstructors, its scalar types and ufuncs (pure arithmetic);
- scipy's sparse matrix and array classes;
- ``joblib.numpy_pickle.NumpyArrayWrapper`` (a data holder; the joblib loader
  here reads what it describes);
- ``copyreg._reconstructor`` and a few builtin containers.

Nothing here can open a file, import a module by name, evaluate code or load
another pickle.

A load does not enumerate scikit-learn (that imports ~300 modules, seconds
per process): :class:`Allowlist` applies the same rule to each global a file
actually names, importing only that one scikit-learn module, and keeps the
verdict for the rest of the process. :func:`default_allowlist` still builds
the whole enumeration (tests prove the per-name rule agrees with it).
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import types
import warnings
from collections.abc import Iterable
from typing import Any

Pair = tuple[str, str]

# Parts of scikit-learn that are not model code: tests and test helpers, data
# set downloaders, vendored third-party code, build and packaging helpers.
_SKLEARN_EXCLUDED_PARTS = frozenset(
    {
        "tests",
        "_testing",
        "datasets",
        "externals",
        "experimental",
        "_build_utils",
        "__check_build",
        "conftest",
        "estimator_checks",
        "_mocking",
        "_show_versions",
        "_min_dependencies",
        "_distributor_init",
    }
)

# scikit-learn classes that run arbitrary callables or start processes when
# called; a model never pickles them.
_SKLEARN_DENIED = frozenset(
    {
        ("sklearn.utils.parallel", "Parallel"),
        ("sklearn.utils.parallel", "_FuncWrapper"),
    }
)

# Python-level globals every ordinary pickle of a model may need.
_BUILTINS: frozenset[Pair] = frozenset(
    {
        ("copyreg", "_reconstructor"),
        ("builtins", "object"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "slice"),
        ("builtins", "complex"),
        ("builtins", "bytearray"),
        ("builtins", "bytes"),
        ("builtins", "list"),
        ("builtins", "dict"),
        ("builtins", "tuple"),
        ("builtins", "int"),
        ("builtins", "float"),
        ("builtins", "bool"),
        ("builtins", "str"),
        ("builtins", "range"),
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("_codecs", "encode"),  # served by _latin1_encode below
    }
)

# numpy reconstructors real model files use (numpy 2 names and the numpy 1
# names older files carry; both resolve to the numpy 2 object).
_NUMPY_FUNCS: dict[Pair, str] = {
    ("numpy._core.multiarray", "_reconstruct"): "numpy._core.multiarray:_reconstruct",
    ("numpy.core.multiarray", "_reconstruct"): "numpy._core.multiarray:_reconstruct",
    ("numpy._core.multiarray", "scalar"): "numpy._core.multiarray:scalar",
    ("numpy.core.multiarray", "scalar"): "numpy._core.multiarray:scalar",
    ("numpy._core.numeric", "_frombuffer"): "numpy._core.numeric:_frombuffer",
    ("numpy.core.numeric", "_frombuffer"): "numpy._core.numeric:_frombuffer",
    ("numpy", "ndarray"): "numpy:ndarray",
    ("numpy", "dtype"): "numpy:dtype",
    ("numpy.ma.core", "_mareconstruct"): "numpy.ma.core:_mareconstruct",
    ("numpy.ma.core", "MaskedArray"): "numpy.ma.core:MaskedArray",
    ("numpy.ma", "MaskedArray"): "numpy.ma.core:MaskedArray",
    ("numpy.random._pickle", "__bit_generator_ctor"): "numpy.random._pickle:__bit_generator_ctor",
    ("numpy.random._pickle", "__generator_ctor"): "numpy.random._pickle:__generator_ctor",
    ("numpy.random._pickle", "__randomstate_ctor"): "numpy.random._pickle:__randomstate_ctor",
    ("numpy.random.bit_generator", "SeedSequence"): "numpy.random.bit_generator:SeedSequence",
    (
        "numpy.random.bit_generator",
        "__pyx_unpickle_SeedSequence",
    ): "numpy.random.bit_generator:__pyx_unpickle_SeedSequence",
    ("numpy.random.mtrand", "RandomState"): "numpy.random.mtrand:RandomState",
    ("numpy.random._generator", "Generator"): "numpy.random._generator:Generator",
    ("joblib.numpy_pickle", "NumpyArrayWrapper"): "joblib.numpy_pickle:NumpyArrayWrapper",
}

# Modules an override can never open up, whatever a reviewer approves: they
# run programs, touch files, import code or load other pickles.
NEVER_MODULES = (
    "os",
    "posix",
    "nt",
    "sys",
    "subprocess",
    "io",
    "_io",
    "pickle",
    "_pickle",
    "pickletools",
    "copyreg",
    "marshal",
    "shutil",
    "pathlib",
    "tempfile",
    "glob",
    "importlib",
    "imp",
    "runpy",
    "code",
    "codeop",
    "ctypes",
    "cffi",
    "socket",
    "ssl",
    "http",
    "urllib",
    "ftplib",
    "smtplib",
    "webbrowser",
    "pty",
    "signal",
    "multiprocessing",
    "concurrent",
    "threading",
    "_thread",
    "asyncio",
    "zipfile",
    "tarfile",
    "shelve",
    "dbm",
    "sqlite3",
    "logging",
    "platform",
    "mmap",
    "gc",
    "inspect",
    "operator",
    "functools",
    "joblib",
    "dill",
    "cloudpickle",
    "numpy.lib.npyio",
    "numpy.lib.format",
    "numpy.lib._npyio_impl",
    "numpy._core.memmap",
    "numpy.core.memmap",
    "scipy.io",
    "pandas.io",
    "skops",
)
NEVER_BUILTINS = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "open",
        "getattr",
        "setattr",
        "delattr",
        "__import__",
        "globals",
        "locals",
        "vars",
        "input",
        "breakpoint",
        "type",
        "memoryview",
        "help",
        "exit",
        "quit",
    }
)


def _import_attr(spec: str) -> Any:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def _resolve(module: str, qualname: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol 0-2 pickles use it: byte strings only."""
    if encoding.lower().replace("-", "").replace("_", "") not in ("latin1", "iso88591"):
        raise ValueError(f"codec {encoding!r} is not allowed")
    if not isinstance(text, str):
        raise TypeError("only text can be encoded")
    return text.encode("latin-1")


def _sklearn_module_ok(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "sklearn" and not any(p in _SKLEARN_EXCLUDED_PARTS for p in parts)


def _sklearn_modules() -> Iterable[types.ModuleType]:
    import sklearn  # deferred: start-up cost

    seen = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield sklearn
        for info in pkgutil.walk_packages(sklearn.__path__, "sklearn.", onerror=lambda _n: None):
            if not _sklearn_module_ok(info.name) or info.name in seen:
                continue
            seen.add(info.name)
            try:
                yield importlib.import_module(info.name)
            except Exception:  # an optional dependency is missing: its classes cannot occur
                continue


def _scorer_functions() -> dict[Pair, Any]:
    """The metric functions behind scikit-learn's named scorers (fitted searches hold them)."""
    from sklearn.metrics import get_scorer, get_scorer_names  # deferred: start-up cost

    out: dict[Pair, Any] = {}
    for name in get_scorer_names():
        try:
            func = get_scorer(name)._score_func
        except Exception:
            continue
        mod, qual = getattr(func, "__module__", None), getattr(func, "__qualname__", None)
        if isinstance(mod, str) and isinstance(qual, str) and _sklearn_module_ok(mod):
            out[(mod, qual)] = func
    return out


@functools.cache
def default_allowlist() -> dict[Pair, Any]:
    """Every allowed global and the object it resolves to.

    Returns
    -------
    dict
        ``{(module, qualname): object}``. Built once per process from the
        installed scikit-learn, numpy and scipy.
    """
    allowed: dict[Pair, Any] = {}
    for mod in _sklearn_modules():
        for attr, value in vars(mod).items():
            is_class = isinstance(value, type) and value.__module__ == mod.__name__
            # Cython's pickle helpers only allocate an instance of their own class.
            is_helper = (
                callable(value)
                and not isinstance(value, type)
                and (attr == "newObj" or attr.startswith("__pyx_unpickle_"))
                and getattr(value, "__module__", mod.__name__) == mod.__name__
            )
            if is_class or is_helper:
                key = (mod.__name__, value.__qualname__ if is_class else attr)
                if key not in _SKLEARN_DENIED:
                    allowed[key] = value
    allowed.update(_scorer_functions())
    allowed.update(_fixed_allowlist())
    allowed.update(_sparse_allowlist())
    return allowed


def never_allowed(module: str, name: str) -> bool:
    """``True`` for globals no reviewer override can allow."""
    if module == "builtins" or module == "__builtin__":
        return name in NEVER_BUILTINS or name.startswith("_")
    return any(module == m or module.startswith(m + ".") for m in NEVER_MODULES) and (
        (module, name) not in _NUMPY_FUNCS  # joblib.numpy_pickle.NumpyArrayWrapper
    )


def parse_global(text: str) -> Pair:
    """``"module:qualname"`` or ``"module.qualname"`` (split at the last dot) into a pair."""
    if ":" in text:
        module, _, name = text.partition(":")
    else:
        module, _, name = text.rpartition(".")
    module, name = module.strip(), name.strip()
    if not module or not name:
        raise ValueError(f"not a global name: {text!r} (use module:name)")
    return module, name


def _sklearn_pair(module: str, name: str) -> Any:
    """The object behind an allowed scikit-learn global, or ``None``.

    The same rule as :func:`default_allowlist`, for one pair: a class defined
    in that very (non-test) scikit-learn module, a Cython pickle helper of
    it, or a metric function behind a named scorer. Only a module inside the
    installed scikit-learn package is imported, never a name from elsewhere.
    """
    if not _sklearn_module_ok(module) or (module, name) in _SKLEARN_DENIED:
        return None
    if not all(p.isidentifier() for p in module.split(".")):
        return None
    import sklearn  # deferred: start-up cost

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mod = importlib.import_module(module)
    except Exception:  # no such module, or an optional dependency is missing
        return None
    root = os.path.dirname(os.path.abspath(sklearn.__file__))
    where = getattr(mod, "__file__", None)
    if (
        mod.__name__ != module
        or not isinstance(where, str)
        or os.path.commonpath([root, os.path.abspath(where)]) != root
    ):
        return None
    members = vars(mod)
    if "." not in name:
        value = members.get(name)
        if isinstance(value, type):
            ok = value.__module__ == module and value.__qualname__ == name
            if ok:
                return value
        if (
            value is not None
            and not isinstance(value, type)
            and callable(value)
            and (name == "newObj" or name.startswith("__pyx_unpickle_"))
            and getattr(value, "__module__", module) == module
        ):
            return value
    # a nested or renamed class: allowed when the module itself exposes it under some name
    for value in members.values():
        if isinstance(value, type) and value.__module__ == module and value.__qualname__ == name:
            return value
    return _scorer_function(module, name)


@functools.cache
def _scorer_table() -> dict[Pair, Any]:
    return _scorer_functions()


def _scorer_function(module: str, name: str) -> Any:
    return _scorer_table().get((module, name))


@functools.cache
def _fixed_allowlist() -> dict[Pair, Any]:
    """Everything but scikit-learn: builtins, numpy, scipy.sparse (cheap, once per process)."""
    import numpy as np  # deferred: start-up cost

    allowed: dict[Pair, Any] = {}
    for module, name in _BUILTINS:
        if (module, name) == ("_codecs", "encode"):
            allowed[(module, name)] = _latin1_encode
        else:
            allowed[(module, name)] = _resolve(module, name)
    for key, spec in _NUMPY_FUNCS.items():
        try:
            allowed[key] = _import_attr(spec)
        except (ImportError, AttributeError):  # an older numpy: that name cannot occur
            continue
    for attr in dir(np):
        value = getattr(np, attr, None)
        if isinstance(value, np.ufunc) or (
            isinstance(value, type) and issubclass(value, np.generic)
        ):
            allowed[("numpy", attr)] = value
    import numpy.dtypes  # deferred: start-up cost
    import numpy.random  # deferred: start-up cost

    for attr in dir(numpy.dtypes):
        value = getattr(numpy.dtypes, attr)
        if isinstance(value, type) and issubclass(value, np.dtype):
            allowed[("numpy.dtypes", attr)] = value
    for attr in ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64"):
        cls = getattr(numpy.random, attr, None)
        if isinstance(cls, type):
            allowed[(cls.__module__, cls.__qualname__)] = cls
    return allowed


@functools.cache
def _sparse_allowlist() -> dict[Pair, Any]:
    import scipy.sparse  # deferred: start-up cost

    allowed: dict[Pair, Any] = {}
    for attr in dir(scipy.sparse):
        value = getattr(scipy.sparse, attr)
        if isinstance(value, type) and issubclass(
            value, scipy.sparse.sparray | scipy.sparse.spmatrix
        ):
            allowed[(value.__module__, value.__qualname__)] = value
    return allowed


class _LazyBase:
    """The default allowlist, decided per pair on first use and kept for the process."""

    def __init__(self) -> None:
        self._seen: dict[Pair, Any] = {}

    def get(self, pair: Pair) -> Any:
        try:
            return self._seen[pair]
        except KeyError:
            pass
        module, name = pair
        found = _fixed_allowlist().get(pair)
        if found is None and module.split(".")[0] == "scipy":
            found = _sparse_allowlist().get(pair)
        if found is None and module.split(".")[0] == "sklearn":
            found = _sklearn_pair(module, name)
        self._seen[pair] = found
        return found

    def __contains__(self, pair: object) -> bool:
        return isinstance(pair, tuple) and len(pair) == 2 and self.get(pair) is not None


@functools.cache
def lazy_allowlist() -> _LazyBase:
    """The process-wide per-pair view of :func:`default_allowlist` (see the module docstring)."""
    return _LazyBase()


class Allowlist:
    """The allowlist for one load: the defaults plus globals a reviewer approved.

    Parameters
    ----------
    extra
        ``(module, qualname)`` pairs approved by a trust override for this one
        file. Pairs in :data:`NEVER_MODULES` / :data:`NEVER_BUILTINS` are
        refused even then.
    """

    def __init__(self, extra: Iterable[Pair] = ()):
        self.base = lazy_allowlist()
        self.extra = frozenset(tuple(p) for p in extra)
        for module, name in self.extra:
            if never_allowed(module, name):
                raise ValueError(f"global {module}.{name} can never be allowed")

    def allows(self, module: str, name: str) -> bool:
        return self.base.get((module, name)) is not None or (module, name) in self.extra

    def resolve(self, module: str, name: str) -> Any:
        """The object for an allowed global; ``KeyError`` when it is not allowed."""
        found = self.base.get((module, name))
        if found is not None:
            return found
        if (module, name) in self.extra and not never_allowed(module, name):
            return _resolve(module, name)
        raise KeyError(f"{module}.{name}")


def allowed_names(pairs: Iterable[Pair]) -> list[str]:
    return sorted(f"{m}.{n}" for m, n in pairs)
