"""The window end to end: register -> set alias -> audit view; welcome; drop; jobs; settings."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from modelward.ui.actions import Ids as Actions
from support.models import write_joblib


def _finish(qtbot, win, start, timeout=30_000):
    """Start a job with ``start()`` and wait for its finished (or failed) signal."""
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=timeout) as blocker:
        job_id = start()
    assert blocker.args[0] == job_id
    return job_id


def test_register_set_alias_and_audit_through_the_window(
    qtbot, make_main_window, tmp_path, wait_loaded
):
    from modelward.ui.dialogs.alias import AliasDialog
    from modelward.ui.main_window import Page, RegistryView

    win = make_main_window()
    wait_loaded(win.versions_model)
    assert win.registry_stack.currentIndex() == RegistryView.WELCOME

    f1 = write_joblib(tmp_path / "credit model.joblib", seed=1)
    f2 = write_joblib(tmp_path / "credit model v2.joblib", seed=2)
    _finish(qtbot, win, lambda: win.register_files([str(f1)], "credit"))
    _finish(qtbot, win, lambda: win.register_files([str(f2)], "credit"))
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 2, timeout=10_000)
    assert win.registry_stack.currentIndex() == RegistryView.TABLE

    # Open the model page from the table, as a double-click would.
    with qtbot.waitSignal(win.sig_model_page_loaded, timeout=10_000):
        win.registry_page.sig_version_activated.emit("credit:2")
    assert win.registry_stack.currentIndex() == RegistryView.MODEL
    assert win.model_page.versions.model().rowCount() == 2

    # Set the alias through the dialog: the reason is required.
    win.model_page.alias_button.click()
    dlg = win.findChild(AliasDialog)
    assert dlg is not None
    dlg.alias.setCurrentText("champion")
    dlg.version.setCurrentIndex(dlg.version.findData(2))
    assert not dlg.ok_button.isEnabled()
    dlg.reason.setPlainText("best ROC AUC on the March hold-out")
    assert dlg.ok_button.isEnabled()
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=10_000):
        dlg.ok_button.click()
    assert win.registry.resolve("credit@champion").version == 2
    qtbot.waitUntil(lambda: "champion" in win.model_page.data.aliases, timeout=10_000)
    assert win.model_page.alias_table.model().rowCount() == 1
    assert (
        win.model_page.alias_table.model().index(0, 4).data()
        == "best ROC AUC on the March hold-out"
    )

    # The audit view shows it, filtered by action.
    win.show_page(Page.AUDIT)
    win.audit_page.action.setCurrentText("alias")
    with qtbot.waitSignal(win.audit_model.sig_loaded, timeout=10_000):
        win.audit_page.apply_filter()
    assert win.audit_model.rowCount() == 1
    assert win.audit_model.index(0, 3).data() == "alias.set"
    assert win.audit_model.index(0, 5).data() == "best ROC AUC on the March hold-out"
    # Verify chain reports the result.
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=10_000):
        win.verify_chain()
    assert "Chain intact" in win.audit_page.verify_label.text()
    # An edit behind ModelWard's back (no event): the window's verify names it, as the CLI does.
    with win.registry._lease() as con:
        con.execute("UPDATE versions SET status = 'forged' WHERE version = 1")
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=30_000):
        win.acts[Actions.VERIFY].trigger()
    text = win.audit_page.verify_label.text()
    assert text.startswith("✗") and "versions" in text, text


def test_search_box_filters_and_reports_bad_syntax(qtbot, make_main_window, tmp_path):
    win = make_main_window()
    f = write_joblib(tmp_path / "churn.joblib")
    _finish(qtbot, win, lambda: win.register_files([str(f)]))
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 1, timeout=10_000)
    page = win.registry_page
    page.search.setText("roc_auc>high")
    page.apply_search()
    assert page.error_label.isVisible()
    assert "not a number" in page.error_label.text()
    assert win.versions_model.rowCount() == 1
    page.search.setText("name:nothing-like-this")
    with qtbot.waitSignal(win.versions_model.sig_loaded, timeout=10_000):
        page.apply_search()
    assert win.versions_model.rowCount() == 0
    assert not page.error_label.isVisible()
    assert page.empty_label.isVisible()  # an empty search result is not the welcome page


def test_welcome_page_creates_the_demo_workspace(qtbot, make_main_window, wait_loaded):
    from modelward.ui.main_window import RegistryView

    win = make_main_window()
    wait_loaded(win.versions_model)
    assert win.registry_stack.currentIndex() == RegistryView.WELCOME
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=180_000) as finished:
        win.welcome_page.demo_button.click()
    assert finished.args[1].startswith("Demo workspace ready: champion credit-risk:")
    # The same workspace as `modelward demo`: built in a worker process, it
    # reaches the window through the registry (the poll sees the change).
    qtbot.waitUntil(lambda: win.versions_model.rowCount() >= 4, timeout=30_000)
    assert win.registry_stack.currentIndex() == RegistryView.TABLE
    headers = [win.versions_model.headerData(c, Qt.Orientation.Horizontal) for c in range(10)]
    assert headers[7:10] == ["ROC AUC", "Accuracy", "F1"]
    n = win.versions_model.rowCount()
    qtbot.waitUntil(lambda: all(win.versions_model.index(r, 0).data() != "…" for r in range(n)))
    names = {win.versions_model.index(r, 0).data() for r in range(n)}
    assert {"credit-risk", "credit-loop"} <= names
    aliases = " ".join(win.versions_model.index(r, 2).data() for r in range(n))
    assert "champion" in aliases
    job = win.jobs.runner.jobs()[-1]
    assert any("monthly batches checked" in line for line in job.log)


def test_a_drag_over_the_window_warms_the_sandbox_up(qtbot, make_main_window, tmp_path):
    """The trust sandbox's worker starts while the file is still being dragged."""
    from PySide6.QtGui import QDragEnterEvent

    from modelward.core.artifacts.sandbox import Sandbox, set_default_sandbox
    from modelward.ui import bridge

    win = make_main_window()
    sandbox = Sandbox()
    previous = set_default_sandbox(sandbox)
    bridge._warming.clear()
    try:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(write_joblib(tmp_path / "m.joblib")))])
        event = QDragEnterEvent(
            QPoint(50, 50),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        win.dragEnterEvent(event)
        assert event.isAccepted()
        qtbot.waitUntil(lambda: sandbox.workers_started == 1, timeout=30_000)
        win.dragLeaveEvent(None)
        assert not win.drop_overlay.isVisible()
    finally:
        set_default_sandbox(previous)
        sandbox.close()


def test_dropping_files_and_a_folder_registers_them_and_rejections_are_one_sentence(
    qtbot, make_main_window, tmp_path
):
    win = make_main_window()
    folder = tmp_path / "inbox"
    folder.mkdir()
    write_joblib(folder / "a.joblib", seed=1)
    write_joblib(folder / "b.joblib", seed=2)
    (folder / "notes.txt").write_text("not a model")
    bad = tmp_path / "broken.pkl"
    bad.write_bytes(b"this is not a pickle at all")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder)), QUrl.fromLocalFile(str(bad))])
    event = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=30_000) as blocker:
        win.dropEvent(event)
    summary = blocker.args[1]
    assert sorted(summary.registered) == ["a:1", "b:1"]
    assert [name for name, _ in summary.failed] == ["broken.pkl"]
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 2, timeout=10_000)
    job = win.jobs.runner.jobs()[-1]
    assert any("broken.pkl" in line for line in job.log)
    assert not any("Traceback" in line for line in job.log)

    # A single bad file fails the job with one sentence, shown in the jobs panel.
    with qtbot.waitSignal(win.jobs.sig_job_failed, timeout=30_000) as failed:
        win.register_files([str(bad)])
    message = failed.args[1]
    assert "broken.pkl" in message
    assert "\n" not in message
    assert "Traceback" not in message
    win.jobs_page.select_job(failed.args[0])
    assert win.jobs_page.d_error.text() == message


def test_cancel_a_running_job_from_the_jobs_panel(qtbot, make_main_window):
    import threading

    from modelward.ui.main_window import Page

    win = make_main_window()
    started = threading.Event()

    def slow(ctx):
        started.set()
        while True:
            ctx.raise_if_cancelled()
            ctx.progress(0.3, "working")
            threading.Event().wait(0.01)

    with qtbot.waitSignal(win.jobs.sig_job_started, timeout=5000):
        job_id = win.jobs.submit("train", "endless training", slow)
    win.show_page(Page.JOBS)
    win.jobs_page.select_job(job_id)
    qtbot.waitUntil(win.jobs_page.cancel_button.isEnabled, timeout=5000)
    assert "endless training" in win.jobs_label.text()
    with qtbot.waitSignal(win.jobs.sig_job_cancelled, timeout=5000):
        win.jobs_page.cancel_button.click()
    qtbot.waitUntil(lambda: not win.jobs_page.cancel_button.isEnabled(), timeout=5000)
    assert win.jobs_model.index(0, 2).data() == "Cancelled"


def test_changes_from_another_process_show_up(
    qtbot, make_main_window, tmp_path, run_cli, wait_loaded
):
    win = make_main_window()
    wait_loaded(win.versions_model)
    qtbot.waitUntil(lambda: win._head is not None, timeout=10_000)  # knows the current head
    f = write_joblib(tmp_path / "outside.joblib")
    # The CLI gets in while the window is open (the window releases the file between reads).
    r = run_cli("--registry", str(win.registry.home), "register", str(f), "--name", "outside")
    assert r.returncode == 0, r.stderr
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 1, timeout=15_000)


def test_settings_and_layout_are_restored(qtbot, make_main_window):
    from modelward.ui.main_window import Page

    win = make_main_window()
    win.resize(760, 560)
    win.show_page(Page.AUDIT)
    win.shutdown()
    again = make_main_window(theme="dark")
    assert again.pages.currentIndex() == Page.AUDIT
    assert (again.width(), again.height()) == (760, 560)
    dlg = again.open_settings()
    assert dlg.theme.currentData() == "dark"
    dlg.metrics.setValue(1)
    dlg.accept()
    assert again.settings.key_metric_columns == 1


def test_shortcuts_exist_for_the_main_actions(make_main_window):

    win = make_main_window()
    for name, keys in [
        (Actions.REGISTER, "Ctrl+O"),
        (Actions.FIND, "Ctrl+F"),
        (Actions.REFRESH, "F5"),
        (Actions.VERIFY, "Ctrl+Shift+V"),
        (Actions.PAGE_JOBS, "Ctrl+2"),
        (Actions.SETTINGS, "Ctrl+,"),
    ]:
        act = win.findChild(type(win.actions()[0]), name)
        assert act is not None, name
        assert act.shortcut().toString() == keys


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the leak concerns Python 3.11")
def test_pyside_does_not_leak_none_references():
    """PySide6 6.12.0 on Python 3.11 leaks a None reference per void call (we pin < 6.12)."""
    from PySide6.QtGui import QPainterPath

    path = QPainterPath()
    path.moveTo(0, 0)
    before = sys.getrefcount(None)
    for i in range(1000):
        path.moveTo(i, i)
    after = sys.getrefcount(None)
    assert after >= before - 10, f"None refcount fell by {before - after} in 1000 calls"


def test_the_window_keeps_imported_objects_out_of_full_collections(
    qtbot, make_main_window, tmp_path, monkeypatch
):
    """After an import, the 1 s tick freezes what exists: full passes walk little."""
    import gc

    make_main_window()
    (tmp_path / "mw_fresh_module.py").write_text("TABLE = [[i] for i in range(20000)]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = gc.get_freeze_count()
    import mw_fresh_module  # noqa: F401  (20,000 new long-lived lists)

    qtbot.waitUntil(lambda: gc.get_freeze_count() >= before + 20_000, timeout=5_000)
    assert len(gc.get_objects()) < 20_000  # what a full collection still walks
