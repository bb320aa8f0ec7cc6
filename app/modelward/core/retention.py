"""Retention of monitoring data; the audit trail is never purged.

The setting lives in the registry (``meta`` key ``retention.monitoring_days``)
so every program that opens the registry applies the same rule. Applying it
deletes checked batches older than the cutoff with their drift results,
performance points and stored predictions, in one transaction with one
``retention.applied`` audit event that counts what went. Reference profiles,
versions, validations, artifacts and audit events are kept.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from modelward.core.errors import InvalidInput
from modelward.core.registry.predictions import prune_predictions

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = ["apply_retention", "get_retention", "set_retention"]

KEY = "retention.monitoring_days"


def get_retention(registry: Registry) -> int | None:
    """Days of monitoring data to keep, or ``None`` (keep everything, the default)."""
    value = registry.meta().get(KEY)
    return int(value) if value else None


def set_retention(registry: Registry, days: int | None, *, reason: str | None = None) -> None:
    """Keep ``days`` of monitoring data (``None``: keep everything). Audited."""
    if days is not None and days < 1:
        raise InvalidInput("keep at least one day of monitoring data (or 'forever')")
    before = get_retention(registry)
    with registry.transaction() as tx:
        if days is None:
            tx.q("DELETE FROM meta WHERE key = ?", [KEY])
        else:
            tx.q("INSERT OR REPLACE INTO meta VALUES (?, ?)", [KEY, str(int(days))])
        tx.audit(
            "retention.set",
            "registry",
            KEY,
            before={"days": before},
            after={"days": days},
            reason=reason,
        )


def apply_retention(
    registry: Registry, *, days: int | None = None, now: _dt.datetime | None = None
) -> dict[str, Any]:
    """Delete monitoring batches older than the retention period (audit events stay).

    Parameters
    ----------
    days
        Override the stored setting for this run.
    now
        The reference time (tests); default: now, UTC.

    Returns
    -------
    dict
        ``days``, ``cutoff`` and the rows deleted per table (all zero when
        no retention is set).
    """
    days = days if days is not None else get_retention(registry)
    counts = {"mon_batches": 0, "mon_feature_drift": 0, "mon_performance": 0, "mon_predictions": 0}
    if days is None:
        return {"days": None, "cutoff": None, "deleted": counts}
    if days < 1:
        raise InvalidInput("keep at least one day of monitoring data")
    now = now or _dt.datetime.now(_dt.UTC)
    cutoff = (now - _dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")
    with registry.transaction() as tx:
        old = "SELECT id FROM mon_batches WHERE batch_time < ?"
        for table in ("mon_feature_drift", "mon_performance", "mon_predictions"):
            n = tx.q(f"SELECT count(*) FROM {table} WHERE batch_id IN ({old})", [cutoff]).fetchall()
            counts[table] = int(n[0][0])
            tx.q(f"DELETE FROM {table} WHERE batch_id IN ({old})", [cutoff])
        n = tx.q("SELECT count(*) FROM mon_batches WHERE batch_time < ?", [cutoff]).fetchall()
        counts["mon_batches"] = int(n[0][0])
        tx.q("DELETE FROM mon_batches WHERE batch_time < ?", [cutoff])
        counts["pred_log"] = prune_predictions(tx, cutoff)  # the scoring prediction log
        tx.audit(
            "retention.applied",
            "registry",
            KEY,
            after={"days": days, "cutoff": cutoff, "deleted": counts},
        )
    return {"days": days, "cutoff": cutoff, "deleted": counts}
