"""What the alerts, approvals and policies views read and run: plain functions over core (no Qt).

Reads run on the window's reader thread, the rest as jobs (progress, cancel, log).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from modelward.core.clock import display_ts
from modelward.core.errors import ApprovalRequired
from modelward.core.identity import PersonalKey, create_personal_key, unlock
from modelward.core.jobs import JobContext
from modelward.core.policies import (
    Alert,
    ApprovalRequest,
    Policy,
    PolicyRun,
    approve,
    list_alerts,
    list_approvals,
    list_policies,
    list_policy_runs,
    pending_approvals,
    reject,
    request_approval,
    set_policy,
    unread_count,
)
from modelward.core.policies.keys import bootstrap_key, request_key_trust, trusted_keys
from modelward.core.policies.queries import comparison_gates, model_names
from modelward.core.registry import Registry

ALERTS_SHOWN = 300
HISTORY_SHOWN = 200
RUNS_SHOWN = 200


@dataclass(frozen=True)
class PolicySnapshot:
    """Everything the three views show, read in one go off the GUI thread."""

    alerts: tuple[Alert, ...] = ()
    unread: int = 0
    pending: tuple[ApprovalRequest, ...] = ()
    history: tuple[ApprovalRequest, ...] = ()
    policies: tuple[Policy, ...] = ()
    runs: tuple[PolicyRun, ...] = ()
    gates: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # comparison id -> gates
    models: tuple[str, ...] = ()

    def run(self, run_id: int | None) -> PolicyRun | None:
        return next((r for r in self.runs if r.id == run_id), None)


def load_snapshot(registry: Registry) -> PolicySnapshot:
    """Read alerts, approvals, policies and their runs (reader thread)."""
    with registry.session():
        alerts = list_alerts(registry, limit=ALERTS_SHOWN)
        unread = unread_count(registry)
        pending = pending_approvals(registry)
        history = [
            r for r in list_approvals(registry, limit=HISTORY_SHOWN) if r.status != "pending"
        ]
        policies = list_policies(registry)
        runs = list_policy_runs(registry, limit=RUNS_SHOWN)
        gates = comparison_gates(
            registry, (r.comparison_id for r in (*pending, *history) if r.comparison_id)
        )
        models = model_names(registry)
    return PolicySnapshot(
        tuple(alerts),
        unread,
        tuple(pending),
        tuple(history),
        tuple(policies),
        tuple(runs),
        gates,
        tuple(models),
    )


# ---------------------------------------------------------------- formatting (pure)
def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def explain_alert(alert: Alert, run: PolicyRun | None = None) -> str:
    """The alert with its numbers, for a person: triggers with value and threshold, gates, run."""
    lines = [alert.message, ""]
    when = display_ts(alert.created_at)
    lines.append(f"{alert.severity} · {alert.kind} · {when} UTC · raised by {alert.created_by}")
    if alert.acknowledged_at:
        lines.append(
            f"acknowledged {alert.acknowledged_at[:19].replace('T', ' ')} UTC by "
            f"{alert.acknowledged_by}"
        )
    nums = dict(alert.numbers)
    trig = nums.pop("triggers", None) or []
    if trig:
        lines += ["", "Triggers that fired:"]
        for t in trig:
            lines.append(
                f"  • {t.get('trigger')}: measured {_num(t.get('value'))}, "
                f"threshold {_num(t.get('threshold'))} — {t.get('detail', '')}"
            )
    gates = nums.pop("gates", None) or []
    if gates:
        lines += ["", "Gates:"]
        for g in gates:
            state = "passed" if g.get("passed") else "FAILED"
            lines.append(f"  • {g.get('gate')}: {state} ({g.get('detail', '')})")
    rest = {k: v for k, v in nums.items() if v is not None}
    if rest:
        lines += ["", "Numbers:"]
        lines += [f"  {k}: {json.dumps(v, default=str)}" for k, v in rest.items()]
    if run is not None:
        lines += ["", run.explain()]
    elif alert.policy_run_id is not None:
        lines += ["", f"policy run {alert.policy_run_id}"]
    return "\n".join(lines)


def gates_text(gates: list[dict[str, Any]]) -> str:
    if not gates:
        return "no comparison"
    return "; ".join(f"{g.get('gate')} {'passed' if g.get('passed') else 'FAILED'}" for g in gates)


# ---------------------------------------------------------------- jobs
@dataclass(frozen=True)
class ApprovalNeeded:
    """An alias move that four-eyes refused: the core's message and what was asked."""

    ref: str
    alias: str
    reason: str
    message: str


def set_alias_or_ask(
    ctx: JobContext, registry: Registry, ref: str, alias: str, reason: str
) -> str | ApprovalNeeded:
    """Move an alias; a protected one comes back as :class:`ApprovalNeeded` (nothing moved)."""
    ctx.progress(0.1, f"pointing {alias} at {ref}")
    try:
        v = registry.set_alias(ref, alias, reason)
    except ApprovalRequired as e:
        ctx.log(f"not moved: {e}")
        return ApprovalNeeded(ref, alias, reason, str(e))
    ctx.log(f"{v.name}@{alias} -> version {v.version} ({reason})")
    return f"{v.name}@{alias} → v{v.version}"


def request_job(
    ctx: JobContext,
    registry: Registry,
    ref: str,
    alias: str,
    key_id: str,
    passphrase: str,
    reason: str,
    ttl_hours: float,
) -> ApprovalRequest:
    ctx.progress(0.2, f"requesting approval to move {alias} to {ref}")
    signer = unlock(key_id or None, passphrase)
    req = request_approval(
        registry, ref, signer=signer, reason=reason, alias=alias, ttl_hours=ttl_hours
    )
    ctx.log(
        f"request {req.id}: {req.version_ref} to {req.alias}, by {req.requested_by}, "
        f"expires {req.expires_at}"
    )
    return req


def decide_job(
    ctx: JobContext,
    registry: Registry,
    request_id: int,
    approve_it: bool,
    key_id: str,
    passphrase: str,
    meaning: str,
    reason: str,
) -> ApprovalRequest:
    """Approve (moves the alias, profiles the new version) or reject a request, signed."""
    verb = "approving" if approve_it else "rejecting"
    ctx.progress(0.1, f"{verb} request {request_id}")
    signer = unlock(key_id or None, passphrase)
    if approve_it:
        req = approve(registry, request_id, signer, meaning, reason)
    else:
        req = reject(registry, request_id, signer, reason, meaning=meaning)
    ctx.log(
        f"request {req.id} {req.status}: signed by {req.decided_by} (OS user "
        f"{req.decided_os_user}) at {req.decided_at}, meaning {req.meaning!r}: "
        f"{req.decision_reason}"
    )
    return req


def save_policy_job(
    ctx: JobContext, registry: Registry, policy: Policy, reason: str | None
) -> Policy:
    ctx.progress(0.2, f"storing the policy of {policy.model}")
    stored = set_policy(registry, policy, reason=reason)
    ctx.log(f"policy of {stored.model} stored (owner {stored.owner})")
    return stored


def create_key_job(
    ctx: JobContext, registry: Registry, name: str, passphrase: str
) -> tuple[PersonalKey, str]:
    """Create this person's key and ask the registry to trust it (the first key: at once)."""
    ctx.progress(0.2, f"creating the personal key of {name}")
    key = create_personal_key(name, passphrase)
    me = unlock(key, passphrase)
    if trusted_keys(registry):
        request_key_trust(registry, me, reason=f"{name} signs promotions")
        said = (
            f"Key {key.key_id} created; another key holder approves it before it signs here "
            f"(modelward keys trust-approve {key.key_id})"
        )
    else:
        bootstrap_key(registry, me, reason=f"{name}: the first key of this registry")
        said = f"Key {key.key_id} created: the first key this registry trusts"
    ctx.log(said)
    return key, said
