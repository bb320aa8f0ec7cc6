"""Signed bundles: one file that carries a model version and its evidence.

A bundle moves a version from a development workstation to a production one
with no network between them. It is a sealed archive (see
:mod:`modelward.core.evidence.bundles.container`) holding:

``bundle.json``
    the manifest: format, who exported what and when, and the SHA-256 and
    size of every other entry;
``version.json``
    the version record (hashes, estimator, parameters, signature, lineage,
    metrics, tags, status) and its model's task and description;
``validations.json``, ``profile.json``
    stored validations (metrics, curves, the predictions' hash) and the
    monitoring reference profile;
``audit.json``
    the audit events that concern the version, with their chain hashes (each
    event's hash can be recomputed from its fields);
``artifacts/<sha256>``
    the model file, its training data snapshot and its validations'
    predictions, named by their hashes.

:func:`import_bundle` verifies everything before it writes anything: the seal
(an Ed25519 signature by a trusted signer, checked with the key from this
registry's trust list), every entry's name, type and size, every hash in the
manifest, every artifact's name against its bytes, and every audit event's
hash. Then it stores the artifacts, inspects the model through the trust
boundary (it is never unpickled here), registers the version with its
provenance in the lineage, and writes one ``bundle.imported`` audit event.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import modelward.core.evidence.bundles.keys as _keys
import modelward.core.registry.audit as _audit
from modelward import __version__
from modelward.core import platform
from modelward.core.clock import utcnow
from modelward.core.errors import InvalidInput, RejectedFile
from modelward.core.evidence.bundles.container import (
    SEAL_SIZE,
    ArchiveRefused,
    Limits,
    file_digest,
    hash_entry,
    open_checked,
    read_entry,
    read_seal,
    seal,
    signed_message,
)
from modelward.core.evidence.head import sign_head
from modelward.core.intake import Stored, accept_model_file
from modelward.core.intake.quarantine import quarantine
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress
from modelward.core.refs import validate_name
from modelward.core.registry.audit import COLUMNS as AUDIT_COLUMNS

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = [
    "ArchiveRefused",
    "BundleContents",
    "ImportResult",
    "export_bundle",
    "import_bundle",
    "verify_bundle",
    "write_archive",
]

FORMAT = "modelward-bundle"
FORMAT_VERSION = 1
MANIFEST = "bundle.json"
ALLOWED = re.compile(r"(?:bundle|version|validations|profile|audit)\.json|artifacts/[0-9a-f]{64}")
_JSON_ENTRIES = ("version.json", "validations.json", "profile.json", "audit.json")


# --------------------------------------------------------------------------- writing
def write_archive(
    path: str | os.PathLike[str],
    entries: dict[str, bytes | Path],
    *,
    sign: Any = None,
    manifest_name: str | None = MANIFEST,
    manifest_extra: dict[str, Any] | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> bytes:
    """Write a sealed archive of ``entries`` (name → bytes or a file) with its manifest.

    Parameters
    ----------
    sign
        ``message -> (key_id, signature)``, or ``None`` for an unsigned seal.
    manifest_name
        Name of the manifest entry listing every other entry's SHA-256 and
        size (``None``: no manifest, for crafted archives in tests).

    Returns
    -------
    bytes
        The digest the seal covers.
    """
    dest = Path(path)
    files: dict[str, dict[str, Any]] = {}
    total = sum(len(v) if isinstance(v, bytes) else v.stat().st_size for v in entries.values())
    done = 0
    tmp = dest.with_name(f".{dest.name}.partial")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for name, value in entries.items():
                check(cancel)
                h = hashlib.sha256()
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (0o100644 & 0xFFFF) << 16
                with zf.open(info, "w", force_zip64=not isinstance(value, bytes)) as out:
                    if isinstance(value, bytes):
                        h.update(value)
                        out.write(value)
                        size = len(value)
                    else:
                        size = 0
                        with open(value, "rb") as f:
                            while chunk := f.read(1024 * 1024):
                                h.update(chunk)
                                out.write(chunk)
                                size += len(chunk)
                                done += len(chunk)
                                if total:
                                    progress(0.95 * done / total, f"writing {name}")
                files[name] = {"sha256": h.hexdigest(), "size": size}
            if manifest_name is not None:
                manifest = {**(manifest_extra or {}), "files": files}
                zf.writestr(
                    _plain_info(manifest_name),
                    json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"),
                )
            zf.comment = b" " * SEAL_SIZE
        progress(0.97, "sealing")
        digest = seal(tmp, sign)
        platform.replace_file(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    progress(1.0, "written")
    return digest


def _plain_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100644 & 0xFFFF) << 16
    return info


def _signer(registry: Registry, key: str | None) -> Any:
    kid, private = _keys.load_signing_key(registry, key)

    def sign(message: bytes) -> tuple[str, bytes]:
        return kid, private.sign(message)

    return sign


def _audit_rows(registry: Registry, v: Any) -> list[dict[str, Any]]:
    """Audit events that concern version ``v``: its own, its aliases', its model's creation."""
    with registry.read() as cur:
        rows = cur.execute(
            "SELECT seq, ts, actor, action, entity_type, entity_id, before, after, reason, "
            "prev_hash, hash, delta FROM audit WHERE entity_id = ? "
            "OR (entity_type = 'alias' AND starts_with(entity_id, ?)) "
            "OR (entity_type = 'model' AND entity_id = ?) "
            "OR contains(coalesce(after, ''), ?) ORDER BY seq",
            [v.ref, v.name + "@", v.name, v.sha256],
        ).fetchall()
    out = []
    for r in rows:
        if r[4] == "alias":
            moved = [json.loads(t).get("version") for t in (r[6], r[7]) if t]
            if r[5].rsplit("@", 1)[0] != v.name or v.version not in moved:
                continue
        out.append(dict(zip(_AUDIT_COLS, r, strict=True)))
    return out


_AUDIT_COLS = AUDIT_COLUMNS


def export_bundle(
    registry: Registry,
    ref: str,
    path: str | os.PathLike[str],
    *,
    key: str | None = None,
    unsigned: bool = False,
    include_data: bool = True,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Write version ``ref`` and its evidence to one signed bundle file.

    Parameters
    ----------
    registry
        The registry to read from.
    ref
        ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS``.
    path
        The bundle file to write (replaced atomically).
    key
        Name of the signing key under ``keys/`` (default: the only one).
    unsigned
        Seal with a bare SHA-256 instead of a signature; the importer must
        then accept it explicitly.
    include_data
        Carry the training data snapshot too (it can be large).

    Returns
    -------
    dict
        ``ref``, ``path``, ``sha256`` (of the whole file), ``signed_by``
        (key id or ``None``), ``files`` (entries written).
    """

    sign = None if unsigned else _signer(registry, key)
    v = registry.resolve(ref)
    progress(0.0, f"collecting {v.ref}")
    with registry.read() as cur:
        model_row = cur.execute(
            "SELECT task, description FROM models WHERE id = ?", [v.model_id]
        ).fetchall()[0]
        val_rows = cur.execute(
            "SELECT data_fingerprint, data_source, rows, task, target, metrics, curves, "
            "predictions_sha256, created_at, created_by FROM validations WHERE version_id = ? "
            "ORDER BY id",
            [v.id],
        ).fetchall()
        prof = cur.execute(
            "SELECT source, n_rows, profile, created_at, created_by FROM mon_profiles "
            "WHERE version_id = ?",
            [v.id],
        ).fetchall()
    record = v.to_json()
    for k in ("id", "model_id", "aliases", "ref"):
        record.pop(k, None)
    record["task"], record["description"] = model_row
    validations = [
        {
            "data_fingerprint": r[0],
            "data_source": r[1],
            "rows": r[2],
            "task": r[3],
            "target": r[4],
            "metrics": json.loads(r[5]),
            "curves": json.loads(r[6]),
            "predictions_sha256": r[7],
            "created_at": r[8],
            "created_by": r[9],
        }
        for r in val_rows
    ]
    profile = (
        {
            "source": prof[0][0],
            "n_rows": prof[0][1],
            "profile": json.loads(prof[0][2]),
            "created_at": prof[0][3],
            "created_by": prof[0][4],
        }
        if prof
        else None
    )
    shas = [v.sha256] + [x["predictions_sha256"] for x in validations]
    snap = v.lineage.get("snapshot_sha256")
    if include_data and isinstance(snap, str) and registry.artifacts.has(snap):
        shas.append(snap)
    entries: dict[str, bytes | Path] = {
        "version.json": _json(record),
        "validations.json": _json(validations),
        "profile.json": _json(profile),
        "audit.json": _json(_audit_rows(registry, v)),
    }
    for sha in dict.fromkeys(shas):
        entries[f"artifacts/{sha}"] = registry.artifacts.verify(sha)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "ref": v.ref,
        "model_sha256": v.sha256,
        "created_at": utcnow(),
        "created_by": registry.actor,
        "modelward_version": __version__,
        # the exporting registry's signed audit head: an outside copy of it
        "registry_head": sign_head(registry),
    }
    write_archive(
        path, entries, sign=sign, manifest_extra=manifest, progress=progress, cancel=cancel
    )
    whole = _sha256_file(path)
    signed_by = read_seal(path).key_id
    registry.record_event(
        "bundle.exported",
        "version",
        v.ref,
        after={
            "file": Path(path).name,
            "sha256": whole,
            "signed_by": signed_by,
            "files": len(entries) + 1,
        },
    )
    return {
        "ref": v.ref,
        "path": str(path),
        "sha256": whole,
        "signed_by": signed_by,
        "files": sorted([*entries, MANIFEST]),
    }


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False, default=str).encode(
        "utf-8"
    )


def _sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- reading
@dataclass
class BundleContents:
    """A bundle that passed every check, with its parsed JSON entries."""

    path: Path
    sha256: str
    manifest: dict[str, Any]
    version: dict[str, Any]
    validations: list[dict[str, Any]]
    profile: dict[str, Any] | None
    audit: list[dict[str, Any]]
    artifacts: dict[str, int]  # sha256 -> size
    signed_by: str | None  # key id of a trusted signer, else None
    signer_name: str | None
    unverified: str | None = None  # why the origin is not proven (accepted explicitly)
    limits: Limits = field(default_factory=Limits)


def verify_bundle(
    path: str | os.PathLike[str],
    trusted: dict[str, tuple[str, str]],
    *,
    accept_unverified: bool = False,
    limits: Limits | None = None,
    cancel: CancelToken | None = None,
) -> BundleContents:
    """Check a bundle completely without writing anything.

    Parameters
    ----------
    path
        The bundle file.
    trusted
        ``key_id -> (name, base64 public key)`` of the signers to accept.
    accept_unverified
        Accept a bundle that is intact but unsigned or signed by a key not in
        ``trusted`` (the caller audits the decision). A bundle whose seal does
        not match its bytes is refused regardless.
    limits
        Size limits (:class:`Limits`).

    Raises
    ------
    ArchiveRefused
        With the reason: damaged or altered bytes, an untrusted or missing
        signature, an unsafe entry, a hash that does not match, malformed JSON.
    """
    limits = limits or Limits()
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"no such bundle file: {p}")
    s = read_seal(p)
    digest = file_digest(p, cancel=(lambda: check(cancel)))
    unverified = None
    signed_by = signer_name = None
    if s.kind == "sha256":
        if s.value != digest:
            raise ArchiveRefused(f"{p.name} was altered: its bytes do not match its seal")
        unverified = "the bundle is not signed"
    elif s.key_id in trusted:
        signer_name, public = trusted[s.key_id]
        if not _keys.verify_signature(public, s.value, signed_message(digest)):
            raise ArchiveRefused(
                f"{p.name} was altered after it was signed: the signature of {signer_name} "
                f"({s.key_id}) does not match its bytes"
            )
        signed_by = s.key_id
    else:
        unverified = f"it is signed by key {s.key_id}, which this registry does not trust"
    if unverified and not accept_unverified:
        raise ArchiveRefused(
            f"refused {p.name}: {unverified} (import a trusted signer's key with "
            "'modelward keys trust', or accept it explicitly with --accept-unverified and --reason)"
        )
    with open_checked(p, ALLOWED, limits) as zf:
        names = set(zf.namelist())
        if MANIFEST not in names:
            raise ArchiveRefused(f"{p.name} has no {MANIFEST}: not a ModelWard bundle")
        manifest = _parse(read_entry(zf, MANIFEST, limits.max_json_bytes), MANIFEST)
        if manifest.get("format") != FORMAT:
            raise ArchiveRefused(f"{p.name} is not a ModelWard bundle")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ArchiveRefused(
                f"{p.name} is bundle format {manifest.get('format_version')}; this ModelWard "
                f"reads format {FORMAT_VERSION}"
            )
        files = manifest.get("files")
        if not isinstance(files, dict):
            raise ArchiveRefused(f"the manifest of {p.name} lists no files")
        listed = set(files) | {MANIFEST}
        if listed != names:
            odd = sorted(listed ^ names)[0]
            raise ArchiveRefused(
                f"{p.name}: entry {odd!r} is "
                + ("missing" if odd in listed else "not listed in the manifest")
            )
        parsed: dict[str, Any] = {}
        artifacts: dict[str, int] = {}
        for name in sorted(files):
            check(cancel)
            want = files[name]
            if name in _JSON_ENTRIES:
                data = read_entry(zf, name, limits.max_json_bytes)
                sha, size = hashlib.sha256(data).hexdigest(), len(data)
            else:
                sha, size = hash_entry(zf, name, limits.max_entry_bytes)
            if not isinstance(want, dict) or want.get("sha256") != sha or want.get("size") != size:
                raise ArchiveRefused(f"{p.name}: entry {name!r} does not match its manifest hash")
            if name in _JSON_ENTRIES:
                parsed[name] = _parse(data, name)
            else:
                if name.rsplit("/", 1)[1] != sha:
                    raise ArchiveRefused(f"{p.name}: artifact {name!r} is not named by its hash")
                artifacts[sha] = size
    for name in _JSON_ENTRIES:
        if name not in parsed:
            raise ArchiveRefused(f"{p.name} has no {name}")
    version = parsed["version.json"]
    if not isinstance(version, dict) or version.get("sha256") not in artifacts:
        raise ArchiveRefused(f"{p.name} does not carry the model file its version names")
    validations = parsed["validations.json"] or []
    for val in validations:
        if val.get("predictions_sha256") not in artifacts:
            raise ArchiveRefused(f"{p.name}: a validation's predictions are missing")
    events = parsed["audit.json"] or []
    for e in events:
        try:
            f = [e[c] for c in _AUDIT_COLS[:10]]
            h = _audit.event_hash(
                f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], e.get("delta")
            )
            ok = h == e["hash"]
        except (KeyError, TypeError):
            ok = False
        if not ok:
            raise ArchiveRefused(f"{p.name}: audit event {e.get('seq')} does not match its hash")
    return BundleContents(
        path=p,
        sha256=_sha256_file(p),
        manifest=manifest,
        version=version,
        validations=validations,
        profile=parsed["profile.json"],
        audit=events,
        artifacts=artifacts,
        signed_by=signed_by,
        signer_name=signer_name,
        unverified=unverified,
        limits=limits,
    )


def _parse(data: bytes, name: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ArchiveRefused(f"entry {name!r} is not valid JSON") from None


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_bundle` did."""

    ref: str
    created: bool
    sha256: str
    bundle_sha256: str
    signed_by: str | None
    signer_name: str | None
    source_ref: str
    validations: int
    profile: bool
    accepted_unverified: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def import_bundle(
    registry: Registry,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    accept_unverified: bool = False,
    reason: str | None = None,
    limits: Limits | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> ImportResult:
    """Verify a bundle completely, then register its version and evidence.

    Parameters
    ----------
    registry
        The registry to import into.
    path
        The bundle file.
    name
        Register under this model name (default: the name in the bundle).
    accept_unverified
        Accept an intact bundle that is unsigned or signed by an untrusted
        key; needs ``reason`` and is audited as ``bundle.accepted_unverified``.
    limits
        Size limits of the archive.

    Returns
    -------
    ImportResult

    Raises
    ------
    ArchiveRefused
        The bundle failed a check; nothing was written.
    RejectedFile
        The model file failed the trust inspection; it was quarantined.
    """

    if accept_unverified and not (reason and reason.strip()):
        raise InvalidInput("accepting an unverified bundle needs a reason (--reason)")
    trusted = {s.key_id: (s.name, s.public_key) for s in _keys.trusted_signers(registry)}
    progress(0.0, "verifying the bundle")
    try:
        b = verify_bundle(
            path, trusted, accept_unverified=accept_unverified, limits=limits, cancel=cancel
        )
    except ArchiveRefused as e:
        _refused(registry, path, str(e))
        raise
    ver = b.version
    target = name or ver.get("name")
    validate_name(str(target))
    progress(0.4, "storing artifacts")
    # Second pass: copy artifacts into the store; the store hashes what it writes.
    model_fresh = False
    with zipfile.ZipFile(b.path) as zf:
        for sha, size in b.artifacts.items():
            check(cancel)
            if registry.artifacts.has(sha):
                continue
            got = _store_entry(registry, zf, f"artifacts/{sha}", b.limits)
            if got != (sha, size):
                msg = f"{b.path.name} changed while it was being imported"
                _refused(registry, b.path, msg)
                raise ArchiveRefused(msg)
            model_fresh = model_fresh or sha == ver["sha256"]
        audit_sha, _ = registry.artifacts.put_bytes(_json(b.audit))
    provenance = {
        "bundle_sha256": b.sha256,
        "bundle_file": b.path.name,
        "source_ref": b.manifest.get("ref"),
        "exported_at": b.manifest.get("created_at"),
        "exported_by": b.manifest.get("created_by"),
        "exported_with": b.manifest.get("modelward_version"),
        "signed_by": b.signed_by,
        "signer_name": b.signer_name,
        "accepted_unverified": b.unverified,
        "audit_sha256": audit_sha,
        "imported_at": utcnow(),
    }
    lineage = dict(ver.get("lineage") or {})
    if "provenance" in lineage:
        provenance["previous"] = lineage["provenance"]
    lineage["provenance"] = provenance
    progress(0.6, "inspecting the model file")
    # The one door: the model's stored bytes are checked in the sandbox, and the
    # version (or the refusal, quarantined) is recorded with one audit event.
    res = accept_model_file(
        registry,
        Stored(str(ver["sha256"]), int(ver["size"]), fresh=model_fresh),
        name=str(target),
        source=str(b.path),
        declared={
            "estimator_class": ver.get("estimator_class"),
            "params": ver.get("params"),
            "signature": ver.get("signature"),
            "status": ver.get("status") or "ok",
        },
        lineage=lineage,
        metrics=ver.get("metrics"),
        tags=ver.get("tags"),
        task=ver.get("task"),
        description=ver.get("description"),
    )
    if res.refused:
        raise RejectedFile(res.reason or "refused", path=str(b.path))
    progress(0.8, "registering the evidence")
    assert res.version is not None
    v = res.version
    with registry.session():
        n_val, has_profile = _write_evidence(registry, v, b, provenance, audit_sha, reason)
    progress(1.0, f"imported {v.ref}")
    return ImportResult(
        ref=v.ref,
        created=res.created,
        sha256=v.sha256,
        bundle_sha256=b.sha256,
        signed_by=b.signed_by,
        signer_name=b.signer_name,
        source_ref=str(b.manifest.get("ref")),
        validations=n_val,
        profile=has_profile,
        accepted_unverified=b.unverified,
    )


def _refused(registry: Registry, path: str | os.PathLike[str], reason: str) -> None:
    """A refused bundle is kept aside with its reason and one ``ingest.rejected`` event."""
    try:
        sha: str | None = _sha256_file(path)
    except OSError:
        sha = None
    quarantine(registry, path, source=str(path), reason=reason, sha256=sha)


def _store_entry(
    registry: Registry, zf: zipfile.ZipFile, name: str, limits: Limits
) -> tuple[str, int]:
    """Copy one entry into the artifact store through a temporary file in its folder."""
    root = registry.artifacts.root
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".bundle-", dir=root)
    try:
        with os.fdopen(fd, "wb") as f:
            hash_entry(zf, name, limits.max_entry_bytes, sink=f)
        return registry.artifacts.put_file(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _write_evidence(
    registry: Registry,
    v: Any,
    b: BundleContents,
    provenance: dict[str, Any],
    audit_sha: str,
    reason: str | None,
) -> tuple[int, bool]:
    """Validations, profile and the import's audit events, in one transaction."""

    with registry.transaction() as tx:
        have = {
            (r[0], r[1])
            for r in tx.q(
                "SELECT data_fingerprint, predictions_sha256 FROM validations WHERE version_id = ?",
                [v.id],
            ).fetchall()
        }
        new_vals = [
            x for x in b.validations if (x["data_fingerprint"], x["predictions_sha256"]) not in have
        ]
        if new_vals:
            run_id = tx.next_id("seq_runs")
            now = utcnow()
            tx.q(
                "INSERT INTO runs (id, kind, status, progress, version_id, params, result, "
                "created_at, started_at, finished_at, created_by) "
                "VALUES (?,?,?,1,?,?,?,?,?,?,?)",
                [
                    run_id,
                    "import",
                    "finished",
                    v.id,
                    json.dumps({"bundle_sha256": b.sha256}),
                    json.dumps({"validations": len(new_vals)}),
                    now,
                    now,
                    now,
                    tx.actor,
                ],
            )
            for x in new_vals:
                tx.q(
                    "INSERT INTO validations VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        tx.next_id("seq_validations"),
                        run_id,
                        v.id,
                        x["data_fingerprint"],
                        x.get("data_source"),
                        int(x["rows"]),
                        x["task"],
                        x["target"],
                        json.dumps(x["metrics"]),
                        json.dumps(x["curves"]),
                        x["predictions_sha256"],
                        x.get("created_at") or now,
                        x.get("created_by") or tx.actor,
                    ],
                )
        has_profile = False
        if b.profile:
            exists = tx.q(
                "SELECT count(*) FROM mon_profiles WHERE version_id = ?", [v.id]
            ).fetchall()
            if not exists[0][0]:
                prof = b.profile
                tx.q(
                    "INSERT INTO mon_profiles VALUES (?,?,?,?,?,?)",
                    [
                        v.id,
                        prof.get("source"),
                        int(prof["n_rows"]),
                        json.dumps(prof["profile"], separators=(",", ":")),
                        prof.get("created_at") or utcnow(),
                        prof.get("created_by") or tx.actor,
                    ],
                )
            has_profile = True
        if b.unverified:
            tx.audit(
                "bundle.accepted_unverified",
                "version",
                v.ref,
                after={"bundle_sha256": b.sha256, "why_unverified": b.unverified},
                reason=(reason or "").strip(),
            )
        tx.audit(
            "bundle.imported",
            "version",
            v.ref,
            after={**provenance, "validations": len(new_vals), "profile": has_profile},
            reason=(reason or "").strip() or None,
        )
    return len(new_vals), has_profile
