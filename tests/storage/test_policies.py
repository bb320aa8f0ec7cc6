"""Policies, alerts and approvals on a real registry; the loop without four-eyes; the CLI."""

from __future__ import annotations

import datetime as dt
import json
import sys

import pytest
from tests.support.models import register_file

from modelward.core.demo.policy_loop import LOOP_MODEL, loop_table, train_loop_champion
from modelward.core.errors import InvalidInput, NotFound
from modelward.core.policies import (
    Policy,
    SelfApproval,
    Triggers,
    acknowledge_alert,
    approve,
    expire_approvals,
    get_approval,
    get_policy,
    list_alerts,
    list_approvals,
    list_policies,
    list_policy_runs,
    pending_approvals,
    raise_alert,
    reject,
    remove_policy,
    request_approval,
    run_due,
    set_policy,
    unread_count,
)
from modelward.core.policies.engine import record_batch
from modelward.core.registry import Registry
from modelward.core.watch import DATA, add_folder
from modelward.core.watch.ingest import ingest_file
from support.models import write_joblib
from support.people import account, enrol, passphrase


@pytest.fixture
def reg(tmp_path):
    r = Registry(tmp_path / "reg", actor="alice")
    yield r
    r.close()


def _model(reg: Registry, name: str = "m") -> None:
    with reg.transaction() as tx:
        reg.ensure_model(tx, name)


def _versions(reg: Registry, tmp_path, n: int = 2, name: str = "credit") -> list[str]:
    refs = []
    for i in range(n):
        path = write_joblib(tmp_path / f"model{i}.joblib", C=1.0 + i)
        refs.append(register_file(reg, path, name).version.ref)
    reg.set_alias(refs[0], "champion", "first")
    return refs


# --------------------------------------------------------------------------- policies
def test_policies_are_stored_per_model_and_audited(reg):
    _model(reg, "m")
    with pytest.raises(NotFound, match="no model named 'ghost'"):
        set_policy(reg, Policy("ghost"))
    with pytest.raises(InvalidInput, match="bad gate"):
        set_policy(reg, Policy("m", gates=("auc>0.7",)))
    p = set_policy(reg, Policy("m", Triggers(psi_above=0.2), retrain=True), reason="start")
    assert p.owner == "alice"  # the maker defaults to the user who set it
    assert get_policy(reg, "m") == p
    p2 = set_policy(reg, p.replace(four_eyes=False))
    assert list_policies(reg) == [p2]
    set_events = reg.audit_events(action="policy.set", newest_first=False)
    assert [e.before is None for e in set_events] == [True, False]
    assert set_events[1].after["four_eyes"] is False and set_events[0].reason == "start"
    with pytest.raises(InvalidInput, match="needs a reason"):
        remove_policy(reg, "m", reason=" ")
    remove_policy(reg, "m", reason="retired")
    assert get_policy(reg, "m") is None
    assert reg.audit_events(action="policy.removed")[0].before["four_eyes"] is False
    assert reg.verify_audit().ok


# --------------------------------------------------------------------------- alerts
def test_alerts_are_stored_logged_forwarded_and_acknowledged(reg, tmp_path):
    out = tmp_path / "forwarded.json"
    script = tmp_path / "forward.py"
    script.write_text(
        "import json, sys\n"
        "alert = json.load(sys.stdin)\n"
        "open(sys.argv[1], 'w').write(json.dumps(alert))\n"
    )
    # An argument a shell would expand stays a literal argument.
    a = raise_alert(
        reg,
        "m",
        "trigger",
        "drift in $(whoami)",
        numbers={"psi": 0.4},
        command=[sys.executable, str(script), str(out)],
    )
    sent = json.loads(out.read_text())
    assert sent["id"] == a.id and sent["numbers"] == {"psi": 0.4}
    assert sent["message"] == "drift in $(whoami)"
    lines = (reg.logs_dir / "alerts.log").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["kind"] == "trigger"
    assert unread_count(reg) == 1
    raise_alert(reg, None, "note", "registry-wide", severity="info")
    assert [x.model for x in list_alerts(reg)] == [None, "m"]
    assert [x.id for x in list_alerts(reg, model="m")] == [a.id]
    acked = acknowledge_alert(reg, a.id, note="seen")
    assert acked.acknowledged_by == "alice" and not acked.unread
    assert unread_count(reg) == 1
    assert [x.kind for x in list_alerts(reg, unread_only=True)] == ["note"]
    assert reg.audit_events(action="alert.acknowledged")[0].after == {"alert_id": a.id}
    with pytest.raises(NotFound):
        acknowledge_alert(reg, 999)
    with pytest.raises(InvalidInput, match="unknown severity"):
        raise_alert(reg, "m", "x", "y", severity="loud")


def test_a_failing_or_hanging_alert_command_is_recorded_not_raised(reg):
    raise_alert(reg, "m", "t", "one", command=[sys.executable, "-c", "import sys; sys.exit(3)"])
    raise_alert(
        reg,
        "m",
        "t",
        "two",
        command=[sys.executable, "-c", "import time; time.sleep(60)"],
        timeout=0.5,
    )
    raise_alert(reg, "m", "t", "three", command=["/no/such/program"])
    problems = [
        e.after["problem"]
        for e in reg.audit_events(action="alert.command_failed", newest_first=False)
    ]
    assert problems[0] == "exited with code 3"
    assert "did not finish within 0.5 s" in problems[1]
    assert problems[2].startswith("could not be started")
    assert len(list_alerts(reg)) == 3


# --------------------------------------------------------------------------- approvals
def test_maker_checker_refuses_self_approval_and_signs(reg, tmp_path):
    champion, challenger = _versions(reg, tmp_path)
    people = enrol(reg, "Alice", "Bob")
    alice, bob = people["Alice"], people["Bob"]
    with pytest.raises(InvalidInput, match="must be signed with your personal key"):
        request_approval(reg, challenger, requested_by="Alice", reason="better AUC")
    with account("Alice"):
        req = request_approval(reg, challenger, signer=alice, reason="better AUC")
    assert req.pending and req.requested_os_user and req.requested_key == alice.key.key_id
    assert req.requested_by == "Alice" and req.request_sig
    with account("Alice"), pytest.raises(SelfApproval, match="cannot also approve"):
        approve(reg, req.id, alice, "approved for production use", "fine")
    with account("Alice"), pytest.raises(SelfApproval, match="same OS account"):
        approve(reg, req.id, bob, "approved for production use", "fine")  # Bob's key, Alice's seat
    with account("Bob"):
        with pytest.raises(InvalidInput, match="meaning"):
            approve(reg, req.id, bob, " ", "fine")
        with pytest.raises(InvalidInput, match="reason"):
            approve(reg, req.id, bob, "approved", "")
        with pytest.raises(InvalidInput, match="personal key"):
            approve(reg, req.id, "Bob", "approved", "typed names sign nothing")
    assert reg.resolve("credit@champion").ref == champion
    bob_reg = Registry(reg.home, actor="bob")
    with account("Bob"):
        done = approve(bob_reg, req.id, bob, "approved for production use", "fine")
    assert (done.status, done.decided_by, done.meaning, done.decided_key) == (
        "approved",
        "Bob",
        "approved for production use",
        bob.key.key_id,
    )
    assert reg.resolve("credit@champion").ref == challenger
    ev = reg.audit_events(action="approval.approved")[0]
    assert ev.actor == "bob" and ev.after["signed_by"] == "Bob" and ev.after["signed_at"]
    assert ev.after["signature"] == done.decision_sig
    alias = reg.audit_events(action="alias.set")[0]
    assert f"approval {req.id} by Bob" in alias.reason


def test_reject_supersede_and_expire(reg, tmp_path):
    champion, challenger = _versions(reg, tmp_path)
    people = enrol(reg, "Alice", "Bob", "Carol")
    alice = people["Alice"]
    with account("Alice"):
        first = request_approval(reg, challenger, signer=alice, reason="try 1")
        second = request_approval(reg, challenger, signer=alice, reason="try 2")
    assert get_approval(reg, first.id).status == "superseded"
    assert [r.id for r in pending_approvals(reg)] == [second.id]
    with account("Carol"):
        rej = reject(reg, second.id, people["Carol"], "not before the audit")
    assert rej.status == "rejected" and rej.decided_by == "Carol"
    with account("Bob"), pytest.raises(InvalidInput, match="already rejected"):
        approve(reg, second.id, people["Bob"], "approved", "too late")
    assert reg.resolve("credit@champion").ref == champion

    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    with account("Alice"):
        old = request_approval(reg, challenger, signer=alice, reason="r", ttl_hours=1, now=past)
    assert pending_approvals(reg) == []  # already past its expiry
    with account("Bob"), pytest.raises(InvalidInput, match="expired"):
        approve(reg, old.id, people["Bob"], "approved", "late")
    assert get_approval(reg, old.id).status == "expired"
    assert expire_approvals(reg) == []  # already marked
    actions = [
        e.action for e in reg.audit_events(action="approval.", newest_first=False, limit=None)
    ]
    assert actions == [
        "approval.requested",
        "approval.superseded",
        "approval.requested",
        "approval.rejected",
        "approval.requested",
        "approval.expired",
    ]
    assert [r.status for r in list_approvals(reg)] == ["expired", "rejected", "superseded"]
    assert reg.resolve("credit@champion").ref == champion


def test_run_due_expires_and_fires_schedules_and_label_counts(reg, tmp_path):
    _versions(reg, tmp_path, name="m")
    set_policy(reg, Policy("m", Triggers(drift_share_above=None, every_days=1)))
    now = dt.datetime.now(dt.UTC)
    assert run_due(reg, now=now) == []
    (run,) = run_due(reg, now=now + dt.timedelta(days=2))
    assert run.status == "alerted" and run.triggers[0]["trigger"] == "schedule"
    assert list_alerts(reg)[0].kind == "trigger"
    assert run_due(reg, now=now + dt.timedelta(hours=12)) == []

    set_policy(reg, Policy("m", Triggers(drift_share_above=None, new_labelled_rows=250)))
    record_batch(reg, "m", 1, "0" * 64, 200, label_column="y")
    record_batch(reg, "m", 2, "1" * 64, 500, label_column=None)  # unlabelled rows do not count
    assert run_due(reg) == []
    record_batch(reg, "m", 3, "2" * 64, 100, label_column="y")
    (run,) = run_due(reg)
    assert run.triggers[0] == {
        "trigger": "new_labelled_rows",
        "value": 300.0,
        "threshold": 250.0,
        "detail": "300 new labelled rows arrived (at least 250)",
    }

    alice = enrol(reg, "Alice")["Alice"]
    req = request_approval(reg, "m:2", signer=alice, reason="r", now=now - dt.timedelta(days=4))
    run_due(reg)
    assert get_approval(reg, req.id).status == "expired"
    assert list_alerts(reg)[0].kind == "approval-expired"


# --------------------------------------------------------------------------- the loop
def test_gates_that_fail_keep_the_champion_and_no_four_eyes_promotes(tmp_path):
    reg = Registry(tmp_path / "reg", actor="alice")
    champion = train_loop_champion(reg, tmp_path / "train", rows=600)
    inbox = tmp_path / "inbox"
    folder = add_folder(
        reg, inbox, DATA, model_name=LOOP_MODEL, options={"label_column": "default"}
    )
    base = Policy(
        LOOP_MODEL,
        Triggers(drift_share_above=0.3),
        retrain=True,
        window_batches=1,
        include_training_data=False,
        n_boot=100,
    )

    def arrive(name: str, seed: int) -> dict:
        path = inbox / name
        loop_table(500, seed, drift=1.2).to_csv(path, index=False)
        res = ingest_file(reg, folder, path)
        assert res.status == "registered", res.detail
        with reg.read() as cur:
            (text,) = cur.execute(
                "SELECT result FROM ingested_files WHERE path = ?", [str(path)]
            ).fetchall()[0]
        return json.loads(text)["policy"]

    set_policy(reg, base.replace(gates=("roc_auc>=0.999",)))
    out = arrive("b1.csv", 21)
    run = list_policy_runs(reg)[0]
    assert out["policy_run_id"] == run.id and run.status == "gates-failed"
    assert "roc_auc>=0.999 FAILED" in run.steps[-1]["detail"]
    assert reg.resolve(f"{LOOP_MODEL}@champion").ref == champion
    alert = list_alerts(reg)[0]
    assert alert.kind == "gates-failed" and f"{champion} stays champion" in alert.message

    set_policy(reg, base.replace(four_eyes=False))
    arrive("b2.csv", 22)
    run = list_policy_runs(reg)[0]
    assert run.status == "promoted", run.explain()
    assert reg.resolve(f"{LOOP_MODEL}@champion").ref == run.challenger_ref != champion
    assert pending_approvals(reg) == []
    assert [s["step"] for s in run.steps] == ["window", "retrained", "validated", "promoted"]

    # The drifted batches now look like the new champion's data: drift stays quiet.
    # A loop awaiting approval makes the next firing stand aside, and says why.
    set_policy(reg, base.replace(triggers=Triggers(drift_share_above=0.3, new_labelled_rows=100)))
    arrive("b3.csv", 23)
    assert list_policy_runs(reg)[0].status == "awaiting-approval"
    arrive("b4.csv", 24)
    skipped = list_policy_runs(reg)[0]
    assert skipped.status == "skipped"
    assert "still pending" in skipped.steps[0]["detail"]
    reg.close()


# --------------------------------------------------------------------------- CLI
def test_cli_policy_alerts_and_approvals(tmp_path, run_cli):
    home = tmp_path / "reg"
    reg = Registry(home)
    _versions(reg, tmp_path)
    reg.close()
    r = ["--registry", str(home)]

    p = run_cli(
        "policy", "set", "credit", "--drift-share", "0.3", "--psi", "off", "--retrain",
        "--gate", "roc_auc>=champion-0.01", "--alert-command", "forward --to 'ops team'",
        "--owner", "Alice", "--reason", "go", "--json", *r,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["retrain"] is True and doc["triggers"]["drift_share_above"] == 0.3
    assert doc["alert_command"] == ["forward", "--to", "ops team"]
    p = run_cli("policy", "set", "credit", "--no-four-eyes", "--json", *r)
    doc = json.loads(p.stdout)  # merged: the other settings stay
    assert doc["four_eyes"] is False and doc["gates"] == ["roc_auc>=champion-0.01"]
    p = run_cli("policy", "show", *r)
    assert "drift share above 0.3" in p.stdout and "Alice" in p.stdout
    p = run_cli("policy", "set", "credit", "--drift-share", "2", *r)
    assert p.returncode == 2 and "fraction of columns" in p.stderr

    p = run_cli("policy", "set", "credit", "--four-eyes", *r)
    assert p.returncode == 0, p.stderr
    # A protected alias does not move by hand while four-eyes is on.
    p = run_cli("alias", "set", "credit:2", "champion", "--reason", "shortcut", *r)
    assert p.returncode == 2 and "protected by four-eyes" in p.stderr
    # One person, one OS account, two keys: "Alice" requests, "Bob" approves.
    alice = {"MODELWARD_KEY_PASSPHRASE": passphrase("Alice")}
    bob = {"MODELWARD_KEY_PASSPHRASE": passphrase("Bob")}
    for who, env in (("Alice", alice), ("Bob", bob)):
        p = run_cli("keys", "init", "--name", who, env=env)
        assert p.returncode == 0, p.stderr
    p = run_cli("keys", "bootstrap", "--key", "alice", "--reason", "first key", *r, env=alice)
    assert p.returncode == 0 and "key.bootstrap" in p.stdout, p.stderr
    p = run_cli(
        "keys", "trust-request", "--key", "bob", "--reason", "checker", "--json", *r, env=bob
    )
    bob_id = json.loads(p.stdout)["key_id"]
    p = run_cli("keys", "trust-approve", bob_id, "--key", "alice", "--reason", "ok", *r, env=alice)
    assert p.returncode == 2 and "same OS account" in p.stderr
    p = run_cli("approvals", "same-account", "allow", "--reason", "single-user setup", *r)
    assert p.returncode == 0, p.stderr
    p = run_cli("keys", "trust-approve", bob_id, "--key", "alice", "--reason", "ok", *r, env=alice)
    assert p.returncode == 0, p.stderr
    p = run_cli("approvals", "same-account", "refuse", "--reason", "setup done", *r)
    assert p.returncode == 0 and "must differ" in p.stdout

    p = run_cli(
        "approvals", "request", "credit:2", "--key", "alice", "--reason", "better", "--json", *r,
        env=alice,
    )  # fmt: skip
    rid = json.loads(p.stdout)["id"]
    p = run_cli(
        "approve", str(rid), "--key", "alice", "--meaning", "ok", "--reason", "x", *r, env=alice
    )
    assert p.returncode == 2
    assert "cannot also approve it" in p.stderr and "Traceback" not in p.stderr
    # The case: requesting as "Alice", approving as "Bob" from the same account: refused.
    p = run_cli(
        "approve", str(rid), "--key", "bob", "--meaning", "ok", "--reason", "x", *r, env=bob
    )
    assert p.returncode == 2 and "same OS account" in p.stderr
    p = run_cli(
        "approve", str(rid), "--key", "bob", "--meaning", "ok", "--reason", "x", *r,
        env={"MODELWARD_KEY_PASSPHRASE": "not-bobs-passphrase"},
    )  # fmt: skip
    assert p.returncode == 2
    assert p.stderr.strip() == (
        f"modelward: error: the passphrase for Bob's key ({bob_id}) is wrong"
    )
    p = run_cli("approvals", "list", "--json", *r)
    assert [a["id"] for a in json.loads(p.stdout)["approvals"]] == [rid]
    p = run_cli("approvals", "same-account", "allow", "--reason", "single-user demo", *r)
    p = run_cli(
        "approve", str(rid), "--key", "bob", "--meaning", "approved for production use",
        "--reason", "gates passed", "--json", *r, env=bob,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["decided_by"] == "Bob"
    p = run_cli("verify", "--json", *r)
    assert p.returncode == 0, p.stdout + p.stderr
    p = run_cli("reject", str(rid), "--key", "alice", "--reason", "no", *r, env=alice)
    assert p.returncode == 2 and "already approved" in p.stderr

    p = run_cli("alerts", "list", "--json", *r)
    assert json.loads(p.stdout)["unread"] == 1  # the promotion
    p = run_cli("alerts", "ack", "--all", "--json", *r)
    assert json.loads(p.stdout) == {"acknowledged": 1}
    p = run_cli("policy", "remove", "credit", "--reason", "done", *r)
    assert p.returncode == 0 and "removed" in p.stdout
    reg = Registry(home)
    assert reg.resolve("credit@champion").ref == "credit:2"
    reg.close()
