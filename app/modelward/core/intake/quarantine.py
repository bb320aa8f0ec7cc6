"""Refused files: kept aside with their reason, recorded once in the audit trail."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from modelward.core.clock import utcnow
from modelward.core.registry import Registry


def quarantine(
    registry: Registry,
    path: str | os.PathLike[str],
    *,
    source: str,
    reason: str,
    sha256: str | None,
    drop_stored: bool = False,
) -> Path:
    """Copy refused bytes to ``quarantine/`` with a reason file; one ``ingest.rejected`` event.

    Parameters
    ----------
    registry
        Whose quarantine folder, table and audit trail.
    path
        The bytes to keep aside: normally the artifact store's copy, the
        bytes that were checked.
    source
        Where they came from (shown and audited).
    reason
        Why they were refused.
    sha256
        Their digest.
    drop_stored
        Remove the artifact store's copy afterwards: the door stored these
        bytes for this check alone (bytes the store already held for another
        purpose are never removed).

    Returns
    -------
    Path
        The quarantined copy (a ``.missing`` marker when the bytes could not be read).
    """
    qdir = registry.quarantine_dir
    qdir.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    stamp = now.replace(":", "").replace("-", "").replace(".", "")
    stem = (sha256 or "unhashed")[:16]
    dest = qdir / f"{stamp}-{stem}.bin"
    try:
        shutil.copyfile(path, dest)
    except OSError:
        dest = qdir / f"{stamp}-{stem}.missing"
        dest.write_text("")
    dest.with_suffix(".reason.txt").write_text(
        f"source: {source}\nsha256: {sha256 or '-'}\nat: {now}\nby: {registry.actor}\n"
        f"reason: {reason}\n",
        encoding="utf-8",
    )
    with registry.transaction() as tx:
        qid = int(tx.q("SELECT coalesce(max(id), 0) + 1 FROM quarantine").fetchall()[0][0])
        tx.q(
            "INSERT INTO quarantine VALUES (?,?,?,?,?,?,?)",
            [qid, sha256, source, str(dest), reason, now, tx.actor],
        )
        tx.audit(
            "ingest.rejected",
            "file",
            source,
            after={"sha256": sha256, "quarantined_to": dest.name},
            reason=reason,
        )
        # Another process may have recorded the same bytes meanwhile: then they stay.
        in_use = bool(
            drop_stored
            and sha256
            and tx.q(
                "SELECT (SELECT count(*) FROM versions WHERE sha256 = $s)"
                " + (SELECT count(*) FROM datasets WHERE fingerprint = $s)",
                {"s": sha256},
            ).fetchall()[0][0]
        )
    if drop_stored and sha256 and not in_use:
        with contextlib.suppress(OSError):
            registry.artifacts.path_for(sha256).unlink()
    return dest
