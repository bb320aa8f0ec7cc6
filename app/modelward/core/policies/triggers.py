"""Trigger evaluation: a batch's numbers and a policy in, the triggers that fired out.

Pure functions: every :class:`TriggerHit` carries the value that was
measured and the threshold it crossed, so an action can say why it ran.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from modelward.core.errors import NotFound
from modelward.core.monitoring.performance import higher_is_better

if TYPE_CHECKING:
    from modelward.core.policies.model import Policy
    from modelward.core.registry import Registry

__all__ = [
    "GROUP_GAP",
    "BatchNumbers",
    "TriggerHit",
    "evaluate_triggers",
    "group_gap_hit",
    "numbers_of_batch",
]


@dataclass(frozen=True)
class BatchNumbers:
    """What one monitored batch measured, as the triggers read it."""

    model: str
    batch_id: int | None = None
    batch: str = ""
    version: str = ""
    rows: int = 0
    drift_share: float | None = None
    psi: dict[str, float] = field(default_factory=dict)
    performance_kind: str | None = None  # realized | estimated
    performance: dict[str, float] = field(default_factory=dict)
    reference: dict[str, float] = field(default_factory=dict)  # the champion's own metrics
    groups_column: str | None = None  # the protected attribute the gaps are between
    groups_crossed: dict[str, dict[str, float]] = field(
        default_factory=dict
    )  # gap -> value, threshold

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TriggerHit:
    """One trigger that fired: its name, the measured value and the threshold."""

    trigger: str
    value: float
    threshold: float
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def numbers_of_batch(registry: Registry, batch_id: int) -> BatchNumbers:
    """Read a stored batch check (drift share, per-column PSI, performance) back."""
    with registry.read() as cur:
        rows = cur.execute(
            "SELECT b.name, b.n_rows, b.drift_share, b.report, m.name, v.version, v.id "
            "FROM mon_batches b JOIN versions v ON v.id = b.version_id "
            "JOIN models m ON m.id = v.model_id WHERE b.id = ?",
            [batch_id],
        ).fetchall()
        perf_rows = cur.execute(
            "SELECT kind, metric, value FROM mon_performance WHERE batch_id = ?", [batch_id]
        ).fetchall()
        ref_rows = (
            cur.execute(
                "SELECT key, value FROM version_metrics WHERE version_id = ?", [rows[0][6]]
            ).fetchall()
            if rows
            else []
        )
    if not rows:
        raise NotFound(f"no monitored batch with id {batch_id}")
    name, n_rows, share, report, model, version, _vid = rows[0]
    doc = json.loads(report or "{}")
    psi = {}
    for f in doc.get("features", []):
        v = (f.get("stats") or {}).get("psi")
        if v is not None:
            psi[str(f["name"])] = float(v)
    perf: dict[str, dict[str, float]] = {}
    for kind, metric, value in perf_rows:
        if value is not None:
            perf.setdefault(kind, {})[metric] = float(value)
    kind = "realized" if "realized" in perf else ("estimated" if "estimated" in perf else None)
    groups = doc.get("groups") or {}
    gaps = groups.get("gaps") or {}
    crossed = {
        str(g): {"value": float(gaps[g]["value"]), "threshold": float(gaps[g]["threshold"])}
        for g in groups.get("crossed") or []
        if g in gaps
    }
    return BatchNumbers(
        model=model,
        batch_id=batch_id,
        batch=name,
        version=f"{model}:{version}",
        rows=int(n_rows),
        drift_share=None if share is None else float(share),
        psi=psi,
        performance_kind=kind,
        performance=perf.get(kind, {}) if kind else {},
        reference={k: float(v) for k, v in ref_rows if v is not None},
        groups_column=groups.get("column"),
        groups_crossed=crossed,
    )


GROUP_GAP = "group_gap"  # alerts, never retrains: a retrained model can keep the gap


def group_gap_hit(numbers: BatchNumbers) -> TriggerHit | None:
    """A hit when the batch's gaps between protected groups crossed their thresholds."""
    if not numbers.groups_crossed:
        return None
    name, worst = max(
        numbers.groups_crossed.items(),
        key=lambda kv: abs(kv[1]["value"] - kv[1]["threshold"]),
    )
    what = ", ".join(
        f"{g.replace('_', ' ')} {v['value']:.3f} (threshold {v['threshold']:g})"
        for g, v in numbers.groups_crossed.items()
    )
    return TriggerHit(
        GROUP_GAP,
        worst["value"],
        worst["threshold"],
        f"groups of {numbers.groups_column or 'the protected attribute'} in "
        f"{numbers.batch or 'the batch'} differ past the threshold: {what}",
    )


def evaluate_triggers(
    policy: Policy,
    numbers: BatchNumbers | None,
    *,
    labelled_rows_since: int = 0,
    last_action_at: str | None = None,
    now: _dt.datetime | None = None,
) -> list[TriggerHit]:
    """The triggers of ``policy`` that fire for ``numbers`` and the model's state.

    Parameters
    ----------
    policy
        The policy.
    numbers
        The batch just checked (``None``: no batch, e.g. a scheduled check).
    labelled_rows_since
        Labelled rows that arrived since the policy last acted.
    last_action_at
        When the policy last acted (or was set), ISO 8601 UTC.
    now
        The time to judge the schedule by (default: now).

    Returns
    -------
    list of TriggerHit
        Empty when nothing fires (or the policy is disabled).
    """
    t = policy.triggers
    hits: list[TriggerHit] = []
    if not policy.enabled:
        return hits
    if numbers is not None:
        if t.drift_share_above is not None and numbers.drift_share is not None:
            if numbers.drift_share > t.drift_share_above:
                hits.append(
                    TriggerHit(
                        "drift_share",
                        numbers.drift_share,
                        t.drift_share_above,
                        f"{numbers.drift_share:.0%} of the monitored columns drifted in "
                        f"{numbers.batch or 'the batch'} (above {t.drift_share_above:.0%})",
                    )
                )
        if t.psi_above is not None:
            cols = {
                c: v for c, v in numbers.psi.items() if not t.psi_features or c in t.psi_features
            }
            over = {c: v for c, v in cols.items() if v > t.psi_above}
            if over:
                worst = max(over, key=over.__getitem__)
                hits.append(
                    TriggerHit(
                        "psi",
                        over[worst],
                        t.psi_above,
                        f"PSI of {worst} is {over[worst]:.3f} (above {t.psi_above:g})"
                        + (f"; {len(over) - 1} more column(s) above it" if len(over) > 1 else ""),
                    )
                )
        value = numbers.performance.get(t.metric)
        higher = higher_is_better(t.metric)
        if value is not None and t.performance_below is not None:
            bad = value < t.performance_below if higher else value > t.performance_below
            if bad:
                hits.append(
                    TriggerHit(
                        "performance",
                        value,
                        t.performance_below,
                        f"{numbers.performance_kind} {t.metric} is {value:.4f} "
                        f"({'below' if higher else 'above'} {t.performance_below:g})",
                    )
                )
        ref = numbers.reference.get(t.metric)
        if value is not None and ref is not None and t.performance_drop is not None:
            drop = (ref - value) if higher else (value - ref)
            if drop > t.performance_drop:
                hits.append(
                    TriggerHit(
                        "performance_drop",
                        drop,
                        t.performance_drop,
                        f"{numbers.performance_kind} {t.metric} {value:.4f} is {drop:.4f} worse "
                        f"than the champion's {ref:.4f} (more than {t.performance_drop:g})",
                    )
                )
        gap = group_gap_hit(numbers) if policy.alert_group_gaps else None
        if gap is not None:
            hits.append(gap)
    if t.new_labelled_rows is not None and labelled_rows_since >= t.new_labelled_rows:
        hits.append(
            TriggerHit(
                "new_labelled_rows",
                float(labelled_rows_since),
                float(t.new_labelled_rows),
                f"{labelled_rows_since} new labelled rows arrived (at least {t.new_labelled_rows})",
            )
        )
    if t.every_days is not None and last_action_at:
        now = now or _dt.datetime.now(_dt.UTC)
        last = _dt.datetime.fromisoformat(last_action_at.replace("Z", "+00:00"))
        age = (now - last).total_seconds() / 86400
        if age >= t.every_days:
            hits.append(
                TriggerHit(
                    "schedule",
                    age,
                    float(t.every_days),
                    f"{age:.1f} days since the policy last acted (every {t.every_days:g} days)",
                )
            )
    return hits
