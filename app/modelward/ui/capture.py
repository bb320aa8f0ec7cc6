"""Screenshots of the main views of a registry, offscreen (for headless runs).

``modelward gui --capture DIR`` calls :func:`capture_views`; the headless demo
runs it in a child process so a Qt failure cannot take the main job down.
:func:`wait`, :func:`wait_until` and :func:`settle` are shared with the
screenshot scripts of the repository.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from modelward.core.errors import NotFound
from modelward.core.registry import Registry
from modelward.core.settings import Settings
from modelward.ui.app import make_app
from modelward.ui.main_window import MainWindow, Page

LOADING = "Loading…"


def wait(signal: Any, ms: int = 60_000) -> None:
    """Run the event loop until ``signal`` fires or ``ms`` pass."""
    loop = QEventLoop()
    signal.connect(lambda *a: loop.quit())
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(condition: Callable[[], bool], ms: int = 60_000) -> bool:
    """Run the event loop until ``condition()`` holds or ``ms`` pass; returns whether it held."""
    deadline = time.monotonic() + ms / 1000
    while not condition():
        if time.monotonic() > deadline:
            return False
        loop = QEventLoop()
        QTimer.singleShot(10, loop.quit)  # wake up to look again; events run meanwhile
        loop.exec()
    return True


def settle(app: QApplication, n: int = 10) -> None:
    """Let pending paints and queued signals run before a grab."""
    for _ in range(n):
        app.processEvents()


class MonitoringShown:
    """Whether the monitoring page shows its data (not "Loading…"), heard from its signals.

    The charts come with ``sig_snapshot_shown``; when there are batches the
    default heatmap cell's histograms follow (``sig_histograms_shown``). A
    failed read replaces "Loading…" with its message, which counts as shown.
    """

    def __init__(self, win: MainWindow):
        self.page = win.monitoring_page
        self.batches: int | None = None
        self.histograms = False
        self.page.sig_snapshot_shown.connect(self._on_snapshot)
        self.page.sig_histograms_shown.connect(self._on_histograms)

    def _on_snapshot(self, n_batches: int) -> None:
        self.batches = n_batches

    def _on_histograms(self, *_a: object) -> None:
        self.histograms = True

    def __call__(self) -> bool:
        if self.batches is None:
            text = self.page.subtitle.text()
            return bool(text) and text != LOADING and self.page.snapshot is None
        return self.batches == 0 or self.histograms


def capture_views(
    registry: str | os.PathLike[str] | None,
    outdir: str | Path,
    *,
    on_grab: Callable[[str, MainWindow], None] | None = None,
    timeout_ms: int = 60_000,
) -> list[Path]:
    """Open the window on ``registry``, grab the main views as PNGs into ``outdir``.

    ``on_grab(name, window)`` is called just before each grab (tests look at
    what the window shows then).
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    # Never touch the user's window geometry or settings.
    QSettings.setPath(
        QSettings.Format.NativeFormat,
        QSettings.Scope.UserScope,
        tempfile.mkdtemp(prefix="mw-capture-"),
    )
    app = make_app("light")
    reg = Registry(registry, idle_release=1.0)
    win = MainWindow(reg, Settings(theme="light"), save_settings_on_change=False)
    win.resize(1400, 860)
    win.show()
    written: list[Path] = []

    def grab(name: str) -> None:
        settle(app, 20)
        if on_grab is not None:
            on_grab(name, win)
        path = out / f"{name}.png"
        win.grab().save(str(path))
        written.append(path)

    try:
        wait_until(lambda: not win.versions_model.loading, timeout_ms)
        win.show_table()
        grab("registry")
        try:
            champion = reg.resolve("credit-risk@champion")
        except NotFound:
            champion = None
        if champion is not None:
            win.open_model(champion.name, champion.version)
            wait_until(lambda: win.model_page.data is not None, timeout_ms)
            grab("model-page")
            shown = MonitoringShown(win)
            win.open_monitoring(champion.ref)
            wait_until(shown, timeout_ms)
            grab("monitoring")
        win.show_page(Page.AUDIT)
        wait_until(lambda: not win.audit_model.loading, timeout_ms)
        grab("audit")
    finally:
        win.shutdown()
        win.deleteLater()
        settle(app, 20)
        reg.close()
    return written
