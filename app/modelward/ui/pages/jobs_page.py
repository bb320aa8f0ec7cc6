"""Every background job: progress, elapsed time, cancel, its log and its message."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from modelward.core.jobs import JobState
from modelward.ui.bridge import JobBridge
from modelward.ui.models.jobs_table import QtJobsTableModel, format_elapsed
from modelward.ui.widgets import ProgressDelegate, label, page_layout, setup_table


class JobsPage(QWidget):
    def __init__(self, bridge: JobBridge, model: QtJobsTableModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.model = model
        self._job_id: int | None = None
        self._follow: int | None = None
        lay, head, self.summary = page_layout(self, "Jobs")
        split = QSplitter(Qt.Orientation.Horizontal)
        self.table = QTableView()
        self.table.setModel(model)
        setup_table(self.table, stretch_last=False)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setItemDelegateForColumn(model.PROGRESS_COLUMN, ProgressDelegate(self.table))
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, w in ((1, 90), (2, 150), (3, 120), (4, 90)):
            h.resizeSection(col, w)
        self.empty = label(
            "No jobs yet. Registering, training, validating and reports run here.", "Muted"
        )
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.table, 1)
        ll.addWidget(self.empty)
        split.addWidget(left)

        detail = QWidget()
        detail.setObjectName("Panel")
        dl = QVBoxLayout(detail)
        dl.setContentsMargins(14, 12, 14, 12)
        dl.setSpacing(8)
        self.d_title = label("Select a job", "SectionTitle", wrap=True)
        dl.addWidget(self.d_title)
        self.d_state = label("", "Muted")
        dl.addWidget(self.d_state)
        row = QHBoxLayout()
        self.d_progress = QProgressBar()
        self.d_progress.setRange(0, 1000)
        self.d_progress.setTextVisible(False)
        row.addWidget(self.d_progress, 1)
        self.d_elapsed = label("", "Muted")
        row.addWidget(self.d_elapsed)
        dl.addLayout(row)
        self.d_error = label("", "Error", wrap=True)
        self.d_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.d_error.hide()
        dl.addWidget(self.d_error)
        self.cancel_button = QPushButton("Cancel job")
        self.cancel_button.setToolTip("Stop the selected job (it stops at its next step)")
        self.cancel_button.setEnabled(False)
        crow = QHBoxLayout()
        crow.addStretch(1)
        crow.addWidget(self.cancel_button)
        dl.addLayout(crow)
        dl.addWidget(label("Log", "SectionTitle"))
        self.d_log = QPlainTextEdit()
        self.d_log.setReadOnly(True)
        self.d_log.setMaximumBlockCount(2000)
        self.d_log.setPlaceholderText("No log lines yet.")
        dl.addWidget(self.d_log, 1)
        split.addWidget(detail)
        split.setSizes([620, 380])
        lay.addWidget(split, 1)

        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        q = Qt.ConnectionType.QueuedConnection
        bridge.sig_job_logged.connect(self._on_job_logged, q)
        for sig in (bridge.sig_job_started, bridge.sig_job_cancelled):
            sig.connect(self._on_job_changed, q)
        bridge.sig_job_progressed.connect(lambda jid, *_: self._on_job_changed(jid), q)
        bridge.sig_job_finished.connect(lambda jid, *_: self._on_job_changed(jid), q)
        bridge.sig_job_failed.connect(lambda jid, *_: self._on_job_changed(jid), q)
        model.rowsInserted.connect(self._on_rows_inserted)
        self._update_summary()

    def select_job(self, job_id: int) -> None:
        row = self.model.row_of(job_id)
        if row >= 0:
            self.table.selectRow(row)

    def follow(self, job_id: int) -> None:
        """Show ``job_id`` in the detail pane (now, or as soon as its row arrives).

        The window calls this for a job the user just started, so the pane never keeps
        showing an earlier job (a refused registration showed the previous one).
        """
        self._follow = job_id
        if self.model.row_of(job_id) >= 0:
            self.select_job(job_id)
            self._follow = None

    def shown_job_id(self) -> int | None:
        """The job the detail pane shows."""
        return self._job_id

    def detail_text(self) -> str:
        """The detail pane's text: title, state, message and log."""
        parts = [self.d_title.text(), self.d_state.text(), self.d_error.text()]
        return "\n".join([*parts, self.d_log.toPlainText()])

    def _on_rows_inserted(self, *_a: object) -> None:
        self._update_summary()
        follow = self._follow
        if follow is not None and self.model.row_of(follow) >= 0:
            self._follow = None
            self.select_job(follow)
        elif self._job_id is None or self.model.row_of(self._job_id) < 0:
            self.table.selectRow(0)

    def _on_selection_changed(self, selected: QItemSelection, _d: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        job = self.model.job_at(rows[0].row()) if rows else None
        self._job_id = job.id if job else None
        self.d_log.setPlainText("\n".join(job.log) if job else "")
        self._update_detail()

    def _on_job_logged(self, job_id: int, line: str) -> None:
        if job_id == self._job_id:
            self.d_log.appendPlainText(line)

    def _on_job_changed(self, job_id: int) -> None:
        self._update_summary()
        if job_id == self._job_id:
            self._update_detail()

    def tick(self) -> None:
        self.model.tick()
        if self._job_id is not None:
            self._update_detail()

    def _update_summary(self) -> None:
        jobs = self.bridge.runner.jobs()
        running = sum(1 for j in jobs if j.state is JobState.RUNNING)
        queued = sum(1 for j in jobs if j.state is JobState.QUEUED)
        failed = sum(1 for j in jobs if j.state is JobState.FAILED)
        parts = [f"{running} running"]
        if queued:
            parts.append(f"{queued} queued")
        if failed:
            parts.append(f"{failed} failed")
        self.summary.setText(" · ".join(parts) if jobs else "")
        self.empty.setVisible(not jobs)

    def _update_detail(self) -> None:
        job = None
        if self._job_id is not None:
            try:
                job = self.bridge.runner.get(self._job_id)
            except KeyError:
                job = None
        if job is None:
            self.d_title.setText("Select a job")
            self.d_state.setText("")
            self.d_progress.setValue(0)
            self.d_elapsed.setText("")
            self.d_error.hide()
            self.cancel_button.setEnabled(False)
            return
        self.d_title.setText(job.title)
        self.d_state.setText(f"{str(job.kind).capitalize()} · {job.state} · {job.status}")
        self.d_progress.setValue(int(job.progress * 1000))
        self.d_elapsed.setText(format_elapsed(job.elapsed) if job.started_at else "waiting")
        self.d_error.setText(job.error or "")
        self.d_error.setVisible(bool(job.error))
        self.cancel_button.setEnabled(not job.state.done)

    def _on_cancel_clicked(self) -> None:
        if self._job_id is not None:
            self.bridge.runner.cancel(self._job_id)
