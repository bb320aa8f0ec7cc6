"""Evidence commands: report, export/import, keys, backup/restore, verify, retention."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.cli.common import command, group, open_registry
from modelward.cli.output import Result, fmt_size, lines, table
from modelward.cli.policies import add_key_parsers
from modelward.core.errors import InvalidInput

if TYPE_CHECKING:
    from modelward.core.registry import Registry


def _registry(args: argparse.Namespace) -> Registry:
    return open_registry(args, warn_recovered=True)


def cmd_report(args: argparse.Namespace) -> Result:
    reg = _registry(args)
    out = Path(args.output)
    kind = out.suffix.lower()
    if kind in (".html", ".htm"):
        from modelward.core.evidence.reports.render import write_html  # deferred: start-up cost

        res = write_html(reg, args.ref, out, template=args.template, n_boot=args.n_boot)
    elif kind == ".pdf":
        # deferred: start-up cost (the PDF is printed by Qt)
        from modelward.ui.pdf import write_pdf

        res = write_pdf(reg, args.ref, out, template=args.template, n_boot=args.n_boot)
    else:
        raise InvalidInput(f"the report file must end in .html or .pdf, not {out.suffix!r}")
    return Result(res, f"wrote {res['path']} ({res['bytes']} bytes, sha256 {res['sha256']})")


def cmd_export(args: argparse.Namespace) -> Result:
    if args.format == "mlflow":
        # deferred: start-up cost
        from modelward.core.evidence.mlflow_export import export_mlflow

        res = export_mlflow(_registry(args), args.ref, args.output)
        example = res["input_example_rows"]
        return Result(
            res,
            lines(
                f"exported {res['ref']} to {res['path']} as an MLflow model folder "
                f"({res['flavor']} flavor, {', '.join(res['files'])})",
                f"input example: {example} rows" if example else "no input example",
                *(
                    ["model.onnx given one probability output per class (new bytes)"]
                    if res.get("rewritten")
                    else []
                ),
            ),
        )
    from modelward.core.evidence.bundles import export_bundle  # deferred: start-up cost

    res = export_bundle(
        _registry(args),
        args.ref,
        args.output,
        key=args.key,
        unsigned=args.unsigned,
        include_data=not args.no_data,
    )
    signed = f"signed by key {res['signed_by']}" if res["signed_by"] else "UNSIGNED"
    return Result(res, f"exported {res['ref']} to {res['path']} ({signed}, sha256 {res['sha256']})")


def cmd_import(args: argparse.Namespace) -> Result:
    from modelward.core.evidence.bundles import import_bundle  # deferred: start-up cost

    res = import_bundle(
        _registry(args),
        args.file,
        name=args.name,
        accept_unverified=args.accept_unverified,
        reason=args.reason,
    )
    who = (
        f"signed by {res.signer_name} ({res.signed_by})"
        if res.signed_by
        else "NOT signed by a trusted key"
    )
    return Result(
        res.to_json(),
        f"imported {res.source_ref} as {res.ref} ({'new' if res.created else 'already present'}; "
        f"{who}; {res.validations} validation(s), profile: {'yes' if res.profile else 'no'})",
    )


def cmd_keys_create(args: argparse.Namespace) -> Result:
    from modelward.core.evidence.bundles import create_key  # deferred: start-up cost

    k = create_key(_registry(args), args.name)
    return Result(
        k.to_json(),
        f"created key {k.name} ({k.key_id}); give {k.public_path} to the machines that import",
    )


def cmd_keys_list(args: argparse.Namespace) -> Result:
    from modelward.core.evidence.bundles import (
        list_keys,
        trusted_signers,
    )  # deferred: start-up cost

    reg = _registry(args)
    own, trusted = list_keys(reg), trusted_signers(reg)
    text = lines(
        "Signing keys of this registry:",
        table(
            ["NAME", "KEY ID", "PUBLIC KEY FILE"],
            [(k.name, k.key_id, k.public_path) for k in own],
        ),
        "\nTrusted signers (bundles they sign are accepted):",
        table(
            ["NAME", "KEY ID", "ADDED", "BY", "REASON"],
            [(s.name, s.key_id, s.added_at[:19], s.added_by, s.reason or "") for s in trusted],
        ),
    )
    return Result(
        {"keys": [k.to_json() for k in own], "trusted": [s.to_json() for s in trusted]}, text
    )


def cmd_keys_trust(args: argparse.Namespace) -> Result:
    from modelward.core.evidence.bundles import trust_signer  # deferred: start-up cost

    s = trust_signer(_registry(args), args.public_key, name=args.name, reason=args.reason)
    return Result(s.to_json(), f"trusting {s.name} ({s.key_id})")


def cmd_keys_untrust(args: argparse.Namespace) -> Result:
    from modelward.core.evidence.bundles import untrust_signer  # deferred: start-up cost

    untrust_signer(_registry(args), args.key_id, reason=args.reason)
    return Result({"key_id": args.key_id, "trusted": False}, f"no longer trusting {args.key_id}")


def cmd_backup(args: argparse.Namespace) -> Result:
    from modelward.core.evidence.backup import backup  # deferred: start-up cost

    res = backup(_registry(args), args.output)
    return Result(
        res,
        f"backed up {res['audit_events']} audit events and {res['artifacts']} artifacts to "
        f"{res['path']} (verified; sha256 {res['sha256']})",
    )


def cmd_restore(args: argparse.Namespace) -> Result:
    from modelward.core.evidence.backup import restore  # deferred: start-up cost

    res = restore(args.file, args.registry, replace=args.replace)
    ver = res["verification"]
    aside = f"; the previous database is kept in {res['set_aside']}" if res["set_aside"] else ""
    return Result(
        res,
        f"restored into {res['home']}: audit chain intact ({ver['audit']['events']} events), "
        f"{ver['artifacts']} artifacts verified{aside}",
    )


def cmd_verify(args: argparse.Namespace) -> Result:
    from modelward.core.evidence.backup import (
        verify_backup,
        verify_registry,
    )  # deferred: start-up cost

    if args.backup:
        res = verify_backup(args.backup)
        return Result(
            res,
            f"backup intact: {res['audit']['events']} audit events, {res['artifacts']} artifacts",
        )
    from modelward.core.evidence.head import head_line, sign_head  # deferred: start-up cost

    reg = _registry(args)
    if args.acknowledge_loss:
        ack = reg.acknowledge_loss(args.reason or "")
        print(
            f"modelward: loss acknowledged (audit event {ack['seq']}): "
            + ", ".join(n for item in ack["lost"] for n in item.get("events") or []),
            file=sys.stderr,
        )
    res = verify_registry(reg, repair=args.repair, grace=max(args.min_age, 0.0) * 60.0)
    if args.expect_head:
        seq, _, want = args.expect_head.partition(":")
        if not seq.strip().lstrip("#").isdigit() or len(want.strip()) != 64:
            raise InvalidInput("--expect-head takes SEQ:HASH, as printed by an earlier verify")
        bad = reg.check_head(int(seq.strip().lstrip("#")), want.strip())
        if bad:
            res["problems"].append(bad)
            res["ok"] = False
    from modelward.core.policies.keys import verify_approvals  # deferred: start-up cost

    res["problems"] += [f"signed approvals: {p}" for p in verify_approvals(reg)]
    res["ok"] = res["ok"] and not res["problems"]
    extra: list[str] = []
    if res["ok"]:
        res["head"] = sign_head(reg)
        extra.append(head_line(res["head"]))
    for r in res["records"]["journal"]["recoveries"]:
        extra.append(
            f"recovery at event {r['seq']}: {r.get('replayed', 0)} change(s) replayed from the "
            f"journal, {len(r.get('lost') or [])} lost"
        )
    if res["removed"]:
        total = sum(u["size"] for u in res["unreferenced"] if u["sha256"] in res["removed"])
        extra.append(
            f"removed {len(res['removed'])} unreferenced artifact(s), {fmt_size(total)} (audited)"
        )
    elif res["unreferenced"]:
        total = sum(u["size"] for u in res["unreferenced"])
        extra.append(
            f"{len(res['unreferenced'])} unreferenced artifact(s), {fmt_size(total)}: "
            "left by an interrupted write; `modelward verify --repair` removes them"
        )
        extra += [f"  {u['sha256']}  {fmt_size(u['size'])}" for u in res["unreferenced"]]
    if res["recent"]:
        extra.append(
            f"{len(res['recent'])} unreferenced artifact(s) younger than "
            f"{args.min_age:g} min kept: a write may be in progress"
        )
    if res["ok"]:
        return Result(
            res,
            lines(
                f"registry intact: {res['audit']['events']} audit events, "
                f"{res['records']['state'].get('rows', 0)} rows match them, "
                f"{res['artifacts']} artifacts, journal agrees",
                *extra,
            ),
        )
    return Result(res, lines(*extra), ok=False, errors=[f"problem: {p}" for p in res["problems"]])


def cmd_retention(args: argparse.Namespace) -> Result:
    from modelward.core.retention import (
        apply_retention,
        get_retention,
        set_retention,
    )  # deferred: start-up cost

    reg = _registry(args)
    if args.keep_days is not None or args.forever:
        set_retention(reg, None if args.forever else args.keep_days, reason=args.reason)
    out: dict[str, Any] = {"monitoring_days": get_retention(reg)}
    if args.apply:
        out["applied"] = apply_retention(reg)
    days = out["monitoring_days"]
    text = [
        f"monitoring data kept: {'forever' if days is None else f'{days} days'} "
        "(audit events: always)"
    ]
    if "applied" in out:
        text.append(f"deleted: {out['applied']['deleted']}")
    return Result(out, lines(*text))


def add_parsers(sub: Any) -> None:
    """report, export, import, keys, backup, restore, verify, retention."""
    sp = command(sub, "report", cmd_report, "model card and validation report (HTML or PDF)")
    sp.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS")
    sp.add_argument("-o", "--output", required=True, metavar="FILE", help="FILE.html or FILE.pdf")
    sp.add_argument(
        "--template",
        metavar="FILE",
        help="template (default: <registry>/templates/report.html, else the built-in one)",
    )
    sp.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples for the intervals")

    sp = command(
        sub,
        "export",
        cmd_export,
        "write a version and its evidence to one signed bundle, or as an MLflow model folder",
    )
    sp.add_argument("ref")
    sp.add_argument(
        "-o", "--output", "--out", required=True, metavar="PATH", help="bundle file, or folder"
    )
    sp.add_argument(
        "--format",
        choices=["bundle", "mlflow"],
        default="bundle",
        help="bundle (default): a signed ModelWard bundle; mlflow: an MLflow model folder "
        "(skops, ONNX, XGBoost or LightGBM inside, with its signature and an input example)",
    )
    sp.add_argument("--key", help="signing key name (default: the only one)")
    sp.add_argument("--unsigned", action="store_true", help="seal with a hash only, no signature")
    sp.add_argument("--no-data", action="store_true", help="leave the training data snapshot out")

    sp = command(
        sub, "import", cmd_import, "verify a bundle completely, then register what it carries"
    )
    sp.add_argument("file")
    sp.add_argument("--name", help="register under this model name")
    sp.add_argument(
        "--accept-unverified",
        action="store_true",
        help="accept an intact bundle that is unsigned or from an untrusted key (audited)",
    )
    sp.add_argument("--reason", help="why (needed with --accept-unverified)")

    ksub = group(sub, "keys", "signing keys and trusted signers")
    sp = command(ksub, "create", cmd_keys_create, "create an Ed25519 signing key")
    sp.add_argument("name")
    command(ksub, "list", cmd_keys_list, "list this registry's keys and trusted signers")
    sp = command(ksub, "trust", cmd_keys_trust, "accept bundles signed by a public key (.pub file)")
    sp.add_argument("public_key", metavar="PUBFILE")
    sp.add_argument("--name", help="a name for the signer (default: the one in the file)")
    sp.add_argument("--reason", required=True)
    sp = command(ksub, "untrust", cmd_keys_untrust, "stop accepting bundles from a key")
    sp.add_argument("key_id")
    sp.add_argument("--reason", required=True)
    add_key_parsers(ksub)  # the personal keys that sign approvals

    sp = command(
        sub, "backup", cmd_backup, "consistent, verified snapshot of the registry and artifacts"
    )
    sp.add_argument("-o", "--output", required=True, metavar="FILE")

    sp = command(sub, "restore", cmd_restore, "restore a backup into the registry folder, verified")
    sp.add_argument("file")
    sp.add_argument(
        "--replace", action="store_true", help="set the current database aside and restore over it"
    )

    sp = command(
        sub,
        "verify",
        cmd_verify,
        "verify the registry (audit chain, state, journal, artifacts) or a backup file",
    )
    sp.add_argument("--backup", metavar="FILE", help="check this backup file instead")
    sp.add_argument(
        "--acknowledge-loss",
        action="store_true",
        help="record (audited) that you saw the changes a recovery could not replay",
    )
    sp.add_argument("--reason", help="why the loss is acknowledged (with --acknowledge-loss)")
    sp.add_argument(
        "--expect-head",
        metavar="SEQ:HASH",
        help="a head printed earlier and kept elsewhere: the chain must still contain it",
    )
    sp.add_argument(
        "--repair",
        action="store_true",
        help="remove unreferenced artifacts (left by interrupted writes); audited",
    )
    sp.add_argument(
        "--min-age",
        type=float,
        default=15.0,
        metavar="MINUTES",
        help="leave unreferenced artifacts younger than this alone (default 15)",
    )

    sp = command(
        sub, "retention", cmd_retention, "how long monitoring data is kept (audit: always)"
    )
    sp.add_argument("--keep-days", type=int, metavar="N", help="keep N days of monitoring data")
    sp.add_argument("--forever", action="store_true", help="keep monitoring data forever")
    sp.add_argument(
        "--apply", action="store_true", help="delete monitoring data past retention now"
    )
    sp.add_argument("--reason")
