"""Registry commands: register, list, show, alias set/remove, convert, trust."""

from __future__ import annotations

import argparse
import json
from typing import Any

from modelward.cli.common import command, group, open_registry, version_json
from modelward.cli.output import Result, fmt_size, fmt_time, lines, table
from modelward.core.errors import NotFound


def cmd_register(args: argparse.Namespace) -> Result:
    from modelward.core.intake import accept_model_file  # deferred: start-up cost

    reg = open_registry(args)
    res = accept_model_file(reg, args.path, name=args.name).register_result()
    out = version_json(res.version)
    out["created"] = res.created
    v = res.version
    what = "registered" if res.created else "already registered as"
    text = [f"{what} {v.ref}  sha256 {v.sha256}  ({v.format}, {fmt_size(v.size)})"]
    if v.status != "ok":
        text.append(f"status: {v.status}")
    return Result(out, lines(*text))


def cmd_list(args: argparse.Namespace) -> Result:
    reg = open_registry(args)
    versions = reg.list_versions(args.name)
    data = {"versions": [version_json(v) for v in versions]}
    if not versions:
        return Result(data, f"no models registered yet in {reg.home}")
    text = table(
        ["MODEL", "VERSION", "ALIASES", "FORMAT", "ESTIMATOR", "STATUS", "CREATED"],
        [
            (
                v.name,
                v.version,
                ",".join(v.aliases) or "-",
                v.format,
                (v.estimator_class or "-").rsplit(".", 1)[-1],
                v.status,
                fmt_time(v.created_at),
            )
            for v in versions
        ],
    )
    return Result(data, text)


def cmd_show(args: argparse.Namespace) -> Result:
    reg = open_registry(args)
    v = reg.resolve(args.ref)
    rows: list[tuple[str, Any]] = [
        ("aliases", ", ".join(v.aliases) or "-"),
        ("sha256", v.sha256),
        ("format", v.format),
        ("size", fmt_size(v.size)),
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
    text = lines(f"{v.ref}", *(f"  {k:<18} {val}" for k, val in rows))
    return Result(version_json(v), text)


def cmd_alias_set(args: argparse.Namespace) -> Result:
    v = open_registry(args).set_alias(args.ref, args.alias, args.reason)
    return Result(version_json(v), f"{v.name}@{args.alias} -> version {v.version}")


def cmd_alias_remove(args: argparse.Namespace) -> Result:
    open_registry(args).remove_alias(args.name, args.alias, args.reason)
    return Result(
        {"name": args.name, "alias": args.alias, "removed": True},
        f"removed alias {args.alias} of {args.name}",
    )


def cmd_convert(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.intake.convert import convert_version

    res = convert_version(open_registry(args), args.ref, to=args.to)
    out = version_json(res.version)
    out["created"] = res.created
    v = res.version
    what = "converted to" if res.created else "already converted as"
    return Result(out, f"{args.ref}: {what} {v.ref}  ({v.format}, sha256 {v.sha256[:12]}…)")


def cmd_trust(args: argparse.Namespace) -> Result:
    # deferred: start-up cost
    from modelward.core.artifacts.overrides import record_override
    from modelward.core.artifacts.store import sha256_file
    from modelward.core.intake import accept_model_file

    reg = open_registry(args)
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
    res = accept_model_file(reg, args.path, name=args.name).register_result()
    out = version_json(res.version)
    out.update({"created": res.created, "override_audit_seq": seq})
    text = lines(
        f"trust override recorded (audit event {seq}) for sha256 {sha[:12]}…: "
        f"{', '.join(args.allow)}",
        f"registered {res.version.ref} ({res.version.format})",
    )
    return Result(out, text)


def add_parsers(sub: Any) -> None:
    """register, list, show, alias, convert, trust."""
    sp = command(sub, "register", cmd_register, "register a model file (it is never executed)")
    sp.add_argument("path", help="model file: skops, joblib or pickle")
    sp.add_argument("--name", required=True, help="model name")

    sp = command(sub, "list", cmd_list, "list model versions")
    sp.add_argument("name", nargs="?", help="only this model")

    sp = command(sub, "show", cmd_show, "show one version: NAME, NAME:VERSION or NAME@ALIAS")
    sp.add_argument("ref")

    asub = group(sub, "alias", "set or remove aliases (champion, challenger, …)")
    sp = command(asub, "set", cmd_alias_set, "point ALIAS at REF")
    sp.add_argument("ref")
    sp.add_argument("alias")
    sp.add_argument("--reason", required=True)
    sp = command(asub, "remove", cmd_alias_remove, "remove ALIAS of model NAME")
    sp.add_argument("name")
    sp.add_argument("alias")
    sp.add_argument("--reason", required=True)

    sp = command(sub, "convert", cmd_convert, "re-save an accepted pickle/joblib version as skops")
    sp.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS")
    sp.add_argument("--to", default="skops", choices=["skops"], help="target format")

    sp = command(
        sub,
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
