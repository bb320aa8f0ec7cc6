"""The window's first page draws no chart, so its start does not import pyqtgraph (issue 21).

pyqtgraph costs about 0.4 s of the start; the pages and dialogs that draw charts
(Monitoring, Validation, Compare, Training) import it when they are first built.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import modelward

APP = str(Path(modelward.__file__).resolve().parents[1])

START = r"""
import sys
from PySide6.QtCore import QTimer
from modelward.core.registry import Registry
from modelward.core.settings import Settings
from modelward.ui.app import make_app
from modelward.ui.main_window import MainWindow, Page

app = make_app("light")
win = MainWindow(Registry(sys.argv[1], idle_release=0.2), Settings(), save_settings_on_change=False)
win.show()

def loaded(*_):
    win.registry_page.table.viewport().repaint()
    print("table:", "pyqtgraph" in sys.modules, win.pages.count(), flush=True)
    win.nav.setCurrentRow(Page.MONITORING)  # as a click on "Monitoring" does
    shown = win.pages.currentWidget() is win.monitoring_page
    print("monitoring:", "pyqtgraph" in sys.modules, shown, win.pages.count(), flush=True)
    app.quit()

win.versions_model.sig_loaded.connect(loaded)
QTimer.singleShot(60_000, app.quit)
app.exec()
win.shutdown()
"""


def test_first_page_without_pyqtgraph_and_monitoring_builds_it(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        PYTHONPATH=APP,
        QT_QPA_PLATFORM="offscreen",
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),  # no saved page (QSettings) to restore
        MODELWARD_HOME=str(tmp_path / "mwhome"),
    )
    out = subprocess.run(
        [sys.executable, "-c", START, str(tmp_path / "registry")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout.splitlines()
    table = [x.split() for x in out if x.startswith("table:")]
    assert table and table[0][1] == "False", out
    lines = [x.split() for x in out if x.startswith("monitoring:")]
    assert lines, out
    # pyqtgraph now loaded, the built page shown, and it took the empty place's slot
    # (the same number of pages as before: none added, none lost)
    loaded, shown, count = lines[0][1:]
    assert (loaded, shown, count) == ("True", "True", table[0][2])


def test_monitoring_page_takes_its_place_in_the_stack(qtbot, make_main_window) -> None:  # type: ignore[no-untyped-def]
    from modelward.ui.main_window import Page

    win = make_main_window()
    count = win.pages.count()
    alerts = win.pages.widget(count - 1)
    win.show_page(Page.JOBS)
    page = win.monitoring_page  # built while another page shows
    assert win.pages.currentWidget() is win.jobs_page
    assert win.pages.indexOf(page) == Page.MONITORING
    assert win.pages.count() == count and win.pages.widget(count - 1) is alerts
    assert win.monitoring_page is page  # built once
    win.show_page(Page.MONITORING)
    assert win.pages.currentWidget() is page


STAND_IN = r"""
import runpy, sys
runpy.run_path(sys.argv[1])  # what the bundle's bootloader runs before the app
import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication
import PySide6.QtOpenGL as gl
assert not hasattr(gl, "QOpenGLBuffer")  # the stand-in, not the binding
app = QApplication([])
w = pg.PlotWidget()
w.plot(np.arange(50.0), np.sin(np.arange(50.0)))
w.resize(300, 200)
image = w.grab().toImage()
print("drawn", image.width(), image.height())
"""


def test_charts_draw_with_the_bundles_qtopengl_stand_in(tmp_path: Path) -> None:
    """The bundle leaves PySide6.QtOpenGL out; pyqtgraph must import and draw without it."""
    hook = Path(APP).parent / "packaging" / "rthook_no_qtopengl.py"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", STAND_IN, str(hook)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout
    assert "drawn 300 200" in out, out
