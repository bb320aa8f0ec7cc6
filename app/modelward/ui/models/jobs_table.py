"""Background jobs as rows: kind, title, state, progress, elapsed time."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from modelward.core.jobs import Job, JobRunner, JobState
from modelward.ui.bridge import JobBridge
from modelward.ui.models.base import HeaderedTableModel, shown
from modelward.ui.models.roles import PROGRESS_ROLE, ROW_ID_ROLE, STATE_ROLE

Index = QModelIndex | QPersistentModelIndex

STATE_COLORS = {
    JobState.FAILED: "#c8372d",
    JobState.CANCELLED: "#8a8f98",
    JobState.FINISHED: "#1f8a4c",
}


def format_elapsed(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{seconds:.1f} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class QtJobsTableModel(HeaderedTableModel):
    """A view of the runner's job records, newest first; updated from bridge signals."""

    headers = ("Job", "Kind", "State", "Progress", "Elapsed")
    PROGRESS_COLUMN = 3
    ELAPSED_COLUMN = 4

    def __init__(self, bridge: JobBridge, parent: QObject | None = None):
        super().__init__(parent)
        self.runner: JobRunner = bridge.runner
        self._ids: list[int] = []  # newest first
        q = Qt.ConnectionType.QueuedConnection
        bridge.sig_job_submitted.connect(self._on_job_submitted)
        for sig in (bridge.sig_job_started, bridge.sig_job_cancelled):
            sig.connect(self._on_job_changed, q)
        bridge.sig_job_progressed.connect(lambda jid, *_: self._on_job_changed(jid), q)
        bridge.sig_job_finished.connect(lambda jid, *_: self._on_job_changed(jid), q)
        bridge.sig_job_failed.connect(lambda jid, *_: self._on_job_changed(jid), q)

    def job_at(self, row: int) -> Job | None:
        if 0 <= row < len(self._ids):
            try:
                return self.runner.get(self._ids[row])
            except KeyError:
                return None
        return None

    def row_of(self, job_id: int) -> int:
        try:
            return self._ids.index(job_id)
        except ValueError:
            return -1

    def _on_job_submitted(self, job_id: int) -> None:
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._ids.insert(0, job_id)
        self.endInsertRows()

    def _on_job_changed(self, job_id: int) -> None:
        row = self.row_of(job_id)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.headers) - 1))

    def tick(self) -> None:
        """Refresh the elapsed column of running jobs (a 1 s timer calls this)."""
        for row, jid in enumerate(self._ids):
            try:
                job = self.runner.get(jid)
            except KeyError:
                continue
            if job.state is JobState.RUNNING:
                ix = self.index(row, self.ELAPSED_COLUMN)
                self.dataChanged.emit(ix, ix, [Qt.ItemDataRole.DisplayRole])

    def _row_count(self) -> int:
        return len(self._ids)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        job = self.job_at(index.row())
        if job is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return shown(job.title)
            if col == 1:
                return str(job.kind).capitalize()
            if col == 2:
                return job.status if job.state is JobState.RUNNING else str(job.state).capitalize()
            if col == self.PROGRESS_COLUMN:
                return f"{job.progress:.0%}"
            if col == self.ELAPSED_COLUMN:
                return format_elapsed(job.elapsed) if job.started_at else "—"
        if role == Qt.ItemDataRole.ToolTipRole and col in (0, 2) and job.error:
            return job.error
        if role == Qt.ItemDataRole.ForegroundRole and col == 2 and job.state in STATE_COLORS:
            return QColor(STATE_COLORS[job.state])
        if role == PROGRESS_ROLE:
            return job.progress
        if role == STATE_ROLE:
            return str(job.state)
        if role == ROW_ID_ROLE:
            return job.id
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )
