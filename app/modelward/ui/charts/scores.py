"""A live chart of fold scores while a training job runs (redrawn on a timer)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from modelward.core.compute.worker import ScoreBuffer
from modelward.ui.charts.base import SERIES, add_legend, make_plot, theme_colors

PREFERRED = ("roc_auc", "balanced_accuracy", "r2", "accuracy")
REDRAW_MS = 100


def chart_metric(metrics: dict[str, float]) -> str:
    """The metric the chart follows: the one a search optimises, when present."""
    for k in PREFERRED:
        if k in metrics:
            return k
    return next(iter(sorted(metrics)), "")


class QtScoreChart(QWidget):
    """Fold scores (x: fit number, y: the primary metric), search and evaluation apart."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.plot = make_plot("Fold scores", "fit", "score")
        add_legend(self.plot)
        lay.addWidget(self.plot)
        c = theme_colors()
        self._search = pg.ScatterPlotItem(
            size=7, brush=pg.mkBrush(SERIES[1]), pen=pg.mkPen(c["base"]), name="search folds"
        )
        self._evaluate = pg.ScatterPlotItem(
            size=10, brush=pg.mkBrush(SERIES[0]), pen=pg.mkPen(c["base"]), name="evaluation folds"
        )
        self._mean = pg.InfiniteLine(
            angle=0, pen=pg.mkPen(SERIES[0], width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
        )
        self._mean.hide()
        for it in (self._search, self._evaluate, self._mean):
            self.plot.addItem(it)
        self.metric = ""
        self.scores: list[dict[str, Any]] = []
        self._buffer: ScoreBuffer | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._update_chart)

    @property
    def point_count(self) -> int:
        return len(self.scores)

    def watch(self, buffer: ScoreBuffer) -> None:
        """Start drawing what ``buffer`` receives (clears the chart)."""
        self._buffer = buffer
        self.scores = []
        self.metric = ""
        self._search.clear()
        self._evaluate.clear()
        self._mean.hide()
        self.plot.getPlotItem().setTitle("Fold scores", color=theme_colors()["text"], size="10pt")
        self._timer.start()

    def stop(self) -> None:
        """Draw the last scores and stop the timer."""
        self._update_chart()
        self._timer.stop()

    def _update_chart(self) -> None:
        if self._buffer is None:
            return
        new = self._buffer.since(len(self.scores))
        if not new:
            return
        self.scores.extend(new)
        if not self.metric:
            self.metric = chart_metric(self.scores[0].get("metrics") or {})
            total = int(self.scores[0].get("total") or 1)
            self.plot.setXRange(0.5, total + 0.5, padding=0.02)
            self.plot.getPlotItem().setTitle(
                f"Fold scores: {self.metric}", color=theme_colors()["text"], size="10pt"
            )
            self.plot.getPlotItem().setLabel("left", self.metric, color=theme_colors()["muted"])
        for stage, item in (("search", self._search), ("evaluate", self._evaluate)):
            pts = [
                (float(s["done"]), float(s["metrics"][self.metric]))
                for s in self.scores
                if s.get("stage") == stage and self.metric in (s.get("metrics") or {})
            ]
            pts = [p for p in pts if np.isfinite(p[1])]
            if pts:
                xs, ys = zip(*pts, strict=True)
                item.setData(list(xs), list(ys))
        ev = [
            s["metrics"][self.metric]
            for s in self.scores
            if s.get("stage") == "evaluate" and self.metric in (s.get("metrics") or {})
        ]
        if ev:
            self._mean.setValue(float(np.nanmean(ev)))
            self._mean.show()
