"""The report as PDF, through Qt's own PDF writer (no browser, no extra renderer).

Qt's rich-text engine lays out the same template as the HTML report. It
understands a subset of HTML and CSS and shows SVG only as images, so each
chart is rasterised with QtSvg at three times its size and handed to the
document as an image resource. The PDF states the SHA-256 of the HTML
rendition of the same facts.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QMarginsF, QRectF, QUrl
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
)
from PySide6.QtSvg import QSvgRenderer

from modelward.core.evidence.reports.facts import gather_facts
from modelward.core.evidence.reports.render import charts, finish, load_template, render_html
from modelward.core.registry import Registry
from modelward.ui.display import has_display

__all__ = ["html_to_pdf", "write_pdf"]

CHART_WIDTH = 265  # layout pixels; two charts fit side by side on A4
_SCALE = 3


def _ensure_app() -> Any:
    app = QGuiApplication.instance()
    if app is None:
        if not has_display():
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QGuiApplication([])
    return app


def svg_to_image(svg: str) -> Any:
    """A QImage of ``svg`` at :data:`_SCALE` times its size, on white."""
    _ensure_app()
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    size = renderer.defaultSize()
    img = QImage(size.width() * _SCALE, size.height() * _SCALE, QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    painter = QPainter(img)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, img.width(), img.height()))
    painter.end()
    return img


def html_to_pdf(
    html: str, images: dict[str, Any], path: str | os.PathLike[str], *, title: str = ""
) -> None:
    """Lay out ``html`` (with ``images``: url -> QImage) on A4 pages into ``path``."""
    _ensure_app()
    doc = QTextDocument()
    doc.setDefaultFont(QFont("Helvetica", 9))
    for url, img in images.items():
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), img)
    doc.setHtml(html)
    writer = QPdfWriter(str(path))
    writer.setTitle(title)
    writer.setCreator("ModelWard")
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(14, 14, 14, 16), QPageLayout.Unit.Millimeter)
    writer.setResolution(300)
    doc.print_(writer)


def write_pdf(
    registry: Registry,
    ref: str,
    path: str | os.PathLike[str],
    *,
    template: str | os.PathLike[str] | None = None,
    n_boot: int = 200,
) -> dict[str, Any]:
    """Gather, render and write the PDF report of ``ref``; audited as ``report.generated``."""
    tpl = load_template(registry, template)
    facts = gather_facts(registry, ref, n_boot=n_boot)
    inline = render_html(facts, template=tpl, generated_by=registry.actor)
    images = {f"mwchart:{n}.png": svg_to_image(svg) for n, svg in charts(facts).items()}
    html = render_html(
        facts,
        template=tpl,
        generated_by=registry.actor,
        chart_markup=lambda n, _svg: f'<img src="mwchart:{n}.png" width="{CHART_WIDTH}">',
        digest=_stated_digest(inline),
    )
    tmp = Path(path).with_name(f".{Path(path).name}.tmp.pdf")
    try:
        html_to_pdf(html, images, tmp, title=f"{facts['version']['ref']}: model card")
        data = tmp.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)
    return finish(registry, facts, data, path)


def _stated_digest(html: str) -> str | None:
    """The report SHA-256 written into an HTML report (after 'Report SHA-256')."""
    m = re.search(r"Report SHA-256:.*?([0-9a-f]{64})", html, re.S)
    return m.group(1) if m else None
