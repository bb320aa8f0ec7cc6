"""The four-eyes guard on protected aliases, enforced where aliases move.

:meth:`Registry.set_alias` calls :func:`check_alias_move` inside its own
transaction, so every path that moves an alias (CLI, window, API, a policy's
promotion, ``compare --promote``) meets the same rule, and an approval is
consumed in the same commit as the move it allows.
"""

from __future__ import annotations

from typing import Any

from modelward.core.errors import ApprovalRequired
from modelward.core.registry.registry import Tx, utcnow


def check_alias_move(
    tx: Tx, model: str, version_id: int, alias: str, approval_id: int | None
) -> dict[str, Any] | None:
    """Refuse an unapproved move of a protected alias; consume the approval of an approved one.

    Returns what the audit event should carry about the approval, or ``None``
    when the alias is not protected.
    """
    from modelward.core.policies.model import Policy

    rows = tx.q("SELECT policy FROM pol_policies WHERE model_name = ?", [model]).fetchall()
    policy = Policy.from_json(rows[0][0]) if rows else None
    if policy is None or not (policy.four_eyes and alias in policy.protected_aliases):
        return None
    hint = (
        f"{model}@{alias} is protected by four-eyes: request the move "
        f"('modelward approvals request {model}:VERSION --alias {alias} …') and have "
        "a second person approve it"
    )
    if approval_id is None:
        raise ApprovalRequired(hint)
    found = tx.q(
        "SELECT status, model_name, alias, version_id, decided_by, applied_at "
        "FROM pol_approvals WHERE id = ?",
        [approval_id],
    ).fetchall()
    if not found:
        raise ApprovalRequired(f"approval request {approval_id} does not exist; {hint}")
    status, m, a, vid, decided_by, applied_at = found[0]
    if (m, a, int(vid)) != (model, alias, int(version_id)):
        raise ApprovalRequired(f"approval request {approval_id} is for another move; {hint}")
    if status != "approved":
        raise ApprovalRequired(f"approval request {approval_id} is {status}, not approved")
    if applied_at is not None:
        raise ApprovalRequired(f"approval request {approval_id} was already used at {applied_at}")
    tx.q("UPDATE pol_approvals SET applied_at = ? WHERE id = ?", [utcnow(), approval_id])
    return {"approval_id": int(approval_id), "approved_by": decided_by}
