"""Every action of the window, triggered the way a user does: it opens its dialog or page.

The actions come from ``ui.actions.ACTIONS``; a new action without an
expectation here fails the test, so none is forgotten.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from modelward.ui.actions import ACTIONS, Ids
from modelward.ui.main_window import MainWindow, Page, RegistryView
from support.policy_ui import protected_registry


class Closer:
    """Closes every modal dialog as it appears (static file dialogs block in ``trigger``)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        w = QApplication.activeModalWidget()
        if w is None:
            return
        self.seen.append(type(w).__name__)
        if isinstance(w, QDialog):
            w.reject()
        else:
            w.close()

    def stop(self) -> None:
        self.timer.stop()


def _top_levels() -> set[QWidget]:
    return {w for w in QApplication.topLevelWidgets() if w.isVisible()}


Check = Callable[[MainWindow, list[str], list[QWidget]], bool]


def _page(page: int) -> Check:
    return lambda w, seen, new: w.pages.currentIndex() == page


def _modal(name: str) -> Check:
    return lambda w, seen, new: name in seen


def _window_with(cls_name: str) -> Check:
    def check(w: MainWindow, seen: list[str], new: list[QWidget]) -> bool:
        for top in new:
            if type(top).__name__ == cls_name:
                return True
            if any(type(c).__name__ == cls_name for c in top.findChildren(QWidget)):
                return True
        return False

    return check


def _job(title: str) -> Check:
    return lambda w, seen, new: any(j.title == title for j in w.jobs.runner.jobs())


EXPECT: dict[str, Check] = {
    Ids.REGISTER: _modal("QFileDialog"),
    Ids.WATCH: _modal("QFileDialog"),
    Ids.DEMO: _job("Create demo workspace"),
    Ids.IMPORT: _modal("QFileDialog"),
    Ids.BACKUP: _modal("QFileDialog"),
    Ids.RESTORE: _modal("QFileDialog"),
    Ids.SETTINGS: _modal("SettingsDialog"),
    Ids.QUIT: lambda w, seen, new: not w.isVisible(),
    Ids.PAGE_REGISTRY: _page(Page.REGISTRY),
    Ids.PAGE_JOBS: _page(Page.JOBS),
    Ids.PAGE_AUDIT: _page(Page.AUDIT),
    Ids.PAGE_WATCH: _page(Page.WATCH),
    Ids.PAGE_MONITORING: _page(Page.MONITORING),
    Ids.PAGE_ALERTS: lambda w, seen, new: w.pages.currentIndex() == w.policies.alerts_index,
    Ids.PAGE_APPROVALS: lambda w, s, n: w.pages.currentIndex() == w.policies.approvals_index,
    Ids.PAGE_POLICIES: lambda w, s, n: w.pages.currentIndex() == w.policies.policies_index,
    Ids.PAGE_SCORING: lambda w, s, n: w.pages.currentWidget() is w.scoring.page,
    Ids.FIND: _page(Page.REGISTRY),
    Ids.REFRESH: lambda w, seen, new: not w.versions_model.loading,
    Ids.BACK: lambda w, seen, new: (
        w.pages.currentIndex() == Page.REGISTRY
        and w.registry_stack.currentIndex() != RegistryView.MODEL
    ),
    Ids.TRAIN: _window_with("TrainingDialog"),
    Ids.VALIDATE: _window_with("ValidationPage"),
    Ids.COMPARE_ON_DATA: _window_with("ComparePage"),
    # nothing selected here: it says how to select (tests/ui/test_compare_many.py opens it)
    Ids.COMPARE_SELECTED: lambda w, seen, new: (
        "two or more" in w.statusBar().currentMessage()
        or _window_with("CompareManyPage")(w, seen, new)
    ),
    Ids.REPORT: _modal("QFileDialog"),
    Ids.EXPORT: _modal("ExportDialog"),
    Ids.POLICY: _modal("PolicyDialog"),
    Ids.VERIFY: lambda w, seen, new: (
        w.pages.currentIndex() == Page.AUDIT and _job("Verify audit chain")(w, seen, new)
    ),
    Ids.RUN_DUE: lambda w, seen, new: w.policies._due is None and bool(w.policies._bg_seen),
    Ids.ABOUT: _modal("QMessageBox"),
}
NEEDS_A_VERSION = {Ids.REPORT, Ids.EXPORT, Ids.POLICY}


def test_every_declared_action_has_an_expectation():
    assert {s.id for s in ACTIONS} == set(EXPECT)
    assert len({s.id for s in ACTIONS}) == len(ACTIONS)


def _trigger_all(qtbot, win: MainWindow, *, populated: bool) -> None:
    qtbot.waitUntil(lambda: not win.versions_model.loading, timeout=10_000)
    win.policies._bg_seen = []
    win.policies.sig_background_done.connect(lambda *a: win.policies._bg_seen.append(a))
    errors: list[str] = []
    specs = sorted(ACTIONS, key=lambda s: s.id == Ids.QUIT)  # quit last
    for spec in specs:
        act = win.acts[spec.id]
        assert act is win.findChild(type(act), spec.id)  # the menus' action is this one
        if spec.id in NEEDS_A_VERSION:
            if not populated:
                win.show_table()
                assert not act.isEnabled(), f"{spec.id} enabled without a model shown"
                act.trigger()  # a disabled action does nothing, and raises nothing
                continue
            win.open_model("m")
            qtbot.waitUntil(lambda: win.model_page.data is not None, timeout=10_000)
            assert act.isEnabled(), spec.id
        before = _top_levels()
        closer = Closer()
        try:
            act.trigger()
            check = EXPECT[spec.id]
            qtbot.waitUntil(
                lambda c=check, k=closer, b=before: c(win, k.seen, list(_top_levels() - b)),
                timeout=15_000,
            )
        except AssertionError:
            errors.append(f"{spec.id}: nothing opened (seen {closer.seen})")
        finally:
            closer.stop()
        for top in _top_levels() - before:
            top.close()
        if spec.id == Ids.DEMO:
            win.jobs.runner.cancel_all()  # the demo itself is tested elsewhere
            qtbot.waitUntil(lambda: not win.jobs.runner.active(), timeout=60_000)
    assert not errors, errors


def test_every_action_opens_its_dialog_or_page_on_an_empty_registry(qtbot, make_main_window):
    _trigger_all(qtbot, make_main_window(), populated=False)


def test_every_action_opens_its_dialog_or_page_on_a_populated_registry(
    qtbot, make_main_window, tmp_path
):
    win = make_main_window(protected_registry(tmp_path))
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 2, timeout=10_000)
    _trigger_all(qtbot, win, populated=True)


def _activate(qtbot, win: MainWindow) -> None:
    """Window shortcuts reach the active window only."""
    win.raise_()
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=5_000)


def test_train_opens_the_dialog_from_the_menu_and_ctrl_t(qtbot, make_main_window):
    from modelward.ui.dialogs.training import TrainingDialog

    win = make_main_window()
    _activate(qtbot, win)
    win.acts[Ids.TRAIN].trigger()  # the checked=False of triggered never reaches the dialog
    dlg = win.findChild(TrainingDialog)
    assert dlg is not None and dlg.isVisible()
    assert dlg.data_edit.text() == ""
    dlg.close()

    def shown() -> list[TrainingDialog]:
        return [d for d in win.findChildren(TrainingDialog) if d.isVisible()]

    assert not shown()
    _activate(qtbot, win)
    qtbot.keyClick(win, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(shown()) == 1, timeout=5_000)
    shown()[0].close()


def test_ctrl_o_opens_the_file_dialog(qtbot, make_main_window):
    win = make_main_window()
    _activate(qtbot, win)
    closer = Closer()
    try:
        qtbot.keyClick(win, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: "QFileDialog" in closer.seen, timeout=10_000)
    finally:
        closer.stop()


@pytest.mark.parametrize(("key", "page"), [(Qt.Key.Key_2, Page.JOBS), (Qt.Key.Key_3, Page.AUDIT)])
def test_page_shortcuts(qtbot, make_main_window, key, page):
    win = make_main_window()
    _activate(qtbot, win)
    qtbot.keyClick(win, key, Qt.KeyboardModifier.ControlModifier)
    assert win.pages.currentIndex() == page
