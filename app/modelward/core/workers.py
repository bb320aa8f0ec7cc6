"""Worker invocations of our own executable.

A frozen app has no Python interpreter to start children with: ``sys.executable``
is the app itself. Children re-run it with special arguments, and
:func:`dispatch_worker` recognises them before the CLI parses anything.

Our own workers are started with :func:`worker_command` and run
``<executable> --mw-worker NAME``; ``NAME`` maps to a ``module:function`` in
:data:`WORKERS`, called with no arguments (it talks over stdin/stdout).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

WORKER_FLAG = "--mw-worker"

# name -> "module:function"
WORKERS: dict[str, str] = {
    "inspect": "modelward.core.artifacts.sandbox:worker_main",
}


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def worker_command(name: str) -> list[str]:
    """The argv that starts worker ``name`` in a fresh process, frozen or not."""
    if name not in WORKERS:
        raise KeyError(name)
    if is_frozen():
        return [sys.executable, WORKER_FLAG, name]
    return [sys.executable, "-m", "modelward", WORKER_FLAG, name]


def dispatch_worker(argv: Sequence[str]) -> bool:
    """Run a worker if ``argv`` asks for one; return ``True`` when it did."""
    if len(argv) >= 3 and argv[1] == WORKER_FLAG:
        target = WORKERS.get(argv[2])
        if target is None:
            sys.stderr.write(f"modelward: unknown worker {argv[2]!r}\n")
            raise SystemExit(2)
        module, func = target.split(":")
        getattr(importlib.import_module(module), func)()
        return True
    return False
