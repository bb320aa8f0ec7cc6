"""The PDF report through Qt's own writer, looked at as page images."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.evidence import build  # noqa: E402
from support.report_shapes import enrich  # noqa: E402


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    """A validated, monitored version with explanations, credit curves and a threshold."""
    reg, ref = build(tmp_path_factory.mktemp("pdf") / "reg", batches=3)
    enrich(reg, ref)
    return reg, ref


def _ink(img) -> tuple[float, int]:
    """Share of dark pixels, and how many pixels are the charts' blue."""
    import numpy as np
    from PySide6.QtGui import QImage

    img = img.convertToFormat(QImage.Format.Format_RGB32)
    rows = np.frombuffer(img.constBits(), dtype=np.uint8).reshape(img.height(), -1)
    px = rows[:, : img.width() * 4].reshape(img.height(), img.width(), 4)
    b, g, r = (px[..., i].astype(int) for i in range(3))
    dark = float(((r + g + b) / 3 < 160).mean())
    blue = int(((b > 180) & (r < 110) & (g < 160)).sum())
    return dark, blue


def test_pdf_renders_pages_with_text_and_charts(qapp, card, tmp_path):
    from PySide6.QtGui import QImage

    from modelward.ui.pdf import write_pdf

    reg, ref = card
    out = tmp_path / "card.pdf"
    res = write_pdf(reg, ref, out, n_boot=20)
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and res["bytes"] == len(data)
    assert reg.audit_events(action="report.generated")[0].after["sha256"] == res["sha256"]
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is needed to look at the pages")
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(out), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 4
    inks = [_ink(QImage(str(p))) for p in pages]
    assert all(0.002 < dark < 0.5 for dark, _ in inks), inks  # text on every page, not black
    assert sum(1 for _, blue in inks if blue > 10) >= 2, inks  # the charts are drawn


def test_the_report_paginates_cleanly(qapp, card):
    """No heading ends a page, no table row or date is cut, every page has text."""
    from modelward.core.evidence.reports import gather_facts, load_template
    from modelward.ui.pdf import layout_report, pagination_facts, report_pdf_parts

    reg, ref = card
    facts = gather_facts(reg, ref, n_boot=10)
    html, images = report_pdf_parts(reg, facts, load_template(reg))
    doc = layout_report(html, images)
    facts_ = pagination_facts(doc)
    assert doc.pageCount() >= 4
    assert facts_.orphan_headings == []
    assert facts_.split_rows == []
    assert facts_.split_tokens == []
    assert all(page for page in facts_.pages)
    assert facts_.pages[0][0].startswith("credit:1: model card")
    assert any("Gates" == line for line in facts_.pages[0])  # the summary is the first page


def _filler(n: int) -> str:
    return "".join(f"<p>Paragraph {i} of the filler text that takes a line.</p>" for i in range(n))


def test_a_heading_that_would_end_a_page_moves_to_the_next(qapp):
    from PySide6.QtGui import QTextDocument

    from modelward.core.evidence.reports.render import _table
    from modelward.ui.pdf import _text_size, layout_report, pagination_facts

    tail = "<h2>7. Monitoring</h2>" + _table(["Batch", "Time"], [["a", "2025-01-28"]] * 3)
    for n in range(30, 90):
        plain = QTextDocument()
        plain.setHtml(_filler(n) + tail)
        plain.setPageSize(_text_size())
        if pagination_facts(plain).orphan_headings:  # Qt alone strands it here
            break
    else:
        pytest.fail("no filler length put the heading at a page bottom")
    fixed = pagination_facts(layout_report(_filler(n) + tail, {}))
    assert fixed.orphan_headings == []
    assert fixed.pages[1][0] == "7. Monitoring"


def test_a_short_table_whose_row_would_split_moves_whole_to_the_next_page(qapp):
    from PySide6.QtGui import QTextDocument

    from modelward.core.evidence.reports.render import _table
    from modelward.ui.pdf import _text_size, layout_report, pagination_facts

    cell = "<br>".join(f"line {k}" for k in range(6))
    tail = _table(None, [[f"<b>hash {i}</b><br>{cell}"] for i in range(3)])
    for n in range(30, 90):
        plain = QTextDocument()
        plain.setHtml(_filler(n) + tail)
        plain.setPageSize(_text_size())
        if pagination_facts(plain).split_rows:  # Qt alone cuts a row here
            break
    else:
        pytest.fail("no filler length put a row across a page end")
    fixed = pagination_facts(layout_report(_filler(n) + tail, {}))
    assert fixed.split_rows == []
    assert fixed.pages[1][0] == "hash 0"


def test_long_tables_repeat_their_header_and_keep_dates_whole(qapp, tmp_path):
    from PySide6.QtGui import QTextCursor

    from modelward.core.evidence.reports.render import _nb, _table
    from modelward.ui.pdf import html_to_pdf, layout_report, pagination_facts, unbreakable

    rows = [[f"batch {i}", _nb(f"2025-01-{i % 28 + 1:02d} 09:30"), "x " * 40] for i in range(90)]
    html = unbreakable(
        "<style>span.nb { white-space: nowrap; }</style>" + _table(["Batch", "Time", "Note"], rows)
    )
    doc = layout_report(html, {})
    facts = pagination_facts(doc)
    assert len(facts.pages) >= 2
    assert facts.split_rows == [] and facts.split_tokens == []
    block = doc.begin()
    while block.isValid() and QTextCursor(block).currentTable() is None:
        block = block.next()
    table = QTextCursor(block).currentTable()
    assert table is not None and table.format().headerRowCount() == 1  # Qt repeats it per page
    if shutil.which("pdftotext") is None:
        return
    out = tmp_path / "long.pdf"
    html_to_pdf(html, {}, out)
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) >= 2
    assert all(p.strip().splitlines()[0].split() == ["Batch", "Time", "Note"] for p in pages)


def test_cli_writes_the_pdf_report(run_cli, card, tmp_path):
    reg, ref = card
    out = tmp_path / "card.pdf"
    r = run_cli(
        "--registry",
        str(reg.home),
        "report",
        ref,
        "-o",
        str(out),
        "--n-boot",
        "0",
        env={"QT_QPA_PLATFORM": "offscreen"},
    )
    assert r.returncode == 0, r.stderr
    assert out.read_bytes().startswith(b"%PDF") and f"wrote {out}" in r.stdout
    if shutil.which("pdftotext") is None:
        return  # the page text is checked on the layout above; poppler reads it back here
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = text.split("\f")
    assert "1. Summary" in pages[0] and "page 1 of" in pages[0]
    # every section is drawn (Qt once stopped drawing after a table that spans pages)
    for n in range(1, 11):
        assert re.search(rf"^\s*{n}\. [A-Z]", text, re.M), n
    assert "Report SHA-256" in text and "Not recorded" in pages[0]
    for page in pages:
        lines = [ln.strip() for ln in page.splitlines() if ln.strip()]
        # the last line of text on a page is its footer, never a section heading
        body = [ln for ln in lines if "page " not in ln and "model card and validation" not in ln]
        if body:
            assert not re.match(r"^\d+\. [A-Z]", body[-1]), body[-1]
        for ln in lines:
            assert not re.search(r"\b\d{4}[-\u2011]\d{2}[-\u2011]?$", ln), ln
