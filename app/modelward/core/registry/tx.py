"""A write transaction and the small SQL helpers every registry module shares."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import duckdb

import modelward.core.registry.audit as _audit
from modelward.core.clock import utcnow


def _first(result: Any) -> Any:
    """The first row of a result, consuming it (DuckDB 2 refuses new work on a
    connection whose previous result was not fully fetched)."""
    rows = result.fetchall()
    return rows[0] if rows else None


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else {}


def _dumps(value: Any) -> str:
    return json.dumps(value or {}, sort_keys=True, ensure_ascii=False, default=str)


class Tx:
    """A write transaction: a cursor and the audit writer that shares it."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, actor: str):
        self.cur = cur
        self.actor = actor
        self._tail: tuple[int, str] | None = None

    def q(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        return self.cur.execute(sql, params) if params is not None else self.cur.execute(sql)

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
        """Append one audit event in this transaction; returns its ``seq``."""
        if self._tail is None:
            # max(seq) then a key lookup: ORDER BY ... LIMIT 1 sorts the whole table.
            row = _first(
                self.q("SELECT seq, hash FROM audit WHERE seq = (SELECT max(seq) FROM audit)")
            )
            self._tail = (int(row[0]), str(row[1])) if row else (0, _audit.GENESIS)
        seq, prev = self._tail[0] + 1, self._tail[1]
        ts = utcnow()
        b, a = _audit.canonical_json(before), _audit.canonical_json(after)
        h = _audit.event_hash(
            seq, ts, self.actor, action, entity_type, str(entity_id), b, a, reason, prev
        )
        self.q(
            "INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [seq, ts, self.actor, action, entity_type, str(entity_id), b, a, reason, prev, h],
        )
        self._tail = (seq, h)
        return seq
