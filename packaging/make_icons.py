"""Render the application icon: ``python packaging/make_icons.py``.

Reads ``resources/icons/modelward.svg`` and writes, next to it,
``modelward-<N>.png`` for N in 16, 24, 32, 48, 64, 128, 256 (the Linux desktop
and the window icon) and ``modelward.ico`` (the Windows executable), whose
images are the same PNGs (PNG-compressed ICO entries, read by Windows Vista and
later). The output depends only on the SVG and the Qt version, so re-running the
script reproduces the committed files; ``--out DIR`` writes elsewhere (the tests
compare the two).
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
SOURCE = ICONS / "modelward.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256)


def render_png(renderer: QSvgRenderer, size: int) -> bytes:
    """The SVG drawn at ``size`` × ``size`` pixels, as PNG bytes (straight alpha)."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.convertToFormat(QImage.Format.Format_ARGB32).save(buf, "PNG"):
        raise RuntimeError(f"Qt could not write a {size} px PNG")
    buf.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows ICO file holding one PNG-compressed image per size."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        blob = pngs[size]
        side = 0 if size >= 256 else size  # 0 means 256 in an ICO directory
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(blob), offset)
        offset += len(blob)
        blobs += blob
    return header + entries + blobs


def build(source: Path, out: Path) -> list[Path]:
    """Write the PNGs and the ICO for ``source`` into ``out``; returns the files written."""
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(source))
    if not renderer.isValid():
        raise SystemExit(f"{source}: not an SVG Qt can read")
    out.mkdir(parents=True, exist_ok=True)
    pngs = {size: render_png(renderer, size) for size in SIZES}
    written = []
    for size, blob in pngs.items():
        path = out / f"modelward-{size}.png"
        path.write_bytes(blob)
        written.append(path)
    ico = out / "modelward.ico"
    ico.write_bytes(ico_bytes(pngs))
    written.append(ico)
    del app
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=ICONS)
    args = parser.parse_args(argv)
    for path in build(args.source, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
