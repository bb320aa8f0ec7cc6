"""CLI commands for evidence: report, export/import, keys, backup/restore, audit export, retention.

``cli.py`` registers the parsers (:func:`add_parsers`); the handlers live here
so the main CLI module stays small.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelward.core.errors import InvalidInput

Handler = Callable[[argparse.Namespace], Any]


def _registry(args: argparse.Namespace) -> Any:
    from modelward.cli import _registry as open_registry

    reg = open_registry(args)
    if reg.recovered and not args.json:
        from modelward.core.backup import recovery_message

        print(f"modelward: warning: {recovery_message(reg.recovered)}", file=sys.stderr)
    return reg


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        print(text)


def cmd_report(args: argparse.Namespace) -> Any:
    reg = _registry(args)
    out = Path(args.output)
    kind = out.suffix.lower()
    if kind in (".html", ".htm"):
        from modelward.core.reports.render import write_html

        res = write_html(reg, args.ref, out, template=args.template, n_boot=args.n_boot)
    elif kind == ".pdf":
        from modelward.ui.pdf import write_pdf

        res = write_pdf(reg, args.ref, out, template=args.template, n_boot=args.n_boot)
    else:
        raise InvalidInput(f"the report file must end in .html or .pdf, not {out.suffix!r}")
    _say(args, f"wrote {res['path']} ({res['bytes']} bytes, sha256 {res['sha256']})")
    return res


def cmd_export(args: argparse.Namespace) -> Any:
    from modelward.core.bundles import export_bundle

    res = export_bundle(
        _registry(args),
        args.ref,
        args.output,
        key=args.key,
        unsigned=args.unsigned,
        include_data=not args.no_data,
    )
    signed = f"signed by key {res['signed_by']}" if res["signed_by"] else "UNSIGNED"
    _say(args, f"exported {res['ref']} to {res['path']} ({signed}, sha256 {res['sha256']})")
    return res


def cmd_import(args: argparse.Namespace) -> Any:
    from modelward.core.bundles import import_bundle

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
    _say(
        args,
        f"imported {res.source_ref} as {res.ref} ({'new' if res.created else 'already present'}; "
        f"{who}; {res.validations} validation(s), profile: {'yes' if res.profile else 'no'})",
    )
    return res.to_json()


def cmd_keys_create(args: argparse.Namespace) -> Any:
    from modelward.core.bundles import create_key

    k = create_key(_registry(args), args.name)
    _say(
        args, f"created key {k.name} ({k.key_id}); give {k.public_path} to the machines that import"
    )
    return k.to_json()


def cmd_keys_list(args: argparse.Namespace) -> Any:
    from modelward.cli import _print_table
    from modelward.core.bundles import list_keys, trusted_signers

    reg = _registry(args)
    own, trusted = list_keys(reg), trusted_signers(reg)
    if args.json:
        return {"keys": [k.to_json() for k in own], "trusted": [s.to_json() for s in trusted]}
    print("Signing keys of this registry:")
    _print_table(
        ["NAME", "KEY ID", "PUBLIC KEY FILE"], [(k.name, k.key_id, k.public_path) for k in own]
    )
    print("\nTrusted signers (bundles they sign are accepted):")
    _print_table(
        ["NAME", "KEY ID", "ADDED", "BY", "REASON"],
        [(s.name, s.key_id, s.added_at[:19], s.added_by, s.reason or "") for s in trusted],
    )
    return None


def cmd_keys_trust(args: argparse.Namespace) -> Any:
    from modelward.core.bundles import trust_signer

    s = trust_signer(_registry(args), args.public_key, name=args.name, reason=args.reason)
    _say(args, f"trusting {s.name} ({s.key_id})")
    return s.to_json()


def cmd_keys_untrust(args: argparse.Namespace) -> Any:
    from modelward.core.bundles import untrust_signer

    untrust_signer(_registry(args), args.key_id, reason=args.reason)
    _say(args, f"no longer trusting {args.key_id}")
    return {"key_id": args.key_id, "trusted": False}


def cmd_backup(args: argparse.Namespace) -> Any:
    from modelward.core.backup import backup

    res = backup(_registry(args), args.output)
    _say(
        args,
        f"backed up {res['audit_events']} audit events and {res['artifacts']} artifacts to "
        f"{res['path']} (verified; sha256 {res['sha256']})",
    )
    return res


def cmd_restore(args: argparse.Namespace) -> Any:
    from modelward.core.backup import restore

    res = restore(args.file, args.registry, replace=args.replace)
    ver = res["verification"]
    aside = f"; the previous database is kept in {res['set_aside']}" if res["set_aside"] else ""
    _say(
        args,
        f"restored into {res['home']}: audit chain intact ({ver['audit']['events']} events), "
        f"{ver['artifacts']} artifacts verified{aside}",
    )
    return res


def cmd_verify(args: argparse.Namespace) -> Any:
    from modelward.core.backup import verify_backup, verify_registry

    if args.backup:
        res = verify_backup(args.backup)
        _say(
            args,
            f"backup intact: {res['audit']['events']} audit events, {res['artifacts']} artifacts",
        )
        return res
    res = verify_registry(_registry(args))
    if args.json:
        return res if res["ok"] else SystemExit(1)
    if res["ok"]:
        print(
            f"registry intact: {res['audit']['events']} audit events, {res['artifacts']} artifacts"
        )
        return None
    for p in res["problems"]:
        print(f"problem: {p}", file=sys.stderr)
    return SystemExit(1)


def cmd_audit_export(args: argparse.Namespace) -> Any:
    from modelward.core.audit_export import export_audit

    res = export_audit(_registry(args), args.output)
    state = "intact" if res["chain_ok"] else "BROKEN"
    _say(
        args,
        f"exported {res['events']} audit events to {res['path']} (chain {state}, head {res['head_hash']})",
    )
    return res


def cmd_retention(args: argparse.Namespace) -> Any:
    from modelward.core.retention import apply_retention, get_retention, set_retention

    reg = _registry(args)
    if args.keep_days is not None or args.forever:
        set_retention(reg, None if args.forever else args.keep_days, reason=args.reason)
    out: dict[str, Any] = {"monitoring_days": get_retention(reg)}
    if args.apply:
        out["applied"] = apply_retention(reg)
    if not args.json:
        days = out["monitoring_days"]
        print(
            f"monitoring data kept: {'forever' if days is None else f'{days} days'} (audit events: always)"
        )
        if "applied" in out:
            print(f"deleted: {out['applied']['deleted']}")
    return out


def add_parsers(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register the evidence commands on the main parser's subparsers."""
    sp = add("report", cmd_report, "model card and validation report (HTML or PDF)")
    sp.add_argument("ref", help="NAME, NAME:VERSION or NAME@ALIAS")
    sp.add_argument("-o", "--output", required=True, metavar="FILE", help="FILE.html or FILE.pdf")
    sp.add_argument(
        "--template",
        metavar="FILE",
        help="template (default: <registry>/templates/report.html, else the built-in one)",
    )
    sp.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples for the intervals")

    sp = add("export", cmd_export, "write a version and its evidence to one signed bundle")
    sp.add_argument("ref")
    sp.add_argument("-o", "--output", required=True, metavar="FILE")
    sp.add_argument("--key", help="signing key name (default: the only one)")
    sp.add_argument("--unsigned", action="store_true", help="seal with a hash only, no signature")
    sp.add_argument("--no-data", action="store_true", help="leave the training data snapshot out")

    sp = add("import", cmd_import, "verify a bundle completely, then register what it carries")
    sp.add_argument("file")
    sp.add_argument("--name", help="register under this model name")
    sp.add_argument(
        "--accept-unverified",
        action="store_true",
        help="accept an intact bundle that is unsigned or from an untrusted key (audited)",
    )
    sp.add_argument("--reason", help="why (needed with --accept-unverified)")

    keys = sub.add_parser("keys", help="signing keys and trusted signers")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    sp = add("create", cmd_keys_create, "create an Ed25519 signing key", ksub)
    sp.add_argument("name")
    add("list", cmd_keys_list, "list this registry's keys and trusted signers", ksub)
    sp = add("trust", cmd_keys_trust, "accept bundles signed by a public key (.pub file)", ksub)
    sp.add_argument("public_key", metavar="PUBFILE")
    sp.add_argument("--name", help="a name for the signer (default: the one in the file)")
    sp.add_argument("--reason", required=True)
    sp = add("untrust", cmd_keys_untrust, "stop accepting bundles from a key", ksub)
    sp.add_argument("key_id")
    sp.add_argument("--reason", required=True)

    sp = add("backup", cmd_backup, "consistent, verified snapshot of the registry and artifacts")
    sp.add_argument("-o", "--output", required=True, metavar="FILE")

    sp = add("restore", cmd_restore, "restore a backup into the registry folder, verified")
    sp.add_argument("file")
    sp.add_argument(
        "--replace", action="store_true", help="set the current database aside and restore over it"
    )

    sp = add("verify", cmd_verify, "verify the registry (audit chain, artifacts) or a backup file")
    sp.add_argument("--backup", metavar="FILE", help="check this backup file instead")

    sp = add("retention", cmd_retention, "how long monitoring data is kept (audit: always)")
    sp.add_argument("--keep-days", type=int, metavar="N", help="keep N days of monitoring data")
    sp.add_argument("--forever", action="store_true", help="keep monitoring data forever")
    sp.add_argument(
        "--apply", action="store_true", help="delete monitoring data past retention now"
    )
    sp.add_argument("--reason")


def add_audit_export(asub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """``modelward audit export -o FILE.csv|FILE.json``."""
    sp = add("export", cmd_audit_export, "export the audit trail with its chain hashes", asub)
    sp.add_argument("-o", "--output", required=True, metavar="FILE", help="FILE.csv or FILE.json")
