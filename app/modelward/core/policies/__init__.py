"""Policies: alerts, retraining and gated promotion with maker–checker approval.

The window and the CLI are thin views over these functions:

* policies: :func:`set_policy`, :func:`get_policy`, :func:`list_policies`, :func:`remove_policy`;
* alerts: :func:`list_alerts`, :func:`unread_count`, :func:`acknowledge_alert`;
* approvals: :func:`pending_approvals`, :func:`request_approval`, :func:`approve`, :func:`reject`;
* the four-eyes guard: :func:`open_registry` opens a registry with it installed,
  :func:`guard_registry` installs it on one handed in (see
  :mod:`modelward.core.registry.aliases`: without it, protected aliases never move);
* the loop: :func:`evaluate_after_batch` (data inbox), :func:`run_due` (timer),
  :func:`list_policy_runs` (what each firing did, and why).
"""

from __future__ import annotations

from modelward.core.policies.alerts import (
    Alert,
    acknowledge_alert,
    acknowledge_all,
    list_alerts,
    raise_alert,
    unread_count,
)
from modelward.core.policies.approvals import (
    ApprovalRequest,
    SelfApproval,
    alias_needs_approval,
    approve,
    expire_approvals,
    get_approval,
    list_approvals,
    pending_approvals,
    reject,
    request_approval,
)
from modelward.core.policies.engine import (
    PolicyRun,
    evaluate_after_batch,
    fire,
    get_policy_run,
    list_policy_runs,
    run_due,
)
from modelward.core.policies.guard import guard_registry, open_registry
from modelward.core.policies.model import Policy, Triggers
from modelward.core.policies.store import get_policy, list_policies, remove_policy, set_policy
from modelward.core.policies.triggers import BatchNumbers, TriggerHit, evaluate_triggers

__all__ = [
    "Alert",
    "ApprovalRequest",
    "BatchNumbers",
    "Policy",
    "PolicyRun",
    "SelfApproval",
    "TriggerHit",
    "Triggers",
    "acknowledge_alert",
    "acknowledge_all",
    "alias_needs_approval",
    "approve",
    "evaluate_after_batch",
    "evaluate_triggers",
    "expire_approvals",
    "fire",
    "guard_registry",
    "get_approval",
    "get_policy",
    "get_policy_run",
    "list_alerts",
    "list_approvals",
    "list_policies",
    "list_policy_runs",
    "open_registry",
    "pending_approvals",
    "raise_alert",
    "reject",
    "remove_policy",
    "request_approval",
    "run_due",
    "set_policy",
    "unread_count",
]
