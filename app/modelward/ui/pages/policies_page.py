"""Policies per model and their runs, each run explained (what fired, with which numbers, why)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from modelward.core.policies import Policy, PolicyRun
from modelward.ui.controllers.policy_tasks import PolicySnapshot
from modelward.ui.models.policy_tables import PoliciesTableModel, RunsTableModel
from modelward.ui.widgets import label, page_layout, setup_table


class PoliciesPage(QWidget):
    """Policies (edit with the policy dialog) and the runs they started."""

    sig_edit_requested = Signal(str)
    """model name: open the policy dialog ('' asks which model)."""
    sig_open_model_requested = Signal(str)
    """model name: show its page."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.snapshot = PolicySnapshot()
        lay, head, self.count_label = page_layout(self, "Policies")
        self.new_button = QPushButton("New policy…")
        self.new_button.setToolTip("Triggers, actions and four-eyes for a model")
        self.edit_button = QPushButton("Edit…")
        self.edit_button.setToolTip("Change the selected policy (double-click a row)")
        self.edit_button.setProperty("primary", True)
        head.addWidget(self.new_button)
        head.addWidget(self.edit_button)
        split = QSplitter(Qt.Orientation.Vertical)
        self.policies_model = PoliciesTableModel(self)
        self.policies = QTableView()
        self.policies.setModel(self.policies_model)
        setup_table(self.policies)
        self.policies.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        split.addWidget(self.policies)
        runs = QWidget()
        rl = QVBoxLayout(runs)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(
            label("Policy runs: what fired, with which numbers, and what followed", "SectionTitle")
        )
        rsplit = QSplitter(Qt.Orientation.Horizontal)
        self.runs_model = RunsTableModel(self)
        self.runs = QTableView()
        self.runs.setModel(self.runs_model)
        setup_table(self.runs)
        self.runs.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        rsplit.addWidget(self.runs)
        self.explain = QPlainTextEdit()
        self.explain.setReadOnly(True)
        self.explain.setPlaceholderText("Select a run to see why it ran and what it did")
        self.explain.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        rsplit.addWidget(self.explain)
        rsplit.setSizes([520, 520])
        rl.addWidget(rsplit, 1)
        split.addWidget(runs)
        split.setSizes([200, 420])
        lay.addWidget(split, 1)
        self._runs: list[PolicyRun] = []
        self._policies: list[Policy] = []

        self.new_button.clicked.connect(lambda: self.sig_edit_requested.emit(""))
        self.edit_button.clicked.connect(self._on_edit_clicked)
        self.policies.doubleClicked.connect(lambda _ix: self._on_edit_clicked())
        self.policies.selectionModel().selectionChanged.connect(lambda *_a: self._update_runs())
        self.runs.selectionModel().selectionChanged.connect(lambda *_a: self._update_explain())
        self.edit_button.setEnabled(False)

    def set_snapshot(self, snap: PolicySnapshot) -> None:
        self.snapshot = snap
        keep = self.selected_policy()
        self._policies = list(snap.policies)
        t = self.policies
        sel = t.selectionModel()
        sel.blockSignals(True)
        self.policies_model.set_rows(self._policies)
        t.resizeColumnsToContents()
        for r, p in enumerate(self._policies):
            if keep is not None and p.model == keep.model:
                t.selectRow(r)
        sel.blockSignals(False)
        t.viewport().update()
        self.count_label.setText(f"{len(self._policies)} policies · {len(snap.runs)} runs")
        self._update_runs()

    def selected_policy(self) -> Policy | None:
        rows = self.policies.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._policies):
            return None
        return self._policies[rows[0].row()]

    def select_run(self, run_id: int) -> None:
        for r, run in enumerate(self._runs):
            if run.id == run_id:
                self.runs.selectRow(r)

    def _update_runs(self) -> None:
        p = self.selected_policy()
        self.edit_button.setEnabled(p is not None)
        keep = self._selected_run()
        runs = [r for r in self.snapshot.runs if p is None or r.model == p.model]
        self._runs = runs
        t = self.runs
        sel = t.selectionModel()
        sel.blockSignals(True)
        self.runs_model.set_rows(runs)
        t.resizeColumnsToContents()
        for r, run in enumerate(runs):
            if keep is not None and run.id == keep.id:
                t.selectRow(r)
        if keep is None and runs:
            t.selectRow(0)
        sel.blockSignals(False)
        t.viewport().update()
        self._update_explain()

    def _selected_run(self) -> PolicyRun | None:
        rows = self.runs.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._runs):
            return None
        return self._runs[rows[0].row()]

    def _update_explain(self) -> None:
        run = self._selected_run()
        self.explain.setPlainText(run.explain() if run is not None else "")

    def _on_edit_clicked(self) -> None:
        p = self.selected_policy()
        if p is not None:
            self.sig_edit_requested.emit(p.model)
