"""A write transaction and the small SQL helpers every registry module shares."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import modelward.core.registry.audit as _audit
import modelward.core.registry.state as _state
from modelward.core.clock import utcnow
from modelward.core.errors import RegistryError

if TYPE_CHECKING:
    import duckdb

    from modelward.core.registry.connection import RegistryConnection


def _first(result: Any) -> Any:
    """The first row of a result, consuming it (DuckDB 2 refuses new work on a
    connection whose previous result was not fully fetched)."""
    rows = result.fetchall()
    return rows[0] if rows else None


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else {}


def _dumps(value: Any) -> str:
    return json.dumps(value or {}, sort_keys=True, ensure_ascii=False, default=str)


_CATALOGUE = re.compile(r"\b(models|versions|version_metrics|aliases)\b", re.IGNORECASE)
"""Tables whose change makes a resolved version stale."""


class Tx:
    """A write transaction: a cursor and the audit writer that shares it.

    Writes go through :meth:`q`, which records what they change in covered
    tables (:mod:`~modelward.core.registry.state`); the audit events are
    written by :meth:`seal` just before the commit, the last one carrying the
    transaction's state delta inside its hash.
    """

    def __init__(
        self, cur: duckdb.DuckDBPyConnection, actor: str, tail: tuple[int, str] | None = None
    ):
        self.cur = cur
        self.actor = actor
        # The chain's head when the caller knows it (its own last commit); else read once.
        self._tail: tuple[int, str] | None = tail
        self._pending: list[list[Any]] = []
        self._sealed: list[list[Any]] = []
        self._direct = False
        self.changes = _state.Recorder(cur)
        # Inside a group: versions resolved by reference, dropped when the
        # catalogue changes (see TxGroup). ``None`` outside groups.
        self.memo: dict[str, Any] | None = None
        # The model a registration alone writes (VersionsMixin.add_version), and
        # the epoch the commit left (see _Resolved.epoch).
        self.registration: str | None = None
        self.commit_epoch: int | None = None
        # Run right after a successful commit, before the write lock is let go.
        self.after_commit: list[Callable[[], None]] = []
        # Run after the body, before the journal and the COMMIT: work this
        # transaction's rows depend on that ran meanwhile on another thread
        # (the artifact's fsyncs, a type check). One that raises rolls back.
        self.before_commit: list[Callable[[], None]] = []

    def q(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        if self.memo and _CATALOGUE.search(sql) and not sql.lstrip()[:6].upper() == "SELECT":
            self.memo.clear()
        if _writes_audit(sql):
            # A columnar writer continuing the chain itself (bulk): our events first.
            self._write_pending()
            self._direct = True
            res = self.cur.execute(sql, params) if params is not None else self.cur.execute(sql)
            self._tail = None
            if self.changes.deltas:
                self._attach_to_tail(self.changes.deltas)
                self.changes.deltas = []
            return res
        return self.changes.run(sql, params)

    def next_id(self, seq: str) -> int:
        return int(_first(self.q(f"SELECT nextval('{seq}')"))[0])

    def audit(
        self,
        action: str,
        entity_type: str,
        entity_id: str | int,
        *,
        before: Any = None,
        after: Any = None,
        reason: str | None = None,
    ) -> int:
        """Add one audit event to this transaction; returns its ``seq``.

        The row is written by :meth:`seal`, at the commit.
        """
        if self._tail is None:
            self._tail = self._read_tail()
        seq = self._tail[0] + len(self._pending) + 1
        b, a = _audit.canonical_json(before), _audit.canonical_json(after)
        self._pending.append(
            [seq, utcnow(), self.actor, action, entity_type, str(entity_id), b, a, reason]
        )
        return seq

    def _read_tail(self) -> tuple[int, str]:
        # max(seq) then a key lookup: ORDER BY ... LIMIT 1 sorts the whole table.
        row = _first(
            self.cur.execute("SELECT seq, hash FROM audit WHERE seq = (SELECT max(seq) FROM audit)")
        )
        return (int(row[0]), str(row[1])) if row else (0, _audit.GENESIS)

    def _write_pending(self, delta: list[dict[str, Any]] | None = None) -> None:
        """Hash and insert the pending events; ``delta`` goes into the last one."""
        if not self._pending:
            return
        if self._tail is None:
            self._tail = self._read_tail()
        seq, prev = self._tail
        rows = []
        for i, ev in enumerate(self._pending):
            d = _audit.canonical_json(delta) if delta and i == len(self._pending) - 1 else None
            seq = ev[0]
            s_, ts, actor, action, etype, eid, b, a, reason = ev
            h = _audit.event_hash(s_, ts, actor, action, etype, eid, b, a, reason, prev, d)
            rows.append([*ev, prev, h, d])
            prev = h
        self.cur.execute(
            "INSERT INTO audit VALUES " + ",".join(["(?,?,?,?,?,?,?,?,?,?,?,?)"] * len(rows)),
            [x for r in rows for x in r],
        )
        self._pending = []
        self._tail = (seq, prev)
        self._sealed.extend(rows)

    def _attach_to_tail(self, delta: list[dict[str, Any]]) -> None:
        """Put ``delta`` into the newest event (just written by a columnar writer) and rehash it."""
        row = _first(
            self.cur.execute(
                "SELECT seq, ts, actor, action, entity_type, entity_id, before, after, reason, "
                "prev_hash FROM audit WHERE seq = (SELECT max(seq) FROM audit)"
            )
        )
        d = _audit.canonical_json(delta)
        seq, ts, actor, action, etype, eid, b, a, reason, prev = row
        h = _audit.event_hash(seq, ts, actor, action, etype, eid, b, a, reason, prev, d)
        self.cur.execute("UPDATE audit SET delta = ?, hash = ? WHERE seq = ?", [d, h, seq])
        self._tail = (int(seq), h)

    def seal(self) -> list[list[Any]]:
        """Write the pending events (the last carrying the state delta); called before COMMIT.

        Returns
        -------
        list
            The audit rows this transaction wrote through :meth:`audit`
            (for the journal); empty when it wrote none.
        """
        delta = self.changes.deltas
        if delta and not self._pending:
            tables = sorted({d["t"] for d in delta})
            self.audit("state.changed", "registry", ",".join(tables))
        self._write_pending(delta)
        self.changes.deltas = []
        return self._sealed

    @property
    def wrote_audit_directly(self) -> bool:
        """Whether a columnar writer inserted audit rows itself (their rows are not in :meth:`seal`)."""
        return self._direct

    def known_head(self) -> tuple[int, str] | None:
        """The chain's ``(seq, hash)`` after :meth:`seal` when known without a read."""
        return None if self._pending else self._tail

    def head(self) -> tuple[int, str]:
        """The chain's ``(seq, hash)`` as this transaction leaves it."""
        if self._tail is None or self._pending:
            return self._read_tail()
        return self._tail


def _writes_audit(sql: str) -> bool:
    head = sql.lstrip()[:40].upper()
    return head.startswith("INSERT") and " AUDIT" in head


class GroupRolledBack(RegistryError):
    """A group of registrations was rolled back as a whole: nothing of it was recorded.

    Raised when a change inside :meth:`Registry.group` failed (its own
    transaction would have rolled back alone) or when the group's commit
    failed. The caller does the group's items again one by one.
    """


class TxGroup:
    """Many write transactions of one thread committed as one (one commit, one fsync).

    Inside :meth:`Registry.group`, ``registry.transaction()`` on the same
    thread joins the group's transaction and ``registry.read()`` reads through
    it, so every change of the group is seen by the rest of the group and
    none is seen (or durable) outside it before the group commits.
    ``Registry.resolve`` answers repeated references from memory until a
    statement of the group writes to models, versions, their metrics or
    aliases (a burst of batches resolves its model five times per file).
    """

    def __init__(self, tx: Tx):
        self.tx = tx
        self.failed: BaseException | None = None
        self.joined = 0

    @contextlib.contextmanager
    def join(self) -> Iterator[Tx]:
        """One member transaction: a failure marks the whole group for rollback."""
        self.joined += 1
        try:
            yield self.tx
        except BaseException as e:
            # DuckDB has no savepoints: the member's half-done writes cannot be
            # undone alone, so the group must not commit.
            if self.failed is None:
                self.failed = e
            raise


def current_group(local: Any) -> TxGroup | None:
    """The group open on this thread (``local`` is the connection's thread state)."""
    return getattr(local, "group", None)


@contextlib.contextmanager
def open_group(conn: RegistryConnection) -> Iterator[TxGroup]:
    """Body of :meth:`Registry.group`: one write transaction that members join.

    A group nested in a group on the same thread joins the outer one.
    """
    outer = current_group(conn._local)
    if outer is not None:
        yield outer
        return
    with conn.transaction() as tx:
        tx.memo = {}
        group = TxGroup(tx)
        local = conn._local
        local.group = group
        try:
            yield group
        finally:
            local.group = None
        if group.failed is not None:
            # Raising here rolls the shared transaction back.
            raise GroupRolledBack(
                f"a change in a group of {group.joined} failed "
                f"({type(group.failed).__name__}: {group.failed}); nothing of the group was saved"
            )
