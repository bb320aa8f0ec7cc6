"""``modelward run --once``: everything waiting, then exit (for cron, systemd timers, Task Scheduler)."""

from __future__ import annotations

import argparse
from typing import Any

from modelward.cli.common import command
from modelward.cli.output import Result, lines
from modelward.core.errors import InvalidInput


def cmd_run(args: argparse.Namespace) -> Result:
    """Take every file waiting in every watched folder, run every due policy, wait, exit."""
    # deferred: start-up cost
    from modelward.core.evidence.head import head_line, sign_head
    from modelward.core.policies.service import PolicyService
    from modelward.core.registry import Registry
    from modelward.core.watch.service import WatchService

    if not args.once:
        raise InvalidInput(
            "run needs --once (for a process that keeps running, use 'modelward watch')"
        )
    reg = Registry(args.registry)
    policies = PolicyService(reg)
    try:
        files = WatchService(reg, runner=policies.runner).run_once()
        runs = policies.run_due_once()
        finished = policies.wait_idle(args.timeout)
    finally:
        policies.stop()
    # A signed checkpoint of the audit head at the end of every run that finds it
    # moved: driven by the OS scheduler, this is the registry's periodic anchor
    # (docs/audit.md).
    head = sign_head(reg, only_if_moved=True)
    errors = [f for f in files if f.status == "error"]
    doc = {
        "files": [
            {
                "folder": f.folder_id,
                "path": f.path,
                "status": f.status,
                "detail": f.detail,
                "ref": f.ref,
            }
            for f in files
        ],
        "policy_runs": [{"id": r.id, "model": r.model, "status": r.status} for r in runs],
        "finished": finished,
        "head": head,
    }
    text = [f"{f.status:<11} {f.shown_path}  {f.detail}".rstrip() for f in files]
    text += [f"policy run {r.id} for {r.model}: {r.status}" for r in runs]
    text.append(f"{len(files)} file(s), {len(runs)} policy run(s)")
    text.append(head_line(head))
    msgs = [] if finished else [f"modelward: policy jobs still running after {args.timeout:g} s"]
    return Result(doc, lines(*text), ok=not errors and finished, errors=msgs)


def add_parsers(sub: Any) -> None:
    """run."""
    sp = command(
        sub,
        "run",
        cmd_run,
        "with --once: take what waits in every watched folder, run due policies, then exit",
    )
    sp.add_argument("--once", action="store_true", help="one round, then exit (for a scheduler)")
    sp.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for policy jobs")
