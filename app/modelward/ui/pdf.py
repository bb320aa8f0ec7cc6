"""The report as PDF, through Qt's own PDF writer (no browser, no extra renderer).

Qt's rich-text engine lays out the same template as the HTML report. It
understands a subset of HTML and CSS and shows SVG only as images, so each
chart is rasterised with QtSvg at three times its size and handed to the
document as an image resource. The PDF states the SHA-256 of the HTML
rendition of the same facts.

Pagination is done here, not by ``QTextDocument.print``: Qt ignores
``page-break-after: avoid``, so :func:`layout_report` lays the document out on
the page size and moves every heading (and every caption line ending in a
colon) that would end a page to the next one, until none does. Qt itself
keeps a table row on one page (unless it is taller than a page) and repeats a
table's ``<thead>`` rows on each page it spans; numbers and dates sit in
non-breaking spans. :func:`pagination_facts` reports what a reader would see
so tests can check it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QMarginsF, QPointF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextBlockFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtSvg import QSvgRenderer

from modelward.core.evidence.reports.facts import gather_facts
from modelward.core.evidence.reports.render import (
    WIDE_CHARTS,
    charts,
    finish,
    load_template,
    render_html,
)
from modelward.core.registry import Registry
from modelward.ui.display import has_display

__all__ = ["PageFacts", "html_to_pdf", "layout_report", "pagination_facts", "write_pdf"]

CHART_WIDTH = 330  # layout pixels; two charts fit side by side on A4
WIDE_WIDTH = 560
_SCALE = 3
_LAYOUT_DPI = 96.0  # the document is laid out in pixels at this resolution
_MARGINS_MM = (14.0, 14.0, 14.0, 12.0)  # left, top, right, bottom
_FOOTER = 22.0  # layout pixels kept under the text for the page footer
_MAX_PASSES = 60


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


def _text_size() -> QSizeF:
    """The text area of an A4 page in layout pixels (margins and footer taken off)."""
    page = QPageSize(QPageSize.PageSizeId.A4).size(QPageSize.Unit.Millimeter)
    left, top, right, bottom = _MARGINS_MM
    px = _LAYOUT_DPI / 25.4
    return QSizeF((page.width() - left - right) * px, (page.height() - top - bottom) * px - _FOOTER)


def _keeps_with_next(block: Any) -> bool:
    """A heading, or a caption paragraph that ends in a colon."""
    if block.blockFormat().headingLevel() > 0:
        return True
    text = block.text().strip()
    return bool(text) and text.endswith(":") and len(text) < 300 and not _in_table(block)


def _in_table(block: Any) -> bool:
    return QTextCursor(block).currentTable() is not None


def _top(doc: QTextDocument, block: Any) -> float:
    return float(doc.documentLayout().blockBoundingRect(block).top())


def _bottom(doc: QTextDocument, block: Any) -> float:
    r = doc.documentLayout().blockBoundingRect(block)
    lay = block.layout()
    if lay is not None and lay.lineCount():
        last = lay.lineAt(lay.lineCount() - 1)
        return float(r.top() + last.y() + last.height())
    return float(r.bottom())


def _keep_headings_with_next(doc: QTextDocument) -> int:
    """Move every heading that would end a page to the next one; how many were moved."""
    page_h = doc.pageSize().height()
    moved = 0
    for _ in range(_MAX_PASSES):
        changed = False
        block = doc.begin()
        while block.isValid():
            nxt = block.next()
            while nxt.isValid() and not nxt.text().strip() and not _has_image(nxt):
                nxt = nxt.next()
            if _split_row_moved(doc, block, page_h):
                moved += 1
                changed = True
                break
            if nxt.isValid() and _keeps_with_next(block):
                here = int(_top(doc, block) // page_h)
                there = int((_top(doc, nxt) + 1) // page_h)
                first_line_end = int((_first_line_bottom(doc, nxt) - 1) // page_h)
                if here != max(there, first_line_end) and not _breaks_before(block):
                    fmt = QTextBlockFormat()
                    fmt.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
                    QTextCursor(block).mergeBlockFormat(fmt)
                    moved += 1
                    changed = True
                    break  # the layout below this block changed: look again from the top
            block = block.next()
        if not changed:
            break
    return moved


def _split_cell(doc: QTextDocument, block: Any, page_h: float) -> Any:
    """The table whose cell starting at ``block`` runs over a page end, else ``None``."""
    cursor = QTextCursor(block)
    table = cursor.currentTable()
    if table is None:
        return None
    cell = table.cellAt(cursor)
    if cell.firstCursorPosition().block() != block:
        return None
    last = cell.lastCursorPosition().block()
    if int(_top(doc, block) // page_h) == int((_bottom(doc, last) - 1) // page_h):
        return None
    return table


def _split_row_moved(doc: QTextDocument, block: Any, page_h: float) -> bool:
    """Qt splits a row whose cell has several lines: move its table to the next page.

    Only a table shorter than a page is moved (a longer one must split
    somewhere, and Qt repeats its header row there).
    """
    table = _split_cell(doc, block, page_h)
    if table is None:
        return False
    fmt = table.format()
    if fmt.pageBreakPolicy() & QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore:
        return False
    if doc.documentLayout().frameBoundingRect(table).height() >= page_h:
        return False
    fmt.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
    table.setFormat(fmt)
    return True


def _breaks_before(block: Any) -> bool:
    return bool(
        block.blockFormat().pageBreakPolicy() & QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore
    )


def _first_line_bottom(doc: QTextDocument, block: Any) -> float:
    r = doc.documentLayout().blockBoundingRect(block)
    lay = block.layout()
    if lay is not None and lay.lineCount():
        line = lay.lineAt(0)
        return float(r.top() + line.y() + line.height())
    return float(r.bottom())


def _has_image(block: Any) -> bool:
    it = block.begin()
    while not it.atEnd():
        if it.fragment().charFormat().isImageFormat():
            return True
        it += 1
    return False


def layout_report(html: str, images: dict[str, Any]) -> QTextDocument:
    """The report laid out on A4 text pages, headings kept with what follows them.

    Parameters
    ----------
    html
        The report's HTML (charts as ``<img>`` of ``images``).
    images
        Resource url -> QImage.
    """
    _ensure_app()
    doc = QTextDocument()
    doc.setDefaultFont(QFont("Helvetica", 9))
    doc.setUseDesignMetrics(True)
    for url, img in images.items():
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), img)
    doc.setHtml(html)
    size = _text_size()
    doc.setPageSize(size)
    if _keep_headings_with_next(doc):
        # lay the whole document out again: after the incremental relayouts of
        # the moves, Qt's drawing stopped short of blocks that follow a table
        # that spans pages (its layout checkpoints were stale)
        doc.setPageSize(QSizeF(size.width(), size.height() + 1))
        doc.setPageSize(size)
    return doc


def html_to_pdf(
    html: str,
    images: dict[str, Any],
    path: str | os.PathLike[str],
    *,
    title: str = "",
    footer: str = "",
) -> None:
    """Lay out ``html`` (with ``images``: url -> QImage) on A4 pages into ``path``."""
    doc = layout_report(html, images)
    writer = QPdfWriter(str(path))
    writer.setTitle(title)
    writer.setCreator("ModelWard")
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    left, top, right, bottom = _MARGINS_MM
    writer.setPageMargins(QMarginsF(left, top, right, bottom), QPageLayout.Unit.Millimeter)
    writer.setResolution(300)
    scale = writer.resolution() / _LAYOUT_DPI
    size = doc.pageSize()
    pages = doc.pageCount()
    painter = QPainter(writer)
    try:
        small = QFont("Helvetica")
        small.setPixelSize(9)  # layout pixels: the painter is scaled to the device
        for i in range(pages):
            if i:
                writer.newPage()
            painter.save()
            painter.scale(scale, scale)
            painter.translate(0, -i * size.height())
            doc.drawContents(painter, QRectF(0, i * size.height(), size.width(), size.height()))
            painter.restore()
            painter.save()
            painter.scale(scale, scale)
            painter.setFont(small)
            painter.setPen(QColor("#666666"))
            y = size.height() + _FOOTER - 6
            painter.drawLine(
                QPointF(0, size.height() + 4), QPointF(size.width(), size.height() + 4)
            )
            painter.drawText(QPointF(0, y), footer)
            text = f"page {i + 1} of {pages}"
            rect = QRectF(0, size.height() + 6, size.width(), _FOOTER - 6)
            painter.drawText(
                rect, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom), text
            )
            painter.restore()
    finally:
        painter.end()


_NB_SPAN = re.compile(r'(<span class="nb">)(.*?)(</span>)', re.S)


def unbreakable(html: str) -> str:
    """Hyphens in non-breaking spans made non-breaking (U+2011).

    Qt breaks a line at a hyphen even inside ``white-space: nowrap``, which
    cut dates in two ("2025-01-" / "28"); the non-breaking hyphen looks the same.
    """
    return _NB_SPAN.sub(lambda m: m[1] + m[2].replace("-", "\u2011") + m[3], html)


def chart_markup(name: str, _svg: str) -> str:
    """The PDF's chart markup: an image resource, wide charts across the text width."""
    width = WIDE_WIDTH if name in WIDE_CHARTS else CHART_WIDTH
    return f'<img src="mwchart:{name}.png" width="{width}">'


def report_pdf_parts(
    registry: Registry, facts: dict[str, Any], template: str
) -> tuple[str, dict[str, Any]]:
    """The PDF's HTML (stating the HTML rendition's hash) and its chart images."""
    inline = render_html(facts, template=template, generated_by=registry.actor)
    images = {f"mwchart:{n}.png": svg_to_image(svg) for n, svg in charts(facts).items()}
    html = render_html(
        facts,
        template=template,
        generated_by=registry.actor,
        chart_markup=chart_markup,
        digest=_stated_digest(inline),
    )
    return unbreakable(html), images


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
    html, images = report_pdf_parts(registry, facts, tpl)
    ref_text = facts["version"]["ref"]
    tmp = Path(path).with_name(f".{Path(path).name}.tmp.pdf")
    try:
        html_to_pdf(
            html,
            images,
            tmp,
            title=f"{ref_text}: model card",
            footer=f"{ref_text}: model card and validation report",
        )
        data = tmp.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)
    return finish(registry, facts, data, path)


def _stated_digest(html: str) -> str | None:
    """The report SHA-256 written into an HTML report (after 'Report SHA-256')."""
    m = re.search(r"Report SHA-256:.*?([0-9a-f]{64})", html, re.S)
    return m.group(1) if m else None


# --------------------------------------------------------------------------- facts for tests


# a date, time or number, which a line break must never cut (hex hashes may wrap)
_NUMERIC = re.compile(r"^[(#]?[+-]?[\d.,:%–-]*\d[\d.,:%–-]*[)]?$")


@dataclass
class PageFacts:
    """What each page of a laid-out report shows, line by line."""

    pages: list[list[str]] = field(default_factory=list)  # text lines per page, in order
    orphan_headings: list[str] = field(default_factory=list)  # headings last on their page
    split_rows: list[str] = field(default_factory=list)  # table cells that span two pages
    split_tokens: list[str] = field(default_factory=list)  # dates/numbers broken over lines


def pagination_facts(doc: QTextDocument) -> PageFacts:
    """Read back a laid-out report: lines per page, and what a careful reader would flag.

    A heading is an orphan when the next block with text starts on a later
    page; a token is split when a line ends in digits or a hyphen and the next
    line of the same block continues with digits (``2025-01-2`` / ``8``).
    """
    page_h = doc.pageSize().height()
    out = PageFacts(pages=[[] for _ in range(max(doc.pageCount(), 1))])
    blocks = []
    block = doc.begin()
    while block.isValid():
        blocks.append(block)
        block = block.next()
    for i, b in enumerate(blocks):
        r = doc.documentLayout().blockBoundingRect(b)
        lay = b.layout()
        text = b.text()
        lines = []
        for k in range(lay.lineCount() if lay is not None else 0):
            line = lay.lineAt(k)
            y = r.top() + line.y()
            seg = text[line.textStart() : line.textStart() + line.textLength()]
            lines.append(seg)
            page = min(int(y // page_h), len(out.pages) - 1)
            if seg.strip():
                out.pages[page].append(seg.strip())
        for a, c in zip(lines, lines[1:], strict=False):
            # a break at a space or a line separator is where the text allows one
            if not a or a[-1].isspace() or not c or c[0].isspace():
                continue
            tail, head = a.split()[-1], c.split()[0]
            if _NUMERIC.match(tail + head):
                out.split_tokens.append(f"{a!r} / {c!r}")
        if _keeps_with_next(b) and b.blockFormat().headingLevel() > 0:
            nxt = next((n for n in blocks[i + 1 :] if n.text().strip() or _has_image(n)), None)
            if nxt is not None and int(_top(doc, b) // page_h) != int(
                (_top(doc, nxt) + 1) // page_h
            ):
                out.orphan_headings.append(text)
        if lay is not None and lay.lineCount() and _split_cell(doc, b, page_h) is not None:
            out.split_rows.append(text)
    return out
