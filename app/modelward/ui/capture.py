"""Screenshots of the main views of a registry, offscreen (for headless runs).

``modelward gui --capture DIR`` calls :func:`capture_views`; the headless demo
runs it in a child process so a Qt failure cannot take the main job down.
"""

from __future__ import annotations

import os
from pathlib import Path


def capture_views(registry: str | os.PathLike[str] | None, outdir: str | Path) -> list[Path]:
    """Open the window on ``registry``, grab the main views as PNGs into ``outdir``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    from PySide6.QtCore import QSettings

    from modelward.core.errors import NotFound
    from modelward.core.registry import Registry
    from modelward.core.settings import Settings
    from modelward.ui.app import make_app
    from modelward.ui.main_window import MainWindow, Page
    from modelward.ui.screenshots import settle, wait

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

    def settle_all() -> None:
        settle(app, 20)

    written: list[Path] = []

    def grab(name: str) -> None:
        settle_all()
        path = out / f"{name}.png"
        win.grab().save(str(path))
        written.append(path)

    try:
        if win.versions_model.loading:
            wait(win.versions_model.sig_loaded)
        win.show_table()
        grab("registry")
        try:
            champion = reg.resolve("credit-risk@champion")
        except NotFound:
            champion = None
        if champion is not None:
            win.open_model(champion.name, champion.version)
            wait(win.sig_model_page_loaded)
            grab("model-page")
            open_monitoring = getattr(win, "open_monitoring", None)
            if callable(open_monitoring):
                open_monitoring(champion.ref)
                loaded = getattr(win, "sig_monitoring_loaded", None)
                if loaded is not None:
                    wait(loaded)
                grab("monitoring")
        win.show_page(Page.AUDIT)
        if win.audit_model.loading:
            wait(win.audit_model.sig_loaded)
        grab("audit")
    finally:
        win.shutdown()
        win.deleteLater()
        settle_all()
        reg.close()
    return written
