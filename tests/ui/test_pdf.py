"""The PDF report through Qt's own writer, looked at as page images."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.evidence import build  # noqa: E402


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


def test_pdf_renders_pages_with_text_and_charts(qapp, tmp_path):
    from PySide6.QtGui import QImage

    from modelward.ui.pdf import write_pdf

    reg, ref = build(tmp_path / "reg", batches=3)
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
