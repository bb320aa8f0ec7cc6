"""Startup recovery of the registry's own write-ahead log, and replay from the journal.

DuckDB refuses the whole database when its write-ahead log is damaged (one
flipped byte is enough). When the registry opens such a file, the log is
moved aside to ``recovery/<time>-wal/`` with a note and the database opens at
its last checkpoint. Then, whenever the database is behind its journal (that
log set aside, a log cut short that DuckDB quietly stopped reading, an older
copy of the file put back), the acknowledged changes are replayed from the
journal (:func:`replay_journal`); what cannot be replayed (a columnar batch
journaled by its digest only, a journal that does not continue this database)
is named in a ``<db>.loss`` file that every command reports until someone
acknowledges it (``modelward verify --acknowledge-loss``, audited). A
``registry.recovered`` audit event records all of it (:func:`recovery_message`
tells the user). A damaged main file is never touched: the error points at
``modelward restore``.

This is storage work (the database's own log), so it lives beside the
connection; backup and restore use :func:`set_aside` from here too.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import modelward.core.registry.audit as _audit
import modelward.core.registry.journal as _journal
from modelward.core import duck, platform
from modelward.core.clock import utcnow
from modelward.core.errors import RegistryCorrupt
from modelward.core.registry.state import replayable, table_layout
from modelward.core.registry.tx import Tx, _first

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "RECOVERY_DIR",
    "first_line",
    "is_corrupt_wal",
    "record_recovery",
    "recovery_message",
    "replay_journal",
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


def record_recovery(tx: Tx, info: dict[str, Any]) -> None:
    """Add the ``registry.recovered`` audit event to ``tx`` (the caller commits it)."""
    if info.get("lost"):
        why = "acknowledged changes could not be replayed and are LOST (named in 'after')"
    elif info.get("replayed"):
        why = "the database was behind its journal; the acknowledged changes were replayed"
    else:
        why = "the write-ahead log could not be replayed; changes after the last checkpoint may be lost"
    tx.audit("registry.recovered", "registry", "wal", after=info, reason=why)


def _apply(con: duckdb.DuckDBPyConnection, events: list[list[Any]]) -> None:
    """Write journaled events and the rows their deltas carry, verbatim."""
    layouts = table_layout(con)
    for ev in events:
        for d in json.loads(ev[11]) if ev[11] else []:
            lay = layouts[d["t"]]
            cols = [lay.columns[i] for i in lay.kept]
            where = " AND ".join(f'"{k}" = ?' for k in lay.key)
            if d["op"] == "put":
                # Delete then insert: INSERT OR REPLACE needs one key, and versions has two.
                kidx = [cols.index(k) for k in lay.key]
                con.execute(f"DELETE FROM {lay.name} WHERE {where}", [d["row"][i] for i in kidx])
                names = ", ".join(f'"{c}"' for c in cols)
                con.execute(
                    f"INSERT INTO {lay.name} ({names}) VALUES ({', '.join('?' * len(cols))})",
                    d["row"],
                )
            else:
                con.execute(f"DELETE FROM {lay.name} WHERE {where}", d["key"])
        con.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", list(ev))


def _catch_up_sequences(con: duckdb.DuckDBPyConnection) -> None:
    """Move each id sequence past the ids replayed rows brought back."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    for name, last in con.execute(
        "SELECT sequence_name, last_value FROM duckdb_sequences()"
    ).fetchall():
        base = name.removeprefix("seq_")
        table = base if base in tables else {"folders": "watched_folders"}.get(base)
        if table is None:
            continue
        top = _first(con.execute(f"SELECT coalesce(max(id), 0) FROM {table}"))[0]
        behind = int(top) - int(last or 0)
        if behind > 0:
            con.execute(f"SELECT max(nextval('{name}')) FROM range(?)", [behind]).fetchall()


def replay_journal(
    con: duckdb.DuckDBPyConnection, journal: _journal.Journal
) -> dict[str, Any] | None:
    """Bring a database that is behind its journal up to date; name what cannot be.

    Returns
    -------
    dict or None
        ``None`` when the database is not behind. Otherwise ``from`` (the
        database's last event), ``replayed`` (events written back), ``lost``
        (journal records that could not be, each with its events named) and
        ``head``. Lost changes are also written to the journal (a
        ``recovered`` record) and to the ``.loss`` file every command reports.
    """
    last = journal.last_head()
    row = _first(
        con.execute("SELECT seq, hash FROM audit WHERE seq = (SELECT max(seq) FROM audit)")
    )
    db_seq, db_hash = (int(row[0]), str(row[1])) if row else (0, _audit.GENESIS)
    if last is None or last[0] <= db_seq:
        return None
    st = journal.read()
    if st.head <= db_seq:  # the newest line was an aborted commit
        return None
    anchors = {int(e["seq"]): e["hash"] for e in st.entries}
    if st.start is not None:
        anchors[int(st.start["seq"])] = st.start["hash"]
    continues = anchors.get(db_seq, db_hash if db_seq == 0 else None) == db_hash
    pending = [e for e in st.entries if int(e["seq"]) > db_seq]
    replayed: list[str] = []
    lost: list[dict[str, Any]] = []
    head = db_seq
    for i, e in enumerate(pending):
        events = e.get("events")
        ok = (
            continues
            and events
            and int(e.get("first") or 0) == head + 1
            and all(replayable(json.loads(ev[11]) if ev[11] else None) for ev in events)
        )
        if ok:
            try:
                con.execute("BEGIN TRANSACTION")
                _apply(con, events or [])
                con.execute("COMMIT")
            except duck.Error:
                with contextlib.suppress(Exception):
                    con.execute("ROLLBACK")
                ok = False
        if not ok:
            for rest in pending[i:]:
                lost.append(
                    {
                        "seq": int(rest["seq"]),
                        "events": _journal.describe(rest.get("events"))
                        or [f"events up to #{rest['seq']} (a columnar batch)"],
                        "why": "the journal does not continue this database"
                        if not continues
                        else "journaled by digest only (a columnar batch)"
                        if not rest.get("events")
                        else "could not be written back",
                    }
                )
            break
        head = int(e["seq"])
        replayed.extend(_journal.describe(events))
    if replayed:
        con.execute("BEGIN TRANSACTION")
        _catch_up_sequences(con)
        con.execute("COMMIT")
    row = _first(con.execute("SELECT hash FROM audit WHERE seq = ?", [head]))
    info: dict[str, Any] = {
        "from": db_seq,
        "head": head,
        "journal_head": last[0],
        "replayed": replayed,
        "lost": lost,
    }
    journal.append(
        [
            {
                "k": "recovered",
                "seq": head,
                "hash": row[0] if row else _audit.GENESIS,
                "ts": utcnow(),
                "replayed": len(replayed),
                "lost": lost,
            }
        ]
    )
    if lost:
        journal.write_loss({"at": utcnow(), "from": db_seq, "head": head, "lost": lost})
    return info


def lost_names(info: dict[str, Any]) -> list[str]:
    """The events a recovery could not bring back, one phrase each."""
    return [name for item in info.get("lost") or [] for name in item.get("events") or []]


def recovery_message(info: dict[str, Any]) -> str:
    """One sentence for the user about a recovery that just happened."""
    parts = []
    if "wal" in info:
        parts.append(
            f"the registry's write-ahead log was damaged; it was set aside to {info['wal']}"
        )
    if info.get("replayed"):
        parts.append(
            f"{len(info['replayed'])} acknowledged change(s) were replayed from the journal"
        )
    if info.get("lost"):
        names = lost_names(info)
        parts.append(
            f"LOST, could not be replayed: {', '.join(names[:8])}"
            + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            + " — acknowledge with 'modelward verify --acknowledge-loss --reason …'"
        )
    elif "wal" in info and not info.get("replayed"):
        parts.append(
            "the registry was opened at its last checkpoint — changes made just before it "
            "may be lost (recorded in the audit trail)"
        )
    return "; ".join(parts)
