"""UI fixtures: offscreen Qt, a main-window factory that shuts down cleanly."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture
def make_main_window(qtbot, tmp_path):
    """``make_main_window(registry=None, **settings)``: a MainWindow on a tmp registry.

    At teardown the window shuts down in order and we check that no job and no
    background read was left running.
    """
    from PySide6.QtCore import QSettings, QThreadPool

    from modelward.core.registry import Registry
    from modelward.core.settings import Settings
    from modelward.ui.app import make_app
    from modelward.ui.main_window import MainWindow

    # Window geometry (QSettings) goes to this test's folder too.
    QSettings.setPath(
        QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings")
    )
    made = []

    def make(registry=None, **settings):
        make_app("light")
        reg = registry or Registry(tmp_path / "registry", idle_release=0.2)
        win = MainWindow(reg, Settings(**settings), save_settings_on_change=False)
        qtbot.addWidget(win)
        win.show()
        made.append(win)
        return win

    yield make
    for win in made:
        win.shutdown()
        assert not win.jobs.runner.active(), "a job was still running after shutdown"
        assert win.reader._pool is None
        assert win.watch.watcher is None, "the folder watcher was still running after shutdown"
    assert QThreadPool.globalInstance().activeThreadCount() == 0


@pytest.fixture
def wait_loaded(qtbot):
    """``wait_loaded(model)``: wait until a paged model has finished its current load."""

    def wait(model, timeout=10_000):
        qtbot.waitUntil(lambda: not model.loading, timeout=timeout)

    return wait
