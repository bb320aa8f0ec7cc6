"""Maker–checker approval of promotions to protected aliases.

A promotion to a protected alias (by default ``champion``) is first a
*request*: who asked, for which version and alias, why, and until when it is
valid, signed with the requester's personal key (:mod:`modelward.core.identity`).
A different person must then approve it, signed with their own key: the
record they sign names the move, the meaning of the signature ("approved for
production use"), the reason, the time, their key and their OS account, and
carries the request's signature. Only then does the alias move.

"A different person" means a different key the registry trusts
(:mod:`modelward.core.policies.keys`) and, unless the registry explicitly
allows it (a single-user demo), a different OS account. A request made by a
policy run is not signed by a person: the policy's owner (by name) and the
run's OS account may then not approve it. Requests, approvals, rejections,
expiries and supersessions are audit events; ``verify`` re-checks every
signature (:func:`modelward.core.policies.keys.verify_approvals`).

The window's approval dialog is a view over :func:`pending_approvals`,
:func:`approve` and :func:`reject`.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from modelward.core import platform
from modelward.core.errors import InvalidInput, NotFound
from modelward.core.identity import SigningIdentity
from modelward.core.policies.guard import guard_registry
from modelward.core.policies.keys import (
    check_distinct,
    decision_record,
    request_record,
    require_trusted,
)
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
    """The requester's key, or (by default) OS account, tried to approve the request (four-eyes)."""


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
    requested_key: str | None = None
    requested_account: str | None = None
    request_sig: str | None = None
    decided_key: str | None = None
    decided_account: str | None = None
    decision_sig: str | None = None

    @property
    def pending(self) -> bool:
        return self.status == PENDING

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_COLS = (
    "id, model_name, version_id, version_ref, alias, comparison_id, policy_run_id, status, "
    "reason, requested_at, requested_by, requested_os_user, expires_at, decided_at, decided_by, "
    "decided_os_user, meaning, decision_reason, requested_key, requested_account, request_sig, "
    "decided_key, decided_account, decision_sig"
)


def _row(r: Sequence[Any]) -> ApprovalRequest:
    vals = list(r)
    for i in (0, 2):
        vals[i] = int(vals[i])
    for i in (5, 6):
        vals[i] = None if vals[i] is None else int(vals[i])
    return ApprovalRequest(*vals)


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
    signer: SigningIdentity | None = None,
    requested_by: str | None = None,
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
    signer
        The requester's unlocked personal key (:func:`modelward.core.identity.unlock`);
        the registry must trust it. Only a policy run (``policy_run_id``) may
        request without one.
    requested_by
        For a policy run's unsigned request: the policy owner's name.
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
    if signer is not None:
        requested_by = signer.key.name
    elif policy_run_id is None:
        raise InvalidInput(
            "a promotion request must be signed with your personal key "
            "(create one with 'modelward keys init')"
        )
    if not requested_by or not requested_by.strip():
        raise InvalidInput("an approval request needs the requester's name")
    requested_by = " ".join(requested_by.split())
    if not reason or not reason.strip():
        raise InvalidInput("an approval request needs a reason")
    if ttl_hours <= 0:
        raise InvalidInput("an approval request must live for a positive number of hours")
    v = registry.resolve(version_ref)
    t = _now(now)
    expires = _iso(t + _dt.timedelta(hours=ttl_hours))
    account = platform.user_id()
    with registry.transaction() as tx:
        key_id = None
        if signer is not None:
            mine = require_trusted(tx.q, signer, "a promotion request")
            key_id, requested_by = mine.key_id, mine.name  # the name the registry trusts
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
        record = request_record(
            request_id=rid,
            model=v.name,
            version=v.ref,
            alias=alias,
            reason=reason.strip(),
            time=_iso(t),
            expires_at=expires,
            requested_by=requested_by,
            key_id=key_id,
            os_account=account,
        )
        sig = signer.sign(record) if signer is not None else None
        tx.q(
            f"INSERT INTO pol_approvals ({_COLS}) VALUES "
            "(?,?,?,?,?,?,?,?,?,?,?,?,?,NULL,NULL,NULL,NULL,NULL,?,?,?,NULL,NULL,NULL)",
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
                requested_by,
                current_user(),
                expires,
                key_id,
                account,
                sig,
            ],
        )
        tx.audit(
            "approval.requested",
            "alias",
            f"{v.name}@{alias}",
            after={
                "request_id": rid,
                "version": v.ref,
                "requested_by": requested_by,
                "key_id": key_id,
                "os_user": current_user(),
                "os_account": account,
                "signature": sig,
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
    signer: SigningIdentity,
    meaning: str,
    reason: str,
    now: _dt.datetime | None,
) -> ApprovalRequest:
    verb = "approving" if status == APPROVED else "rejecting"
    if not isinstance(signer, SigningIdentity):
        raise InvalidInput(
            f"{verb} needs your personal key, unlocked with its passphrase "
            "(create one with 'modelward keys init')"
        )
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
    who_os, account = current_user(), platform.user_id()
    with registry.transaction() as tx:
        mine = require_trusted(tx.q, signer, f"a decision on request {request_id}")
        if status == APPROVED:
            why = check_distinct(
                tx.q,
                requester_key=req.requested_key,
                requester_name=req.requested_by,
                requester_account=req.requested_account or "",
                approver_key=mine.key_id,
                approver_name=mine.name,
                approver_account=account,
            )
            if why:
                raise SelfApproval(why)
        record = decision_record(
            request_id=request_id,
            model=req.model,
            version=req.version_ref,
            alias=req.alias,
            decision=status,
            meaning=meaning.strip(),
            reason=reason.strip(),
            time=t,
            signed_by=mine.name,
            key_id=mine.key_id,
            os_account=account,
            request_sig=req.request_sig,
        )
        sig = signer.sign(record)
        # Guarded by status: two people deciding at once cannot both win.
        n = tx.q(
            "UPDATE pol_approvals SET status = ?, decided_at = ?, decided_by = ?, "
            "decided_os_user = ?, meaning = ?, decision_reason = ?, decided_key = ?, "
            "decided_account = ?, decision_sig = ? "
            "WHERE id = ? AND status = ? RETURNING id",
            [
                status,
                t,
                mine.name,
                who_os,
                meaning.strip(),
                reason.strip(),
                mine.key_id,
                account,
                sig,
                request_id,
                PENDING,
            ],
        ).fetchall()
        if not n:
            raise InvalidInput(f"approval request {request_id} was decided meanwhile")
        tx.audit(
            f"approval.{status}",
            "alias",
            f"{req.model}@{req.alias}",
            after={
                "request_id": request_id,
                "version": req.version_ref,
                "signed_by": mine.name,
                "key_id": mine.key_id,
                "os_user": who_os,
                "os_account": account,
                "meaning": meaning.strip(),
                "signed_at": t,
                "requested_by": req.requested_by,
                "signature": sig,
            },
            reason=reason.strip(),
        )
    return get_approval(registry, request_id)


def approve(
    registry: Registry,
    request_id: int,
    signer: SigningIdentity,
    meaning: str,
    reason: str,
    *,
    now: _dt.datetime | None = None,
) -> ApprovalRequest:
    """Approve a pending request (signed with the approver's key) and move the alias.

    Parameters
    ----------
    registry
        The registry (its ``actor`` is the audit's *who*).
    request_id
        The request to approve.
    signer
        The approver's unlocked personal key. The registry must trust it; it
        must differ from the requester's key and, unless the registry allows
        it (:func:`modelward.core.policies.keys.allow_same_account`), the
        approver's OS account must differ from the requester's.
    meaning
        What the signature means, e.g. "approved for production use".
    reason
        Why.

    Returns
    -------
    ApprovalRequest
        The decided request.

    Raises
    ------
    SelfApproval
        The approver is the requester (same key, same OS account, or the
        owner of the policy that asked).
    KeyNotTrusted
        The registry does not trust the approver's key.
    InvalidInput
        The request is not pending, or expired.
    """
    req = _decide(
        registry,
        request_id,
        status=APPROVED,
        signer=signer,
        meaning=meaning,
        reason=reason,
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
    signer: SigningIdentity,
    reason: str,
    *,
    meaning: str = "rejected",
    now: _dt.datetime | None = None,
) -> ApprovalRequest:
    """Reject a pending request (signed with the rejecter's key, audited); the alias stays."""
    req = _decide(
        registry,
        request_id,
        status=REJECTED,
        signer=signer,
        meaning=meaning,
        reason=reason,
        now=now,
    )
    after_rejection(registry, req)
    return req
