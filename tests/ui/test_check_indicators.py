"""Check indicators are drawn by the style sheet and visible in both themes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QCheckBox, QTableView, QVBoxLayout, QWidget

from modelward.ui.app import make_app
from modelward.ui.theme import apply_theme, colors


def _contrast(a: QColor, b: QColor) -> int:
    return sum(abs(x - y) for x, y in zip(a.getRgb()[:3], b.getRgb()[:3], strict=True))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_unticked_and_ticked_boxes_stand_out(qtbot, theme):
    app = make_app(theme)
    apply_theme(app, theme)
    c = colors(theme)
    w = QWidget()
    lay = QVBoxLayout(w)
    off, on = QCheckBox("off"), QCheckBox("on")
    on.setChecked(True)
    model = QStandardItemModel(2, 1)
    for row, state in enumerate((Qt.CheckState.Unchecked, Qt.CheckState.Checked)):
        item = QStandardItem(f"row {row}")
        item.setCheckable(True)
        item.setCheckState(state)
        model.setItem(row, 0, item)
    table = QTableView()
    table.setModel(model)
    for x in (off, on, table):
        lay.addWidget(x)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    base = QColor(c["base"])

    def box_pixels(widget: QWidget, rect) -> list[QColor]:
        img = widget.grab(rect).toImage()
        return [img.pixelColor(x, y) for x in range(img.width()) for y in range(img.height())]

    for box in (off, on):
        img = box.grab().toImage()
        # the indicator sits at the left, vertically centred
        pixels = [img.pixelColor(x, img.height() // 2) for x in range(0, 18)]
        best = max(_contrast(p, QColor(c["window"])) for p in pixels)
        assert best > 120, f"{theme}: the {box.text()} box is not visible ({best})"
    # ticked: the accent fills the box, and the white tick is drawn on it
    img = on.grab().toImage()
    colours = {img.pixelColor(x, y).name() for x in range(18) for y in range(img.height())}
    assert c["accent"].lower() in colours and "#ffffff" in colours
    # table cells: an unticked cell's box differs from the cell's base
    for row in (0, 1):
        rect = table.visualRect(model.index(row, 0))
        pixels = box_pixels(table.viewport(), rect.adjusted(0, 0, -(rect.width() - 24), 0))
        assert max(_contrast(p, base) for p in pixels) > 120, f"{theme}: row {row} box invisible"
