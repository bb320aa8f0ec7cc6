"""Audit commands: verify the hash chain, list events, export the trail."""

from __future__ import annotations

import argparse
from typing import Any

from modelward.cli.common import command, group, open_registry
from modelward.cli.output import Result, fmt_time, table


def cmd_audit_verify(args: argparse.Namespace) -> Result:
    reg = open_registry(args, warn_recovered=True)
    report = reg.verify_audit()
    records = reg.verify_records()
    out = {**report.to_json(), "records": records}
    if report.ok and records["ok"]:
        return Result(
            out,
            f"audit chain intact: {report.events} events, head {report.head_hash}; "
            f"the tables match the events ({records['state'].get('rows', 0)} rows) and the "
            "journal agrees",
        )
    errors = []
    if not report.ok:
        errors.append(
            f"audit chain BROKEN at event {report.first_broken_seq}: {report.problem} "
            f"({report.events} events before it verify)"
        )
    errors += [p for p in records["problems"] if not p.startswith("audit trail:")]
    return Result(out, ok=False, errors=errors)


def cmd_audit_log(args: argparse.Namespace) -> Result:
    events = open_registry(args).audit_events(
        limit=args.limit,
        entity_prefix=args.entity,
        action=args.action,
        actor=args.user,
        since=args.since,
    )
    text = table(
        ["SEQ", "WHEN (UTC)", "WHO", "ACTION", "ENTITY", "REASON"],
        [(e.seq, fmt_time(e.ts), e.actor, e.action, e.entity_id, e.reason or "") for e in events],
    )
    return Result({"events": [e.to_json() for e in events]}, text)


def cmd_audit_export(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.evidence.audit_export import export_audit

    res = export_audit(open_registry(args, warn_recovered=True), args.output)
    state = "intact" if res["chain_ok"] else "BROKEN"
    return Result(
        res,
        f"exported {res['events']} audit events to {res['path']} "
        f"(chain {state}, head {res['head_hash']})",
    )


def add_parsers(sub: Any) -> None:
    """audit verify, audit log, audit export."""
    ausub = group(sub, "audit", "the tamper-evident audit trail")
    command(
        ausub,
        "verify",
        cmd_audit_verify,
        "walk the hash chain, rebuild the state from it, check the journal",
    )
    sp = command(ausub, "log", cmd_audit_log, "list audit events, newest first")
    sp.add_argument("--limit", type=int, default=50)
    sp.add_argument("--entity", help="entity id prefix, e.g. a model name")
    sp.add_argument("--action", help="action prefix, e.g. alias.")
    sp.add_argument("--user")
    sp.add_argument("--since", help="UTC time, e.g. 2026-01-01")
    sp = command(ausub, "export", cmd_audit_export, "export the audit trail with its chain hashes")
    sp.add_argument("-o", "--output", required=True, metavar="FILE", help="FILE.csv or FILE.json")
