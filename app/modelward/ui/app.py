"""QApplication setup and the entry points that open the main window."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from modelward.core.errors import ModelWardError
from modelward.core.paths import resource
from modelward.core.registry import Registry
from modelward.core.registry.connection import HOLD
from modelward.core.settings import Settings, Theme, load_settings
from modelward.ui.bridge import call_niced
from modelward.ui.crash import install_excepthook, uninstall_excepthook
from modelward.ui.main_window import MainWindow
from modelward.ui.theme import apply_theme

log = logging.getLogger(__name__)

IDLE_RELEASE = HOLD
"""Seconds the window keeps the database open after a burst of reads or writes.

DuckDB lets one process hold the file; the window lets go as soon as the CLI or
a notebook knocks (they retry for a while), and after this long idle anyway."""


ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
SMOKE_LIMIT_MS = 120_000
"""``--smoke`` closes the window after this long even if it was never painted."""


def app_icon() -> QIcon:
    """The application icon from the rendered PNGs (no SVG image plugin needed)."""
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addFile(str(resource(f"icons/modelward-{size}.png")))
    return icon


def make_app(theme: str = Theme.SYSTEM) -> QApplication:
    """The QApplication (created once): Fusion, our palette and style sheet, high-DPI."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication(sys.argv[:1])
        app.setApplicationName("ModelWard")
        app.setOrganizationName("ModelWard")
        app.setApplicationDisplayName("ModelWard")
        app.setDesktopFileName("modelward")  # resources/modelward.desktop (Wayland app id)
    assert isinstance(app, QApplication)
    if app.windowIcon().isNull():
        app.setWindowIcon(app_icon())  # windows, dialogs and the tray inherit it
    apply_theme(app, theme)
    if theme == Theme.SYSTEM and not getattr(app, "_mw_follows_os", False):
        # Follow the OS when the user switches light/dark while we run.
        app.styleHints().colorSchemeChanged.connect(lambda _s: apply_theme(app, Theme.SYSTEM))
        app._mw_follows_os = True  # type: ignore[attr-defined]
    return app


def _settings() -> Settings:
    try:
        return load_settings()
    except ModelWardError as e:
        log.warning("settings ignored: %s", e)
        return Settings()


def process_started() -> float | None:
    """When this process started (seconds since the epoch), from ``/proc``; ``None`` elsewhere.

    The kernel counts in clock ticks (10 ms on most Linux systems).
    """
    try:
        with open("/proc/self/stat", "rb") as f:
            ticks = int(f.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/stat", "rb") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith(b"btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


class FirstPaint(QObject):
    """Prints, on stderr, when the window or any widget in it is first painted (``--smoke``).

    The line carries the wall-clock time of the paint, so a caller that noted
    when it started the process can compute start-to-window itself, and the
    time since the process started by the kernel's count where there is one.
    The filter sits on the application, not the window: whichever of the
    window's widgets is painted first counts.
    """

    def __init__(self, window: QWidget, on_paint: Callable[[], None] | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.on_paint = on_paint
        self.painted_at: float | None = None
        app = QApplication.instance()
        self._app = app
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if (
            self.painted_at is None
            and event.type() == QEvent.Type.Paint
            and isinstance(watched, QWidget)
            and watched.window() is self.window
        ):
            self.painted_at = time.time()
            started = process_started()
            since = f", {self.painted_at - started:.3f} s after start" if started else ""
            sys.stderr.write(f"first paint at {self.painted_at:.3f}{since}\n")
            sys.stderr.flush()
            if self._app is not None:
                self._app.removeEventFilter(self)
            if self.on_paint is not None:
                self.on_paint()
        return False


def smoke_charts(win: MainWindow) -> None:
    """``--smoke``, after the first paint: build and draw the Monitoring page, close in 1 s.

    The first page draws no chart, so without this a bundle whose chart library
    (pyqtgraph) failed to load would still pass the smoke test. Prints
    ``charts drawn`` on stderr once the page's charts were drawn.
    """
    page = win.current_page()
    win.show_monitoring()
    image = win.monitoring_page.performance.grab()  # drawn even while the page says "none yet"
    if not image.isNull():
        sys.stderr.write(f"charts drawn ({image.width()}x{image.height()})\n")
        sys.stderr.flush()
    # back to the page it opened on, which the window remembers for its next start
    # (a start on the Monitoring page would build it before the first paint)
    win.show_page(page)
    QTimer.singleShot(1000, win.close)


def run_app(registry: str | os.PathLike[str] | None, *, smoke: bool = False) -> int:
    """Open the main window and run the event loop; returns the exit code."""
    settings = _settings()
    app = make_app(settings.theme)
    try:
        # Opened off the GUI thread, nicer: the database's worker threads are made
        # by the opening thread and keep its priority (issue 21: a busy host).
        reg = call_niced(
            lambda: Registry(registry or settings.registry or None, idle_release=IDLE_RELEASE)
        )
    except ModelWardError as e:
        QMessageBox.critical(None, "ModelWard", f"The registry cannot be opened.\n\n{e}")
        return 1
    win = MainWindow(reg, settings)
    hook = install_excepthook(reg.home, lambda: win)
    # kept referenced until the loop ends: a collected wrapper would stop filtering.
    # --smoke closes a second after the first paint, not after the show: on a
    # busy host the loop can start more than a second after show(), and a
    # fixed timer then closed the window before it was ever painted (seen).
    first_paint = FirstPaint(win, on_paint=lambda: smoke_charts(win)) if smoke else None
    win.show()
    if reg.recovered:  # a damaged write-ahead log was set aside while opening
        # Only after a recovery: the backup module costs ~0.1 s of start-up (measured).
        from modelward.core.registry.recovery import recovery_message

        QMessageBox.warning(
            win, "ModelWard", "The registry was recovered: " + recovery_message(reg.recovered) + "."
        )
    if smoke:
        QTimer.singleShot(SMOKE_LIMIT_MS, win.close)  # never painted: give up, do not hang
    code = app.exec()
    del first_paint
    win.shutdown()
    uninstall_excepthook(hook)
    return int(code)


def open_and_close(registry: str | os.PathLike[str] | Path, timeout_ms: int = 15_000) -> int:
    """Open the window on ``registry``, wait until the table shows it, close. Returns the row count."""
    app = make_app(Theme.LIGHT)
    reg = call_niced(lambda: Registry(registry, idle_release=IDLE_RELEASE))
    win = MainWindow(reg, Settings(), save_settings_on_change=False)
    win.show()
    loop = QEventLoop()
    win.versions_model.sig_loaded.connect(lambda *_: loop.quit())
    win.versions_model.sig_load_failed.connect(lambda *_: loop.quit())
    QTimer.singleShot(timeout_ms, loop.quit)
    if win.versions_model.loading:
        loop.exec()
    app.processEvents()
    n = win.versions_model.rowCount()
    win.close()
    win.deleteLater()
    app.processEvents()
    return n
