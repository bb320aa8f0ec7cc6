"""Entry point of ``python -m modelward``, the ``modelward`` script and the frozen app.

Before anything else it lets :mod:`modelward.core.workers` take over when this
process was started as a worker (a sandboxed model inspection, or a joblib/loky
or multiprocessing child re-running the frozen executable).
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from typing import NoReturn

# How long idle BLAS and OpenMP threads spin before they sleep. The libraries read
# it once, when they are loaded. Their defaults (OpenBLAS 2**28 CPU cycles, about
# 0.1 s; libgomp 300,000 spins, milliseconds) suit one thread calling them back to
# back. In a scoring run the reading, writing and hashing threads want the cores
# between two predictions, and the spinning took them: on two cores a logistic
# pipeline over 10M rows took 8.8 s of user CPU instead of 5.8 s, a HistGradientBoosting
# model 34-38 s instead of 29-32 s (docs/benchmarks.md, session 16). The shorter
# spins still bridge the calls of one prediction, and training an MLP or a
# HistGradientBoosting model took as long. A value the user set is kept.
THREAD_SPIN = {"OPENBLAS_THREAD_TIMEOUT": "16", "GOMP_SPINCOUNT": "10000"}


def tune_thread_spin(env: MutableMapping[str, str] | None = None) -> None:
    """Let idle BLAS and OpenMP threads sleep soon (:data:`THREAD_SPIN`), unless the user chose."""
    import os

    target = os.environ if env is None else env
    target.setdefault("OPENBLAS_THREAD_TIMEOUT", THREAD_SPIN["OPENBLAS_THREAD_TIMEOUT"])
    if "OMP_WAIT_POLICY" not in target:  # a wait policy the user chose sets the spin itself
        target.setdefault("GOMP_SPINCOUNT", THREAD_SPIN["GOMP_SPINCOUNT"])


def main() -> None:
    tune_thread_spin()  # before anything loads NumPy, OpenBLAS or OpenMP
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
