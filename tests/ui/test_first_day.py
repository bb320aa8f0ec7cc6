"""The analyst's first day, from an empty registry, through the window only (issue 18).

Train a model (Model → Train), put a four-eyes policy on it (the model page's
Policy…), ask for it to become the champion (Set alias… → refused → Request
approval…), approve it as a second person (Approvals → Approve, signed),
validate it on labelled data (Model → Validate), monitor a batch (Watched
folders → Add folder…, then a file copied in), and write its report
(Model → Report…). Every step is a triggered action or a click.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from modelward.core.identity import list_personal_keys
from modelward.ui.actions import Ids
from modelward.ui.main_window import Page, RegistryView
from support.people import account, enrol, passphrase

MAKER, CHECKER = "Alice Maker", "Bob Checker"


def _choose(dlg, who: str) -> None:
    key = next(k for k in list_personal_keys() if k.name == who)
    dlg.key.setCurrentIndex(dlg.key.findData(key.key_id))
    dlg.passphrase.setText(passphrase(who))


def _table(path: Path, n: int, seed: int, shift: float = 0.0) -> Path:
    rng = np.random.default_rng(seed)
    income = rng.normal(50 + shift, 10, n)
    debt = rng.normal(20, 5, n)
    p = 1 / (1 + np.exp(-(debt - 20) / 5 + (income - 50) / 20))
    df = pd.DataFrame({"income": income, "debt": debt, "default": (rng.random(n) < p).astype(int)})
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)
    return path


def _page_of(cls_name: str) -> QWidget | None:
    for top in QApplication.topLevelWidgets():
        if top.isVisible():
            for c in top.findChildren(QWidget):
                if type(c).__name__ == cls_name:
                    return c
    return None


def test_the_first_day_from_an_empty_registry_through_the_window_only(
    qtbot, make_main_window, tmp_path, monkeypatch
):
    train_csv = _table(tmp_path / "data" / "loans-2024.csv", 600, 1)
    holdout_csv = _table(tmp_path / "data" / "loans-2025-q1.csv", 300, 2)
    batch_csv = _table(tmp_path / "data" / "batch-2025-04.csv", 300, 3, shift=8.0)
    win = make_main_window()
    qtbot.waitUntil(
        lambda: win.registry_stack.currentIndex() == RegistryView.WELCOME, timeout=10_000
    )

    # The two people of the day each hold a personal key the registry trusts (a
    # one-time set-up per person, not part of a model's first day; trusting a
    # colleague's key is a CLI step today: `modelward keys trust-approve`).
    enrol(win.registry, MAKER, CHECKER)

    # 1. Train a model: Model → Train a model…, the file, a name, Train.
    from modelward.ui.dialogs.training import TrainingDialog

    win.acts[Ids.TRAIN].trigger()
    dlg = win.findChild(TrainingDialog)
    with qtbot.waitSignal(dlg.sig_preview_loaded, timeout=30_000):
        qtbot.keyClicks(dlg.data_edit, str(train_csv))
        qtbot.keyClick(dlg.data_edit, Qt.Key.Key_Return)
    dlg.name_edit.clear()
    qtbot.keyClicks(dlg.name_edit, "credit")
    with qtbot.waitSignal(dlg.sig_training_finished, timeout=240_000) as trained:
        qtbot.mouseClick(dlg.train_button, Qt.MouseButton.LeftButton)
    assert trained.args[0]["ref"] == "credit:1"
    dlg.close()

    # 2. The registry lists it; Enter on the row opens its model page.
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 1, timeout=20_000)
    win.raise_()
    win.activateWindow()  # back from the training dialog
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=5_000)
    qtbot.waitUntil(lambda: win.registry_stack.currentIndex() == RegistryView.TABLE, timeout=5_000)
    table = win.registry_page.table
    ix = table.model().index(0, 0)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualRect(ix).center())
    with qtbot.waitSignal(win.sig_model_page_loaded, timeout=10_000):
        qtbot.keyClick(table, Qt.Key.Key_Return)

    # 3. A four-eyes policy on the model: Policy… on the model page.
    center = win.policies
    qtbot.mouseClick(center.policy_button, Qt.MouseButton.LeftButton)
    pdlg = center.policy_dialog
    pdlg.owner.setText(MAKER)
    pdlg.reason.setText("champion moves need a second person")
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=30_000):
        qtbot.mouseClick(pdlg.ok_button, Qt.MouseButton.LeftButton)

    # 4. Make it the champion: Set alias… is refused (four-eyes) and offers a request.
    qtbot.waitUntil(lambda: len(center.snapshot.policies) == 1, timeout=10_000)
    win.model_page.versions.selectRow(0)
    qtbot.mouseClick(win.model_page.alias_button, Qt.MouseButton.LeftButton)
    from modelward.ui.dialogs.alias import AliasDialog

    adlg = next(d for d in win.findChildren(AliasDialog) if d.isVisible())
    adlg.alias.setCurrentText("champion")
    adlg.reason.setPlainText("first trained model; holdout ROC AUC is fine")
    with qtbot.waitSignal(center.sig_approval_needed, timeout=30_000):
        qtbot.mouseClick(adlg.ok_button, Qt.MouseButton.LeftButton)
    ask = next(b for b in center.request_box.buttons() if b.text() == "Request approval…")
    ask.click()
    rdlg = center.request_dialog
    _choose(rdlg, MAKER)  # the maker's key and passphrase: the request is signed
    with account(MAKER), qtbot.waitSignal(win.jobs.sig_job_finished, timeout=30_000):
        qtbot.mouseClick(rdlg.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: center.approvals_badge.count() == 1, timeout=10_000)

    # 5. A second person approves it on the Approvals page (signed): the alias moves.
    win.acts[Ids.PAGE_APPROVALS].trigger()
    center.approvals_page.pending.selectRow(0)
    qtbot.mouseClick(center.approvals_page.approve_button, Qt.MouseButton.LeftButton)
    sdlg = center.signature_dialog
    _choose(sdlg, CHECKER)  # another person's key, on another OS account
    sdlg.reason.setPlainText("reviewed the training and the holdout")
    with account(CHECKER), qtbot.waitSignal(win.jobs.sig_job_finished, timeout=120_000):
        qtbot.mouseClick(sdlg.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not shiboken6.isValid(sdlg) or not sdlg.isVisible(), timeout=10_000)
    reg = win.registry
    assert reg.resolve("credit@champion").version == 1
    reg.close()

    # 6. Validate it on labelled data: Model → Validate a version…
    win.acts[Ids.VALIDATE].trigger()
    val = _page_of("ValidationPage")
    assert val is not None
    qtbot.waitUntil(lambda: val.ref_combo.loaded, timeout=10_000)
    # the picker lists every version, the champion marked; the analyst picks it
    assert "credit:1" in val.ref_combo.refs()
    val.ref_combo.set_ref("credit:1")
    val.data_edit.setText(str(holdout_csv))
    with qtbot.waitSignal(val.sig_result_shown, timeout=180_000) as shown:
        qtbot.mouseClick(val.validate_button, Qt.MouseButton.LeftButton)
    assert shown.args[0]["rows"] == 300 and "roc_auc" in shown.args[0]["metrics"]
    val.window().close()

    # 7. Monitor a batch: Watched folders → Add folder… (data batches of credit), a file in.
    from modelward.core.watch import DATA
    from modelward.ui.dialogs.watch import AddFolderDialog

    inbox = tmp_path / "batches"
    inbox.mkdir()
    win.acts[Ids.PAGE_WATCH].trigger()
    qtbot.mouseClick(win.watch_page.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.findChild(AddFolderDialog) is not None, timeout=5_000)
    fdlg = win.findChild(AddFolderDialog)
    qtbot.waitUntil(lambda: fdlg.model_name.loaded, timeout=10_000)
    fdlg.path.setText(str(inbox))
    fdlg.kind.setCurrentIndex(fdlg.kind.findData(DATA))
    fdlg.model_name.setCurrentIndex(fdlg.model_name.findText("credit"))
    qtbot.mouseClick(fdlg.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.watch_folders_model.rowCount() == 1, timeout=20_000)
    shutil.copy(batch_csv, inbox / batch_csv.name)
    win.acts[Ids.PAGE_MONITORING].trigger()
    page = win.monitoring_page
    qtbot.waitUntil(
        lambda: page.snapshot is not None and page.snapshot.n_batches == 1, timeout=120_000
    )
    assert page.snapshot.ref == "credit:1"

    # 8. Write its report: Model → Report… (the save dialog answers with a path).
    out = tmp_path / "reports" / "credit-v1.html"
    out.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    win.acts[Ids.PAGE_REGISTRY].trigger()
    with qtbot.waitSignal(win.sig_model_page_loaded, timeout=10_000):
        win.open_model("credit")
    win.model_page.versions.selectRow(0)
    assert win.acts[Ids.REPORT].isEnabled()
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=120_000):
        win.acts[Ids.REPORT].trigger()
    html = out.read_text(encoding="utf-8")
    assert "credit:1" in html
    assert win.pages.currentIndex() == Page.REGISTRY
