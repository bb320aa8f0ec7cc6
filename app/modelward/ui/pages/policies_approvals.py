"""Maker–checker approvals: pending requests (approve / reject, signed) and the decided ones."""

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

from modelward.core.clock import display_ts
from modelward.core.policies import ApprovalRequest
from modelward.ui.controllers.policy_tasks import PolicySnapshot, gates_text
from modelward.ui.models.policy_tables import (
    HistoryTableModel,
    PendingRow,
    PendingTableModel,
)
from modelward.ui.widgets import label, page_layout, setup_table


class ApprovalsPage(QWidget):
    """A view over :func:`~modelward.core.policies.pending_approvals` and the decided requests."""

    sig_decision_requested = Signal(int, bool)
    """request id, True to approve / False to reject: open the signature dialog."""
    sig_open_model_requested = Signal(str)
    """model name: show its page."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.snapshot = PolicySnapshot()
        self._pending: list[ApprovalRequest] = []
        lay, head, self.count_label = page_layout(self, "Approvals")
        self.open_button = QPushButton("Open model")
        self.open_button.setToolTip("Open the model page of the selected request")
        self.reject_button = QPushButton("Reject…")
        self.reject_button.setToolTip("Refuse the selected request, signed with your personal key")
        self.approve_button = QPushButton("Approve…")
        self.approve_button.setToolTip(
            "Approve the selected request, signed with your personal key (not your own request, "
            "not from the requester's OS account)"
        )
        self.approve_button.setProperty("primary", True)
        for b in (self.open_button, self.reject_button, self.approve_button):
            head.addWidget(b)
        lay.addWidget(
            label(
                "Moving a protected alias needs a second person: the requester cannot approve "
                "their own request. Each decision is signed (name, meaning, reason, OS user, "
                "time) and kept in the audit trail.",
                "Muted",
                wrap=True,
            )
        )
        split = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(label("Waiting for a decision", "SectionTitle"))
        self.pending_model = PendingTableModel(self)
        self.pending = QTableView()
        self.pending.setModel(self.pending_model)
        setup_table(self.pending)
        self.pending.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        tl.addWidget(self.pending, 1)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(110)
        self.details.setPlaceholderText("Select a request to see its reason and gates")
        tl.addWidget(self.details)
        split.addWidget(top)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(label("Decided", "SectionTitle"))
        self.history_model = HistoryTableModel(self)
        self.history = QTableView()
        self.history.setModel(self.history_model)
        setup_table(self.history)
        bl.addWidget(self.history, 1)
        split.addWidget(bottom)
        split.setSizes([330, 260])
        lay.addWidget(split, 1)

        self.pending.selectionModel().selectionChanged.connect(lambda *_a: self._update_details())
        self.approve_button.clicked.connect(lambda: self._on_decide_clicked(True))
        self.reject_button.clicked.connect(lambda: self._on_decide_clicked(False))
        self.open_button.clicked.connect(self._on_open_clicked)
        self._update_details()

    def set_snapshot(self, snap: PolicySnapshot) -> None:
        self.snapshot = snap
        keep = self.selected_request()
        self._pending = list(snap.pending)
        t = self.pending
        sel = t.selectionModel()
        sel.blockSignals(True)
        self.pending_model.set_rows(
            [
                PendingRow(q, gates_text(snap.gates.get(q.comparison_id or -1, [])))
                for q in self._pending
            ]
        )
        t.resizeColumnsToContents()
        for r, q in enumerate(self._pending):
            if keep is not None and q.id == keep.id:
                t.selectRow(r)
        if keep is None and self._pending:
            t.selectRow(0)
        sel.blockSignals(False)
        t.viewport().update()
        self.history_model.set_rows(list(snap.history))
        self.history.resizeColumnsToContents()
        n = len(self._pending)
        self.count_label.setText(f"{n} pending · {len(snap.history)} decided")
        self._update_details()

    def selected_request(self) -> ApprovalRequest | None:
        rows = self.pending.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._pending):
            return None
        return self._pending[rows[0].row()]

    def select_request(self, request_id: int) -> None:
        for r, q in enumerate(self._pending):
            if q.id == request_id:
                self.pending.selectRow(r)

    def _update_details(self) -> None:
        q = self.selected_request()
        for b in (self.approve_button, self.reject_button, self.open_button):
            b.setEnabled(q is not None)
        if q is None:
            self.details.setPlainText("")
            return
        gates = self.snapshot.gates.get(q.comparison_id or -1, [])
        signed = (
            f"signed with key {q.requested_key}"
            if q.requested_key
            else "requested by its policy run, not signed by a person"
        )
        lines = [
            f"Move {q.model}@{q.alias} to {q.version_ref}, requested by {q.requested_by} "
            f"(OS user {q.requested_os_user}, {signed}) at "
            f"{display_ts(q.requested_at, minutes=True)} UTC; expires "
            f"{display_ts(q.expires_at, minutes=True)} UTC.",
            f"Reason: {q.reason}",
        ]
        if gates:
            lines.append(f"Gates (comparison {q.comparison_id}):")
            lines += [
                f"  • {g.get('gate')}: {'passed' if g.get('passed') else 'FAILED'} "
                f"({g.get('detail', '')})"
                for g in gates
            ]
        run = self.snapshot.run(q.policy_run_id)
        if run is not None:
            lines += ["", run.explain()]
        self.details.setPlainText("\n".join(lines))

    def _on_decide_clicked(self, approve: bool) -> None:
        q = self.selected_request()
        if q is not None:
            self.sig_decision_requested.emit(q.id, approve)

    def _on_open_clicked(self) -> None:
        q = self.selected_request()
        if q is not None:
            self.sig_open_model_requested.emit(q.model)
