"""``modelward``: the command line face of the same core the window uses.

Every command takes ``--registry PATH`` and ``--json``. Errors print one line
on stderr and exit non-zero; a traceback never reaches the user (it goes to
``logs/modelward.log`` under the registry home when something unexpected
happens).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from modelward import __version__
from modelward.core import platform
from modelward.core.errors import InvalidInput, ModelWardError

Handler = Callable[[argparse.Namespace], Any]
_UNSET: Any = object()  # an option that was not given (None means "off")


def _registry(args: argparse.Namespace) -> Any:
    from modelward.core.registry import Registry

    def waiting(msg: str) -> None:
        if not args.json:
            print(f"modelward: {msg}", file=sys.stderr)

    return Registry(args.registry, on_wait=waiting)


def _fmt_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) for c in r] for r in rows]
    widths = [len(h) for h in headers]
    for r in cells:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _version_json(v: Any) -> dict[str, Any]:
    return dict(v.to_json())


# --------------------------------------------------------------------------- commands
def cmd_register(args: argparse.Namespace) -> Any:
    reg = _registry(args)
    res = reg.register_file(args.path, args.name)
    out = _version_json(res.version)
    out["created"] = res.created
    if args.json:
        return out
    v = res.version
    what = "registered" if res.created else "already registered as"
    print(f"{what} {v.ref}  sha256 {v.sha256}  ({v.format}, {_fmt_size(v.size)})")
    if v.status != "ok":
        print(f"status: {v.status}")
    return None


def cmd_list(args: argparse.Namespace) -> Any:
    reg = _registry(args)
    versions = reg.list_versions(args.name)
    if args.json:
        return {"versions": [_version_json(v) for v in versions]}
    if not versions:
        print(f"no models registered yet in {reg.home}")
        return None
    _print_table(
        ["MODEL", "VERSION", "ALIASES", "FORMAT", "ESTIMATOR", "STATUS", "CREATED"],
        [
            (
                v.name,
                v.version,
                ",".join(v.aliases) or "-",
                v.format,
                (v.estimator_class or "-").rsplit(".", 1)[-1],
                v.status,
                v.created_at[:19].replace("T", " "),
            )
            for v in versions
        ],
    )
    return None


def cmd_show(args: argparse.Namespace) -> Any:
    reg = _registry(args)
    v = reg.resolve(args.ref)
    if args.json:
        return _version_json(v)
    print(f"{v.ref}")
    rows = [
        ("aliases", ", ".join(v.aliases) or "-"),
        ("sha256", v.sha256),
        ("format", v.format),
        ("size", _fmt_size(v.size)),
        ("estimator", v.estimator_class or "-"),
        ("status", v.status),
        ("created", f"{v.created_at} by {v.created_by}"),
    ]
    for k, val in v.lineage.items():
        rows.append((f"lineage.{k}", val))
    for k, val in sorted(v.metrics.items()):
        rows.append((f"metric.{k}", f"{val:.6g}"))
    if v.signature:
        rows.append(("signature", json.dumps(v.signature)[:200]))
    for k, val in rows:
        print(f"  {k:<18} {val}")
    return None


def cmd_alias_set(args: argparse.Namespace) -> Any:
    reg = _registry(args)
    v = reg.set_alias(args.ref, args.alias, args.reason)
    if args.json:
        return _version_json(v)
    print(f"{v.name}@{args.alias} -> version {v.version}")
    return None


def cmd_alias_remove(args: argparse.Namespace) -> Any:
    reg = _registry(args)
    reg.remove_alias(args.name, args.alias, args.reason)
    if args.json:
        return {"name": args.name, "alias": args.alias, "removed": True}
    print(f"removed alias {args.alias} of {args.name}")
    return None


def cmd_audit_verify(args: argparse.Namespace) -> Any:
    reg = _registry(args)
    report = reg.verify_audit()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    elif report.ok:
        print(f"audit chain intact: {report.events} events, head {report.head_hash}")
    else:
        print(
            f"audit chain BROKEN at event {report.first_broken_seq}: {report.problem} "
            f"({report.events} events before it verify)",
            file=sys.stderr,
        )
    return SystemExit(0 if report.ok else 1)


def cmd_audit_log(args: argparse.Namespace) -> Any:
    reg = _registry(args)
    events = reg.audit_events(
        limit=args.limit,
        entity_prefix=args.entity,
        action=args.action,
        actor=args.user,
        since=args.since,
    )
    if args.json:
        return {"events": [e.to_json() for e in events]}
    _print_table(
        ["SEQ", "WHEN (UTC)", "WHO", "ACTION", "ENTITY", "REASON"],
        [
            (e.seq, e.ts[:19].replace("T", " "), e.actor, e.action, e.entity_id, e.reason or "")
            for e in events
        ],
    )
    return None


def cmd_selftest(args: argparse.Namespace) -> Any:
    from modelward.selftest import run_selftest

    report = run_selftest(gui=not args.no_gui, echo=None if args.json else print)
    if args.json:
        print(json.dumps(report, indent=2))
    return SystemExit(0 if report["ok"] else 1)


def cmd_gui(args: argparse.Namespace) -> Any:
    capture = getattr(args, "capture", None)
    if capture:
        from modelward.ui.capture import capture_views

        for path in capture_views(args.registry, capture):
            print(path)
        return None
    from modelward.ui.launch import launch

    return SystemExit(launch(args.registry, smoke=getattr(args, "smoke", False)))


def cmd_demo(args: argparse.Namespace) -> Any:
    """Build the demo workspace, then open the window on it (or do the job headless)."""
    from modelward.core.demo import build_full_demo
    from modelward.core.registry import Registry

    reg = Registry(args.registry, idle_release=0.5)
    print(f"building the demo workspace in {reg.home} (about a minute the first time)…")
    demo = build_full_demo(reg, progress=_status_printer(args))
    for line in demo.lines():
        print(f"  {line}")
    from modelward.ui.launch import has_display

    if args.no_gui or not has_display():
        from modelward.headless import no_display_message, run_demo_headless

        if not args.no_gui:
            print(no_display_message())
        return SystemExit(run_demo_headless(reg, demo.lines()))
    reg.close()
    from modelward.ui.launch import launch

    return SystemExit(launch(args.registry))


def cmd_folders_add(args: argparse.Namespace) -> Any:
    from modelward.core.watch import add_folder

    reg = _registry(args)
    options = {
        k: v
        for k, v in (
            ("label_column", args.label),
            ("id_column", args.id_column),
            ("timestamp_column", args.timestamp),
        )
        if v
    }
    f = add_folder(
        reg, args.path, args.kind, model_name=args.model, polling=args.polling, options=options
    )
    if args.json:
        return f.to_json()
    print(f"watching {f.path} ({f.kind}{' for ' + f.model_name if f.model_name else ''})")
    return None


def cmd_folders_list(args: argparse.Namespace) -> Any:
    from modelward.core.watch import list_folders
    from modelward.core.watch.folders import display_name

    folders = list_folders(_registry(args))
    if args.json:
        return {"folders": [f.to_json() for f in folders]}
    if not folders:
        print("no watched folders (add one with: modelward folders add PATH --kind models)")
        return None
    _print_table(
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
    return None


def cmd_folders_remove(args: argparse.Namespace) -> Any:
    from modelward.core.watch import remove_folder

    f = remove_folder(_registry(args), _folder_ref(args.folder))
    if args.json:
        return f.to_json()
    print(f"no longer watching {f.path}")
    return None


def cmd_folders_pause(args: argparse.Namespace) -> Any:
    from modelward.core.watch import set_paused

    f = set_paused(_registry(args), _folder_ref(args.folder), args.paused)
    if args.json:
        return f.to_json()
    print(f"{'paused' if f.paused else 'resumed'} {f.path}")
    return None


def _folder_ref(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _policy_runner(args: argparse.Namespace) -> tuple[Any, Any]:
    """A one-worker job runner for policy actions that prints what the jobs do."""
    from modelward.core.jobs import JobRunner
    from modelward.core.policies import use_runner

    def say(kind: str, job_id: int, text: str) -> None:
        if args.json:
            print(json.dumps({"kind": kind, "job": job_id, "detail": text}), flush=True)
        else:
            print(f"{kind:<15} job {job_id}  {text}".rstrip(), flush=True)

    class Printer:
        def job_started(self, job_id: int) -> None:
            say("job-started", job_id, runner.get(job_id).title)

        def job_progressed(self, job_id: int, fraction: float, status: str) -> None:
            pass

        def job_logged(self, job_id: int, line: str) -> None:
            say("job-log", job_id, line)

        def job_finished(self, job_id: int, result: Any) -> None:
            say("job-finished", job_id, getattr(result, "status", ""))

        def job_failed(self, job_id: int, message: str) -> None:
            say("job-failed", job_id, message)

        def job_cancelled(self, job_id: int) -> None:
            say("job-cancelled", job_id, "")

    runner = JobRunner(max_workers=1, listener=Printer())
    return runner, use_runner(runner)


def _stop_policy_runner(runner: Any, previous: Any) -> None:
    from modelward.core.policies import use_runner

    runner.shutdown(timeout=30)
    use_runner(previous)


def _run_due_policies(reg: Any, args: argparse.Namespace) -> None:
    from modelward.core.policies import run_due

    try:
        for run in run_due(reg):
            line = f"policy run {run.id} for {run.model}: {run.status}"
            if args.json:
                print(json.dumps({"kind": "policy", "detail": line}), flush=True)
            else:
                print(f"{'policy':<15} {line}", flush=True)
    except ModelWardError as e:  # a busy registry: try again next time
        print(f"modelward: policies: {e}", file=sys.stderr, flush=True)


def cmd_watch(args: argparse.Namespace) -> Any:
    """Run the watchers headless until SIGINT or SIGTERM."""
    import threading
    import time

    from modelward.core.registry import Registry
    from modelward.core.watch import DATA, MODELS, FolderWatcher, add_folder, list_folders
    from modelward.core.watch.folders import display_name

    if args.data and not args.model:
        raise InvalidInput("--data needs --model NAME (the model its batches are checked against)")
    reg = Registry(args.registry, idle_release=0.5)
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
            print(json.dumps(line, ensure_ascii=False), flush=True)
        else:
            print(f"{event.kind:<15} {where}  {event.detail}".rstrip(), flush=True)

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    platform.on_stop_signal(on_signal)
    watcher = FolderWatcher(reg, folders, on_event=show, settle=args.settle)
    runner, previous = _policy_runner(args)  # policies act as jobs beside the watcher
    if not args.json:
        print(f"watching {len(folders)} folder(s); stop with Ctrl+C", flush=True)
    watcher.start()
    next_due = 0.0
    while not stop.wait(0.5):
        if time.monotonic() >= next_due:  # schedules and approval expiry
            _run_due_policies(reg, args)
            next_due = time.monotonic() + args.policy_interval
    watcher.stop()
    _stop_policy_runner(runner, previous)
    reg.close()
    if not args.json:
        print("stopped", flush=True)
    return None


# --------------------------------------------------------------------------- policies, alerts, approvals
def _off_float(text: str) -> float | None:
    if text.strip().lower() in ("off", "none", "no"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'off', not {text!r}") from None


def _off_int(text: str) -> int | None:
    value = _off_float(text)
    return None if value is None else int(value)


_TRIGGER_ARGS = {
    "drift_share": "drift_share_above",
    "psi": "psi_above",
    "metric": "metric",
    "below": "performance_below",
    "drop": "performance_drop",
    "every_days": "every_days",
    "new_labels": "new_labelled_rows",
}
_ACTION_ARGS = {
    "retrain": "retrain",
    "promote": "promote",
    "alert": "alert",
    "alias": "alias",
    "four_eyes": "four_eyes",
    "window": "window_batches",
    "holdout_share": "holdout_share",
    "training_data": "include_training_data",
    "n_boot": "n_boot",
    "approval_hours": "approval_ttl_hours",
    "alert_timeout": "alert_timeout",
    "owner": "owner",
    "enabled": "enabled",
}


def cmd_policy_set(args: argparse.Namespace) -> Any:
    import shlex

    from modelward.core.policies import Policy, get_policy, set_policy

    reg = _registry(args)
    if args.from_json:
        from pathlib import Path

        policy = Policy.from_json(Path(args.from_json).read_text(encoding="utf-8"))
        if policy.model != args.name:
            raise InvalidInput(f"{args.from_json} is the policy of {policy.model}, not {args.name}")
    else:
        policy = get_policy(reg, args.name) or Policy(args.name)
    trig: dict[str, Any] = {
        field: getattr(args, arg)
        for arg, field in _TRIGGER_ARGS.items()
        if getattr(args, arg) is not _UNSET
    }
    if args.psi_features is not None:
        trig["psi_features"] = tuple(_csv(args.psi_features))
    changes: dict[str, Any] = {
        field: getattr(args, arg)
        for arg, field in _ACTION_ARGS.items()
        if getattr(args, arg) is not None
    }
    if args.protect is not None:
        changes["protected_aliases"] = tuple(_csv(args.protect))
    if args.gate is not None:
        changes["gates"] = tuple(g for g in args.gate if g)
    if args.alert_command is not None:
        changes["alert_command"] = tuple(shlex.split(args.alert_command))
    if trig:
        from dataclasses import replace

        changes["triggers"] = replace(policy.triggers, **trig)
    policy = set_policy(reg, policy.replace(**changes), reason=args.reason)
    if args.json:
        return policy.to_json()
    print(f"policy of {policy.model} saved")
    _print_policy(policy)
    return None


def _print_policy(p: Any) -> None:
    t = p.triggers
    trig = {
        "drift share above": t.drift_share_above,
        "PSI above": t.psi_above,
        f"{t.metric} below": t.performance_below,
        f"{t.metric} drop above": t.performance_drop,
        "every (days)": t.every_days,
        "new labelled rows": t.new_labelled_rows,
    }
    on = [f"{k} {v:g}" for k, v in trig.items() if v is not None]
    if t.psi_features and t.psi_above is not None:
        on.append(f"PSI columns: {', '.join(t.psi_features)}")
    actions = ["alert"] if p.alert else []
    if p.retrain:
        actions.append(f"retrain (window {p.window_batches} batches, holdout {p.holdout_share:.0%}")
        actions[-1] += ", with training data)" if p.include_training_data else ")"
        if p.promote:
            actions.append(
                f"promote to {p.alias}"
                + (" after four-eyes approval" if p.needs_approval else " when the gates pass")
            )
    rows = [
        ("model", p.model),
        ("state", "enabled" if p.enabled else "disabled"),
        ("triggers", "; ".join(on) or "none"),
        ("actions", ", ".join(actions) or "none"),
        ("gates", ", ".join(p.gates) or "default (primary metric not worse by 0.02)"),
        ("protected", ", ".join(p.protected_aliases) or "-"),
        ("owner", p.owner),
        ("alert command", " ".join(p.alert_command) or "-"),
    ]
    for k, v in rows:
        print(f"  {k:<14} {v}")


def cmd_policy_show(args: argparse.Namespace) -> Any:
    from modelward.core.errors import NotFound
    from modelward.core.policies import get_policy, list_policies

    reg = _registry(args)
    if args.name:
        p = get_policy(reg, args.name)
        if p is None:
            raise NotFound(f"model {args.name!r} has no policy")
        policies = [p]
    else:
        policies = list_policies(reg)
    if args.json:
        return {"policies": [p.to_json() for p in policies]}
    if not policies:
        print("no policies (set one with: modelward policy set NAME --drift-share 0.3 --retrain)")
    for p in policies:
        _print_policy(p)
    return None


def cmd_policy_remove(args: argparse.Namespace) -> Any:
    from modelward.core.policies import remove_policy

    p = remove_policy(_registry(args), args.name, reason=args.reason)
    if args.json:
        return {"removed": p.to_json()}
    print(f"policy of {p.model} removed")
    return None


def cmd_policy_runs(args: argparse.Namespace) -> Any:
    from modelward.core.policies import list_policy_runs

    runs = list_policy_runs(_registry(args), model=args.name, limit=args.limit)
    if args.json:
        return {"runs": [r.to_json() for r in runs]}
    if not runs:
        print("no policy has fired yet")
    for r in runs:
        print(f"{r.started_at[:19].replace('T', ' ')}  " + r.explain())
    return None


def cmd_alerts_list(args: argparse.Namespace) -> Any:
    from modelward.core.policies import list_alerts, unread_count

    reg = _registry(args)
    alerts = list_alerts(reg, unread_only=args.unread, model=args.model, limit=args.limit)
    if args.json:
        return {"unread": unread_count(reg), "alerts": [a.to_json() for a in alerts]}
    if not alerts:
        print("no alerts")
        return None
    _print_table(
        ["ID", "TIME", "SEVERITY", "MODEL", "KIND", "", "MESSAGE"],
        [
            (
                a.id,
                a.created_at[:19].replace("T", " "),
                a.severity,
                a.model or "-",
                a.kind,
                "new" if a.unread else "",
                a.message,
            )
            for a in alerts
        ],
    )
    return None


def cmd_alerts_ack(args: argparse.Namespace) -> Any:
    from modelward.core.policies import acknowledge_alert, acknowledge_all

    reg = _registry(args)
    if args.all:
        n = acknowledge_all(reg, model=args.model)
    elif args.ids:
        for aid in args.ids:
            acknowledge_alert(reg, aid)
        n = len(args.ids)
    else:
        raise InvalidInput("name the alert ids to acknowledge, or give --all")
    if args.json:
        return {"acknowledged": n}
    print(f"{n} alert(s) acknowledged")
    return None


def _approval_rows(reqs: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [
        (
            r.id,
            r.status,
            f"{r.model}@{r.alias}",
            r.version_ref,
            r.requested_by,
            r.requested_at[:16].replace("T", " "),
            (r.decided_by or "-") if not r.pending else r.expires_at[:16].replace("T", " "),
            r.reason if r.pending else (r.decision_reason or "-"),
        )
        for r in reqs
    ]


def cmd_approvals_list(args: argparse.Namespace) -> Any:
    from modelward.core.policies import list_approvals, pending_approvals

    reg = _registry(args)
    reqs = (
        list_approvals(reg, model=args.model, limit=args.limit)
        if args.all
        else pending_approvals(reg, model=args.model)
    )
    if args.json:
        return {"approvals": [r.to_json() for r in reqs]}
    if not reqs:
        print("no approval requests" + ("" if args.all else " pending"))
        return None
    _print_table(
        ["ID", "STATUS", "ALIAS", "VERSION", "REQUESTED BY", "AT", "EXPIRES/DECIDED BY", "REASON"],
        _approval_rows(reqs),
    )
    return None


def cmd_approvals_request(args: argparse.Namespace) -> Any:
    from modelward.core.policies import request_approval

    req = request_approval(
        _registry(args),
        args.ref,
        requested_by=args.name,
        reason=args.reason,
        alias=args.alias,
        comparison_id=args.comparison,
        ttl_hours=args.hours,
    )
    if args.json:
        return req.to_json()
    print(
        f"approval request {req.id}: {req.version_ref} to {req.alias}, requested by "
        f"{req.requested_by}; someone else approves it with: modelward approve {req.id} "
        "--name NAME --meaning TEXT --reason TEXT"
    )
    return None


def cmd_approve(args: argparse.Namespace) -> Any:
    from modelward.core.policies import approve

    req = approve(_registry(args), args.id, args.name, args.meaning, args.reason)
    if args.json:
        return req.to_json()
    print(
        f"approved request {req.id}, signed by {req.decided_by} (OS user {req.decided_os_user}) "
        f"at {req.decided_at}: {req.model}@{req.alias} -> {req.version_ref}"
    )
    return None


def cmd_reject(args: argparse.Namespace) -> Any:
    from modelward.core.policies import reject

    req = reject(_registry(args), args.id, args.name, args.reason, meaning=args.meaning)
    if args.json:
        return req.to_json()
    print(f"rejected request {req.id}, signed by {req.decided_by}; {req.model}@{req.alias} stays")
    return None


# --------------------------------------------------------------------------- parser
def cmd_convert(args: argparse.Namespace) -> Any:
    from modelward.core.artifacts.convert import convert_version

    reg = _registry(args)
    res = convert_version(reg, args.ref, to=args.to)
    if args.json:
        out = _version_json(res.version)
        out["created"] = res.created
        return out
    v = res.version
    what = "converted to" if res.created else "already converted as"
    print(f"{args.ref}: {what} {v.ref}  ({v.format}, sha256 {v.sha256[:12]}…)")
    return None


def cmd_trust(args: argparse.Namespace) -> Any:
    from modelward.core.artifacts.store import sha256_file
    from modelward.core.artifacts.trust import record_override
    from modelward.core.errors import NotFound

    reg = _registry(args)
    try:
        sha, _size = sha256_file(args.path)
    except FileNotFoundError:
        raise NotFound(f"no such file: {args.path}") from None
    seq = record_override(
        reg,
        sha,
        globals=args.allow,
        reviewer=args.reviewer,
        reason=args.reason,
        source=str(args.path),
    )
    res = reg.register_file(args.path, args.name)
    if args.json:
        out = _version_json(res.version)
        out.update({"created": res.created, "override_audit_seq": seq})
        return out
    print(
        f"trust override recorded (audit event {seq}) for sha256 {sha[:12]}…: "
        f"{', '.join(args.allow)}"
    )
    print(f"registered {res.version.ref} ({res.version.format})")
    return None


# --------------------------------------------------------------------------- train / validate / compare
def _run_cancellable(fn: Callable[[Any], Any]) -> Any:
    """Run ``fn(cancel_token)`` in a thread; Ctrl+C cancels it between steps."""
    import threading

    from modelward.core.progress import CancelToken

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
            print("modelward: cancelling after the current step…", file=sys.stderr)
            token.cancel()
    if "error" in box:
        raise box["error"]
    return box.get("result")


def _status_printer(args: argparse.Namespace) -> Any:
    last = [""]

    def progress(_fraction: float, status: str) -> None:
        if not args.json and status and status != last[0]:
            last[0] = status
            print(f"  {status}", file=sys.stderr)

    return progress


def _fmt_metrics(metrics: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items()))


def cmd_train(args: argparse.Namespace) -> Any:
    from modelward.core.compute.parallel import Compute
    from modelward.core.compute.recipe import Recipe, Search, Split, parse_param
    from modelward.core.compute.training import retrain_from_lineage, train
    from modelward.core.errors import InvalidInput

    reg = _registry(args)
    compute = Compute(n_jobs=args.n_jobs)
    progress = _status_printer(args)

    def on_score(s: Any) -> None:
        if not args.json and s.stage == "evaluate":
            shown = {
                k: v for k, v in s.metrics.items() if k in ("roc_auc", "accuracy", "rmse", "r2")
            }
            print(f"  fold {s.fold + 1}: {_fmt_metrics(shown)}", file=sys.stderr)

    if args.from_lineage:
        res = _run_cancellable(
            lambda tok: retrain_from_lineage(
                reg,
                args.from_lineage,
                name=args.name,
                compute=compute,
                progress=progress,
                cancel=tok,
                on_score=on_score,
            )
        )
    else:
        if args.recipe:
            try:
                with open(args.recipe, encoding="utf-8") as f:
                    recipe = Recipe.from_json(f.read())
            except OSError as e:
                raise InvalidInput(f"cannot read the recipe {args.recipe}: {e.strerror}") from None
        else:
            missing = [o for o in ("data", "target", "estimator") if not getattr(args, o)]
            if missing:
                raise InvalidInput(
                    f"train needs --{' --'.join(missing)} (or --recipe FILE or --from-lineage REF)"
                )
            search = None
            if args.search:
                space: dict[str, list[Any]] = {}
                for text in args.search_param or []:
                    key, values = parse_param(text)
                    space[key] = values if isinstance(values, list) else [values]
                search = Search(kind=args.search, space=space, n_iter=args.n_iter)
            recipe = Recipe(
                data=args.data,
                target=args.target,
                estimator=args.estimator,
                params=dict(parse_param(p) for p in args.param or []),
                features=tuple(c for c in (args.features or "").split(",") if c),
                split=Split(
                    kind=args.split,
                    test_size=args.test_size,
                    folds=args.folds,
                    time_column=args.time_column,
                ),
                search=search,
                seed=args.seed,
            )
        if not args.name:
            raise InvalidInput("train needs --name NAME (the model to add the version to)")
        res = _run_cancellable(
            lambda tok: train(
                reg,
                recipe,
                args.name,
                compute=compute,
                progress=progress,
                cancel=tok,
                on_score=on_score,
            )
        )
    if args.json:
        return res.to_json()
    print(f"registered {res.ref}" + ("" if res.created else " (identical to an existing version)"))
    print(f"  {_fmt_metrics(res.metrics)}")
    if res.reproduced is not None:
        print(f"  metrics reproduced exactly: {'yes' if res.reproduced else 'NO'}")
    return None


def cmd_validate(args: argparse.Namespace) -> Any:
    from modelward.core.compute.validation import validate

    reg = _registry(args)
    res = _run_cancellable(
        lambda tok: validate(
            reg,
            args.ref,
            args.data,
            target=args.target,
            allow_extra=args.allow_extra,
            store=not args.no_store,
            progress=_status_printer(args),
            cancel=tok,
        )
    )
    if args.json:
        return res.to_json()
    print(f"{res.ref} on {res.rows} rows ({res.task}, target {res.target})")
    for k, v in sorted(res.metrics.items()):
        print(f"  {k:<18} {v:.6g}")
    if "confusion_matrix" in res.curves:
        print(f"  confusion matrix (rows: true {res.curves['classes']}, columns: predicted)")
        for row in res.curves["confusion_matrix"]:
            print("    " + "  ".join(f"{c:>7}" for c in row))
    return None


def cmd_compare(args: argparse.Namespace) -> Any:
    from modelward.core.compute.compare import compare, promote
    from modelward.core.errors import InvalidInput

    if args.promote and not args.reason:
        raise InvalidInput("--promote needs --reason TEXT")
    reg = _registry(args)
    if args.promote:  # refuse before the (long) comparison, not after it
        from modelward.core.errors import ApprovalRequired
        from modelward.core.policies import alias_needs_approval
        from modelward.core.registry.registry import parse_ref

        name = parse_ref(args.challenger)[0]
        if alias_needs_approval(reg, name, args.alias):
            raise ApprovalRequired(
                f"{name}@{args.alias} is protected by four-eyes: compare without --promote, "
                f"then 'modelward approvals request {args.challenger} --alias {args.alias} …'"
            )
    res = _run_cancellable(
        lambda tok: compare(
            reg,
            args.champion,
            args.challenger,
            args.data,
            gates=args.gate or [],
            alpha=args.alpha,
            n_boot=args.n_boot,
            target=args.target,
            allow_extra=args.allow_extra,
            progress=_status_printer(args),
            cancel=tok,
        )
    )
    promoted = None
    if args.promote and res.promotion_allowed:
        promoted = promote(reg, res.comparison_id, reason=args.reason, alias=args.alias).ref
    if args.json:
        out = res.to_json()
        out["promoted"] = promoted
        return out
    print(
        f"champion {res.champion.ref}  vs  challenger {res.challenger.ref}  ({res.champion.rows} rows)"
    )
    _print_table(
        [
            "METRIC",
            "CHAMPION",
            "CHALLENGER",
            "DIFF",
            f"{1 - res.alpha:.0%} CI",
            "P",
            "TEST",
            "VERDICT",
        ],
        [
            (
                d.metric,
                f"{d.champion:.4g}",
                f"{d.challenger:.4g}",
                f"{d.difference:+.4g}",
                f"[{d.ci_low:+.3g}, {d.ci_high:+.3g}]",
                f"{d.p_value:.3g}",
                d.test,
                d.verdict,
            )
            for d in res.differences
        ],
    )
    for g in res.gates:
        print(f"gate {g.gate}: {'pass' if g.passed else 'FAIL'} ({g.detail})")
    print("promotion " + ("allowed" if res.promotion_allowed else "NOT allowed"))
    if promoted:
        print(f"{args.alias} -> {promoted}")
    return None if res.promotion_allowed or not args.promote else SystemExit(1)


# --------------------------------------------------------------------------- drift / monitor
def _csv(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def _print_drift(rep: Any) -> None:
    rows = []
    for f in rep.features:
        p = "-" if f.p_value is None else f"{f.p_value:.3g}"
        flag = {"red": "DRIFT", "amber": "drift (amber)"}.get(f.severity, "") if f.drifted else ""
        rows.append((f.name, f.kind, f.method, f"{f.statistic:.4g}", p, f"{f.threshold:.4g}", flag))
    _print_table(
        ["FEATURE", "KIND", "METHOD", "STATISTIC", "P-VALUE", "THRESHOLD", "DRIFTED"], rows
    )
    n = sum(f.drifted for f in rep.features)
    verdict = "DRIFTED" if rep.drifted else "no dataset drift"
    print(
        f"\n{n} of {len(rep.features)} columns drifted (share {rep.drift_share:.2f}, "
        f"dataset threshold {rep.share_threshold:.2f}): {verdict}"
    )
    if rep.prediction is not None:
        pr = rep.prediction
        print(
            f"prediction drift: {pr.method} {pr.statistic:.4g} ({'drifted' if pr.drifted else 'ok'})"
        )
    if rep.multivariate:
        mv = rep.multivariate
        print(
            f"multivariate (PCA reconstruction error): {mv['statistic']:.4g} vs reference "
            f"{mv['reference']:.4g}, threshold {mv['threshold'] or float('nan'):.4g} "
            f"({'drifted' if mv['drifted'] else 'ok'})"
        )
    if rep.quality is not None:
        for c in rep.quality.columns:
            notes = []
            if c.missing_rate > c.reference_missing_rate + 0.01:
                notes.append(
                    f"missing {c.missing_rate:.1%} (reference {c.reference_missing_rate:.1%})"
                )
            if c.out_of_range:
                notes.append(f"{c.out_of_range} values outside the reference range")
            if c.unseen:
                notes.append(
                    f"{c.unseen} values of unseen categories ({', '.join(c.unseen_examples[:3])})"
                )
            if notes:
                print(f"quality {c.name}: {'; '.join(notes)}")


def _drift_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "methods": {"*": args.method} if args.method else None,
        "thresholds": args.thresholds,
        "correction": args.correction,
        "drift_share": args.drift_share,
    }


def cmd_drift(args: argparse.Namespace) -> Any:
    from modelward.core.monitoring.drift import drift_between

    rep = drift_between(
        args.reference,
        args.current,
        features=_csv(args.features) or None,
        categorical=_csv(args.categorical),
        **_drift_options(args),
    )
    code = 1 if (args.fail_on_drift and rep.drifted) else 0
    if args.json:
        print(json.dumps(rep.to_json(), indent=2, ensure_ascii=False, default=str))
    else:
        _print_drift(rep)
    return SystemExit(code)


def cmd_monitor(args: argparse.Namespace) -> Any:
    from modelward.core.monitoring import service

    reg = _registry(args)
    out: dict[str, Any] = {}
    if args.reference:
        prof = service.profile_version(
            reg,
            args.ref,
            args.reference,
            target=args.target,
            features=_csv(args.features) or None,
            categorical=_csv(args.categorical),
            exclude=_csv(args.exclude),
        )
        out["profile"] = {"rows": prof.n_rows, "features": list(prof.features)}
        if not args.json:
            print(f"profiled {prof.n_rows:,} reference rows, {len(prof.features)} columns")
    if args.labels:
        if args.batch_id is None or not args.id_column or not args.label_column:
            raise InvalidInput("--labels needs --batch-id, --id-column and --label-column")
        metrics = service.attach_labels(
            reg,
            args.batch_id,
            args.labels,
            id_column=args.id_column,
            label_column=args.label_column,
        )
        out["realized"] = metrics
        if not args.json:
            print(
                f"labels attached to batch {args.batch_id}: "
                + ", ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items()))
            )
    if args.batch:
        res = service.check_batch(
            reg,
            args.ref,
            args.batch,
            name=args.name,
            batch_time=args.time,
            id_column=args.id_column,
            label_column=args.label_column,
            methods={"*": args.method} if args.method else None,
            thresholds=args.thresholds,
        )
        out.update(res.to_json())
        if not args.json:
            print(f"batch {res.batch_id} ({res.name}) checked against {res.version_ref}\n")
            _print_drift(res.report)
            for kind, m in res.performance.items():
                print(
                    f"{kind} performance: "
                    + ", ".join(f"{k} {v:.4f}" for k, v in sorted(m.items()))
                )
    if not (args.reference or args.batch or args.labels):
        raise InvalidInput("nothing to do: give --batch PATH, --reference PATH or --labels PATH")
    return out if args.json else None


def build_parser() -> argparse.ArgumentParser:
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

    p = argparse.ArgumentParser(
        prog="modelward",
        description="ModelWard: an offline model registry and monitor. "
        "With no command, opens the desktop window.",
        parents=[common],
    )
    p.add_argument("--version", action="version", version=f"modelward {__version__}")
    p.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, handler: Handler, help: str, parent: Any = sub) -> argparse.ArgumentParser:
        sp: argparse.ArgumentParser = parent.add_parser(name, help=help, parents=[common])
        sp.set_defaults(handler=handler)
        return sp

    sp = add("register", cmd_register, "register a model file (it is never executed)")
    sp.add_argument("path", help="model file: skops, joblib or pickle")
    sp.add_argument("--name", required=True, help="model name")

    sp = add("list", cmd_list, "list model versions")
    sp.add_argument("name", nargs="?", help="only this model")

    sp = add("show", cmd_show, "show one version: NAME, NAME:VERSION or NAME@ALIAS")
    sp.add_argument("ref")

    alias = sub.add_parser("alias", help="set or remove aliases (champion, challenger, …)")
    asub = alias.add_subparsers(dest="alias_command", metavar="ACTION", required=True)
    sp = add("set", cmd_alias_set, "point ALIAS at REF", asub)
    sp.add_argument("ref")
    sp.add_argument("alias")
    sp.add_argument("--reason", required=True)
    sp = add("remove", cmd_alias_remove, "remove ALIAS of model NAME", asub)
    sp.add_argument("name")
    sp.add_argument("alias")
    sp.add_argument("--reason", required=True)

    audit = sub.add_parser("audit", help="the tamper-evident audit trail")
    ausub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    add("verify", cmd_audit_verify, "walk the hash chain; name the first broken event", ausub)
    sp = add("log", cmd_audit_log, "list audit events, newest first", ausub)
    sp.add_argument("--limit", type=int, default=50)
    sp.add_argument("--entity", help="entity id prefix, e.g. a model name")
    sp.add_argument("--action", help="action prefix, e.g. alias.")
    sp.add_argument("--user")
    sp.add_argument("--since", help="UTC time, e.g. 2026-01-01")
    from modelward.cli_evidence import add_audit_export, add_parsers

    add_audit_export(ausub, add)

    sp = add("selftest", cmd_selftest, "check this installation end to end in a temp folder")
    sp.add_argument("--no-gui", action="store_true", help="skip the window check")

    folders = sub.add_parser("folders", help="watched folders (models and data inboxes)")
    fsub = folders.add_subparsers(dest="folders_command", metavar="ACTION", required=True)
    sp = add("add", cmd_folders_add, "watch a folder", fsub)
    sp.add_argument("path")
    sp.add_argument("--kind", choices=["models", "data"], default="models")
    sp.add_argument("--model", help="model name (required for data folders)")
    sp.add_argument("--polling", action="store_true", help="poll (for network shares)")
    sp.add_argument("--label", help="label column of data batches")
    sp.add_argument("--id-column", help="id column of data batches (joins late labels)")
    sp.add_argument("--timestamp", help="timestamp column of data batches")
    add("list", cmd_folders_list, "list watched folders", fsub)
    sp = add("remove", cmd_folders_remove, "stop watching a folder (ID or PATH)", fsub)
    sp.add_argument("folder")
    sp = add("pause", cmd_folders_pause, "pause a folder (ID or PATH)", fsub)
    sp.add_argument("folder")
    sp.set_defaults(paused=True)
    sp = add("resume", cmd_folders_pause, "resume a paused folder (ID or PATH)", fsub)
    sp.add_argument("folder")
    sp.set_defaults(paused=False)

    sp = add("watch", cmd_watch, "watch folders headless until Ctrl+C or SIGTERM")
    sp.add_argument("--models", metavar="DIR", help="models inbox to add and watch")
    sp.add_argument("--data", metavar="DIR", help="data inbox to add and watch")
    sp.add_argument("--model", metavar="NAME", help="model of the data inbox (or of --models)")
    sp.add_argument("--polling", action="store_true", help="poll instead of native events")
    sp.add_argument("--settle", type=float, default=1.0, help=argparse.SUPPRESS)
    sp.add_argument("--policy-interval", type=float, default=60.0, help=argparse.SUPPRESS)

    sp = add("convert", cmd_convert, "re-save an accepted pickle/joblib version as skops")
    sp.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS")
    sp.add_argument("--to", default="skops", choices=["skops"], help="target format")

    sp = add(
        "trust",
        cmd_trust,
        "reviewer override: allow named extra globals for one file's bytes, audited",
    )
    sp.add_argument("path", help="the model file that was rejected")
    sp.add_argument("--name", required=True, help="model name to register it under")
    sp.add_argument(
        "--allow",
        action="append",
        required=True,
        metavar="MODULE:NAME",
        help="a global to allow for this file (repeat for more)",
    )
    sp.add_argument("--reviewer", required=True, help="your name, as you sign it")
    sp.add_argument("--reason", required=True, help="why this file is trusted")

    sp = add("train", cmd_train, "train a scikit-learn model from a recipe and register it")
    sp.add_argument("--data", help="CSV or Parquet file, or dataset:ID")
    sp.add_argument("--target", help="column to predict")
    sp.add_argument(
        "--estimator", help="scikit-learn classifier or regressor, e.g. LogisticRegression"
    )
    sp.add_argument("--param", action="append", metavar="K=V", help="hyper-parameter (repeatable)")
    sp.add_argument("--name", help="model name to add the version to")
    sp.add_argument("--features", metavar="A,B,…", help="feature columns (default: all others)")
    sp.add_argument(
        "--split", default="holdout", choices=["holdout", "kfold", "stratified", "time"]
    )
    sp.add_argument("--test-size", type=float, default=0.25)
    sp.add_argument("--folds", type=int, default=5)
    sp.add_argument("--time-column", help="timestamp column of a time-based split")
    sp.add_argument("--search", choices=["grid", "random"], help="hyper-parameter search")
    sp.add_argument("--search-param", action="append", metavar="K=[V,…]", help="values to search")
    sp.add_argument("--n-iter", type=int, default=10, help="candidates of a random search")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--n-jobs", type=int, default=1, help="folds fitted at once")
    sp.add_argument("--recipe", metavar="FILE", help="a recipe as JSON instead of the options")
    sp.add_argument(
        "--from-lineage", metavar="REF", help="retrain REF from its recipe and data snapshot"
    )

    sp = add("validate", cmd_validate, "score a version on labelled data (metrics, curves)")
    sp.add_argument("ref")
    sp.add_argument("--data", required=True, help="CSV or Parquet file, or dataset:ID")
    sp.add_argument("--target", help="target column (default: the one it was trained on)")
    sp.add_argument(
        "--allow-extra", action="store_true", help="ignore columns the model does not use"
    )
    sp.add_argument("--no-store", action="store_true", help="do not record the validation")

    sp = add("compare", cmd_compare, "champion vs challenger on the same data, with gates")
    sp.add_argument("champion", help="REF of the champion, e.g. credit@champion")
    sp.add_argument("challenger", help="REF of the challenger")
    sp.add_argument("--data", required=True, help="CSV or Parquet file, or dataset:ID")
    sp.add_argument(
        "--gate",
        action="append",
        metavar="RULE",
        help="e.g. roc_auc>=0.75 or roc_auc>=champion-0.01 (repeatable)",
    )
    sp.add_argument("--alpha", type=float, default=0.05, help="significance level")
    sp.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples")
    sp.add_argument("--target")
    sp.add_argument("--allow-extra", action="store_true")
    sp.add_argument("--promote", action="store_true", help="move the alias if the gates allow it")
    sp.add_argument("--alias", default="champion")
    sp.add_argument("--reason", help="why (needed with --promote)")

    def drift_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--method",
            choices=["psi", "ks", "wasserstein", "jensenshannon", "chi2"],
            help="use this method wherever it applies (default: by type and size)",
        )
        sp.add_argument(
            "--thresholds",
            choices=["auto", "fixed", "reference"],
            default="auto",
            help="fixed conventions or mean + 3 sigma over reference chunks",
        )
        sp.add_argument("--features", help="columns to monitor, comma-separated (default: all)")
        sp.add_argument("--categorical", help="numeric columns to treat as categorical")

    sp = add("drift", cmd_drift, "drift of a current data set against a reference (CSV/Parquet)")
    sp.add_argument("--reference", required=True, metavar="PATH")
    sp.add_argument("--current", required=True, metavar="PATH")
    drift_args(sp)
    sp.add_argument("--correction", choices=["bh", "holm", "none"], default="bh")
    sp.add_argument(
        "--drift-share",
        type=float,
        default=0.5,
        help="share of drifted columns that makes the data set drifted",
    )
    sp.add_argument("--fail-on-drift", action="store_true", help="exit 1 when the data set drifted")

    sp = add("monitor", cmd_monitor, "profile a version's reference, check a batch, attach labels")
    sp.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS")
    sp.add_argument("--batch", metavar="PATH", help="check this batch and store the results")
    sp.add_argument("--reference", metavar="PATH", help="profile this reference data first")
    sp.add_argument("--target", help="label column of the reference (calibration, performance)")
    sp.add_argument("--exclude", help="reference columns not to monitor (ids), comma-separated")
    sp.add_argument("--name", help="batch name (default: the file name)")
    sp.add_argument("--time", help="batch time, ISO 8601 (default: now)")
    sp.add_argument("--id-column", help="row ids, kept so late labels can be joined")
    sp.add_argument("--label-column", help="labels in the batch, or in --labels")
    sp.add_argument("--labels", metavar="PATH", help="late labels for --batch-id, joined by id")
    sp.add_argument("--batch-id", type=int, help="the batch the --labels belong to")
    drift_args(sp)

    policy = sub.add_parser("policy", help="per-model policies: triggers, retraining, promotion")
    psub = policy.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    sp = add("set", cmd_policy_set, "create or change the policy of model NAME", psub)
    sp.add_argument("name", help="model name")
    on = sp.add_argument_group("triggers ('off' switches one off)")
    on.add_argument(
        "--drift-share",
        type=_off_float,
        default=_UNSET,
        metavar="X",
        help="share of drifted columns above which it fires (0..1)",
    )
    on.add_argument(
        "--psi",
        type=_off_float,
        default=_UNSET,
        metavar="Y",
        help="a column's PSI above which it fires",
    )
    on.add_argument("--psi-features", metavar="A,B", help="columns the PSI trigger reads")
    on.add_argument("--metric", default=_UNSET, help="performance metric (default roc_auc)")
    on.add_argument(
        "--below",
        type=_off_float,
        default=_UNSET,
        metavar="Z",
        help="fires when the realized/estimated metric falls below Z",
    )
    on.add_argument(
        "--drop",
        type=_off_float,
        default=_UNSET,
        metavar="D",
        help="fires when the metric dropped by more than D from the champion's",
    )
    on.add_argument(
        "--every-days",
        type=_off_float,
        default=_UNSET,
        metavar="N",
        help="fires when the policy has not acted for N days",
    )
    on.add_argument(
        "--new-labels",
        type=_off_int,
        default=_UNSET,
        metavar="ROWS",
        help="fires when this many new labelled rows arrived",
    )
    act = sp.add_argument_group("actions")
    bool_opt = argparse.BooleanOptionalAction
    act.add_argument("--alert", action=bool_opt, default=None, help="raise an alert")
    act.add_argument(
        "--retrain",
        action=bool_opt,
        default=None,
        help="retrain the champion's recipe on the labelled window",
    )
    act.add_argument(
        "--promote",
        action=bool_opt,
        default=None,
        help="promote (or request approval) when the gates pass",
    )
    act.add_argument("--alias", help="the alias the policy maintains (default champion)")
    act.add_argument(
        "--four-eyes",
        action=bool_opt,
        default=None,
        help="promotion to a protected alias needs a second person",
    )
    act.add_argument("--protect", metavar="A,B", help="protected aliases (default champion)")
    act.add_argument("--window", type=int, metavar="N", help="labelled batches to retrain on")
    act.add_argument(
        "--holdout-share",
        type=float,
        metavar="F",
        help="share of the window held out for validation (default 0.3)",
    )
    act.add_argument(
        "--training-data",
        action=bool_opt,
        default=None,
        help="also train on the champion's training data",
    )
    act.add_argument(
        "--gate",
        action="append",
        metavar="RULE",
        help="e.g. roc_auc>=champion-0.01 (repeatable; replaces the gates)",
    )
    act.add_argument("--n-boot", type=int, help="bootstrap resamples of the comparison")
    act.add_argument("--approval-hours", type=float, help="hours until a request expires")
    act.add_argument(
        "--alert-command",
        metavar="'PROGRAM ARGS'",
        help="run for each alert with the alert as JSON on stdin (no shell)",
    )
    act.add_argument("--alert-timeout", type=float, metavar="S")
    act.add_argument("--owner", help="who requests the promotions (default: you)")
    act.add_argument("--enable", dest="enabled", action="store_true", default=None)
    act.add_argument("--disable", dest="enabled", action="store_false")
    sp.add_argument("--from-json", metavar="FILE", help="start from a policy saved as JSON")
    sp.add_argument("--reason", help="why (kept in the audit trail)")
    sp = add("show", cmd_policy_show, "show the policy of NAME (or all)", psub)
    sp.add_argument("name", nargs="?")
    sp = add("remove", cmd_policy_remove, "remove the policy of NAME", psub)
    sp.add_argument("name")
    sp.add_argument("--reason", required=True)
    sp = add("runs", cmd_policy_runs, "what each firing did and why, newest first", psub)
    sp.add_argument("name", nargs="?")
    sp.add_argument("--limit", type=int, default=20)

    alerts = sub.add_parser("alerts", help="alerts raised by policies")
    alsub = alerts.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    sp = add("list", cmd_alerts_list, "list alerts, newest first", alsub)
    sp.add_argument("--unread", action="store_true", help="only those not acknowledged")
    sp.add_argument("--model")
    sp.add_argument("--limit", type=int, default=50)
    sp = add("ack", cmd_alerts_ack, "acknowledge alerts", alsub)
    sp.add_argument("ids", nargs="*", type=int, metavar="ID")
    sp.add_argument("--all", action="store_true", help="every unread alert")
    sp.add_argument("--model", help="with --all: only this model's")

    approvals = sub.add_parser("approvals", help="promotion requests (maker-checker)")
    apsub = approvals.add_subparsers(dest="approvals_command", metavar="ACTION", required=True)
    sp = add("list", cmd_approvals_list, "pending requests (--all: every request)", apsub)
    sp.add_argument("--all", action="store_true")
    sp.add_argument("--model")
    sp.add_argument("--limit", type=int, default=50)
    sp = add("request", cmd_approvals_request, "ask for REF to be promoted", apsub)
    sp.add_argument("ref", help="the version to promote, e.g. credit:4")
    sp.add_argument("--alias", default="champion")
    sp.add_argument("--name", required=True, help="your name, as you sign it")
    sp.add_argument("--reason", required=True)
    sp.add_argument("--comparison", type=int, help="the comparison whose gates allow it")
    sp.add_argument("--hours", type=float, default=72.0, help="hours until it expires")
    sp = add("approve", cmd_approve, "approve a promotion request (a different person signs)")
    sp.add_argument("id", type=int)
    sp.add_argument("--name", required=True, help="your name, as you sign it")
    sp.add_argument("--meaning", required=True, help="e.g. 'approved for production use'")
    sp.add_argument("--reason", required=True)
    sp = add("reject", cmd_reject, "reject a promotion request (signed)")
    sp.add_argument("id", type=int)
    sp.add_argument("--name", required=True, help="your name, as you sign it")
    sp.add_argument("--reason", required=True)
    sp.add_argument("--meaning", default="rejected")

    add_parsers(sub, add)  # report, export, import, keys, backup, restore, verify, retention

    sp = add("gui", cmd_gui, "open the desktop window")
    sp.add_argument("--smoke", action="store_true", help="open, then quit after a second")
    sp.add_argument("--capture", metavar="DIR", help=argparse.SUPPRESS)

    sp = add("demo", cmd_demo, "build the demo workspace and open the window on it")
    sp.add_argument(
        "--no-gui", action="store_true", help="headless: checks, a report and screenshots"
    )
    return p


def _log_crash(args: argparse.Namespace | None) -> str | None:
    """Write the traceback of an unexpected error to the registry's log folder."""
    try:
        from modelward.core.paths import resolve_home

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
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        handler = cmd_gui
    try:
        result = handler(args)
    except ModelWardError as e:
        if args.json:
            print(json.dumps({"error": str(e), "kind": type(e).__name__}))
        print(f"modelward: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("modelward: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # the last line of defence: never a traceback
        where = _log_crash(args)
        tail = f" (details in {where})" if where else ""
        print(f"modelward: unexpected error: {type(e).__name__}: {e}{tail}", file=sys.stderr)
        return 70
    if isinstance(result, SystemExit):
        return int(result.code or 0)
    if result is not None and args.json:
        try:
            print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
            sys.stdout.flush()
        except BrokenPipeError:  # `modelward list --json | head`: not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
