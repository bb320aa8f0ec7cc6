"""Evidence actions in the window: report, bundle export/import (verified first), backup, restore."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelward.core.registry import Registry
from support.policy_ui import protected_registry


@pytest.fixture
def window(make_main_window, tmp_path):
    return make_main_window(protected_registry(tmp_path))


def test_a_report_job_writes_an_html_file(window, qtbot, tmp_path):
    out = tmp_path / "out" / "m-v1.html"
    out.parent.mkdir()
    with qtbot.waitSignal(window.jobs.sig_job_finished, timeout=60_000) as done:
        window.evidence.report("m:1", str(out))
    assert done.args[1].kind == "report"
    html = out.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "m:1" in html
    assert window.registry.audit_events(action="report.generated", limit=1)


def test_an_unknown_report_extension_is_a_failed_job_with_a_sentence(window, qtbot, tmp_path):
    with qtbot.waitSignal(window.jobs.sig_job_failed, timeout=30_000) as failed:
        window.evidence.report("m:1", str(tmp_path / "m.docx"))
    assert "must end in .html or .pdf" in failed.args[1]


def test_an_unsigned_bundle_needs_a_reasoned_acceptance(window, qtbot, tmp_path):
    center, reg = window.evidence, window.registry
    bundle = tmp_path / "m-v2.mwb"
    with qtbot.waitSignal(window.jobs.sig_job_finished, timeout=60_000):
        center.export("m:2", str(bundle), unsigned=True)
    assert bundle.is_file()
    with qtbot.waitSignal(window.jobs.sig_job_finished, timeout=60_000):
        center.inspect_bundle(str(bundle))
    dlg = center.import_dialog
    assert dlg.check.signed_by is None
    assert "not signed" in dlg.summary.toPlainText()
    assert not dlg.ok_button.isEnabled()
    dlg.accept_box.setChecked(True)
    assert not dlg.ok_button.isEnabled()  # a reason is required too
    dlg.reason.setPlainText("our own export from the training workstation")
    dlg.name.setText("m-imported")
    assert dlg.ok_button.isEnabled()
    with qtbot.waitSignal(window.jobs.sig_job_finished, timeout=60_000) as done:
        dlg.ok_button.click()
    assert done.args[1].result.ref == "m-imported:1"
    assert reg.resolve("m-imported:1").sha256 == reg.resolve("m:2").sha256
    ev = reg.audit_events(action="bundle.accepted_unverified", limit=1)
    assert ev and ev[0].reason == "our own export from the training workstation"


def test_a_signed_bundle_is_verified_with_a_new_key(window, qtbot, tmp_path):
    center = window.evidence
    bundle = tmp_path / "m-v1.mwb"
    with qtbot.waitSignal(window.jobs.sig_job_finished, timeout=60_000) as done:
        center.export("m:1", str(bundle), new_key="site-key")
    assert done.args[1].result["signed_by"]
    with qtbot.waitSignal(window.jobs.sig_job_finished, timeout=60_000):
        center.inspect_bundle(str(bundle))
    # Our own key is not a trusted signer until someone trusts it: the origin is not proven.
    assert "not trust" in center.import_dialog.check.unverified
    center.import_dialog.reject()


def test_backup_then_restore_into_another_folder(window, qtbot, tmp_path):
    center = window.evidence
    archive = tmp_path / "backups" / "reg.mwbak"
    with qtbot.waitSignal(window.jobs.sig_job_finished, timeout=60_000):
        center.backup(str(archive))
    assert archive.is_file()
    dlg = center.open_restore_dialog(str(archive))
    from PySide6.QtWidgets import QLabel

    texts = " ".join(w.text() for w in dlg.findChildren(QLabel))
    assert "verified completely first" in texts and "set aside" in texts  # it explains
    target = tmp_path / "restored"
    dlg.target.setText(str(target))
    with qtbot.waitSignal(window.jobs.sig_job_finished, timeout=60_000) as done:
        dlg.ok_button.click()
    assert done.args[1].kind == "restore"
    with Registry(target) as restored:
        assert restored.resolve("m@champion").version == 1
        assert restored.audit_events(action="registry.restored", limit=1)


def test_restoring_over_the_open_registry_is_refused(window, qtbot, tmp_path):
    center = window.evidence
    archive = tmp_path / "reg.mwbak"
    with qtbot.waitSignal(window.jobs.sig_job_finished, timeout=60_000):
        center.backup(str(archive))
    with qtbot.waitSignal(window.jobs.sig_job_failed, timeout=60_000) as failed:
        center.restore(str(archive), str(window.registry.home))
    assert "has that registry open" in failed.args[1]
    assert Path(window.registry.db_path).is_file()


def test_the_actions_are_where_a_user_looks(window):
    from modelward.ui.actions import Ids as PolicyActions

    names = {a.objectName() for a in window.actions()}
    assert {PolicyActions.BACKUP, PolicyActions.RESTORE, PolicyActions.IMPORT} <= names
    center = window.evidence
    assert center.evidence_button.parent() is window.model_page
    assert [a.text() for a in center.evidence_button.menu().actions()] == [
        "Report… (HTML or PDF)",
        "Export bundle…",
        "Import bundle…",
    ]
