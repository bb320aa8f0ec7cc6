"""A scored batch on the Scoring page: open its rows, click one, read its reason codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt
from sklearn.linear_model import LogisticRegression

from modelward import api
from modelward.core.intake.estimator import log_estimator
from modelward.ui.actions import Ids

FEATURES = ["age", "income", "debt"]
WORKER_MS = 240_000


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    df.insert(0, "loan_id", [f"L{i:05d}" for i in range(n)])
    return df


def _click(qtbot, table, row: int) -> None:
    rect = table.visualItemRect(table.item(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_a_row_of_a_scored_batch_shows_the_reason_codes_of_the_version_that_scored_it(
    qtbot, make_main_window, tmp_path
):
    win = make_main_window()
    df = _frame(300)
    X, y = df[FEATURES], (df["age"] - 0.5 * df["debt"] > 0).astype(int)
    log_estimator(win.registry, LogisticRegression().fit(X, y), "credit", X=X, y=y)
    win.registry.set_alias("credit:1", "champion", "first")
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    outbox.mkdir()
    win.scoring.add_folder(str(inbox), str(outbox), "credit", "loan_id")
    page = win.scoring.page
    qtbot.waitUntil(lambda: page.folders.rowCount() == 1, timeout=30_000)
    batch = inbox / "monday.csv"
    _frame(40, seed=1).to_csv(batch, index=False)
    qtbot.waitUntil(lambda: page.batches.rowCount() == 1, timeout=60_000)

    # a later champion does not change who explains this batch: the manifest's version does
    log_estimator(win.registry, LogisticRegression(C=0.01).fit(X, y), "credit", X=X, y=y)
    win.registry.set_alias("credit:2", "champion", "second")

    win.acts[Ids.PAGE_SCORING].trigger()
    assert win.pages.currentWidget() is page
    panel = win.scoring.reasons
    assert not panel.isVisibleTo(page)
    assert not page.explain_button.isEnabled()  # nothing selected
    rect = page.batches.visualItemRect(page.batches.item(0, 1))
    qtbot.mouseClick(page.batches.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert page.explain_button.isEnabled()
    with qtbot.waitSignal(panel.sig_rows_shown, timeout=WORKER_MS) as opened:
        qtbot.mouseClick(page.explain_button, Qt.MouseButton.LeftButton)
    preview = opened.args[0]
    assert panel.isVisibleTo(page)
    assert preview["ref"] == "credit:1" and preview["data"] == str(batch)
    table = panel.rows_table
    assert table.rowCount() == 40
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers[:3] == ["row", "loan_id", "prediction"]
    assert headers[-3:] == FEATURES
    assert "scored by credit:1" in panel.title_label.text()

    # a click explains that row in the worker, as the API does for the same row
    with qtbot.waitSignal(panel.sig_reasons_shown, timeout=WORKER_MS) as shown:
        _click(qtbot, table, 6)
    codes = shown.args[0]
    expected = api.reasons("credit:1", batch, win.registry, rows=[7], k=8, allow_extra=True)
    assert codes["method"] == expected["method"] and codes["meaning"] == expected["meaning"]
    row, want = codes["rows"][0], expected["rows"][0]
    assert row["row"] == 7 and row["explains"] == want["explains"]
    assert row["base"] == want["base"] and row["output"] == want["output"]
    assert row["reasons"] == want["reasons"]
    shown_rows = [
        [panel.reasons_table.item(i, c).text() for c in range(3)]
        for i in range(panel.reasons_table.rowCount())
    ]
    values = _frame(40, seed=1).iloc[6]
    assert shown_rows == [
        [r["feature"], f"{values[r['feature']]:.4g}", f"{r['contribution']:+.4g}"]
        for r in want["reasons"]
    ]
    assert expected["method"] in panel.reasons_label.text()
    assert "log-odds" in panel.reasons_label.text()
    assert panel.meaning_label.text() == f"Meaning: {expected['meaning']}"
    assert win.jobs.runner.jobs()[-1].kind == "explain"

    # an input changed since it was scored is not explained with other data
    _frame(40, seed=2).to_csv(batch, index=False)
    with qtbot.waitSignal(panel.sig_failed, timeout=WORKER_MS) as failed:
        _click(qtbot, table, 2)
    assert "has changed since credit:1 scored it" in failed.args[0]
    assert panel.error_label.isVisibleTo(page)
