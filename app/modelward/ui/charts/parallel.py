"""Parallel coordinates: each version (or search candidate) is a line across its parameters
and, on the last axis, its score, coloured from the lowest score to the highest.

:func:`parallel_axes` turns the items into axes and normalised positions (no Qt,
tested alone); :class:`ParallelCoordinates` draws them with pyqtgraph and
exports PNG, SVG and CSV with pyqtgraph's exporters.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from modelward.ui.charts.base import make_plot, plot_image_bytes, theme_colors

MAX_AXES = 12
"""At most this many parameter axes (those that vary most widely come first)."""


@dataclass(frozen=True)
class Item:
    """One line: a label, its parameters and its score (None: not measured)."""

    label: str
    params: dict[str, Any]
    score: float | None
    candidate: bool = False  # a search candidate, not a registered version


@dataclass
class Axis:
    """One vertical axis: its name, how values map to 0..1, and tick labels."""

    name: str
    kind: str  # "number", "log" or "category"
    lo: float = 0.0
    hi: float = 1.0
    categories: list[str] = field(default_factory=list)

    def position(self, value: Any) -> float:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return float("nan")
        if self.kind != "category" and not _is_number(value):
            return float("nan")
        if self.kind == "category":
            text = _text(value)
            if text not in self.categories:
                return float("nan")
            n = len(self.categories)
            return 0.5 if n < 2 else self.categories.index(text) / (n - 1)
        x = float(value)
        if self.kind == "log":
            x, lo, hi = math.log10(x), math.log10(self.lo), math.log10(self.hi)
        else:
            lo, hi = self.lo, self.hi
        return 0.5 if hi == lo else (x - lo) / (hi - lo)

    def ends(self) -> tuple[str, str]:
        """What the bottom and the top of the axis stand for."""
        if self.kind == "category":
            return (self.categories[0], self.categories[-1]) if self.categories else ("", "")
        return (f"{self.lo:.4g}", f"{self.hi:.4g}")


def _text(value: Any) -> str:
    return "None" if value is None else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parallel_axes(items: list[Item], score_name: str) -> tuple[list[Axis], np.ndarray]:
    """The axes (parameters that differ between items, then the score) and each item's
    position on each (rows: items, columns: axes, values in 0..1 or NaN)."""
    keys = sorted({k for it in items for k in it.params})
    axes: list[tuple[float, Axis]] = []
    for k in keys:
        values = [it.params.get(k) for it in items]
        present = [v for v in values if v is not None]
        if len({_text(v) for v in present}) < 2:
            # The same wherever it is set (or set on one estimator only): no axis.
            continue
        if present and all(_is_number(v) for v in present):
            lo, hi = float(min(present)), float(max(present))
            log = lo > 0 and hi / lo >= 100
            spread = math.log10(hi / lo) if log else (hi - lo) / (abs(hi) + abs(lo) or 1)
            axes.append((spread + 1, Axis(k, "log" if log else "number", lo, hi)))
        else:
            cats = sorted({_text(v) for v in present})
            if len(cats) > 30:
                continue  # free text (paths, ids) is no axis
            axes.append((len(cats) / 30, Axis(k, "category", categories=cats)))
    axes.sort(key=lambda a: -a[0])
    chosen = sorted((a for _s, a in axes[:MAX_AXES]), key=lambda a: a.name)
    scores = [it.score for it in items if it.score is not None]
    chosen.append(Axis(score_name, "number", min(scores, default=0.0), max(scores, default=1.0)))
    pos = np.full((len(items), len(chosen)), np.nan)
    for i, it in enumerate(items):
        for j, ax in enumerate(chosen[:-1]):
            pos[i, j] = ax.position(it.params.get(ax.name))
        pos[i, -1] = chosen[-1].position(it.score)
    return chosen, pos


class ParallelCoordinates(QWidget):
    """The chart: one line per item, coloured by score; exports PNG, SVG and CSV."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.plot = make_plot("Parameters against the score")
        self.plot.setMinimumHeight(260)
        item = self.plot.getPlotItem()
        item.showGrid(x=False, y=False)
        item.hideAxis("left")
        item.setMouseEnabled(x=False, y=False)
        lay.addWidget(self.plot, 1)
        self.items: list[Item] = []
        self.axes: list[Axis] = []
        self.positions = np.empty((0, 0))
        self.score_name = "score"

    def set_items(self, items: list[Item], score_name: str) -> None:
        self.items, self.score_name = list(items), score_name
        self.axes, self.positions = parallel_axes(self.items, score_name)
        self._draw()

    def _draw(self) -> None:
        c = theme_colors()
        item = self.plot.getPlotItem()
        item.clear()
        n = len(self.axes)
        axis_pen = pg.mkPen(c["muted"], width=1)
        for j, ax in enumerate(self.axes):
            item.addItem(pg.PlotCurveItem([j, j], [0, 1], pen=axis_pen))
            lo, hi = ax.ends()
            for y, text, anchor in ((1.0, hi, (0.5, 1.1)), (0.0, lo, (0.5, -0.1))):
                t = pg.TextItem(text[:18], color=c["muted"], anchor=anchor)
                t.setPos(j, y)
                item.addItem(t)
        bottom = item.getAxis("bottom")
        bottom.setTicks([[(j, ax.name) for j, ax in enumerate(self.axes)]])
        cmap = pg.colormap.get("viridis")
        # the best lines drawn last, over the others; candidates thin, versions bold
        order = sorted(
            range(len(self.items)),
            key=lambda i: (not self.items[i].candidate, self.positions[i, -1]),
        )
        xs = np.arange(n, dtype=float)
        for i in order:
            it, ys = self.items[i], self.positions[i]
            s = ys[-1]
            colour = c["muted"] if math.isnan(s) else cmap.map(float(s), mode="qcolor")
            pen = pg.mkPen(colour, width=1.0 if it.candidate else 2.6)
            if it.candidate:
                pen.setStyle(Qt.PenStyle.SolidLine)
            # An axis the item has no value on (another estimator's parameter) is
            # stepped over, so every line still reaches the score.
            ok = ~np.isnan(ys)
            curve = pg.PlotCurveItem(xs[ok], ys[ok], pen=pen)
            curve.setToolTip(f"{it.label}: {self.score_name} {_fmt(it.score)}")
            item.addItem(curve)
        item.setXRange(-0.3, max(n - 1, 1) + 0.3, padding=0)
        item.setYRange(-0.12, 1.12, padding=0)

    # ------------------------------------------------------------ export
    def export(self, path: str | Path) -> Path:
        """Write the chart (``.png``, ``.svg``) or its values (``.csv``) to ``path``."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            with path.open("w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(["label", "kind", *[a.name for a in self.axes[:-1]], self.score_name])
                for it in self.items:
                    w.writerow(
                        [
                            it.label,
                            "candidate" if it.candidate else "version",
                            *[_text(it.params.get(a.name)) for a in self.axes[:-1]],
                            "" if it.score is None else it.score,
                        ]
                    )
            return path
        fmt = "svg" if suffix == ".svg" else "png"
        path.write_bytes(plot_image_bytes(self.plot, fmt, "Parameters against the score"))
        return path


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.4g}"
