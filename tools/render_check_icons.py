"""Render the check-indicator images of resources/style.qss (white marks, drawn on the accent).

    python tools/render_check_icons.py

PNG, not SVG: the bundle ships no SVG image plugin. Drawn at 2x for HiDPI screens.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPen  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZE = 32  # shown at 16 px


def _image() -> tuple[QImage, QPainter]:
    img = QImage(SIZE, SIZE, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(QColor("#ffffff"), 4.2)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    return img, p


def main() -> None:
    QGuiApplication([])
    img, p = _image()
    p.drawPolyline([QPointF(7.5, 16.5), QPointF(13.5, 22.5), QPointF(24.5, 10.0)])
    p.end()
    img.save(str(OUT / "check.png"))
    img, p = _image()
    p.drawLine(QPointF(9, 16), QPointF(23, 16))
    p.end()
    img.save(str(OUT / "check-partial.png"))


if __name__ == "__main__":
    main()
