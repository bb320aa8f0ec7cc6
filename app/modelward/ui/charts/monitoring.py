"""Monitoring charts: performance over time, drift share, multivariate error, drift heatmap,
and the reference-vs-current histogram of one heatmap cell.

Each chart is a view over a :class:`~modelward.core.monitoring.snapshot.MonitoringSnapshot`
(plain arrays read on a worker); it never queries the registry. Its items are
made once and updated with one ``setData`` per curve when a new snapshot arrives.
"""

from __future__ import annotations

import html
import logging
import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph import exporters
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QFont, QFontMetricsF
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QToolTip, QVBoxLayout, QWidget

from modelward.core.monitoring.performance import higher_is_better
from modelward.core.monitoring.snapshot import MonitoringSnapshot, chart_table, histogram_table
from modelward.ui.charts.base import SERIES, add_legend, make_plot, theme_colors

log = logging.getLogger(__name__)
AMBER = "#e0a526"
MAX_HIST_BINS = 30
MAX_CELL_LABELS = 400  # heatmap cells that get their value printed in them
CELL_PX = 12  # pixels per heatmap cell in the image (a 1-pixel gap draws the grid)
METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "balanced_accuracy": "Balanced accuracy",
    "f1_macro": "F1 (macro)",
    "f1_weighted": "F1 (weighted)",
    "log_loss": "Log loss",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
    "mape": "MAPE",
}
METHOD_NAMES = {
    "psi": "PSI",
    "ks": "Kolmogorov–Smirnov",
    "chi2": "χ² test",
    "wasserstein": "Wasserstein (normed)",
    "jensenshannon": "Jensen–Shannon",
    "hellinger": "Hellinger",
}


def metric_label(metric: str) -> str:
    """A metric's display name (``recall[low]`` reads "Recall (low)")."""
    if metric.startswith("recall[") and metric.endswith("]"):
        return f"Recall ({metric[7:-1]})"
    return METRIC_NAMES.get(metric, metric.replace("_", " "))


def metric_title(metric: str) -> str:
    """The display name with the direction where smaller is better (losses and errors)."""
    name = metric_label(metric)
    return name if higher_is_better(metric) else f"{name} (lower is better)"


def _fmt(v: float, digits: int = 3) -> str:
    return "—" if v is None or not math.isfinite(float(v)) else f"{float(v):.{digits}g}"


def _dashed(color: str, width: float = 1.0, style: Qt.PenStyle = Qt.PenStyle.DashLine) -> Any:
    return pg.mkPen(color, width=width, style=style)


def _cell_text(v: float) -> str:
    """A heatmap cell's value in at most four characters (``.07``, ``1.2``, ``12``)."""
    if not math.isfinite(v):
        return ""
    if abs(v) >= 9.95:
        return f"{v:.0f}"
    if abs(v) >= 0.995:
        return f"{v:.1f}"
    return f"{v:.2f}".replace("0.", ".", 1)


def _alpha(color: str, a: int) -> QColor:
    q = QColor(color)
    q.setAlpha(a)
    return q


def _legend(plot: pg.PlotWidget, columns: int) -> Any:
    """A legend laid out in a row across the top of the plot (the y range leaves it room)."""
    legend = add_legend(plot)
    legend.setColumnCount(columns)
    legend.anchor(itemPos=(0, 0), parentPos=(0, 0), offset=(6, 2))
    legend.layout.setHorizontalSpacing(14)
    return legend


def _y_range(item: Any, values: list[Any], headroom: float = 0.3) -> None:
    """Fit y to the finite values, with room at the top for the legend."""
    ys = np.concatenate([np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in values])
    ys = ys[np.isfinite(ys)]
    if ys.size == 0:
        return
    lo, hi = float(ys.min()), float(ys.max())
    span = max(hi - lo, abs(hi) * 0.05, 0.01)
    item.setYRange(lo - span * 0.08, hi + span * (0.08 + headroom), padding=0)


class BatchTimeAxis(pg.DateAxisItem):
    """Dates under the batches themselves (thinned to fit) while there are few of them;
    pyqtgraph's calendar ticks when zoomed out over a long history."""

    MAX_OWN_TICKS = 60

    def __init__(self) -> None:
        super().__init__(orientation="bottom", utcOffset=0)
        self.times = np.empty(0)

    def tickValues(self, minVal: float, maxVal: float, size: float) -> Any:
        t = self.times[np.isfinite(self.times)]
        t = t[(t >= minVal) & (t <= maxVal)]
        if t.size == 0 or t.size > self.MAX_OWN_TICKS:
            return super().tickValues(minVal, maxVal, size)
        every = max(1, math.ceil(t.size * 62 / max(size, 1.0)))
        return [(0.0, [float(v) for v in t[::-1][::every][::-1]])]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if spacing != 0.0:
            return super().tickStrings(values, scale, spacing)
        from datetime import UTC, datetime

        out, year = [], None
        for v in values:
            d = datetime.fromtimestamp(v, UTC)
            out.append(d.strftime("%b %d") if d.year == year else d.strftime("%b %d %Y"))
            year = d.year
        return out


class QtMonitoringChart(QWidget):
    """A titled plot that can export itself (PNG, SVG) and its data (rows for a CSV)."""

    chart = ""

    def __init__(self, title: str, y_label: str = "", *, dates: bool = True, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.plot = make_plot(title, "", y_label)
        self.item = self.plot.getPlotItem()
        c = theme_colors()
        self.time_axis: BatchTimeAxis | None = None
        if dates:
            axis = self.time_axis = BatchTimeAxis()
            self.item.setAxisItems({"bottom": axis})
            axis.setPen(pg.mkPen(c["border"]))
            axis.setTextPen(pg.mkPen(c["muted"]))
        if dates:
            # STYLE §4: time series over long histories; set before the curves are added.
            # (Not for histograms: pyqtgraph cannot clip step-mode curves.)
            self.item.setDownsampling(auto=True, mode="peak")
            self.item.setClipToView(True)
        self.item.getViewBox().setMouseEnabled(x=True, y=False)
        for side in ("left", "bottom"):
            self.item.getAxis(side).enableAutoSIPrefix(False)
        self.plot.setMinimumHeight(170)
        self._free_title_width()
        lay.addWidget(self.plot)
        self.snapshot: MonitoringSnapshot | None = None
        # Says so on the chart when a series has nothing to draw (never for a value of 0).
        self.empty_note = QLabel(self.plot)
        self.empty_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_note.setWordWrap(True)
        self.empty_note.setStyleSheet(f"color: {c['muted']}; background: transparent;")
        self.empty_note.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.empty_note.hide()

    def _free_title_width(self) -> None:
        """A long title must not widen the plot past its panel (pyqtgraph makes the title's
        width a minimum of the layout, which pushed the heatmap's last columns out of view in
        a small window); the text is cut at the panel's edges instead."""
        title = self.item.titleLabel
        update = title.updateMin

        def update_min() -> None:
            update()
            title.setMinimumWidth(0)

        title.updateMin = update_min
        update_min()

    def set_empty_note(self, text: str) -> None:
        """Show ``text`` over the plot area ("" hides it)."""
        self.empty_note.setText(text)
        self.empty_note.setVisible(bool(text))
        self._place_note()

    def _place_note(self) -> None:
        r = self.item.getViewBox().sceneBoundingRect().toRect()
        if r.width() < 20 or r.height() < 20:
            r = self.plot.rect()
        self.empty_note.setGeometry(r.adjusted(12, 12, -12, -12))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._place_note()

    def set_snapshot(self, snap: MonitoringSnapshot) -> None:
        self.snapshot = snap
        if self.time_axis is not None:
            self.time_axis.times = snap.times
            self.time_axis.picture = None  # redraw the ticks for the new batches
        self._update_chart(snap)

    def _update_chart(self, snap: MonitoringSnapshot) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_x(self, x: np.ndarray) -> None:
        """Fix the x range to the data (clip-to-view works only without x auto-range)."""
        x = x[np.isfinite(x)]
        if x.size == 0:
            return
        lo, hi = float(x.min()), float(x.max())
        pad = max((hi - lo) * 0.04, 86400.0 * 5)
        self.item.setXRange(lo - pad, hi + pad, padding=0)

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """The chart's data as a header and rows (empty before the first snapshot)."""
        if self.snapshot is None:
            return [], []
        return chart_table(self.snapshot, self.chart)

    def image_bytes(self, fmt: str) -> bytes:
        """The chart as PNG or SVG bytes (GUI thread: it renders the scene)."""
        if fmt == "svg":
            try:
                return bytes(exporters.SVGExporter(self.item).export(toBytes=True))
            except ValueError:
                # pyqtgraph 0.14.0's exporter cannot parse the paths newer Qt writes
                # (pyqtgraph issue #3485); Qt's own generator draws the same scene.
                log.debug("SVGExporter failed; rendering the SVG with QSvgGenerator")
                return self._qt_svg()
        exp = exporters.ImageExporter(self.item)
        w = max(int(self.item.sceneBoundingRect().width()), 1)
        exp.parameters()["width"] = w * 2  # crisp on high-density screens and in documents
        img = exp.export(toBytes=True)
        buf = QBuffer()
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        img.save(buf, "PNG")
        return bytes(QByteArray(buf.data()).data())

    def _qt_svg(self) -> bytes:
        """Qt's SVG generator over the chart, with pyqtgraph's export mode on (vector
        symbols, no pixmap caches), as its image exporter does."""
        from PySide6.QtGui import QPainter
        from PySide6.QtSvg import QSvgGenerator

        exp = exporters.ImageExporter(self.item)
        source = exp.getSourceRect()
        size = source.size()
        target = QRectF(0, 0, size.width(), size.height())
        buf = QBuffer()
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        gen = QSvgGenerator()
        gen.setOutputDevice(buf)
        gen.setSize(target.size().toSize())
        gen.setViewBox(target)
        gen.setTitle(self.chart)
        # Axes replay cached QPictures, which rescale to the device's DPI: match the screen.
        gen.setResolution(self.plot.logicalDpiX())
        painter = QPainter(gen)
        bg = QColor(theme_colors()["base"])
        try:
            painter.fillRect(target, bg)
            exp.setExportMode(
                True,
                {"antialias": True, "background": bg, "painter": painter, "resolutionScale": 1.0},
            )
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            exp.getScene().render(painter, target, QRectF(source))
        finally:
            exp.setExportMode(False)
            painter.end()
        return bytes(QByteArray(buf.data()).data())


class QtPerformanceChart(QtMonitoringChart):
    """Realized (solid, filled markers) and estimated (dashed, hollow markers) performance,
    with the reference value and its ±3σ band."""

    chart = "performance"

    def __init__(self, parent=None):
        super().__init__("Performance over time", "metric", parent=parent)
        c = theme_colors()
        legend = _legend(self.plot, 4)
        self.band = pg.LinearRegionItem(
            orientation="horizontal",
            movable=False,
            brush=_alpha(SERIES[2], 38),
            pen=_dashed(_alpha(SERIES[2], 140).name(QColor.NameFormat.HexArgb)),
        )
        self.band.setZValue(-10)
        self.item.addItem(self.band, ignoreBounds=False)
        self.reference = pg.InfiniteLine(
            angle=0, pen=_dashed(c["muted"], 1, Qt.PenStyle.DotLine), movable=False
        )
        self.item.addItem(self.reference)
        self.realized = self.item.plot(
            [],
            [],
            pen=pg.mkPen(SERIES[0], width=2.2),
            symbol="o",
            symbolSize=7,
            symbolBrush=SERIES[0],
            symbolPen=pg.mkPen(c["base"], width=1),
            connect="finite",
            name="realized",
        )
        self.estimated = self.item.plot(
            [],
            [],
            pen=pg.mkPen(SERIES[1], width=2, style=Qt.PenStyle.DashLine),
            symbol="o",
            symbolSize=8,
            symbolBrush=pg.mkBrush(c["base"]),
            symbolPen=pg.mkPen(SERIES[1], width=1.8),
            connect="finite",
            name="estimated",
        )
        self.outside = pg.ScatterPlotItem(
            size=13, brush=pg.mkBrush(None), pen=pg.mkPen(c["danger"], width=2), name=None
        )
        self.item.addItem(self.outside)
        # A legend entry for the band (region items have no sample of their own).
        sample = pg.PlotDataItem(
            [],
            [],
            pen=pg.mkPen(_alpha(SERIES[2], 140)),
            fillLevel=0,
            fillBrush=_alpha(SERIES[2], 60),
        )
        legend.addItem(sample, "±3σ band")
        legend.addItem(
            pg.PlotDataItem([], [], pen=_dashed(c["muted"], 1, Qt.PenStyle.DotLine)),
            "reference",
        )

    def _update_chart(self, snap: MonitoringSnapshot) -> None:
        p = snap.performance
        x = snap.times
        self.item.setLabel("left", metric_label(snap.metric), color=theme_colors()["muted"])
        self.item.setTitle(
            f"Performance over time: {metric_title(snap.metric)}",
            color=theme_colors()["text"],
            size="10pt",
        )
        for item, y in ((self.realized, p["realized"]), (self.estimated, p["estimated"])):
            # a metric with no value of this sort (R² is never estimated) draws nothing
            if np.isfinite(y).any():
                item.setData(x, y)
            else:
                item.setData([], [])
        name = metric_label(snap.metric)
        if snap.n_batches == 0:
            self.set_empty_note("No batch checked yet")
        elif not (np.isfinite(p["realized"]).any() or np.isfinite(p["estimated"]).any()):
            self.set_empty_note(
                f"No {name} for any batch: no labels yet and no estimate for this metric"
            )
        else:
            self.set_empty_note("")
        lo, hi, ref = p["band_lower"], p["band_upper"], p["reference"]
        has_band = bool(np.isfinite(lo) and np.isfinite(hi))
        self.band.setVisible(has_band)
        if has_band:
            self.band.setRegion((lo, hi))
        self.reference.setVisible(bool(np.isfinite(ref)))
        if np.isfinite(ref):
            self.reference.setValue(ref)
        # The value that counts per batch: realized when labels arrived, else estimated.
        best = np.where(np.isfinite(p["realized"]), p["realized"], p["estimated"])
        out = has_band & np.isfinite(best) & ((best < lo) | (best > hi)) if has_band else None
        if out is not None and out.any():
            self.outside.setData(x[out], best[out])
        else:
            self.outside.setData([], [])
        self._fit_x(x)
        _y_range(self.item, [p["realized"], p["estimated"], [lo, hi, ref]], 0.25)


class QtDriftShareChart(QtMonitoringChart):
    """Share of drifted features per batch (bars; red when the batch is drifted) and the
    verdict threshold."""

    chart = "drift_share"

    def __init__(self, parent=None):
        super().__init__("Dataset drift share", "share of features drifted", parent=parent)
        c = theme_colors()
        self.bars = pg.BarGraphItem(x=[], height=[], width=1, brush=SERIES[0])
        self.item.addItem(self.bars)
        self.threshold = pg.InfiniteLine(
            angle=0,
            pen=_dashed(c["danger"], 1.5),
            movable=False,
            label="verdict threshold {value:.0%}",
            labelOpts={"color": c["danger"], "position": 0.08, "anchors": [(0, 1), (0, 1)]},
        )
        self.item.addItem(self.threshold)
        self.item.setYRange(0, 1.05, padding=0)
        self.item.getAxis("left").setTicks(
            [[(v, f"{v:.0%}") for v in (0, 0.25, 0.5, 0.75, 1.0)], []]
        )

    def _update_chart(self, snap: MonitoringSnapshot) -> None:
        c = theme_colors()
        b = snap.batches
        x = snap.times
        finite = x[np.isfinite(x)]
        step = float(np.median(np.diff(finite))) if finite.size > 1 else 86400.0 * 30
        share = np.asarray(b["drift_share"], dtype=np.float64)
        known = np.isfinite(share)
        colors = [c["danger"] if d else _alpha(SERIES[0], 200) for d in b["drifted"].tolist()]
        # A share of 0 % is a result, not a gap: it gets a thin bar of its own.
        zero = known & (share <= 0.0)
        colors = [
            _alpha(c["muted"], 220) if z else col for z, col in zip(zero, colors, strict=True)
        ]
        self.bars.setOpts(
            x=x[known],
            height=np.where(zero, 0.012, share)[known],
            width=step * 0.62,
            brushes=[col for col, k in zip(colors, known, strict=True) if k],
            pen=pg.mkPen(None),
        )
        if snap.n_batches == 0:
            self.set_empty_note("No batch checked yet")
        elif not known.any():
            self.set_empty_note("No drift share for any batch")
        else:
            self.set_empty_note("")
        thr = snap.details["share_threshold"]
        self.threshold.setValue(float(thr[-1]) if len(thr) else 0.5)
        self._fit_x(x)
        self.item.setYRange(0, 1.05, padding=0)


class QtMultivariateChart(QtMonitoringChart):
    """PCA reconstruction error per batch and its threshold (drifted batches in red)."""

    chart = "multivariate"

    def __init__(self, parent=None):
        super().__init__("Multivariate drift", "reconstruction error", parent=parent)
        c = theme_colors()
        _legend(self.plot, 2)
        self.threshold = self.item.plot(
            [], [], pen=_dashed(c["danger"], 1.5), stepMode=None, name="threshold"
        )
        self.error = self.item.plot(
            [],
            [],
            pen=pg.mkPen(SERIES[3], width=2),
            symbol="o",
            symbolSize=7,
            symbolBrush=SERIES[3],
            symbolPen=pg.mkPen(c["base"]),
            connect="finite",
            name="reconstruction error",
        )
        self.drifted = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(c["danger"]), pen=None)
        self.item.addItem(self.drifted)

    def _update_chart(self, snap: MonitoringSnapshot) -> None:
        b = snap.batches
        x = snap.times
        self.error.setData(x, b["multivariate_error"])
        self.threshold.setData(x, b["multivariate_threshold"])
        d = b["multivariate_drifted"].astype(bool)
        self.drifted.setData(x[d], b["multivariate_error"][d])
        if snap.n_batches == 0:
            self.set_empty_note("No batch checked yet")
        elif not np.isfinite(np.asarray(b["multivariate_error"], dtype=np.float64)).any():
            self.set_empty_note(
                "No multivariate check: the reference profile has too few numeric columns"
            )
        else:
            self.set_empty_note("")
        self._fit_x(x)
        _y_range(self.item, [b["multivariate_error"], b["multivariate_threshold"]], 0.35)


def _rgb(color: str) -> np.ndarray:
    q = QColor(color)
    return np.array([q.red(), q.green(), q.blue()], dtype=np.float64)


def severity_colors(severity: np.ndarray, ratio: np.ndarray, c: dict[str, str]) -> np.ndarray:
    """F×B×3 cell colours: green (ok; deeper the closer to the threshold), amber, red;
    grey where a column was not checked."""
    base, green = _rgb(c["base"]), _rgb(c["success"])
    t = 0.28 + 0.5 * np.clip(np.nan_to_num(ratio.astype(np.float64), nan=0.0), 0.0, 1.0)
    out = base + (green - base) * t[..., None]
    sev = severity.astype(str)
    out[sev == "amber"] = _rgb(AMBER)
    out[sev == "red"] = _rgb(c["danger"])
    out[sev == ""] = _rgb(c["alt"])
    return out.astype(np.uint8)


class CellLabels(pg.GraphicsObject):
    """Every heatmap cell's value in one item: one paint call, text kept upright and
    unscaled (a TextItem per cell costs ~2 ms each to build)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[float, float, str, QColor]] = []
        self.font = QFont()
        self._rect = QRectF()

    def set_cells(self, cells: list[tuple[float, float, str, QColor]], rect: QRectF) -> None:
        self.prepareGeometryChange()
        self.cells = cells
        self._rect = rect
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: Any, *_args: Any) -> None:
        if not self.cells:
            return
        tr = painter.transform()
        painter.save()
        painter.resetTransform()
        font = QFont(self.font)
        opts = getattr(self, "_exportOpts", False)
        if opts:  # exporters draw at a scale: keep the text in proportion
            font.setPointSizeF(font.pointSizeF() * float(opts.get("resolutionScale", 1.0)))
        painter.setFont(font)
        h = QFontMetricsF(font).height()
        cw = abs(tr.m11())  # one column in device pixels
        for x, y, text, color in self.cells:
            p = tr.map(QPointF(x, y))
            painter.setPen(color)
            painter.drawText(
                QRectF(p.x() - cw / 2, p.y() - h / 2, cw, h), Qt.AlignmentFlag.AlignCenter, text
            )
        painter.restore()


class QtDriftHeatmap(QtMonitoringChart):
    """Feature × batch drift verdicts. Hover a cell for the method, statistic, p-value,
    threshold and why the method was chosen; click it for the histograms."""

    chart = "heatmap"
    sig_cell_clicked = Signal(str, int, str)
    """feature, batch id, batch name: the user clicked a checked cell."""

    def __init__(self, parent=None):
        super().__init__(
            "Feature drift per batch (statistic; colour: verdict)", "", dates=False, parent=parent
        )
        c = theme_colors()
        self.item.showGrid(x=False, y=False)
        vb = self.item.getViewBox()
        vb.invertY(True)
        vb.setMouseEnabled(x=False, y=False)
        vb.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.item.addItem(self.image)
        self.hover = QGraphicsRectItem()
        self.hover.setPen(pg.mkPen(c["text"], width=1.5, cosmetic=True))
        self.hover.setZValue(20)
        self.hover.hide()
        self.selected = QGraphicsRectItem()
        self.selected.setPen(pg.mkPen(c["accent"], width=3, cosmetic=True))
        self.selected.setZValue(21)
        self.selected.hide()
        for it in (self.hover, self.selected):
            self.item.addItem(it)
        self.labels = CellLabels()
        self.labels.font = self.font()
        self.labels.font.setPointSizeF(max(self.labels.font.pointSizeF() - 2, 6.5))
        self.labels.setZValue(10)
        self.item.addItem(self.labels)
        self._selected: tuple[str, int] | None = None
        self.plot.setMouseTracking(True)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_mouse_clicked)

    @property
    def shape(self) -> tuple[int, int]:
        if self.snapshot is None:
            return 0, 0
        return self.snapshot.matrix["value"].shape

    def _update_chart(self, snap: MonitoringSnapshot) -> None:
        c = theme_colors()
        m, d = snap.matrix, snap.details
        F, B = m["value"].shape
        # Each cell is k×k pixels, its last row and column the background (the grid);
        # fewer pixels per cell for long histories keep the image small.
        k = max(3, min(CELL_PX, 2400 // max(B, 1)))
        img = np.empty((max(F, 1) * k, max(B, 1) * k, 4), dtype=np.uint8)
        img[..., :3] = _rgb(c["base"]).astype(np.uint8)
        img[..., 3] = 255
        if F and B:
            colors = severity_colors(m["severity"], d["ratio"], c)
            view = img[..., :3].reshape(F, k, B, k, 3)
            view[:, : k - 1, :, : k - 1, :] = colors[:, None, :, None, :]
        self.image.setImage(img, autoLevels=False)
        self.image.setRect(QRectF(0, 0, max(B, 1), max(F, 1)))
        left = self.item.getAxis("left")
        left.setTicks([[(i + 0.5, f) for i, f in enumerate(m["features"])], []])
        self._update_batch_ticks()
        labels: list[tuple[float, float, str, QColor]] = []
        if F * B <= MAX_CELL_LABELS:
            light, dark = QColor("#ffffff"), QColor(c["text"])
            for i in range(F):
                for j in range(B):
                    sev = str(m["severity"][i, j])
                    if sev:
                        color = light if sev in ("red", "amber") else dark
                        labels.append((j + 0.5, i + 0.5, _cell_text(m["value"][i, j]), color))
        self.labels.set_cells(labels, QRectF(0, 0, max(B, 1), max(F, 1)))
        self.item.setXRange(0, max(B, 1), padding=0.01)
        # The newest column's name may reach past the axis end; show it anyway.
        self.item.getAxis("bottom").setStyle(hideOverlappingLabels=False)
        self.item.setYRange(0, max(F, 1), padding=0.02)
        if self._selected is not None:
            cell = self.cell_of(*self._selected)
            if cell is None:
                self.selected.hide()
            else:
                self._mark(self.selected, *cell)

    def _update_batch_ticks(self) -> None:
        """Batch names under the columns, thinned so that they never overlap."""
        if self.snapshot is None:
            return
        names = [str(n) for n in self.snapshot.batches["name"].tolist()]
        B = len(names)
        if not B:
            return
        fm = self.fontMetrics()
        widest = max(fm.horizontalAdvance(n) for n in names) + 12
        width = max(self.item.getViewBox().width(), 1.0)
        every = max(1, math.ceil(widest / (width / B)))
        self.item.getAxis("bottom").setTicks(
            [[(j + 0.5, names[j]) for j in range(B - 1, -1, -every)], []]
        )

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._update_batch_ticks()

    # ------------------------------------------------------------ cells
    def cell_of(self, feature: str, batch_id: int) -> tuple[int, int] | None:
        if self.snapshot is None:
            return None
        m = self.snapshot.matrix
        ids = [int(x) for x in m["batch_id"].tolist()]
        if feature not in m["features"] or batch_id not in ids:
            return None
        return m["features"].index(feature), ids.index(batch_id)

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """(feature row, batch column) under a scene position, or ``None``."""
        F, B = self.shape
        if not self.item.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.item.getViewBox().mapSceneToView(scene_pos)
        i, j = math.floor(p.y()), math.floor(p.x())
        return (i, j) if 0 <= i < F and 0 <= j < B else None

    def cell_center(self, i: int, j: int) -> QPointF:
        """The scene position of a cell's centre (for tests and keyboard use)."""
        return self.item.getViewBox().mapViewToScene(QPointF(j + 0.5, i + 0.5))

    def _mark(self, rect: QGraphicsRectItem, i: int, j: int) -> None:
        rect.setRect(QRectF(j, i, 1, 1))
        rect.show()

    def tooltip(self, i: int, j: int) -> str:
        """Rich text for a cell: verdict, method, statistic, p-value, threshold, reason."""
        s = self.snapshot
        if s is None:
            return ""
        m, d = s.matrix, s.details
        feature = m["features"][i]
        batch = str(s.batches["name"][j])
        method = str(m["method"][i, j])
        if not method:
            return f"<b>{html.escape(feature)}</b> · {html.escape(batch)}<br>not checked"
        sev = str(m["severity"][i, j])
        verdict = {"red": "drifted (red)", "amber": "drifted (amber)"}.get(sev, "no drift")
        rows = [
            ("Verdict", verdict),
            ("Method", METHOD_NAMES.get(method, method)),
            ("Statistic", _fmt(d["statistic"][i, j], 4)),
            ("p-value", _fmt(d["p_value"][i, j], 3)),
            ("Threshold", _fmt(d["threshold"][i, j], 4)),
            ("Threshold from", str(d["threshold_source"][i, j]) or "—"),
            ("Why this method", str(d["reason"][i, j]) or "—"),
        ]
        body = "".join(
            f"<tr><td style='padding-right:10px;color:gray'>{html.escape(k)}</td>"
            f"<td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return (
            f"<div style='max-width:420px'><b>{html.escape(feature)}</b> · "
            f"{html.escape(batch)}<table>{body}</table>"
            "<span style='color:gray'>Click for the histograms</span></div>"
        )

    def _on_mouse_moved(self, pos: QPointF) -> None:
        cell = self.cell_at(pos)
        if cell is None:
            self.hover.hide()
            QToolTip.hideText()
            return
        self._mark(self.hover, *cell)
        QToolTip.showText(QCursor.pos(), self.tooltip(*cell), self.plot)

    def _on_mouse_clicked(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            self.select_cell(*cell)

    def select_cell(self, i: int, j: int) -> None:
        """Mark a cell and ask for its histograms (what a click does)."""
        s = self.snapshot
        if s is None or not s.matrix["method"][i, j]:
            return
        feature = s.matrix["features"][i]
        bid = int(s.matrix["batch_id"][j])
        self._selected = (feature, bid)
        self._mark(self.selected, i, j)
        self.sig_cell_clicked.emit(feature, bid, str(s.batches["name"][j]))


class QtGroupChart(QtMonitoringChart):
    """The latest batch's protected groups (selection rate and true-positive rate per group,
    the gap verdicts in the title) and its segments (drift share per segment, red when the
    segment drifted)."""

    chart = "groups"

    def __init__(self, parent=None):
        super().__init__("Groups and segments", "rate / share", dates=False, parent=parent)
        legend = _legend(self.plot, 3)
        self.selection = pg.BarGraphItem(x=[], height=[], width=0.38, brush=SERIES[0])
        self.tpr = pg.BarGraphItem(x=[], height=[], width=0.38, brush=SERIES[1])
        self.segment = pg.BarGraphItem(x=[], height=[], width=0.6, brush=SERIES[2])
        for item, name in (
            (self.selection, "selection rate"),
            (self.tpr, "true-positive rate"),
            (self.segment, "segment drift share"),
        ):
            self.item.addItem(item)
            legend.addItem(item, name)
        self.item.getViewBox().setMouseEnabled(x=False, y=False)
        self.item.setYRange(0, 1.25, padding=0)
        self.item.getAxis("left").setTicks(
            [[(v, f"{v:.0%}") for v in (0, 0.25, 0.5, 0.75, 1.0)], []]
        )
        self.labels: list[str] = []

    def _update_chart(self, snap: MonitoringSnapshot) -> None:
        c = theme_colors()
        g, sg = snap.groups or {}, snap.segments or {}
        by_group = g.get("by_group") or {}
        names = list(by_group)
        sel = [by_group[k].get("selection_rate") for k in names]
        tpr = [by_group[k].get("true_positive_rate") for k in names]
        xg = np.arange(len(names), dtype=np.float64)
        self.selection.setOpts(
            x=xg - 0.2, height=np.array([np.nan if v is None else v for v in sel], float)
        )
        has_tpr = any(v is not None for v in tpr)
        self.tpr.setOpts(
            x=(xg + 0.2) if has_tpr else [],
            height=np.array([np.nan if v is None else v for v in tpr], float) if has_tpr else [],
        )
        segs = [e for e in sg.get("segments") or [] if e.get("drift_share") is not None]
        start = len(names) + (1 if names and segs else 0)
        xs = start + np.arange(len(segs), dtype=np.float64)
        share = np.array([e["drift_share"] for e in segs], dtype=np.float64)
        self.segment.setOpts(
            x=xs,
            height=np.maximum(share, 0.012),  # 0 % is a result: a thin bar, not a gap
            width=0.6,
            brushes=[
                c["danger"]
                if e.get("drifted")
                else _alpha(SERIES[2], 210)
                if e["drift_share"] > 0
                else _alpha(c["muted"], 220)
                for e in segs
            ],
            pen=pg.mkPen(None),
        )
        ticks = [(float(x), str(n)) for x, n in zip(xg, names, strict=True)]
        ticks += [(float(x), str(e["segment"])) for x, e in zip(xs, segs, strict=True)]
        self.labels = [t for _x, t in ticks]
        self.item.getAxis("bottom").setTicks([ticks, []])
        hi = max([float(x) for x, _t in ticks], default=0.0)
        self.item.getViewBox().disableAutoRange()
        self.item.setXRange(-0.7, hi + 0.7, padding=0)
        self.item.setYRange(0, 1.3, padding=0)
        title = "Groups and segments"
        self.item.setTitle(title, color=c["text"], size="10pt")
        parts = []
        if names:
            parts.append(f"groups of {g.get('column', '')}")
        if segs:
            parts.append(f"segments by {sg.get('column', '')}")
        self.item.setLabel(
            "bottom",
            f"{' · '.join(parts)} · batch {snap.groups_batch}" if ticks else "",
            color=c["muted"],
        )
        gaps = g.get("gaps") or {}
        verdicts = []
        for key, gap in gaps.items():
            v = gap.get("value")
            name = key.replace("_", " ")
            shown = "—" if v is None else f"{v:.2f}"
            side = "min" if key.endswith("ratio") else "max"
            limit = f"{side} {gap.get('threshold')}"
            verdicts.append(
                f"{name} {shown} ({limit})" + (" ⚠ past threshold" if gap.get("crossed") else "")
            )
        self.plot.setToolTip("\n".join(verdicts))
        if not ticks:
            note = g.get("note") or (
                "No protected attribute or segments yet.\nCheck batches with "
                "--protected COLUMN or --segment-by COLUMN (modelward monitor)"
            )
            self.set_empty_note(note)
        elif any(gap.get("crossed") for gap in gaps.values()):
            n_crossed = sum(bool(v.get("crossed")) for v in gaps.values())
            self.set_empty_note("")
            self.item.setTitle(
                f"Groups and segments · <span style='color:{c['danger']}'>⚠ {n_crossed} "
                f"gap{'s' if n_crossed != 1 else ''} past threshold</span>",
                color=c["text"],
                size="10pt",
            )
        else:
            self.set_empty_note("")


def coarsen(edges: np.ndarray, props: np.ndarray, max_bins: int = MAX_HIST_BINS):
    """Merge neighbouring quantile bins (inside the reference range) into at most ``max_bins``.

    Returns the group edges and the proportions per group (bins 0 and last,
    outside the range, are left out).
    """
    inner = props[1 : len(edges)]
    k = max(1, math.ceil(len(inner) / max_bins))
    idx = np.arange(0, len(inner), k)
    sums = np.add.reduceat(inner, idx) if len(inner) else inner
    gedges = np.append(edges[idx], edges[-1])
    return gedges, sums


class QtHistogramOverlay(QtMonitoringChart):
    """Reference and current distribution of one feature in one batch, overlaid."""

    chart = "histogram"

    def __init__(self, parent=None):
        super().__init__(
            "Click a heatmap cell to compare distributions", "", dates=False, parent=parent
        )
        self.item.getViewBox().setMouseEnabled(x=False, y=False)
        add_legend(self.plot)
        self.hist: dict[str, Any] | None = None
        self.caption = ""
        self._items: list[Any] = []

    def show_histograms(self, hist: dict[str, Any], caption: str) -> None:
        c = theme_colors()
        self.hist = hist
        self.caption = caption
        for it in self._items:
            self.item.removeItem(it)
        self._items = []
        legend = self.item.legend
        if legend is not None:
            legend.clear()
        ref_pen = pg.mkPen(c["muted"], width=1.6)
        ref_brush = _alpha(c["muted"], 70)
        cur_pen = pg.mkPen(SERIES[1], width=2)
        cur_brush = _alpha(SERIES[1], 80)
        ax = self.item.getAxis("bottom")
        ref, cur = np.asarray(hist["reference"]), np.asarray(hist["current"])
        note = ""
        if "edges" in hist:
            edges = np.asarray(hist["edges"], dtype=np.float64)
            ge, rs = coarsen(edges, ref)
            _, cs = coarsen(edges, cur)
            w = np.diff(ge)
            ok = w > 0
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                rd = np.where(ok, rs / np.where(ok, w, 1), 0.0)
                cd = np.where(ok, cs / np.where(ok, w, 1), 0.0)
            for y, pen, brush, name in (
                (rd, ref_pen, ref_brush, "reference"),
                (cd, cur_pen, cur_brush, "current"),
            ):
                it = pg.PlotDataItem(
                    ge, y, stepMode="center", fillLevel=0, fillBrush=brush, pen=pen, name=name
                )
                self.item.addItem(it)
                self._items.append(it)
            ax.setTicks(None)
            self.item.setLabel("left", "density", color=c["muted"])
            self.item.getAxis("left").enableAutoSIPrefix(True)  # densities of large values
            # Show where 99 % of each distribution lies; a long tail would squash the rest.
            hi = -np.inf
            for props in (ref, cur):
                inner = props[1 : len(edges)]
                cum = np.cumsum(inner) / max(float(inner.sum()), 1e-12)
                k = min(int(np.searchsorted(cum, 0.99)) + 1, len(edges) - 1)
                hi = max(hi, float(edges[k]))
            self.item.setXRange(float(ge[0]), max(hi, float(ge[1])), padding=0.02)
            below, above = cur[0], cur[-1]
            if below >= 0.0005 or above >= 0.0005:
                parts = [
                    f"{below:.1%} below" if below >= 0.0005 else "",
                    f"{above:.1%} above" if above >= 0.0005 else "",
                ]
                note = f"  ({', '.join(p for p in parts if p)} the reference range)"
        else:
            labels = list(hist["labels"])
            x = np.arange(len(labels), dtype=np.float64)
            for dx, y, pen, brush, name in (
                (-0.2, ref, ref_pen, ref_brush, "reference"),
                (0.2, cur, cur_pen, cur_brush, "current"),
            ):
                it = pg.BarGraphItem(x=x + dx, height=y, width=0.38, brush=brush, pen=pen)
                self.item.addItem(it)
                self._items.append(it)
                if legend is not None:
                    legend.addItem(it, name)
            ax.setTicks([[(float(i), str(t)) for i, t in enumerate(labels)], []])
            self.item.setLabel("left", "share of rows", color=c["muted"])
            self.item.getAxis("left").enableAutoSIPrefix(False)
            self.item.setXRange(-0.6, len(labels) - 0.4, padding=0)
        self.item.setTitle(html.escape(caption), color=c["text"], size="10pt")
        feature = caption.split(" · ", 1)[0]
        self.item.setLabel("bottom", html.escape(feature + note), color=c["muted"])
        self.item.enableAutoRange(axis="y")

    def _update_chart(self, snap: MonitoringSnapshot) -> None:
        pass  # the page reloads the histograms of the selected cell when the data changes

    def table(self) -> tuple[list[str], list[list[Any]]]:
        return histogram_table(self.hist) if self.hist is not None else ([], [])
