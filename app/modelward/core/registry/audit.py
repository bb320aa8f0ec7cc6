"""The tamper-evident audit trail: an append-only, SHA-256 hash chain.

Each event's hash covers its own fields and the previous event's hash, so
editing, deleting or reordering any row breaks every link after it.

How an auditor checks the chain with their own script (documented in the
README): for each row in ``seq`` order, build the JSON array
``[seq, ts, actor, action, entity_type, entity_id, before, after, reason, prev_hash]``
(``before``/``after`` are the stored JSON texts, ``null`` when absent), serialise it
with ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))``, and compare
``sha256(utf-8 bytes)`` with ``hash``; ``prev_hash`` must equal the previous row's
``hash`` (the first row's is 64 zeros). When the row's ``delta`` (the state change
the event carries, see :mod:`modelward.core.registry.state`) is not null, it is
appended to the array as a twelfth element.

The chain alone proves only that the rows agree with each other: whoever can
write the file can recompute it. The journal beside the database and its
signed checkpoints (:mod:`modelward.core.registry.journal`) anchor the head.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from modelward.core.domain import AuditReport

GENESIS = "0" * 64

# The audit table's columns, in the order the hash covers them (then ``hash``).
COLUMNS = (
    "seq",
    "ts",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "before",
    "after",
    "reason",
    "prev_hash",
    "hash",
    "delta",
)


def canonical_json(value: Any) -> str | None:
    """Stable JSON text for before/after values (``None`` stays ``None``)."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(
    seq: int,
    ts: str,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: str | None,
    after: str | None,
    reason: str | None,
    prev_hash: str,
    delta: str | None = None,
) -> str:
    """The SHA-256 of an event's fields (``delta`` only when there is one)."""
    fields: list[Any] = [
        seq,
        ts,
        actor,
        action,
        entity_type,
        entity_id,
        before,
        after,
        reason,
        prev_hash,
    ]
    if delta is not None:
        fields.append(delta)
    payload = json.dumps(
        fields,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    import hashlib  # deferred: start-up cost (a reading command hashes nothing)

    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def verify_rows(rows: Iterable[tuple[Any, ...]]) -> AuditReport:
    """Walk audit rows in ``seq`` order and name the first broken link.

    Each row is ``(seq, ts, actor, action, entity_type, entity_id, before,
    after, reason, prev_hash, hash[, delta])``.
    """
    prev = GENESIS
    expected_seq = 1
    n = 0
    for row in rows:
        seq, ts, actor, action, etype, eid, before, after, reason, prev_hash, h = row[:11]
        delta = row[11] if len(row) > 11 else None
        if seq != expected_seq:
            return AuditReport(
                False, n, seq, f"event {expected_seq} is missing (found {seq} next)", prev
            )
        if prev_hash != prev:
            return AuditReport(False, n, seq, f"event {seq} does not link to event {seq - 1}", prev)
        if (
            event_hash(seq, ts, actor, action, etype, eid, before, after, reason, prev_hash, delta)
            != h
        ):
            return AuditReport(
                False, n, seq, f"event {seq} ({action} {etype} {eid}) was altered", prev
            )
        prev = h
        expected_seq += 1
        n += 1
    return AuditReport(True, n, None, None, prev)
