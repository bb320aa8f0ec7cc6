"""Policies in the registry: one per model, every change audited."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from modelward.core.clock import utcnow
from modelward.core.errors import InvalidInput, NotFound
from modelward.core.policies.guard import guard_registry
from modelward.core.policies.model import Policy

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = ["get_policy", "list_policies", "remove_policy", "set_policy"]


def set_policy(registry: Registry, policy: Policy, *, reason: str | None = None) -> Policy:
    """Store ``policy`` for its model (replacing the previous one), audited as ``policy.set``.

    The model must exist. An empty ``owner`` becomes the registry's user.

    Returns
    -------
    Policy
        The policy as stored.
    """

    # A registry that holds policies moves its protected aliases only through the guard.
    guard_registry(registry)
    if not policy.owner.strip():
        policy = policy.replace(owner=registry.actor)
    policy = policy.replace(owner=policy.owner.strip())
    policy.check()
    doc = policy.to_json()
    with registry.transaction() as tx:
        if not tx.q("SELECT 1 FROM models WHERE name = ?", [policy.model]).fetchall():
            raise NotFound(f"no model named {policy.model!r}; register or train it first")
        rows = tx.q(
            "SELECT policy FROM pol_policies WHERE model_name = ?", [policy.model]
        ).fetchall()
        before = json.loads(rows[0][0]) if rows else None
        tx.q(
            "INSERT OR REPLACE INTO pol_policies VALUES (?,?,?,?,?)",
            [policy.model, json.dumps(doc), policy.enabled, utcnow(), tx.actor],
        )
        tx.audit("policy.set", "model", policy.model, before=before, after=doc, reason=reason)
    return policy


def get_policy(registry: Registry, model: str) -> Policy | None:
    """The policy of ``model``, or ``None``."""
    with registry.read() as cur:
        rows = cur.execute(
            "SELECT policy FROM pol_policies WHERE model_name = ?", [model]
        ).fetchall()
    return Policy.from_json(rows[0][0]) if rows else None


def list_policies(registry: Registry) -> list[Policy]:
    """Every stored policy, by model name."""
    with registry.read() as cur:
        rows = cur.execute("SELECT policy FROM pol_policies ORDER BY model_name").fetchall()
    return [Policy.from_json(r[0]) for r in rows]


def remove_policy(registry: Registry, model: str, *, reason: str) -> Policy:
    """Delete the policy of ``model`` (audited as ``policy.removed``); returns it."""
    if not reason or not reason.strip():
        raise InvalidInput("removing a policy needs a reason")
    with registry.transaction() as tx:
        rows = tx.q("SELECT policy FROM pol_policies WHERE model_name = ?", [model]).fetchall()
        if not rows:
            raise NotFound(f"model {model!r} has no policy")
        tx.q("DELETE FROM pol_policies WHERE model_name = ?", [model])
        tx.audit(
            "policy.removed",
            "model",
            model,
            before=json.loads(rows[0][0]),
            after=None,
            reason=reason.strip(),
        )
    return Policy.from_json(rows[0][0])
