"""The audit trail: filter by entity, action, user and time; verify the chain."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QWidget,
)

from modelward.core import query
from modelward.core.domain import AuditReport
from modelward.core.errors import InvalidInput
from modelward.ui.models.audit_table import QtAuditTableModel
from modelward.ui.models.roles import ROW_ID_ROLE
from modelward.ui.widgets import label, on_enter, page_layout, setup_table

ACTIONS = ("", "version", "alias", "model", "ingest", "run", "registry", "metrics")


class AuditPage(QWidget):
    sig_verify_requested = Signal()
    """The user asked to verify the whole chain."""
    sig_event_requested = Signal(int)
    """sequence number: the user wants to see this event in full."""
    sig_export_requested = Signal(str)
    """path (.csv or .json): export the whole trail there."""

    def __init__(self, model: QtAuditTableModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        lay, head, self.count_label = page_layout(self, "Audit trail")
        self.verify_label = label("", "Muted")
        head.addWidget(self.verify_label)
        self.verify_button = QPushButton("Verify chain")
        self.verify_button.setToolTip("Recompute every hash of the chain (Ctrl+Shift+V)")
        head.addWidget(self.verify_button)
        self.details_button = QPushButton("Details…")
        self.details_button.setToolTip(
            "The selected event in full: reason, before and after (double-click or Enter)"
        )
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip(
            "Save the whole trail with its chain hashes as CSV or JSON, for an auditor"
        )
        head.addWidget(self.details_button)
        head.addWidget(self.export_button)
        filters = QHBoxLayout()
        filters.setSpacing(8)
        self.entity = QLineEdit()
        self.entity.setPlaceholderText("Entity (e.g. credit-risk)")
        self.action = QComboBox()
        self.action.setEditable(True)
        self.action.addItems(ACTIONS)
        self.action.lineEdit().setPlaceholderText("Action")
        self.actor = QLineEdit()
        self.actor.setPlaceholderText("User")
        self.since = QLineEdit()
        self.since.setPlaceholderText("From YYYY-MM-DD")
        self.until = QLineEdit()
        self.until.setPlaceholderText("Before YYYY-MM-DD")
        for w, stretch in (
            (self.entity, 3),
            (self.action, 2),
            (self.actor, 2),
            (self.since, 2),
            (self.until, 2),
        ):
            filters.addWidget(w, stretch)
            if isinstance(w, QLineEdit):
                w.setClearButtonEnabled(True)
                w.returnPressed.connect(self.apply_filter)
        self.apply_button = QPushButton("Filter")
        self.apply_button.setToolTip("Show the events that match these fields (Enter)")
        filters.addWidget(self.apply_button)
        lay.addLayout(filters)
        self.error_label = label("", "Error")
        self.error_label.hide()
        lay.addWidget(self.error_label)
        self.table = QTableView()
        self.table.setModel(model)
        setup_table(self.table)
        h = self.table.horizontalHeader()
        for col, w in ((0, 60), (1, 150), (2, 110), (3, 150), (4, 240)):
            h.resizeSection(col, w)
        h.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.table, 1)
        self.apply_button.clicked.connect(self.apply_filter)
        self.action.activated.connect(lambda _i: self.apply_filter())
        self.verify_button.clicked.connect(self.sig_verify_requested)
        self.details_button.clicked.connect(self.open_selected)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.table.doubleClicked.connect(self._open_index)
        on_enter(self.table, self._open_index)
        model.sig_loaded.connect(self._on_loaded)

    def apply_filter(self) -> None:
        try:
            flt = query.audit_filter(
                entity=self.entity.text(),
                action=self.action.currentText(),
                actor=self.actor.text(),
                since=self.since.text(),
                until=self.until.text(),
            )
        except InvalidInput as e:
            self.error_label.setText(str(e))
            self.error_label.show()
            return
        self.error_label.hide()
        self.model.set_spec(flt)

    def _open_index(self, index: QModelIndex) -> None:
        seq = index.siblingAtColumn(0).data(ROW_ID_ROLE)
        if seq is not None:
            self.sig_event_requested.emit(int(seq))

    def open_selected(self) -> None:
        """Show the selected event (or the current one) in full."""
        ix = self.table.currentIndex()
        if ix.isValid():
            self._open_index(ix)

    def _on_export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the audit trail", "audit-trail.csv", "CSV (*.csv);;JSON (*.json)"
        )
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> None:
        """Export the whole trail to ``path`` (a job of the window)."""
        self.sig_export_requested.emit(path)

    def _on_loaded(self, n: int, _s: float) -> None:
        self.count_label.setText(f"{n:,} event{'s' if n != 1 else ''}")

    def show_verifying(self) -> None:
        self.verify_button.setEnabled(False)
        self.verify_label.setObjectName("Muted")
        self.verify_label.setText("Verifying…")

    def show_report(self, report: AuditReport | None, error: str = "") -> None:
        self.verify_button.setEnabled(True)
        if report is None:
            text, name = f"Could not verify: {error}", "Error"
        elif report.ok:
            text = (
                f"✓ Chain intact: {report.events:,} events verified; the tables match them,"
                " the journal agrees, the approval signatures hold"
            )
            name = "Ok"
        elif report.first_broken_seq is None:
            text, name = f"✗ {report.problem}", "Error"
        else:
            text = f"✗ Chain broken at event {report.first_broken_seq}: {report.problem}"
            name = "Error"
        self.verify_label.setObjectName(name)
        self.verify_label.setText(text)
        self.verify_label.style().unpolish(self.verify_label)
        self.verify_label.style().polish(self.verify_label)
