"""The four-eyes guard on protected aliases, installed where registries are opened.

Storage checks, inside the transaction of every alias move, whether the
model's policy protects the alias, and refuses the move unless a guard is
installed and returns the approval it consumed (see
:mod:`modelward.core.registry.aliases`). This module is that guard:
:func:`check_alias_move` checks an approval request and consumes it in the
same commit as the move it allows, after re-checking the signatures behind it
(a row set to "approved" by another program, without the approver's key, does
not move anything). :func:`open_registry` opens a registry
with the guard installed; :func:`guard_registry` installs it on one handed in.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from modelward.core.clock import utcnow
from modelward.core.errors import ApprovalRequired
from modelward.core.policies.keys import SIGNED_FROM_META, approval_row, check_approval
from modelward.core.policies.model import Policy
from modelward.core.registry import Registry
from modelward.core.registry.aliases import protection_hint
from modelward.core.registry.tx import Tx


def check_alias_move(
    tx: Tx, model: str, version_id: int, alias: str, approval_id: int | None
) -> dict[str, Any] | None:
    """Refuse an unapproved move of a protected alias; consume the approval of an approved one.

    Returns what the audit event should carry about the approval, or ``None``
    when the alias is not protected.
    """
    rows = tx.q("SELECT policy FROM pol_policies WHERE model_name = ?", [model]).fetchall()
    policy = Policy.from_json(rows[0][0]) if rows else None
    if policy is None or not (policy.four_eyes and alias in policy.protected_aliases):
        return None
    hint = protection_hint(model, alias)
    if approval_id is None:
        raise ApprovalRequired(hint)
    found = tx.q(
        "SELECT status, model_name, alias, version_id, decided_by, applied_at, decided_key "
        "FROM pol_approvals WHERE id = ?",
        [approval_id],
    ).fetchall()
    if not found:
        raise ApprovalRequired(f"approval request {approval_id} does not exist; {hint}")
    status, m, a, vid, decided_by, applied_at, decided_key = found[0]
    if (m, a, int(vid)) != (model, alias, int(version_id)):
        raise ApprovalRequired(f"approval request {approval_id} is for another move; {hint}")
    if status != "approved":
        raise ApprovalRequired(f"approval request {approval_id} is {status}, not approved")
    if applied_at is not None:
        raise ApprovalRequired(f"approval request {approval_id} was already used at {applied_at}")
    signed_from = tx.q("SELECT value FROM meta WHERE key = ?", [SIGNED_FROM_META]).fetchall()
    if int(approval_id) >= int(signed_from[0][0] if signed_from else 1):
        row = approval_row(tx.q, int(approval_id))
        problems = check_approval(tx.q, row) if row is not None else ["it is missing"]
        if problems:
            raise ApprovalRequired(f"approval request {approval_id} does not hold: {problems[0]}")
    tx.q("UPDATE pol_approvals SET applied_at = ? WHERE id = ?", [utcnow(), approval_id])
    return {"approval_id": int(approval_id), "approved_by": decided_by, "approved_key": decided_key}


def guard_registry(registry: Registry) -> Registry:
    """Install the four-eyes guard on ``registry`` (once; again is a no-op) and return it."""
    registry.install_alias_guard(check_alias_move)
    return registry


def open_registry(
    home: str | os.PathLike[str] | None = None,
    *,
    busy_timeout: float | None = None,
    idle_release: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
    actor: str | None = None,
) -> Registry:
    """Open a registry with the four-eyes guard installed: the way every face should open one.

    Parameters are those of :class:`~modelward.core.registry.Registry`.

    Returns
    -------
    Registry
        A registry on which protected aliases move with an approved request.
    """
    return Registry(
        home,
        busy_timeout=busy_timeout,
        idle_release=idle_release,
        on_wait=on_wait,
        actor=actor,
        alias_guard=check_alias_move,
    )
