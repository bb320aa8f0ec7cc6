"""The Explanations panel of the validation window: charts after validating, a row's reasons."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from modelward.core.compute.recipe import Recipe
from modelward.core.compute.training import train
from modelward.core.compute.validation import load_validation

WORKER_MS = 240_000


@pytest.fixture
def credit_csv(tmp_path):
    from tests.storage.test_training import credit_frame

    path = tmp_path / "credit.csv"
    credit_frame(n=200, seed=0).to_csv(path, index=False)
    return path


def test_validating_explains_and_a_clicked_row_shows_its_reason_codes(
    qtbot, make_main_window, credit_csv
):
    win = make_main_window()
    base = Recipe(
        data=str(credit_csv),
        target="default",
        estimator="HistGradientBoostingClassifier",
        params={"max_iter": 15},
    )
    train(win.registry, base, "credit")
    dlg = win.open_validation("credit:1", str(credit_csv))
    qtbot.addWidget(dlg)
    page = dlg.page
    panel = page.explain_panel
    assert not panel.isVisible()  # nothing to explain yet
    with qtbot.waitSignal(panel.sig_explained, timeout=WORKER_MS) as explained:
        qtbot.mouseClick(page.validate_button, Qt.MouseButton.LeftButton)
    doc = explained.args[0]
    assert panel.isVisible() and "permutation importance" in panel.method_label.text()
    # the Jobs page lists it as its own kind, with what it explains
    titles = [j.title for j in win.jobs.runner.jobs() if j.kind == "explain"]
    assert any(t.startswith("Explanations of credit:1 (validation ") for t in titles)
    # importance bars with whiskers, largest at the top
    chart = panel.importance
    assert chart.features[-1] == doc["importance"][0]["feature"]
    assert len(chart.bars.opts["width"]) == len(doc["importance"])
    np.testing.assert_allclose(
        sorted(chart.whiskers.opts["left"]), sorted(i["std"] for i in doc["importance"])
    )
    # partial dependence with ICE; a categorical feature is drawn over its categories
    assert panel.dependence.ice_count == 50
    region = next(i for i, e in enumerate(doc["pdp"]) if e["feature"] == "region")
    panel.feature_combo.setCurrentIndex(region)
    xs, _ = panel.dependence.average.getData()
    assert list(xs) == [0.0, 1.0, 2.0]
    # stored with the validation
    vid = page.result["validation_id"]
    stored = load_validation(win.registry, vid, predictions=False).curves["explanations"]
    assert stored["importance"] == doc["importance"]

    # the first rows of the validation, with what the model said; a click explains one
    table = panel.rows_table
    assert table.rowCount() == 200
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers[:4] == ["row", "default", "prediction", "score"]
    rect = table.visualItemRect(table.item(2, 0))
    with qtbot.waitSignal(panel.sig_reasons_shown, timeout=WORKER_MS) as shown:
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    codes = shown.args[0]
    assert codes["rows"][0]["row"] == 3 and codes["method"].startswith("TreeSHAP")
    assert panel.reasons_table.rowCount() == 4  # every column of this model
    assert "log-odds of class 1" in panel.reasons_label.text()
    assert "TreeSHAP" in panel.reasons_label.text()
    # each code with the clicked row's value of that feature
    values = {
        table.horizontalHeaderItem(c).text(): table.item(2, c).text()
        for c in range(table.columnCount())
    }
    for i, code in enumerate(codes["rows"][0]["reasons"]):
        assert panel.reasons_table.item(i, 0).text() == code["feature"]
        assert panel.reasons_table.item(i, 1).text() == values[code["feature"]]

    # with numbers and explanations shown, the window still fits a 1024x700 screen:
    # what does not fit scrolls inside it
    dlg.resize(1024, 700)
    qtbot.waitUntil(lambda: dlg.height() <= 700)
    assert dlg.minimumSizeHint().height() <= 700
    # ... and the rows to click keep five rows' height (the page scrolls, not the table
    # down to one row, as it did)
    row_h = table.verticalHeader().defaultSectionSize()
    qtbot.waitUntil(lambda: table.viewport().height() >= 5 * row_h)
