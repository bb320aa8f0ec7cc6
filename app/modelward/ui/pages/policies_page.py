"""Policies per model and their runs, each run explained (what fired, with which numbers, why)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from modelward.core.policies import Policy, PolicyRun
from modelward.ui.pages.alerts_page import _item
from modelward.ui.pages.alerts_tasks import PolicySnapshot
from modelward.ui.widgets import label, setup_table

POLICY_COLUMNS = ("Model", "State", "Triggers", "Actions", "Alias", "Four-eyes", "Owner")
RUN_COLUMNS = ("#", "Model", "Status", "Started (UTC)", "Fired", "By")
RUN_COLORS = {
    "promoted": "#2e8540",
    "failed": "#d1453b",
    "gates-failed": "#c77c02",
    "awaiting-approval": "#3b7dd8",
    "running": "#3b7dd8",
}


def describe_triggers(p: Policy) -> str:
    t = p.triggers
    parts = []
    if t.drift_share_above is not None:
        parts.append(f"drift share > {t.drift_share_above:g}")
    if t.psi_above is not None:
        cols = f" ({', '.join(t.psi_features)})" if t.psi_features else ""
        parts.append(f"PSI > {t.psi_above:g}{cols}")
    if t.performance_below is not None:
        parts.append(f"{t.metric} < {t.performance_below:g}")
    if t.performance_drop is not None:
        parts.append(f"{t.metric} drop > {t.performance_drop:g}")
    if t.every_days is not None:
        parts.append(f"every {t.every_days:g} days")
    if t.new_labelled_rows is not None:
        parts.append(f"{t.new_labelled_rows} new labelled rows")
    return ", ".join(parts) or "none"


def describe_actions(p: Policy) -> str:
    acts = [
        n for n, on in (("alert", p.alert), ("retrain", p.retrain), ("promote", p.promote)) if on
    ]
    return " → ".join(acts) or "none"


class PoliciesPage(QWidget):
    """Policies (edit with the policy dialog) and the runs they started."""

    sig_edit_requested = Signal(str)
    """model name: open the policy dialog ('' asks which model)."""
    sig_open_model_requested = Signal(str)
    """model name: show its page."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.snapshot = PolicySnapshot()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 16, 20, 12)
        lay.setSpacing(10)
        head = QHBoxLayout()
        head.addWidget(label("Policies", "PageTitle"))
        self.count_label = label("", "CountLabel")
        head.addWidget(self.count_label, 0, Qt.AlignmentFlag.AlignBottom)
        head.addStretch(1)
        self.new_button = QPushButton("New policy…")
        self.edit_button = QPushButton("Edit…")
        self.edit_button.setProperty("primary", True)
        head.addWidget(self.new_button)
        head.addWidget(self.edit_button)
        lay.addLayout(head)
        split = QSplitter(Qt.Orientation.Vertical)
        self.policies = QTableWidget(0, len(POLICY_COLUMNS))
        self.policies.setHorizontalHeaderLabels(POLICY_COLUMNS)
        setup_table(self.policies)
        self.policies.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        split.addWidget(self.policies)
        runs = QWidget()
        rl = QVBoxLayout(runs)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(
            label("Policy runs: what fired, with which numbers, and what followed", "SectionTitle")
        )
        rsplit = QSplitter(Qt.Orientation.Horizontal)
        self.runs = QTableWidget(0, len(RUN_COLUMNS))
        self.runs.setHorizontalHeaderLabels(RUN_COLUMNS)
        setup_table(self.runs)
        self.runs.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
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
        self.policies.itemDoubleClicked.connect(lambda _it: self._on_edit_clicked())
        self.policies.itemSelectionChanged.connect(self._update_runs)
        self.runs.itemSelectionChanged.connect(self._update_explain)
        self.edit_button.setEnabled(False)

    def set_snapshot(self, snap: PolicySnapshot) -> None:
        self.snapshot = snap
        keep = self.selected_policy()
        self._policies = list(snap.policies)
        t = self.policies
        t.blockSignals(True)
        t.setRowCount(len(self._policies))
        for r, p in enumerate(self._policies):
            eyes = f"on ({', '.join(p.protected_aliases)})" if p.four_eyes else "off"
            cells = [
                _item(p.model, bold=True),
                _item("enabled" if p.enabled else "disabled"),
                _item(describe_triggers(p)),
                _item(describe_actions(p)),
                _item(p.alias),
                _item(eyes),
                _item(p.owner),
            ]
            for c, it in enumerate(cells):
                t.setItem(r, c, it)
        t.resizeColumnsToContents()
        t.clearSelection()
        for r, p in enumerate(self._policies):
            if keep is not None and p.model == keep.model:
                t.selectRow(r)
        t.blockSignals(False)
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
        t.blockSignals(True)
        t.setRowCount(len(runs))
        for r, run in enumerate(runs):
            fired = "; ".join(x.get("trigger", "") for x in run.triggers)
            cells = [
                _item(run.id),
                _item(run.model),
                _item(run.status, color=RUN_COLORS.get(run.status), bold=True),
                _item(run.started_at[:19].replace("T", " ")),
                _item(fired),
                _item(run.started_by),
            ]
            for c, it in enumerate(cells):
                t.setItem(r, c, it)
        t.resizeColumnsToContents()
        t.clearSelection()
        for r, run in enumerate(runs):
            if keep is not None and run.id == keep.id:
                t.selectRow(r)
        if keep is None and runs:
            t.selectRow(0)
        t.blockSignals(False)
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
