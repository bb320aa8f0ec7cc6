"""Maker–checker in the window: a signed approval moves the alias; the requester cannot sign."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import Qt

from modelward.core.identity import list_personal_keys
from modelward.core.policies import list_approvals, pending_approvals, request_approval
from modelward.core.policies.keys import trusted_keys
from support.people import account, enrol, passphrase
from support.policy_ui import OWNER, protected_registry

CHECKER = "Bob Checker"


@pytest.fixture
def window(make_main_window, qtbot, tmp_path):
    reg = protected_registry(tmp_path)
    people = enrol(reg, OWNER, CHECKER, "Carol Risk")
    with account(OWNER):
        request_approval(reg, "m:2", signer=people[OWNER], reason="v2 beats v1 on the holdout")
    win = make_main_window(reg)
    win.people = people
    center = win.policies
    qtbot.waitUntil(lambda: len(center.snapshot.pending) == 1, timeout=10_000)
    return win


def _choose(dlg, who: str, secret: str | None = None) -> None:
    key = next(k for k in list_personal_keys() if k.name == who)
    dlg.key.setCurrentIndex(dlg.key.findData(key.key_id))
    dlg.passphrase.setText(passphrase(who) if secret is None else secret)


def _sign(qtbot, window, who: str, reason: str, secret: str | None = None):
    center = window.policies
    page = center.approvals_page
    center.show(center.approvals_index)
    assert center.approvals_badge.count() == 1
    page.pending.selectRow(0)
    page.approve_button.click()
    dlg = center.signature_dialog
    assert window.registry.actor in dlg.signing_label.text()  # the OS user who signs
    assert not dlg.ok_button.isEnabled()  # passphrase and reason are required
    assert dlg.key.count() == 3  # the keys this OS account holds
    _choose(dlg, who, secret)
    dlg.reason.setPlainText(reason)
    assert dlg.meaning.currentText() == "approved for production use"
    assert dlg.ok_button.isEnabled()
    return dlg


def test_a_second_person_approves_and_the_alias_moves_with_a_signature(window, qtbot):
    reg, center = window.registry, window.policies
    dlg = _sign(qtbot, window, CHECKER, "gates passed; reviewed the report")
    with qtbot.waitSignal(window.jobs.sig_job_finished, timeout=30_000):
        qtbot.mouseClick(dlg.ok_button, Qt.MouseButton.LeftButton)
    # The dialog closes and is deleted (WA_DeleteOnClose): gone or hidden both count.
    qtbot.waitUntil(lambda: not shiboken6.isValid(dlg) or not dlg.isVisible(), timeout=10_000)
    assert reg.resolve("m@champion").version == 2
    sig = reg.audit_events(action="approval.approved", limit=1)[0]
    assert sig.after["signed_by"] == CHECKER
    assert sig.after["key_id"] == window.people[CHECKER].key.key_id and sig.after["signature"]
    assert sig.after["meaning"] == "approved for production use"
    assert sig.after["os_user"] == reg.actor
    assert sig.after["signed_at"]
    assert sig.reason == "gates passed; reviewed the report"
    # The decided request moves to the history, the badge goes away.
    qtbot.waitUntil(lambda: center.approvals_badge.count() == 0, timeout=10_000)
    qtbot.waitUntil(lambda: center.approvals_page.history.model().rowCount() == 1, timeout=10_000)
    assert center.approvals_page.history.model().index(0, 1).data() == "approved"


def test_the_requester_cannot_approve_their_own_request(window, qtbot):
    reg = window.registry
    dlg = _sign(qtbot, window, OWNER, "looks fine to me")
    with qtbot.waitSignal(window.jobs.sig_job_failed, timeout=30_000):
        dlg.ok_button.click()
    qtbot.waitUntil(dlg.error_label.isVisible, timeout=10_000)
    assert "cannot also approve it" in dlg.error_label.text()
    assert "four-eyes" in dlg.error_label.text()
    assert dlg.isVisible() and dlg.passphrase.text() == ""  # choose another key and sign again
    # One person, one OS account, another name: refused as well.
    _choose(dlg, CHECKER)
    with account(OWNER), qtbot.waitSignal(window.jobs.sig_job_failed, timeout=30_000):
        dlg.ok_button.click()
    qtbot.waitUntil(lambda: "same OS account" in dlg.error_label.text(), timeout=10_000)
    assert reg.resolve("m@champion").version == 1
    assert len(pending_approvals(reg)) == 1
    dlg.reject()


def test_a_wrong_passphrase_is_one_sentence_and_the_dialog_stays(window, qtbot):
    dlg = _sign(qtbot, window, CHECKER, "gates passed", secret="not-my-passphrase")
    with qtbot.waitSignal(window.jobs.sig_job_failed, timeout=30_000):
        dlg.ok_button.click()
    qtbot.waitUntil(dlg.error_label.isVisible, timeout=10_000)
    key_id = window.people[CHECKER].key.key_id
    assert dlg.error_label.text() == f"the passphrase for {CHECKER}'s key ({key_id}) is wrong"
    assert window.registry.resolve("m@champion").version == 1
    dlg.reject()


def test_a_refused_alias_move_offers_to_request_approval(make_main_window, qtbot, tmp_path):
    reg = protected_registry(tmp_path)
    enrol(reg, OWNER)
    win = make_main_window(reg)
    center = win.policies
    with qtbot.waitSignal(center.sig_approval_needed, timeout=30_000) as refused:
        win.set_alias("m:2", "champion", "v2 is better")
    assert "protected by four-eyes" in refused.args[0].message
    box = center.request_box
    assert "protected by four-eyes" in box.informativeText()
    ask = next(b for b in box.buttons() if b.text() == "Request approval…")
    ask.click()
    dlg = center.request_dialog
    assert dlg.reason.toPlainText() == "v2 is better"
    assert not dlg.ok_button.isEnabled()  # the passphrase of the key is needed
    _choose(dlg, OWNER)
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=30_000):
        dlg.ok_button.click()
    (req,) = pending_approvals(reg)
    assert (req.version_ref, req.alias, req.requested_by) == ("m:2", "champion", OWNER)
    assert req.request_sig and req.requested_key == dlg_key(OWNER)
    assert reg.resolve("m@champion").version == 1
    qtbot.waitUntil(lambda: center.approvals_badge.count() == 1, timeout=10_000)


def dlg_key(who: str) -> str:
    return next(k.key_id for k in list_personal_keys() if k.name == who)


def test_a_new_key_is_created_from_the_dialog_and_trusted(make_main_window, qtbot, tmp_path):
    reg = protected_registry(tmp_path)
    win = make_main_window(reg)
    center = win.policies
    with qtbot.waitSignal(center.sig_approval_needed, timeout=30_000):
        win.set_alias("m:2", "champion", "v2 is better")
    next(b for b in center.request_box.buttons() if b.text() == "Request approval…").click()
    dlg = center.request_dialog
    assert dlg.key.currentData() == ""  # no key yet
    dlg.picker.new_key_button.click()
    kd = center.key_dialog
    kd.name.setText("Dana Analyst")
    kd.passphrase.setText("dana-passphrase")
    assert not kd.ok_button.isEnabled()  # typed twice
    kd.again.setText("dana-passphrase")
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=30_000):
        qtbot.mouseClick(kd.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.key.currentData() == dlg_key("Dana Analyst"), timeout=10_000)
    (k,) = trusted_keys(reg)
    assert (k.name, k.status, k.bootstrap) == ("Dana Analyst", "trusted", True)
    dlg.passphrase.setText("dana-passphrase")
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=30_000):
        dlg.ok_button.click()
    (req,) = pending_approvals(reg)
    assert req.requested_by == "Dana Analyst"


def test_reject_is_signed_too(window, qtbot):
    reg, center = window.registry, window.policies
    center.approvals_page.pending.selectRow(0)
    center.approvals_page.reject_button.click()
    dlg = center.signature_dialog
    _choose(dlg, "Carol Risk")
    dlg.reason.setPlainText("no validation on recent data")
    with qtbot.waitSignal(window.jobs.sig_job_finished, timeout=30_000):
        dlg.ok_button.click()
    (req,) = list_approvals(reg)
    assert (req.status, req.decided_by, req.meaning) == ("rejected", "Carol Risk", "rejected")
    assert reg.resolve("m@champion").version == 1
