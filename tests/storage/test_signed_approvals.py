"""Approvals signed by people: personal keys, trusted keys, forged rows found, keys kept out."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from tests.support.models import register_file

from modelward.core import platform
from modelward.core.errors import InvalidInput, NotFound
from modelward.core.evidence.backup import backup
from modelward.core.evidence.bundles import create_key, export_bundle, list_keys
from modelward.core.evidence.bundles.keys import load_registry_signing_key
from modelward.core.identity import (
    WrongPassphrase,
    create_personal_key,
    find_personal_key,
    keys_home,
    list_personal_keys,
    registry_id,
    unlock,
)
from modelward.core.policies import approve, request_approval, set_policy
from modelward.core.policies.approvals import SelfApproval
from modelward.core.policies.keys import (
    KeyNotTrusted,
    allow_same_account,
    approve_key_trust,
    bootstrap_key,
    request_key_trust,
    trusted_keys,
    verify_approvals,
)
from modelward.core.policies.model import Policy
from modelward.core.registry import Registry
from support.models import write_joblib
from support.people import account, enrol, passphrase, person


@pytest.fixture
def reg(tmp_path):
    r = Registry(tmp_path / "reg")
    register_file(r, write_joblib(tmp_path / "a", seed=1), "m")
    register_file(r, write_joblib(tmp_path / "b", seed=2), "m")
    r.set_alias("m:1", "champion", "before any policy")
    set_policy(r, Policy(model="m", owner="Alice Analyst"))
    yield r
    r.close()


def _approved(reg, people):
    alice, bob = people["Alice Analyst"], people["Bob Checker"]
    with account("Alice Analyst"):
        req = request_approval(reg, "m:2", signer=alice, reason="v2 beats v1")
    with account("Bob Checker"):
        return approve(reg, req.id, bob, "approved for production use", "gates passed")


# --------------------------------------------------------------------------- personal keys
def test_a_personal_key_is_encrypted_private_and_outside_any_registry(reg):
    key = create_personal_key("Alice Analyst", "alice-passphrase")
    path = Path(key.path)
    assert path.is_relative_to(keys_home()) and not path.is_relative_to(reg.home)
    assert platform.is_owner_only(path) and (os.stat(path).st_mode & 0o777) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert list_personal_keys() == [key]
    assert find_personal_key("alice") == key and find_personal_key(key.key_id[:6]) == key
    assert unlock(key, "alice-passphrase").key == key
    with pytest.raises(WrongPassphrase) as e:
        unlock(key, "not-the-passphrase")
    assert str(e.value) == f"the passphrase for Alice Analyst's key ({key.key_id}) is wrong"
    with pytest.raises(InvalidInput, match="at least 8"):
        create_personal_key("Bob", "short")
    with pytest.raises(InvalidInput, match="needs a passphrase"):
        create_personal_key("Bob")


def test_the_passphrase_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MODELWARD_KEY_PASSPHRASE", "automation-pass")
    key = create_personal_key("Robot Reviewer")
    assert unlock("robot").key == key


def test_on_windows_a_private_key_gets_an_owner_only_acl(monkeypatch):
    """The Windows road, taken by injecting the platform: icacls with the user's SID."""
    calls: list[list[str]] = []

    class Done:
        returncode, stdout, stderr = 0, "processed 1 file", ""

    monkeypatch.setattr(platform, "IS_WINDOWS", True)
    monkeypatch.setattr(platform, "user_id", lambda: "S-1-5-21-1-2-3-1001")
    monkeypatch.setattr(platform, "_run_quiet", lambda cmd: calls.append(cmd) or Done())
    key = create_personal_key("Win User", "windows-passphrase")
    assert calls[0][1:] == [key.path, "/inheritance:r", "/grant:r", "*S-1-5-21-1-2-3-1001:F"]
    assert calls[1][2:] == ["/remove:g", "*S-1-1-0", "*S-1-5-11", "*S-1-5-32-545"]

    class Failed:
        returncode, stdout, stderr = 5, "", "Access is denied."

    monkeypatch.setattr(platform, "_run_quiet", lambda cmd: Failed())
    with pytest.raises(Exception, match="Access is denied"):
        create_personal_key("Other User", "windows-passphrase")
    assert len(list_personal_keys()) == 1  # no key left behind unprotected


# --------------------------------------------------------------------------- trust
def test_adding_a_trusted_key_is_a_four_eyes_change(reg):
    alice, bob, carol = person("Alice Analyst"), person("Bob Checker"), person("Carol")
    with account("Alice Analyst"):
        first = bootstrap_key(reg, alice, reason="first key of the registry")
        assert first.status == "trusted" and first.bootstrap
        with pytest.raises(InvalidInput, match="already trusts keys"):
            bootstrap_key(reg, carol, reason="me too")
    with account("Bob Checker"):
        request_key_trust(reg, bob, reason="checker")
        with pytest.raises(KeyNotTrusted, match="not trusted yet"):
            approve_key_trust(reg, bob.key.key_id, bob, reason="myself")
    with account("Carol"):
        request_key_trust(reg, carol, reason="analyst")
    with account("Bob Checker"), pytest.raises(InvalidInput, match="same OS account"):
        approve_key_trust(reg, bob.key.key_id, alice, reason="from Bob's seat")
    with account("Alice Analyst"):
        k = approve_key_trust(reg, bob.key.key_id, alice, reason="known colleague")
    assert (k.status, k.approved_by_key) == ("trusted", alice.key.key_id)
    with account("Bob Checker"):
        approve_key_trust(reg, carol.key.key_id, bob, reason="known colleague")
    actions = [e.action for e in reg.audit_events(action="key.", newest_first=False, limit=None)]
    assert actions == [
        "key.bootstrap",
        "key.trust_requested",
        "key.trust_requested",
        "key.trusted",
        "key.trusted",
    ]
    assert [k.status for k in trusted_keys(reg)] == ["trusted"] * 3
    assert verify_approvals(reg) == []


def test_an_untrusted_key_signs_nothing(reg):
    people = enrol(reg, "Alice Analyst", "Bob Checker")
    mallory = person("Mallory")
    with account("Mallory"), pytest.raises(KeyNotTrusted, match="not known to this registry"):
        request_approval(reg, "m:2", signer=mallory, reason="let me")
    with account("Alice Analyst"):
        req = request_approval(reg, "m:2", signer=people["Alice Analyst"], reason="v2")
    with account("Mallory"), pytest.raises(KeyNotTrusted):
        approve(reg, req.id, mallory, "approved", "let me")
    assert reg.resolve("m@champion").version == 1


# --------------------------------------------------------------------------- the case
def test_one_person_one_account_two_names_is_refused(reg):
    """Requesting as "Alice Analyst" and approving as "Bob Checker" from one OS account."""
    people = enrol(reg, "Alice Analyst", "Bob Checker")
    with account("Alice Analyst"):
        req = request_approval(reg, "m:2", signer=people["Alice Analyst"], reason="v2")
        with pytest.raises(SelfApproval, match="same OS account"):
            approve(reg, req.id, people["Bob Checker"], "approved for production use", "me")
    assert reg.resolve("m@champion").version == 1
    # Allowed only explicitly (a single-user demo), and audited: then the keys still differ.
    allow_same_account(reg, True, reason="single-user demo workspace")
    with account("Alice Analyst"):
        with pytest.raises(SelfApproval, match="same key"):
            approve(reg, req.id, people["Alice Analyst"], "approved", "mine")
        approve(reg, req.id, people["Bob Checker"], "approved for production use", "demo")
    assert reg.resolve("m@champion").version == 2
    (ev,) = reg.audit_events(action="approvals.same_account")
    assert ev.after == {"allowed": True} and ev.reason == "single-user demo workspace"
    assert verify_approvals(reg) == []


def test_the_policy_owner_cannot_approve_the_policys_own_request(reg):
    people = enrol(reg, "Alice Analyst", "Bob Checker")
    with account("policy-runner"):
        req = request_approval(
            reg, "m:2", requested_by="Alice Analyst", reason="policy run", policy_run_id=1
        )
    assert req.requested_key is None and req.request_sig is None
    with account("Alice Analyst"), pytest.raises(SelfApproval, match="owns the policy"):
        approve(reg, req.id, people["Alice Analyst"], "approved", "mine")


# --------------------------------------------------------------------------- verify
@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("UPDATE pol_approvals SET decided_by = 'Mallory'", "signature of Mallory"),
        ("UPDATE pol_approvals SET decision_reason = 'edited'", "does not match the decision"),
        ("UPDATE pol_approvals SET meaning = 'tested only'", "does not match the decision"),
        ("UPDATE pol_approvals SET version_ref = 'm:1'", "does not match the request"),
        ("UPDATE pol_approvals SET requested_by = 'Carol'", "signature of Carol"),
        ("UPDATE pol_approvals SET decision_sig = NULL", "decision is not signed"),
        ("UPDATE pol_approvals SET decided_key = requested_key", "same key"),
        ("UPDATE pol_approvals SET status = 'rejected'", "rejected but moved an alias"),
        ("DELETE FROM pol_approvals", "which is missing"),
        ("UPDATE trusted_keys SET name = 'Mallory' WHERE name = 'Bob Checker'", "Mallory"),
        ("UPDATE trusted_keys SET status = 'pending' WHERE name = 'Bob Checker'", "not trusted"),
    ],
)
def test_forged_or_edited_rows_are_found_by_verify(reg, sql, found):
    _approved(reg, enrol(reg, "Alice Analyst", "Bob Checker"))
    assert verify_approvals(reg) == []
    with reg.transaction() as tx:
        tx.q(sql)
    problems = verify_approvals(reg)
    assert any(found in p for p in problems), problems


def test_a_forged_approval_row_and_a_forged_key_are_found(reg):
    people = enrol(reg, "Alice Analyst", "Bob Checker")
    done = _approved(reg, people)
    mallory = person("Mallory")
    with reg.transaction() as tx:  # a forged key, "approved" by Alice with a copied signature
        row = tx.q("SELECT * FROM trusted_keys WHERE name = 'Bob Checker'").fetchall()[0]
        tx.q(
            "INSERT INTO trusted_keys VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [mallory.key.key_id, "Mallory", "m", "test:m", mallory.key.public_key, *row[5:]],
        )
        tx.q(  # a copy of the real approval, for another move, under Mallory's name
            "INSERT INTO pol_approvals SELECT id + 100, model_name, version_id, version_ref, "
            "'staging', comparison_id, policy_run_id, status, reason, requested_at, requested_by, "
            "requested_os_user, expires_at, decided_at, 'Mallory', decided_os_user, meaning, "
            "decision_reason, applied_at, requested_key, requested_account, request_sig, ?, "
            "decided_account, decision_sig FROM pol_approvals WHERE id = ?",
            [mallory.key.key_id, done.id],
        )
    problems = verify_approvals(reg)
    assert any("trust request signature does not match" in p for p in problems), problems
    assert any(f"approval request {done.id + 100}" in p for p in problems), problems


def test_cli_verify_names_an_edited_approval(reg, run_cli):
    _approved(reg, enrol(reg, "Alice Analyst", "Bob Checker"))
    with reg.transaction() as tx:
        tx.q("UPDATE pol_approvals SET decided_by = 'Someone Else'")
    reg.close()
    p = run_cli("verify", "--registry", str(reg.home))
    assert p.returncode != 0
    assert "signed approvals: approval request 1: the signature of Someone Else" in p.stderr


# --------------------------------------------------------------------------- key files
def test_key_files_are_never_in_the_registry_folder_nor_in_backups_or_bundles(reg, tmp_path):
    _approved(reg, enrol(reg, "Alice Analyst", "Bob Checker"))
    k = create_key(reg, "registry")
    assert Path(k.private_path).is_relative_to(keys_home() / "registries" / registry_id(reg))
    assert load_registry_signing_key(reg)[0] == k.key_id
    assert not [p for p in reg.home.rglob("*") if p.suffix in (".key", ".pem")]
    archive = tmp_path / "backup.zip"
    backup(reg, archive)
    export_bundle(reg, "m:2", tmp_path / "m.mwbundle")
    for path in (archive, tmp_path / "m.mwbundle"):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            assert not [n for n in names if n.endswith((".key", ".pem")) or "keys/" in n], names
            assert not any(b"PRIVATE KEY" in z.read(n) for n in names)


def test_an_old_key_in_the_registry_folder_moves_out_and_says_so(tmp_path, run_cli):
    home = tmp_path / "reg"
    reg = Registry(home)
    old = home / "keys"
    old.mkdir()
    # What an older ModelWard wrote: an unencrypted PEM and its .pub beside the database.
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    (old / "dev.key").write_bytes(pem)
    (old / "dev.key").chmod(0o644)
    reg.close()
    p = run_cli("keys", "list", "--registry", str(home))
    assert p.returncode == 0, p.stderr
    assert p.stderr.count("\n") == 1 and "moved this registry's signing key(s) dev.key" in p.stderr
    assert not old.exists()
    reg = Registry(home)
    moved = keys_home() / "registries" / registry_id(reg) / "dev.key"
    assert moved.read_bytes() == pem and platform.is_owner_only(moved)
    (ev,) = reg.audit_events(action="key.moved")
    assert ev.after["files"] == ["dev.key"]
    assert list_keys(reg) == []  # no .pub came along: nothing to list, nothing moved twice
    p = run_cli("keys", "list", "--registry", str(home))
    assert p.stderr == ""


def test_a_missing_personal_key_is_named(reg):
    with pytest.raises(NotFound, match="keys init"):
        find_personal_key()
    create_personal_key("Alice Analyst", passphrase("Alice Analyst"))
    create_personal_key("Alice Other", passphrase("Alice Other"))
    with pytest.raises(InvalidInput, match="more than one"):
        find_personal_key()


def test_two_forged_keys_vouching_for_each_other_are_found(reg):
    enrol(reg, "Alice Analyst", "Bob Checker")
    from modelward.core.policies.keys import (
        TRUSTED,
        TrustedKey,
        trust_approval_record,
        trust_request_record,
    )

    a, b = person("Mallory"), person("Mallet")
    rows = []
    for me, other in ((a, b), (b, a)):
        k = TrustedKey(
            me.key.key_id, me.key.name, "m", "test:m", me.key.public_key, TRUSTED, "forged",
            "2026-01-01T00:00:00Z", "", other.key.key_id, "2026-01-01T00:00:01Z", None,
        )  # fmt: skip
        k = TrustedKey(**{**k.to_json(), "request_sig": me.sign(trust_request_record(k))})
        sig = other.sign(trust_approval_record(k, other.key.key_id, k.approved_at))
        rows.append([*k.to_json().values()][:-1] + [sig])
    with reg.transaction() as tx:
        for row in rows:
            tx.q("INSERT INTO trusted_keys VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)
    problems = verify_approvals(reg)
    assert sum("was not admitted through keys this registry trusted" in p for p in problems) == 2
    assert not [p for p in problems if "Alice" in p or "Bob" in p], problems
