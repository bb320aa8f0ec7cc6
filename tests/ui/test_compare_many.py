"""Compare many: select versions, Model → Compare selected; metrics with their data,
parameters against the score (every search candidate), curves re-scored on one file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt

from modelward.ui.actions import Ids
from modelward.ui.charts.parallel import Item, parallel_axes
from modelward.ui.main_window import MainWindow
from modelward.ui.measured import MIXED_MARK, measured_on, mixed_note


@pytest.fixture
def trained(tmp_path: Path):
    """``loans`` v1 (grid search over C: 3 candidates) and v2 (plain), trained here;
    ``logged`` v1, logged with ``log_model`` (its own holdout)."""
    from sklearn.linear_model import LogisticRegression

    from modelward.core.compute.recipe import Recipe, Search, Split
    from modelward.core.compute.training import train
    from modelward.core.intake.estimator import log_estimator
    from modelward.core.registry import Registry

    rng = np.random.default_rng(0)
    n = 240
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = (x1 + 0.5 * x2 + rng.normal(scale=0.8, size=n) > 0).astype(int)
    csv = tmp_path / "loans.csv"
    pd.DataFrame({"x1": x1, "x2": x2, "default": y}).to_csv(csv, index=False)
    reg = Registry(tmp_path / "registry", idle_release=0.2)
    grid = Recipe(
        data=str(csv),
        target="default",
        estimator="LogisticRegression",
        params={"max_iter": 300},
        search=Search(kind="grid", space={"C": [0.01, 0.1, 10.0]}, folds=2),
    )
    train(reg, grid, "loans")
    plain = Recipe(
        data=str(csv),
        target="default",
        estimator="LogisticRegression",
        params={"C": 1.0, "max_iter": 100},
        split=Split(kind="kfold", folds=3),
    )
    train(reg, plain, "loans")
    X = pd.DataFrame({"x1": x1, "x2": x2})
    est = LogisticRegression(C=3.0).fit(X, y)
    log_estimator(reg, est, "logged", X=X, y=y, metrics={"roc_auc": 0.5, "accuracy": 0.5})
    reg.close()
    return reg, csv


def _select(view, rows: list[int]) -> None:
    sm = view.selectionModel()
    sm.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for r in rows:
        sm.select(view.model().index(r, 0), flags)


def _open_compare(qtbot, win: MainWindow):
    pages: list = []
    win.sig_compare_many_opened.connect(pages.append)
    win.acts[Ids.COMPARE_SELECTED].trigger()
    qtbot.waitUntil(lambda: bool(pages), timeout=15_000)
    page = pages[0]
    assert page.isVisible()
    return page


def test_compare_selected_from_the_registry_shows_metrics_with_their_data_and_every_candidate(
    qtbot, make_main_window, trained, tmp_path
):
    reg, _csv = trained
    win = make_main_window(reg)
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 3, timeout=10_000)
    # fewer than two selected: nothing opens, the status bar says what to do
    _select(win.registry_page.table, [0])
    win.acts[Ids.COMPARE_SELECTED].trigger()
    assert "two or more" in win.statusBar().currentMessage()
    assert not win.registry_page.compare_button.isEnabled()
    _select(win.registry_page.table, [0, 1, 2])
    assert win.registry_page.compare_button.isEnabled()
    pages: list = []
    win.sig_compare_many_opened.connect(pages.append)
    qtbot.mouseClick(win.registry_page.compare_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(pages), timeout=15_000)
    page = pages[0]
    assert {v.ref for v in page.versions} == {"loans:1", "loans:2", "logged:1"}
    # metrics: each row says what it was measured on; mixed data is marked, with a tooltip
    t = page.metrics_table
    heads = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    assert heads[:3] == ["Version", "Aliases", "Measured on"]
    on = {t.item(r, 0).text(): t.item(r, 2).text() for r in range(t.rowCount())}
    assert on["loans:1"] == "holdout 25% of loans.csv"
    assert on["loans:2"] == "3-fold CV on loans.csv"
    assert on["logged:1"] == "holdout of its training data"
    roc = heads.index(f"roc_auc {MIXED_MARK}")
    assert "3 different data sets" in t.horizontalHeaderItem(roc).toolTip()
    assert page.mixed_label.isVisible() and "different data sets" in page.mixed_label.text()
    assert "measured on" in t.item(0, roc).toolTip()
    # parameters vs the score: the versions and the grid's three candidates
    page.tabs.setCurrentIndex(1)
    assert page.candidates_check.isChecked()
    items = page.parameter_items()
    assert sum(it.candidate for it in items) == 3
    names = [a.name for a in page.parallel.axes]
    assert "C" in names and names[-1] == page.score_combo.currentText() == "roc_auc"
    qtbot.mouseClick(page.candidates_check, Qt.MouseButton.LeftButton)
    assert not any(it.candidate for it in page.parameter_items())
    # exports: PNG, SVG and CSV of the chart; CSV of the metrics
    out = tmp_path / "out"
    out.mkdir()
    (png,) = page.export("params", out / "p.png")
    (svg,) = page.export("params", out / "p.svg")
    (csv_path,) = page.export("params", out / "p.csv")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in svg.read_bytes()[:2000]
    rows = pd.read_csv(csv_path)
    assert list(rows.columns)[-1] == "roc_auc" and len(rows) == 3
    (metrics_csv,) = page.export("metrics", out / "m.csv")
    assert "Measured on" in pd.read_csv(metrics_csv).columns
    page.window().close()


def test_the_comparison_rescores_every_version_on_one_chosen_file(
    qtbot, make_main_window, trained, tmp_path
):
    reg, csv = trained
    win = make_main_window(reg)
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 3, timeout=10_000)
    with qtbot.waitSignal(win.sig_model_page_loaded, timeout=10_000):
        win.open_model("loans")
    _select(win.model_page.versions, [0, 1])
    page = _open_compare(qtbot, win)
    page.tabs.setCurrentIndex(2)
    page.data_edit.setText(str(csv))
    with qtbot.waitSignal(page.sig_result_shown, timeout=180_000):
        qtbot.mouseClick(page.rescore_button, Qt.MouseButton.LeftButton)
    t = page.rescored_table
    assert t.rowCount() == 2
    assert {t.item(r, 1).text() for r in range(2)} == {"loans.csv (240 rows)"}
    assert set(page.charts.plots) >= {"roc", "pr", "calibration"}
    # one line per version in the overlaid ROC curves
    roc = page.charts.plots["roc"].getPlotItem()
    named = [c.name() for c in roc.listDataItems() if c.name()]
    assert len([n for n in named if n.startswith("loans:")]) == 2
    written = page.export("curves", tmp_path / "curves.png")
    assert written and all(p.read_bytes()[:4] == b"\x89PNG" for p in written)
    page.window().close()


def test_model_page_compare_with_three_selected_opens_the_side_by_side_view(
    qtbot, make_main_window, trained
):
    from modelward.core.compute.recipe import Recipe
    from modelward.core.compute.training import train

    reg, csv = trained
    train(reg, Recipe(data=str(csv), target="default", estimator="DecisionTreeClassifier"), "loans")
    reg.close()
    win = make_main_window(reg)
    with qtbot.waitSignal(win.sig_model_page_loaded, timeout=10_000):
        win.open_model("loans")
    _select(win.model_page.versions, [0, 1, 2])
    pages: list = []
    win.sig_compare_many_opened.connect(pages.append)
    qtbot.mouseClick(win.model_page.compare_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(pages), timeout=15_000)
    assert len(pages[0].versions) == 3
    pages[0].window().close()


def test_parallel_axes_keep_what_differs_and_log_scale_wide_ranges():
    items = [
        Item("a", {"C": 0.01, "solver": "lbfgs", "same": 1}, 0.7),
        Item("b", {"C": 10.0, "solver": "saga", "same": 1}, 0.9),
        Item("c", {"C": 1.0, "solver": "lbfgs", "same": 1}, None),
    ]
    axes, pos = parallel_axes(items, "roc_auc")
    assert [a.name for a in axes] == ["C", "solver", "roc_auc"]
    assert axes[0].kind == "log" and pos[0, 0] == 0.0 and pos[1, 0] == 1.0
    assert abs(pos[2, 0] - 2 / 3) < 1e-9  # 1.0 sits two thirds up a log axis 0.01..10
    assert axes[1].categories == ["lbfgs", "saga"]
    assert pos[0, 2] == 0.0 and pos[1, 2] == 1.0 and np.isnan(pos[2, 2])


def test_measured_on_names_the_data():
    assert measured_on({}) == "not recorded"
    assert measured_on({"metrics_data": "/x/q3.parquet"}) == "validation set q3.parquet"
    assert measured_on(
        {"recipe": {"split": {"kind": "time", "test_size": 0.2}}, "data": "a.csv"}
    ) == ("holdout latest 20% of a.csv")
    assert mixed_note(["a", "a"]) == ""
    assert "2 different data sets" in mixed_note(["a", "b"])


def test_the_model_page_and_the_two_version_dialog_say_where_metrics_were_measured(
    qtbot, make_main_window, trained
):
    from modelward.ui.dialogs.compare import CompareDialog

    reg, _csv = trained
    win = make_main_window(reg)
    with qtbot.waitSignal(win.sig_model_page_loaded, timeout=10_000):
        win.open_model("loans")
    m = win.model_page.versions_model
    heads = [m.headerData(c, Qt.Orientation.Horizontal) for c in range(m.columnCount())]
    col = heads.index("Metrics measured on")
    shown = {m.index(r, col).data() for r in range(m.rowCount())}
    assert shown == {"holdout 25% of loans.csv", "3-fold CV on loans.csv"}
    marked = [c for c, h in enumerate(heads) if h.endswith(MIXED_MARK)]
    assert marked, heads  # v1 and v2 were measured on different data: every metric is marked
    tip = m.headerData(marked[0], Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert "2 different data sets" in tip
    assert "measured on" in m.index(0, marked[0]).data(Qt.ItemDataRole.ToolTipRole)
    # the registry's metric columns say the numbers may come from different data
    vm = win.versions_model
    last = vm.columnCount() - 1
    assert "different data" in vm.headerData(
        last, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
    )
    a, b = reg.resolve("loans:1"), reg.resolve("loans:2")
    reg.close()
    dlg = CompareDialog(a, b, win)
    qtbot.addWidget(dlg)
    table = dlg.tabs.widget(0)
    assert table.item(0, 0).text() == "measured on"
    assert table.item(0, 3).text() == f"{MIXED_MARK} different data"
