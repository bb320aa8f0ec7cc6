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
import modelward.core.registry.journal as _journal
import modelward.core.registry.recovery as _recovery
import modelward.core.registry.state as _state
from modelward.core import duck
from modelward.core.domain import AuditEvent, AuditReport
from modelward.core.errors import InvalidInput, NotFound
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
                "prev_hash, hash, delta FROM audit ORDER BY seq"
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

    def verify_records(self) -> dict[str, Any]:
        """Check everything the audit trail stands for; name the first problem of each kind.

        - the hash chain (:meth:`verify_audit`);
        - the state: every covered table rebuilt from the events' deltas and
          compared with the tables (table, row, column, event), reading every
          block of them on the way (:func:`~modelward.core.registry.state.verify_state`);
        - the anchor: the chain against the journal beside the database and its
          signed checkpoints (:func:`~modelward.core.registry.journal.check`):
          a cut tail, a rewritten chain, an older copy of the database;
        - losses a recovery named that nobody has acknowledged.

        Returns
        -------
        dict
            ``ok``, ``chain`` (the chain report), ``state`` (rows compared,
            the first difference), ``journal`` (records, checkpoints,
            recoveries, head), ``problems`` (one sentence each).
        """
        problems: list[str] = []
        try:
            chain = self.verify_audit()
        except duck.Error as e:
            chain = AuditReport(False, 0, None, f"the audit table could not be read: {e}", None)
        if not chain.ok:
            problems.append(f"audit trail: {chain.problem}")
        state: dict[str, Any] = {}
        hashes: dict[int, str] = {}
        acks: list[int] = []
        meta: dict[str, str] = {}
        with self._read() as cur:
            try:
                for seq, h, action in cur.execute(
                    "SELECT seq, hash, action FROM audit ORDER BY seq"
                ).fetchall():
                    hashes[int(seq)] = h
                    if action == "registry.loss_acknowledged":
                        acks.append(int(seq))
                deltas = cur.execute(
                    "SELECT seq, delta FROM audit WHERE delta IS NOT NULL ORDER BY seq"
                ).fetchall()
                meta = dict(cur.execute("SELECT key, value FROM meta").fetchall())
                rep = _state.verify_state(cur, deltas)
                state = rep.to_json()
                if not rep.ok:
                    problems.append(f"state: {rep.problem}")
            except duck.Error as e:
                problems.append(
                    f"the database could not be read whole: {_recovery.first_line(e)} — "
                    "restore it from a backup with 'modelward restore BACKUP --replace'"
                )
        jstate = self.journal.read()
        on = _journal.enabled()  # off only for benchmarks: nothing is anchored then
        if on:
            problems += _journal.check(jstate, hashes, acks)
        started = meta.get("journal_started")
        if on and jstate.exists and started is not None:
            begun = int(jstate.start["seq"]) if jstate.start else 0
            if begun != int(started):
                problems.append(
                    f"the journal was restarted at event {begun}, but this registry's journal "
                    f"began at event {started}: the earlier journal is gone"
                )
        loss = self.journal.unacknowledged_loss()
        if loss and not any(p.startswith("changes acknowledged before") for p in problems):
            names = _recovery.lost_names(loss)
            problems.append(
                "changes acknowledged before a recovery were LOST and nobody has acknowledged it: "
                + ", ".join(names[:10])
            )
        return {
            "ok": not problems,
            "chain": chain.to_json(),
            "state": state,
            "journal": {
                "path": str(self.journal.path),
                "enabled": on,
                "exists": jstate.exists,
                "head": jstate.head,
                "records": len(jstate.entries),
                "checkpoints": len(jstate.checkpoints),
                "last_checkpoint": _public(jstate.checkpoints[-1]) if jstate.checkpoints else None,
                "recoveries": [_public(r) for r in jstate.recoveries],
            },
            "problems": problems,
        }

    def check_head(self, seq: int, head_hash: str) -> str | None:
        """Compare the chain with a head kept elsewhere (printed by an earlier verify or report).

        Returns
        -------
        str or None
            ``None`` when event ``seq`` is in the chain with that hash; else
            one sentence naming what happened (rewritten, cut, rolled back).
        """
        with self._read() as cur:
            row = _first(cur.execute("SELECT hash FROM audit WHERE seq = ?", [int(seq)]))
            top = int(_first(cur.execute("SELECT coalesce(max(seq), 0) FROM audit"))[0])
        if row is None:
            return (
                f"the head kept outside names event {seq}, but the chain ends at {top}: "
                "the registry was cut or rolled back (journal and all)"
            )
        if row[0] != head_hash:
            return (
                f"event {seq} differs from the head kept outside ({head_hash[:16]}…): "
                "the chain was rewritten"
            )
        return None

    def acknowledge_loss(self, reason: str) -> dict[str, Any]:
        """Record that a person saw what a recovery could not replay (audited); stop the warnings.

        Raises
        ------
        InvalidInput
            Without a reason, or when no loss waits to be acknowledged.
        """
        if not reason or not reason.strip():
            raise InvalidInput("say why the loss is acknowledged (--reason)")
        jstate = self.journal.read()
        loss = self.journal.unacknowledged_loss()
        pending = [r for r in jstate.recoveries if r.get("lost")]
        if loss is None and not pending:
            raise InvalidInput("no lost changes wait to be acknowledged")
        lost = (loss or {}).get("lost") or [x for r in pending for x in r["lost"]]
        with self.transaction() as tx:
            seq = tx.audit(
                "registry.loss_acknowledged",
                "registry",
                "journal",
                after={"lost": lost},
                reason=reason.strip(),
            )
        if self.journal.loss_path.exists():
            _recovery.set_aside(self.home, "loss", [self.journal.loss_path])
        return {"seq": seq, "lost": lost}


def _public(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k not in ("events",)}
