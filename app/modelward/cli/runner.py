"""Running one command: parse, call its handler, print its result, never a traceback.

:func:`main` is the CLI's front door. ``list`` and ``show`` are parsed by a
parser holding only the registry commands, so they do not import every command
group nor build the ~70 subparsers of ``--help`` (measured: together about a
fifth of a ``list`` process's CPU time before this). A line without a command
(the window: ``modelward [--registry PATH] [--smoke]``) gets a parser of those
options only, for the same reason. Any other command, and any line with
another option before its command, gets the full parser of
:func:`modelward.cli.entry.build_parser`.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

import modelward.cli.registry as registry
from modelward.cli.app import cmd_gui
from modelward.cli.common import COMMON, Handler
from modelward.cli.output import emit, emit_error, print_json
from modelward.core.errors import ModelWardError
from modelward.core.paths import resolve_home

FAST_COMMANDS = frozenset({"list", "show"})
"""Commands parsed without the other command groups (they read the registry only)."""


def command_of(argv: Sequence[str]) -> str | None:
    """The command word of ``argv`` when only the common options come before it."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--json":
            i += 1
        elif a == "--registry":
            i += 2
        elif a.startswith("--registry="):
            i += 1
        elif a.startswith("-"):
            return None
        else:
            return a
    return None


def opens_window(argv: Sequence[str]) -> bool:
    """Whether ``argv`` has no command: only ``--registry``, ``--json`` and ``--smoke``."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--json", "--smoke") or a.startswith("--registry="):
            i += 1
        elif a == "--registry":
            i += 2
        else:
            return False
    return True


def fast_parser(argv: Sequence[str]) -> argparse.ArgumentParser | None:
    """A small parser when ``argv`` runs one of :data:`FAST_COMMANDS` or opens the window.

    ``None`` for anything else (the caller builds the full parser).
    """
    window = opens_window(argv)
    if not window and command_of(argv) not in FAST_COMMANDS:
        return None
    p = argparse.ArgumentParser(prog="modelward", parents=[COMMON])
    if window:
        p.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
        return p
    registry.add_parsers(p.add_subparsers(dest="command", metavar="COMMAND"))
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


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse ``argv`` with ``parser``, run the command; returns the process exit code."""
    args = parser.parse_args(argv)
    args.registry = getattr(args, "registry", None)
    args.json = getattr(args, "json", False)
    handler: Handler = getattr(args, "handler", None) or cmd_gui
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
