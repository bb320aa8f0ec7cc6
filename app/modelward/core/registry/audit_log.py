"""Reading, verifying and appending to a registry's audit trail.

The hash chain itself (event hashes, verification of a sequence of rows) is
in :mod:`modelward.core.registry.audit`; events are written inside write
transactions by :class:`~modelward.core.registry.tx.Tx`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import modelward.core.registry.audit as _audit
from modelward.core.domain import AuditEvent, AuditReport
from modelward.core.errors import NotFound
from modelward.core.registry.connection import RegistryConnection
from modelward.core.registry.tx import _first


def _event(r: Any) -> AuditEvent:
    """An ``audit`` table row as an :class:`AuditEvent`, ``before``/``after`` parsed."""
    return AuditEvent(
        int(r[0]),
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        json.loads(r[6]) if r[6] else None,
        json.loads(r[7]) if r[7] else None,
        r[8],
        r[9],
        r[10],
    )


class AuditLogMixin(RegistryConnection):
    """The audit trail of a :class:`~modelward.core.registry.Registry`."""

    # ------------------------------------------------------------------ audit
    def audit_events(
        self,
        *,
        limit: int | None = 100,
        offset: int = 0,
        entity_type: str | None = None,
        entity_prefix: str | None = None,
        action: str | None = None,
        actor: str | None = None,
        since: str | None = None,
        until: str | None = None,
        newest_first: bool = True,
    ) -> list[AuditEvent]:
        clauses, args = [], []
        if entity_type:
            clauses.append("entity_type = ?")
            args.append(entity_type)
        if entity_prefix:
            clauses.append("starts_with(entity_id, ?)")
            args.append(entity_prefix)
        if action:
            clauses.append("starts_with(action, ?)")
            args.append(action)
        if actor:
            clauses.append("actor = ?")
            args.append(actor)
        if since:
            clauses.append("ts >= ?")
            args.append(since)
        if until:
            clauses.append("ts < ?")
            args.append(until)
        sql = "SELECT * FROM audit"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY seq " + ("DESC" if newest_first else "ASC")
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        with self._read() as cur:
            rows = cur.execute(sql, args).fetchall()
        return [_event(r) for r in rows]

    def audit_event(self, seq: int) -> AuditEvent:
        """The audit event ``seq`` (the window's detail view of one event).

        Raises
        ------
        NotFound
            When no event has that number.
        """
        with self._read() as cur:
            r = cur.execute("SELECT * FROM audit WHERE seq = ?", [int(seq)]).fetchone()
        if r is None:
            raise NotFound(f"no audit event #{seq}")
        return _event(r)

    def audit_head(self) -> int:
        """The newest audit ``seq``: a cheap change counter for views that poll."""
        with self._read() as cur:
            return int(_first(cur.execute("SELECT coalesce(max(seq), 0) FROM audit"))[0])

    def verify_audit(self) -> AuditReport:
        """Walk the whole chain; name the first broken event, if any."""
        with self._read() as cur:
            cur.execute(
                "SELECT seq, ts, actor, action, entity_type, entity_id, before, after, reason, "
                "prev_hash, hash FROM audit ORDER BY seq"
            )

            def rows() -> Iterator[tuple[Any, ...]]:
                while batch := cur.fetchmany(10_000):
                    yield from batch

            return _audit.verify_rows(rows())

    def record_event(
        self,
        action: str,
        entity_type: str,
        entity_id: str,
        *,
        after: Any = None,
        reason: str | None = None,
    ) -> int:
        """Append a stand-alone audit event (e.g. an override decision)."""
        with self.transaction() as tx:
            return tx.audit(action, entity_type, entity_id, after=after, reason=reason)
