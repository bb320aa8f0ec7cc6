"""Worker invocations of our own executable.

A frozen app has no Python interpreter to start children with: ``sys.executable``
is the app itself. Children re-run it with special arguments, and
:func:`dispatch_worker` recognises them before the CLI parses anything.

Our own workers are started with :func:`worker_command` and run
``<executable> --mw-worker NAME``; ``NAME`` maps to a ``module:function`` in
:data:`WORKERS`, called with no arguments (it talks over stdin/stdout).

Libraries start their children as if ``sys.executable`` were ``python``:

* joblib's loky backend starts each worker as
  ``<exe> -m joblib.externals.loky.backend.popen_loky_posix --process-name N --pipe FD``
  and its resource tracker as
  ``<exe> [interpreter flags] -c 'from joblib.externals.loky.backend.resource_tracker import main; main(FD, 0)'``;
* :mod:`multiprocessing` starts its resource tracker and forkserver with ``-c``
  and its spawned children with ``--multiprocessing-fork name=value…``;
* loky on Windows, when frozen, starts workers as
  ``<exe> --multiprocessing-fork PIPE_HANDLE`` (not tried on Windows yet).

:func:`dispatch_worker` runs these the way ``python`` would (``-m`` through
:mod:`runpy` with ``sys.argv`` rewritten, ``-c`` through :func:`exec`), but only
for the modules and code prefixes in :data:`PYTHON_MODULES` and
:data:`PYTHON_CODE_PREFIXES`: the app is not a general Python interpreter, and
anything else is refused with one clear line and exit code 2. The same happens
in a source checkout, where these arguments never reach us in normal use.
"""

from __future__ import annotations

import importlib
import runpy
import sys
from collections.abc import Sequence
from typing import NoReturn

from modelward.core import platform

WORKER_FLAG = "--mw-worker"

# name -> "module:function"
WORKERS: dict[str, str] = {
    "inspect": "modelward.core.artifacts.sandbox:worker_main",
    "train": "modelward.core.worker_side:worker_main",
}

# Modules that ``<exe> -m MODULE`` may run (exact names).
PYTHON_MODULES: frozenset[str] = frozenset(
    {
        "joblib.externals.loky.backend.popen_loky_posix",
        "joblib.externals.loky.backend.popen_loky_win32",
    }
)

# Code that ``<exe> -c CODE`` may run must start with one of these.
PYTHON_CODE_PREFIXES: tuple[str, ...] = (
    "from joblib.externals.loky.backend.resource_tracker import main",
    "from joblib.externals.loky.backend.popen_loky_win32 import main",
    "from multiprocessing.resource_tracker import main",
    "from multiprocessing.forkserver import main",
    "import sys; from multiprocessing.forkserver import main",
)

# Interpreter flags that ``subprocess._args_from_interpreter_flags`` may put
# before ``-c``/``-m``; the ones in _FLAGS_WITH_VALUE take the next argument.
_FLAGS_WITH_VALUE = frozenset({"-W", "-X"})


def is_frozen() -> bool:
    """Whether this process runs from the PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def worker_command(name: str) -> list[str]:
    """The argv that starts worker ``name`` in a fresh process, frozen or not."""
    if name not in WORKERS:
        raise KeyError(name)
    if is_frozen():
        return [sys.executable, WORKER_FLAG, name]
    return [sys.executable, "-m", "modelward", WORKER_FLAG, name]


def _refuse(message: str) -> NoReturn:
    sys.stderr.write(f"modelward: {message}\n")
    raise SystemExit(2)


def _skip_interpreter_flags(args: Sequence[str]) -> int:
    """Index of the first argument after leading interpreter flags (``-O``, ``-W x``, …)."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in _FLAGS_WITH_VALUE:
            i += 2
        elif arg[:2] in _FLAGS_WITH_VALUE or (
            len(arg) >= 2 and arg[0] == "-" and arg[1] in "bBdEIOqsSuv" and arg[1:].isalpha()
        ):
            i += 1
        else:
            break
    return i


def _is_loky_win32_child(args: Sequence[str]) -> bool:
    return len(args) == 2 and args[0] == "--multiprocessing-fork" and args[1].isdigit()


def _run_module(module: str, rest: Sequence[str]) -> None:
    if module not in PYTHON_MODULES:
        _refuse(f"this executable does not run module {module!r} (-m)")
    # runpy sets sys.argv[0] to the module's file, like ``python -m`` does.
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def _run_code(code: str, rest: Sequence[str]) -> None:
    if not code.startswith(PYTHON_CODE_PREFIXES):
        _refuse("this executable does not run arbitrary Python code (-c)")
    sys.argv = ["-c", *rest]
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    exec(compile(code, "<string>", "exec"), namespace)


def self_command(*args: str) -> list[str]:
    """The argv that runs ``modelward ARGS…`` in a fresh process, frozen or not."""
    if is_frozen():
        return [sys.executable, *args]
    return [sys.executable, "-m", "modelward", *args]


def dispatch_worker(argv: Sequence[str]) -> bool:
    """Run a worker if ``argv`` asks for one; return ``True`` when it did.

    Parameters
    ----------
    argv
        The process arguments, ``sys.argv`` (``argv[0]`` is the executable).

    Returns
    -------
    bool
        ``True`` when a worker ran to completion (the caller should then exit
        without running the CLI), ``False`` when ``argv`` is a normal command.

    Raises
    ------
    SystemExit
        With code 2 when ``argv`` names an unknown worker, module or code; or
        with the worker's own exit code when it calls :func:`sys.exit`.
    """
    args = list(argv[1:])
    if args and args[0] == WORKER_FLAG:
        target = WORKERS.get(args[1]) if len(args) >= 2 else None
        if target is None:
            _refuse(f"unknown worker {args[1] if len(args) >= 2 else ''!r}")
        module, func = target.split(":")
        getattr(importlib.import_module(module), func)()
        return True
    if is_frozen() and platform.IS_WINDOWS and _is_loky_win32_child(args):
        # loky on Windows, frozen: ``<exe> --multiprocessing-fork PIPE_HANDLE``
        # (no ``name=value`` pairs, which multiprocessing's own parser expects).
        from joblib.externals.loky.backend.popen_loky_win32 import (
            main as loky_main,  # deferred: start-up cost
        )

        loky_main(int(args[1]))  # exits
        return True
    if is_frozen():
        # multiprocessing's spawned children (``--multiprocessing-fork``) and
        # its helpers: PyInstaller's freeze_support runs them and exits.
        # deferred: start-up cost (about 4 ms; only the frozen app needs it here)
        import multiprocessing

        multiprocessing.freeze_support()
    if args and args[0] == "--multiprocessing-fork":
        _refuse("--multiprocessing-fork works only in the frozen app")
    start = _skip_interpreter_flags(args)
    if start < len(args) and args[start] in ("-m", "-c"):
        if len(args) < start + 2:
            _refuse(f"{args[start]} needs an argument")
        if args[start] == "-m":
            _run_module(args[start + 1], args[start + 2 :])
        else:
            _run_code(args[start + 1], args[start + 2 :])
        return True
    return False
