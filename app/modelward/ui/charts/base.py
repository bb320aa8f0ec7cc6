"""Plots that follow the window's theme: background, axes, labels and a few series colours."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from modelward.ui.theme import DARK, LIGHT

# Series colours readable on both the light and the dark background.
SERIES = ("#2f6fde", "#e8833a", "#1f9d6b", "#b04fc4", "#c8372d")


def theme_colors() -> dict[str, str]:
    """The colours of the theme in effect, judged from the application's palette."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        window = app.palette().color(QPalette.ColorRole.Window)
        if window.lightness() < 128:
            return DARK
    return LIGHT


def make_plot(title: str, x_label: str = "", y_label: str = "") -> pg.PlotWidget:
    """A plot with the theme's background, readable axes, a light grid and a legend."""
    c = theme_colors()
    w = pg.PlotWidget(background=c["base"])
    w.setMinimumSize(220, 180)
    item = w.getPlotItem()
    item.setTitle(title, color=c["text"], size="10pt")
    for side in ("left", "bottom"):
        ax = item.getAxis(side)
        ax.setPen(pg.mkPen(c["border"]))
        ax.setTextPen(pg.mkPen(c["muted"]))
        ax.enableAutoSIPrefix(False)  # "roc_auc (x0.001)" reads worse than plain numbers
    if x_label:
        item.setLabel("bottom", x_label, color=c["muted"])
    if y_label:
        item.setLabel("left", y_label, color=c["muted"])
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setMenuEnabled(False)
    w.setAntialiasing(True)
    return w


def add_legend(plot: pg.PlotWidget, corner: str = "top-right") -> Any:
    """A legend in ``corner`` (top-right, bottom-right, bottom-left, top-left)."""
    c = theme_colors()
    offset = {
        "top-right": (-8, 8),
        "bottom-right": (-8, -8),
        "bottom-left": (8, -8),
        "top-left": (8, 8),
    }[corner]
    legend = plot.getPlotItem().addLegend(offset=offset, labelTextColor=c["text"])
    legend.setBrush(pg.mkBrush(QColor(c["base"])))
    legend.setPen(pg.mkPen(c["border"]))
    return legend


def pen(i: int, width: float = 2.0, dashed: bool = False) -> Any:
    from PySide6.QtCore import Qt

    style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
    return pg.mkPen(SERIES[i % len(SERIES)], width=width, style=style)


def diagonal(plot: pg.PlotWidget, *, x0: float = 0.0, x1: float = 1.0, y0: float = 0.0) -> None:
    """A dashed reference line (chance, perfect calibration)."""
    from PySide6.QtCore import Qt

    c = theme_colors()
    plot.plot(
        [x0, x1],
        [y0, y0 + (x1 - x0)],
        pen=pg.mkPen(c["muted"], width=1, style=Qt.PenStyle.DashLine),
    )


def unit_range(plot: pg.PlotWidget) -> None:
    # a little room on both sides, so the ticks at 0 and 1 are drawn
    plot.setXRange(-0.03, 1.03, padding=0)
    plot.setYRange(-0.03, 1.03, padding=0)


def plot_image_bytes(plot: pg.PlotWidget, fmt: str, title: str = "") -> bytes:
    """A plot as PNG (2x, crisp in documents) or SVG bytes; GUI thread (it renders the scene).

    The same method as the monitoring charts: pyqtgraph 0.14.0's SVG exporter
    cannot parse the paths newer Qt writes (pyqtgraph issue #3485), so Qt's
    own SVG generator draws the scene when it fails.
    """
    from pyqtgraph import exporters
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF

    item = plot.getPlotItem()
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if fmt == "svg":
        try:
            return bytes(exporters.SVGExporter(item).export(toBytes=True))
        except ValueError:
            from PySide6.QtGui import QPainter
            from PySide6.QtSvg import QSvgGenerator

            exp = exporters.ImageExporter(item)
            source = exp.getSourceRect()
            target = QRectF(0, 0, source.width(), source.height())
            gen = QSvgGenerator()
            gen.setOutputDevice(buf)
            gen.setSize(target.size().toSize())
            gen.setViewBox(target)
            gen.setTitle(title)
            gen.setResolution(plot.logicalDpiX())
            painter = QPainter(gen)
            bg = QColor(theme_colors()["base"])
            try:
                painter.fillRect(target, bg)
                exp.setExportMode(
                    True,
                    {
                        "antialias": True,
                        "background": bg,
                        "painter": painter,
                        "resolutionScale": 1.0,
                    },
                )
                painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
                exp.getScene().render(painter, target, QRectF(source))
            finally:
                exp.setExportMode(False)
                painter.end()
            return bytes(QByteArray(buf.data()).data())
    exp = exporters.ImageExporter(item)
    exp.parameters()["width"] = max(int(item.sceneBoundingRect().width()), 1) * 2
    img = exp.export(toBytes=True)
    img.save(buf, "PNG")
    return bytes(QByteArray(buf.data()).data())
