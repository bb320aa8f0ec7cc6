"""Small, dependency-free SVG charts for reports (inline in HTML, rasterised for PDF).

Only plain SVG 1.1 elements with inline attributes (rect, line, polyline,
circle, text), so browsers and Qt's SVG Tiny renderer draw them alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape as _html_escape

from modelward.core.text import safe_display

__all__ = ["Series", "bar_chart", "line_chart"]


def escape(text: str) -> str:
    """A chart label: HTML-escaped, control and bidirectional characters shown as escapes."""
    return _html_escape(safe_display(text))


PALETTE = ("#1f6feb", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c")


@dataclass
class Series:
    """One line (or set of markers) of a chart."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    color: str | None = None
    dashed: bool = False
    markers: bool = False
    line: bool = True
    highlight: Sequence[bool] = field(default_factory=list)  # red rings on these points
    width: float = 2.0
    opacity: float = 1.0
    legend: bool = True


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    out = []
    v = start
    while v <= hi + 1e-9 * step:
        out.append(round(v, 10))
        v += step
    return out


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000 or abs(v) < 0.01:
        return f"{v:.2g}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    xticklabels: Sequence[str] | None = None,
    diagonal: bool = False,
    band: tuple[float, float] | None = None,
    hline: float | None = None,
    width: int = 460,
    height: int = 300,
) -> str:
    """An SVG line chart.

    Parameters
    ----------
    series
        Lines to draw; NaN values break a line.
    xticklabels
        Category labels at x = 0, 1, 2, … (instead of numeric ticks).
    diagonal
        Draw the y = x reference (ROC, calibration).
    band, hline
        A shaded horizontal band and a dotted reference line (performance).

    Returns
    -------
    str
        ``<svg …>…</svg>``.
    """
    ml, mr, mt, mb = 54, 14, 30, 46
    pw, ph = width - ml - mr, height - mt - mb
    xs = [v for s in series for v in s.x if math.isfinite(v)]
    ys = [v for s in series for v in s.y if math.isfinite(v)]
    if band:
        ys += [v for v in band if math.isfinite(v)]
    if hline is not None and math.isfinite(hline):
        ys.append(hline)
    x0, x1 = xlim or ((min(xs), max(xs)) if xs else (0.0, 1.0))
    y0, y1 = ylim or ((min(ys), max(ys)) if ys else (0.0, 1.0))
    if x1 <= x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if y1 <= y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    if ylim is None:
        pad = (y1 - y0) * 0.08
        y0, y1 = y0 - pad, y1 + pad

    def px(x: float) -> float:
        return ml + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return mt + ph - (y - y0) / (y1 - y0) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2:.1f}" y="18" font-size="13" font-weight="bold" '
        f'text-anchor="middle" fill="#222">{escape(title)}</text>',
    ]
    if band and all(math.isfinite(v) for v in band):
        lo, hi = sorted(band)
        out.append(
            f'<rect x="{ml}" y="{py(hi):.1f}" width="{pw}" height="{py(lo) - py(hi):.1f}" '
            'fill="#2b8a3e" fill-opacity="0.12"/>'
        )
    for t in _ticks(y0, y1):
        out.append(
            f'<line x1="{ml}" y1="{py(t):.1f}" x2="{ml + pw}" y2="{py(t):.1f}" '
            'stroke="#e6e6e6" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{ml - 6}" y="{py(t) + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="#555">{_fmt(t)}</text>'
        )
    if xticklabels is not None:
        step = max(1, math.ceil(len(xticklabels) / 8))
        xt = [(float(i), str(lab)) for i, lab in enumerate(xticklabels) if i % step == 0]
    else:
        xt = [(t, _fmt(t)) for t in _ticks(x0, x1)]
    for t, lab in xt:
        out.append(
            f'<line x1="{px(t):.1f}" y1="{mt + ph}" x2="{px(t):.1f}" y2="{mt + ph + 4}" '
            'stroke="#888" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{px(t):.1f}" y="{mt + ph + 16}" font-size="10" text-anchor="middle" '
            f'fill="#555">{escape(lab)}</text>'
        )
    out.append(
        f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#888" '
        'stroke-width="1"/>'
    )
    if diagonal:
        a, b = max(x0, y0), min(x1, y1)
        out.append(
            f'<line x1="{px(a):.1f}" y1="{py(a):.1f}" x2="{px(b):.1f}" y2="{py(b):.1f}" '
            'stroke="#999" stroke-width="1" stroke-dasharray="4,3"/>'
        )
    if hline is not None and math.isfinite(hline):
        out.append(
            f'<line x1="{ml}" y1="{py(hline):.1f}" x2="{ml + pw}" y2="{py(hline):.1f}" '
            'stroke="#2b8a3e" stroke-width="1" stroke-dasharray="2,2"/>'
        )
    for i, s in enumerate(series):
        color = s.color or PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="6,4"' if s.dashed else ""
        run: list[str] = []
        pts = list(zip(s.x, s.y, strict=False))
        for x, y in [*pts, (math.nan, math.nan)]:
            if math.isfinite(x) and math.isfinite(y):
                run.append(f"{px(x):.1f},{py(y):.1f}")
                continue
            if s.line and len(run) > 1:
                fade = f' stroke-opacity="{s.opacity:g}"' if s.opacity < 1 else ""
                out.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{color}" '
                    f'stroke-width="{s.width:g}"{dash}{fade}/>'
                )
            run = []
        if s.markers:
            for j, (x, y) in enumerate(pts):
                if math.isfinite(x) and math.isfinite(y):
                    out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}"/>')
                    if j < len(s.highlight) and s.highlight[j]:
                        out.append(
                            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="6" fill="none" '
                            'stroke="#e03131" stroke-width="2"/>'
                        )
    # legend (top-left inside the plot)
    ly = mt + 14
    for i, s in enumerate(series):
        if not s.legend:
            continue
        color = s.color or PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="6,4"' if s.dashed else ""
        out.append(
            f'<line x1="{ml + 8}" y1="{ly - 4}" x2="{ml + 28}" y2="{ly - 4}" stroke="{color}" '
            f'stroke-width="2"{dash}/>'
        )
        out.append(
            f'<text x="{ml + 33}" y="{ly}" font-size="10" fill="#333">{escape(s.label)}</text>'
        )
        ly += 14
    out.append(
        f'<text x="{ml + pw / 2:.1f}" y="{height - 8}" font-size="11" text-anchor="middle" '
        f'fill="#333">{escape(xlabel)}</text>'
    )
    out.append(
        f'<text x="14" y="{mt + ph / 2:.1f}" font-size="11" text-anchor="middle" fill="#333" '
        f'transform="rotate(-90 14 {mt + ph / 2:.1f})">{escape(ylabel)}</text>'
    )
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    xlabel: str = "",
    spread: Sequence[float] | None = None,
    color: str = PALETTE[0],
    width: int = 460,
    height: int | None = None,
) -> str:
    """A horizontal SVG bar chart, one bar per label, with optional ± spread whiskers.

    Parameters
    ----------
    labels, values
        One bar each, drawn top to bottom in the order given.
    spread
        Half-width of a whisker around each value (a standard deviation over
        repeats, say); NaN or a missing entry draws none.

    Returns
    -------
    str
        ``<svg …>…</svg>``.
    """
    n = len(labels)
    bar = 16
    longest = max((len(str(lab)) for lab in labels), default=4)
    ml, mr, mt, mb = min(max(60, 7 * longest + 12), width // 2), 16, 30, 38
    height = height or mt + mb + max(n, 1) * (bar + 6)
    pw, ph = width - ml - mr, height - mt - mb
    sp = [float(x) if x is not None else math.nan for x in (spread or [])]
    sp += [math.nan] * (n - len(sp))
    ends = [0.0]
    for v, e in zip(values, sp, strict=False):
        if math.isfinite(v):
            ends += [v, v + e, v - e] if math.isfinite(e) else [v]
    x0, x1 = min(ends), max(ends)
    if x1 <= x0:
        x1 = x0 + 1.0
    pad = (x1 - x0) * 0.05
    x0, x1 = (x0 - pad if x0 < 0 else x0), x1 + pad

    def px(x: float) -> float:
        return ml + (x - x0) / (x1 - x0) * pw

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2:.1f}" y="18" font-size="13" font-weight="bold" '
        f'text-anchor="middle" fill="#222">{escape(title)}</text>',
    ]
    for t in _ticks(x0, x1):
        out.append(
            f'<line x1="{px(t):.1f}" y1="{mt}" x2="{px(t):.1f}" y2="{mt + ph}" '
            'stroke="#e6e6e6" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{px(t):.1f}" y="{mt + ph + 14}" font-size="10" text-anchor="middle" '
            f'fill="#555">{_fmt(t)}</text>'
        )
    slot = ph / max(n, 1)
    for i, (lab, v) in enumerate(zip(labels, values, strict=False)):
        cy = mt + slot * (i + 0.5)
        out.append(
            f'<text x="{ml - 6}" y="{cy + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="#333">{escape(str(lab))}</text>'
        )
        if not math.isfinite(v):
            continue
        a, b = sorted((px(0.0 if x0 <= 0 <= x1 else x0), px(v)))
        h = min(bar, slot * 0.7)
        out.append(
            f'<rect x="{a:.1f}" y="{cy - h / 2:.1f}" width="{max(b - a, 1):.1f}" '
            f'height="{h:.1f}" fill="{color}" fill-opacity="0.85"/>'
        )
        e = sp[i]
        if math.isfinite(e) and e > 0:
            lo, hi = px(v - e), px(v + e)
            out.append(
                f'<line x1="{lo:.1f}" y1="{cy:.1f}" x2="{hi:.1f}" y2="{cy:.1f}" '
                'stroke="#222" stroke-width="1.2"/>'
            )
            for x in (lo, hi):
                out.append(
                    f'<line x1="{x:.1f}" y1="{cy - 4:.1f}" x2="{x:.1f}" y2="{cy + 4:.1f}" '
                    'stroke="#222" stroke-width="1.2"/>'
                )
    out.append(
        f'<line x1="{px(0.0) if x0 <= 0 <= x1 else ml:.1f}" y1="{mt}" '
        f'x2="{px(0.0) if x0 <= 0 <= x1 else ml:.1f}" y2="{mt + ph}" stroke="#888" '
        'stroke-width="1"/>'
    )
    out.append(
        f'<text x="{ml + pw / 2:.1f}" y="{height - 8}" font-size="11" text-anchor="middle" '
        f'fill="#333">{escape(xlabel)}</text>'
    )
    out.append("</svg>")
    return "\n".join(out)
