"""Registry commands: register, list, show, alias set/remove, convert, trust."""

from __future__ import annotations

import argparse
import json
from typing import Any

from modelward.cli.common import command, group, open_registry, version_json
from modelward.cli.output import Result, fmt_size, fmt_time, lines, table
from modelward.core.errors import InvalidInput, NotFound


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


def _list_spec(args: argparse.Namespace) -> Any:
    """The window's search (one parser for both) and a sort key as a ``TableSpec``.

    ``--sort`` takes a column (``name``, ``version``, ``created``, ``status``,
    ``estimator``, ``aliases``, ``by``) or a metric name; a leading ``-`` sorts
    descending.
    """
    from modelward.core import query  # deferred: start-up cost

    flt = query.parse_search(args.filter or "")
    if args.name:
        # the positional NAME is an exact model name, on top of any --filter
        where = "m.name = ?" + (f" AND ({flt.where})" if flt.where else "")
        flt = query.Filter(where, (args.name, *flt.params))
    key = args.sort or "name"
    descending = key.startswith("-")
    key = key.lstrip("-")
    column = {"created": "created_at", "by": "created_by"}.get(key, key)
    if column in query.SORT_COLUMNS:
        return query.TableSpec(filter=flt, sort=column, descending=descending)
    return query.TableSpec(
        filter=flt, metric_keys=(key,), sort=f"metric:{key}", descending=descending
    )


def cmd_list(args: argparse.Namespace) -> Result:
    from modelward.core import query  # deferred: start-up cost

    if args.limit < 0:
        raise InvalidInput("--limit must be 0 (all) or a positive number")
    reg = open_registry(args)
    spec = _list_spec(args)
    if spec.metric_keys and not query.has_metric(reg, spec.metric_keys[0]):
        raise InvalidInput(
            f"cannot sort by {spec.metric_keys[0]!r}: no version has this metric, and it is "
            "not a column (name, version, created, status, estimator, aliases, by)"
        )
    limit = None if args.limit == 0 else args.limit
    total = query.count_rows(reg, spec)
    ids = [r[0] for r in query.fetch_page(reg, spec, 0, limit if limit is not None else total)]
    by_id = {v.id: v for v in reg.list_versions(where="v.id IN (SELECT unnest(?))", params=[ids])}
    versions = [by_id[i] for i in ids if i in by_id]
    data: dict[str, Any] = {
        "versions": [version_json(v) for v in versions],
        "total": total,
        "truncated": len(versions) < total,
    }
    if not versions:
        if total == 0 and not spec.filter:
            return Result(data, f"no models registered yet in {reg.home}")
        return Result(data, "no version matches" + (f" {args.filter!r}" if args.filter else ""))
    metric = spec.metric_keys[0] if spec.metric_keys else None
    headers = ["MODEL", "VERSION", "ALIASES", "FORMAT", "ESTIMATOR", "STATUS", "CREATED"]
    rows = [
        [
            v.name,
            v.version,
            ",".join(v.aliases) or "-",
            v.format,
            (v.estimator_class or "-").rsplit(".", 1)[-1],
            v.status,
            fmt_time(v.created_at),
        ]
        for v in versions
    ]
    if metric is not None:
        headers.append(metric.upper())
        for row, v in zip(rows, versions, strict=True):
            value = v.metrics.get(metric)
            row.append("-" if value is None else f"{value:.4g}")
    text = table(headers, rows)
    if data["truncated"]:
        text += (
            f"\n{len(versions):,} of {total:,} versions shown"
            " (--limit N, --limit 0 for all, or --filter to narrow)"
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
    sp.add_argument("name", nargs="?", help="only this model (its exact name)")
    sp.add_argument(
        "--filter",
        metavar="EXPR",
        help="the window's search, e.g. 'alias:champion roc_auc>0.8 created>2026-01-01'",
    )
    sp.add_argument(
        "--sort",
        metavar="KEY",
        help="name (default), version, created, status, estimator, aliases, by, or a "
        "metric; a leading - sorts descending (--sort=-roc_auc)",
    )
    sp.add_argument(
        "--limit", type=int, default=1000, metavar="N", help="at most N versions (0: all)"
    )

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
