"""The top-level parser and :func:`main`: parse, run the command, print its result."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import modelward.cli.app as app
import modelward.cli.audit as audit
import modelward.cli.compute as compute
import modelward.cli.evidence as evidence
import modelward.cli.explain as explain
import modelward.cli.monitoring as monitoring
import modelward.cli.policies as policies
import modelward.cli.registry as registry
import modelward.cli.run as run
import modelward.cli.runner as runner
import modelward.cli.scoring as scoring
import modelward.cli.threshold as threshold
import modelward.cli.watch as watch
from modelward import __version__
from modelward.cli.common import COMMON

# Each module declares its own commands; the order here is the order of --help.
GROUPS = (
    registry,
    audit,
    watch,
    run,
    compute,
    explain,
    scoring,
    monitoring,
    policies,
    evidence,
    app,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``modelward`` parser with every command group's subcommands."""
    p = argparse.ArgumentParser(
        prog="modelward",
        description="ModelWard: an offline model registry and monitor. "
        "With no command, opens the desktop window.",
        parents=[COMMON],
    )
    p.add_argument("--version", action="version", version=f"modelward {__version__}")
    p.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for module in GROUPS:
        module.add_parsers(sub)
    threshold.add_parsers(sub)  # credit-style validation (#19)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with the full parser; returns the process exit code."""
    return runner.run(build_parser(), argv)
