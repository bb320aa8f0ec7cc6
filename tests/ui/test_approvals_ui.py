"""Maker–checker in the window: a signed approval moves the alias; the requester cannot sign."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtCore import Qt

from modelward.core.policies import list_approvals, pending_approvals, request_approval
from support.policy_ui import OWNER, protected_registry


@pytest.fixture
def window(make_main_window, qtbot, tmp_path):
    reg = protected_registry(tmp_path)
    request_approval(reg, "m:2", requested_by=OWNER, reason="v2 beats v1 on the holdout")
    win = make_main_window(reg)
    center = win.policies
    qtbot.waitUntil(lambda: len(center.snapshot.pending) == 1, timeout=10_000)
    return win


def _sign(qtbot, window, name: str, reason: str):
    center = window.policies
    page = center.approvals_page
    center.show(center.approvals_index)
    assert center.approvals_badge.count() == 1
    page.pending.selectRow(0)
    page.approve_button.click()
    dlg = center.signature_dialog
    assert window.registry.actor in dlg.signing_label.text()  # the OS user who signs
    assert not dlg.ok_button.isEnabled()  # name and reason are required
    dlg.name.setText(name)
    dlg.reason.setPlainText(reason)
    assert dlg.meaning.currentText() == "approved for production use"
    return dlg


def test_a_second_person_approves_and_the_alias_moves_with_a_signature(window, qtbot):
    reg, center = window.registry, window.policies
    dlg = _sign(qtbot, window, "Bob Checker", "gates passed; reviewed the report")
    with qtbot.waitSignal(window.jobs.sig_job_finished, timeout=30_000):
        qtbot.mouseClick(dlg.ok_button, Qt.MouseButton.LeftButton)
    # The dialog closes and is deleted (WA_DeleteOnClose): gone or hidden both count.
    qtbot.waitUntil(lambda: not shiboken6.isValid(dlg) or not dlg.isVisible(), timeout=10_000)
    assert reg.resolve("m@champion").version == 2
    sig = reg.audit_events(action="approval.approved", limit=1)[0]
    assert sig.after["signed_by"] == "Bob Checker"
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
    dlg = _sign(qtbot, window, "  alice MAKER ", "looks fine to me")
    with qtbot.waitSignal(window.jobs.sig_job_failed, timeout=30_000):
        dlg.ok_button.click()
    qtbot.waitUntil(dlg.error_label.isVisible, timeout=10_000)
    assert "cannot also approve it" in dlg.error_label.text()
    assert "four-eyes" in dlg.error_label.text()
    assert dlg.isVisible() and dlg.ok_button.isEnabled()  # fix the name and sign again
    assert reg.resolve("m@champion").version == 1
    assert len(pending_approvals(reg)) == 1
    dlg.reject()


def test_a_refused_alias_move_offers_to_request_approval(make_main_window, qtbot, tmp_path):
    win = make_main_window(protected_registry(tmp_path))
    center, reg = win.policies, win.registry
    with qtbot.waitSignal(center.sig_approval_needed, timeout=30_000) as refused:
        win.set_alias("m:2", "champion", "v2 is better")
    assert "protected by four-eyes" in refused.args[0].message
    box = center.request_box
    assert "protected by four-eyes" in box.informativeText()
    ask = next(b for b in box.buttons() if b.text() == "Request approval…")
    ask.click()
    dlg = center.request_dialog
    assert dlg.reason.toPlainText() == "v2 is better"
    dlg.requested_by.setText(OWNER)
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=30_000):
        dlg.ok_button.click()
    (req,) = pending_approvals(reg)
    assert (req.version_ref, req.alias, req.requested_by) == ("m:2", "champion", OWNER)
    assert reg.resolve("m@champion").version == 1
    qtbot.waitUntil(lambda: center.approvals_badge.count() == 1, timeout=10_000)


def test_reject_is_signed_too(window, qtbot):
    reg, center = window.registry, window.policies
    center.approvals_page.pending.selectRow(0)
    center.approvals_page.reject_button.click()
    dlg = center.signature_dialog
    dlg.name.setText("Carol Risk")
    dlg.reason.setPlainText("no validation on recent data")
    with qtbot.waitSignal(window.jobs.sig_job_finished, timeout=30_000):
        dlg.ok_button.click()
    (req,) = list_approvals(reg)
    assert (req.status, req.decided_by, req.meaning) == ("rejected", "Carol Risk", "rejected")
    assert reg.resolve("m@champion").version == 1
