"""Validation charts: ROC, precision-recall, calibration, confusion matrix, residuals.

They draw the plain lists of :attr:`ValidationResult.curves`; several results
(champion and challenger) can be drawn over each other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QGridLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from modelward.ui.charts.base import (
    SERIES,
    add_legend,
    diagonal,
    make_plot,
    pen,
    theme_colors,
    unit_range,
)
from modelward.ui.widgets import label

Series = tuple[str, dict[str, Any]]  # (legend label, curves)


def _mix(a: str, b: str, t: float) -> QColor:
    ca, cb = QColor(a), QColor(b)
    return QColor(
        round(ca.red() + (cb.red() - ca.red()) * t),
        round(ca.green() + (cb.green() - ca.green()) * t),
        round(ca.blue() + (cb.blue() - ca.blue()) * t),
    )


class QtConfusionTable(QTableWidget):
    """A confusion matrix as a heat map: each cell shaded by its share of the true class."""

    def set_matrix(self, classes: list[Any], matrix: list[list[int]]) -> None:
        c = theme_colors()
        n = len(classes)
        self.clear()
        self.setRowCount(n)
        self.setColumnCount(n)
        self.setHorizontalHeaderLabels([f"predicted {k}" for k in classes])
        self.setVerticalHeaderLabels([f"true {k}" for k in classes])
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        m = np.asarray(matrix, dtype=float).reshape(n, n) if n else np.zeros((0, 0))
        for i in range(n):
            total = m[i].sum() or 1.0
            for j in range(n):
                share = m[i, j] / total
                it = QTableWidgetItem(f"{int(m[i, j]):,}\n{share:.0%}")
                it.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                it.setBackground(_mix(c["base"], c["accent"], 0.85 * share))
                it.setForeground(QColor("#ffffff" if share > 0.55 else c["text"]))
                self.setItem(i, j, it)


class QtValidationCharts(QWidget):
    """A grid of charts for one or more validations of the same task."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(8)
        self.plots: dict[str, pg.PlotWidget] = {}
        self.confusion: QtConfusionTable | None = None

    def clear(self) -> None:
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.plots = {}
        self.confusion = None

    def show_series(self, task: str, series: list[Series]) -> None:
        """Draw ``series`` (label, curves); the confusion matrix shows the last one."""
        self.clear()
        if not series:
            return
        if task == "regression":
            self._residuals(series)
            return
        places = [(0, 0), (0, 1), (1, 0), (1, 1)]
        curves = [s[1] for s in series]
        if all("roc" in cv for cv in curves):
            self._add("roc", self._roc(series), places.pop(0))
            self._add("pr", self._pr(series), places.pop(0))
        if all("calibration" in cv for cv in curves):
            self._add("calibration", self._calibration(series), places.pop(0))
        last_label, last = series[-1]
        if "confusion_matrix" in last:
            box = QWidget()
            lay = QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(label(f"Confusion matrix · {last_label}", "SectionTitle"))
            self.confusion = QtConfusionTable()
            self.confusion.set_matrix(list(last.get("classes") or []), last["confusion_matrix"])
            lay.addWidget(self.confusion, 1)
            r, c = places.pop(0)
            # alone (multi-class), it takes the whole grid
            self.grid.addWidget(box, r, c, 1 if self.plots else 2, 1 if self.plots else 2)

    def _add(self, key: str, plot: pg.PlotWidget, place: tuple[int, int]) -> None:
        self.plots[key] = plot
        self.grid.addWidget(plot, *place)

    def _roc(self, series: list[Series]) -> pg.PlotWidget:
        p = make_plot("ROC curve", "false positive rate", "true positive rate")
        add_legend(p, "bottom-right")
        diagonal(p)
        for i, (name, cv) in enumerate(series):
            p.plot(cv["roc"]["fpr"], cv["roc"]["tpr"], pen=pen(i), name=name)
        unit_range(p)
        return p

    def _pr(self, series: list[Series]) -> pg.PlotWidget:
        p = make_plot("Precision-recall", "recall", "precision")
        add_legend(p, "bottom-left")
        for i, (name, cv) in enumerate(series):
            p.plot(cv["pr"]["recall"], cv["pr"]["precision"], pen=pen(i), name=name)
        unit_range(p)
        return p

    def _calibration(self, series: list[Series]) -> pg.PlotWidget:
        p = make_plot("Calibration", "mean predicted probability", "fraction positive")
        add_legend(p, "top-left")
        diagonal(p)
        for i, (name, cv) in enumerate(series):
            cal = cv["calibration"]
            p.plot(
                cal["mean_predicted"],
                cal["fraction_positive"],
                pen=pen(i),
                symbol="o",
                symbolSize=6,
                symbolBrush=SERIES[i % len(SERIES)],
                symbolPen=None,
                name=name,
            )
        unit_range(p)
        return p

    def _residuals(self, series: list[Series]) -> None:
        c = theme_colors()
        hist = make_plot("Residuals", "true − predicted", "rows")
        scatter = make_plot("Residual against prediction", "predicted", "true − predicted")
        add_legend(hist)
        for i, (name, cv) in enumerate(series):
            h = cv.get("residual_histogram") or {}
            edges = np.asarray(h.get("edges") or [], dtype=float)
            counts = np.asarray(h.get("counts") or [], dtype=float)
            if len(edges) == len(counts) + 1 and len(counts):
                hist.plot(
                    edges,
                    counts,
                    stepMode="center",
                    fillLevel=0,
                    brush=QColor(SERIES[i % len(SERIES)] + "60"),
                    pen=pen(i, 1.5),
                    name=name,
                )
            pts = cv.get("residuals") or {}
            scatter.addItem(
                pg.ScatterPlotItem(
                    pts.get("predicted") or [],
                    pts.get("residual") or [],
                    size=4,
                    pen=None,
                    brush=pg.mkBrush(QColor(SERIES[i % len(SERIES)] + "90")),
                )
            )
        scatter.addItem(pg.InfiniteLine(angle=0, pos=0, pen=pg.mkPen(c["muted"], width=1)))
        self._add("residual_histogram", hist, (0, 0))
        self._add("residuals", scatter, (0, 1))


class QtCreditCharts(QWidget):
    """Cumulative gains and lift of a binary validation (rows sorted by score, highest first)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(8)
        self.plots: dict[str, pg.PlotWidget] = {}

    def clear(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.deleteLater()
        self.plots = {}

    def show_curves(self, name: str, curves: dict[str, Any]) -> None:
        """Draw ``curves["gains"]`` and ``curves["lift"]`` (nothing when they are absent)."""
        self.clear()
        c = theme_colors()
        gains, lift = curves.get("gains"), curves.get("lift")
        if gains:
            p = make_plot(
                "Cumulative gains", "share of rows, highest scores first", "share of events"
            )
            add_legend(p, "bottom-right")
            diagonal(p)
            p.plot(gains["fraction"], gains["captured"], pen=pen(0), name=name)
            unit_range(p)
            self.plots["gains"] = p
            self.grid.addWidget(p, 0, 0)
        if lift:
            p = make_plot("Lift", "share of rows, highest scores first", "lift (× the base rate)")
            add_legend(p, "top-right")
            p.addItem(pg.InfiniteLine(angle=0, pos=1.0, pen=pg.mkPen(c["muted"], width=1)))
            p.plot(lift["fraction"], lift["lift"], pen=pen(0), name=name)
            p.setXRange(0, 1.02, padding=0)
            p.setYRange(0, max([*lift["lift"], 1.0]) * 1.08, padding=0)
            self.plots["lift"] = p
            self.grid.addWidget(p, 0, 1)
