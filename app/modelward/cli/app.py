"""The window and the whole-product commands: gui, demo, selftest.

These print as they go (the window's own output, the demo's steps, the
self-test's checks) and end with a :class:`Result` carrying the exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from modelward.cli.common import command, status_printer
from modelward.cli.output import Result


def _text_aside(args: argparse.Namespace) -> contextlib.AbstractContextManager[object]:
    """With --json, what the window or the headless run prints goes to stderr.

    stdout then carries only the command's JSON document.
    """
    if args.json:
        return contextlib.redirect_stdout(sys.stderr)
    return contextlib.nullcontext()


def cmd_selftest(args: argparse.Namespace) -> Result:
    from modelward.selftest import run_selftest  # deferred: start-up cost

    report = run_selftest(gui=not args.no_gui, echo=None if args.json else print)
    return Result(report, ok=bool(report["ok"]))


def cmd_gui(args: argparse.Namespace) -> Result:
    # deferred: start-up cost (the UI face, and Qt behind it, loads only when a window opens)
    capture = getattr(args, "capture", None)
    if capture:
        from modelward.ui.capture import capture_views

        paths = [str(p) for p in capture_views(args.registry, capture)]
        return Result({"paths": paths}, "\n".join(paths))
    from modelward.ui.launch import launch

    with _text_aside(args):
        code = launch(args.registry, smoke=getattr(args, "smoke", False))
    return Result({"exit_code": code}, ok=code == 0, code=code)


def cmd_demo(args: argparse.Namespace) -> Result:
    """Build the demo workspace, then open the window on it (or do the job headless)."""
    # deferred: start-up cost (the UI face, and Qt behind it, loads only when a window opens)
    from modelward.core.demo import build_full_demo
    from modelward.core.registry import Registry
    from modelward.headless import no_display_message, run_demo_headless
    from modelward.ui.launch import has_display, launch

    # The steps are the demo's progress: on stdout in text mode, on stderr with --json.
    out = sys.stderr if args.json else sys.stdout
    reg = Registry(args.registry, idle_release=0.5)
    print(f"building the demo workspace in {reg.home} (about a minute the first time)…", file=out)
    demo = build_full_demo(reg, progress=status_printer(args))
    for line in demo.lines():
        print(f"  {line}", file=out)
    with _text_aside(args):
        if args.no_gui or not has_display():
            if not args.no_gui:
                print(no_display_message())
            code = run_demo_headless(reg, demo.lines())
        else:
            reg.close()
            code = launch(args.registry)
    return Result({"summary": demo.lines(), "exit_code": code}, ok=code == 0, code=code)


def add_parsers(sub: Any) -> None:
    """selftest, gui, demo."""
    sp = command(
        sub, "selftest", cmd_selftest, "check this installation end to end in a temp folder"
    )
    sp.add_argument("--no-gui", action="store_true", help="skip the window check")

    sp = command(sub, "gui", cmd_gui, "open the desktop window")
    sp.add_argument("--smoke", action="store_true", help="open, then quit after a second")
    sp.add_argument("--capture", metavar="DIR", help=argparse.SUPPRESS)

    sp = command(sub, "demo", cmd_demo, "build the demo workspace and open the window on it")
    sp.add_argument(
        "--no-gui", action="store_true", help="headless: checks, a report and screenshots"
    )
