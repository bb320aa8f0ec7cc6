"""One audit event by its sequence number (the window's detail view of an event)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from modelward.core.domain import AuditEvent
from modelward.core.errors import NotFound

if TYPE_CHECKING:
    from modelward.core.registry import Registry


def audit_event(registry: Registry, seq: int) -> AuditEvent:
    """The audit event ``seq``, with ``before`` and ``after`` parsed from their JSON.

    Parameters
    ----------
    registry
        The registry to read.
    seq
        The event's sequence number in the chain.

    Returns
    -------
    AuditEvent
        The whole event, reason and hashes included.

    Raises
    ------
    NotFound
        When no event has that number.
    """
    with registry.read() as cur:
        r = cur.execute("SELECT * FROM audit WHERE seq = ?", [int(seq)]).fetchone()
    if r is None:
        raise NotFound(f"no audit event #{seq}")
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
