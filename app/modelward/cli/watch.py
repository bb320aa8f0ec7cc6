"""Watched folders and the headless watcher: folders add/list/remove/pause/resume, watch."""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

from modelward.cli.common import command, group, open_registry
from modelward.cli.output import Result, stream_line, table
from modelward.core import platform
from modelward.core.errors import InvalidInput, ModelWardError
from modelward.core.text import dumps_json, safe_display


def _folder_ref(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def cmd_folders_add(args: argparse.Namespace) -> Result:
    from modelward.core.watch import add_folder  # deferred: start-up cost

    options = {
        k: v
        for k, v in (
            ("label_column", args.label),
            ("id_column", args.id_column),
            ("timestamp_column", args.timestamp),
            ("outbox", args.outbox),
            ("format", args.format),
            ("log_rows", args.log_rows),
        )
        if v
    }
    f = add_folder(
        open_registry(args),
        args.path,
        args.kind,
        model_name=args.model,
        polling=args.polling,
        options=options,
    )
    return Result(
        f.to_json(), f"watching {f.path} ({f.kind}{' for ' + f.model_name if f.model_name else ''})"
    )


def cmd_folders_list(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.watch import list_folders
    from modelward.core.watch.folders import display_name

    folders = list_folders(open_registry(args))
    data = {"folders": [f.to_json() for f in folders]}
    if not folders:
        return Result(
            data, "no watched folders (add one with: modelward folders add PATH --kind models)"
        )
    text = table(
        ["ID", "KIND", "MODEL", "MODE", "STATE", "PATH"],
        [
            (
                f.id,
                f.kind,
                f.model_name or "-",
                "polling" if f.polling else "events",
                "paused" if f.paused else "active",
                display_name(f.path),
            )
            for f in folders
        ],
    )
    return Result(data, text)


def cmd_folders_remove(args: argparse.Namespace) -> Result:
    from modelward.core.watch import remove_folder  # deferred: start-up cost

    f = remove_folder(open_registry(args), _folder_ref(args.folder))
    return Result(f.to_json(), f"no longer watching {f.path}")


def cmd_folders_pause(args: argparse.Namespace) -> Result:
    from modelward.core.watch import set_paused  # deferred: start-up cost

    f = set_paused(open_registry(args), _folder_ref(args.folder), args.paused)
    return Result(f.to_json(), f"{'paused' if f.paused else 'resumed'} {f.path}")


def cmd_watch(args: argparse.Namespace) -> Result:
    """Run the watchers headless until SIGINT or SIGTERM; events stream as they happen.

    The folders and the policies run in the same core services the window
    starts (:class:`~modelward.core.watch.service.WatchService`,
    :class:`~modelward.core.policies.service.PolicyService`); policy work runs
    as jobs on the policy service's runner, beside the watcher.
    """
    # deferred: start-up cost
    from modelward.core.evidence.head import head_line, sign_head
    from modelward.core.policies.service import PolicyService
    from modelward.core.registry import Registry
    from modelward.core.registry.connection import HOLD
    from modelward.core.watch import DATA, MODELS, add_folder, list_folders
    from modelward.core.watch.folders import display_name
    from modelward.core.watch.service import WatchService

    if args.data and not args.model:
        raise InvalidInput("--data needs --model NAME (the model its batches are checked against)")
    # Held between polls; another process's knock frees it within a tick.
    reg = Registry(args.registry, idle_release=HOLD)
    if args.models:
        add_folder(
            reg,
            args.models,
            MODELS,
            model_name=args.model if not args.data else None,
            polling=args.polling,
        )
    if args.data:
        add_folder(reg, args.data, DATA, model_name=args.model, polling=args.polling)
    folders = [f for f in list_folders(reg) if not f.paused]
    if not folders:
        raise InvalidInput("no folders to watch: give --models DIR and/or --data DIR --model NAME")

    def say(kind: str, detail: str, job: int | None = None) -> None:
        if args.json:
            line: dict[str, Any] = {"kind": kind, "detail": detail}
            if job is not None:
                line["job"] = job
            stream_line(dumps_json(line, indent=None))
        else:
            prefix = f"{kind:<15} " + (f"job {job}  " if job is not None else "")
            stream_line(safe_display(f"{prefix}{detail}".rstrip()))

    def show(event: Any) -> None:
        where = display_name(event.path) if event.path else display_name(event.folder)
        line = {
            "kind": event.kind,
            "folder": event.folder,
            "path": event.path,
            "detail": event.detail,
            "ref": event.ref,
        }
        if args.json:
            stream_line(dumps_json(line, indent=None))
        else:
            stream_line(safe_display(f"{event.kind:<15} {where}  {event.detail}".rstrip()))

    def on_policy(event: Any) -> None:
        if event.kind in ("job-progress", "alert"):
            return
        if event.kind == "error":
            stream_line(f"modelward: policies: {safe_display(event.detail)}", err=True)
        else:
            say(event.kind, event.detail, event.job_id)

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    platform.on_stop_signal(on_signal)
    policies = PolicyService(reg, interval=args.policy_interval)
    policies.subscribe(on_policy)
    watch = WatchService(reg, runner=policies.runner, settle=args.settle)
    watch.subscribe(show)

    def checkpoint() -> None:
        """Sign the audit head into the journal: the watcher's periodic anchor."""
        try:
            head = sign_head(reg, only_if_moved=True)
            if "signature" in head:  # without a registry key nothing is anchored
                say("checkpoint", head_line(head))
        except ModelWardError as e:
            stream_line(f"modelward: checkpoint: {safe_display(str(e))}", err=True)

    watch.start()
    policies.start()
    # Said once the folders are observed: a file saved into one before that was
    # seen only by a later scan, after it had settled (about a second), not at once
    if not args.json:
        stream_line(f"watching {len(folders)} folder(s); stop with Ctrl+C")
    checkpoint()
    every = max(float(args.checkpoint_every), 1.0) * 60.0
    due = time.monotonic() + every
    while not stop.wait(0.5):
        if time.monotonic() >= due:
            due = time.monotonic() + every
            checkpoint()
    watch.stop()
    policies.stop()
    reg.close()
    return Result(None, "stopped")


def add_parsers(sub: Any) -> None:
    """folders add/list/remove/pause/resume, watch."""
    fsub = group(sub, "folders", "watched folders (models and data inboxes)")
    sp = command(fsub, "add", cmd_folders_add, "watch a folder")
    sp.add_argument("path")
    sp.add_argument("--kind", choices=["models", "data", "scoring"], default="models")
    sp.add_argument("--outbox", help="scoring folders: where the scored batches go")
    sp.add_argument("--format", choices=["csv", "parquet"], help="scoring folders: output format")
    sp.add_argument("--log-rows", action="store_true", help="scoring folders: log every prediction")
    sp.add_argument("--model", help="model name (required for data folders)")
    sp.add_argument("--polling", action="store_true", help="poll (for network shares)")
    sp.add_argument("--label", help="label column of data batches")
    sp.add_argument("--id-column", help="id column of data batches (joins late labels)")
    sp.add_argument("--timestamp", help="timestamp column of data batches")
    command(fsub, "list", cmd_folders_list, "list watched folders")
    sp = command(fsub, "remove", cmd_folders_remove, "stop watching a folder (ID or PATH)")
    sp.add_argument("folder")
    sp = command(fsub, "pause", cmd_folders_pause, "pause a folder (ID or PATH)")
    sp.add_argument("folder")
    sp.set_defaults(paused=True)
    sp = command(fsub, "resume", cmd_folders_pause, "resume a paused folder (ID or PATH)")
    sp.add_argument("folder")
    sp.set_defaults(paused=False)

    sp = command(sub, "watch", cmd_watch, "watch folders headless until Ctrl+C or SIGTERM")
    sp.add_argument("--models", metavar="DIR", help="models inbox to add and watch")
    sp.add_argument("--data", metavar="DIR", help="data inbox to add and watch")
    sp.add_argument("--model", metavar="NAME", help="model of the data inbox (or of --models)")
    sp.add_argument("--polling", action="store_true", help="poll instead of native events")
    sp.add_argument(
        "--checkpoint-every",
        type=float,
        default=60.0,
        metavar="MINUTES",
        help="sign the audit head into the journal this often (default 60; also at start)",
    )
    sp.add_argument("--settle", type=float, default=1.0, help=argparse.SUPPRESS)
    sp.add_argument("--policy-interval", type=float, default=60.0, help=argparse.SUPPRESS)
