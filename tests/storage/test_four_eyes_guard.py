"""Four-eyes is enforced where aliases move, whatever path asks for the move."""

from __future__ import annotations

import pytest

from modelward.core.errors import ApprovalRequired
from modelward.core.policies import approve, request_approval, set_policy
from modelward.core.policies.approvals import SelfApproval
from modelward.core.policies.model import Policy
from modelward.core.registry import Registry
from support.models import write_joblib


@pytest.fixture
def protected(tmp_path):
    reg = Registry(tmp_path / "reg")
    reg.register_file(write_joblib(tmp_path / "a", seed=1), "m")
    reg.register_file(write_joblib(tmp_path / "b", seed=2), "m")
    reg.set_alias("m:1", "champion", "before any policy")  # not protected yet
    set_policy(reg, Policy(model="m", owner="Alice Maker"))
    return reg


def test_direct_move_of_a_protected_alias_is_refused(protected):
    with pytest.raises(ApprovalRequired, match="four-eyes"):
        protected.set_alias("m:2", "champion", "I just want to")
    assert protected.resolve("m@champion").version == 1
    protected.set_alias("m:2", "staging", "unprotected aliases move freely")


def test_an_approval_moves_exactly_its_alias_once(protected):
    req = request_approval(protected, "m:2", requested_by="Alice Maker", reason="better")
    with pytest.raises(ApprovalRequired, match="pending, not approved"):
        protected.set_alias("m:2", "champion", "too early", approval_id=req.id)
    with pytest.raises(SelfApproval):
        approve(protected, req.id, "alice maker ", "approved for production use", "mine")
    approve(protected, req.id, "Bob Checker", "approved for production use", "gates passed")
    assert protected.resolve("m@champion").version == 2
    move = protected.audit_events(action="alias.set", limit=1)[0]
    assert move.after == {"version": 2, "approval_id": req.id, "approved_by": "Bob Checker"}
    # The same approval cannot move the alias again (e.g. back after a rollback).
    with pytest.raises(ApprovalRequired, match="for another move"):
        protected.set_alias("m:1", "champion", "reuse", approval_id=req.id)
    with pytest.raises(ApprovalRequired, match="already used"):
        protected.set_alias("m:2", "champion", "reuse", approval_id=req.id)
    assert protected.verify_audit().ok
