"""The Explanations panel of a validation, and the reason codes of a row of any batch.

When a validation is shown, the panel asks the worker for its explanations
(computed and stored with the validation the first time, read back after
that) and the first rows of its data. It draws permutation importance with
whiskers and partial dependence with ICE curves. :class:`ReasonRows` is the
table of a batch's rows (a validation's, or a scored batch's on the Scoring
page) where clicking a row asks the worker for that row's reason codes. All
of the work runs in the worker process, never on the GUI thread (and never
unpickles in the window's process).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from modelward.core.compute.worker import run_in_worker
from modelward.core.jobs import JobKind
from modelward.ui.bridge import JobBridge
from modelward.ui.texts import window_text
from modelward.ui.widgets import label, setup_table

PREVIEW_ROWS = 200
REASONS_SHOWN = 8
REASONS_MIN_WIDTH = 360
ROWS_SHOWN = 5
"""rows of the clicked-for-codes table always visible (the page scrolls around them)."""


def run_explain_job(ctx: Any, request: dict[str, Any]) -> dict[str, Any]:
    """A job that runs an ``explain`` or ``reasons`` request in the worker.

    Like :func:`~modelward.core.compute.worker.worker_job`, with a short grace
    after cancel: nothing is stored before the end, so a worker that does not
    stop within a second is simply terminated (closing the window does not wait).
    """

    def on_message(msg: dict[str, Any]) -> None:
        if "progress" in msg:
            ctx.progress(float(msg["progress"]), str(msg.get("status") or ""))

    return run_in_worker(request, on_message, ctx.cancel, grace=1.0)


def _cell(value: Any) -> QTableWidgetItem:
    if isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = "" if value is None else str(value)
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class ReasonRows(QWidget):
    """A batch's first rows; clicking one shows its reason codes (computed in the worker).

    A *source* says which rows these are, as the worker's ``reasons`` request
    takes them: ``{"ref": REF, "data": PATH}`` (a validation) or ``{"output":
    PATH}`` (a scored batch: its manifest names the version and the input).
    """

    sig_rows_shown = Signal(object)
    """the preview (``columns``, ``rows`` and, for a scored batch, its ``ref``), once shown."""
    sig_reasons_shown = Signal(object)
    """the reason codes of the clicked row, once shown."""
    sig_failed = Signal(str)
    """one sentence: opening the batch or explaining a row failed."""

    def __init__(
        self,
        registry: Any,
        jobs: JobBridge,
        parent: QWidget | None = None,
        *,
        orientation: Qt.Orientation = Qt.Orientation.Vertical,
    ):
        super().__init__(parent)
        self.registry = registry
        self.jobs = jobs
        self.source: dict[str, Any] | None = None
        self.reasons: dict[str, Any] | None = None
        self.batch_job: int | None = None
        self.reasons_job: int | None = None
        self._clicked: int | None = None
        q = Qt.ConnectionType.QueuedConnection
        jobs.sig_job_finished.connect(self._on_finished, q)
        jobs.sig_job_failed.connect(self._on_failed, q)
        jobs.sig_job_cancelled.connect(self._on_cancelled, q)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.title_label = label("Click a row for its reason codes", "Muted", wrap=True)
        lay.addWidget(self.title_label)
        self.error_label = label("", "Error", wrap=True)
        self.error_label.hide()
        lay.addWidget(self.error_label)
        self.rows_table = QTableWidget()
        setup_table(self.rows_table)
        self.rows_table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.rows_table.cellClicked.connect(self._row_clicked)
        # at least five rows to choose from, whatever the screen: on a small one the
        # page around the panel scrolls rather than squeezing the table to one row
        self._fit_rows_height()
        codes = QWidget()
        codes_lay = QVBoxLayout(codes)
        codes_lay.setContentsMargins(0, 0, 0, 0)
        self.reasons_label = label("", "Muted", wrap=True)
        codes_lay.addWidget(self.reasons_label)
        self.reasons_table = QTableWidget(0, 3)
        self.reasons_table.setHorizontalHeaderLabels(["feature", "value", "contribution"])
        setup_table(self.reasons_table, stretch_last=False)
        # the feature name takes what is left; its value and contribution are never elided
        rh = self.reasons_table.horizontalHeader()
        rh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        rh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        rh.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        row_h = self.reasons_table.verticalHeader().defaultSectionSize()
        self.reasons_table.setMinimumHeight(4 * row_h)
        codes_lay.addWidget(self.reasons_table, 1)
        # what the numbers mean, in words, under them when there is room (and always
        # on the tooltips: on a small screen the codes themselves keep the height)
        self.meaning_label = label("", "Muted", wrap=True)
        self.meaning_label.hide()
        codes_lay.addWidget(self.meaning_label)
        # the codes' line and at least four table rows, never squeezed under each other
        codes.setMinimumHeight(
            self.reasons_table.minimumHeight() + 2 * self.fontMetrics().lineSpacing() + 8
        )
        # the rows above their codes (a validation's panel), or beside them (the Scoring page)
        self.split = QSplitter(orientation)
        self.split.addWidget(self.rows_table)
        self.split.addWidget(codes)
        self.split.setCollapsible(0, False)
        self.split.setCollapsible(1, False)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        lay.addWidget(self.split, 1)
        self.split.splitterMoved.connect(lambda _p, _i: self._fit_meaning())

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_rows_height()
        self._fit_meaning()

    def _fit_rows_height(self) -> None:
        """Room for :data:`ROWS_SHOWN` rows, measured as shown (the style sets the row height).

        The header, the frame and the horizontal scroll bar that a wide table
        shows come on top of the rows themselves.
        """
        t = self.rows_table
        h = (
            ROWS_SHOWN * t.verticalHeader().defaultSectionSize()
            + t.horizontalHeader().sizeHint().height()
            + t.horizontalScrollBar().sizeHint().height()
            + 2 * t.frameWidth()
        )
        if t.minimumHeight() != h:
            t.setMinimumHeight(h)

    def _fit_meaning(self) -> None:
        codes = self.reasons_table.parentWidget()
        lb = self.meaning_label
        room = codes.height() - self.reasons_label.height() - self.reasons_table.minimumHeight()
        need = lb.heightForWidth(max(codes.width(), 1)) + 12
        lb.setVisible(bool(lb.text()) and self.reasons is not None and room >= need)

    def _fields(self) -> dict[str, Any]:
        return {
            "registry": str(self.registry.home),
            "actor": self.registry.actor,
            "busy_timeout": self.registry.busy_timeout,
        }

    def _error(self, message: str) -> None:
        self.error_label.setText(f"⚠ {window_text(message)}" if message else "")
        self.error_label.setVisible(bool(message))

    # ------------------------------------------------------------------ the rows
    def show_rows(self, source: dict[str, Any], preview: dict[str, Any], title: str = "") -> None:
        """Show ``preview`` (``columns``, ``rows``: the first is the row number) from ``source``."""
        self.source = dict(source)
        self._error("")
        self.title_label.setText(title or "Click a row for its reason codes")
        self.reasons_label.setText("")
        self.meaning_label.setText("")
        self.meaning_label.hide()
        self.reasons_table.setRowCount(0)
        cols, rows = preview["columns"], preview["rows"]
        t = self.rows_table
        t.clear()
        t.setColumnCount(len(cols))
        t.setRowCount(len(rows))
        t.setHorizontalHeaderLabels([str(c) for c in cols])
        for r, values in enumerate(rows):
            for c, v in enumerate(values):
                t.setItem(r, c, _cell(v))
        t.resizeColumnsToContents()
        self.sig_rows_shown.emit(preview)

    def open_batch(self, output: str) -> int:
        """Open the scored batch written to ``output``: its first rows, checked (a job)."""
        self.source = None
        self._error("")
        self.rows_table.setRowCount(0)
        self.reasons_table.setRowCount(0)
        self.reasons_label.setText("")
        self.meaning_label.setText("")
        self.meaning_label.hide()
        name = Path(output).name
        self.title_label.setText(f"Opening {name}…")
        request = {**self._fields(), "kind": "batch", "output": output, "preview": PREVIEW_ROWS}
        self.batch_job = self.jobs.submit(
            JobKind.EXPLAIN, f"Open scored batch {name}", run_explain_job, request
        )
        return self.batch_job

    def _row_clicked(self, row: int, _column: int) -> None:
        if self.source is None or self.reasons_job is not None:
            return
        item = self.rows_table.item(row, 0)
        if item is None:
            return
        number = int(item.text())
        self._clicked = row
        request = {
            **self._fields(),
            "kind": "reasons",
            **self.source,
            "rows": str(number),
            "k": REASONS_SHOWN,
        }
        what = self.source.get("ref") or Path(str(self.source.get("output"))).name
        self.reasons_label.setText(f"Reason codes of row {number}…")
        self.reasons_job = self.jobs.submit(
            JobKind.EXPLAIN, f"Reason codes of row {number} · {what}", run_explain_job, request
        )

    def _value_of(self, feature: str) -> Any:
        """The clicked row's value of ``feature`` (from the table: what the user clicked)."""
        t = self.rows_table
        if self._clicked is None:
            return None
        for c in range(t.columnCount()):
            h = t.horizontalHeaderItem(c)
            if h is not None and h.text() == feature:
                item = t.item(self._clicked, c)
                return item.text() if item is not None else None
        return None

    # ------------------------------------------------------------------ jobs
    def _on_finished(self, job_id: int, result: Any) -> None:
        if job_id == self.batch_job:
            self.batch_job = None
            title = (
                f"{Path(result['output']).name}, scored by {result['ref']} "
                f"({Path(result['data']).name}): click a row for its reason codes"
            )
            self.show_rows({"output": result["output"]}, result, title)
        elif job_id == self.reasons_job:
            self.reasons_job = None
            self._show_reasons(result)

    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id == self.batch_job:
            self.batch_job = None
            self.title_label.setText("")
        elif job_id == self.reasons_job:
            self.reasons_job = None
            self.reasons_label.setText("")
        else:
            return
        self._error(message)
        self.sig_failed.emit(message)

    def _on_cancelled(self, job_id: int) -> None:
        if job_id == self.batch_job:
            self.batch_job = None
            self.title_label.setText("")
        elif job_id == self.reasons_job:
            self.reasons_job = None
            self.reasons_label.setText("")

    def _show_reasons(self, doc: dict[str, Any]) -> None:
        self.reasons = doc
        row = doc["rows"][0]
        self.reasons_label.setText(
            f"Row {row['row']}: {row['explains']} {row['output']:.4g} (average {row['base']:.4g}) "
            f"· {doc['method']}"
        )
        self.meaning_label.setText(f"Meaning: {doc['meaning']}")
        self._fit_meaning()
        tip = f"{doc['method']}: {doc['meaning']}"
        for w in (self.reasons_label, self.meaning_label, self.reasons_table):
            w.setToolTip(tip)
        t = self.reasons_table
        t.setRowCount(len(row["reasons"]))
        for i, code in enumerate(row["reasons"]):
            t.setItem(i, 0, _cell(code["feature"]))
            value = _cell(self._value_of(code["feature"]))
            value.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            t.setItem(i, 1, value)
            t.setItem(i, 2, _cell(f"{code['contribution']:+.4g}"))
            t.item(i, 2).setTextAlignment(
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            )
        self.sig_reasons_shown.emit(doc)


class ExplainPanel(QWidget):
    """Importance, partial dependence and per-row reason codes of one validation."""

    sig_explained = Signal(object)
    """the explanations document, once drawn."""
    sig_reasons_shown = Signal(object)
    """the reason codes of the clicked row, once shown."""
    sig_failed = Signal(str)
    """one sentence: a job of the panel failed or was cancelled."""

    def __init__(self, registry: Any, jobs: JobBridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.registry = registry
        self.jobs = jobs
        self.validation: dict[str, Any] | None = None
        self.explanations: dict[str, Any] | None = None
        self.explain_job: int | None = None
        q = Qt.ConnectionType.QueuedConnection
        jobs.sig_job_progressed.connect(self._on_progress, q)
        jobs.sig_job_finished.connect(self._on_finished, q)
        jobs.sig_job_failed.connect(self._on_failed, q)
        jobs.sig_job_cancelled.connect(self._on_cancelled, q)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        head = QHBoxLayout()
        head.addWidget(label("Explanations", "SectionTitle"))
        self.method_label = label("", "Muted", wrap=True)
        head.addWidget(self.method_label, 1)
        self.status_label = label("", "Muted")
        head.addWidget(self.status_label)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(160)
        self.progress.setTextVisible(False)
        self.progress.hide()
        head.addWidget(self.progress)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop computing the explanations")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel)
        head.addWidget(self.cancel_button)
        lay.addLayout(head)
        self.error_label = label("", "Error", wrap=True)
        self.error_label.hide()
        lay.addWidget(self.error_label)

        # Here, not at module level: the Scoring page, built with the window, imports
        # this module for ReasonRows, and the charts import pyqtgraph (~0.4 s of start).
        from modelward.ui.charts.explain import QtDependenceChart, QtImportanceChart

        self.split = split = QSplitter(Qt.Orientation.Horizontal)
        self.importance = QtImportanceChart()
        split.addWidget(self.importance)
        pd_box = QWidget()
        pd_lay = QVBoxLayout(pd_box)
        pd_lay.setContentsMargins(0, 0, 0, 0)
        self.feature_combo = QComboBox()
        self.feature_combo.setToolTip("The feature (and class) whose partial dependence is drawn")
        self.feature_combo.currentIndexChanged.connect(self._draw_pdp)
        pd_lay.addWidget(self.feature_combo)
        self.dependence = QtDependenceChart()
        pd_lay.addWidget(self.dependence, 1)
        split.addWidget(pd_box)

        self.rows = ReasonRows(registry, jobs)
        self.rows.setMinimumWidth(REASONS_MIN_WIDTH)
        self.rows.sig_reasons_shown.connect(self.sig_reasons_shown)
        self.rows.sig_failed.connect(self.sig_failed)
        # one widget does the rows and their codes; these names stay for callers
        self.rows_table = self.rows.rows_table
        self.reasons_table = self.rows.reasons_table
        self.reasons_label = self.rows.reasons_label
        split.addWidget(self.rows)
        for i in range(3):
            split.setCollapsible(i, False)
        # the rows and their codes get the widest share: they are read, the charts glanced at
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 4)
        split.setSizes([240, 320, 540])
        lay.addWidget(split, 1)
        self.hide()  # until a validation is shown

    @property
    def reasons(self) -> dict[str, Any] | None:
        """The reason codes shown last."""
        return self.rows.reasons

    # ------------------------------------------------------------------ jobs
    def _fields(self) -> dict[str, Any]:
        return self.rows._fields()

    def show_validation(self, result: dict[str, Any]) -> None:
        """Explain a shown ``ValidationResult.to_json()`` (stored ones are read back)."""
        vid = result.get("validation_id")
        if vid is None:
            return
        self.validation = result
        self.show()
        self._error("")
        stored = (result.get("curves") or {}).get("explanations")
        if stored:
            self._draw(stored)
        request = {
            **self._fields(),
            "kind": "explain",
            "validation_id": int(vid),
            "reuse": True,
            "preview": PREVIEW_ROWS,
        }
        self.status_label.setText("Explaining…")
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.explain_job = self.jobs.submit(
            JobKind.EXPLAIN,
            f"Explanations of {result.get('ref')} (validation {int(vid)})",
            run_explain_job,
            request,
        )

    def cancel(self) -> None:
        if self.explain_job is not None:
            self.jobs.runner.cancel(self.explain_job)

    def _on_progress(self, job_id: int, fraction: float, status: str) -> None:
        if job_id == self.explain_job:
            self.progress.setValue(int(fraction * 1000))
            if status:
                self.status_label.setText(status)

    def _explain_done(self) -> None:
        self.explain_job = None
        self.progress.hide()
        self.cancel_button.hide()

    def _on_finished(self, job_id: int, result: Any) -> None:
        if job_id == self.explain_job:
            self._explain_done()
            self.status_label.setText("")
            if result.get("preview") and self.validation is not None:
                source = {
                    "ref": self.validation["ref"],
                    "data": self.validation.get("data_source"),
                }
                self.rows.show_rows(source, result["preview"])
            self._draw(result["explanations"])
            self.sig_explained.emit(result["explanations"])

    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id != self.explain_job:
            return
        self._explain_done()
        self.status_label.setText("")
        self._error(message)
        self.sig_failed.emit(message)

    def _on_cancelled(self, job_id: int) -> None:
        if job_id == self.explain_job:
            self._explain_done()
            self.status_label.setText("Cancelled")
            self.sig_failed.emit("cancelled")

    def _error(self, message: str) -> None:
        self.error_label.setText(f"⚠ {window_text(message)}" if message else "")
        self.error_label.setVisible(bool(message))

    # ------------------------------------------------------------------ drawing
    def _draw(self, doc: dict[str, Any]) -> None:
        self.explanations = doc
        self.method_label.setText(f"{doc.get('method', '')} · {doc.get('rows_used', 0):,} rows")
        self.importance.show_importance(list(doc.get("importance") or []))
        self.feature_combo.blockSignals(True)
        self.feature_combo.clear()
        for entry in doc.get("pdp") or []:
            self.feature_combo.addItem(f"{entry['feature']} · {entry['target']}")
        self.feature_combo.blockSignals(False)
        self._draw_pdp(0)

    def _draw_pdp(self, index: int) -> None:
        entries = (self.explanations or {}).get("pdp") or []
        self.dependence.show_curve(entries[index] if 0 <= index < len(entries) else None)
