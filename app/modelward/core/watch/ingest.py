"""Taking one file from a watched folder, exactly once.

A file is identified by (folder, path, SHA-256): the same bytes at the same
path are taken once, however many events or rescans report them; new bytes at
a known path are a new candidate (a new version or batch), never an overwrite.
Ingestion is idempotent, so a crash between registering and recording the
file only means the next scan finds it again and the registry's own
deduplication returns the existing version.

Links are never followed (they can loop, leave the folder, or point at a file
the user never meant to hand over): each gets a verdict, ``ignored``, with an
``ingest.rejected`` audit event naming where it points, once.
"""

from __future__ import annotations

import errno
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from modelward.core.artifacts.mlflow_folder import MLMODEL, folder_state
from modelward.core.clock import utcnow
from modelward.core.errors import InvalidInput, ModelWardError, RejectedFile
from modelward.core.intake import SEEN, model_name_for
from modelward.core.intake.checks import ModelContext, model_context
from modelward.core.intake.mlflow import accept_model_path
from modelward.core.policies.store import get_policy
from modelward.core.registry import Registry
from modelward.core.registry.refusals import refusals_recorded
from modelward.core.watch.batches import ingest_batch, ingest_batches
from modelward.core.watch.folders import DATA, MODELS, SCORING, WatchedFolder, display_name
from modelward.core.watch.scoring import score_inbox_batch

if TYPE_CHECKING:
    from modelward.core.jobs import JobRunner

# Names that editors, browsers and copy tools use while a file is incomplete.
_TEMP_PATTERNS = re.compile(
    r"(^\.|^~\$|~$|\.(tmp|temp|part|partial|crdownload|download|swp|swx|filepart|aria2|!ut|lock)$"
    r"|^\.~lock\.)",
    re.IGNORECASE,
)
DATA_SUFFIXES = (".csv", ".parquet", ".pq", ".tsv")


def is_temporary(name: str) -> bool:
    """Whether ``name`` looks like an incomplete or scratch file we must ignore."""
    return bool(_TEMP_PATTERNS.search(name))


@dataclass(frozen=True)
class IngestResult:
    """What happened to one file."""

    folder_id: int
    path: str
    sha256: str
    status: str  # registered | duplicate | rejected | ignored | skipped | error
    detail: str
    ref: str | None = None

    @property
    def shown_path(self) -> str:
        return display_name(self.path)


def already_taken(registry: Registry, folder_id: int) -> dict[str, tuple[int, float]]:
    """Path → (size, mtime) of files taken from a folder, for cheap rescans."""
    with registry.read() as cur:
        rows = cur.execute(
            "SELECT path, size, mtime FROM ingested_files WHERE folder_id = ?", [folder_id]
        ).fetchall()
    return {r[0]: (int(r[1]), float(r[2])) for r in rows}


def taken_digests(registry: Registry, files: list[tuple[int, str]]) -> set[tuple[int, str, str]]:
    """``(folder id, path, sha256)`` of the given ``(folder id, path)`` that were taken before.

    One query for a group of files, instead of one per file when each is hashed.
    """
    if not files:
        return set()
    with registry.read() as cur:
        rows = cur.execute(
            "SELECT folder_id, path, sha256 FROM ingested_files "
            "WHERE path IN (SELECT unnest(?::VARCHAR[]))",
            [sorted({path for _, path in files})],
        ).fetchall()
    wanted = set(files)
    return {(int(f), str(p), str(h)) for f, p, h in rows if (int(f), str(p)) in wanted}


@dataclass
class GroupLookups:
    """What the files of one group share, looked up once for the group.

    ``taken``: :func:`taken_digests` of the group's files; ``contexts``: a
    model's checks context (:func:`~modelward.core.intake.checks.model_context`)
    for its data inbox, filled on first use and dropped when a batch's policy
    acted (a retraining may have moved the champion).
    """

    taken: set[tuple[int, str, str]]
    contexts: dict[str, ModelContext] = field(default_factory=dict)
    records: list[tuple[Any, ...]] = field(default_factory=list)
    """Rows of ``ingested_files`` to write with :func:`flush_records`, in the group's transaction."""


_RECORD_COLUMNS = ("folder_id", "path", "sha256", "size", "mtime", "status", "result", "at")


def flush_records(registry: Registry, lookups: GroupLookups) -> None:
    """Write a group's ``ingested_files`` rows as one columnar insert (inside its transaction).

    DuckDB takes one statement over columns about a thousand times faster than
    one ``INSERT`` per row; rows already present (the same bytes at the same
    path) are left alone, as a single insert would.
    """
    rows, lookups.records = lookups.records, []
    if not rows:
        return
    columns: dict[str, Any] = {}
    for k, name in enumerate(_RECORD_COLUMNS):
        values = [r[k] for r in rows]
        if name in ("folder_id", "size"):
            columns[name] = np.asarray(values, dtype=np.int64)
        elif name == "mtime":
            columns[name] = np.asarray(values, dtype=np.float64)
        else:
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            columns[name] = arr
    with registry.transaction() as tx:
        tx.cur.register("_mw_ingested", columns)
        try:
            tx.q(
                "INSERT INTO ingested_files SELECT n.folder_id, n.path, n.sha256, n.size, "
                "n.mtime, n.status, n.result, n.at FROM _mw_ingested n WHERE NOT EXISTS "
                "(SELECT 1 FROM ingested_files i WHERE i.folder_id = n.folder_id "
                "AND i.path = n.path AND i.sha256 = n.sha256)"
            )
        finally:
            tx.cur.unregister("_mw_ingested")


def _record(
    registry: Registry,
    folder: WatchedFolder,
    path: str,
    sha: str,
    st: os.stat_result,
    status: str,
    result: dict[str, Any],
    lookups: GroupLookups | None = None,
) -> None:
    if lookups is not None:  # written with the group's other rows, in its transaction
        lookups.records.append(
            (folder.id, path, sha, st.st_size, st.st_mtime, status, json.dumps(result), utcnow())
        )
        return
    with registry.transaction() as tx:
        # Not INSERT OR IGNORE: DuckDB's conflict path costs 3-5 times a guarded insert.
        tx.q(
            "INSERT INTO ingested_files SELECT ?,?,?,?,?,?,?,? WHERE NOT EXISTS "
            "(SELECT 1 FROM ingested_files WHERE folder_id = ? AND path = ? AND sha256 = ?)",
            [
                *(folder.id, path, sha, st.st_size, st.st_mtime, status),
                *(json.dumps(result), utcnow(), folder.id, path, sha),
            ],
        )


IGNORED = "ignored"


def link_reason(folder: WatchedFolder, p: Path) -> str:
    """Why the link ``p`` in ``folder`` is not taken: where it points, and that links are not followed."""
    try:
        target = os.readlink(p)
    except OSError:
        target = "?"
    shown = display_name(target)
    try:
        resolved = p.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a loop this way
        where = f"a link that loops ({shown})"
    except OSError as e:
        if e.errno == errno.ELOOP:
            where = f"a link that loops ({shown})"
        else:
            where = f"a link to nothing ({shown} does not exist)"
    else:
        root = Path(folder.path).resolve()
        if resolved == root or root in resolved.parents:
            where = f"a link to {shown}"
        else:
            where = f"a link leaving the watched folder (to {shown})"
    return (
        f"{where}: links in watched folders are not followed; "
        "copy or move the file itself into the folder"
    )


def ignore_link(registry: Registry, folder: WatchedFolder, p: Path) -> IngestResult:
    """Give a link in a watched folder its verdict: ignored, audited once, never followed."""
    reason = link_reason(folder, p)
    st = p.lstat()
    try:
        target = os.readlink(p)
    except OSError:
        target = None
    with registry.transaction() as tx:
        tx.q(
            "INSERT OR IGNORE INTO ingested_files VALUES (?,?,?,?,?,?,?,?)",
            [
                folder.id,
                str(p),
                "",
                st.st_size,
                st.st_mtime,
                IGNORED,
                json.dumps({"reason": reason}),
                utcnow(),
            ],
        )
        tx.audit(
            "ingest.rejected",
            "file",
            str(p),
            after={"verdict": IGNORED, "sha256": None, "link_to": target, "folder": folder.path},
            reason=reason,
        )
    return IngestResult(folder.id, str(p), "", IGNORED, reason)


@refusals_recorded()  # refused files are quarantined, with their own event
def ingest_file(
    registry: Registry,
    folder: WatchedFolder,
    path: str | Path,
    *,
    runner: JobRunner | None = None,
    lookups: GroupLookups | None = None,
) -> IngestResult:
    """Take ``path`` (a file or an MLflow model folder) from ``folder``, once.

    The file goes through the intake door: copied once into the store (hashed
    while copying), checked there, one audit event. Never raises for a bad
    file: refusals are quarantined and returned as results, so the watcher
    goes on. ``runner`` runs the jobs a data inbox's policy starts;
    ``lookups`` holds what a group of files shares (default: looked up for
    this file alone).
    """
    p = Path(path)
    target = p
    if p.is_symlink():
        return ignore_link(registry, folder, p)
    if p.is_dir():
        if folder.kind != MODELS or folder_state(p) is None:
            return IngestResult(
                folder.id, str(p), "", "skipped", "not a complete MLflow model folder (yet)"
            )
        target = p / MLMODEL  # its state is the folder's; the door reads the whole folder
    try:
        st = target.stat()
    except OSError as e:
        return IngestResult(folder.id, str(p), "", "error", f"cannot read: {e.strerror or e}")

    def seen(sha: str) -> bool:
        if lookups is not None:
            return (folder.id, str(p), sha) in lookups.taken
        with registry.read() as cur:
            return bool(
                cur.execute(
                    "SELECT 1 FROM ingested_files WHERE folder_id = ? AND path = ? AND sha256 = ?",
                    [folder.id, str(p), sha],
                ).fetchall()
            )

    sha = ""
    try:
        if folder.kind == MODELS:
            res = accept_model_path(
                registry,
                p,
                name=folder.model_name or model_name_for(p),
                source=str(p),
                lineage={"inbox": folder.path, "source": str(p.absolute())},
                seen=seen,
            )
            sha = res.sha256
            if res.status == SEEN:
                return IngestResult(folder.id, str(p), sha, "duplicate", "already taken", None)
            res.raise_if_refused()
            assert res.version is not None
            status = "registered" if res.created else "duplicate"
            ref: str | None = res.version.ref
            detail = f"{ref} ({res.version.format})"
            result: dict[str, Any] = {"ref": ref}
        elif folder.kind == DATA:
            context = None
            if lookups is not None and folder.model_name is not None:
                context = lookups.contexts.get(folder.model_name)
                if context is None:
                    context = model_context(registry, folder.model_name)
                    lookups.contexts[folder.model_name] = context
            batch, detail, result = ingest_batch(
                registry, folder, target, seen=seen, runner=runner, context=context
            )
            if lookups is not None and "policy_run_id" in (result.get("policy") or {}):
                lookups.contexts.pop(str(folder.model_name), None)  # it may have moved the champion
            sha = batch.sha256
            if batch.status == SEEN:
                return IngestResult(folder.id, str(p), sha, "duplicate", "already taken", None)
            batch.raise_if_refused()
            ref = batch.ref
            status = "registered"
        elif folder.kind == SCORING:
            sha, status, detail, result, ref = score_inbox_batch(
                registry, folder, target, seen=seen
            )
            if status == "duplicate":
                return IngestResult(folder.id, str(p), sha, "duplicate", "already taken", None)
        else:  # pragma: no cover - guarded by add_folder
            raise InvalidInput(f"unknown folder kind {folder.kind}")
    except RejectedFile as rej:
        _record(registry, folder, str(p), sha, st, "rejected", {"reason": rej.reason}, lookups)
        return IngestResult(folder.id, str(p), sha, "rejected", rej.reason)
    except ModelWardError as e:
        # A registry that is busy or a disk that is full: not the file's fault.
        # Nothing is recorded, so the next scan tries again.
        return IngestResult(folder.id, str(p), sha, "error", str(e))
    _record(registry, folder, str(p), sha, st, status, result, lookups)
    return IngestResult(folder.id, str(p), sha, status, detail, ref)


def _model_context(
    registry: Registry, folder: WatchedFolder, lookups: GroupLookups
) -> ModelContext:
    assert folder.model_name is not None
    context = lookups.contexts.get(folder.model_name)
    if context is None:
        context = lookups.contexts[folder.model_name] = model_context(registry, folder.model_name)
    return context


@refusals_recorded()
def ingest_data_files(
    registry: Registry,
    folder: WatchedFolder,
    paths: list[Path],
    *,
    lookups: GroupLookups,
    runner: JobRunner | None = None,
) -> list[IngestResult]:
    """Take many plain files of one data inbox at once; one :class:`IngestResult` per path.

    Each file is judged as :func:`ingest_file` judges it (refused ones
    quarantined and audited one by one, nothing recorded from them), but the
    accepted ones are recorded together (:func:`~modelward.core.watch.batches.ingest_batches`):
    one flush of the store and one columnar write for the group's datasets,
    audit events, policy records and taken files. Call it inside
    :meth:`Registry.group` so that all of it is one commit. Errors that are
    not a file's fault are raised (the caller takes the files again one by one).
    """
    assert folder.kind == DATA and folder.model_name is not None
    policy = get_policy(registry, folder.model_name)
    if policy is not None and policy.enabled:
        # A batch's policy may retrain and move the champion: the next batch must be
        # checked against the new one, so each is taken whole before the next.
        return [ingest_file(registry, folder, p, runner=runner, lookups=lookups) for p in paths]
    out: dict[int, IngestResult] = {}
    stats: dict[int, os.stat_result] = {}
    todo: list[int] = []
    for k, p in enumerate(paths):
        try:
            stats[k] = p.stat()
        except OSError as e:
            out[k] = IngestResult(folder.id, str(p), "", "error", f"cannot read: {e.strerror or e}")
            continue
        todo.append(k)
    context = _model_context(registry, folder, lookups)

    def seen(p: Path, sha: str) -> bool:
        return (folder.id, str(p), sha) in lookups.taken

    results = ingest_batches(
        registry, folder, [paths[k] for k in todo], seen=seen, runner=runner, context=context
    )
    policy_acted = False
    for k, (batch, detail, result) in zip(todo, results, strict=True):
        p, st, sha = paths[k], stats[k], batch.sha256
        if batch.status == SEEN:
            out[k] = IngestResult(folder.id, str(p), sha, "duplicate", "already taken", None)
        elif batch.dataset_id is None:  # refused (quarantined and audited already)
            reason = batch.reason or "refused"
            _record(registry, folder, str(p), sha, st, "rejected", {"reason": reason}, lookups)
            out[k] = IngestResult(folder.id, str(p), sha, "rejected", reason)
        else:
            policy_acted |= "policy_run_id" in (result.get("policy") or {})
            _record(registry, folder, str(p), sha, st, "registered", result, lookups)
            out[k] = IngestResult(folder.id, str(p), sha, "registered", detail, batch.ref)
    if policy_acted:
        lookups.contexts.pop(folder.model_name, None)  # it may have moved the champion
    return [out[k] for k in range(len(paths))]
