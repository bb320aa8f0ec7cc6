"""The Scoring page and the model page's deployed line: part ``scoring`` of ``python tools/screenshots``.

Builds a small registry (two versions of ``credit-risk``, v2 champion, v1 in
the shadow), one scoring folder, and three batches scored by the running
watcher (one with rejected rows), then saves ``scoring-{light,dark}-WxH.png``,
the newest batch opened with a row's reason codes
(``scoring-reasons-{light,dark}-WxH.png``) and
``model-page-deployed-{light,dark}-WxH.png``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from shots_window import SIZES

from modelward.ui.capture import settle, wait, wait_until

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _frame(n: int, seed: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["age", "income", "debt_ratio"])
    df.insert(0, "loan_id", [f"A{seed}{i:06d}" for i in range(n)])
    return df


def _click(button) -> None:
    """Click ``button`` as a user would (no pytest-qt here)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def main(out: str) -> None:
    from PySide6.QtCore import QSettings
    from sklearn.linear_model import LogisticRegression

    from modelward.core.intake.estimator import log_estimator
    from modelward.core.registry import Registry
    from modelward.core.registry.predictions import add_shadow
    from modelward.core.settings import Settings
    from modelward.ui.app import make_app
    from modelward.ui.main_window import MainWindow

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="mw-shots-scoring-"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp / "qs"))
    for theme in ("light", "dark"):
        app = make_app(theme)
        reg = Registry(tmp / f"reg-{theme}", idle_release=1.0)
        train = _frame(2000, 0)
        X = train[["age", "income", "debt_ratio"]]
        y = (X["age"] + 0.4 * X["income"] > 0).astype(int)
        log_estimator(reg, LogisticRegression(C=0.05).fit(X, y), "credit-risk", X=X, y=y)
        log_estimator(reg, LogisticRegression().fit(X, y), "credit-risk", X=X, y=y)
        reg.set_alias("credit-risk:2", "champion", "better holdout AUC")
        add_shadow(reg, "credit-risk", 1, reason="keep the simple model in the race")
        win = MainWindow(reg, Settings(theme=theme), save_settings_on_change=False)
        win.resize(1600, 1000)
        win.show()
        if win.versions_model.loading:
            wait(win.versions_model.sig_loaded)
        inbox, outbox = tmp / f"applications-{theme}", tmp / f"decisions-{theme}"
        win.scoring.show()
        win.scoring.add_folder(str(inbox), str(outbox), "credit-risk", "loan_id")
        wait_until(lambda w=win: w.scoring.page.folders.rowCount() == 1, 30_000)
        for k, (name, n) in enumerate(
            (("2026-12-01.csv", 12_000), ("2026-12-02.csv", 9_500), ("2026-12-03.csv", 10_000))
        ):
            df = _frame(n, k + 1)
            if k == 1:
                df["income"] = df["income"].astype(object)
                df.loc[[3, 17, 401], "income"] = "n/a?"
            tmp_file = inbox / f".{name}.tmp"
            df.to_csv(tmp_file, index=False)
            os.replace(tmp_file, inbox / name)
            wait_until(lambda w=win, k=k: w.scoring.page.batches.rowCount() == k + 1, 120_000)
        page = win.scoring.page
        page.batches.selectRow(0)
        settle(app, 30)
        for w, h in SIZES:
            win.resize(w, h)
            settle(app, 30)
            win.grab().save(str(outdir / f"scoring-{theme}-{w}x{h}.png"))
        # the newest batch opened for its reason codes, a row clicked
        win.resize(1600, 1000)
        _click(page.explain_button)
        panel = win.scoring.reasons
        wait_until(lambda pn=panel: pn.rows_table.rowCount() > 0, 300_000)
        panel.rows_table.selectRow(2)
        panel.rows_table.cellClicked.emit(2, 0)
        wait_until(lambda pn=panel: pn.reasons_table.rowCount() > 0, 300_000)
        for w, h in SIZES:
            win.resize(w, h)
            settle(app, 30)
            win.grab().save(str(outdir / f"scoring-reasons-{theme}-{w}x{h}.png"))
        win.resize(1600, 1000)
        win.open_model("credit-risk", 2)
        wait(win.sig_model_page_loaded)
        wait_until(lambda w=win: w.scoring.deployed_label.isVisible(), 15_000)
        settle(app, 30)
        for w, h in SIZES:
            win.resize(w, h)
            settle(app, 30)
            win.grab().save(str(outdir / f"model-page-deployed-{theme}-{w}x{h}.png"))
        win.shutdown()
        win.deleteLater()
        settle(app)
