"""The personal keys a registry trusts to sign promotion requests and approvals.

A registry holds the public half of each trusted key, with the person's name,
their OS account and the key's fingerprint (``trusted_keys``). Adding a key is
itself a four-eyes change: the key's holder asks (:func:`request_key_trust`,
signed with the new key: proof that they hold it), and a holder of another key
the registry already trusts approves (:func:`approve_key_trust`, signed). The
first key of a registry that trusts none yet is added by
:func:`bootstrap_key`, audited as ``key.bootstrap``; after that, bootstrap is
refused.

Requests and decisions are signed as canonical JSON records
(:func:`request_record`, :func:`decision_record`); :func:`verify_approvals`
re-checks every signature behind every request, decision and protected alias
move, and names each problem in one sentence.

By default the approver's OS account must differ from the requester's. A
single-user workspace (a demo) may allow the same account explicitly with
:func:`allow_same_account` (audited).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from modelward.core import platform
from modelward.core.clock import utcnow
from modelward.core.errors import InvalidInput, NotFound
from modelward.core.identity import SigningIdentity, verify_record

if TYPE_CHECKING:
    from modelward.core.registry import Registry
    from modelward.core.registry.tx import Tx

__all__ = [
    "KeyNotTrusted",
    "TrustedKey",
    "allow_same_account",
    "approve_key_trust",
    "bootstrap_key",
    "check_approval",
    "decision_record",
    "get_trusted_key",
    "request_key_trust",
    "request_record",
    "require_trusted",
    "revoke_key",
    "same_account_allowed",
    "trusted_keys",
    "verify_approvals",
]

PENDING, TRUSTED, REVOKED = "pending", "trusted", "revoked"
SAME_ACCOUNT_META = "approvals_same_os_account"
SIGNED_FROM_META = "signed_approvals_from"

Query = Callable[[str, Sequence[Any]], Any]


class KeyNotTrusted(InvalidInput):
    """A personal key the registry does not (or no longer) trust signed something."""


@dataclass(frozen=True)
class TrustedKey:
    """A personal key as the registry knows it."""

    key_id: str
    name: str
    os_user: str
    os_account: str
    public_key: str
    status: str
    reason: str
    requested_at: str
    request_sig: str
    approved_by_key: str | None
    approved_at: str | None
    approval_sig: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def bootstrap(self) -> bool:
        return self.approved_by_key == self.key_id


_KCOLS = (
    "key_id, name, os_user, os_account, public_key, status, reason, requested_at, "
    "request_sig, approved_by_key, approved_at, approval_sig"
)


# ----------------------------------------------------------------------------- records
def trust_request_record(k: TrustedKey) -> dict[str, Any]:
    """What a key's holder signs to ask for the key to be trusted."""
    return {
        "kind": "key.trust_request",
        "key_id": k.key_id,
        "name": k.name,
        "os_user": k.os_user,
        "os_account": k.os_account,
        "public_key": k.public_key,
        "reason": k.reason,
        "time": k.requested_at,
    }


def trust_approval_record(k: TrustedKey, approved_by: str, at: str) -> dict[str, Any]:
    """What the approver (or, at bootstrap, the key itself) signs to trust a key."""
    return {
        "kind": "key.bootstrap" if approved_by == k.key_id else "key.trust_approval",
        "key_id": k.key_id,
        "name": k.name,
        "os_account": k.os_account,
        "public_key": k.public_key,
        "request_sig": k.request_sig,
        "approved_by": approved_by,
        "time": at,
    }


def request_record(
    *,
    request_id: int,
    model: str,
    version: str,
    alias: str,
    reason: str,
    time: str,
    expires_at: str,
    requested_by: str,
    key_id: str | None,
    os_account: str,
) -> dict[str, Any]:
    """The canonical record a requester signs: which move, why, when, by whom."""
    return {
        "kind": "approval.request",
        "request_id": request_id,
        "model": model,
        "version": version,
        "alias": alias,
        "meaning": "requested for promotion",
        "reason": reason,
        "time": time,
        "expires_at": expires_at,
        "signed_by": requested_by,
        "key_id": key_id,
        "os_account": os_account,
    }


def decision_record(
    *,
    request_id: int,
    model: str,
    version: str,
    alias: str,
    decision: str,
    meaning: str,
    reason: str,
    time: str,
    signed_by: str,
    key_id: str,
    os_account: str,
    request_sig: str | None,
) -> dict[str, Any]:
    """The canonical record an approver signs (bound to the request's own signature)."""
    return {
        "kind": "approval.decision",
        "request_id": request_id,
        "model": model,
        "version": version,
        "alias": alias,
        "decision": decision,
        "meaning": meaning,
        "reason": reason,
        "time": time,
        "signed_by": signed_by,
        "key_id": key_id,
        "os_account": os_account,
        "request_sig": request_sig,
    }


# ----------------------------------------------------------------------------- reading
def _key_row(r: Sequence[Any]) -> TrustedKey:
    return TrustedKey(*[None if v is None else str(v) for v in r])  # type: ignore[arg-type]


def trusted_keys(registry: Registry, *, status: str | None = None) -> list[TrustedKey]:
    """The personal keys this registry knows (pending, trusted and revoked), by name."""
    sql = f"SELECT {_KCOLS} FROM trusted_keys"
    args: list[Any] = []
    if status:
        sql += " WHERE status = ?"
        args.append(status)
    with registry.read() as cur:
        rows = cur.execute(sql + " ORDER BY requested_at, key_id", args).fetchall()
    return [_key_row(r) for r in rows]


def _get(q: Query, key_id: str) -> TrustedKey | None:
    rows = q(f"SELECT {_KCOLS} FROM trusted_keys WHERE key_id = ?", [key_id]).fetchall()
    return _key_row(rows[0]) if rows else None


def get_trusted_key(registry: Registry, key_id: str) -> TrustedKey:
    """One key the registry knows, by its id (a unique prefix works)."""
    with registry.read() as cur:
        rows = cur.execute(
            f"SELECT {_KCOLS} FROM trusted_keys WHERE starts_with(key_id, ?)", [key_id]
        ).fetchall()
    if len(rows) != 1:
        raise (
            NotFound(f"this registry knows no key {key_id!r}")
            if not rows
            else InvalidInput(f"{key_id!r} names more than one key: give more of its id")
        )
    return _key_row(rows[0])


def require_trusted(q: Query, signer: SigningIdentity, what: str) -> TrustedKey:
    """The registry's entry of ``signer``'s key; refuse a key it does not trust."""
    k = _get(q, signer.key.key_id)
    if k is None or k.status != TRUSTED:
        state = (
            "is not trusted yet"
            if k is not None and k.status == PENDING
            else ("was revoked" if k is not None else "is not known to this registry")
        )
        raise KeyNotTrusted(
            f"{signer.key.label} {state}, so it cannot sign {what}: ask for it to be trusted "
            "with 'modelward keys trust-request' and have another key holder approve it"
        )
    if k.public_key != signer.key.public_key:
        raise KeyNotTrusted(f"{signer.key.label} does not match the key this registry trusts")
    return k


def same_account_allowed(registry: Registry) -> bool:
    """Whether this registry lets one OS account both request and approve (a single-user demo)."""
    return registry.meta().get(SAME_ACCOUNT_META) == "allowed"


def _same_account_allowed_q(q: Query) -> bool:
    rows = q("SELECT value FROM meta WHERE key = ?", [SAME_ACCOUNT_META]).fetchall()
    return bool(rows) and rows[0][0] == "allowed"


def allow_same_account(registry: Registry, allowed: bool, *, reason: str) -> None:
    """Let (or stop letting) one OS account request and approve the same promotion. Audited.

    Meant for single-user demo workspaces only: the two people are then told
    apart by their keys alone. Every approval made while it is allowed shows
    the same account twice, and ``verify`` checks that this setting was made.
    """
    if not reason or not reason.strip():
        raise InvalidInput("changing the same-account setting needs a reason")
    with registry.transaction() as tx:
        before = _same_account_allowed_q(tx.q)
        tx.q("DELETE FROM meta WHERE key = ?", [SAME_ACCOUNT_META])
        tx.q(
            "INSERT INTO meta VALUES (?, ?)",
            [SAME_ACCOUNT_META, "allowed" if allowed else "refused"],
        )
        tx.audit(
            "approvals.same_account",
            "registry",
            SAME_ACCOUNT_META,
            before={"allowed": before},
            after={"allowed": bool(allowed)},
            reason=reason.strip(),
        )


def check_distinct(
    q: Query,
    *,
    requester_key: str | None,
    requester_name: str,
    requester_account: str,
    approver_key: str,
    approver_name: str,
    approver_account: str,
) -> str | None:
    """Why this approver may not approve this requester's request, or ``None`` (four-eyes)."""
    if requester_key is not None and requester_key == approver_key:
        return (
            f"{approver_name} requested this promotion with the same key ({approver_key}) "
            "and cannot also approve it: a different person must approve (four-eyes)"
        )
    if requester_key is None:
        owner = " ".join(requester_name.split()).casefold()
        if owner == " ".join(approver_name.split()).casefold():
            return (
                f"{approver_name} owns the policy that requested this promotion and cannot "
                "also approve it: a different person must approve (four-eyes)"
            )
    if requester_account == approver_account and not _same_account_allowed_q(q):
        return (
            f"the request by {requester_name} and the approval by {approver_name} come from "
            f"the same OS account ({requester_account}): a different person must approve "
            "from their own account (four-eyes)"
        )
    return None


# ----------------------------------------------------------------------------- trust
def _insert_key(tx: Tx, k: TrustedKey) -> None:
    tx.q(
        f"INSERT INTO trusted_keys ({_KCOLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        list(asdict(k).values()),
    )


def _new_key_entry(signer: SigningIdentity, reason: str) -> TrustedKey:
    if not reason or not reason.strip():
        raise InvalidInput("trusting a key needs a reason")
    pk = signer.key
    k = TrustedKey(
        pk.key_id,
        pk.name,
        platform.user_name(),
        platform.user_id(),
        pk.public_key,
        PENDING,
        reason.strip(),
        utcnow(),
        "",
        None,
        None,
        None,
    )
    return TrustedKey(**{**asdict(k), "request_sig": signer.sign(trust_request_record(k))})


def bootstrap_key(registry: Registry, signer: SigningIdentity, *, reason: str) -> TrustedKey:
    """Trust the first key of a registry that trusts none yet (audited as ``key.bootstrap``).

    The key signs its own entry. Once a registry trusts a key, every further
    key needs a request and another key holder's approval.
    """
    k = _new_key_entry(signer, reason)
    at = utcnow()
    sig = signer.sign(trust_approval_record(k, k.key_id, at))
    k = TrustedKey(
        **{
            **asdict(k),
            "status": TRUSTED,
            "approved_by_key": k.key_id,
            "approved_at": at,
            "approval_sig": sig,
        }
    )
    with registry.transaction() as tx:
        n = int(tx.q("SELECT count(*) FROM trusted_keys").fetchall()[0][0])
        if n:
            raise InvalidInput(
                "this registry already trusts keys: ask for yours to be trusted with "
                "'modelward keys trust-request' and have a key holder approve it"
            )
        _insert_key(tx, k)
        tx.audit(
            "key.bootstrap",
            "person_key",
            k.key_id,
            after={
                "name": k.name,
                "os_user": k.os_user,
                "os_account": k.os_account,
                "public_key": k.public_key,
            },
            reason=k.reason,
        )
    return k


def request_key_trust(registry: Registry, signer: SigningIdentity, *, reason: str) -> TrustedKey:
    """Ask this registry to trust ``signer``'s key (signed by it, audited); another holder approves."""
    k = _new_key_entry(signer, reason)
    with registry.transaction() as tx:
        old = _get(tx.q, k.key_id)
        if old is not None and old.status != REVOKED:
            raise InvalidInput(f"{signer.key.label} is already {old.status} in this registry")
        tx.q("DELETE FROM trusted_keys WHERE key_id = ?", [k.key_id])
        _insert_key(tx, k)
        tx.audit(
            "key.trust_requested",
            "person_key",
            k.key_id,
            after={
                "name": k.name,
                "os_user": k.os_user,
                "os_account": k.os_account,
                "public_key": k.public_key,
                "signature": k.request_sig,
            },
            reason=k.reason,
        )
    return k


def approve_key_trust(
    registry: Registry, key_id: str, approver: SigningIdentity, *, reason: str
) -> TrustedKey:
    """Trust a requested key: signed by another key this registry trusts (four-eyes, audited)."""
    if not reason or not reason.strip():
        raise InvalidInput("approving a key needs a reason")
    k = get_trusted_key(registry, key_id)
    if k.status != PENDING:
        raise InvalidInput(f"key {k.key_id} of {k.name} is {k.status}, not waiting for approval")
    at = utcnow()
    with registry.transaction() as tx:
        mine = require_trusted(tx.q, approver, "a key approval")
        why = check_distinct(
            tx.q,
            requester_key=k.key_id,
            requester_name=k.name,
            requester_account=k.os_account,
            approver_key=mine.key_id,
            approver_name=mine.name,
            approver_account=platform.user_id(),
        )
        if why:
            raise InvalidInput(why)
        sig = approver.sign(trust_approval_record(k, mine.key_id, at))
        n = tx.q(
            "UPDATE trusted_keys SET status = ?, approved_by_key = ?, approved_at = ?, "
            "approval_sig = ? WHERE key_id = ? AND status = ? RETURNING key_id",
            [TRUSTED, mine.key_id, at, sig, k.key_id, PENDING],
        ).fetchall()
        if not n:
            raise InvalidInput(f"key {k.key_id} was decided meanwhile")
        tx.audit(
            "key.trusted",
            "person_key",
            k.key_id,
            before={"status": PENDING},
            after={
                "status": TRUSTED,
                "name": k.name,
                "approved_by": mine.key_id,
                "approved_by_name": mine.name,
                "signature": sig,
            },
            reason=reason.strip(),
        )
    return get_trusted_key(registry, k.key_id)


def revoke_key(registry: Registry, key_id: str, by: SigningIdentity, *, reason: str) -> TrustedKey:
    """Stop trusting a key (signed by a trusted key holder, audited); what it signed stays valid."""
    if not reason or not reason.strip():
        raise InvalidInput("revoking a key needs a reason")
    k = get_trusted_key(registry, key_id)
    with registry.transaction() as tx:
        mine = require_trusted(tx.q, by, "a revocation")
        tx.q("UPDATE trusted_keys SET status = ? WHERE key_id = ?", [REVOKED, k.key_id])
        tx.audit(
            "key.revoked",
            "person_key",
            k.key_id,
            before={"status": k.status},
            after={
                "status": REVOKED,
                "by": mine.key_id,
                "signature": by.sign(
                    {"kind": "key.revoke", "key_id": k.key_id, "reason": reason.strip()}
                ),
            },
            reason=reason.strip(),
        )
    return get_trusted_key(registry, k.key_id)


# ----------------------------------------------------------------------------- checking
_ACOLS = (
    "id, model_name, version_ref, alias, status, reason, requested_at, expires_at, "
    "requested_by, requested_key, requested_account, request_sig, policy_run_id, decided_at, "
    "decided_by, decided_key, decided_account, decision_sig, meaning, decision_reason, applied_at"
)


def check_approval(q: Query, row: Sequence[Any]) -> list[str]:
    """Every problem with one ``pol_approvals`` row (selected as ``_ACOLS``): signatures, four-eyes."""
    (
        rid,
        model,
        ref,
        alias,
        status,
        reason,
        req_at,
        expires,
        req_by,
        req_key,
        req_acct,
        req_sig,
        run_id,
        dec_at,
        dec_by,
        dec_key,
        dec_acct,
        dec_sig,
        meaning,
        dec_reason,
        applied,
    ) = row
    out: list[str] = []
    keys: dict[str, TrustedKey | None] = {}

    def key(kid: str) -> TrustedKey | None:
        if kid not in keys:
            keys[kid] = _get(q, kid)
        return keys[kid]

    if req_key is None:
        # A policy run's own request: no person signed it; the run must exist.
        if run_id is None or not q("SELECT 1 FROM pol_runs WHERE id = ?", [run_id]).fetchall():
            out.append(f"approval request {rid} is not signed by anyone")
    else:
        k = key(req_key)
        rec = request_record(
            request_id=int(rid),
            model=model,
            version=ref,
            alias=alias,
            reason=reason,
            time=req_at,
            expires_at=expires,
            requested_by=req_by,
            key_id=req_key,
            os_account=req_acct,
        )
        why = _signature_problem(k, req_key, req_by, rec, req_sig, "request")
        if why:
            out.append(f"approval request {rid}{why}")
    if status in ("approved", "rejected") or applied is not None:
        if dec_key is None or dec_sig is None:
            out.append(f"approval request {rid} is {status} but the decision is not signed")
            return out
        k = key(dec_key)
        rec = decision_record(
            request_id=int(rid),
            model=model,
            version=ref,
            alias=alias,
            decision=status,
            meaning=meaning,
            reason=dec_reason,
            time=dec_at,
            signed_by=dec_by,
            key_id=dec_key,
            os_account=dec_acct,
            request_sig=req_sig,
        )
        why = _signature_problem(k, dec_key, dec_by, rec, dec_sig, "decision")
        if why:
            out.append(f"approval request {rid}{why}")
        if status == "approved":
            why = check_distinct(
                q,
                requester_key=req_key,
                requester_name=req_by,
                requester_account=req_acct,
                approver_key=dec_key,
                approver_name=dec_by,
                approver_account=dec_acct,
            )
            if why:
                out.append(f"approval request {rid}: {why}")
        elif applied is not None:
            out.append(f"approval request {rid} is {status} but moved an alias")
    return out


def _signature_problem(
    k: TrustedKey | None, key_id: str, name: str, record: dict[str, Any], sig: str | None, what: str
) -> str | None:
    """The end of a sentence saying why a signed request or decision does not hold, or ``None``."""
    verb = "signed" if what == "request" else "decided"
    if k is None or k.status == PENDING:
        return f" is {verb} by key {key_id}, which is not trusted"
    if k.name != name or not verify_record(k.public_key, record, sig):
        return f": the signature of {name} does not match the {what} as stored (edited or forged)"
    return None


def _check_keys(q: Query, boots: set[str]) -> list[str]:
    out: list[str] = []
    rows = q(f"SELECT {_KCOLS} FROM trusted_keys ORDER BY requested_at", []).fetchall()
    keys = {str(r[0]): _key_row(r) for r in rows}
    for k in keys.values():
        if not verify_record(k.public_key, trust_request_record(k), k.request_sig):
            out.append(f"key {k.key_id} ({k.name}): its trust request signature does not match")
        if k.status == PENDING:
            continue
        by = keys.get(k.approved_by_key or "")
        if by is None or k.approved_at is None:
            out.append(f"key {k.key_id} ({k.name}) is {k.status} but no trusted key approved it")
            continue
        if not verify_record(
            by.public_key, trust_approval_record(k, by.key_id, k.approved_at), k.approval_sig
        ):
            out.append(
                f"key {k.key_id} ({k.name}): the approval signature of {by.name} does not match"
            )
        if k.bootstrap and k.key_id not in boots:
            out.append(
                f"key {k.key_id} ({k.name}) claims to be the registry's first key, but no "
                "key.bootstrap event records it"
            )
        if not k.bootstrap and by.key_id == k.key_id:
            out.append(f"key {k.key_id} ({k.name}) approved itself")
    if len([k for k in keys.values() if k.bootstrap]) > 1:
        out.append("more than one key claims to be the registry's first (bootstrap) key")
    # Every admitted key must descend from the recorded first key through keys
    # admitted before it: two forged keys vouching for each other do not.
    admitted = {k.key_id for k in keys.values() if k.bootstrap and k.key_id in boots}
    grown = True
    while grown:
        grown = False
        for k in keys.values():
            by = keys.get(k.approved_by_key or "")
            if (
                k.key_id not in admitted
                and k.status != PENDING
                and by is not None
                and by.key_id in admitted
                and (by.approved_at or "") <= (k.approved_at or "")
            ):
                admitted.add(k.key_id)
                grown = True
    for k in keys.values():
        if k.status != PENDING and k.key_id not in admitted:
            out.append(
                f"key {k.key_id} ({k.name}) was not admitted through keys this registry "
                "trusted, starting from its first key"
            )
    return out


def verify_approvals(registry: Registry) -> list[str]:
    """Re-check every signature behind trusted keys, approval requests and protected alias moves.

    Parameters
    ----------
    registry
        The registry.

    Returns
    -------
    list of str
        One sentence per problem (empty: every signature checks out). Requests
        made before signed approvals existed (``signed_approvals_from``) are
        not checked for signatures.
    """
    boots = {str(e.entity_id) for e in registry.audit_events(action="key.bootstrap", limit=None)}
    allowed_ever = bool(registry.audit_events(action="approvals.same_account", limit=1))
    moves = [
        (ev.seq, int(ev.after["approval_id"]))
        for ev in registry.audit_events(action="alias.set", limit=None)
        if isinstance(ev.after, dict) and ev.after.get("approval_id") is not None
    ]
    out: list[str] = []
    with registry.read() as cur:

        def q(sql: str, params: Sequence[Any]) -> Any:
            return cur.execute(sql, list(params))

        meta = dict(q("SELECT key, value FROM meta", []).fetchall())
        signed_from = int(meta.get(SIGNED_FROM_META, "1"))
        out += _check_keys(q, boots)
        rows = q(
            f"SELECT {_ACOLS} FROM pol_approvals WHERE id >= ? ORDER BY id", [signed_from]
        ).fetchall()
        for row in rows:
            out += check_approval(q, row)
        status = dict(q("SELECT id, status FROM pol_approvals", []).fetchall())
    same = [r[0] for r in rows if r[4] == "approved" and r[10] is not None and r[10] == r[16]]
    if same and not allowed_ever:
        out.append(
            f"approval request(s) {', '.join(map(str, same))} were approved from the requester's "
            "own OS account, but no audited setting allowed it"
        )
    # Every protected move the audit trail records must rest on a checked approval.
    for seq, aid in moves:
        if aid not in status:
            out.append(f"alias move (audit event {seq}) cites approval {aid}, which is missing")
        elif aid >= signed_from and status[aid] != "approved":
            out.append(
                f"alias move (audit event {seq}) cites approval {aid}, which is {status[aid]}"
            )
    return out


def approval_row(q: Query, request_id: int) -> Sequence[Any] | None:
    """One ``pol_approvals`` row in the shape :func:`check_approval` reads."""
    rows = q(f"SELECT {_ACOLS} FROM pol_approvals WHERE id = ?", [request_id]).fetchall()
    return rows[0] if rows else None
