"""The training dialog, the validation view and the comparison view, driven with pytest-qt.

Training, validation and comparison run in the real worker process on small
CSV files in ``tmp_path``; the tests wait on signals, never on time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPoint, Qt

from modelward.core.compute.recipe import Recipe
from modelward.core.compute.training import train
from modelward.core.jobs import JobState

WORKER_MS = 90_000


def credit_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 15, n)
    region = rng.choice(["north", "south", "east"], n)
    debt = rng.normal(10, 5, n)
    logit = 0.08 * (debt - 10) - 0.05 * (income - 50) + (region == "south") * 0.8
    y = (logit + rng.logistic(size=n) > 0).astype(int)
    ids = np.arange(n)
    return pd.DataFrame(
        {"customer_id": ids, "income": income, "region": region, "debt": debt, "default": y}
    )


@pytest.fixture
def credit_csv(tmp_path: Path) -> Path:
    path = tmp_path / "credit.csv"
    credit_frame().to_csv(path, index=False)
    return path


def open_dialog(qtbot, win, csv: Path):
    dlg = win.open_training_dialog()
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.sig_preview_loaded, timeout=20_000):
        dlg.load_data(str(csv))
    return dlg


def test_training_dialog_trains_and_registers_a_version(qtbot, make_main_window, credit_csv):
    win = make_main_window()
    dlg = open_dialog(qtbot, win, credit_csv)
    assert dlg.preview_table.rowCount() == 100
    assert dlg.target_combo.currentText() == "default"  # guessed from the column name
    assert dlg.name_edit.text() == "credit"
    dlg.set_feature_checked("customer_id", False)
    dlg.split_combo.setCurrentText("kfold")
    dlg.folds_spin.setValue(3)
    dlg.params_edit.setPlainText("C=0.5\nmax_iter=300")
    dlg.estimator_combo.setCurrentText("LogisticRegression")

    with qtbot.waitSignal(dlg.sig_training_started, timeout=20_000) as started:
        qtbot.mouseClick(dlg.train_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(dlg.sig_training_finished, timeout=WORKER_MS) as done:
        pass
    result = done.args[0]
    assert result["ref"] == "credit:1"
    assert "Registered credit:1" in dlg.status_label.text()
    # the live chart drew one point per fold as they arrived
    assert dlg.chart.point_count == 3 and dlg.chart.metric == "roc_auc"
    v = win.registry.resolve("credit:1")
    recipe = v.lineage["recipe"]
    assert recipe["params"] == {"C": 0.5, "max_iter": 300}
    assert recipe["features"] == ["income", "region", "debt"]
    assert recipe["split"]["kind"] == "kfold" and recipe["split"]["folds"] == 3
    # the job is in the jobs panel, with the fold scores in its log
    job = win.jobs.runner.get(started.args[0])
    assert job.state is JobState.FINISHED
    assert sum("evaluate fold" in line for line in job.log) == 3


def test_training_dialog_refuses_bad_inputs_in_one_sentence(qtbot, make_main_window, credit_csv):
    win = make_main_window()
    dlg = win.open_training_dialog()
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.sig_training_failed, timeout=5000) as failed:
        dlg.train_button.click()
    assert failed.args[0] == "choose a CSV or Parquet file to train on"
    assert dlg.error_label.isVisible()

    with qtbot.waitSignal(dlg.sig_preview_loaded, timeout=20_000):
        dlg.load_data(str(credit_csv))
    dlg.estimator_combo.setCurrentText("LogisticRegresion")
    with qtbot.waitSignal(dlg.sig_training_failed, timeout=20_000) as failed:
        dlg.train_button.click()
    assert "did you mean LogisticRegression" in failed.args[0]
    assert "\n" not in failed.args[0] and "Traceback" not in failed.args[0]
    assert dlg.train_button.isEnabled() and not win.jobs.runner.jobs()

    dlg.estimator_combo.setCurrentText("LogisticRegression")
    dlg.params_edit.setPlainText("C")
    with qtbot.waitSignal(dlg.sig_training_failed, timeout=5000) as failed:
        dlg.train_button.click()
    assert failed.args[0].startswith("bad parameter 'C': use key=value")


def test_cancel_from_the_jobs_panel_leaves_no_version(qtbot, make_main_window, credit_csv):
    win = make_main_window()
    dlg = open_dialog(qtbot, win, credit_csv)
    dlg.search_box.setChecked(True)
    dlg.space_edit.setPlainText("C=[" + ", ".join(str(0.01 * (i + 1)) for i in range(60)) + "]")
    with qtbot.waitSignal(dlg.sig_training_started, timeout=20_000) as started:
        dlg.train_button.click()
    job_id = started.args[0]
    # wait for the first fold on the live chart, then cancel where a user would
    qtbot.waitUntil(
        lambda: dlg.chart._buffer is not None and len(dlg.chart._buffer) > 0, timeout=WORKER_MS
    )
    win.show_page(win.pages.indexOf(win.jobs_page))
    win.jobs_page.select_job(job_id)
    assert win.jobs_page.cancel_button.isEnabled()
    with qtbot.waitSignal(win.jobs.sig_job_cancelled, timeout=WORKER_MS):
        qtbot.mouseClick(win.jobs_page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cancelled" in dlg.status_label.text(), timeout=5000)
    assert win.jobs.runner.get(job_id).state is JobState.CANCELLED
    assert win.registry.list_versions() == []
    with win.registry.read() as cur:
        runs = cur.execute("SELECT status FROM runs WHERE kind = 'train'").fetchall()
    assert runs == [("cancelled",)]


@pytest.fixture
def two_versions(make_main_window, credit_csv):
    win = make_main_window()
    base = Recipe(data=str(credit_csv), target="default", estimator="LogisticRegression")
    train(win.registry, base, "credit")
    tree = base.replace(estimator="DecisionTreeClassifier", params={"max_depth": 2})
    train(win.registry, tree, "credit")
    win.registry.set_alias("credit:1", "champion", "first model")
    return win


def test_validation_view_draws_curves_of_a_binary_classifier(qtbot, two_versions, credit_csv):
    win = two_versions
    dlg = win.open_validation("credit:1", str(credit_csv))
    qtbot.addWidget(dlg)
    page = dlg.page
    with qtbot.waitSignal(page.sig_result_shown, timeout=WORKER_MS) as shown:
        page.validate_button.click()
    res = shown.args[0]
    assert res["rows"] == 240 and res["task"] == "classification"
    assert set(page.charts.plots) == {"roc", "pr", "calibration"}
    roc = [c for c in page.charts.plots["roc"].getPlotItem().listDataItems() if c.name()]
    xs, ys = roc[0].getData()
    assert len(xs) > 2 and xs[0] == 0.0 and xs[-1] == 1.0 and ys[-1] == 1.0
    cm = page.charts.confusion
    counts = [int(cm.item(r, c).text().split("\n")[0]) for r in range(2) for c in range(2)]
    assert sum(counts) == 240
    assert page.metrics.model().rowCount() == len(res["metrics"])
    assert page.metrics.model().index(0, 0).data() == sorted(res["metrics"])[0]


def test_comparison_view_shows_differences_and_promotes(qtbot, two_versions, credit_csv):
    from modelward.core.policies import Policy, set_policy

    win = two_versions
    dlg = win.open_comparison("credit:1", "credit:2", str(credit_csv))
    qtbot.addWidget(dlg)
    page = dlg.page
    page.gates_edit.setText("roc_auc>=0.5")
    with qtbot.waitSignal(page.sig_result_shown, timeout=WORKER_MS) as shown:
        page.compare_button.click()
    res = shown.args[0]
    diffs = page.differences.model()
    assert diffs.rowCount() == len(res["differences"]) > 2
    metrics = [diffs.index(r, 0).data() for r in range(diffs.rowCount())]
    assert "roc_auc" in metrics
    assert page.gates.model().index(0, 1).data() == "✓ passed"
    assert page.promote_button.isEnabled()
    assert {"roc", "pr"} <= set(page.charts.plots)

    # four-eyes on: the alias does not move, and the page says what is needed
    set_policy(win.registry, Policy(model="credit", owner="Alice Maker"))
    with qtbot.waitSignal(page.sig_promotion_done, timeout=20_000) as done:
        page.promote("tree is simpler")
    assert not done.args[0].moved
    assert page.error_label.isVisible() and "Approval required" in page.error_label.text()
    assert win.registry.resolve("credit@champion").version == 1

    set_policy(win.registry, Policy(model="credit", owner="Alice Maker", four_eyes=False))
    with qtbot.waitSignal(page.sig_promotion_done, timeout=20_000) as done:
        page.promote("tree is simpler")
    assert done.args[0].moved
    assert win.registry.resolve("credit@champion").version == 2


def _click_feature_box(qtbot, dlg, column: str) -> None:
    """Click the check box of a feature, the way a user does."""
    from modelward.ui.dialogs.training import COLUMN_ROLE

    lst = dlg.features_list
    item = next(lst.item(i) for i in range(lst.count()) if lst.item(i).data(COLUMN_ROLE) == column)
    lst.scrollToItem(item)
    rect = lst.visualItemRect(item)
    qtbot.mouseClick(
        lst.viewport(),
        Qt.MouseButton.LeftButton,
        pos=rect.topLeft() + QPoint(12, rect.height() // 2),
    )


def _checked(dlg, column: str) -> bool:
    from modelward.ui.dialogs.training import COLUMN_ROLE

    lst = dlg.features_list
    return any(
        lst.item(i).data(COLUMN_ROLE) == column
        and lst.item(i).checkState() == Qt.CheckState.Checked
        for i in range(lst.count())
    )


def test_ticking_an_id_like_column_asks_first(qtbot, make_main_window, credit_csv):
    from PySide6.QtWidgets import QMessageBox

    win = make_main_window()
    dlg = open_dialog(qtbot, win, credit_csv)
    assert not _checked(dlg, "customer_id")  # unticked by default
    assert _checked(dlg, "income")

    # Ticked, then "Leave it out": unticked again.
    _click_feature_box(qtbot, dlg, "customer_id")
    qtbot.waitUntil(lambda: dlg.id_confirm is not None and dlg.id_confirm.isVisible())
    assert "customer_id" in dlg.id_confirm.text()
    qtbot.mouseClick(
        dlg.id_confirm.button(QMessageBox.StandardButton.No), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: dlg.id_confirm is None)
    assert not _checked(dlg, "customer_id")
    assert dlg.recipe().keep_id_columns is False
    assert "customer_id" not in dlg.recipe().features

    # Ticked, then "Use it": kept, and the recipe says so (training keeps it).
    _click_feature_box(qtbot, dlg, "customer_id")
    qtbot.waitUntil(lambda: dlg.id_confirm is not None and dlg.id_confirm.isVisible())
    qtbot.mouseClick(
        dlg.id_confirm.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: dlg.id_confirm is None)
    assert _checked(dlg, "customer_id")
    recipe = dlg.recipe()
    assert recipe.keep_id_columns is True
    # Unticking and ticking again does not ask twice.
    _click_feature_box(qtbot, dlg, "customer_id")
    assert not _checked(dlg, "customer_id")
    _click_feature_box(qtbot, dlg, "customer_id")
    assert _checked(dlg, "customer_id") and dlg.id_confirm is None
    dlg.close()


def test_the_preview_shows_a_yes_no_column_as_the_file_says_it(qtbot, make_main_window, tmp_path):
    """DuckDB types a CSV column of yes/no as BOOLEAN; the preview shows the file's words
    (a model trained on it predicts them), and the column's kind stays what it was."""
    from support.training_ui import training_dialog

    df = credit_frame(60)
    df["default"] = np.where(df["default"] == 1, "yes", "no")
    df["married"] = np.where(df["income"] > 50, "Yes", "No")
    path = tmp_path / "loans.csv"
    df.to_csv(path, index=False)
    dlg = training_dialog(qtbot, make_main_window(), path)
    t = dlg.preview_table
    heads = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    default, married, income = (heads.index(c) for c in ("default", "married", "income"))
    shown = [t.item(r, default).text() for r in range(t.rowCount())]
    assert set(shown) == {"yes", "no"} and shown == df["default"].tolist()
    assert [t.item(r, married).text() for r in range(3)] == df["married"].tolist()[:3]
    assert t.item(0, income).text() == str(df["income"].iloc[0])  # numbers as before
    assert dlg.target_combo.currentText() == "default"
