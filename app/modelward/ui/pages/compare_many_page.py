"""Compare many versions side by side: metrics (with the data each was measured on),
parameters against the score (every search candidate too), and curves on one data set.

Opened from the registry (select versions, Model → Compare selected) and from a
model page (select versions, Compare…). Re-scoring on one chosen labelled file
runs as a job: one validation worker per version, one after the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from modelward.core.jobs import JobKind
from modelward.core.monitoring.performance import higher_is_better
from modelward.ui import tasks
from modelward.ui.bridge import JobBridge
from modelward.ui.charts.base import plot_image_bytes, theme_colors
from modelward.ui.charts.parallel import Item, ParallelCoordinates
from modelward.ui.charts.validation import QtValidationCharts
from modelward.ui.measured import MIXED_MARK, mixed_note, version_measured_on
from modelward.ui.pages.validation_page import JobPage
from modelward.ui.widgets import label, setup_table

PREFERRED = ("roc_auc", "balanced_accuracy", "accuracy", "f1", "r2", "rmse", "mae")
"""The score the parameter chart opens on: the first of these the versions have."""


def metric_names(versions: Any) -> list[str]:
    """Every metric of ``versions``, the usual scores first."""
    names = sorted({k for v in versions for k in v.metrics})
    return sorted(names, key=lambda k: (PREFERRED.index(k) if k in PREFERRED else 99, k))


def _fmt(x: Any) -> str:
    return "—" if x is None else f"{x:.4g}" if isinstance(x, float) else str(x)


class CompareManyPage(JobPage):
    """Several versions side by side (see the module docstring)."""

    def __init__(
        self,
        registry: Any,
        jobs: JobBridge,
        data: tasks.CompareSet,
        parent: QWidget | None = None,
    ):
        super().__init__(registry, jobs, parent)
        self.data = data
        self.versions = list(data.versions)
        refs = [v.ref for v in self.versions]
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 16, 20, 12)
        lay.setSpacing(8)
        lay.addWidget(label(f"Compare {len(refs)} versions", "PageTitle"))
        sub = ", ".join(refs[:6]) + (f" and {len(refs) - 6} more" if len(refs) > 6 else "")
        lay.addWidget(label(sub, "Muted", wrap=True))
        self.sources = [version_measured_on(v) for v in self.versions]
        self.mixed_label = label(mixed_note(self.sources), "Error", wrap=True)
        self.mixed_label.setVisible(bool(self.mixed_label.text()))
        lay.addWidget(self.mixed_label)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._metrics_tab(), "Metrics")
        self.tabs.addTab(self._params_tab(), "Parameters vs score")
        self.tabs.addTab(self._curves_tab(), "Curves on one data set")
        lay.addWidget(self.tabs, 1)

    # ------------------------------------------------------------ metrics
    def _metrics_tab(self) -> QWidget:
        names = metric_names(self.versions)
        mixed = len(set(self.sources)) > 1
        self.metrics_table = QTableWidget(len(self.versions), 3 + len(names))
        heads = ["Version", "Aliases", "Measured on"] + [
            f"{n} {MIXED_MARK}" if mixed else n for n in names
        ]
        self.metrics_table.setHorizontalHeaderLabels(heads)
        setup_table(self.metrics_table)
        self.metrics_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for col in range(3, 3 + len(names)):
            head = self.metrics_table.horizontalHeaderItem(col)
            if mixed and head is not None:
                head.setToolTip(self.mixed_label.text())
        best = {
            n: (max if higher_is_better(n) else min)(
                (v.metrics[n] for v in self.versions if n in v.metrics), default=None
            )
            for n in names
        }
        c = theme_colors()
        for r, (v, src) in enumerate(zip(self.versions, self.sources, strict=True)):
            cells = [v.ref, ", ".join(v.aliases), src] + [_fmt(v.metrics.get(n)) for n in names]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col >= 3:
                    n = names[col - 3]
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                    item.setToolTip(f"{n} of {v.ref}, measured on {src}")
                    if v.metrics.get(n) is not None and v.metrics.get(n) == best[n]:
                        f = item.font()
                        f.setBold(True)
                        item.setFont(f)
                        item.setForeground(QColor(c["success"]))
                self.metrics_table.setItem(r, col, item)
        self.metrics_table.resizeColumnsToContents()
        # Numbers stay next to their header; the table does not stretch the last one away.
        self.metrics_table.horizontalHeader().setStretchLastSection(False)
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addWidget(self.metrics_table, 1)
        row = QHBoxLayout()
        row.addWidget(label("The best value of each metric is in bold.", "Muted"), 1)
        csv_button = QPushButton("Export CSV…")
        csv_button.setToolTip("Save this table as CSV")
        csv_button.clicked.connect(lambda: self._ask_export("metrics", "CSV (*.csv)"))
        row.addWidget(csv_button)
        lay.addLayout(row)
        return box

    def metrics_csv(self, path: str | Path) -> Path:
        """Write the metrics table (with the data each was measured on) as CSV."""
        import csv

        path = Path(path)
        t = self.metrics_table
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow([t.horizontalHeaderItem(c).text() for c in range(t.columnCount())])
            for r in range(t.rowCount()):
                w.writerow([t.item(r, c).text() for c in range(t.columnCount())])
        return path

    # ------------------------------------------------------------ parameters
    def _params_tab(self) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(8, 8, 8, 8)
        row = QHBoxLayout()
        row.addWidget(label("Score", "SectionTitle"))
        self.score_combo = QComboBox()
        self.score_combo.setToolTip("The score on the last axis, and the lines' colour")
        for n in metric_names(self.versions):
            self.score_combo.addItem(n)
        row.addWidget(self.score_combo)
        n_cand = sum(len(c) for c in self.data.candidates.values())
        self.candidates_check = QCheckBox(f"Every search candidate ({n_cand})")
        self.candidates_check.setToolTip(
            "Also draw every parameter set the training runs tried, with its mean "
            "cross-validated score (thin lines)"
        )
        self.candidates_check.setChecked(n_cand > 0)
        self.candidates_check.setEnabled(n_cand > 0)
        row.addWidget(self.candidates_check)
        row.addStretch(1)
        for fmt in ("PNG", "SVG", "CSV"):
            b = QPushButton(fmt)
            b.setToolTip(f"Save the chart as {fmt}")
            b.clicked.connect(
                lambda _=False, f=fmt: self._ask_export("params", f"{f} (*.{f.lower()})")
            )
            row.addWidget(b)
        lay.addLayout(row)
        self.parallel = ParallelCoordinates()
        lay.addWidget(self.parallel, 1)
        self.params_note = label("", "Muted", wrap=True)
        lay.addWidget(self.params_note)
        self.score_combo.currentIndexChanged.connect(self.draw_parameters)
        self.candidates_check.toggled.connect(self.draw_parameters)
        self.draw_parameters()
        return box

    def parameter_items(self) -> list[Item]:
        score = self.score_combo.currentText()
        items = [Item(v.ref, dict(v.params), v.metrics.get(score)) for v in self.versions]
        if self.candidates_check.isChecked():
            for ref, cands in self.data.candidates.items():
                for i, cand in enumerate(cands):
                    params = cand.get("params") or {}
                    value = cand.get(score)
                    items.append(
                        Item(
                            f"{ref} candidate {i + 1}",
                            dict(params),
                            float(value) if isinstance(value, (int, float)) else None,
                            candidate=True,
                        )
                    )
        return items

    def draw_parameters(self) -> None:
        items = self.parameter_items()
        self.parallel.set_items(items, self.score_combo.currentText() or "score")
        n_axes = len(self.parallel.axes) - 1
        cands = sum(it.candidate for it in items)
        self.params_note.setText(
            f"{len(items) - cands} versions"
            + (f" and {cands} search candidates (mean CV score)" if cands else "")
            + f" across {n_axes} parameter{'s' if n_axes != 1 else ''} that differ; "
            "colour from the lowest score (purple) to the highest (yellow)."
        )

    # ------------------------------------------------------------ curves
    def _curves_tab(self) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(8, 8, 8, 8)
        row = QHBoxLayout()
        self.data_edit, self.browse_button = self.data_row("")
        self.rescore_button = QPushButton("Score all on this data")
        self.rescore_button.setProperty("primary", True)
        self.rescore_button.setToolTip(
            "Validate every compared version on the same labelled rows (a background job)"
        )
        row.addWidget(label("Data", "SectionTitle"))
        row.addWidget(self.data_edit, 1)
        row.addWidget(self.browse_button)
        row.addWidget(self.extra_check)
        row.addWidget(self.rescore_button)
        lay.addLayout(row)
        lay.addWidget(self.error_label)
        head = QHBoxLayout()
        self.curves_note = label(
            "Choose one labelled file: every version is scored on the same rows, so their "
            "curves and metrics can be compared.",
            "Muted",
            wrap=True,
        )
        head.addWidget(self.curves_note, 1)
        head.addWidget(self.status_label)
        head.addWidget(self.progress)
        self.png_button = QPushButton("PNG…")
        self.png_button.setToolTip("Save the curves as PNG images (one per chart)")
        self.png_button.setEnabled(False)
        self.png_button.clicked.connect(lambda: self._ask_export("curves", "PNG (*.png)"))
        head.addWidget(self.png_button)
        lay.addLayout(head)
        split = QSplitter(Qt.Orientation.Vertical)
        self.rescored_table = QTableWidget(0, 0)
        setup_table(self.rescored_table)
        self.rescored_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        split.addWidget(self.rescored_table)
        self.charts = QtValidationCharts()
        split.addWidget(self.charts)
        split.setSizes([140, 460])
        self.curves_split = split
        lay.addWidget(split, 1)
        self.rescore_button.clicked.connect(self.start)
        return box

    def start(self) -> None:
        data = self.data_edit.text().strip()
        if not data:
            self.show_error("choose a labelled CSV or Parquet file to score every version on")
            return
        if self.job_id is not None:
            return
        request = {**self.worker_fields(), "kind": "validate", "data": data, "target": None}
        refs = [v.ref for v in self.versions]
        self.show_error("")
        self.progress.setValue(0)
        self.progress.show()
        self.status_label.setText("Starting the workers…")
        self.job_id = self.jobs.submit(
            JobKind.VALIDATE,
            f"Score {len(refs)} versions on {Path(data).name}",
            tasks.rescore_versions,
            request,
            refs,
        )

    def show_result(self, result: Any) -> None:
        """Draw the re-scored versions: one metrics table and overlaid curves, all on one file."""
        self.result = result
        self.status_label.setText("")
        results: dict[str, Any] = result.get("results") or {}
        name = Path(str(result.get("data"))).name
        names = sorted(
            {k for r in results.values() for k in (r.get("metrics") or {})},
            key=lambda k: (PREFERRED.index(k) if k in PREFERRED else 99, k),
        )
        t = self.rescored_table
        t.setRowCount(len(results))
        t.setColumnCount(2 + len(names))
        t.setHorizontalHeaderLabels(["Version", "Measured on"] + names)
        for r, (ref, res) in enumerate(results.items()):
            rows = res.get("rows")
            where = f"{name} ({rows:,} rows)" if isinstance(rows, int) else name
            cells = [ref, where] + [_fmt((res.get("metrics") or {}).get(n)) for n in names]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col >= 2:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                    item.setToolTip(f"{names[col - 2]} of {ref}, measured on {name}")
                t.setItem(r, col, item)
        t.resizeColumnsToContents()
        t.horizontalHeader().setStretchLastSection(False)
        # Every re-scored row in view (a table of a few versions), the charts take the rest.
        need = (
            t.horizontalHeader().height()
            + sum(t.rowHeight(r) for r in range(t.rowCount()))
            + t.horizontalScrollBar().sizeHint().height()
            + 2 * t.frameWidth()
            + 2
        )
        total = sum(self.curves_split.sizes())
        self.curves_split.setSizes([need, max(total - need, 200)])
        series = [(ref, res.get("curves") or {}) for ref, res in results.items()]
        self.charts.show_series(str(result.get("task") or "classification"), series)
        self.curves_note.setText(
            f"All {len(results)} versions scored on the same rows of {name}: "
            "these numbers compare like with like."
        )
        self.png_button.setEnabled(bool(self.charts.plots))
        self.sig_result_shown.emit(result)

    # ------------------------------------------------------------ export
    def _ask_export(self, what: str, filt: str) -> None:
        ext = filt.split("*")[1].rstrip(")")
        path, _ = QFileDialog.getSaveFileName(self, "Export", f"compare-{what}{ext}", filt)
        if path:
            self.export(what, path)

    def export(self, what: str, path: str | Path) -> list[Path]:
        """Save ``metrics`` (CSV), ``params`` (PNG, SVG or CSV by suffix) or ``curves``
        (one PNG per chart, ``NAME-roc.png`` …); returns the files written."""
        path = Path(path)
        if what == "metrics":
            return [self.metrics_csv(path)]
        if what == "params":
            return [self.parallel.export(path)]
        out = []
        for key, plot in self.charts.plots.items():
            p = path.with_name(f"{path.stem}-{key}{path.suffix or '.png'}")
            p.write_bytes(plot_image_bytes(plot, "svg" if p.suffix == ".svg" else "png", key))
            out.append(p)
        return out
