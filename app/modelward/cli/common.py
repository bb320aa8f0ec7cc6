"""What the command modules share: the common options, opening the registry, progress."""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modelward.cli.output import Result, stream_line
from modelward.core.progress import CancelToken

if TYPE_CHECKING:
    from modelward.core.registry import Registry

Handler = Callable[[argparse.Namespace], Result]
UNSET: Any = object()  # an option that was not given (None means "off")


def common_options() -> argparse.ArgumentParser:
    """``--registry`` and ``--json``, accepted before or after the command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--registry",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="registry folder (default: $MODELWARD_HOME, else the user data folder)",
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON document"
    )
    return common


COMMON = common_options()


def command(parent: Any, name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` to ``parent`` (a subparsers action), run by ``handler``."""
    sp: argparse.ArgumentParser = parent.add_parser(name, help=help, parents=[COMMON])
    sp.set_defaults(handler=handler)
    return sp


def group(sub: Any, name: str, help: str) -> Any:
    """A command with actions (``modelward alias set``): returns its subparsers."""
    p = sub.add_parser(name, help=help)
    return p.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)


def open_registry(
    args: argparse.Namespace, *, warn_recovered: bool = False, **options: Any
) -> Registry:
    """The registry of ``--registry``; waiting for another process is said on stderr.

    ``options`` go to :class:`Registry` (``read_only``, ``idle_release``).
    """
    # deferred: start-up cost
    from modelward.core.registry import Registry

    def waiting(msg: str) -> None:
        if not args.json:
            print(f"modelward: {msg}", file=sys.stderr)

    reg = Registry(args.registry, on_wait=waiting, **options)
    if (warn_recovered or (reg.recovered or {}).get("lost")) and reg.recovered and not args.json:
        from modelward.core.evidence.backup import recovery_message  # deferred: start-up cost

        print(f"modelward: warning: {recovery_message(reg.recovered)}", file=sys.stderr)
    elif (loss := reg.unacknowledged_loss()) is not None:
        # Every command says it, until someone acknowledges it (verify --acknowledge-loss).
        from modelward.core.registry.recovery import lost_names  # deferred: start-up cost

        names = lost_names(loss)
        print(
            "modelward: WARNING: acknowledged changes were LOST in a recovery: "
            + ", ".join(names[:8])
            + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            + " — see 'modelward verify --acknowledge-loss --reason …'",
            file=sys.stderr,
        )
    return reg


def version_json(v: Any) -> dict[str, Any]:
    return dict(v.to_json())


def csv(text: str | None) -> list[str]:
    """``a, b,c`` as ``["a", "b", "c"]``."""
    return [c.strip() for c in (text or "").split(",") if c.strip()]


# A step's counter ("scored 65,536 of 10,000,000 rows") is printed at most this
# often: each of its updates on a line of its own filled a scheduled job's log
# with 150 lines for one 10M-row file.
COUNTER_EVERY = 2.0  # seconds


def status_printer(args: argparse.Namespace) -> Callable[[float, str], None]:
    """A progress callback that prints each new step on stderr (not with --json).

    A new step prints at once; a counter of the same step (the same words, other
    numbers) at most every :data:`COUNTER_EVERY` seconds.
    """
    last: dict[str, Any] = {"status": "", "shape": "", "at": 0.0}
    lock = threading.Lock()

    def progress(_fraction: float, status: str) -> None:
        if args.json or not status:
            return
        shape = re.sub(r"[0-9][0-9,.]*", "#", status)
        now = time.monotonic()
        with lock:  # called from the job's threads
            if status == last["status"]:
                return
            if shape == last["shape"] and now - last["at"] < COUNTER_EVERY:
                return
            last.update(status=status, shape=shape, at=now)
        stream_line(f"  {status}", err=True)

    return progress


def run_cancellable(fn: Callable[[CancelToken], Any]) -> Any:
    """Run ``fn(cancel_token)`` in a thread; Ctrl+C cancels it between steps."""
    token = CancelToken()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = fn(token)
        except BaseException as e:  # handed to the main thread
            box["error"] = e

    t = threading.Thread(target=work, name="modelward-cli-job", daemon=True)
    t.start()
    while t.is_alive():
        try:
            t.join(0.2)
        except KeyboardInterrupt:
            stream_line("modelward: cancelling after the current step…", err=True)
            token.cancel()
    if "error" in box:
        raise box["error"]
    return box.get("result")
