"""Validate a version on a labelled table: metrics with intervals, curves, lift and
gains, score bands, and a decision-threshold control.

The scoring runs as a job in the worker process (``validate``); the page
draws the stored result's metrics and curves. The threshold control reads the
stored predictions once, off the GUI thread, and then answers every move of
the slider by a binary search.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from modelward.core.compute.validation import (
    decision_threshold,
    set_decision_threshold,
    threshold_curve,
)
from modelward.core.compute.worker import worker_job
from modelward.core.jobs import JobKind
from modelward.ui.bridge import JobBridge
from modelward.ui.charts.validation import QtConfusionTable, QtCreditCharts, QtValidationCharts
from modelward.ui.models.rows import Column, RowTableModel
from modelward.ui.models.validation_tables import fmt
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


def _num(v: Any) -> str:
    """A metric as a validator reads it: four decimals (large errors in four figures)."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return "—"
    return f"{x:.4f}" if abs(x) < 1000 else fmt(x)


class MetricsIntervalModel(RowTableModel[tuple[str, Any, Any]]):
    """Metric, value and its bootstrap interval (``–`` where there is none), by name."""

    columns = (
        Column("Metric", lambda m: m[0]),
        Column("Value", lambda m: _num(m[1]), numeric=True),
        Column("95% interval",
               lambda m: f"{_num(m[2][0])}–{_num(m[2][1])}" if m[2] else "–", numeric=True),
    )  # fmt: skip

    def set_metrics(self, metrics: dict[str, Any], intervals: dict[str, Any] | None = None) -> None:
        iv = intervals or {}
        self.set_rows([(k, metrics[k], iv.get(k)) for k in sorted(metrics)])


class BandsTableModel(RowTableModel[dict[str, Any]]):
    """The score-band table: highest scores first."""

    columns = (
        Column("Band (score)", lambda b: f"{_num(b['low'])} – {_num(b['high'])}"),
        Column("Rows", lambda b: f"{b['population']:,}", numeric=True),
        Column("Events", lambda b: f"{b['events']:,}", numeric=True),
        Column("Event rate", lambda b: f"{b['event_rate']:.2%}", numeric=True),
        Column("Cumulative capture", lambda b: f"{b['cum_capture']:.1%}", numeric=True),
    )  # fmt: skip


def _load_threshold(registry: Any, validation_id: int, ref: str) -> tuple[Any, Any]:
    """Off the GUI thread: the sorted scores of a validation and the stored threshold."""
    return threshold_curve(registry, validation_id), decision_threshold(registry, ref)


def _store_threshold(
    ctx: Any, registry: Any, ref: str, value: float, cost_fp: float, cost_fn: float, reason: str
) -> Any:
    """The job that stores a decision threshold (audited, in the registry's transaction)."""
    ctx.progress(0.1, f"storing the decision threshold of {ref}")
    return set_decision_threshold(
        registry, ref, value, cost_fp=cost_fp, cost_fn=cost_fn, reason=reason or None
    )


class ThresholdPanel(QWidget):
    """A threshold control over a binary validation's scores.

    The scores are sorted once (off the GUI thread); each move of the slider
    or the spin box is a binary search, so the confusion matrix, precision,
    recall, approval rate and expected cost follow the hand.
    """

    sig_curve_loaded = Signal(object)
    """``(ThresholdCurve | None, DecisionThreshold)`` from the loading thread."""
    sig_point_shown = Signal(object)
    """the :class:`ThresholdPoint` drawn."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.curve: Any = None
        self.classes: list[Any] = []
        self.point: Any = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 8, 4, 4)
        lay.setSpacing(8)
        self.help = label(
            "A row whose score is at or above the threshold is decided as the second class "
            "(the event); rows below it are approved.",
            "Muted",
            wrap=True,
        )
        lay.addWidget(self.help)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 1000)
        self.slider.setMinimumWidth(220)
        self.slider.setToolTip("Move the decision threshold")
        self.spin = QDoubleSpinBox()
        self.spin.setRange(0.0, 1.0)
        self.spin.setDecimals(3)
        self.spin.setSingleStep(0.01)
        self.spin.setToolTip("The decision threshold (0–1)")
        self.spin.setFixedWidth(90)
        self.cost_fp = QDoubleSpinBox()
        self.cost_fn = QDoubleSpinBox()
        for box, tip in ((self.cost_fp, "false positive"), (self.cost_fn, "false negative")):
            box.setRange(0.0, 1e9)
            box.setDecimals(2)
            box.setValue(1.0)
            box.setFixedWidth(110)
            box.setToolTip(f"The cost of one {tip}")
        row = QHBoxLayout()
        row.addWidget(label("Threshold", "SectionTitle"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        lay.addLayout(row)
        costs = QHBoxLayout()
        costs.addWidget(label("Cost of a false positive", "Muted"))
        costs.addWidget(self.cost_fp)
        costs.addSpacing(12)
        costs.addWidget(label("Cost of a false negative", "Muted"))
        costs.addWidget(self.cost_fn)
        costs.addStretch(1)
        lay.addLayout(costs)
        body = QHBoxLayout()
        self.confusion = QtConfusionTable()
        self.confusion.setMinimumHeight(150)
        body.addWidget(self.confusion, 3)
        side = QVBoxLayout()
        self.numbers = label("", wrap=True)
        self.numbers.setTextFormat(Qt.TextFormat.RichText)
        side.addWidget(self.numbers)
        self.stored_label = label("", "Muted", wrap=True)
        side.addWidget(self.stored_label)
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("why (kept in the audit trail)")
        side.addWidget(self.reason_edit)
        self.set_button = QPushButton("Set as decision threshold")
        self.set_button.setToolTip(
            "Store this threshold with the version: scoring decides its rows with it (audited)"
        )
        side.addWidget(self.set_button)
        side.addStretch(1)
        body.addLayout(side, 2)
        lay.addLayout(body, 1)
        self.slider.valueChanged.connect(lambda v: self.spin.setValue(v / 1000))
        self.spin.valueChanged.connect(self._on_spin)
        self.cost_fp.valueChanged.connect(lambda _v: self.show_point())
        self.cost_fn.valueChanged.connect(lambda _v: self.show_point())
        self.sig_curve_loaded.connect(self._on_loaded, Qt.ConnectionType.QueuedConnection)
        self.set_enabled(False)

    def set_enabled(self, on: bool) -> None:
        for w in (self.slider, self.spin, self.cost_fp, self.cost_fn, self.set_button):
            w.setEnabled(on)

    def load(self, registry: Any, validation_id: int, ref: str, classes: list[Any]) -> None:
        """Read the validation's scores on a background thread, then enable the control."""
        self.curve = None
        self.classes = list(classes)
        self.set_enabled(False)
        self.numbers.setText("Reading the scores…")

        def work() -> None:
            try:
                out: Any = _load_threshold(registry, validation_id, ref)
            except Exception as e:  # shown on the panel, never lost
                out = e
            try:
                self.sig_curve_loaded.emit(out)
            except RuntimeError:  # the page was closed meanwhile
                pass

        threading.Thread(target=work, name="mw-threshold-load", daemon=True).start()

    def _on_loaded(self, out: Any) -> None:
        if isinstance(out, Exception):
            self.numbers.setText(window_text(f"could not read the scores: {out}"))
            return
        curve, stored = out
        self.curve = curve
        if curve is None:
            self.numbers.setText("A threshold applies to a binary classifier with scores.")
            return
        self.show_stored(stored)
        start = stored.threshold if stored.threshold is not None else 0.5
        if stored.cost_fp is not None:
            self.cost_fp.setValue(stored.cost_fp)
        if stored.cost_fn is not None:
            self.cost_fn.setValue(stored.cost_fn)
        self.set_enabled(True)
        self.spin.setValue(start)
        self.show_point()

    def show_stored(self, stored: Any) -> None:
        if stored.threshold is None:
            self.stored_label.setText("No decision threshold is stored with this version yet.")
        else:
            where = (
                "set here or with 'threshold set'"
                if stored.source == "tag"
                else "from the model file"
            )
            self.stored_label.setText(f"Stored decision threshold: {stored.threshold:g} ({where})")

    def _on_spin(self, value: float) -> None:
        pos = round(value * 1000)
        if self.slider.value() != pos:
            self.slider.blockSignals(True)
            self.slider.setValue(pos)
            self.slider.blockSignals(False)
        self.show_point()

    def show_point(self) -> None:
        """Draw the confusion matrix and the rates at the spin box's threshold (O(log n))."""
        if self.curve is None:
            return
        p = self.curve.at(self.spin.value(), self.cost_fp.value(), self.cost_fn.value())
        self.point = p
        self.confusion.set_matrix(self.classes, p.confusion_matrix)
        self.confusion.setHorizontalHeaderLabels([f"decided {k}" for k in self.classes])
        self.numbers.setText(
            f"<b>Precision</b> {p.precision:.3f} &nbsp; <b>Recall</b> {p.recall:.3f}<br>"
            f"<b>Approval rate</b> {p.approval_rate:.1%} "
            f"<span style='color:gray'>(rows below the threshold)</span><br>"
            f"<b>Expected cost</b> {p.expected_cost:,.6g} "
            f"<span style='color:gray'>({p.cost_per_row:.4g} a row)</span>"
        )
        self.sig_point_shown.emit(p)


class ValidationPage(JobPage):
    """Pick a version and a labelled file; see its metrics and validation charts.

    The results sit in :attr:`tabs` (curves, lift and gains, score bands,
    threshold); another view of the validation is one more tab there.
    """

    sig_threshold_set = Signal(object)
    """the stored :class:`~modelward.core.compute.validation.DecisionThreshold`."""

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
        self.summary.setWordWrap(True)
        head.addWidget(self.summary, 1)
        head.addWidget(self.status_label)
        head.addWidget(self.progress)
        lay.addLayout(head)
        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        self.metrics_model = MetricsIntervalModel(self)
        self.metrics = table_view(self.metrics_model)
        self.metrics.setMinimumWidth(300)
        left_lay.addWidget(self.metrics, 1)
        self.interval_note = label("", "Muted", wrap=True)
        left_lay.addWidget(self.interval_note)
        self.calibration_note = label("", "Muted", wrap=True)
        left_lay.addWidget(self.calibration_note)
        split.addWidget(left)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.charts = QtValidationCharts()
        self.tabs.addTab(self.charts, "Curves")
        self.credit_charts = QtCreditCharts()
        self.tabs.addTab(self.credit_charts, "Lift and gains")
        self.bands_model = BandsTableModel(self)
        self.bands = table_view(self.bands_model)
        # a dozen rows at most: sized to their text and headers, whichever tab is showing
        self.bands.horizontalHeader().setStretchLastSection(False)
        self.bands.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tabs.addTab(self.bands, "Score bands")
        self.threshold = ThresholdPanel()
        self.tabs.addTab(self.threshold, "Threshold")
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([340, 900])
        # the explanations below the numbers, in a splitter the analyst can drag
        self.explain_panel = ExplainPanel(registry, jobs, self)
        outer = QSplitter(Qt.Orientation.Vertical)
        outer.setChildrenCollapsible(False)
        outer.addWidget(split)
        outer.addWidget(self.explain_panel)
        # half each: the rows to click and their codes need the height on a small screen
        outer.setStretchFactor(0, 1)
        outer.setStretchFactor(1, 1)
        # Numbers and explanations together need about 800 px once a validation is
        # shown; on a 1024x700 screen they scroll rather than push the window off it.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(outer)
        lay.addWidget(scroll, 1)
        self.sig_result_shown.connect(self.explain_panel.show_validation)
        self.validate_button.clicked.connect(self.start)
        self.threshold.set_button.clicked.connect(self.set_threshold)
        self.threshold_job: int | None = None
        q = Qt.ConnectionType.QueuedConnection
        jobs.sig_job_finished.connect(self._on_threshold_job_finished, q)
        jobs.sig_job_failed.connect(self._on_threshold_job_failed, q)

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
        curves = result.get("curves") or {}
        self.metrics_model.set_metrics(result.get("metrics") or {}, curves.get("intervals"))
        self.metrics.resizeColumnsToContents()
        method = curves.get("interval_method")
        self.interval_note.setText(f"Intervals: {method}." if method else "")
        cal = curves.get("calibration_test")
        self.calibration_note.setText(
            f"Hosmer–Lemeshow {cal['hosmer_lemeshow']:.2f} (df {cal['df']}, "
            f"p {cal['p_value']:.3g}) · ECE {cal['ece']:.4f}"
            if cal
            else ""
        )
        self.charts.show_series(result["task"], [(result["ref"], curves)])
        self.credit_charts.show_curves(result["ref"], curves)
        self.bands_model.set_rows(curves.get("bands") or [])
        binary = "lift" in curves
        for i in (1, 2, 3):
            self.tabs.setTabVisible(i, binary)
        if binary and result.get("validation_id") is not None:
            self.threshold.load(
                self.registry,
                int(result["validation_id"]),
                result["ref"],
                list(curves.get("classes") or []),
            )
        self.sig_result_shown.emit(result)

    def set_threshold(self) -> None:
        """Store the panel's threshold with the version (a job: audited, off the GUI thread)."""
        if self.result is None or self.threshold.curve is None or self.threshold_job is not None:
            return
        ref = str(self.result["ref"])
        value = round(self.threshold.spin.value(), 6)
        self.threshold.set_button.setEnabled(False)
        self.threshold_job = self.jobs.submit(
            JobKind.OTHER,
            f"Set the decision threshold of {ref} to {value:g}",
            _store_threshold,
            self.registry,
            ref,
            value,
            self.threshold.cost_fp.value(),
            self.threshold.cost_fn.value(),
            self.threshold.reason_edit.text().strip(),
        )

    def _on_threshold_job_finished(self, job_id: int, result: Any) -> None:
        if job_id != self.threshold_job:
            return
        self.threshold_job = None
        self.threshold.set_button.setEnabled(True)
        self.threshold.show_stored(result)
        self.show_error("")
        self.sig_threshold_set.emit(result)

    def _on_threshold_job_failed(self, job_id: int, message: str) -> None:
        if job_id != self.threshold_job:
            return
        self.threshold_job = None
        self.threshold.set_button.setEnabled(True)
        self.show_error(message)
        self.sig_job_failed.emit(message)
