"""The monitoring page of a version: performance, drift share, drift heatmap, histograms.

Live: a timer checks a cheap change signal (file stats, then the audit head) on
the page's own reader thread; when the registry moved, the series are read
again there and every chart gets one ``setData`` per curve. The GUI thread
never queries the registry. Exports render on the GUI thread (they draw the
scene) and are written by a job.
"""

from __future__ import annotations

import enum
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QMenu,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from modelward.core.errors import InvalidInput
from modelward.core.jobs import JobContext, JobKind
from modelward.core.monitoring import series
from modelward.core.monitoring.snapshot import (
    MonitoringSnapshot,
    load_snapshot,
    monitored_version_rows,
    write_csv,
)
from modelward.core.registry import Registry
from modelward.ui import tasks
from modelward.ui.bridge import JobBridge, Reader
from modelward.ui.charts.monitoring import (
    QtDriftHeatmap,
    QtDriftShareChart,
    QtGroupChart,
    QtHistogramOverlay,
    QtMonitoringChart,
    QtMultivariateChart,
    QtPerformanceChart,
    metric_label,
)
from modelward.ui.widgets import label

LIVE_MS = 750  # how often the page looks for new batches (a file stat; a query only on change)


class Channel(enum.StrEnum):
    """Reader channels of the page."""

    VERSIONS = "mon-versions"
    POLL = "mon-poll"
    SNAPSHOT = "mon-snapshot"
    HISTOGRAM = "mon-histogram"


def write_bytes(ctx: JobContext, path: str, data: bytes) -> str:
    """Job: write an exported image."""
    ctx.progress(0.1, f"writing {Path(path).name}")
    try:
        Path(path).write_bytes(data)
    except OSError as e:
        raise InvalidInput(f"could not write {path}: {e.strerror or e}") from e
    return f"Saved {Path(path).name}"


def write_table(ctx: JobContext, path: str, header: list[str], rows: list[list[Any]]) -> str:
    """Job: write a chart's data as CSV."""
    ctx.progress(0.1, f"writing {Path(path).name}")
    write_csv(path, header, rows)
    return f"Saved {Path(path).name} ({len(rows)} rows)"


def load_histograms(reg: Registry, batch_id: int, feature: str) -> dict[str, Any]:
    return series.histograms(reg, batch_id, feature)


class ChartPanel(QFrame):
    """A chart in a card, with an export button (PNG, SVG, CSV)."""

    sig_export_requested = Signal(object, str)
    """chart widget, format (png, svg, csv): the user picked an export."""

    def __init__(self, chart: QtMonitoringChart, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Panel")
        self.chart = chart
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(chart, 1)
        # Floats over the chart's top-right corner (beside its title), so it costs no height.
        self.export_button = QToolButton(self)
        self.export_button.setText("Export")
        self.export_button.setToolTip("Save this chart as PNG or SVG, or its data as CSV")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setAutoRaise(True)
        menu = QMenu(self.export_button)
        for fmt, text in (("png", "Image (PNG)…"), ("svg", "Image (SVG)…"), ("csv", "Data (CSV)…")):
            menu.addAction(text, lambda f=fmt: self.sig_export_requested.emit(self.chart, f))
        self.export_button.setMenu(menu)
        self.export_button.raise_()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        b = self.export_button
        b.adjustSize()
        b.move(self.width() - b.width() - 6, 4)


class MonitoringPage(QWidget):
    """Monitoring of one version, kept live while the page is shown."""

    sig_snapshot_shown = Signal(int)
    """number of batches: the charts show a fresh snapshot."""
    sig_histograms_shown = Signal(str, int)
    """feature, batch id: the histogram overlay shows a heatmap cell."""
    sig_export_saved = Signal(str)
    """path: an export was written."""
    sig_back_requested = Signal()
    """The user wants to go back to the model page."""

    def __init__(self, registry: Registry, jobs: JobBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.jobs = jobs
        self.reader = Reader(self)
        self.ref = ""
        self.metric_name = "roc_auc"
        self.snapshot: MonitoringSnapshot | None = None
        self._head: int | None = None
        self._poll_sig: tuple[object, ...] | None = None
        self._poll_pending = False
        self._hist_request: tuple[str, int, str] | None = None
        self._exports: dict[int, str] = {}
        self._build()
        q = Qt.ConnectionType.QueuedConnection
        self.reader.sig_read_done.connect(self._on_read_done, q)
        self.reader.sig_read_failed.connect(self._on_read_failed, q)
        self.jobs.sig_job_finished.connect(self._on_job_finished, q)
        self.jobs.sig_job_failed.connect(self._on_job_failed, q)
        self.timer = QTimer(self)
        self.timer.setInterval(LIVE_MS)
        self.timer.timeout.connect(self._on_live_tick)

    # ------------------------------------------------------------ building
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 16, 20, 12)
        lay.setSpacing(8)
        head = QHBoxLayout()
        self.back_button = QPushButton("←  Model")
        self.back_button.setToolTip("Back to the model page")
        self.back_button.clicked.connect(self.sig_back_requested)
        head.addWidget(self.back_button)
        head.addSpacing(8)
        self.title = label("Monitoring", "PageTitle")
        # a long version name is clipped rather than widening the page past a small window
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setMinimumWidth(120)
        head.addWidget(self.title, 1)
        head.addWidget(label("Version", "Muted"))
        self.version_combo = QComboBox()
        self.version_combo.setMinimumWidth(190)
        self.version_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.version_combo.setMinimumContentsLength(22)
        self.version_combo.setToolTip("Versions with a reference profile (champion first)")
        self.version_combo.activated.connect(lambda _i: self.show_version(self._combo_ref()))
        head.addWidget(self.version_combo)
        head.addSpacing(6)
        head.addWidget(label("Metric", "Muted"))
        self.metric_combo = QComboBox()
        self.metric_combo.setMinimumWidth(110)
        self.metric_combo.activated.connect(self._on_metric_chosen)
        head.addWidget(self.metric_combo)
        head.addSpacing(6)
        self.live_label = label("", "Muted")
        head.addWidget(self.live_label)
        lay.addLayout(head)
        self.subtitle = label("Choose a monitored version", "Muted", wrap=True)
        lay.addWidget(self.subtitle)

        self.performance = QtPerformanceChart()
        self.drift_share = QtDriftShareChart()
        self.multivariate = QtMultivariateChart()
        self.heatmap = QtDriftHeatmap()
        self.histogram = QtHistogramOverlay()
        self.groups = QtGroupChart()
        self.charts: dict[str, QtMonitoringChart] = {
            c.chart: c
            for c in (
                self.performance,
                self.drift_share,
                self.multivariate,
                self.groups,
                self.heatmap,
                self.histogram,
            )
        }
        self.panels = {k: ChartPanel(c) for k, c in self.charts.items()}
        for p in self.panels.values():
            p.sig_export_requested.connect(self._on_export_requested)
        left = QSplitter(Qt.Orientation.Vertical)
        for k in ("performance", "drift_share"):
            left.addWidget(self.panels[k])
        # multivariate drift and the protected groups / segments share one slot
        self.lower_tabs = QTabWidget()
        self.lower_tabs.setDocumentMode(True)
        self.lower_tabs.addTab(self.panels["multivariate"], "Multivariate")
        self.lower_tabs.addTab(self.panels["groups"], "Groups and segments")
        left.addWidget(self.lower_tabs)
        left.setSizes([320, 220, 200])
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.panels["heatmap"])
        right.addWidget(self.panels["histogram"])
        right.setSizes([380, 300])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([520, 520])
        for s in (left, right, split):
            s.setChildrenCollapsible(False)
            s.setHandleWidth(8)
        self.empty = label("", "Muted", wrap=True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("font-size: 14px;")
        self.body = QStackedWidget()
        self.body.addWidget(split)
        self.body.addWidget(self.empty)
        lay.addWidget(self.body, 1)
        self.heatmap.sig_cell_clicked.connect(self._on_cell_clicked)

    # ------------------------------------------------------------ showing a version
    def show_version(self, ref: str = "") -> None:
        """Show ``ref`` (any form: ``NAME``, ``NAME:N``, ``NAME@ALIAS``) and keep it live.

        Without ``ref``, the monitored versions are listed and the first is shown.
        """
        self.reader.submit(Channel.VERSIONS, monitored_version_rows, self.registry)
        if ref:
            self.ref = ref
            self.title.setText(f"Monitoring · {ref}")
            self.subtitle.setText("Loading…")
            self.reload()
        self.timer.start()

    def reload(self) -> None:
        """Read the series again (reader thread); the charts update when they arrive."""
        if self.ref:
            self.reader.submit(
                Channel.SNAPSHOT, load_snapshot, self.registry, self.ref, self.metric_name
            )

    def _on_metric_chosen(self, _index: int) -> None:
        data = self.metric_combo.currentData()
        if data:
            self.metric_name = str(data)
            self.reload()

    def _on_live_tick(self) -> None:
        if not self.isVisible() or self._poll_pending:
            return
        self._poll_pending = True
        self.reader.submit(Channel.POLL, tasks.poll_changes, self.registry, self._poll_sig)

    # ------------------------------------------------------------ results
    def _on_read_done(self, channel: str, token: int, result: Any) -> None:
        if channel == Channel.POLL:
            self._poll_pending = False
        if not self.reader.is_current(channel, token):
            return
        if channel == Channel.POLL:
            self._poll_sig, head = result
            if head is not None and head != self._head and self.snapshot is not None:
                self._head = head
                self.reload()
        elif channel == Channel.VERSIONS:
            self._update_versions(list(result))
        elif channel == Channel.SNAPSHOT:
            self._update_snapshot(result)
        elif channel == Channel.HISTOGRAM and self._hist_request is not None:
            feature, bid, batch = self._hist_request
            self._update_histograms(result, feature, bid, batch)

    def _on_read_failed(self, channel: str, token: int, message: str) -> None:
        if channel == Channel.POLL:
            self._poll_pending = False  # busy in another process: try again at the next tick
        elif channel == Channel.HISTOGRAM:
            self.histogram.item.setTitle(message)
        elif channel == Channel.SNAPSHOT:
            self.subtitle.setText(message)

    def _combo_ref(self) -> str:
        data = self.version_combo.currentData()
        return str(data) if data else self.version_combo.currentText()

    def _select_ref(self, ref: str) -> None:
        """Select ``ref`` in the version list (added at the top when it is not listed)."""
        i = self.version_combo.findData(ref)
        if i < 0:
            self.version_combo.insertItem(0, ref, ref)
            i = 0
        self.version_combo.setCurrentIndex(i)

    def _update_versions(self, rows: list[tuple[str, list[str]]]) -> None:
        current = self.snapshot.ref if self.snapshot else self.ref
        refs = [ref for ref, _aliases in rows]
        self.version_combo.clear()
        for ref, aliases in rows:
            mark = "  ★ " + ", ".join(aliases) if aliases else ""
            self.version_combo.addItem(f"{ref}{mark}", ref)
        if current:
            self._select_ref(current)
        if not self.ref and refs:
            self.show_version(refs[0])
        elif not refs and not self.ref:
            self.subtitle.setText("No version is monitored yet")
            self._show_empty(
                "No version is monitored yet.\n\nA version is monitored once its reference "
                "data is profiled (the demo workspace shows one); then every batch saved into "
                "a watched data folder of the model (Watched folders → Add folder…) is "
                "checked.\nThey appear here as they arrive."
            )

    def _update_snapshot(self, snap: MonitoringSnapshot) -> None:
        first = self.snapshot is None or self.snapshot.ref != snap.ref
        self.snapshot = snap
        self._head = snap.head
        self.metric_name = snap.metric
        self.title.setText(f"Monitoring · {snap.ref}" + (f" · {snap.kind}" if snap.kind else ""))
        self._select_ref(snap.ref)
        self.metric_combo.clear()
        for m in snap.metrics or (snap.metric,):
            self.metric_combo.addItem(metric_label(m), m)
        self.metric_combo.setCurrentIndex(max(self.metric_combo.findData(snap.metric), 0))
        for c in self.charts.values():
            c.set_snapshot(snap)
        crossed = bool((snap.groups or {}).get("crossed"))
        self.lower_tabs.setTabText(1, "Groups and segments" + ("  ⚠" if crossed else ""))
        self.subtitle.setText(self._summary(snap))
        if snap.n_batches == 0:
            self._show_empty(
                f"No batch has been checked for {snap.ref} yet.\n\nSave batches into a "
                "watched data folder of this model (Watched folders → Add folder…, "
                "arrivals: data batches).\nThey appear here as they arrive."
            )
        else:
            self.body.setCurrentIndex(0)
        self.live_label.setText(f"● live · updated {datetime.now():%H:%M:%S}")
        if first:
            self._hist_request = None
            self._select_default_cell(snap)
        elif self._hist_request is not None:
            self._load_histograms(*self._hist_request)  # the cell's data may have changed
        self.sig_snapshot_shown.emit(snap.n_batches)

    def _show_empty(self, text: str) -> None:
        self.empty.setText(text)
        self.body.setCurrentIndex(1)

    def _select_default_cell(self, snap: MonitoringSnapshot) -> None:
        """Open on the strongest drift of the latest batch, so the overlay is never blank."""
        import numpy as np

        ratio = snap.details["ratio"]
        if snap.n_batches == 0 or ratio.size == 0:
            return
        j = snap.n_batches - 1
        col = np.where(np.isfinite(ratio[:, j]), ratio[:, j], -np.inf)
        stat = snap.details["statistic"][:, j]
        i = int(np.argmax(col)) if np.isfinite(col).any() else int(np.nanargmax(stat))
        self.heatmap.select_cell(i, j)

    @staticmethod
    def _summary(snap: MonitoringSnapshot) -> str:
        import numpy as np

        b, p = snap.batches, snap.performance
        n = snap.n_batches
        if n == 0:
            return "No batch checked yet; new batches appear here as they are checked."
        drifted = int(np.count_nonzero(b["drifted"]))
        labelled = int(np.count_nonzero(b["has_labels"]))
        last = str(b["name"][-1])
        real, est = p["realized"][-1], p["estimated"][-1]
        if np.isfinite(real):
            perf = f"{metric_label(snap.metric)} {real:.3f} (realized)"
        elif np.isfinite(est):
            how = "confidence-based estimate" if snap.kind == "multiclass" else "estimated"
            perf = f"{metric_label(snap.metric)} {est:.3f} ({how})"
        elif not b["has_labels"][-1] and snap.kind:
            perf = f"no estimate of {metric_label(snap.metric)} without labels"
        else:
            perf = "no performance yet"
        verdict = "drifted" if b["drifted"][-1] else "no dataset drift"
        return (
            f"{n} batch{'es' if n != 1 else ''} · {drifted} drifted · labels for {labelled} · "
            f"latest {last}: {verdict}, {perf}"
        )

    # ------------------------------------------------------------ histograms
    def _on_cell_clicked(self, feature: str, batch_id: int, batch: str) -> None:
        self._load_histograms(feature, batch_id, batch)

    def _load_histograms(self, feature: str, batch_id: int, batch: str) -> None:
        self._hist_request = (feature, batch_id, batch)
        self.reader.submit(Channel.HISTOGRAM, load_histograms, self.registry, batch_id, feature)

    def _update_histograms(self, hist: dict[str, Any], feature: str, bid: int, batch: str) -> None:
        caption = f"{feature} · {batch}"
        s = self.snapshot
        cell = self.heatmap.cell_of(feature, bid)
        if s is not None and cell is not None:
            i, j = cell
            method = str(s.matrix["method"][i, j]).upper()
            stat = s.details["statistic"][i, j]
            sev = str(s.matrix["severity"][i, j])
            caption += f" · {method} {stat:.3g}" + (f" ({sev})" if sev != "ok" else " (ok)")
        self.histogram.show_histograms(hist, caption)
        self.sig_histograms_shown.emit(feature, bid)

    # ------------------------------------------------------------ export
    def _on_export_requested(self, chart: QtMonitoringChart, fmt: str) -> None:
        filters = {"png": "PNG image (*.png)", "svg": "SVG image (*.svg)", "csv": "CSV (*.csv)"}
        base = (self.snapshot.ref if self.snapshot else "monitoring").replace(":", "-v")
        path, _ = QFileDialog.getSaveFileName(
            self, "Export", f"{base}-{chart.chart}.{fmt}", filters[fmt]
        )
        if path:
            self.export_chart(chart.chart, path)

    def export_chart(self, chart: str, path: str) -> int:
        """Save a chart (``.png``/``.svg``) or its data (``.csv``) to ``path``; returns the job id."""
        c = self.charts[chart]
        suffix = Path(path).suffix.lower().lstrip(".")
        if suffix == "csv":
            header, rows = c.table()
            job = self.jobs.submit(
                JobKind.REPORT, f"Export {chart} data", write_table, path, header, rows
            )
        elif suffix in ("png", "svg"):
            data = c.image_bytes(suffix)
            job = self.jobs.submit(JobKind.REPORT, f"Export {chart} chart", write_bytes, path, data)
        else:
            raise InvalidInput(
                f"export as .png, .svg or .csv, not {Path(path).suffix or 'nothing'}"
            )
        self._exports[job] = path
        return job

    def _on_job_finished(self, job_id: int, _result: Any) -> None:
        path = self._exports.pop(job_id, None)
        if path is not None:
            self.sig_export_saved.emit(path)

    def _on_job_failed(self, job_id: int, _message: str) -> None:
        self._exports.pop(job_id, None)

    # ------------------------------------------------------------ lifecycle
    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the live timer and the page's reader thread."""
        self.timer.stop()
        self.reader.shutdown(timeout)
