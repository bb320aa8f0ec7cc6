"""An unhandled exception in the window: a dialog with one sentence and details, and the log."""

from __future__ import annotations

import pytest

from modelward.ui.crash import install_excepthook, uninstall_excepthook


@pytest.mark.qt_no_exception_capture
def test_an_exception_raised_in_a_slot_shows_a_dialog_and_is_logged(qtbot, make_main_window):
    win = make_main_window()

    def broken_slot(_kind: str) -> None:
        raise RuntimeError("deliberate failure raised by the test")

    hook = install_excepthook(win.registry.home, lambda: win)
    try:
        win.sig_watch_event_shown.connect(broken_slot)
        win.sig_watch_event_shown.emit("ingested")  # Qt calls the slot, the slot raises
        qtbot.waitUntil(lambda: hook.dialog is not None and hook.dialog.isVisible(), timeout=5_000)
    finally:
        uninstall_excepthook(hook)
        win.sig_watch_event_shown.disconnect(broken_slot)
    dlg = hook.dialog
    assert dlg.parent() is win
    text = dlg.text()
    assert text.endswith(".") and text.count(". ") == 0  # one sentence, no traceback
    assert "Traceback" not in text and "RuntimeError" not in text
    details = dlg.detailedText()  # the collapsible part
    assert "RuntimeError: deliberate failure raised by the test" in details
    assert "broken_slot" in details
    log = win.registry.home / "logs" / "modelward.log"
    assert str(log) in dlg.informativeText()
    logged = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in logged
    assert "deliberate failure raised by the test" in logged
    dlg.close()


@pytest.mark.qt_no_exception_capture
def test_a_burst_of_errors_opens_one_dialog_and_logs_each(qtbot, make_main_window):
    win = make_main_window()

    def broken_slot(kind: str) -> None:
        raise ValueError(f"failure {kind}")

    hook = install_excepthook(win.registry.home, lambda: win)
    try:
        win.sig_watch_event_shown.connect(broken_slot)
        for i in range(3):
            win.sig_watch_event_shown.emit(str(i))
        qtbot.waitUntil(lambda: hook.dialog is not None and hook.dialog.isVisible(), timeout=5_000)
    finally:
        uninstall_excepthook(hook)
        win.sig_watch_event_shown.disconnect(broken_slot)
    assert "failure 0" in hook.dialog.detailedText()
    logged = (win.registry.home / "logs" / "modelward.log").read_text(encoding="utf-8")
    assert all(f"ValueError: failure {i}" in logged for i in range(3))
    hook.dialog.close()
