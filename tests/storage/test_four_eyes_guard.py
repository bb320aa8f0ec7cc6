"""Four-eyes is enforced where aliases move, whatever path asks for the move."""

from __future__ import annotations

import pytest
from tests.support.models import register_file

from modelward.core.errors import ApprovalRequired
from modelward.core.policies import approve, request_approval, set_policy
from modelward.core.policies.approvals import SelfApproval
from modelward.core.policies.model import Policy
from modelward.core.registry import Registry
from support.models import write_joblib
from support.people import account, enrol


@pytest.fixture
def protected(tmp_path):
    reg = Registry(tmp_path / "reg")
    register_file(reg, write_joblib(tmp_path / "a", seed=1), "m")
    register_file(reg, write_joblib(tmp_path / "b", seed=2), "m")
    reg.set_alias("m:1", "champion", "before any policy")  # not protected yet
    set_policy(reg, Policy(model="m", owner="Alice Maker"))
    return reg


@pytest.fixture
def people(protected):
    return enrol(protected, "Alice Maker", "Bob Checker")


def _request(reg, people, reason="better"):
    with account("Alice Maker"):
        return request_approval(reg, "m:2", signer=people["Alice Maker"], reason=reason)


def test_direct_move_of_a_protected_alias_is_refused(protected):
    with pytest.raises(ApprovalRequired, match="four-eyes"):
        protected.set_alias("m:2", "champion", "I just want to")
    assert protected.resolve("m@champion").version == 1
    protected.set_alias("m:2", "staging", "unprotected aliases move freely")


def test_an_approval_moves_exactly_its_alias_once(protected, people):
    alice, bob = people["Alice Maker"], people["Bob Checker"]
    req = _request(protected, people)
    with pytest.raises(ApprovalRequired, match="pending, not approved"):
        protected.set_alias("m:2", "champion", "too early", approval_id=req.id)
    with pytest.raises(SelfApproval), account("Alice Maker"):
        approve(protected, req.id, alice, "approved for production use", "mine")
    with account("Bob Checker"):
        approve(protected, req.id, bob, "approved for production use", "gates passed")
    assert protected.resolve("m@champion").version == 2
    move = protected.audit_events(action="alias.set", limit=1)[0]
    assert move.after == {
        "version": 2,
        "approval_id": req.id,
        "approved_by": "Bob Checker",
        "approved_key": bob.key.key_id,
    }
    # The same approval cannot move the alias again (e.g. back after a rollback).
    with pytest.raises(ApprovalRequired, match="for another move"):
        protected.set_alias("m:1", "champion", "reuse", approval_id=req.id)
    with pytest.raises(ApprovalRequired, match="already used"):
        protected.set_alias("m:2", "champion", "reuse", approval_id=req.id)
    assert protected.verify_audit().ok


# --------------------------------------------------------------------------- fails closed
def test_a_registry_opened_without_the_guard_never_moves_a_protected_alias(protected, people):
    req = _request(protected, people)
    bare = Registry(protected.home)  # built directly: no guard installed
    assert bare.alias_guard is None
    with pytest.raises(ApprovalRequired, match="four-eyes"):
        bare.set_alias("m:2", "champion", "no approval")
    with pytest.raises(ApprovalRequired, match="without the four-eyes guard"):
        bare.set_alias("m:2", "champion", "an approval it cannot check", approval_id=req.id)
    assert bare.resolve("m@champion").version == 1
    bare.set_alias("m:2", "staging", "unprotected aliases still move")
    assert bare.resolve("m@staging").version == 2


def test_a_lax_guard_cannot_wave_a_protected_move_through(protected):
    lax = Registry(protected.home, alias_guard=lambda tx, model, vid, alias, approval: None)
    with pytest.raises(ApprovalRequired, match="four-eyes"):
        lax.set_alias("m:2", "champion", "the guard said nothing")
    assert lax.resolve("m@champion").version == 1


def test_a_guard_once_installed_cannot_be_swapped(protected):
    from modelward.core.errors import RegistryError
    from modelward.core.policies.guard import check_alias_move, guard_registry

    assert protected.alias_guard is check_alias_move  # set_policy installed it
    guard_registry(protected)  # the same guard again: fine
    with pytest.raises(RegistryError, match="different alias guard"):
        protected.install_alias_guard(lambda tx, model, vid, alias, approval: None)
    assert protected.alias_guard is check_alias_move


def test_open_registry_installs_the_guard_and_moves_an_approved_alias(protected, people):
    from modelward.core.policies import open_registry
    from modelward.core.policies.approvals import _decide
    from modelward.core.policies.guard import check_alias_move

    req = _request(protected, people)
    with account("Bob Checker"):  # signed by Bob in another program, which did not move it
        _decide(
            protected,
            req.id,
            status="approved",
            signer=people["Bob Checker"],
            meaning="approved for production use",
            reason="gates passed",
            now=None,
        )
    opened = open_registry(protected.home)
    assert opened.alias_guard is check_alias_move
    opened.set_alias("m:2", "champion", "approved", approval_id=req.id)
    assert opened.resolve("m@champion").version == 2


def test_a_row_set_to_approved_without_a_signature_moves_nothing(protected, people):
    from modelward.core.policies import open_registry
    from modelward.core.policies.keys import verify_approvals

    req = _request(protected, people)
    with protected.transaction() as tx:  # "approved" by a plain SQL client, no key
        tx.q(
            "UPDATE pol_approvals SET status = 'approved', decided_by = 'Bob Checker' WHERE id = ?",
            [req.id],
        )
    opened = open_registry(protected.home)
    with pytest.raises(ApprovalRequired, match="not signed"):
        opened.set_alias("m:2", "champion", "forged", approval_id=req.id)
    assert opened.resolve("m@champion").version == 1
    assert any("decision is not signed" in p for p in verify_approvals(opened))


def test_an_unreadable_policy_protects_every_alias(protected):
    with protected.transaction() as tx:
        tx.q("UPDATE pol_policies SET policy = '[not a policy' WHERE model_name = 'm'")
    bare = Registry(protected.home)
    with pytest.raises(ApprovalRequired, match="four-eyes"):
        bare.set_alias("m:2", "staging", "policy unreadable")


def test_only_the_aliases_module_writes_the_aliases_table():
    """No other storage or service code can move an alias around the check."""
    from pathlib import Path

    import modelward

    root = Path(modelward.__file__).parent
    writers = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if any(
            w in p.read_text(encoding="utf-8").upper()
            for w in ("INTO ALIASES", "UPDATE ALIASES", "DELETE FROM ALIASES")
        )
    )
    assert writers == ["core/registry/aliases.py"]
