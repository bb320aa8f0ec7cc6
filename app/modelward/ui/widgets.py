"""Small shared widgets and helpers."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtWidgets import (
    QApplication,
    QHeaderView,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QTableWidget,
    QWidget,
)

from modelward.ui.models.roles import PROGRESS_ROLE


def label(
    text: str, name: str = "", parent: QWidget | None = None, *, wrap: bool = False
) -> QLabel:
    w = QLabel(text, parent)
    if name:
        w.setObjectName(name)
    w.setWordWrap(wrap)
    return w


def setup_table(view: QTableView | QTableWidget, *, stretch_last: bool = True) -> None:
    """The look every table shares: row selection, no grid, compact rows, no row numbers."""
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(max(26, view.fontMetrics().height() + 10))
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    h = view.horizontalHeader()
    h.setHighlightSections(False)
    h.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    h.setStretchLastSection(stretch_last)
    h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)


class ProgressDelegate(QStyledItemDelegate):
    """Paints a progress bar from ``PROGRESS_ROLE`` (no widget per row)."""

    def paint(
        self,
        painter,  # type: ignore[no-untyped-def]
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        value = index.data(PROGRESS_ROLE)
        if value is None:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionProgressBar()
        r = option.rect
        opt.rect = QRect(r.x() + 6, r.y() + (r.height() - 14) // 2, r.width() - 12, 14)
        opt.minimum, opt.maximum = 0, 1000
        opt.progress = int(float(value) * 1000)
        opt.text = f"{float(value):.0%}"
        opt.textVisible = False
        opt.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal
        opt.palette = option.palette
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, opt, painter, option.widget)
