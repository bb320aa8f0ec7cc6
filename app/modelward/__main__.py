"""Entry point of ``python -m modelward``, the ``modelward`` script and the frozen app.

Before anything else it lets :mod:`modelward.core.workers` take over when this
process was started as a worker (a sandboxed model inspection, or a joblib/loky
or multiprocessing child re-running the frozen executable).
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from typing import NoReturn

# How long an idle OpenBLAS thread spins before it sleeps, as a power of two of CPU
# cycles (OpenBLAS reads it once, when NumPy loads it). Its default, 2**28 (about
# 0.1 s), suits one thread calling BLAS back to back; in a scoring run the reading,
# writing and hashing threads want the cores between two predictions, and the
# spinning took them: a logistic pipeline over 10M rows spent 8.8 s of CPU instead
# of 5.8 s, and an MLP over 1M rows was no faster for it (docs/benchmarks.md,
# session 16). 2**16 cycles (tens of microseconds) still bridges the calls of one
# prediction. A value the user set is kept.
BLAS_SPIN = "16"


def tune_blas_threads(env: MutableMapping[str, str] | None = None) -> None:
    """Let idle BLAS threads sleep soon (:data:`BLAS_SPIN`), unless the user chose."""
    import os

    target = os.environ if env is None else env
    target.setdefault("OPENBLAS_THREAD_TIMEOUT", BLAS_SPIN)


def main() -> None:
    tune_blas_threads()  # before anything loads NumPy
    from modelward.core.workers import dispatch_worker

    if dispatch_worker(sys.argv):
        return
    from modelward.cli import main as cli_main

    leave(cli_main(sys.argv[1:]))


def leave(code: int) -> NoReturn:
    """End a command with ``code``: what the interpreter's exit does that matters, no teardown.

    A command that has loaded scikit-learn, pandas and pyarrow spends
    0.15-0.25 s after its last line freeing some 1,700 modules object by
    object (a tenth of `score`'s whole time on a 1M-row file); nothing in that
    teardown is owed to anyone. So, in the interpreter's own order: wait for
    the threads that are not daemons (and the executors' shutdown hooks), run
    the ``atexit`` functions (registries closed, log handlers flushed, spill
    folders removed), flush stdout and stderr, and leave with ``os._exit``.
    The window leaves the usual way: Qt's objects do work in their destructors.
    """
    import atexit
    import os
    import threading

    shutdown = getattr(threading, "_shutdown", None)
    run_exitfuncs = getattr(atexit, "_run_exitfuncs", None)
    if "PySide6.QtCore" in sys.modules or shutdown is None or run_exitfuncs is None:
        sys.exit(code)
    shutdown()
    run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or a closed stream
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
