"""Loading model files without trusting them.

Every path that turns model bytes into a Python object comes through here:

- :func:`prescan` walks a pickle's opcodes with :mod:`pickletools` (which
  parses, never executes) and names the first global that is not allowed;
- :class:`RestrictedUnpickler` and :class:`RestrictedNumpyUnpickler` (for
  joblib files) are the enforcement: their ``find_class`` resolves only exact
  ``(module, name)`` pairs of :mod:`~modelward.core.artifacts.allowlist`, and
  they refuse to set state on classes, functions or modules;
- :func:`load_bytes` loads bytes of a known format, with the one loader for
  that format (never another one when the first fails);
- :func:`load_artifact` verifies an artifact's SHA-256 and loads exactly the
  bytes it checked.

The plain :func:`pickle.load` / :func:`joblib.load` are never used.
"""

from __future__ import annotations

import _compat_pickle
import functools
import importlib.abc
import importlib.machinery
import io
import pickle
import pickletools
import sys
import threading
import types
import warnings
import zlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from modelward.core.artifacts.allowlist import Allowlist, Pair
from modelward.core.artifacts.formats import NATIVE_FORMATS, native_hint
from modelward.core.artifacts.overrides import overrides_for
from modelward.core.errors import IntegrityError, RejectedFile

if TYPE_CHECKING:
    from modelward.core.artifacts.store import ArtifactStore
    from modelward.core.registry import Registry

_STRING_OPS = frozenset(
    {
        "SHORT_BINUNICODE",
        "BINUNICODE",
        "BINUNICODE8",
        "UNICODE",
        "STRING",
        "BINSTRING",
        "SHORT_BINSTRING",
    }
)
_MARK = object()


def _fix_name(module: str, name: str, proto: int) -> Pair:
    """Python 2 names that protocol 0-2 pickles carry, as the unpickler maps them."""
    if proto < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
    return module, name


def _not_allowed(module: str, name: str) -> RejectedFile:
    hint = native_hint(module)
    if hint is not None:
        # A boosting library's wrapper in a pickle: say how to save it safely instead.
        return RejectedFile(
            f"global {module}.{name} is not allowed: pickled models of this library are "
            f"refused; {hint} (or, once a reviewer has trusted this file with "
            "'modelward trust', convert it with 'modelward convert NAME --to native')"
        )
    return RejectedFile(f"global {module}.{name} is not allowed")


def prescan(
    data: bytes | memoryview,
    allow: Allowlist,
    *,
    stop_at_joblib_array: bool = False,
    partial: bool = False,
) -> None:
    """Walk the pickle opcodes of ``data`` and reject the first forbidden global.

    A cheap first pass that runs nothing. It follows strings through the
    stack and memo so that protocol 4+ ``STACK_GLOBAL`` is named too; what it
    cannot name is left to the restricted unpickler, which enforces the same
    list. ``partial`` says ``data`` is only a prefix of the stream. For joblib
    streams the walk stops at the first array wrapper (raw
    array bytes follow it, which are not opcodes).

    Raises
    ------
    RejectedFile
        Naming the global (``"global io.open is not allowed"``) or opcode.
    """
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    proto = 0
    try:
        for op, arg, _pos in pickletools.genops(io.BytesIO(data)):
            name = op.name
            if name == "PROTO":
                proto = int(arg)  # type: ignore[arg-type]
            if name in ("PERSID", "BINPERSID"):
                raise RejectedFile("persistent ids are not allowed in a model file")
            if name.startswith("EXT"):
                raise RejectedFile("pickle extension codes are not allowed in a model file")
            pair: Pair | None = None
            if name in ("GLOBAL", "INST"):
                module, _, qual = str(arg).partition(" ")
                pair = _fix_name(module, qual, proto)
            elif name == "STACK_GLOBAL":
                top: Any = stack.pop() if stack else None
                below: Any = stack.pop() if stack else None
                if isinstance(below, str) and isinstance(top, str):
                    pair = _fix_name(below, top, proto)
                stack.append(None)
            if pair is not None:
                if not allow.allows(*pair):
                    raise _not_allowed(*pair)
                if stop_at_joblib_array and pair[1] == "NumpyArrayWrapper":
                    return
            if name == "STACK_GLOBAL":
                continue
            # Generic stack bookkeeping from the opcode's declared effect.
            if name == "MEMOIZE":
                memo[len(memo)] = stack[-1] if stack else None
                continue
            if name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[int(arg)] = stack[-1] if stack else None  # type: ignore[arg-type]
                continue
            if name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo.get(int(arg)))  # type: ignore[arg-type]
                continue
            if name == "MARK":
                stack.append(_MARK)
                continue
            before = op.stack_before
            if pickletools.markobject in before:
                while stack and stack.pop() is not _MARK:
                    pass
            else:
                del stack[len(stack) - min(len(before), len(stack)) :]
            if name in _STRING_OPS:
                stack.append(arg if isinstance(arg, str) else None)
            else:
                stack.extend([None] * len(op.stack_after))
            if name == "STOP":
                return
    except ValueError as e:  # pickletools: unknown opcode or data running out
        if stop_at_joblib_array or (partial and "opcode" not in str(e)):
            # Raw array bytes or the end of a prefix: the unpickler checks the rest.
            return
        raise RejectedFile(_describe_stream_error(e, "pickle", len(data))) from None


def _describe_stream_error(e: BaseException, kind: str, pos: int | None = None) -> str:
    msg = str(e)
    where = f" at byte {pos}" if pos is not None else ""
    if isinstance(e, EOFError) or any(
        w in msg for w in ("EOF", "truncated", "exhausted", "ran out")
    ):
        return f"truncated {kind} stream{where}"
    if "opcode" in msg:
        return f"not a valid {kind} stream{where}: {msg}"
    return f"unreadable {kind} stream{where}: {msg}"


_NOT_BUILDABLE: tuple[type, ...] = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
)


class _RestrictedMixin:
    """``find_class`` and ``BUILD`` restricted to the allowlist (mixed into pure-Python unpicklers)."""

    allow: Allowlist
    proto: int
    stack: list[Any]

    def find_class(self, module: str, name: str) -> Any:
        module, name = _fix_name(module, name, self.proto)
        try:
            return self.allow.resolve(module, name)
        except (KeyError, ImportError, AttributeError):
            raise _not_allowed(module, name) from None

    def persistent_load(self, pid: Any) -> Any:
        raise RejectedFile("persistent ids are not allowed in a model file")

    def _guard_build(self) -> None:
        import numpy as np  # deferred: start-up cost

        target = self.stack[-2] if len(self.stack) >= 2 else None
        if isinstance(target, _NOT_BUILDABLE + (np.ufunc,)):
            what = getattr(target, "__qualname__", type(target).__name__)
            raise RejectedFile(f"the file tries to change {what} itself, which is not allowed")


class RestrictedUnpickler(_RestrictedMixin, pickle._Unpickler):  # type: ignore[name-defined,misc]
    """A pickle unpickler that resolves only allowlisted globals.

    Parameters
    ----------
    file
        A binary file object.
    allow
        The allowlist for this load.
    """

    dispatch = pickle._Unpickler.dispatch.copy()  # type: ignore[attr-defined]

    def __init__(self, file: Any, allow: Allowlist):
        super().__init__(file)
        self.allow = allow

    def load_build(self) -> None:
        self._guard_build()
        pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]

    dispatch[pickle.BUILD[0]] = load_build  # type: ignore[assignment]


def _numpy_unpickler_class() -> type:
    from joblib.numpy_pickle import NumpyArrayWrapper, NumpyUnpickler  # deferred: start-up cost

    class RestrictedNumpyUnpickler(_RestrictedMixin, NumpyUnpickler):  # type: ignore[misc,valid-type]
        """joblib's unpickler with the allowlist, including object arrays.

        joblib reads the payload of an object-dtype array as a nested pickle
        stream; it is read here with :class:`RestrictedUnpickler` too.
        """

        dispatch = NumpyUnpickler.dispatch.copy()

        def __init__(self, file: Any, allow: Allowlist):
            NumpyUnpickler.__init__(self, "", file, ensure_native_byte_order=True)
            self.allow = allow

        def load_build(self) -> None:
            self._guard_build()
            pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]
            top = self.stack[-1]
            if type(top) is NumpyArrayWrapper:
                wrapper = self.stack.pop()
                self.stack.append(self._read_wrapped(wrapper))

        def _read_wrapped(self, wrapper: Any) -> Any:
            import numpy as np  # deferred: start-up cost

            dtype = getattr(wrapper, "dtype", None)
            if not isinstance(dtype, np.dtype) or wrapper.subclass is not np.ndarray:
                raise RejectedFile("malformed joblib array header")
            if dtype.hasobject:
                inner = RestrictedUnpickler(self.file_handle, self.allow)
                return inner.load()
            return wrapper.read_array(self, self.ensure_native_byte_order)

        dispatch[pickle.BUILD[0]] = load_build

    return RestrictedNumpyUnpickler


def _check_top(obj: Any) -> None:
    if not (hasattr(obj, "fit") or hasattr(obj, "predict") or hasattr(obj, "transform")):
        raise RejectedFile(f"the file holds a {type(obj).__name__}, not a scikit-learn estimator")


def load_bytes(data: bytes, fmt: str, allow: Allowlist | None = None) -> Any:
    """Load model bytes of format ``fmt`` with the restricted loader for that format.

    Parameters
    ----------
    data
        The whole file.
    fmt
        ``"pickle"``, ``"joblib"``, ``"skops"`` or a native kind
        (``"xgboost-json"``..., read by its own library, see
        :mod:`~modelward.core.artifacts.native`), from
        :func:`~modelward.core.artifacts.formats.detect_format`.
    allow
        The allowlist; defaults to :class:`Allowlist` with no extras.

    Returns
    -------
    object
        The estimator.

    Raises
    ------
    RejectedFile
        With the reason: a forbidden global or type, a truncated or corrupt
        stream, or something that is not an estimator.
    """
    allow = allow if allow is not None else Allowlist()
    if fmt in NATIVE_FORMATS:
        # deferred: start-up cost (the adapters are scikit-learn estimators)
        from modelward.core.artifacts.native import load_native

        return load_native(data, fmt)
    if fmt == "skops":
        obj = _load_skops(data, allow)
    elif fmt == "pickle":
        prescan(data, allow, stop_at_joblib_array=False)
        fh = io.BytesIO(data)
        obj = _run(lambda: RestrictedUnpickler(fh, allow).load(), fh, "pickle")
    elif fmt == "joblib":
        obj = _load_joblib(data, allow)
    else:
        raise RejectedFile(f"unknown model format {fmt!r}")
    _check_top(obj)
    return obj


def _run(load: Any, fh: Any, kind: str) -> Any:
    try:
        return load()
    except RejectedFile:
        raise
    except MemoryError:
        raise
    except RecursionError:
        raise RejectedFile(f"the {kind} stream is nested too deeply") from None
    except Exception as e:
        pos = None
        try:
            pos = int(fh.tell())
        except Exception:
            pass
        raise RejectedFile(_describe_stream_error(e, kind, pos)) from None


def _load_joblib(data: bytes, allow: Allowlist) -> Any:
    from joblib.numpy_pickle_utils import _validate_fileobject_and_memmap  # deferred: start-up cost

    if data.startswith(b"ZF"):
        raise RejectedFile("joblib files written before joblib 0.10 are not supported")
    try:
        with _validate_fileobject_and_memmap(io.BytesIO(data), "", None) as (fobj, _mode):
            head = _peek(fobj)
            prescan(head, allow, stop_at_joblib_array=True, partial=len(head) == _PEEK)
            unpickler_cls = _numpy_unpickler_class()
            return _run(lambda: unpickler_cls(fobj, allow).load(), fobj, "joblib")
    except (RejectedFile, MemoryError):
        raise
    except Exception as e:  # the decompressor refused the stream
        raise RejectedFile(_describe_stream_error(e, "joblib")) from None


_PEEK = 1 << 20


def _peek(fobj: Any, n: int = _PEEK) -> bytes:
    """The first ``n`` decompressed bytes, rewinding the stream afterwards."""
    try:
        pos = fobj.tell()
        head = fobj.read(n)
        fobj.seek(pos)
        return bytes(head)
    except (OSError, EOFError, zlib.error, ValueError) as e:
        raise RejectedFile(_describe_stream_error(e, "joblib", 0)) from None


def skops_type_pair(type_name: str, allow: Allowlist) -> Pair | None:
    """The allowlisted ``(module, qualname)`` for a skops type name, or ``None``."""
    parts = type_name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        pair = (".".join(parts[:i]), ".".join(parts[i:]))
        if allow.allows(*pair):
            return pair
    return None


_SKOPS_IMPORT = threading.Lock()
_SKOPS_UTILS = "skops.io._utils"
_MAIN_NAMES = frozenset({"__main__", "__mp_main__"})


def fast_whichmodule(slow: Callable[[Any, str], str]) -> Callable[[Any, str], str]:
    """skops's ``whichmodule`` with the same answers, without a ``getattr`` per loaded module.

    skops names an object without ``__module__`` (a NumPy or SciPy ufunc) by
    the first loaded module, in import order, whose attribute of that name
    is the object. Its trusted-type tables do this at import for every ufunc
    of NumPy and ``scipy.special`` (about 460) over every loaded module
    (1,800 once scikit-learn is in): about 190,000 ``getattr`` calls, many
    through modules' ``__getattr__`` hooks (0.4-0.6 s of CPU per process).
    Here a plain module is asked through its ``__dict__`` (what ``getattr``
    finds first for a name the module type does not define itself), and
    ``slow``'s own ``getattr`` is kept for everything else: a module with a
    ``__getattr__`` hook, a module subclass or other object in
    ``sys.modules``, a name the module type defines, a dotted name. The walk,
    its order and the ``"__main__"`` fallback are skops's, so the answer is
    the same object for object (a test compares both over every ufunc).
    """

    def whichmodule(obj: Any, name: str) -> str:
        if getattr(obj, "__module__", None) is not None or "." in name:
            return slow(obj, name)
        if hasattr(types.ModuleType, name):
            return slow(obj, name)
        with warnings.catch_warnings():
            # as skops does: numpy.core's deprecation hook warns when asked
            warnings.simplefilter("ignore", DeprecationWarning)
            for module_name, module in sys.modules.copy().items():
                if module_name in _MAIN_NAMES or module is None:
                    continue
                if type(module) is types.ModuleType:
                    d = module.__dict__
                    if name in d:
                        found = d[name]
                    elif "__getattr__" in d:
                        try:
                            found = getattr(module, name, None)
                        except (AttributeError, ImportError):
                            continue
                    else:
                        continue
                else:
                    try:
                        found = getattr(module, name, None)
                    except (AttributeError, ImportError):
                        continue
                if found is obj:
                    return module_name
        return "__main__"

    whichmodule.slow = slow  # type: ignore[attr-defined]
    return whichmodule


class _SkopsUtilsHook(importlib.abc.MetaPathFinder):
    """Swaps :func:`fast_whichmodule` into ``skops.io._utils`` right after it executes.

    It must be in place before ``skops.io._trusted_types`` runs (the package
    imports both in one go), hence a finder for the one module name.
    """

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != _SKOPS_UTILS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = getattr(spec, "loader", None)
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: types.ModuleType) -> None:
            run(module)
            slow = getattr(module, "whichmodule", None)
            if callable(slow):
                module.whichmodule = fast_whichmodule(slow)  # type: ignore[attr-defined]

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _skops_io() -> Any:
    """``skops.io``, imported without enumerating scikit-learn.

    At import skops lists every scikit-learn estimator (``all_estimators()``
    imports ~300 modules, and dask where it is installed: 2-4 s per process)
    only to build its own default trust list. Loads here never rely on that
    list: every type a file names is checked against our allowlist and passed
    as ``trusted``. So the enumeration is skipped while skops imports, which
    leaves its defaults narrower, never wider. Its ufunc tables are built
    with :func:`fast_whichmodule` (the same names, a fraction of the time).
    """
    with _SKOPS_IMPORT:
        if "skops.io" not in sys.modules:
            import sklearn.utils  # deferred: start-up cost

            real = sklearn.utils.all_estimators
            sklearn.utils.all_estimators = lambda *a, **k: []  # type: ignore[assignment]
            hook = _SkopsUtilsHook()
            sys.meta_path.insert(0, hook)
            try:
                import skops.io  # noqa: F401  # deferred: start-up cost
            finally:
                sys.meta_path.remove(hook)
                sklearn.utils.all_estimators = real
    return sys.modules["skops.io"]


def warm_loaders() -> None:
    """Import scikit-learn and the skops loader now (a caller overlaps them with file I/O)."""
    import sklearn  # noqa: F401  # deferred: start-up cost

    _skops_io()


SKOPS_BOOSTING: frozenset[Pair] = frozenset(
    {
        ("xgboost.sklearn", "XGBClassifier"),
        ("xgboost.sklearn", "XGBRegressor"),
        ("xgboost.core", "Booster"),
        ("lightgbm.sklearn", "LGBMClassifier"),
        ("lightgbm.sklearn", "LGBMRegressor"),
        ("lightgbm.basic", "Booster"),
    }
)
"""XGBoost's and LightGBM's scikit-learn wrappers, allowed in skops files only.

A pipeline trained here with a boosting step is saved as skops: skops
rebuilds these objects from plain state, and their boosters from the
library's own model buffer (the same parser as its native file), never by
running pickle. In a pickle or joblib file they stay refused: there the
unpickler would hand their ``__reduce__`` whatever the file says.
"""

_BOOSTING_EXTRA = {"xgboost": "XGBoost", "lightgbm": "LightGBM"}


def _skops_allow(allow: Allowlist) -> Allowlist:
    return _skops_allow_for(frozenset((str(m), str(n)) for m, n in allow.extra))


@functools.lru_cache(maxsize=64)
def _skops_allow_for(extra: frozenset[Pair]) -> Allowlist:
    # Built once per set of overrides: each pair is checked against the
    # never-allowed modules (a quarter of a log_model's type check when built per call).
    return Allowlist([*extra, *SKOPS_BOOSTING])


def _needs_extra(type_name: str) -> None:
    """A skops file naming a boosting type whose library is missing: say which extra."""
    top = type_name.split(".")[0]
    if top in _BOOSTING_EXTRA:
        try:
            __import__(top)
        except ImportError:
            raise RejectedFile(
                f"this model holds a {_BOOSTING_EXTRA[top]} model; install modelward[{top}] "
                "to load it"
            ) from None


def check_skops_types(data: bytes, allow: Allowlist | None = None) -> list[str]:
    """Refuse skops bytes naming a type the loader would refuse; return the types it names.

    The first step of every skops load, without building any object: for
    bytes this process just wrote from a live estimator (``log_model``) it
    proves the load that matters in about a third of a full load's time.

    Raises
    ------
    RejectedFile
        ``"skops type X is not allowed"`` (with a hint for boosting libraries).
    """
    sio = _skops_io()
    allow = _skops_allow(allow if allow is not None else Allowlist())
    try:
        untrusted = list(sio.get_untrusted_types(data=data))
    except Exception as e:
        raise RejectedFile(f"unreadable skops file: {e}") from None
    for t in untrusted:
        _needs_extra(t)
        if skops_type_pair(t, allow) is None:
            hint = native_hint(t)
            raise RejectedFile(
                f"skops type {t} is not allowed" + (f"; {hint}" if hint is not None else "")
            )
    return untrusted


def _load_skops(data: bytes, allow: Allowlist) -> Any:
    sio = _skops_io()
    untrusted = check_skops_types(data, allow)
    allow = _skops_allow(allow)
    try:
        # ``trusted`` is our own verdict on each name, never the file's list as such.
        return sio.loads(data, trusted=[t for t in untrusted if skops_type_pair(t, allow)])
    except MemoryError:
        raise
    except Exception as e:
        raise RejectedFile(f"unreadable skops file: {type(e).__name__}: {e}") from None


def approved_globals(registry: Registry | None, sha256: str) -> list[Pair]:
    """Globals a reviewer approved for these bytes (see :mod:`~modelward.core.artifacts.trust`)."""
    if registry is None:
        return []

    out: list[Pair] = []
    for ov in overrides_for(registry, sha256):
        out.extend(tuple(p) for p in ov.get("globals", []))  # type: ignore[misc]
    return out


def load_artifact(
    store: ArtifactStore,
    sha256: str,
    fmt: str,
    *,
    registry: Registry | None = None,
    extra_globals: Iterable[Pair] = (),
) -> Any:
    """Load a stored artifact: verify its SHA-256, then load exactly those bytes.

    The bytes are read once, hashed, and the same bytes are unpickled, so a
    file swapped between the check and the load cannot slip through.

    Parameters
    ----------
    store
        The artifact store.
    sha256
        The artifact's digest.
    fmt
        Its format as registered.
    registry
        When given, globals approved by a reviewer's trust override for this
        artifact are allowed too.
    extra_globals
        More approved ``(module, name)`` pairs (still never the forbidden ones).

    Raises
    ------
    IntegrityError
        The bytes no longer match ``sha256``.
    RejectedFile
        The bytes fail the allowlist.
    """
    data, allow = verified_bytes(store, sha256, registry=registry, extra_globals=extra_globals)
    return load_bytes(data, fmt, allow)


def verified_bytes(
    store: ArtifactStore,
    sha256: str,
    *,
    registry: Registry | None = None,
    extra_globals: Iterable[Pair] = (),
) -> tuple[bytes, Allowlist]:
    """The first half of :func:`load_artifact`: the checked bytes and the allowlist for them.

    Everything that reads the store and the registry happens here, on the
    caller's thread; ``load_bytes(data, fmt, allow)`` (the imports and the
    restricted load, seconds) may then run on another thread while the
    caller reads a batch. The bytes returned are exactly those hashed.

    Raises
    ------
    IntegrityError
        The bytes no longer match ``sha256``, or are empty.
    """
    data = store.read_bytes(sha256)  # verifies the digest of exactly these bytes
    if not data:
        raise IntegrityError(f"artifact {sha256[:12]}… is empty")
    extra = list(extra_globals) + approved_globals(registry, sha256)
    return data, Allowlist(extra)
