"""Issue 18, walked through the user's door: roles, selection, pickers, keyboard, texts."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QPushButton, QToolButton, QWidget

from modelward.ui.actions import Ids
from modelward.ui.main_window import MainWindow, Page, RegistryView
from support.models import register_file, write_joblib
from support.training_ui import training_dialog


def three_versions(tmp_path: Path):
    """``credit`` v1..v3 with the champion on v1, and ``other`` v1."""
    from modelward.core.registry import Registry

    reg = Registry(tmp_path / "registry", idle_release=0.2)
    for seed in (1, 2, 3):
        register_file(reg, write_joblib(tmp_path / f"c{seed}.joblib", seed=seed), "credit")
    register_file(reg, write_joblib(tmp_path / "o.joblib", seed=9), "other")
    reg.set_alias("credit:1", "champion", "first champion")
    return reg


def _click_row(qtbot, view, row: int) -> None:
    ix = view.model().index(row, 0)
    view.scrollTo(ix)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(ix).center())


def _open_credit(qtbot, win: MainWindow) -> None:
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 4, timeout=10_000)
    with qtbot.waitSignal(win.sig_model_page_loaded, timeout=10_000):
        win.open_model("credit")


def _row_of(win: MainWindow, version: int) -> int:
    assert win.model_page.data is not None
    return next(i for i, v in enumerate(win.model_page.data.versions) if v.version == version)


def _opened(win: MainWindow, act: str, cls_name: str) -> QWidget:
    """Trigger ``act`` and return the page of ``cls_name`` it opened in a new window."""

    def pages() -> set[QWidget]:
        return {
            c
            for top in QApplication.topLevelWidgets()
            if top.isVisible()
            for c in top.findChildren(QWidget)
            if type(c).__name__ == cls_name
        }

    before = pages()
    win.acts[act].trigger()
    new = pages() - before
    assert len(new) == 1, f"{act} opened {len(new)} {cls_name}"
    return new.pop()


def _close_top(w: QWidget) -> None:
    w.window().close()


# ------------------------------------------------------------------ item 2
def test_champion_vs_challenger_takes_the_roles_from_the_champion_alias(
    qtbot, make_main_window, tmp_path
):
    win = make_main_window(three_versions(tmp_path))
    _open_credit(qtbot, win)

    # The champion row selected: champion stays champion, the newest other is the challenger.
    _click_row(qtbot, win.model_page.versions, _row_of(win, 1))
    page = _opened(win, Ids.COMPARE_ON_DATA, "ComparePage")
    assert page.champion_combo.ref() == "credit:1"
    assert page.challenger_combo.ref() == "credit:3"
    _close_top(page)

    # Another row selected: it is the challenger, against the real champion.
    _click_row(qtbot, win.model_page.versions, _row_of(win, 2))
    page = _opened(win, Ids.COMPARE_ON_DATA, "ComparePage")
    assert page.champion_combo.ref() == "credit:1"
    assert page.challenger_combo.ref() == "credit:2"
    _close_top(page)


# ------------------------------------------------------------------ item 4
def test_the_model_page_keeps_the_selected_version_across_a_refresh(
    qtbot, make_main_window, tmp_path
):
    win = make_main_window(three_versions(tmp_path))
    _open_credit(qtbot, win)
    _click_row(qtbot, win.model_page.versions, _row_of(win, 1))
    assert win.model_page.tabs.tabText(0) == "Details of version 1"

    # Another process (here: the registry directly) adds a version: the page refreshes.
    register_file(win.registry, write_joblib(tmp_path / "c4.joblib", seed=4), "credit")
    with qtbot.waitSignal(win.sig_model_page_loaded, timeout=15_000):
        win.acts[Ids.REFRESH].trigger()
    assert len(win.model_page.data.versions) == 4
    assert [v.version for v in win.model_page.selected_versions()] == [1]
    assert win.model_page.tabs.tabText(0) == "Details of version 1"


# ------------------------------------------------------------------ item 5
def test_validate_offers_every_version_of_the_registry_with_the_champion_marked(
    qtbot, make_main_window, tmp_path
):
    win = make_main_window(three_versions(tmp_path))
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 4, timeout=10_000)
    win.show_table()  # no model page open
    page = _opened(win, Ids.VALIDATE, "ValidationPage")
    picker = page.ref_combo
    qtbot.waitUntil(lambda: picker.loaded, timeout=10_000)
    assert sorted(picker.refs()) == ["credit:1", "credit:2", "credit:3", "other:1"]
    champ = picker.findData("credit:1")
    assert "★ champion" in picker.itemText(champ)

    # Typing filters by any part of the text; choosing gives the plain ref.
    picker.setFocus()
    qtbot.keyClicks(picker.lineEdit(), "champ")
    popup = picker.completer().popup()
    qtbot.waitUntil(lambda: popup.isVisible(), timeout=5_000)
    assert picker.completer().completionCount() == 1
    picker.setCurrentIndex(champ)
    assert picker.ref() == "credit:1"
    _close_top(page)

    # A version registered after the window opened is offered by the next picker.
    register_file(win.registry, write_joblib(tmp_path / "c4.joblib", seed=4), "credit")
    page = _opened(win, Ids.COMPARE_ON_DATA, "ComparePage")
    qtbot.waitUntil(lambda: page.challenger_combo.loaded, timeout=10_000)
    assert "credit:4" in page.challenger_combo.refs()
    assert "other:1" in page.champion_combo.refs()
    _close_top(page)


def test_register_lists_the_existing_models(qtbot, make_main_window, tmp_path):
    from modelward.ui.dialogs.register import RegisterNameDialog

    win = make_main_window(three_versions(tmp_path))
    f = write_joblib(tmp_path / "new credit.joblib", seed=7)
    dlg = win.open_register_dialog(str(f))
    qtbot.waitUntil(lambda: dlg.name_picker.loaded, timeout=10_000)
    names = [dlg.name_picker.itemText(i) for i in range(dlg.name_picker.count())]
    assert names == ["credit", "other"]
    assert isinstance(dlg, RegisterNameDialog)
    dlg.name_picker.setCurrentIndex(0)
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=30_000):
        qtbot.mouseClick(dlg.ok_button, Qt.MouseButton.LeftButton)
    assert win.registry.resolve("credit:4").name == "credit"


def _user_visible_texts(root: QWidget) -> list[str]:
    from PySide6.QtWidgets import QAbstractButton, QLabel

    out = []
    for w in root.findChildren(QWidget):
        if isinstance(w, QLabel | QAbstractButton):
            out.append(w.text())
        out.append(w.toolTip())
    return out


def test_no_window_text_tells_the_user_to_run_a_command(qtbot, make_main_window, tmp_path):
    from modelward.ui.texts import window_text

    win = make_main_window(three_versions(tmp_path))
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 4, timeout=10_000)
    for page in (Page.REGISTRY, Page.JOBS, Page.AUDIT, Page.WATCH, Page.MONITORING):
        win.show_page(page)
        qtbot.wait(0)
    texts = _user_visible_texts(win)
    bad = [t for t in texts if re.search(r"modelward [a-z]", t)]
    assert not bad, bad
    # Core's refusal of a protected alias is said as the window's step.
    from modelward.core.registry.aliases import protection_hint

    said = window_text(protection_hint("credit", "champion"))
    assert "modelward " not in said and "Request approval" in said


# ------------------------------------------------------------------ item 8
def test_enter_on_a_registry_row_opens_its_model_page(qtbot, make_main_window, tmp_path):
    win = make_main_window(three_versions(tmp_path))
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 4, timeout=10_000)
    table = win.registry_page.table
    _click_row(qtbot, table, 0)
    ref = win.versions_model.index(0, 0).data()
    with qtbot.waitSignal(win.sig_model_page_loaded, timeout=10_000) as blocker:
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert win.registry_stack.currentIndex() == RegistryView.MODEL
    assert blocker.args[0] in str(ref)


def test_tab_leaves_the_tables(qtbot, make_main_window, tmp_path):
    from PySide6.QtWidgets import QAbstractItemView

    win = make_main_window(three_versions(tmp_path))
    _open_credit(qtbot, win)
    views = win.findChildren(QAbstractItemView)
    assert views
    stuck = [v.objectName() or type(v).__name__ for v in views if v.tabKeyNavigation()]
    assert not stuck, stuck
    win.show_table()
    table = win.registry_page.table
    table.setFocus()
    qtbot.waitUntil(table.hasFocus, timeout=5_000)
    qtbot.keyClick(table, Qt.Key.Key_Tab)
    assert not table.hasFocus()


# ------------------------------------------------------------------ item 10
def test_one_version_is_singular_in_the_status_bar(qtbot, make_main_window, tmp_path):
    from modelward.core.registry import Registry

    reg = Registry(tmp_path / "registry", idle_release=0.2)
    register_file(reg, write_joblib(tmp_path / "a.joblib", seed=1), "solo")
    win = make_main_window(reg)
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 1, timeout=10_000)
    qtbot.waitUntil(lambda: "1 version ·" in win.status_label.text(), timeout=5_000)
    assert "1 versions" not in win.status_label.text()


def _buttons(root: QWidget) -> list[QWidget]:
    return [
        b
        for b in root.findChildren(QPushButton) + root.findChildren(QToolButton)
        if (b.text() or b.icon().isNull() is False) and not b.objectName().startswith("qt_")
    ]


def test_every_button_of_the_window_has_a_tooltip(qtbot, make_main_window, tmp_path):
    win = make_main_window(three_versions(tmp_path))
    _open_credit(qtbot, win)
    for act in (Ids.TRAIN, Ids.VALIDATE, Ids.COMPARE_ON_DATA):
        win.acts[act].trigger()
    roots: list[QWidget] = [win]
    roots += [
        t
        for t in QApplication.topLevelWidgets()
        if t.isVisible() and isinstance(t, QDialog) and t.parent() is win
    ]
    missing = sorted(
        {
            f"{type(b.window()).__name__}: {b.text()}"
            for r in roots
            for b in _buttons(r)
            if b.text()
            and not b.toolTip()
            and b.parent() is not None
            and type(b.parent()).__name__ not in ("QDialogButtonBox", "QTabBar", "QMenuBar")
        }
    )
    for t in roots[1:]:
        t.close()
    assert not missing, "\n".join(missing)


def test_a_refused_registration_replaces_the_previous_job_in_the_jobs_pane(
    qtbot, make_main_window, tmp_path
):
    win = make_main_window()
    good = write_joblib(tmp_path / "good.joblib", seed=1)
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=30_000):
        win.register_files([str(good)], "good")
    bad = tmp_path / "noise.joblib"
    bad.write_bytes(b"\x00\x13 not a model at all" * 50)
    job = win.register_files([str(bad)], "bad")
    qtbot.waitUntil(lambda: win.jobs.runner.get(job).state.done, timeout=30_000)
    win.acts[Ids.PAGE_JOBS].trigger()
    qtbot.waitUntil(lambda: win.jobs_page.shown_job_id() == job, timeout=5_000)
    assert "noise.joblib" in win.jobs_page.detail_text()


def test_an_audit_event_opens_in_a_detail_view_and_the_trail_exports(
    qtbot, make_main_window, tmp_path, wait_loaded, monkeypatch
):
    from modelward.ui.dialogs.audit_event import AuditEventDialog

    win = make_main_window(three_versions(tmp_path))
    win.acts[Ids.PAGE_AUDIT].trigger()
    wait_loaded(win.audit_model)
    table = win.audit_page.table
    row = next(
        r
        for r in range(win.audit_model.rowCount())
        if win.audit_model.index(r, 3).data() == "alias.set"
    )
    ix = win.audit_model.index(row, 0)
    table.scrollTo(ix)
    # A double-click is a press and release, then the second press (as Qt sees a user's).
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualRect(ix).center())
    qtbot.mouseDClick(
        table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualRect(ix).center()
    )
    qtbot.waitUntil(lambda: win.findChild(AuditEventDialog) is not None, timeout=10_000)
    dlg = win.findChild(AuditEventDialog)
    assert dlg.isVisible()
    assert dlg.reason.toPlainText() == "first champion"
    assert '\n  "' in dlg.after.toPlainText()  # pretty-printed JSON
    dlg.close()

    # Export through the page's button (the file dialog answered like a user would).
    out = tmp_path / "trail.csv"
    monkeypatch.setattr(
        "modelward.ui.pages.audit_page.QFileDialog.getSaveFileName",
        lambda *a, **k: (str(out), "CSV (*.csv)"),
    )
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=30_000):
        qtbot.mouseClick(win.audit_page.export_button, Qt.MouseButton.LeftButton)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("seq,") and len(lines) == 1 + win.registry.audit_head()


_ = QTimer  # (kept for tests that close modal dialogs)


# ------------------------------------------------------------------ items 8 and 9: training
@pytest.fixture
def loans_csv(tmp_path: Path) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 300
    income = rng.normal(50, 10, n).round(0).astype(int)  # integers, not unique
    df = pd.DataFrame(
        {
            "loan_id": np.arange(1000, 1000 + n),
            "row": rng.permutation(n),  # consecutive integers, shuffled: an id all the same
            "income": income,
            "debt": rng.normal(20, 5, n),
            "amount": rng.gamma(2.0, 1500.0, n),  # continuous
            "default": (rng.random(n) < 0.3).astype(int),  # 0/1
        }
    )
    path = tmp_path / "loans.csv"
    df.to_csv(path, index=False)
    return path


def _features(dlg) -> dict[str, bool]:
    from modelward.ui.dialogs.training import COLUMN_ROLE

    items = [dlg.features_list.item(i) for i in range(dlg.features_list.count())]
    return {it.data(COLUMN_ROLE): it.checkState() == Qt.CheckState.Checked for it in items}


def test_id_like_columns_are_not_features_by_default(qtbot, make_main_window, loans_csv):
    win = make_main_window()
    dlg = training_dialog(qtbot, win, loans_csv)
    assert dlg.target_combo.currentText() == "default"
    assert _features(dlg) == {
        "loan_id": False,
        "row": False,
        "income": True,
        "debt": True,
        "amount": True,
    }
    marked = [
        dlg.features_list.item(i).text()
        for i in range(dlg.features_list.count())
        if "id-like" in dlg.features_list.item(i).text()
    ]
    assert marked == ["loan_id  (id-like)", "row  (id-like)"]
    dlg.close()


def test_the_estimators_offered_follow_the_target(qtbot, make_main_window, loans_csv):
    win = make_main_window()
    dlg = training_dialog(qtbot, win, loans_csv)
    qtbot.waitUntil(lambda: len(dlg.offered_estimators()) > 10, timeout=30_000)  # full list
    offered = dlg.offered_estimators()
    assert "LogisticRegression" in offered
    assert not [n for n in offered if n.endswith("Regressor") or n in ("Ridge", "LinearRegression")]
    libs = {"XGBClassifier": "xgboost", "LGBMClassifier": "lightgbm"}
    boosting = [n for n, lib in libs.items() if importlib.util.find_spec(lib)]
    assert set(boosting) <= set(offered)  # XGBoost/LightGBM where their extras are installed

    dlg.target_combo.setCurrentText("amount")  # continuous
    offered = dlg.offered_estimators()
    assert "Ridge" in offered and "HistGradientBoostingRegressor" in offered
    assert not [n for n in offered if n.endswith("Classifier") or n == "LogisticRegression"]
    assert dlg.estimator_combo.currentText() in offered
    dlg.close()


def test_enter_in_the_estimator_field_does_not_start_training(qtbot, make_main_window, loans_csv):
    win = make_main_window()
    dlg = training_dialog(qtbot, win, loans_csv)
    started: list[int] = []
    dlg.sig_training_started.connect(started.append)
    dlg.sig_training_failed.connect(lambda m: started.append(-1))
    edit = dlg.estimator_combo.lineEdit()
    dlg.activateWindow()
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=5_000)
    edit.selectAll()
    qtbot.keyClicks(edit, "LogisticRegression")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(dlg.params_edit.hasFocus, timeout=5_000)  # Enter moved on
    qtbot.keyClick(dlg.params_edit, Qt.Key.Key_Return)  # a new line, not a start
    assert not started and not win.jobs.runner.jobs() and dlg._pending is None
    dlg.close()


# ------------------------------------------------------------------ item 7
def clipped_texts(root: QWidget) -> list[str]:
    """Visible labels and buttons of ``root`` whose text needs more room than they have."""
    from PySide6.QtWidgets import QAbstractButton, QLabel

    out = []
    for w in root.findChildren(QWidget):
        if not w.isVisibleTo(root) or not w.isVisible():
            continue
        if isinstance(w, QLabel) and not w.wordWrap() and w.text() and not w.pixmap():
            fm = w.fontMetrics()
            lines = w.text().splitlines()
            need = max(fm.horizontalAdvance(line) for line in lines)
            m = w.contentsMargins()
            have = w.contentsRect().width() - w.margin() * 2
            if need > have + 1:
                out.append(f"label {w.text()!r}: needs {need}, has {have} (margins {m.left()})")
        elif isinstance(w, QAbstractButton) and w.text() and type(w).__name__ != "QToolButton":
            if w.width() + 1 < w.minimumSizeHint().width():
                out.append(
                    f"button {w.text()!r}: needs {w.minimumSizeHint().width()}, has {w.width()}"
                )
    return out


def whole_columns(view, columns, where: str, problems: dict[str, list[str]]) -> None:
    """Record cells of ``columns`` whose text is wider than the column (elided)."""
    fm = view.fontMetrics()
    model = view.model()
    for c in columns:
        for r in range(model.rowCount()):
            text = str(model.index(r, c).data() or "")
            if fm.horizontalAdvance(text) + 8 > view.columnWidth(c):
                problems.setdefault(where, []).append(f"cell {text!r} of column {c} is elided")


def test_nothing_is_cut_off_at_1024_by_700(qtbot, make_main_window, tmp_path):
    from modelward.core.intake import accept_model_file
    from modelward.core.registry import Registry

    reg = Registry(tmp_path / "registry", idle_release=0.2)
    metrics = {"roc_auc": 0.81, "accuracy": 0.74, "f1": 0.61, "precision": 0.7, "recall": 0.55}
    for seed in (1, 2, 3):
        f = write_joblib(tmp_path / f"c{seed}.joblib", seed=seed)
        accept_model_file(reg, f, name="credit-risk-scorecard", metrics=metrics).register_result()
    reg.set_alias("credit-risk-scorecard:1", "champion", "first")
    reg.set_alias("credit-risk-scorecard:3", "challenger", "next")
    win = make_main_window(reg, key_metric_columns=5)
    win.resize(1024, 700)
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 3, timeout=10_000)
    problems: dict[str, list[str]] = {}

    def check(where: str) -> None:
        QApplication.processEvents()
        found = clipped_texts(win)
        if found:
            problems[where] = found

    check("registry")
    whole_columns(win.registry_page.table, (0, 2), "registry", problems)  # model, aliases
    with qtbot.waitSignal(win.sig_model_page_loaded, timeout=10_000):
        win.open_model("credit-risk-scorecard")
    check("model page")
    whole_columns(win.model_page.versions, (1,), "model page", problems)  # aliases
    chips = [w.text() for w in win.model_page.findChildren(QWidget) if w.objectName() == "Badge"]
    assert sorted(chips) == ["challenger → v3", "champion → v1"]
    for act in (
        Ids.PAGE_JOBS,
        Ids.PAGE_AUDIT,
        Ids.PAGE_WATCH,
        Ids.PAGE_MONITORING,
        Ids.PAGE_ALERTS,
        Ids.PAGE_APPROVALS,
        Ids.PAGE_POLICIES,
    ):
        win.acts[act].trigger()
        check(act)
    assert not problems, problems


def test_add_folder_lists_the_models_for_data_batches(qtbot, make_main_window, tmp_path):
    from modelward.core.watch import DATA
    from modelward.ui.dialogs.watch import AddFolderDialog

    win = make_main_window(three_versions(tmp_path))
    win.acts[Ids.PAGE_WATCH].trigger()
    qtbot.mouseClick(win.watch_page.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.findChild(AddFolderDialog) is not None, timeout=5_000)
    dlg = win.findChild(AddFolderDialog)
    qtbot.waitUntil(lambda: dlg.model_name.loaded, timeout=10_000)
    assert [dlg.model_name.itemText(i) for i in range(dlg.model_name.count())] == [
        "credit",
        "other",
    ]
    dlg.path.setText(str(tmp_path / "batches"))
    dlg.kind.setCurrentIndex(dlg.kind.findData(DATA))
    assert not dlg.ok_button.isEnabled()  # data batches need their model
    dlg.model_name.setCurrentIndex(0)
    assert dlg.ok_button.isEnabled()
    assert dlg.values()[2] == "credit"
    dlg.reject()
