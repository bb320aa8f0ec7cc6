"""The main views (offscreen) as PNGs: part of ``python tools/screenshots OUTDIR``.

Builds a demo registry in a temporary folder, opens the window and saves the
welcome page, the registry table, a model page, the jobs panel, the audit
view, the watched folders, and the training, validation and comparison views,
in light and dark (``training``: only the last three).
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from shots_policies import policy_views

from modelward.ui.capture import settle, wait, wait_until

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


SIZES = ((1600, 1000), (1024, 700))
"""Besides the 1280×800 shots: a large screen and the smallest size the window is laid out for."""


def grab_sizes(app, widget, outdir: Path, stem: str, settle, base: tuple[int, int]) -> None:
    """Save ``widget`` at each of :data:`SIZES` as ``STEM-WxH.png``, then restore ``base``."""
    for w, h in SIZES:
        widget.resize(w, h)
        settle(app, 30)
        widget.grab().save(str(outdir / f"{stem}-{w}x{h}.png"))
    widget.resize(*base)
    settle(app, 30)


def main(out: str) -> None:
    from PySide6.QtCore import QSettings

    from modelward.core.registry import Registry
    from modelward.core.settings import Settings
    from modelward.ui.app import make_app
    from modelward.ui.main_window import MainWindow, Page

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="mw-shots-"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp / "qs"))

    for theme in ("light", "dark"):
        app = make_app(theme)
        reg = Registry(tmp / f"reg-{theme}", idle_release=1.0)
        win = MainWindow(reg, Settings(theme=theme), save_settings_on_change=False)
        win.resize(1280, 800)
        win.show()
        if win.versions_model.loading:
            wait(win.versions_model.sig_loaded)
        settle(app)
        if theme == "light":
            win.grab().save(str(outdir / "welcome.png"))
        demo = win.create_demo()
        # The demo trains and monitors for a minute or more: wait for that job, not any job.
        wait_until(lambda w=win, j=demo: w.jobs.runner.get(j).state.done, 900_000)
        settle(app)
        if win.versions_model.loading:
            wait(win.versions_model.sig_loaded)
        # A second alias move so the history has a story.
        reg.set_alias("credit-risk:1", "challenger", "keep the simple model in the race")
        win.show_table()
        win.refresh_all()
        wait(win.versions_model.sig_loaded)
        if win.audit_model.loading:
            wait(win.audit_model.sig_loaded)
        settle(app)
        win.grab().save(str(outdir / f"main-{theme}.png"))
        grab_sizes(app, win, outdir, f"main-{theme}", settle, (1280, 800))
        win.open_model("credit-risk", 2)
        wait(win.sig_model_page_loaded)
        settle(app)
        win.grab().save(str(outdir / f"model-page-{theme}.png"))
        grab_sizes(app, win, outdir, f"model-page-{theme}", settle, (1280, 800))
        # A job that is still running next to finished ones.
        gate = threading.Event()

        def training(ctx, gate=gate):
            for i in range(1, 5):
                ctx.progress(i / 10, f"fitting fold {i} of 10")
                ctx.log(f"fold {i}: roc_auc 0.8{i}")
            gate.wait(30)

        win.jobs.submit("train", "Train credit-risk (gradient boosting, 10-fold CV)", training)
        win.show_page(Page.JOBS)
        wait(win.jobs.sig_job_progressed, 5000)
        settle(app, 30)
        jid = win.jobs.runner.jobs()[-1].id
        win.jobs_page.select_job(jid)
        settle(app, 30)
        win.grab().save(str(outdir / f"jobs-{theme}.png"))
        gate.set()
        win.show_page(Page.AUDIT)
        win.verify_chain()
        wait(win.jobs.sig_job_finished)
        settle(app)
        win.grab().save(str(outdir / f"audit-{theme}.png"))
        watch_page(app, win, tmp / f"inbox-{theme}", wait, settle)
        win.grab().save(str(outdir / ("watch.png" if theme == "light" else "watch-dark.png")))
        if theme == "light":  # alerts, approvals (signature dialog) and policy
            policy_views(app, win, outdir, wait, settle)
        training_views(app, win, tmp / f"training-{theme}", outdir, theme, wait, settle)
        win.shutdown()
        win.deleteLater()
        settle(app)


def watch_page(app, win, inbox: Path, wait, settle) -> None:
    """Two watched folders (one paused), a model that arrived and a file that was rejected."""
    import joblib
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    from modelward.ui.main_window import Page

    models, batches = inbox / "models", inbox / "batches"
    win.show_page(Page.WATCH)
    win.add_watched_folder(str(models))
    wait(win.watch.sig_folders_changed, 20_000)
    win.add_watched_folder(str(batches), "data", "credit-risk")
    wait(win.watch.sig_folders_changed, 20_000)
    paused = next(f for f in win.watch.folders if f.kind == "data")
    win.watch.set_paused(paused.id, True)
    wait(win.watch.sig_folders_changed, 20_000)
    x = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    y = [0, 1, 1, 0]
    joblib.dump(LogisticRegression().fit(x, y), models / "fraud-score.joblib")
    wait(win.sig_watch_event_shown, 30_000)
    (models / "downloaded-model.pkl").write_bytes(b"\x80\x04not really a model" + b"\x00" * 64)
    wait(win.sig_watch_event_shown, 30_000)
    joblib.dump(DecisionTreeClassifier(max_depth=2).fit(x, y), models / "fraud-score-v2.joblib")
    wait(win.sig_watch_event_shown, 30_000)
    win.watch_page.select_folder(paused.id)
    win.watch_folders_model.update_status()
    settle(app, 30)


def credit_table(path: Path, n: int, seed: int) -> str:
    """A small labelled credit table (numbers, a category, a yes/no column, an id column) as CSV."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    income = rng.normal(50, 15, n).round(1)
    region = rng.choice(["north", "south", "east", "west"], n)
    debt = rng.normal(10, 5, n).round(2)
    age = rng.integers(18, 80, n)
    owner = rng.random(n) < 0.4
    logit = (
        0.12 * (debt - 10) - 0.06 * (income - 50) + (region == "south") * 0.9 - 0.3 * owner - 0.3
    )
    default = (logit + rng.logistic(size=n) > 0).astype(int)
    ids = [f"C{seed}{i:05d}" for i in range(n)]
    frame = pd.DataFrame(
        {"customer_id": ids, "income": income, "age": age, "region": region, "debt": debt}
    )
    frame["homeowner"] = np.where(owner, "yes", "no")  # DuckDB types it BOOLEAN
    frame["default"] = default
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return str(path)


def training_views(app, win, folder: Path, outdir: Path, theme: str, wait, settle) -> None:
    """The training dialog after a search, a validation, and champion against challenger."""
    from PySide6.QtCore import QEventLoop, QTimer

    from modelward.core.compute.recipe import Recipe
    from modelward.core.compute.training import train

    suffix = "" if theme == "light" else "-dark"

    def finished(page) -> None:  # the result, or a failure (then the shot shows its message)
        loop = QEventLoop()
        page.sig_result_shown.connect(lambda *a: loop.quit())
        page.sig_job_failed.connect(lambda *a: loop.quit())
        QTimer.singleShot(120_000, loop.quit)
        loop.exec()

    train_csv = credit_table(folder / "loans-2024.csv", 3000, 1)
    holdout_csv = credit_table(folder / "loans-2025-q1.csv", 1500, 2)
    dlg = win.open_training_dialog()
    dlg.resize(1240, 800)
    dlg.load_data(train_csv)
    wait(dlg.sig_preview_loaded, 20_000)
    dlg.name_edit.setText("loan-default")
    dlg.set_feature_checked("customer_id", False)
    dlg.split_combo.setCurrentText("stratified")
    dlg.folds_spin.setValue(5)
    dlg.params_edit.setPlainText("max_iter=500")
    dlg.search_box.setChecked(True)
    dlg.space_edit.setPlainText("C=[0.01, 0.1, 1, 10]")
    dlg.start()
    wait(dlg.sig_training_finished, 120_000)
    settle(app, 30)
    dlg.grab().save(str(outdir / f"training-dialog{suffix}.png"))
    grab_sizes(app, dlg, outdir, f"training-dialog-{theme}", settle, (1240, 800))
    dlg.close()
    recipe = Recipe(
        data=train_csv,
        target="default",
        estimator="HistGradientBoostingClassifier",
        params={"max_iter": 60, "learning_rate": 0.1},
        features=("income", "age", "region", "debt"),
    )
    train(win.registry, recipe, "loan-default")
    win.registry.set_alias("loan-default:1", "champion", "first trained model")
    val = win.open_validation("loan-default:1", holdout_csv)
    val.resize(1240, 800)
    val.page.extra_check.setChecked(True)
    val.page.start()
    finished(val.page)
    # the explanations follow the validation as their own job: shoot them done
    wait_until(lambda pg=val.page: pg.threshold.set_button.isEnabled(), 60_000)
    wait_until(lambda pg=val.page: not pg.explain_panel.progress.isVisible(), 300_000)
    settle(app, 30)
    val.grab().save(str(outdir / f"validation{suffix}.png"))
    val.close()
    cmp = win.open_comparison("loan-default:1", "loan-default:2", holdout_csv)
    cmp.resize(1360, 820)
    cmp.page.gates_edit.setText("roc_auc>=champion-0.01, accuracy>=0.6")
    cmp.page.extra_check.setChecked(True)
    cmp.page.start()
    finished(cmp.page)
    settle(app, 30)
    cmp.grab().save(str(outdir / f"compare{suffix}.png"))
    cmp.close()
    settle(app)
    compare_many_views(app, win, recipe, holdout_csv, outdir, theme, finished)


def compare_many_views(app, win, recipe, holdout_csv: str, outdir: Path, theme: str, finished):
    """Three loan-default versions side by side: each tab, at both sizes."""
    from modelward.core.compute.recipe import Split
    from modelward.core.compute.training import train

    third = recipe.replace(
        estimator="LogisticRegression", params={"C": 0.1, "max_iter": 400}, split=Split()
    )
    train(win.registry, third, "loan-default")
    win.registry.close()
    pages: list = []
    win.sig_compare_many_opened.connect(pages.append)
    win.compare_many(["loan-default:1", "loan-default:2", "loan-default:3"])
    wait_until(lambda: bool(pages), 30_000)
    page = pages[-1]
    dlg = page.window()
    page.tabs.setCurrentIndex(2)
    page.data_edit.setText(holdout_csv)
    page.extra_check.setChecked(True)
    page.start()
    finished(page)
    for i, tab in enumerate(("metrics", "params", "curves")):
        page.tabs.setCurrentIndex(i)
        dlg.resize(1360, 820)
        settle(app, 30)
        grab_sizes(app, dlg, outdir, f"compare-many-{tab}-{theme}", settle, (1360, 820))
    dlg.close()
    settle(app)


def training_main(out: str) -> None:
    """Only the training, validation and comparison views (light and dark)."""
    from PySide6.QtCore import QSettings

    from modelward.core.registry import Registry
    from modelward.core.settings import Settings
    from modelward.ui.app import make_app
    from modelward.ui.main_window import MainWindow

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="mw-shots-"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp / "qs"))

    for theme in ("light", "dark"):
        app = make_app(theme)
        reg = Registry(tmp / f"reg-{theme}", idle_release=1.0)
        win = MainWindow(reg, Settings(theme=theme), save_settings_on_change=False)
        win.show()
        training_views(app, win, tmp / f"training-{theme}", outdir, theme, wait, settle)
        win.shutdown()
        win.deleteLater()
        settle(app)
