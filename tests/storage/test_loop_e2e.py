"""The closed loop end to end through a real watched folder and a real FolderWatcher.

Batches arrive in a data inbox; a drifted one makes the policy fire; a
challenger is trained and validated against the champion on the same held-out
rows; approval is requested; the requester cannot approve; a second user
does; the alias moves; the audit trail holds each step, in order, with its
numbers. A retraining that fails leaves the champion untouched and says why.
"""

from __future__ import annotations

import json
import os

import pytest

from modelward.core.demo.policy_loop import LOOP_MODEL, loop_table, train_loop_champion
from modelward.core.errors import InvalidInput
from modelward.core.policies import (
    Policy,
    SelfApproval,
    Triggers,
    approve,
    list_alerts,
    list_policy_runs,
    pending_approvals,
    set_policy,
)
from modelward.core.registry import Registry
from modelward.core.watch import DATA, FolderWatcher, add_folder
from support.people import account, enrol

ROWS = 500


def _policy(**kw) -> Policy:
    base = dict(
        triggers=Triggers(drift_share_above=0.3),
        retrain=True,
        four_eyes=True,
        window_batches=1,
        include_training_data=False,
        n_boot=100,
        owner="Alice Maker",
    )
    base.update(kw)
    return Policy(LOOP_MODEL, **base)


def _drop(inbox, name: str, table) -> None:
    """Write a batch the way a well-behaved producer does: temp name, then rename."""
    tmp = inbox / f".{name}.part"
    table.to_csv(tmp, index=False)
    os.replace(tmp, inbox / name)


@pytest.fixture
def loop(tmp_path):
    """A registry with a trained, profiled champion, a data inbox and a running watcher."""
    reg = Registry(tmp_path / "reg", idle_release=0.2, actor="alice")
    champion = train_loop_champion(reg, tmp_path / "train", rows=600)
    inbox = tmp_path / "inbox"
    add_folder(reg, inbox, DATA, model_name=LOOP_MODEL, options={"label_column": "default"})
    watchers: list[FolderWatcher] = []

    def start() -> FolderWatcher:
        w = FolderWatcher(reg, settle=0.2, rescan_interval=0.5)
        watchers.append(w)
        w.start()
        return w

    yield reg, champion, inbox, start
    for w in watchers:
        w.stop()
        assert not w.running
    reg.close()


def test_drift_to_promotion_with_four_eyes(loop, tmp_path):
    reg, champion, inbox, start = loop
    set_policy(reg, _policy(), reason="retrain on drift")
    w = start()

    _drop(inbox, "2025-01.csv", loop_table(ROWS, 11))
    assert w.wait_for(lambda r: len(r) >= 1, 60)
    assert w.results[0].status == "registered"
    assert list_policy_runs(reg, model=LOOP_MODEL) == []  # like the training data: quiet

    _drop(inbox, "2025-02.csv", loop_table(ROWS, 12, drift=1.2))
    assert w.wait_for(lambda r: len(r) >= 2, 120)
    assert w.results[1].status == "registered", w.results[1].detail
    assert "policy fired" in w.results[1].detail

    (run,) = list_policy_runs(reg, model=LOOP_MODEL)
    assert run.status == "awaiting-approval", run.explain()
    assert run.triggers[0]["trigger"] == "drift_share"
    assert run.triggers[0]["value"] > 0.3
    assert [s["step"] for s in run.steps] == [
        "window",
        "retrained",
        "validated",
        "approval-requested",
    ]
    challenger = run.challenger_ref
    assert challenger and challenger != champion
    assert reg.resolve(f"{LOOP_MODEL}@champion").ref == champion  # not yet

    (req,) = pending_approvals(reg, model=LOOP_MODEL)
    assert req.version_ref == challenger and req.requested_by == "Alice Maker"
    assert req.comparison_id == run.comparison_id

    # The maker (the policy's owner) cannot be the checker, with whatever key they hold.
    people = enrol(reg, "Alice Maker", "Bob Checker")
    with account("Alice Maker"), pytest.raises(SelfApproval, match="different person"):
        approve(reg, req.id, people["Alice Maker"], "approved for production use", "looks good")
    assert reg.resolve(f"{LOOP_MODEL}@champion").ref == champion

    bob = Registry(reg.home, idle_release=0.2, actor="bob")
    with account("Bob Checker"):
        decided = approve(
            bob, req.id, people["Bob Checker"], "approved for production use", "gates passed"
        )
    assert decided.status == "approved"
    assert decided.decided_by == "Bob Checker" and decided.decided_os_user
    assert reg.resolve(f"{LOOP_MODEL}@champion").ref == challenger
    assert list_policy_runs(reg, model=LOOP_MODEL)[0].status == "promoted"
    with account("Alice Maker"), pytest.raises(InvalidInput, match="already approved"):
        approve(bob, req.id, people["Alice Maker"], "approved", "again")

    # The audit trail holds each step, in order, with its numbers.
    events = reg.audit_events(limit=None, newest_first=False)
    first = next(i for i, e in enumerate(events) if e.action == "policy.fired")
    actions = [e.action for e in events[first:]]
    expected = [
        "policy.fired",
        "alert.raised",
        "policy.window",
        "run.started",  # training
        "version.registered",
        "policy.retrained",
        "comparison.recorded",
        "policy.validated",
        "approval.requested",
        "policy.approval-requested",
        "alert.raised",
        "approval.approved",
        "alias.set",
        "monitor.profiled",
        "policy.promoted",
        "alert.raised",
    ]
    pos = 0
    for action in expected:  # in this order (other events may sit between)
        pos = actions.index(action, pos) + 1
    by = {e.action: e for e in events[first:]}
    fired = by["policy.fired"].after
    assert fired["triggers"][0]["value"] > 0.3 and fired["batch"]["drift_share"] > 0.3
    assert by["policy.window"].after["holdout_rows"] > 100
    assert by["policy.retrained"].after["challenger"] == challenger
    assert "roc_auc" in by["policy.retrained"].after["metrics"]
    gates = by["policy.validated"].after["gates"]
    assert gates and all(g["passed"] for g in gates)
    signed = by["approval.approved"]
    assert signed.actor == "bob"
    assert signed.after["signed_by"] == "Bob Checker"
    assert signed.after["meaning"] == "approved for production use"
    assert signed.after["requested_by"] == "Alice Maker"
    assert signed.reason == "gates passed"
    assert by["alias.set"].after == {
        "version": int(challenger.rsplit(":", 1)[1]),
        "approval_id": 1,
        "approved_by": "Bob Checker",
        "approved_key": people["Bob Checker"].key.key_id,
    }
    assert reg.verify_audit().ok
    from modelward.core.policies.keys import verify_approvals

    assert verify_approvals(reg) == []

    # Alerts: stored, in the log file, explained.
    kinds = [a.kind for a in list_alerts(reg, model=LOOP_MODEL)]
    assert kinds == ["promoted", "approval-requested", "trigger"]
    logged = [
        json.loads(line)
        for line in (reg.logs_dir / "alerts.log").read_text(encoding="utf-8").splitlines()
    ]
    assert [a["kind"] for a in logged] == ["trigger", "approval-requested", "promoted"]
    assert logged[0]["numbers"]["triggers"][0]["trigger"] == "drift_share"

    # The next batch is checked against the new champion, which was profiled.
    _drop(inbox, "2025-03.csv", loop_table(ROWS, 13, drift=1.2))
    assert w.wait_for(lambda r: len(r) >= 3, 120)
    assert w.results[2].status == "registered", w.results[2].detail
    with reg.read() as cur:
        checked = cur.execute(
            "SELECT v.version FROM mon_batches b JOIN versions v ON v.id = b.version_id "
            "ORDER BY b.id"
        ).fetchall()
    assert [r[0] for r in checked][-1] == int(challenger.rsplit(":", 1)[1])


def test_failed_retraining_leaves_the_champion_and_says_why(loop):
    reg, champion, inbox, start = loop
    # A real fault: the champion's training-data snapshot is corrupted on disk.
    set_policy(reg, _policy(include_training_data=True), reason="retrain on drift")
    snap = reg.artifacts.path_for(reg.resolve(champion).lineage["snapshot_sha256"])
    os.chmod(snap, 0o644)
    snap.write_bytes(b"not the training data any more")
    w = start()
    _drop(inbox, "2025-02.csv", loop_table(ROWS, 12, drift=1.2))
    assert w.wait_for(lambda r: len(r) >= 1, 120)
    assert w.results[0].status == "registered"  # the file is taken, once

    (run,) = list_policy_runs(reg, model=LOOP_MODEL)
    assert run.status == "failed"
    assert "corrupt" in run.error
    assert run.steps[-1]["step"] == "failed"
    assert f"{champion} stays champion, untouched" in run.steps[-1]["detail"]
    assert reg.resolve(f"{LOOP_MODEL}@champion").ref == champion
    assert [v.ref for v in reg.list_versions(LOOP_MODEL)] == [champion]
    assert pending_approvals(reg) == []
    alert = list_alerts(reg, model=LOOP_MODEL)[0]
    assert alert.kind == "retrain-failed" and alert.severity == "critical"
    assert "corrupt" in alert.message and "untouched" in alert.message
    assert any(e.action == "policy.failed" for e in reg.audit_events(limit=20))
