"""``modelward``: the command line face of the same core the window uses.

Every command takes ``--registry PATH`` and ``--json``. Each command group is a
module here (:mod:`~modelward.cli.registry`, :mod:`~modelward.cli.audit`,
:mod:`~modelward.cli.watch`, :mod:`~modelward.cli.compute`,
:mod:`~modelward.cli.monitoring`, :mod:`~modelward.cli.policies`,
:mod:`~modelward.cli.evidence`, :mod:`~modelward.cli.app`) that declares its
subcommands and returns a :class:`~modelward.cli.output.Result` from each
handler; :mod:`~modelward.cli.output` prints it as text or JSON, so both agree
on content and exit code. A handler imports the core it needs inside itself
(``# deferred: start-up cost``): ``modelward list`` should not pay for training,
bundles or policies, nor the window's start for any command. Errors print one line on stderr (and a JSON document
with ``--json``) and exit non-zero; a traceback never reaches the user (it goes
to ``logs/modelward.log`` under the registry home when something unexpected
happens).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from modelward.cli import runner

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``modelward`` parser with every command group's subcommands."""
    # deferred: start-up cost (every command group; ``list`` and ``show`` skip them)
    from modelward.cli.entry import build_parser as full

    return full()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = runner.fast_parser(args) or build_parser()
    return runner.run(parser, args)
