"""Entry point of ``python -m modelward``, the ``modelward`` script and the frozen app.

Before anything else it lets :mod:`modelward.core.workers` take over when this
process was started as a worker (a sandboxed model inspection, or a joblib/loky
or multiprocessing child re-running the frozen executable).
"""

from __future__ import annotations

import sys


def main() -> None:
    from modelward.core.workers import dispatch_worker

    if dispatch_worker(sys.argv):
        return
    from modelward.cli import main as cli_main

    sys.exit(cli_main(sys.argv[1:]))


if __name__ == "__main__":
    main()
