"""Aliases (``champion``, ``staging`` …): moves, removals, history, and the four-eyes hook.

Storage does not know what an approval is; the policy service does. So the
rule that a protected alias moves only with an approved four-eyes request is
split in two, and it fails closed:

- **The floor, here.** Inside the transaction that moves an alias, storage
  reads the model's stored policy itself (:func:`policy_protects`). A policy
  that says four-eyes protects the alias, or one it cannot read, makes the
  alias protected.
- **The guard, plugged in.** A registry opened by the services
  (``modelward.core.policies.open_registry``, or any policy function that is
  handed the registry) carries an :class:`AliasGuard` that checks and consumes
  the approval in the same transaction.

A protected alias moves only when a guard is installed *and* that guard
returned the approval it consumed. A registry built directly with
``Registry(...)`` and no guard refuses every move of a protected alias; a
guard that waves a protected move through without an approval is refused too.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from modelward.core.clock import utcnow
from modelward.core.domain import AliasEvent, ModelVersion
from modelward.core.errors import ApprovalRequired, InvalidInput, NotFound, RegistryError
from modelward.core.refs import validate_alias
from modelward.core.registry.tx import Tx, _first
from modelward.core.registry.versions import VersionsMixin


class AliasGuard(Protocol):
    """Checks (and consumes) the approval for moving ``model@alias`` to ``version_id``.

    Called inside the transaction of the move. Returns what the audit event
    should carry about the approval, or ``None`` when the alias is not
    protected; raises :class:`~modelward.core.errors.ApprovalRequired` to refuse.
    """

    def __call__(
        self, tx: Tx, model: str, version_id: int, alias: str, approval_id: int | None
    ) -> dict[str, Any] | None: ...


def protection_hint(model: str, alias: str) -> str:
    """What to do to move a protected alias (shared by the floor and the guard)."""
    return (
        f"{model}@{alias} is protected by four-eyes: request the move "
        f"('modelward approvals request {model}:VERSION --alias {alias} …') and have "
        "a second person approve it"
    )


def policy_protects(tx: Tx, model: str, alias: str) -> bool:
    """Whether the stored policy of ``model`` protects ``alias`` with four-eyes.

    Storage's own reading of the policy row, independent of the policy
    service: a stored policy protects ``alias`` unless it says ``four_eyes``
    is false or lists ``protected_aliases`` without it. A row it cannot read
    counts as protecting (fail closed).

    Parameters
    ----------
    tx
        The transaction of the move.
    model, alias
        The alias in question.

    Returns
    -------
    bool
        ``True`` when the move needs an approval.
    """
    rows = tx.q("SELECT policy FROM pol_policies WHERE model_name = ?", [model]).fetchall()
    if not rows:
        return False
    try:
        stored = json.loads(rows[0][0]) if isinstance(rows[0][0], str) else rows[0][0]
        if not isinstance(stored, dict):
            return True
        if stored.get("four_eyes", True) is False:
            return False
        protected = stored.get("protected_aliases")
        if isinstance(protected, list | tuple):
            return alias in protected
    except (TypeError, ValueError):
        pass
    return True


class AliasesMixin(VersionsMixin):
    """Aliases of a :class:`~modelward.core.registry.Registry`."""

    _alias_guard: AliasGuard | None = None

    @property
    def alias_guard(self) -> AliasGuard | None:
        """The installed four-eyes guard, or ``None`` (protected aliases then never move)."""
        return self._alias_guard

    def install_alias_guard(self, guard: AliasGuard) -> None:
        """Install the four-eyes guard consulted whenever an alias moves.

        Installing the same guard again does nothing; a different one is
        refused, so a guard once installed cannot be swapped for a laxer one.

        Raises
        ------
        RegistryError
            Another guard is already installed.
        """
        if self._alias_guard is not None and self._alias_guard is not guard:
            raise RegistryError("this registry already has a different alias guard installed")
        self._alias_guard = guard

    def _check_alias_move(
        self, tx: Tx, model: str, version_id: int, alias: str, approval_id: int | None
    ) -> dict[str, Any] | None:
        protected = policy_protects(tx, model, alias)
        guard = self._alias_guard
        if guard is None:
            if not protected:
                return None
            if approval_id is None:
                raise ApprovalRequired(protection_hint(model, alias))
            raise ApprovalRequired(
                f"{model}@{alias} is protected by four-eyes and this registry was opened "
                f"without the four-eyes guard, so approval request {approval_id} cannot be "
                "checked; open it with modelward.core.policies.open_registry"
            )
        approval = guard(tx, model, version_id, alias, approval_id)
        if protected and not approval:
            # The guard let a protected move through without an approval: refuse anyway.
            raise ApprovalRequired(protection_hint(model, alias))
        return approval

    # ------------------------------------------------------------------ aliases
    def set_alias(
        self, ref: str, alias: str, reason: str, *, approval_id: int | None = None
    ) -> ModelVersion:
        """Point ``alias`` of the model at the version named by ``ref``.

        An alias the model's policy protects with four-eyes moves only with
        ``approval_id``, an approved request for exactly this move; the check
        and the move share one transaction, and a request is used once.

        The check is storage's own floor plus the guard installed with
        :meth:`install_alias_guard` (see :mod:`modelward.core.registry.aliases`):
        without a guard, a protected alias does not move at all.

        Raises
        ------
        ApprovalRequired
            The alias is protected and no matching approval was given.
        """
        validate_alias(alias)
        if not reason or not reason.strip():
            raise InvalidInput("setting an alias needs a reason (--reason)")
        v = self.resolve(ref)
        with self.transaction() as tx:
            approval = self._check_alias_move(tx, v.name, v.id, alias, approval_id)
            prev = _first(
                tx.q(
                    "SELECT v.version FROM aliases a JOIN versions v ON v.id = a.version_id "
                    "WHERE a.model_id = ? AND a.alias = ?",
                    [v.model_id, alias],
                )
            )
            tx.q(
                "INSERT OR REPLACE INTO aliases VALUES (?,?,?,?,?,?)",
                [v.model_id, alias, v.id, utcnow(), tx.actor, reason.strip()],
            )
            tx.audit(
                "alias.set",
                "alias",
                f"{v.name}@{alias}",
                before={"version": prev[0]} if prev else None,
                after={"version": v.version, **(approval or {})},
                reason=reason.strip(),
            )
        return self.get_version_by_id(v.id)

    def remove_alias(self, name: str, alias: str, reason: str) -> None:
        if not reason or not reason.strip():
            raise InvalidInput("removing an alias needs a reason (--reason)")
        with self.transaction() as tx:
            mid = self._model_id(tx.cur, name)
            if mid is None:
                raise NotFound(f"no model named {name!r}")
            prev = _first(
                tx.q(
                    "SELECT v.version FROM aliases a JOIN versions v ON v.id = a.version_id "
                    "WHERE a.model_id = ? AND a.alias = ?",
                    [mid, alias],
                )
            )
            if prev is None:
                raise NotFound(f"model {name!r} has no alias {alias!r}")
            tx.q("DELETE FROM aliases WHERE model_id = ? AND alias = ?", [mid, alias])
            tx.audit(
                "alias.removed",
                "alias",
                f"{name}@{alias}",
                before={"version": prev[0]},
                after=None,
                reason=reason.strip(),
            )

    def alias_history(self, name: str) -> list[AliasEvent]:
        """Every move of every alias of ``name``, oldest first, from the audit trail."""
        out = []
        with self._read() as cur:
            rows = cur.execute(
                "SELECT entity_id, before, after, ts, actor, reason FROM audit "
                "WHERE entity_type = 'alias' AND starts_with(entity_id, ?) ORDER BY seq",
                [name + "@"],
            ).fetchall()
        for eid, before, after, ts, actor, reason in rows:
            mname, alias = eid.rsplit("@", 1)
            if mname != name:
                continue
            b = json.loads(before) if before else None
            a = json.loads(after) if after else None
            out.append(
                AliasEvent(
                    mname,
                    alias,
                    a.get("version") if a else None,
                    b.get("version") if b else None,
                    ts,
                    actor,
                    reason or "",
                )
            )
        return out
