"""Backup, restore and registry verification.

A backup is a sealed archive (:mod:`modelward.core.evidence.bundles.container`, with a
SHA-256 seal) holding ``registry.duckdb`` as of a checkpoint, every artifact
of the store, and ``backup.json``, the manifest of their hashes. It is taken
while this process holds the registry and no write of ours can run, right
after a ``CHECKPOINT``, so the database file alone is consistent; artifacts
are write-once and stored before anything refers to them, so listing them
afterwards includes everything the snapshot needs. The archive is verified
after it is written (seal, hashes, the audit chain of the copied database,
every referenced artifact present).

Restore verifies the archive completely before it writes anything, sets any
database it replaces aside under ``recovery/`` (never deletes it), and opens
the result to verify it again.

Startup recovery of a damaged write-ahead log is storage work and lives in
:mod:`modelward.core.registry.recovery` (``recovery_message`` is re-exported
here for the faces).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import modelward.core.registry.audit as _audit
from modelward.core import duck, platform
from modelward.core.artifacts.store import ArtifactStore
from modelward.core.clock import utcnow
from modelward.core.domain import AuditReport
from modelward.core.duck import connect as duck_connect
from modelward.core.errors import IntegrityError, InvalidInput, RegistryBusy
from modelward.core.evidence.bundles.bundle import write_archive
from modelward.core.evidence.bundles.container import (
    ArchiveRefused,
    Limits,
    file_digest,
    hash_entry,
    open_checked,
    read_entry,
    read_seal,
)
from modelward.core.evidence.head import sign_head
from modelward.core.paths import DB_NAME, resolve_home
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress, sub_progress
from modelward.core.refs import current_user
from modelward.core.registry import Registry
from modelward.core.registry.journal import JOURNAL_SUFFIX
from modelward.core.registry.recovery import first_line, recovery_message, stamp
from modelward.core.registry.recovery import set_aside as _set_aside
from modelward.core.registry.registry import referenced_digests

if TYPE_CHECKING:
    import duckdb

    from modelward.core.registry import Registry

__all__ = [
    "backup",
    "recovery_message",
    "restore",
    "verify_backup",
    "verify_registry",
]

MANIFEST = "backup.json"
FORMAT = "modelward-backup"
ALLOWED = re.compile(
    r"backup\.json|registry\.duckdb(?:\.journal)?|artifacts/[0-9a-f]{2}/[0-9a-f]{64}"
)
# A DuckDB file of a small registry is mostly empty blocks and deflates 200-300-fold,
# which the bundle limit (200) calls a bomb; entry and total sizes stay capped.
BACKUP_LIMITS = Limits(max_ratio=20_000.0)


# --------------------------------------------------------------------------- backup
def backup(
    registry: Registry,
    dest: str | os.PathLike[str],
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Take a consistent, verified snapshot of the registry and its artifacts.

    Parameters
    ----------
    registry
        The registry to back up (it stays usable; writes wait while the
        database file is copied).
    dest
        The archive to write (replaced atomically).

    Returns
    -------
    dict
        ``path``, ``sha256`` (of the whole file), ``artifacts``, ``bytes``,
        ``audit_events``, ``audit_head``.
    """

    dest = Path(dest)
    if dest.resolve().is_relative_to(registry.home.resolve()):
        raise InvalidInput("write the backup outside the registry folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".mw-backup-", dir=dest.parent) as tmp:
        snap = Path(tmp) / DB_NAME
        progress(0.0, "checkpoint")
        # The write lock keeps this process's writers out while the file is copied;
        # other processes cannot open the file while we hold it.
        with registry._write_lock, registry.session(), registry.read() as cur:
            head = sign_head(registry)  # the signed head travels in the manifest
            cur.execute("CHECKPOINT")
            shutil.copyfile(registry.db_path, snap)
            journal = Path(tmp) / registry.journal.path.name
            if registry.journal.path.exists():
                shutil.copyfile(registry.journal.path, journal)
        report = _check_database(snap)
        entries: dict[str, bytes | Path] = {DB_NAME: snap}
        if journal.exists():
            entries[journal.name] = journal
        root = registry.artifacts.root
        for p in sorted(root.glob("??/*")) if root.is_dir() else []:
            if p.is_file() and re.fullmatch(r"[0-9a-f]{64}", p.name):
                entries[f"artifacts/{p.parent.name}/{p.name}"] = p
        missing = [s for s in report["referenced"] if f"artifacts/{s[:2]}/{s}" not in entries]
        if missing:
            raise ArchiveRefused(
                f"the registry refers to {len(missing)} artifact(s) missing from its store "
                f"(first {missing[0][:12]}…); run 'modelward verify' and fix it before backing up"
            )
        manifest = {
            "format": FORMAT,
            "format_version": 1,
            "created_at": utcnow(),
            "created_by": registry.actor,
            "home": registry.home.name,
            "audit_events": report["audit"]["events"],
            "audit_head": report["audit"]["head_hash"],
            "signed_head": head,
        }
        write_archive(
            dest,
            entries,
            sign=None,
            manifest_name=MANIFEST,
            manifest_extra=manifest,
            progress=sub_progress(progress, 0.05, 0.8),
            cancel=cancel,
        )
    progress(0.8, "verifying the backup")
    checked = verify_backup(dest, progress=sub_progress(progress, 0.8, 1.0), cancel=cancel)
    registry.record_event(
        "registry.backup",
        "registry",
        "backup",
        after={
            "file": dest.name,
            "sha256": checked["sha256"],
            "audit_head": manifest["audit_head"],
        },
    )
    return {
        "path": str(dest),
        "sha256": checked["sha256"],
        "artifacts": len([e for e in entries if e.startswith("artifacts/")]),
        "signed_head": head,
        "bytes": dest.stat().st_size,
        "audit_events": manifest["audit_events"],
        "audit_head": manifest["audit_head"],
    }


def _connect_ro(db: Path) -> duckdb.DuckDBPyConnection:

    return duck_connect(str(db), read_only=True)


def _check_database(db: Path) -> dict[str, Any]:
    """Open a database copy read-only: its audit chain and the artifacts it refers to."""

    try:
        con = _connect_ro(db)
    except duck.Error as e:
        raise ArchiveRefused(f"the database in the backup does not open: {first_line(e)}") from None
    try:
        cur = con.execute(
            "SELECT seq, ts, actor, action, entity_type, entity_id, before, after, reason, "
            "prev_hash, hash, delta FROM audit ORDER BY seq"
        )
        rep = _audit.verify_rows(cur.fetchall())
        refs = {r[0] for r in con.execute("SELECT sha256 FROM versions").fetchall()}
        refs |= {r[0] for r in con.execute("SELECT predictions_sha256 FROM validations").fetchall()}
    except duck.Error as e:
        raise ArchiveRefused(f"the database in the backup is damaged: {first_line(e)}") from None
    finally:
        con.close()
    if not rep.ok:
        raise ArchiveRefused(f"the audit trail in the backup is broken: {rep.problem}")
    return {"audit": rep.to_json(), "referenced": sorted(refs)}


@contextlib.contextmanager
def _checked_archive(
    path: Path, limits: Limits, cancel: CancelToken | None
) -> Iterator[tuple[zipfile.ZipFile, dict[str, Any]]]:
    s = read_seal(path)
    digest = file_digest(path, cancel=lambda: check(cancel))
    if s.kind != "sha256" or s.value != digest:
        raise ArchiveRefused(f"{path.name} was altered or damaged: its bytes do not match its seal")
    with open_checked(path, ALLOWED, limits) as zf:
        names = set(zf.namelist())
        if MANIFEST not in names or DB_NAME not in names:
            raise ArchiveRefused(f"{path.name} is not a ModelWard backup")
        try:
            manifest = json.loads(read_entry(zf, MANIFEST, limits.max_json_bytes))
        except ValueError:
            raise ArchiveRefused(f"the manifest of {path.name} is not valid JSON") from None
        if manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), dict):
            raise ArchiveRefused(f"{path.name} is not a ModelWard backup")
        if set(manifest["files"]) | {MANIFEST} != names:
            raise ArchiveRefused(f"the entries of {path.name} differ from its manifest")
        yield zf, manifest


def verify_backup(
    path: str | os.PathLike[str],
    *,
    limits: Limits | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Check a backup without restoring it: seal, hashes, database, audit chain.

    Raises
    ------
    ArchiveRefused
        With the first problem found.
    """
    p, limits = Path(path), limits or BACKUP_LIMITS
    if not p.is_file():
        raise InvalidInput(f"no such backup file: {p}")
    with (
        _checked_archive(p, limits, cancel) as (zf, manifest),
        tempfile.TemporaryDirectory(prefix=".mw-verify-", dir=p.parent) as tmp,
    ):
        files = manifest["files"]
        n = len(files)
        report: dict[str, Any] = {}
        for i, (name, want) in enumerate(sorted(files.items())):
            check(cancel)
            progress(i / max(n, 1), f"checking {name}")
            if name == DB_NAME:
                with open(Path(tmp) / DB_NAME, "wb") as f:
                    sha, size = hash_entry(zf, name, limits.max_entry_bytes, sink=f)
            elif name == DB_NAME + JOURNAL_SUFFIX:
                sha, size = hash_entry(zf, name, limits.max_entry_bytes)
            else:
                sha, size = hash_entry(zf, name, limits.max_entry_bytes)
                if name.rsplit("/", 1)[1] != sha:
                    raise ArchiveRefused(f"{p.name}: artifact {name!r} is not named by its hash")
            if want != {"sha256": sha, "size": size}:
                raise ArchiveRefused(f"{p.name}: entry {name!r} does not match its manifest hash")
        report = _check_database(Path(tmp) / DB_NAME)
    missing = [s for s in report["referenced"] if f"artifacts/{s[:2]}/{s}" not in files]
    if missing:
        raise ArchiveRefused(f"{p.name} lacks artifact {missing[0][:12]}… that its registry uses")
    progress(1.0, "backup verified")
    return {
        "ok": True,
        "sha256": _sha256(p),
        "created_at": manifest.get("created_at"),
        "audit": report["audit"],
        "artifacts": len([f for f in files if f.startswith("artifacts/")]),
    }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- restore
def restore(
    archive: str | os.PathLike[str],
    home: str | os.PathLike[str] | None,
    *,
    replace: bool = False,
    limits: Limits | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Restore a backup into registry folder ``home``, verified before and after.

    Parameters
    ----------
    archive
        The backup file.
    home
        The registry folder (``None``: the default one).
    replace
        Set an existing ``registry.duckdb`` aside (into ``recovery/``) and
        restore over it. Without it, a folder with a database is refused.

    Returns
    -------
    dict
        ``home``, ``set_aside`` (where the replaced files went, or ``None``),
        and the verification of the restored registry.
    """

    src, limits = Path(archive), limits or BACKUP_LIMITS
    progress(0.0, "verifying the backup")
    checked = verify_backup(
        src, limits=limits, progress=sub_progress(progress, 0.0, 0.4), cancel=cancel
    )
    root = resolve_home(home)
    db = root / DB_NAME
    if db.exists() and not replace:
        raise InvalidInput(
            f"{root} already holds a registry; restore into an empty folder, or pass --replace "
            "to set the current database aside and restore over it"
        )
    if db.exists():
        try:  # nobody else may hold it while we swap it
            duck_connect(str(db)).close()
        except duck.Error as e:
            if "Could not set lock" in str(e) or "Conflicting lock" in str(e):
                raise RegistryBusy(
                    f"the registry {root} is open in another program; close it first"
                ) from None
    root.mkdir(parents=True, exist_ok=True)
    store_root = root / "artifacts"
    store_root.mkdir(exist_ok=True)
    staged = root / f".restore-{stamp()}.duckdb"
    staged_journal = staged.with_name(staged.name + JOURNAL_SUFFIX)
    set_aside = None
    try:
        with _checked_archive(src, limits, cancel) as (zf, manifest):
            files = manifest["files"]
            with open(staged, "wb") as f:
                sha, _ = hash_entry(zf, DB_NAME, limits.max_entry_bytes, sink=f)
                f.flush()
                os.fsync(f.fileno())
            if sha != files[DB_NAME]["sha256"]:
                raise ArchiveRefused(f"{src.name} changed while it was being restored")

            store = ArtifactStore(store_root)
            arts = [n for n in files if n.startswith("artifacts/")]
            for i, name in enumerate(arts):
                check(cancel)
                progress(0.4 + 0.4 * i / max(len(arts), 1), "restoring artifacts")
                want = name.rsplit("/", 1)[1]
                if store.has(want):
                    continue
                fd, tmp = tempfile.mkstemp(prefix=".restore-", dir=store_root)
                try:
                    with os.fdopen(fd, "wb") as f:
                        hash_entry(zf, name, limits.max_entry_bytes, sink=f)
                    got, _ = store.put_file(tmp)
                finally:
                    Path(tmp).unlink(missing_ok=True)
                if got != want:
                    raise ArchiveRefused(f"{src.name} changed while it was being restored")
            jname = DB_NAME + JOURNAL_SUFFIX
            if jname in files:
                with open(staged_journal, "wb") as f:
                    hash_entry(zf, jname, limits.max_entry_bytes, sink=f)
                    f.flush()
                    os.fsync(f.fileno())
        olds = [db, db.with_name(DB_NAME + ".wal"), db.with_name(DB_NAME + JOURNAL_SUFFIX)]
        if any(p.exists() for p in olds):
            set_aside = _set_aside(root, "replaced", olds)
        platform.replace_file(staged, db)
        if staged_journal.exists():
            # the journal that goes with this database (its head is the backup's)
            platform.replace_file(staged_journal, db.with_name(DB_NAME + JOURNAL_SUFFIX))
    finally:
        staged.unlink(missing_ok=True)
        staged_journal.unlink(missing_ok=True)
    progress(0.85, "verifying the restored registry")
    reg = Registry(root, actor=current_user())
    report = verify_registry(reg)
    reg.record_event(
        "registry.restored",
        "registry",
        "restore",
        after={
            "file": src.name,
            "sha256": checked["sha256"],
            "backup_created_at": checked["created_at"],
            "set_aside": set_aside,
        },
    )
    reg.close()
    progress(1.0, "restored")
    return {"home": str(root), "set_aside": set_aside, "verification": report}


# --------------------------------------------------------------------------- verify
ORPHAN_GRACE = 15 * 60.0
"""Seconds an unreferenced artifact is left alone: a process may have stored it and
be about to record the version or dataset that refers to it."""


def _unreferenced(
    registry: Registry, cur: duckdb.DuckDBPyConnection, grace: float
) -> tuple[list[str], list[str]]:
    """``(orphans, recent)``: unreferenced artifacts older than ``grace`` seconds, and younger ones."""
    in_use = referenced_digests(cur)
    now = time.time()
    orphans: list[str] = []
    recent: list[str] = []
    for sha in registry.artifacts.stored_digests():
        if sha in in_use:
            continue
        try:
            age = now - registry.artifacts.path_for(sha).stat().st_mtime
        except OSError:
            continue
        (orphans if age >= grace else recent).append(sha)
    return orphans, recent


def verify_registry(
    registry: Registry,
    *,
    repair: bool = False,
    grace: float = ORPHAN_GRACE,
    progress: ProgressFn = no_progress,
) -> dict[str, Any]:
    """Check a registry whole: the audit chain, every artifact it refers to, and stray artifacts.

    Parameters
    ----------
    registry
        The registry.
    repair
        Remove the unreferenced artifacts (bytes no version, dataset,
        snapshot, validation, report or profile points at: what a crash
        between storing and recording leaves), with one
        ``artifacts.removed`` audit event naming them.
    grace
        Unreferenced artifacts younger than this many seconds are listed as
        ``recent`` and never removed: another process may be about to record them.
    progress
        ``(fraction, status)``.

    Returns
    -------
    dict
        ``ok``, ``audit`` (the chain report), ``artifacts`` (how many were
        hashed), ``problems`` (one sentence each), ``unreferenced`` (digests
        and sizes found, before any repair), ``recent`` (unreferenced but too
        young to judge) and ``removed`` (digests removed by ``repair``).
        Unreferenced artifacts do not make ``ok`` false: they cost disk, not trust.
    """

    # The chain, the state rebuilt from it (every block of the database read),
    # the journal and its signed checkpoints: see Registry.verify_records.
    records = registry.verify_records()
    rep = AuditReport(**records["chain"])
    problems = list(records["problems"])
    problems += _checkpoint_keys(registry, records)
    shas: set[str] = set()
    try:
        with registry.read() as cur:
            shas = {r[0] for r in cur.execute("SELECT sha256 FROM versions").fetchall()}
            shas |= {
                r[0] for r in cur.execute("SELECT predictions_sha256 FROM validations").fetchall()
            }
    except duck.Error as e:  # a damaged block: named by verify_records already
        problems.append(f"the artifact references could not be read: {first_line(e)}")
    # Every artifact is content-addressed: models, data snapshots, reports, profiles.
    stored = set(registry.artifacts.stored_digests())
    for sha in sorted(shas - stored):
        problems.append(f"artifact {sha} is referenced by the registry but missing")
    shas |= stored
    for i, sha in enumerate(sorted(shas & stored)):
        progress(i / max(len(shas), 1) * 0.9, "hashing artifacts")
        try:
            registry.artifacts.verify(sha)
        except IntegrityError as e:
            problems.append(str(e))
    progress(0.9, "looking for unreferenced artifacts")
    removed: list[str] = []
    if repair:
        # Inside one write transaction: no other process can record a
        # reference to an artifact between the search and the removal.
        with registry.transaction() as tx:
            orphans, recent = _unreferenced(registry, tx.cur, grace)
            sizes = _sizes(registry, orphans)
            for sha in orphans:
                if registry.artifacts.remove(sha):
                    removed.append(sha)
            if removed:
                tx.audit(
                    "artifacts.removed",
                    "registry",
                    "artifacts",
                    before={"unreferenced": removed},
                    after={"removed": len(removed), "bytes": sum(sizes[s] for s in removed)},
                    reason="verify --repair: artifacts no record refers to",
                )
    else:
        try:
            with registry.read() as cur:
                orphans, recent = _unreferenced(registry, cur, grace)
        except duck.Error:  # a damaged block: reported above; nothing is removed
            orphans, recent = [], []
        sizes = _sizes(registry, orphans)
    progress(1.0, "verified")
    return {
        "ok": not problems,
        "audit": rep.to_json(),
        "records": records,
        "artifacts": len(shas),
        "problems": problems,
        "unreferenced": [{"sha256": s, "size": sizes[s]} for s in orphans],
        "recent": [{"sha256": s, "size": n} for s, n in _sizes(registry, recent).items()],
        "removed": removed,
    }


def _checkpoint_keys(registry: Registry, records: dict[str, Any]) -> list[str]:
    """A signed checkpoint counts only when signed by one of this registry's keys."""
    from modelward.core.evidence.bundles.keys import list_keys

    last = records["journal"].get("last_checkpoint")
    if not last or "key_id" not in last:
        return []
    try:
        mine = {k.key_id for k in list_keys(registry)}
    except Exception:  # a key folder we cannot read: the signature check stands alone
        return []
    if mine and last["key_id"] not in mine:
        return [
            f"the last signed checkpoint is signed by key {last['key_id']}, not this registry's"
        ]
    return []


def _sizes(registry: Registry, shas: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for sha in shas:
        try:
            out[sha] = registry.artifacts.path_for(sha).stat().st_size
        except OSError:
            out[sha] = 0
    return out
