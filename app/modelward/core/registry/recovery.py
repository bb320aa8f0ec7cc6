"""Startup recovery of the registry's own write-ahead log.

DuckDB refuses the whole database when its write-ahead log is damaged (one
flipped byte is enough). When the registry opens such a file, the log is
moved aside to ``recovery/<time>-wal/`` with a note, the database opens at its
last checkpoint, and a ``registry.recovered`` audit event records what was set
aside; the changes since that checkpoint may be lost, and the user is told so
(:func:`recovery_message`). A damaged main file is never touched: the error
points at ``modelward restore``.

This is storage work (the database's own log), so it lives beside the
connection; backup and restore use :func:`set_aside` from here too.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import duckdb

from modelward.core import platform
from modelward.core.errors import RegistryCorrupt
from modelward.core.registry.tx import Tx

__all__ = [
    "RECOVERY_DIR",
    "first_line",
    "is_corrupt_wal",
    "record_recovery",
    "recovery_message",
    "set_aside",
    "set_aside_wal",
]

RECOVERY_DIR = "recovery"


def stamp() -> str:
    """A compact UTC time for folder and file names (sortable, no separators)."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def first_line(e: BaseException) -> str:
    """The first line of an error's message, or its type's name when it has none."""
    msg = str(e)
    return msg.splitlines()[0] if msg else type(e).__name__


def set_aside(root: Path, why: str, paths: list[Path]) -> str:
    """Move ``paths`` into a new ``recovery/<time>-<why>/`` folder of ``root``.

    Parameters
    ----------
    root
        The registry folder.
    why
        A short word for the folder name (``wal``, ``replaced``).
    paths
        Files to move; missing ones are skipped.

    Returns
    -------
    str
        The folder they were moved into.
    """
    dest = root / RECOVERY_DIR / f"{stamp()}-{why}"
    dest.mkdir(parents=True, exist_ok=True)
    for p in paths:
        if p.exists():
            platform.replace_file(p, dest / p.name)
    return str(dest)


def is_corrupt_wal(error: BaseException) -> bool:
    """Whether DuckDB refused to open because its write-ahead log is damaged."""
    msg = str(error)
    return "replaying WAL" in msg or ("WAL" in msg and "orrupt" in msg)


def set_aside_wal(db_path: Path, error: BaseException) -> dict[str, Any]:
    """Move a damaged write-ahead log into ``recovery/`` with a note; return what was done.

    Raises
    ------
    RegistryCorrupt
        The log DuckDB complains about is not there, or could not be moved.
    """
    wal = db_path.with_name(db_path.name + ".wal")
    if not wal.exists():
        raise RegistryCorrupt(
            f"the registry {db_path} reports a damaged log that is not there: "
            f"{first_line(error)}; restore it with 'modelward restore BACKUP --replace'"
        )
    size = wal.stat().st_size
    try:
        dest = set_aside(db_path.parent, "wal", [wal])
        note = Path(dest) / "README.txt"
        note.write_text(
            "ModelWard set this write-ahead log aside because DuckDB could not replay it:\n"
            f"  {first_line(error)}\n"
            "The registry was opened at its last checkpoint; changes made after it (the\n"
            "ones this log held) are not in the registry. Keep this folder for forensics.\n",
            encoding="utf-8",
        )
    except OSError as e:
        raise RegistryCorrupt(
            f"the registry's log {wal} is damaged and could not be set aside: {e.strerror or e}"
        ) from None
    return {
        "wal": str(Path(dest) / wal.name),
        "bytes": size,
        "error": first_line(error),
    }


def record_recovery(con: duckdb.DuckDBPyConnection, actor: str, info: dict[str, Any]) -> None:
    """Write the ``registry.recovered`` audit event on a freshly opened connection."""
    cur = con.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")
        Tx(cur, actor).audit(
            "registry.recovered",
            "registry",
            "wal",
            after=info,
            reason="the write-ahead log could not be replayed; changes after the last "
            "checkpoint may be lost",
        )
        cur.execute("COMMIT")
    finally:
        cur.close()


def recovery_message(info: dict[str, Any]) -> str:
    """One sentence for the user about a recovery that just happened."""
    return (
        "the registry's write-ahead log was damaged; it was set aside to "
        f"{info['wal']} and the registry was opened at its last checkpoint — changes "
        "made just before it may be lost (recorded in the audit trail)"
    )
