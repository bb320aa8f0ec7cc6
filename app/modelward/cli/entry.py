"""The top-level parser and :func:`main`: parse, run the command, print its result."""

from __future__ import annotations

import argparse
import sys
import traceback
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
import modelward.cli.scoring as scoring
import modelward.cli.watch as watch
from modelward import __version__
from modelward.cli.common import COMMON, Handler
from modelward.cli.output import emit, emit_error, print_json
from modelward.core.errors import ModelWardError
from modelward.core.paths import resolve_home

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
    return p


def _log_crash(args: argparse.Namespace | None) -> str | None:
    """Write the traceback of an unexpected error to the registry's log folder."""
    try:
        home = resolve_home(getattr(args, "registry", None))
        logs = home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        path = logs / "modelward.log"
        with open(path, "a", encoding="utf-8") as f:
            f.write(traceback.format_exc())
            f.write("\n")
        return str(path)
    except Exception:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.registry = getattr(args, "registry", None)
    args.json = getattr(args, "json", False)
    handler: Handler = getattr(args, "handler", None) or app.cmd_gui
    try:
        result = handler(args)
        return emit(result, as_json=args.json)
    except ModelWardError as e:
        return emit_error(str(e), type(e).__name__, e.exit_code, as_json=args.json)
    except KeyboardInterrupt:
        print("modelward: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # the last line of defence: never a traceback
        where = _log_crash(args)
        tail = f" (details in {where})" if where else ""
        message = f"unexpected error: {type(e).__name__}: {e}{tail}"
        if args.json:
            print_json({"ok": False, "error": message, "kind": "InternalError"})
        print(f"modelward: {message}", file=sys.stderr)
        return 70
