"""Job functions behind the window's evidence actions (report, bundles, backup, restore): no Qt here
except the PDF writer, which the CLI uses the same way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelward.core.errors import InvalidInput
from modelward.core.jobs import JobContext
from modelward.core.registry import Registry


@dataclass(frozen=True)
class EvidenceDone:
    """What an evidence job did, in one sentence, plus the core's result."""

    kind: str
    message: str
    result: Any = None


def write_report(ctx: JobContext, registry: Registry, ref: str, path: str) -> EvidenceDone:
    """Model card and validation report of ``ref``: HTML or PDF, by the file's extension."""
    out = Path(path)
    kind = out.suffix.lower()
    ctx.progress(0.05, f"gathering the facts of {ref}")
    if kind in (".html", ".htm"):
        # Evidence modules load on first use: together ~140 ms of the window's start (measured).
        from modelward.core.evidence.reports.render import write_html

        res = write_html(registry, ref, out)
    elif kind == ".pdf":
        from modelward.ui.pdf import write_pdf  # on first use, like the other evidence modules

        res = write_pdf(registry, ref, out)
    else:
        raise InvalidInput(f"the report file must end in .html or .pdf, not {out.suffix!r}")
    ctx.log(f"wrote {res['path']} ({res['bytes']:,} bytes, sha256 {res['sha256']})")
    return EvidenceDone("report", f"Report of {res['ref']} written to {out.name}", res)


def list_signing_keys(registry: Registry) -> list[str]:
    """Names of this registry's signing keys (reader thread)."""
    # On first use (evidence modules cost the window's start ~140 ms, measured).
    from modelward.core.evidence.bundles import list_keys

    return [k.name for k in list_keys(registry)]


def export_job(
    ctx: JobContext,
    registry: Registry,
    ref: str,
    path: str,
    key: str | None,
    unsigned: bool,
    include_data: bool,
    new_key: str | None = None,
) -> EvidenceDone:
    """Write ``ref`` and its evidence to one bundle (signed with ``key``, or a new key)."""
    # On first use (evidence modules cost the window's start ~140 ms, measured).
    from modelward.core.evidence.bundles import create_key, export_bundle

    if new_key:
        k = create_key(registry, new_key)
        ctx.log(f"created signing key {k.name} ({k.key_id}); its public key is {k.public_path}")
        key = k.name
    res = export_bundle(
        registry,
        ref,
        path,
        key=key,
        unsigned=unsigned,
        include_data=include_data,
        progress=ctx.progress,
        cancel=ctx.cancel,
    )
    signed = f"signed by key {res['signed_by']}" if res["signed_by"] else "UNSIGNED"
    ctx.log(f"exported {res['ref']} to {res['path']} ({signed}, sha256 {res['sha256']})")
    return EvidenceDone("export", f"Exported {res['ref']} to {Path(path).name} ({signed})", res)


@dataclass(frozen=True)
class BundleCheck:
    """A bundle that passed every check of its bytes; ``unverified`` says why its origin is not
    proven (unsigned, or signed by a key this registry does not trust)."""

    path: str
    sha256: str
    ref: str
    name: str
    estimator: str
    exported_at: str
    exported_by: str
    signed_by: str | None
    signer_name: str | None
    unverified: str | None
    validations: int
    audit_events: int
    has_profile: bool

    def summary(self) -> str:
        lines = [
            f"Bundle {Path(self.path).name} (sha256 {self.sha256[:16]}…)",
            f"Carries {self.ref} ({self.estimator}), exported {self.exported_at[:19]} by "
            f"{self.exported_by}",
            f"Evidence: {self.validations} validation(s), {self.audit_events} audit event(s), "
            f"monitoring profile: {'yes' if self.has_profile else 'no'}",
            "Seal and every entry's hash: intact",
        ]
        if self.signed_by:
            lines.append(
                f"Signature: valid, by trusted signer {self.signer_name} ({self.signed_by})"
            )
        else:
            lines.append(f"Origin NOT proven: {self.unverified}")
        return "\n".join(lines)


def inspect_bundle(ctx: JobContext, registry: Registry, path: str) -> BundleCheck:
    """Verify a bundle completely without writing anything (unsigned ones are reported)."""
    # On first use (evidence modules cost the window's start ~140 ms, measured).
    from modelward.core.evidence.bundles import trusted_signers, verify_bundle

    ctx.progress(0.05, f"verifying {Path(path).name}")
    trusted = {s.key_id: (s.name, s.public_key) for s in trusted_signers(registry)}
    b = verify_bundle(path, trusted, accept_unverified=True, cancel=ctx.cancel)
    v, m = b.version, b.manifest
    check = BundleCheck(
        path=str(b.path),
        sha256=b.sha256,
        ref=str(m.get("ref") or f"{v.get('name')}:{v.get('version')}"),
        name=str(v.get("name", "")),
        estimator=str(v.get("estimator_class") or "unknown estimator").rsplit(".", 1)[-1],
        exported_at=str(m.get("created_at", "")),
        exported_by=str(m.get("created_by", "")),
        signed_by=b.signed_by,
        signer_name=b.signer_name,
        unverified=b.unverified,
        validations=len(b.validations),
        audit_events=len(b.audit),
        has_profile=b.profile is not None,
    )
    ctx.log(check.summary())
    return check


def import_job(
    ctx: JobContext,
    registry: Registry,
    path: str,
    name: str | None,
    accept_unverified: bool,
    reason: str | None,
) -> EvidenceDone:
    # On first use (evidence modules cost the window's start ~140 ms, measured).
    from modelward.core.evidence.bundles import import_bundle

    res = import_bundle(
        registry,
        path,
        name=name,
        accept_unverified=accept_unverified,
        reason=reason,
        progress=ctx.progress,
        cancel=ctx.cancel,
    )
    who = (
        f"signed by {res.signer_name}" if res.signed_by else "accepted without a trusted signature"
    )
    state = "new" if res.created else "already present"
    ctx.log(f"imported {res.source_ref} as {res.ref} ({state}; {who})")
    return EvidenceDone("import", f"Imported {res.source_ref} as {res.ref} ({state}; {who})", res)


def backup_job(ctx: JobContext, registry: Registry, path: str) -> EvidenceDone:
    # On first use (evidence modules cost the window's start ~140 ms, measured).
    from modelward.core.evidence.backup import backup

    res = backup(registry, path, progress=ctx.progress, cancel=ctx.cancel)
    ctx.log(
        f"backed up {res['audit_events']} audit events and {res['artifacts']} artifacts to "
        f"{res['path']} (verified; sha256 {res['sha256']})"
    )
    return EvidenceDone(
        "backup",
        f"Backup written and verified: {Path(path).name} ({res['artifacts']} artifacts)",
        res,
    )


def restore_job(ctx: JobContext, path: str, home: str, current_home: str) -> EvidenceDone:
    """Restore a backup into ``home`` (an empty folder, or another registry set aside)."""
    # On first use (evidence modules cost the window's start ~140 ms, measured).
    from modelward.core.evidence.backup import restore

    target = Path(home).resolve()
    if target == Path(current_home).resolve():
        raise InvalidInput(
            "this window has that registry open: restore into another (empty) folder, then "
            "switch to it in Settings"
        )
    has_db = (target / "registry.duckdb").exists()
    res = restore(path, target, replace=has_db, progress=ctx.progress, cancel=ctx.cancel)
    ver = res["verification"]
    aside = f"; the previous database is kept in {res['set_aside']}" if res["set_aside"] else ""
    ctx.log(
        f"restored into {res['home']}: audit chain intact ({ver['audit']['events']} events), "
        f"{ver['artifacts']} artifacts verified{aside}"
    )
    return EvidenceDone("restore", f"Restored {Path(path).name} into {res['home']}{aside}", res)
