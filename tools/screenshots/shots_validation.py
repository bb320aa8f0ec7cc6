"""The validation page of a credit model (offscreen): part ``validation`` of ``python tools/screenshots``.

A gradient-boosting default model validated on a 20,000-row hold-out file,
each tab (metrics with intervals beside curves, lift and gains, score bands,
the threshold control at a chosen cut-off) at 1600×1000 and 1024×700, light
and dark: ``validation-TAB-THEME-WxH.png``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from shots_window import SIZES, credit_table

from modelward.ui.capture import settle, wait_until

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TABS = ("curves", "lift", "bands", "threshold")


def main(out: str) -> None:
    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from modelward.core.compute.recipe import Recipe
    from modelward.core.compute.training import train
    from modelward.core.registry import Registry
    from modelward.core.settings import Settings
    from modelward.ui.app import make_app
    from modelward.ui.main_window import MainWindow

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="mw-shots-"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp / "qs"))
    train_csv = credit_table(tmp / "loans-2024.csv", 20_000, 1)
    holdout_csv = credit_table(tmp / "loans-2025-q1.csv", 20_000, 2)
    for theme in ("light", "dark"):
        app = make_app(theme)
        reg = Registry(tmp / f"reg-{theme}", idle_release=1.0)
        recipe = Recipe(
            data=train_csv,
            target="default",
            estimator="HistGradientBoostingClassifier",
            params={"max_iter": 80, "learning_rate": 0.1},
            features=("income", "age", "region", "debt"),
        )
        train(reg, recipe, "loan-default")
        win = MainWindow(reg, Settings(theme=theme), save_settings_on_change=False)
        win.show()
        dlg = win.open_validation("loan-default:1", holdout_csv)
        page = dlg.page
        page.extra_check.setChecked(True)
        loop = QEventLoop()
        page.sig_result_shown.connect(lambda *a, lp=loop: lp.quit())
        page.sig_job_failed.connect(lambda *a, lp=loop: lp.quit())
        QTimer.singleShot(300_000, loop.quit)
        page.start()
        loop.exec()
        wait_until(lambda pg=page: pg.threshold.set_button.isEnabled(), 60_000)
        # the explanations follow the validation as their own job: shoot them done
        wait_until(lambda pg=page: not pg.explain_panel.progress.isVisible(), 300_000)
        table = page.explain_panel.rows_table
        if table.rowCount() > 2:
            table.selectRow(2)
            table.cellClicked.emit(2, 0)
            wait_until(lambda pg=page: pg.explain_panel.reasons_table.rowCount() > 0, 900_000)
        page.threshold.cost_fn.setValue(5.0)
        page.threshold.spin.setValue(0.3)
        for i, tab in enumerate(TABS):
            page.tabs.setCurrentIndex(i)
            for w, h in SIZES:
                dlg.resize(w, h)
                settle(app, 30)
                dlg.grab().save(str(outdir / f"validation-{tab}-{theme}-{w}x{h}.png"))
        dlg.close()
        win.shutdown()
        win.deleteLater()
        settle(app)
