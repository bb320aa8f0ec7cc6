"""Validate a version on a labelled table: metrics and charts (ROC, PR, calibration, …).

The scoring runs as a job in the worker process (``validate``); the page
draws the stored result's metrics and curves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from modelward.core.compute.worker import worker_job
from modelward.core.jobs import JobKind
from modelward.ui.bridge import JobBridge
from modelward.ui.charts.validation import QtValidationCharts
from modelward.ui.models.rows import RowTableModel
from modelward.ui.models.validation_tables import MetricsTableModel
from modelward.ui.pages.explain_panel import ExplainPanel
from modelward.ui.pickers import VersionPicker
from modelward.ui.requests import ValidateRequest, WorkerRequest
from modelward.ui.texts import window_text
from modelward.ui.widgets import label, setup_table

TABLE_FILTER = "Tables (*.csv *.parquet *.pq);;All files (*)"


def ref_combo(
    refs: list[str], current: str = "", reader: Any = None, registry: Any = None
) -> VersionPicker:
    """The searchable version picker (every version of the registry when given a reader)."""
    return VersionPicker(reader, registry, refs=refs, current=current)


def table_view(model: RowTableModel[Any]) -> QTableView:
    """A read-only table over ``model``, with the look every table shares."""
    view = QTableView()
    view.setModel(model)
    setup_table(view)
    return view


def open_in_window(page: QWidget, title: str, parent: QWidget | None) -> QDialog:
    """Show a page in its own non-modal window (deleted when closed)."""
    dlg = QDialog(parent)
    dlg.setWindowTitle(title)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    lay = QVBoxLayout(dlg)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(page)
    dlg.resize(1180, 760)
    dlg.page = page  # type: ignore[attr-defined]
    dlg.show()
    return dlg


class JobPage(QWidget):
    """A page that runs one worker job at a time and follows it."""

    sig_result_shown = Signal(object)
    """the job's result, once it is drawn."""
    sig_job_failed = Signal(str)
    """one sentence: the job failed or was cancelled."""

    def __init__(self, registry: Any, jobs: JobBridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.registry = registry
        self.jobs = jobs
        self.job_id: int | None = None
        self.result: dict[str, Any] | None = None
        self.last_request: WorkerRequest | None = None
        q = Qt.ConnectionType.QueuedConnection
        jobs.sig_job_progressed.connect(self._on_job_progressed, q)
        jobs.sig_job_finished.connect(self._on_job_finished, q)
        jobs.sig_job_failed.connect(self._on_job_failed, q)
        jobs.sig_job_cancelled.connect(self._on_job_cancelled, q)
        self.error_label = label("", "Error", wrap=True)
        self.error_label.hide()
        self.status_label = label("", "Muted")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(200)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.extra_check = QCheckBox("Ignore extra columns")
        self.extra_check.setToolTip(
            "Columns the model does not use (ids, notes) are left out instead of refused"
        )

    def data_row(self, data: str) -> tuple[QLineEdit, QPushButton]:
        edit = QLineEdit(data)
        edit.setPlaceholderText("a labelled CSV or Parquet file")
        browse = QPushButton("Browse…")
        browse.setToolTip("Choose a labelled CSV or Parquet file")

        def choose() -> None:
            path, _ = QFileDialog.getOpenFileName(self, "Labelled data", "", TABLE_FILTER)
            if path:
                edit.setText(path)

        browse.clicked.connect(choose)
        return edit, browse

    def worker_fields(self) -> dict[str, Any]:
        """The fields every :class:`WorkerRequest` of this page shares."""
        return {
            "registry": str(self.registry.home),
            "actor": self.registry.actor,
            "busy_timeout": self.registry.busy_timeout,
            "allow_extra": self.extra_check.isChecked(),
        }

    def submit(self, kind: JobKind, title: str, request: WorkerRequest) -> int:
        self.show_error("")
        self.progress.setValue(0)
        self.progress.show()
        self.status_label.setText("Starting the worker…")
        self.last_request = request
        self.job_id = self.jobs.submit(kind, title, worker_job, request.to_worker())
        return self.job_id

    def show_error(self, message: str) -> None:
        self.error_label.setText(f"⚠ {window_text(message)}" if message else "")
        self.error_label.setVisible(bool(message))

    def _on_job_progressed(self, job_id: int, fraction: float, status: str) -> None:
        if job_id == self.job_id:
            self.progress.setValue(int(fraction * 1000))
            if status:
                self.status_label.setText(status)

    def _done(self) -> None:
        self.job_id = None
        self.progress.hide()

    def _on_job_finished(self, job_id: int, result: Any) -> None:
        if job_id != self.job_id:
            return
        self._done()
        self.show_result(result)

    def _on_job_failed(self, job_id: int, message: str) -> None:
        if job_id != self.job_id:
            return
        self._done()
        self.status_label.setText("")
        self.show_error(message)
        self.sig_job_failed.emit(message)

    def _on_job_cancelled(self, job_id: int) -> None:
        if job_id != self.job_id:
            return
        self._done()
        self.status_label.setText("Cancelled")
        self.sig_job_failed.emit("cancelled")

    def show_result(self, result: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class ValidationPage(JobPage):
    """Pick a version and a labelled file; see its metrics and validation charts."""

    def __init__(
        self,
        registry: Any,
        jobs: JobBridge,
        parent: QWidget | None = None,
        *,
        refs: list[str] | None = None,
        ref: str = "",
        data: str = "",
        reader: Any = None,
    ):
        super().__init__(registry, jobs, parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 16, 20, 12)
        lay.setSpacing(8)
        lay.addWidget(label("Validate a version", "PageTitle"))
        row = QHBoxLayout()
        self.ref_combo = ref_combo(refs or [], ref, reader, registry)
        self.data_edit, self.browse_button = self.data_row(data)
        self.target_edit = QLineEdit()
        self.target_edit.setPlaceholderText("target (default: as trained)")
        self.target_edit.setMaximumWidth(190)
        self.validate_button = QPushButton("Validate")
        self.validate_button.setToolTip("Score the version on the file: metrics and curves")
        self.validate_button.setProperty("primary", True)
        row.addWidget(label("Version", "SectionTitle"))
        row.addWidget(self.ref_combo)
        row.addWidget(label("on", "Muted"))
        row.addWidget(self.data_edit, 1)
        row.addWidget(self.browse_button)
        row.addWidget(self.target_edit)
        row.addWidget(self.extra_check)
        row.addWidget(self.validate_button)
        lay.addLayout(row)
        lay.addWidget(self.error_label)
        head = QHBoxLayout()
        self.summary = label("Choose a version and a labelled file, then Validate.", "Muted")
        head.addWidget(self.summary, 1)
        head.addWidget(self.status_label)
        head.addWidget(self.progress)
        lay.addLayout(head)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.metrics_model = MetricsTableModel(self)
        self.metrics = table_view(self.metrics_model)
        self.metrics.setMinimumWidth(220)
        split.addWidget(self.metrics)
        self.charts = QtValidationCharts()
        split.addWidget(self.charts)
        split.setSizes([260, 900])
        lay.addWidget(split, 1)
        self.explain_panel = ExplainPanel(registry, jobs, self)  # issue 19: explanations
        lay.addWidget(self.explain_panel, 1)
        self.sig_result_shown.connect(self.explain_panel.show_validation)
        self.validate_button.clicked.connect(self.start)

    def start(self) -> None:
        ref = self.ref_combo.ref()
        data = self.data_edit.text().strip()
        if not ref or not data:
            self.show_error("choose a version and a labelled data file")
            return
        if self.job_id is not None:
            return
        req = ValidateRequest(
            **self.worker_fields(),
            ref=ref,
            data=data,
            target=self.target_edit.text().strip() or None,
        )
        self.submit(JobKind.VALIDATE, f"Validate {ref} on {Path(data).name}", req)

    def show_result(self, result: dict[str, Any]) -> None:
        """Draw a ``ValidationResult.to_json()``."""
        self.result = result
        src = Path(str(result.get("data_source") or "")).name
        self.summary.setText(
            f"{result['ref']} on {result['rows']:,} rows of {src} · {result['task']}, "
            f"target {result['target']} · validation #{result.get('validation_id')}"
        )
        self.status_label.setText("")
        self.metrics_model.set_metrics(result.get("metrics") or {})
        self.metrics.resizeColumnsToContents()
        self.charts.show_series(result["task"], [(result["ref"], result.get("curves") or {})])
        self.sig_result_shown.emit(result)
