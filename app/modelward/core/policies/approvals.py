"""Maker–checker approval of promotions to protected aliases.

A promotion to a protected alias (by default ``champion``) is first a
*request*: who asked, for which version and alias, why, and until when it is
valid. A different person must then approve it; the approval is recorded
like an electronic signature: the re-entered name of the approver, the OS user
who was logged in, the meaning of the signature ("approved for production
use"), the reason and the time. Only then does the alias move.

On one workstation "a different person" is checked on the re-entered names
(trimmed, case-insensitive); the OS user is recorded beside them. Requests,
approvals, rejections, expiries and supersessions are audit events.

The window's approval dialog is a view over :func:`pending_approvals`,
:func:`approve` and :func:`reject`.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from modelward.core.errors import InvalidInput, NotFound
from modelward.core.policies.guard import guard_registry
from modelward.core.policies.runs import after_promotion, after_rejection
from modelward.core.policies.store import get_policy
from modelward.core.refs import current_user

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = [
    "ApprovalRequest",
    "SelfApproval",
    "alias_needs_approval",
    "approve",
    "expire_approvals",
    "get_approval",
    "list_approvals",
    "pending_approvals",
    "reject",
    "request_approval",
]

log = logging.getLogger(__name__)

PENDING, APPROVED, REJECTED, EXPIRED, SUPERSEDED = (
    "pending",
    "approved",
    "rejected",
    "expired",
    "superseded",
)


class SelfApproval(InvalidInput):
    """The person who requested a promotion tried to approve it (four-eyes)."""


@dataclass(frozen=True)
class ApprovalRequest:
    """A request to move ``alias`` of ``model`` to ``version_ref``, and its decision."""

    id: int
    model: str
    version_id: int
    version_ref: str
    alias: str
    comparison_id: int | None
    policy_run_id: int | None
    status: str
    reason: str
    requested_at: str
    requested_by: str
    requested_os_user: str
    expires_at: str
    decided_at: str | None = None
    decided_by: str | None = None
    decided_os_user: str | None = None
    meaning: str | None = None
    decision_reason: str | None = None

    @property
    def pending(self) -> bool:
        return self.status == PENDING

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_COLS = (
    "id, model_name, version_id, version_ref, alias, comparison_id, policy_run_id, status, "
    "reason, requested_at, requested_by, requested_os_user, expires_at, decided_at, decided_by, "
    "decided_os_user, meaning, decision_reason"
)


def _row(r: Sequence[Any]) -> ApprovalRequest:
    vals = list(r)
    for i in (0, 2):
        vals[i] = int(vals[i])
    for i in (5, 6):
        vals[i] = None if vals[i] is None else int(vals[i])
    return ApprovalRequest(*vals)


def _same_person(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _iso(t: _dt.datetime) -> str:
    return t.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now(now: _dt.datetime | None) -> _dt.datetime:
    return now if now is not None else _dt.datetime.now(_dt.UTC)


def alias_needs_approval(registry: Registry, model: str, alias: str) -> bool:
    """Whether moving ``alias`` of ``model`` needs a second person (by the model's policy).

    Models without a policy are not protected; see
    :attr:`modelward.core.policies.model.Policy.needs_approval`.
    """

    pol = get_policy(registry, model)
    return pol is not None and pol.four_eyes and alias in pol.protected_aliases


def request_approval(
    registry: Registry,
    version_ref: str,
    *,
    requested_by: str,
    reason: str,
    alias: str = "champion",
    comparison_id: int | None = None,
    policy_run_id: int | None = None,
    ttl_hours: float = 72.0,
    now: _dt.datetime | None = None,
) -> ApprovalRequest:
    """Ask for ``alias`` to be moved to ``version_ref``; a pending older request is superseded.

    Parameters
    ----------
    registry
        The registry.
    version_ref
        The version to promote (``NAME:VERSION``; an alias is resolved now).
    requested_by
        The maker's name, as they sign it (the OS user is recorded beside it).
    reason
        Why the promotion is wanted (the triggers, the gates that passed).
    alias
        The alias to move.
    comparison_id
        The champion/challenger comparison behind it; its gates must allow promotion.
    ttl_hours
        Hours until the request expires.

    Returns
    -------
    ApprovalRequest
    """

    guard_registry(registry)
    if not requested_by or not requested_by.strip():
        raise InvalidInput("an approval request needs the requester's name")
    if not reason or not reason.strip():
        raise InvalidInput("an approval request needs a reason")
    if ttl_hours <= 0:
        raise InvalidInput("an approval request must live for a positive number of hours")
    v = registry.resolve(version_ref)
    t = _now(now)
    expires = _iso(t + _dt.timedelta(hours=ttl_hours))
    with registry.transaction() as tx:
        if comparison_id is not None:
            rows = tx.q(
                "SELECT challenger_version_id, promotion_allowed FROM comparisons WHERE id = ?",
                [comparison_id],
            ).fetchall()
            if not rows:
                raise NotFound(f"no comparison with id {comparison_id}")
            if int(rows[0][0]) != v.id or not rows[0][1]:
                raise InvalidInput(f"comparison {comparison_id} does not allow promoting {v.ref}")
        older = tx.q(
            "SELECT id FROM pol_approvals WHERE model_name = ? AND alias = ? AND status = ?",
            [v.name, alias, PENDING],
        ).fetchall()
        for (oid,) in older:
            tx.q(
                "UPDATE pol_approvals SET status = ?, decided_at = ? WHERE id = ?",
                [SUPERSEDED, _iso(t), oid],
            )
            tx.audit(
                "approval.superseded",
                "alias",
                f"{v.name}@{alias}",
                after={"request_id": int(oid), "by_request_for": v.ref},
            )
        rid = tx.next_id("seq_pol_approvals")
        tx.q(
            f"INSERT INTO pol_approvals ({_COLS}) VALUES "
            "(?,?,?,?,?,?,?,?,?,?,?,?,?,NULL,NULL,NULL,NULL,NULL)",
            [
                rid,
                v.name,
                v.id,
                v.ref,
                alias,
                comparison_id,
                policy_run_id,
                PENDING,
                reason.strip(),
                _iso(t),
                requested_by.strip(),
                current_user(),
                expires,
            ],
        )
        tx.audit(
            "approval.requested",
            "alias",
            f"{v.name}@{alias}",
            after={
                "request_id": rid,
                "version": v.ref,
                "requested_by": requested_by.strip(),
                "os_user": current_user(),
                "comparison_id": comparison_id,
                "policy_run_id": policy_run_id,
                "expires_at": expires,
            },
            reason=reason.strip(),
        )
    return get_approval(registry, rid)


def get_approval(registry: Registry, request_id: int) -> ApprovalRequest:
    with registry.read() as cur:
        rows = cur.execute(
            f"SELECT {_COLS} FROM pol_approvals WHERE id = ?", [request_id]
        ).fetchall()
    if not rows:
        raise NotFound(f"no approval request with id {request_id}")
    return _row(rows[0])


def list_approvals(
    registry: Registry,
    *,
    model: str | None = None,
    status: str | None = None,
    limit: int | None = 100,
) -> list[ApprovalRequest]:
    """Approval requests, newest first."""
    clauses, args = [], []
    if model:
        clauses.append("model_name = ?")
        args.append(model)
    if status:
        clauses.append("status = ?")
        args.append(status)
    sql = f"SELECT {_COLS} FROM pol_approvals"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit is not None else "")
    with registry.read() as cur:
        rows = cur.execute(sql, args).fetchall()
    return [_row(r) for r in rows]


def pending_approvals(
    registry: Registry, *, model: str | None = None, now: _dt.datetime | None = None
) -> list[ApprovalRequest]:
    """Requests still waiting for a decision and not yet expired, oldest first."""
    cutoff = _iso(_now(now))
    return sorted(
        (
            r
            for r in list_approvals(registry, model=model, status=PENDING, limit=None)
            if r.expires_at > cutoff
        ),
        key=lambda r: r.id,
    )


def expire_approvals(registry: Registry, *, now: _dt.datetime | None = None) -> list[int]:
    """Mark pending requests past their expiry as expired (audited); returns their ids."""
    cutoff = _iso(_now(now))
    expired: list[int] = []
    with registry.transaction() as tx:
        rows = tx.q(
            "SELECT id, model_name, alias, version_ref, expires_at FROM pol_approvals "
            "WHERE status = ? AND expires_at <= ?",
            [PENDING, cutoff],
        ).fetchall()
        for rid, model, alias, ref, expires in rows:
            tx.q(
                "UPDATE pol_approvals SET status = ?, decided_at = ? WHERE id = ?",
                [EXPIRED, cutoff, rid],
            )
            tx.audit(
                "approval.expired",
                "alias",
                f"{model}@{alias}",
                after={"request_id": int(rid), "version": ref, "expired_at": expires},
            )
            expired.append(int(rid))
    return expired


def _decide(
    registry: Registry,
    request_id: int,
    *,
    status: str,
    name: str,
    meaning: str,
    reason: str,
    os_user: str | None,
    now: _dt.datetime | None,
) -> ApprovalRequest:
    verb = "approving" if status == APPROVED else "rejecting"
    if not name or not name.strip():
        raise InvalidInput(f"{verb} needs your name, as you sign it")
    if not meaning or not meaning.strip():
        raise InvalidInput(f"{verb} needs the meaning of your signature")
    if not reason or not reason.strip():
        raise InvalidInput(f"{verb} needs a reason")
    req = get_approval(registry, request_id)
    t = _iso(_now(now))
    if req.status == PENDING and req.expires_at <= t:
        expire_approvals(registry, now=now)
        raise InvalidInput(
            f"approval request {request_id} expired at {req.expires_at}; request it again"
        )
    if req.status != PENDING:
        raise InvalidInput(f"approval request {request_id} is already {req.status}")
    if status == APPROVED and _same_person(name, req.requested_by):
        raise SelfApproval(
            f"{name.strip()} requested this promotion and cannot also approve it: "
            "a different person must approve (four-eyes)"
        )
    who_os = os_user or current_user()
    signature = {
        "request_id": request_id,
        "version": req.version_ref,
        "signed_by": name.strip(),
        "os_user": who_os,
        "meaning": meaning.strip(),
        "signed_at": t,
        "requested_by": req.requested_by,
    }
    with registry.transaction() as tx:
        # Guarded by status: two people deciding at once cannot both win.
        n = tx.q(
            "UPDATE pol_approvals SET status = ?, decided_at = ?, decided_by = ?, "
            "decided_os_user = ?, meaning = ?, decision_reason = ? "
            "WHERE id = ? AND status = ? RETURNING id",
            [status, t, name.strip(), who_os, meaning.strip(), reason.strip(), request_id, PENDING],
        ).fetchall()
        if not n:
            raise InvalidInput(f"approval request {request_id} was decided meanwhile")
        tx.audit(
            f"approval.{status}",
            "alias",
            f"{req.model}@{req.alias}",
            after=signature,
            reason=reason.strip(),
        )
    return get_approval(registry, request_id)


def approve(
    registry: Registry,
    request_id: int,
    approver_name: str,
    meaning: str,
    reason: str,
    *,
    os_user: str | None = None,
    now: _dt.datetime | None = None,
) -> ApprovalRequest:
    """Approve a pending request (signed) and move the alias.

    Parameters
    ----------
    registry
        The registry (its ``actor`` is the audit's *who*).
    request_id
        The request to approve.
    approver_name
        The approver's name, re-entered as a signature. It must differ from
        the requester's (trimmed, case-insensitive).
    meaning
        What the signature means, e.g. "approved for production use".
    reason
        Why.
    os_user
        The logged-in OS user (default: the current one).

    Returns
    -------
    ApprovalRequest
        The decided request.

    Raises
    ------
    SelfApproval
        The approver is the requester.
    InvalidInput
        The request is not pending, or expired.
    """
    req = _decide(
        registry,
        request_id,
        status=APPROVED,
        name=approver_name,
        meaning=meaning,
        reason=reason,
        os_user=os_user,
        now=now,
    )
    v = registry.get_version_by_id(req.version_id)
    guard_registry(registry)
    registry.set_alias(
        v.ref,
        req.alias,
        f"approval {req.id} by {req.decided_by} ({req.meaning}): {req.decision_reason}",
        approval_id=req.id,
    )
    after_promotion(registry, v.ref, req.policy_run_id, approval=req)
    return req


def reject(
    registry: Registry,
    request_id: int,
    name: str,
    reason: str,
    *,
    meaning: str = "rejected",
    os_user: str | None = None,
    now: _dt.datetime | None = None,
) -> ApprovalRequest:
    """Reject a pending request (signed, audited); the alias stays where it is."""
    req = _decide(
        registry,
        request_id,
        status=REJECTED,
        name=name,
        meaning=meaning,
        reason=reason,
        os_user=os_user,
        now=now,
    )
    after_rejection(registry, req)
    return req
