"""The notification list: alerts with their numbers, acknowledge one or all, open the model."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QWidget,
)

from modelward.core.policies import Alert
from modelward.ui.controllers.policy_tasks import PolicySnapshot, explain_alert
from modelward.ui.models.policy_tables import AlertsTableModel
from modelward.ui.widgets import label, page_layout, setup_table


class AlertsPage(QWidget):
    """A view over :func:`~modelward.core.policies.list_alerts`; the center does the work."""

    sig_acknowledge_requested = Signal(list)
    """alert ids the user marked as seen."""
    sig_acknowledge_all_requested = Signal()
    """the user marked every unread alert as seen."""
    sig_open_model_requested = Signal(str)
    """model name: show its page."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.snapshot = PolicySnapshot()
        self._alerts: list[Alert] = []
        lay, head, self.count_label = page_layout(self, "Alerts")
        self.unread_only = QCheckBox("Unread only")
        self.ack_button = QPushButton("Acknowledge")
        self.ack_button.setToolTip("Mark the selected alerts as seen (recorded in the audit trail)")
        self.ack_all_button = QPushButton("Acknowledge all")
        self.ack_all_button.setToolTip("Mark every open alert as seen (they stay in the list)")
        self.open_button = QPushButton("Open model")
        self.open_button.setToolTip("Open the model page of the selected alert")
        for w in (self.unread_only, self.open_button, self.ack_button, self.ack_all_button):
            head.addWidget(w)
        lay.addWidget(
            label(
                "Raised by policies (triggers, failed gates, approvals) and kept in the audit "
                "trail and logs/alerts.log.",
                "Muted",
                wrap=True,
            )
        )
        split = QSplitter(Qt.Orientation.Vertical)
        self.model = AlertsTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        setup_table(self.table)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        split.addWidget(self.table)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select an alert to see the numbers behind it")
        split.addWidget(self.details)
        split.setSizes([360, 240])
        lay.addWidget(split, 1)

        self.unread_only.toggled.connect(lambda _on: self._update_table())
        self.table.selectionModel().selectionChanged.connect(lambda *_a: self._update_details())
        self.table.doubleClicked.connect(lambda _ix: self._on_open_clicked())
        self.ack_button.clicked.connect(self._on_ack_clicked)
        self.ack_all_button.clicked.connect(self.sig_acknowledge_all_requested)
        self.open_button.clicked.connect(self._on_open_clicked)
        self._update_buttons()

    # ------------------------------------------------------------ data
    def set_snapshot(self, snap: PolicySnapshot) -> None:
        self.snapshot = snap
        self._update_table()

    def selected_alerts(self) -> list[Alert]:
        rows = sorted({ix.row() for ix in self.table.selectionModel().selectedRows()})
        return [a for a in (self.model.row(r) for r in rows) if a is not None]

    def select_alert(self, alert_id: int) -> None:
        ix = self.model.index_of(lambda a: a.id == alert_id)
        if ix.isValid():
            self.table.selectRow(ix.row())

    def _update_table(self) -> None:
        keep = {a.id for a in self.selected_alerts()}
        alerts = list(self.snapshot.alerts)
        if self.unread_only.isChecked():
            alerts = [a for a in alerts if a.unread]
        self._alerts = alerts
        t = self.table
        sel = t.selectionModel()
        sel.blockSignals(True)
        self.model.set_rows(alerts)
        t.resizeColumnsToContents()
        t.setColumnWidth(0, 24)
        t.setColumnWidth(5, max(t.columnWidth(5), 300))
        n, unread = len(self.snapshot.alerts), self.snapshot.unread
        self.count_label.setText(f"{unread} unread · {n} shown")
        rows = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for r, a in enumerate(alerts):
            if a.id in keep:
                sel.select(self.model.index(r, 0), rows)
        sel.blockSignals(False)
        t.viewport().update()
        self._update_details()

    def _update_details(self) -> None:
        sel = self.selected_alerts()
        if not sel:
            self.details.setPlainText("")
        else:
            a = sel[0]
            self.details.setPlainText(explain_alert(a, self.snapshot.run(a.policy_run_id)))
        self._update_buttons()

    def _update_buttons(self) -> None:
        sel = self.selected_alerts()
        self.ack_button.setEnabled(any(a.unread for a in sel))
        self.ack_all_button.setEnabled(self.snapshot.unread > 0)
        self.open_button.setEnabled(bool(sel and sel[0].model))

    # ------------------------------------------------------------ actions
    def _on_ack_clicked(self) -> None:
        ids = [a.id for a in self.selected_alerts() if a.unread]
        if ids:
            self.sig_acknowledge_requested.emit(ids)

    def _on_open_clicked(self) -> None:
        sel = self.selected_alerts()
        if sel and sel[0].model:
            self.sig_open_model_requested.emit(sel[0].model)
