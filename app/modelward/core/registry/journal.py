"""The journal: an append-only, fsynced record of every committed change, beside the database.

``registry.duckdb.journal`` holds one JSON line per committed transaction that
wrote audit events::

    {"k": "tx", "first": 41, "seq": 42, "hash": "…", "events": [[seq, ts, …, delta], …]}

``events`` are the audit rows exactly as committed (their deltas carry whole
rows), so a transaction lost with a damaged database log can be replayed
(:mod:`modelward.core.registry.recovery`); a columnar batch is journaled by its
head only (``"events": null``) and cannot be replayed, which recovery names.
The line is written and fsynced just before DuckDB's commit (an ``abort`` line
cancels it if the commit fails): a change the caller saw succeed is in the
journal, and no committed change is missing from it, whenever a process dies.

Other lines: ``start`` (the chain head when the journal began, for a registry
older than the journal), ``checkpoint`` (a head signed with the registry's key,
written from :mod:`modelward.core.evidence.head`) and ``recovered`` (a
recovery replayed up to ``seq``; journaled events after it that are not in the
database were lost, and are listed).

:func:`check` compares the database's chain with the journal: a cut tail, a
rewritten chain, a database rolled back to an older copy, an event the journal
never saw, a bad checkpoint signature. Setting ``MODELWARD_JOURNAL=off`` turns
the journal off (benchmarks only: nothing is anchored then);
``MODELWARD_JOURNAL=nosync`` writes it without fsync (a killed process loses
nothing, a power cut may lose the newest lines, which ``verify`` then names).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.core import platform

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = [
    "JOURNAL_SUFFIX",
    "LOSS_SUFFIX",
    "Journal",
    "JournalState",
    "check",
    "head_message",
]

JOURNAL_SUFFIX = ".journal"
LOSS_SUFFIX = ".loss"


def enabled() -> bool:
    """Whether the journal is on (``MODELWARD_JOURNAL=off`` turns it off, for benchmarks)."""
    return os.environ.get("MODELWARD_JOURNAL", "on").lower() not in ("off", "0", "no")


def head_message(seq: int, head_hash: str) -> bytes:
    """The bytes a signed checkpoint signs."""
    return f"modelward-registry-head\n{seq}\n{head_hash}\n".encode()


@dataclass
class JournalState:
    """A journal read whole: its effective transactions and everything else it says."""

    exists: bool
    entries: list[dict[str, Any]] = field(default_factory=list)
    """``tx`` records still in force (those a recovery superseded are left out), in order."""
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    recoveries: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[int] = field(default_factory=list)
    """Line numbers (1-based) that are not a readable record."""
    start: dict[str, Any] | None = None

    @property
    def head(self) -> int:
        return (
            int(self.entries[-1]["seq"]) if self.entries else int((self.start or {}).get("seq", 0))
        )


class Journal:
    """The journal file of the database ``db_path`` (see the module docstring)."""

    def __init__(self, db_path: Path):
        self.path = db_path.with_name(db_path.name + JOURNAL_SUFFIX)
        self.loss_path = db_path.with_name(db_path.name + LOSS_SUFFIX)

    def append(self, records: Sequence[dict[str, Any]]) -> None:
        """Append records as lines and fsync (one fsync for all of them)."""
        self.append_async(records).result()

    def append_async(self, records: Sequence[dict[str, Any]]) -> Future[None]:
        """Write the lines now; fsync them on a thread; wait on the result before acknowledging.

        The bytes are in the file (the OS's cache) when this returns, so a killed
        process never loses them; the fsync, which survives a power cut too, runs
        while DuckDB commits (its own fsync), instead of after it.
        """
        # deferred: start-up cost (about 5 ms; a reading process never appends)
        from concurrent.futures import Future

        if not records:
            done: Future[None] = Future()
            done.set_result(None)
            return done
        data = "".join(
            json.dumps(r, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
            for r in records
        ).encode("utf-8")
        new = not self.path.exists()
        fd = os.open(
            self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644
        )
        try:
            os.write(fd, data)
        except BaseException:
            os.close(fd)
            raise

        def sync() -> None:
            try:
                if os.environ.get("MODELWARD_JOURNAL", "").lower() != "nosync":
                    os.fsync(fd)
            finally:
                os.close(fd)
            if new:
                platform.fsync_dir(self.path.parent)

        return platform.background().submit(sync)

    def tx_record(
        self, rows: list[list[Any]], head: tuple[int, str], *, replayable: bool
    ) -> dict[str, Any]:
        """The line for one committed transaction."""
        return {
            "k": "tx",
            "first": int(rows[0][0]) if rows and replayable else None,
            "seq": head[0],
            "hash": head[1],
            "events": rows if replayable else None,
        }

    def last_head(self) -> tuple[int, str] | None:
        """The ``(seq, hash)`` of the newest record, reading only the end of the file."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return None
        if size == 0:
            return None
        chunk = 64 * 1024
        with open(self.path, "rb") as f:
            while True:
                start = max(0, size - chunk)
                f.seek(start)
                data = f.read(size - start)
                lines = data.rstrip(b"\n").split(b"\n")
                if len(lines) > 1 or start == 0:
                    for line in reversed(lines if start == 0 else lines[1:]):
                        try:
                            rec = json.loads(line)
                        except ValueError:
                            continue
                        if "seq" in rec and "hash" in rec:
                            return int(rec["seq"]), str(rec["hash"])
                    if start == 0:
                        return None
                chunk *= 4

    def read(self) -> JournalState:
        """Read the whole journal."""
        if not self.path.exists():
            return JournalState(False)
        st = JournalState(True)
        with open(self.path, "rb") as f:
            for n, raw in enumerate(f, 1):
                try:
                    rec = json.loads(raw)
                    kind = rec["k"]
                except (ValueError, KeyError, TypeError):
                    st.damaged.append(n)
                    continue
                rec["line"] = n
                if kind == "tx":
                    st.entries.append(rec)
                elif kind == "checkpoint":
                    st.checkpoints.append(rec)
                elif kind == "abort":  # a commit that failed after its line was written
                    st.entries = [e for e in st.entries if int(e["seq"]) != int(rec["seq"])]
                elif kind == "recovered":
                    st.recoveries.append(rec)
                    st.entries = [e for e in st.entries if int(e["seq"]) <= int(rec["seq"])]
                elif kind == "start" and st.start is None and not st.entries:
                    st.start = rec
        return st

    # ---------------------------------------------------------------- losses
    def unacknowledged_loss(self) -> dict[str, Any] | None:
        """What a recovery could not replay and nobody has acknowledged yet."""
        try:
            data = json.loads(self.loss_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {"lost": [], "note": f"{self.loss_path.name} is unreadable"}
        return data if isinstance(data, dict) else None

    def write_loss(self, info: dict[str, Any]) -> None:
        tmp = self.loss_path.with_name(self.loss_path.name + ".tmp")
        tmp.write_text(json.dumps(info, indent=1, default=str), encoding="utf-8")
        os.replace(tmp, self.loss_path)


def describe(events: Iterable[Sequence[Any]] | None) -> list[str]:
    """One short phrase per journaled event: ``#12 version.registered credit:2``."""
    return [f"#{e[0]} {e[3]} {e[5]}" for e in events or []]


def verify_signature(rec: dict[str, Any]) -> bool:
    """Whether a checkpoint's signature is good for its own public key."""
    from cryptography.exceptions import InvalidSignature  # deferred: start-up cost
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # deferred: start-up cost
        Ed25519PublicKey,
    )

    try:
        pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(rec["public_key"]))
        pub.verify(bytes.fromhex(rec["signature"]), head_message(int(rec["seq"]), rec["hash"]))
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True


def check(
    journal: JournalState,
    chain: dict[int, str],
    acknowledged: Iterable[int] = (),
) -> list[str]:
    """Compare the database's chain with the journal; one sentence per problem.

    Parameters
    ----------
    journal
        The journal, read.
    chain
        ``seq -> hash`` of every audit event in the database.
    acknowledged
        ``seq`` of the ``registry.loss_acknowledged`` events in the database.
    """
    problems: list[str] = []
    db_head = max(chain) if chain else 0
    if not journal.exists:
        if db_head:
            problems.append(
                "the journal beside the database is missing: the head of the audit chain "
                "is not anchored (it was deleted, or the database was copied without it)"
            )
        return problems
    if journal.damaged:
        problems.append(
            f"the journal has {len(journal.damaged)} unreadable line(s) "
            f"(first: line {journal.damaged[0]})"
        )
    start = journal.start
    if start is not None and int(start["seq"]) and chain.get(int(start["seq"])) != start["hash"]:
        problems.append(
            f"the journal began at event {start['seq']}, whose hash in the database differs: "
            "the chain before the journal was rewritten"
        )
    for e in journal.entries:
        seq = int(e["seq"])
        have = chain.get(seq)
        if have is None:
            lost = describe(e.get("events")) or [f"#{seq}"]
            problems.append(
                f"the database ends at event {db_head} but the journal acknowledged events up "
                f"to {journal.head}: the tail was cut or the database was rolled back to an "
                f"older copy (first missing: {lost[0]}, journal line {e['line']})"
            )
            break
        if have != e["hash"]:
            problems.append(
                f"event {seq} in the database differs from the journal (journal line "
                f"{e['line']}): the chain was rewritten at or before event {seq}"
            )
            break
    if db_head > journal.head and not problems:
        first = journal.head + 1
        problems.append(
            f"events {first}–{db_head} are in the database but not in the journal: written "
            "outside ModelWard (every commit is journaled before it lands)"
        )
    for c in journal.checkpoints:
        seq = int(c.get("seq", 0))
        if not verify_signature(c):
            problems.append(
                f"the signed checkpoint at journal line {c['line']} has a bad signature"
            )
        elif seq in chain and chain[seq] != c["hash"]:
            problems.append(
                f"event {seq} differs from the signed checkpoint at journal line {c['line']} "
                f"(key {c.get('key_id')}): the chain was rewritten"
            )
        elif seq > db_head:
            problems.append(
                f"the signed checkpoint at journal line {c['line']} names event {seq}, beyond "
                f"the database's last event {db_head}: the database was rolled back or cut"
            )
    acks = sorted(acknowledged)
    for r in journal.recoveries:
        if r.get("lost") and not any(a > int(r["seq"]) for a in acks):
            problems.append(
                "changes acknowledged before a recovery were LOST and nobody has acknowledged "
                f"it: {', '.join(_lost_names(r['lost']))} — see `modelward verify "
                "--acknowledge-loss`"
            )
    return problems


def _lost_names(lost: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for item in lost:
        out.extend(item.get("events") or [f"events up to #{item.get('seq')}"])
    return out[:10] + ([f"and {len(out) - 10} more"] if len(out) > 10 else [])
