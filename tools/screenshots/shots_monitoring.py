"""``python tools/screenshots OUTDIR monitoring``: the monitoring views
(offscreen) on the demo workspace: ``monitoring.png``, ``monitoring-dark.png`` and
``monitoring-histogram.png`` (a heatmap cell's reference and current distributions).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(out: str, registry: str | None = None) -> None:
    from PySide6.QtCore import QSettings

    from modelward.core.demo import create_demo_workspace
    from modelward.core.demo.monitoring import add_monitoring_demo
    from modelward.core.registry import Registry
    from modelward.core.settings import Settings
    from modelward.ui.app import make_app
    from modelward.ui.capture import settle, wait
    from modelward.ui.main_window import MainWindow

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="mw-mon-shots-"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp / "qs"))
    home = Path(registry) if registry else tmp / "registry"
    if registry is None:
        reg = Registry(home)
        create_demo_workspace(reg)
        add_monitoring_demo(reg)  # twelve monthly batches, drift from July, late labels
        reg.close()

    for theme in ("light", "dark"):
        app = make_app(theme)
        win = MainWindow(
            Registry(home, idle_release=1.0), Settings(theme=theme), save_settings_on_change=False
        )
        win.resize(1440, 900)
        win.show()
        page = win.monitoring_page
        win.open_monitoring("credit-risk@champion")
        wait(page.sig_histograms_shown)
        settle(app, 20)
        win.grab().save(
            str(outdir / ("monitoring.png" if theme == "light" else "monitoring-dark.png"))
        )
        if theme == "light":
            snap = page.snapshot
            i = snap.matrix["features"].index("income")
            j = snap.n_batches - 3
            page.heatmap.select_cell(i, j)
            wait(page.sig_histograms_shown)
            settle(app, 20)
            page.panels["heatmap"].parentWidget().grab().save(
                str(outdir / "monitoring-histogram.png")
            )
        win.shutdown()
        win.deleteLater()
        settle(app, 20)
