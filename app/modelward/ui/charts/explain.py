"""Explanation charts: permutation importance with its spread, partial dependence with ICE.

They draw the plain lists of a validation's ``curves["explanations"]``
(see :mod:`modelward.core.compute.explain`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from modelward.ui.charts.base import SERIES, make_plot, theme_colors


def _holder(widget: QWidget, plot: pg.PlotWidget) -> None:
    lay = QVBoxLayout(widget)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(plot)


class QtImportanceChart(QWidget):
    """Horizontal bars: each feature's mean importance, whiskers one standard deviation wide."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = make_plot("Permutation importance", "drop in score when shuffled", "")
        _holder(self, self.plot)
        self.bars: pg.BarGraphItem | None = None
        self.whiskers: pg.ErrorBarItem | None = None
        self.features: list[str] = []

    def show_importance(self, importance: list[dict[str, Any]], top: int = 15) -> None:
        item = self.plot.getPlotItem()
        item.clear()
        shown = list(importance[:top])[::-1]  # the largest at the top
        self.features = [str(i["feature"]) for i in shown]
        if not shown:
            self.bars = self.whiskers = None
            return
        y = np.arange(len(shown), dtype=float)
        mean = np.array([float(i["mean"] or 0.0) for i in shown])
        std = np.array([float(i["std"] or 0.0) for i in shown])
        self.bars = pg.BarGraphItem(
            x0=np.minimum(mean, 0.0),
            y=y,
            height=0.6,
            width=np.abs(mean),
            brush=pg.mkBrush(SERIES[0]),
            pen=pg.mkPen(None),
        )
        item.addItem(self.bars)
        self.whiskers = pg.ErrorBarItem(
            x=mean, y=y, left=std, right=std, beam=0.25, pen=pg.mkPen(theme_colors()["text"])
        )
        item.addItem(self.whiskers)
        item.getAxis("left").setTicks([[(float(i), f) for i, f in enumerate(self.features)]])
        item.setYRange(-0.7, len(shown) - 0.3, padding=0)


class QtDependenceChart(QWidget):
    """Partial dependence (thick) over a sample of ICE curves (thin) for one feature."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = make_plot("Partial dependence", "", "")
        _holder(self, self.plot)
        self.average: pg.PlotDataItem | None = None
        self.ice_count = 0

    def show_curve(self, entry: dict[str, Any] | None) -> None:
        item = self.plot.getPlotItem()
        item.clear()
        self.average, self.ice_count = None, 0
        if not entry:
            return
        c = theme_colors()
        grid = list(entry.get("grid") or [])
        categorical = entry.get("kind") == "categorical"
        x = np.arange(len(grid), dtype=float) if categorical else np.asarray(grid, dtype=float)
        faint = QColor(c["muted"])
        faint.setAlpha(60)
        for line in entry.get("ice") or []:
            y = np.asarray([np.nan if v is None else v for v in line], dtype=float)
            item.plot(x, y, pen=pg.mkPen(faint, width=1))
            self.ice_count += 1
        avg = np.asarray([np.nan if v is None else v for v in entry["average"]], dtype=float)
        self.average = item.plot(
            x,
            avg,
            pen=pg.mkPen(SERIES[1], width=3),
            symbol="o" if categorical else None,
            symbolSize=8,
            symbolBrush=pg.mkBrush(SERIES[1]),
        )
        bottom = item.getAxis("bottom")
        bottom.setTicks([[(float(i), str(g)) for i, g in enumerate(grid)]] if categorical else None)
        item.setLabel("bottom", str(entry.get("feature", "")), color=c["muted"])
        item.setLabel("left", str(entry.get("target", "")), color=c["muted"])
        item.setTitle(f"Partial dependence of {entry.get('feature')}", color=c["text"], size="10pt")
