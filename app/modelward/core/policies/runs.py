"""Policy runs: the record of each firing, its steps, and what follows a decision.

A *policy run* (``pol_runs``) holds the triggers that fired and every step
taken since, each appended together with its audit event. The consequences of
an approval decision (:func:`after_promotion`, :func:`after_rejection`) live
here, below both the loop (:mod:`~modelward.core.policies.engine`) and the
approvals (:mod:`~modelward.core.policies.approvals`), which both use them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import modelward.core.policies.alerts as _alerts
from modelward.core.clock import utcnow
from modelward.core.compute.data import read_table
from modelward.core.errors import ModelWardError, NotFound
from modelward.core.monitoring.service import get_profile, profile_version
from modelward.core.policies.model import Policy
from modelward.core.policies.store import get_policy
from modelward.core.policies.triggers import BatchNumbers, TriggerHit
from modelward.core.registry import Registry

if TYPE_CHECKING:
    from modelward.core.policies.approvals import ApprovalRequest

__all__ = [
    "PolicyRun",
    "add_step",
    "after_promotion",
    "after_rejection",
    "finish_run",
    "get_policy_run",
    "list_policy_runs",
    "start_run",
]

# Run states
RUNNING = "running"
ALERTED = "alerted"  # the policy only alerts
SKIPPED = "skipped"  # a loop was already under way
FAILED = "failed"
CANCELLED = "cancelled"
GATES_FAILED = "gates-failed"
VALIDATED = "validated"  # the policy does not promote
AWAITING = "awaiting-approval"
PROMOTED = "promoted"
REJECTED = "rejected"
EXPIRED = "expired"


# --------------------------------------------------------------------------- runs
@dataclass(frozen=True)
class PolicyRun:
    """One firing of a policy and everything it did, step by step."""

    id: int
    model: str
    status: str
    triggers: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    error: str | None
    champion_ref: str | None
    challenger_ref: str | None
    comparison_id: int | None
    approval_id: int | None
    started_at: str
    finished_at: str | None
    started_by: str
    job_id: int | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def explain(self) -> str:
        """The run in a few lines: what fired, with which numbers, and what followed."""
        lines = [f"policy run {self.id} for {self.model}: {self.status}"]
        lines += [f"  fired: {t['detail']}" for t in self.triggers]
        lines += [f"  {s['step']}: {s['detail']}" for s in self.steps]
        if self.error:
            lines.append(f"  error: {self.error}")
        return "\n".join(lines)


_RUN_COLS = (
    "id, model_name, status, triggers, steps, error, champion_ref, challenger_ref, "
    "comparison_id, approval_id, started_at, finished_at, started_by"
)


def _run_row(r: Any) -> PolicyRun:
    return PolicyRun(
        int(r[0]),
        r[1],
        r[2],
        json.loads(r[3] or "[]"),
        json.loads(r[4] or "[]"),
        r[5],
        r[6],
        r[7],
        None if r[8] is None else int(r[8]),
        None if r[9] is None else int(r[9]),
        r[10],
        r[11],
        r[12],
    )


def get_policy_run(registry: Registry, run_id: int) -> PolicyRun:
    with registry.read() as cur:
        rows = cur.execute(f"SELECT {_RUN_COLS} FROM pol_runs WHERE id = ?", [run_id]).fetchall()
    if not rows:
        raise NotFound(f"no policy run with id {run_id}")
    return _run_row(rows[0])


def list_policy_runs(
    registry: Registry, *, model: str | None = None, limit: int | None = 50
) -> list[PolicyRun]:
    """Policy runs, newest first."""
    sql = f"SELECT {_RUN_COLS} FROM pol_runs"
    args: list[Any] = []
    if model:
        sql += " WHERE model_name = ?"
        args.append(model)
    sql += " ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit is not None else "")
    with registry.read() as cur:
        return [_run_row(r) for r in cur.execute(sql, args).fetchall()]


def start_run(
    registry: Registry, policy: Policy, hits: list[TriggerHit], numbers: BatchNumbers | None
) -> int:
    trig = [h.to_json() for h in hits]
    with registry.transaction() as tx:
        rid = tx.next_id("seq_pol_runs")
        tx.q(
            f"INSERT INTO pol_runs ({_RUN_COLS}) VALUES "
            "(?,?,?,?,'[]',NULL,NULL,NULL,NULL,NULL,?,NULL,?)",
            [rid, policy.model, RUNNING, json.dumps(trig), utcnow(), tx.actor],
        )
        tx.audit(
            "policy.fired",
            "model",
            policy.model,
            after={
                "policy_run_id": rid,
                "triggers": trig,
                "batch": numbers.to_json() if numbers is not None else None,
            },
            reason="; ".join(h.detail for h in hits),
        )
    return rid


def add_step(
    registry: Registry,
    run_id: int,
    model: str,
    step: str,
    ok: bool,
    detail: str,
    numbers: Mapping[str, Any] | None = None,
    **columns: Any,
) -> None:
    """Append one explained step to the run and to the audit trail, together."""
    entry = {
        "step": step,
        "ok": ok,
        "detail": detail,
        "numbers": json.loads(json.dumps(numbers or {}, default=str)),
        "at": utcnow(),
    }
    with registry.transaction() as tx:
        rows = tx.q("SELECT steps FROM pol_runs WHERE id = ?", [run_id]).fetchall()
        steps = json.loads(rows[0][0]) if rows else []
        steps.append(entry)
        sets, args = ["steps = ?"], [json.dumps(steps)]
        for k, v in columns.items():
            sets.append(f"{k} = ?")
            args.append(v)
        tx.q(f"UPDATE pol_runs SET {', '.join(sets)} WHERE id = ?", [*args, run_id])
        tx.audit(
            f"policy.{step}",
            "model",
            model,
            after={"policy_run_id": run_id, "ok": ok, **entry["numbers"]},
            reason=detail,
        )


def finish_run(registry: Registry, run_id: int, status: str, error: str | None = None) -> None:
    with registry.transaction() as tx:
        tx.q(
            "UPDATE pol_runs SET status = ?, error = coalesce(?, error), finished_at = ? "
            "WHERE id = ?",
            [status, error, utcnow(), run_id],
        )


def after_promotion(
    registry: Registry,
    ref: str,
    policy_run_id: int | None,
    *,
    approval: ApprovalRequest | None = None,
) -> None:
    """After an alias moved: profile the new version for monitoring, close the run, alert.

    The new champion is profiled on its own training data so the next batches
    are checked against it. A failure there is reported, never raised.
    """
    v = registry.resolve(ref)
    alias = approval.alias if approval else None
    policy = get_policy(registry, v.name)
    alias = alias or (policy.alias if policy else "champion")
    note = ""
    lin = v.lineage or {}
    if get_profile(registry, v.id) is None and lin.get("snapshot_sha256") and lin.get("recipe"):
        try:
            df = read_table(registry.artifacts.verify(str(lin["snapshot_sha256"])))
            reference = {str(c): df[c].to_numpy() for c in df.columns}
            profile_version(registry, v.ref, reference, target=str(lin["recipe"]["target"]))
        except ModelWardError as e:
            note = f"; monitoring could not profile it: {e}"
    by = f", approved by {approval.decided_by} ({approval.meaning})" if approval else ""
    detail = f"{v.name}@{alias} now points at {v.ref}{by}{note}"
    if policy_run_id is not None:
        nums: dict[str, Any] = {"version": v.ref, "alias": alias}
        if approval is not None:
            nums.update(request_id=approval.id, approved_by=approval.decided_by)
        add_step(registry, policy_run_id, v.name, "promoted", True, detail, nums)
        finish_run(registry, policy_run_id, PROMOTED)
    _alerts.raise_alert(
        registry,
        v.name,
        "promoted",
        detail,
        severity=_alerts.INFO,
        numbers={"version": v.ref, "alias": alias},
        policy_run_id=policy_run_id,
        command=policy.alert_command if policy else (),
        timeout=policy.alert_timeout if policy else 10.0,
    )


def after_rejection(registry: Registry, req: ApprovalRequest) -> None:
    """Close the policy run of a rejected request and say so."""
    detail = (
        f"promotion of {req.version_ref} to {req.alias} rejected by {req.decided_by}: "
        f"{req.decision_reason}"
    )
    if req.policy_run_id is not None:
        add_step(registry, req.policy_run_id, req.model, "rejected", False, detail)
        finish_run(registry, req.policy_run_id, REJECTED)
    policy = get_policy(registry, req.model)
    _alerts.raise_alert(
        registry,
        req.model,
        "approval-rejected",
        detail,
        severity=_alerts.INFO,
        numbers={"request_id": req.id},
        policy_run_id=req.policy_run_id,
        command=policy.alert_command if policy else (),
    )
