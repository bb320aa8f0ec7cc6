"""The Scoring page from an empty registry: add a scoring folder, drop a batch, see it, open it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import QCoreApplication, Qt
from sklearn.linear_model import LogisticRegression

from modelward.core.intake.estimator import log_estimator
from modelward.core.registry.predictions import add_shadow
from modelward.ui.actions import Ids
from modelward.ui.pages import scoring_page
from modelward.ui.pages.scoring_page import AddScoringFolderDialog

FEATURES = ["age", "income", "debt"]


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    df.insert(0, "loan_id", [f"L{i:05d}" for i in range(n)])
    return df


def test_scoring_page_from_an_empty_registry(qtbot, make_main_window, tmp_path, monkeypatch):
    win = make_main_window()
    page = win.scoring.page
    win.acts[Ids.PAGE_SCORING].trigger()
    assert win.pages.currentWidget() is page
    assert win.nav.currentItem().text() == "Scoring"
    qtbot.waitUntil(lambda: page.empty_label.isVisibleTo(page), timeout=10_000)
    assert not page.folders.isVisibleTo(page) and not page.open_button.isEnabled()

    # a model with a champion, and a challenger in the shadow
    df = _frame(200)
    X, y = df[FEATURES], (df["age"] > 0).astype(int)
    log_estimator(win.registry, LogisticRegression().fit(X, y), "credit", X=X, y=y)
    log_estimator(win.registry, LogisticRegression(C=0.01).fit(X, y), "credit", X=X, y=y)
    win.registry.set_alias("credit:1", "champion", "first")
    add_shadow(win.registry, "credit", 2)

    # Add scoring folder… opens the dialog; the user fills it in and clicks Add
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.findChild(AddScoringFolderDialog) is not None, timeout=5_000)
    dlg = win.findChild(AddScoringFolderDialog)
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    assert not dlg.buttons.button(dlg.buttons.StandardButton.Ok).isEnabled()
    dlg.inbox.setText(str(inbox))
    dlg.outbox.setText(str(outbox))
    assert [dlg.model.itemText(i) for i in range(dlg.model.count())] == ["credit"]
    dlg.id_column.setText("loan_id")
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.folders.rowCount() == 1, timeout=30_000)
    assert page.folders.isVisibleTo(page) and not page.empty_label.isVisibleTo(page)
    cells = [page.folders.item(0, c).text() for c in range(page.folders.columnCount())]
    assert cells[:5] == [str(inbox), str(outbox), "credit", "credit:1", "v2"]

    # a batch dropped in the inbox is scored by the running watcher and shows up
    _frame(60, seed=1).to_csv(inbox / "monday.csv", index=False)
    qtbot.waitUntil(lambda: page.batches.rowCount() == 1, timeout=60_000)
    row = [page.batches.item(0, c).text() for c in range(page.batches.columnCount())]
    assert row[1:5] == ["monday.csv", "credit:1", "60", "0"]
    assert row[6] == "monday.scored.csv"
    assert (outbox / "monday.scored.csv").exists()
    assert "rows/s" in page.throughput_label.text()

    opened: list[str] = []
    monkeypatch.setattr(scoring_page, "open_path", lambda p: opened.append(p) or True)
    page.batches.selectRow(0)
    assert page.open_button.isEnabled()
    qtbot.mouseClick(page.open_button, Qt.MouseButton.LeftButton)
    assert opened == [str(outbox / "monday.scored.csv")]

    # the model page says where the model is deployed and who scores in the shadow
    win.open_model("credit")
    qtbot.waitUntil(lambda: win.scoring.deployed_label.isVisibleTo(win.model_page), timeout=15_000)
    text = win.scoring.deployed_label.text()
    assert "inbox → outbox" in text and "credit:1" in text and "credit:2" in text


def test_a_scoring_folder_the_registry_refuses_says_why_on_the_page(
    qtbot, make_main_window, tmp_path
):
    win = make_main_window()
    page = win.scoring.page
    win.scoring.show()
    win.scoring.add_folder(str(tmp_path / "same"), str(tmp_path / "same"), "credit", None)
    qtbot.waitUntil(lambda: page.error_label.isVisibleTo(page), timeout=60_000)
    assert "another folder than the inbox" in page.error_label.text()
    assert page.folders.rowCount() == 0
    # The refusal is followed by a read of the folders; the sentence outlives it.
    # (The reader emits from its own thread, and a plain callable connected to it runs
    # there at once: a token compared in the callback may not be known yet. The
    # tokens read are collected instead, and the page's own queued slot, posted
    # before they are, is delivered before the label is looked at.)
    done: list[int] = []
    win.reader.sig_read_done.connect(
        lambda c, t, _r: done.append(t) if c == scoring_page.CHANNEL else None
    )
    mine = win.scoring.refresh()
    qtbot.waitUntil(lambda: any(t >= mine for t in done), timeout=60_000)
    QCoreApplication.processEvents()
    assert page.error_label.isVisibleTo(page)
    assert "another folder than the inbox" in page.error_label.text()
