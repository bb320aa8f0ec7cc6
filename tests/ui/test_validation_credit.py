"""The validation page as a validator uses it: intervals, lift and gains, bands, threshold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from sklearn import metrics as m
from test_training_ui import WORKER_MS, credit_frame  # same folder: on sys.path under pytest

from modelward.core.compute.recipe import Recipe
from modelward.core.compute.training import train
from modelward.core.compute.validation import decision_threshold, load_validation
from modelward.ui.actions import Ids


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    binary = tmp_path / "credit.csv"
    credit_frame(n=300).to_csv(binary, index=False)
    reg = credit_frame(n=200, seed=2).drop(columns=["default"])
    reg["amount"] = reg["debt"] * 3 + np.random.default_rng(1).normal(size=len(reg))
    regression = tmp_path / "amount.csv"
    reg.to_csv(regression, index=False)
    return binary, regression


def _opened_page(qtbot, win):
    before = set(_tops())
    win.acts[Ids.VALIDATE].trigger()
    new = list({w for w in _tops() if type(w).__name__ == "ValidationPage"} - before)
    assert len(new) == 1
    return new[0]


def _tops():
    from PySide6.QtWidgets import QApplication, QWidget

    return [
        c for t in QApplication.topLevelWidgets() if t.isVisible() for c in t.findChildren(QWidget)
    ]


def test_validation_page_threshold_and_intervals(qtbot, make_main_window, files):
    binary, regression = files
    win = make_main_window()
    base = Recipe(
        data=str(binary),
        target="default",
        estimator="LogisticRegression",
        features=("income", "region", "debt"),
    )
    train(win.registry, base, "credit")
    train(
        win.registry,
        Recipe(
            data=str(regression),
            target="amount",
            estimator="Ridge",
            features=("income", "region", "debt"),
        ),
        "amount",
    )
    page = _opened_page(qtbot, win)
    page.ref_combo.set_ref("credit:1")
    page.data_edit.setText(str(binary))
    page.extra_check.setChecked(True)  # customer_id is not a feature
    with qtbot.waitSignal(page.sig_result_shown, timeout=WORKER_MS) as shown:
        qtbot.mouseClick(page.validate_button, Qt.MouseButton.LeftButton)
    res = shown.args[0]
    curves = res["curves"]

    # metrics with their intervals
    model = page.metrics.model()
    assert model.columnCount() == 3 and model.rowCount() == len(res["metrics"])
    names = [model.index(r, 0).data() for r in range(model.rowCount())]
    row = names.index("gini")
    lo, hi = curves["intervals"]["gini"]
    assert model.index(row, 2).data() == f"{lo:.4f}–{hi:.4f}"
    assert "B=500" in page.interval_note.text()
    assert "Hosmer–Lemeshow" in page.calibration_note.text()
    # lift and gains, bands
    assert set(page.credit_charts.plots) == {"lift", "gains"}
    assert page.bands.model().rowCount() == len(curves["bands"]) == 10
    assert all(page.tabs.isTabVisible(i) for i in range(page.tabs.count()))

    # the threshold control: scores read off the GUI thread, then each move is exact
    panel = page.threshold
    qtbot.waitUntil(lambda: panel.set_button.isEnabled(), timeout=20_000)
    stored = load_validation(win.registry, res["validation_id"])
    s, y = stored.predictions.proba[:, 1], stored.predictions.y_true
    page.tabs.setCurrentWidget(panel)
    panel.cost_fn.setValue(5.0)
    for pos in (300, 650):
        with qtbot.waitSignal(panel.sig_point_shown, timeout=2000) as moved:
            panel.slider.setValue(pos)
        p = moved.args[0]
        cm = m.confusion_matrix(y, (s >= pos / 1000).astype(int), labels=[0, 1])
        assert p.confusion_matrix == cm.tolist()
        assert panel.confusion.item(1, 1).text().split("\n")[0] == f"{cm[1, 1]:,}"
        assert p.expected_cost == cm[0, 1] + 5 * cm[1, 0]
        assert f"{p.approval_rate:.1%}" in panel.numbers.text()
    assert panel.spin.value() == pytest.approx(0.65)
    panel.reason_edit.setText("cut-off agreed with risk")
    with qtbot.waitSignal(page.sig_threshold_set, timeout=20_000) as done:
        qtbot.mouseClick(panel.set_button, Qt.MouseButton.LeftButton)
    assert done.args[0].threshold == pytest.approx(0.65)
    got = decision_threshold(win.registry, "credit:1")
    assert got.threshold == pytest.approx(0.65) and got.cost_fn == 5.0
    ev = [e for e in win.registry.audit_events(limit=50) if e.action == "version.threshold_set"]
    assert ev and ev[0].reason == "cut-off agreed with risk"
    assert "0.65" in panel.stored_label.text()

    # regression: intervals for rmse/mae/r2, no lift/bands/threshold tabs
    page.ref_combo.set_ref("amount:1")
    page.data_edit.setText(str(regression))
    with qtbot.waitSignal(page.sig_result_shown, timeout=WORKER_MS) as shown:
        qtbot.mouseClick(page.validate_button, Qt.MouseButton.LeftButton)
    res = shown.args[0]
    assert res["task"] == "regression"
    model = page.metrics.model()
    for r in range(model.rowCount()):
        assert model.index(r, 2).data() != "–", model.index(r, 0).data()
    assert page.tabs.isTabVisible(0) and not any(page.tabs.isTabVisible(i) for i in (1, 2, 3))
