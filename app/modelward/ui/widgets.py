"""Small shared widgets and helpers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QFontMetrics, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QTableWidget,
    QVBoxLayout,
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


def page_layout(page: QWidget, title: str) -> tuple[QVBoxLayout, QHBoxLayout, QLabel]:
    """The frame every page shares: margins, a title with a count beside it, a head row.

    Returns the page's layout, the head row (after its stretch: add the page's
    buttons to it) and the count label (empty until the page sets it).
    """
    lay = QVBoxLayout(page)
    lay.setContentsMargins(20, 16, 20, 12)
    lay.setSpacing(10)
    head = QHBoxLayout()
    head.addWidget(label(title, "PageTitle"))
    count = label("", "CountLabel")
    head.addWidget(count, 0, Qt.AlignmentFlag.AlignBottom)
    head.addStretch(1)
    lay.addLayout(head)
    return lay, head, count


def setup_table(view: QTableView | QTableWidget, *, stretch_last: bool = True) -> None:
    """The look every table shares: row selection, no grid, compact rows, no row numbers."""
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    # Tab leaves the table for the next control; arrows move between cells.
    view.setTabKeyNavigation(False)
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


class ColumnFitter:
    """Sizes a table's columns to the table's width, until the user sizes one by hand.

    Each column gets what its header and its visible rows need (capped); when
    that is wider than the table, the ``flexible`` text columns (elided) give
    way, down to what their header needs, before a horizontal scroll bar
    appears. The last column takes any room left. Call :meth:`fit` when the
    content or the columns change and from the owning page's ``showEvent``, and
    ``fit(remeasure=False)`` from its ``resizeEvent`` (no event filter on the
    view: a Python filter on a view's viewport is called while Qt tears the
    view down). A column the user
    drags ends the automatic fitting for that view.
    """

    CAP = 260  # no column starts wider than this (long texts elide, tooltips show them)

    def __init__(
        self,
        view: QTableView,
        flexible: Sequence[int] = (),
        spare: int | None = None,
        last_resort: Sequence[int] = (),
    ):
        self.view = view
        self.flexible = tuple(flexible)
        self.last_resort = tuple(last_resort)
        """Text columns (model names, aliases) that give way only when that saves the
        horizontal scroll bar: with a scroll bar anyway, eliding them only hides which
        version is which."""
        self.spare = spare
        """A text column that takes the room left over (else the last column stretches, and
        a right-aligned number ends up far from its neighbours on a wide screen)."""
        self.user_sized = False
        self._fitting = False
        self._measured: tuple[list[int], list[int]] = ([], [])  # floor, natural
        view.horizontalHeader().sectionResized.connect(self._on_section_resized)

    def _on_section_resized(self, *_a: object) -> None:
        # Qt also resizes sections itself (the stretched last one); a drag has a button down.
        if not self._fitting and QApplication.mouseButtons() & Qt.MouseButton.LeftButton:
            self.user_sized = True

    def _measure(self, n: int) -> tuple[list[int], list[int]]:
        view, header = self.view, self.view.horizontalHeader()
        model = view.model()
        hfm = header.fontMetrics()
        # The rows on screen only, measured here: QTableView.sizeHintForColumn reads
        # up to 1,000 rows per column (200 ms on a paged 100,000-row model, and
        # page loads for rows nobody looks at).
        top = max(view.rowAt(0), 0)
        bottom = view.rowAt(view.viewport().height() - 1)
        if bottom < 0:
            bottom = model.rowCount() - 1
        rows = range(top, min(bottom, top + 60) + 1)
        fm = view.fontMetrics()
        advance: dict[str, int] = {}  # a column repeats its texts (statuses, dates, names)
        floor, want = [], []
        for c in range(n):
            text = str(model.headerData(c, Qt.Orientation.Horizontal) or "")
            need = hfm.horizontalAdvance(text) + 32  # padding and the sort arrow
            widest = 0
            for r in rows:
                # model.data, not index.data: a direct call, no trip through C++.
                ix = model.index(r, c)
                value = model.data(ix, Qt.ItemDataRole.DisplayRole)
                if value:
                    font = model.data(ix, Qt.ItemDataRole.FontRole)
                    value = str(value)
                    if font is not None:
                        width = QFontMetrics(font).horizontalAdvance(value)
                    else:
                        width = advance.get(value, -1)
                        if width < 0:
                            width = advance[value] = fm.horizontalAdvance(value)
                    widest = max(widest, width)
            floor.append(need)
            want.append(max(need, min(widest + 20, self.CAP)))
        return floor, want

    def fit_if_stale(self) -> None:
        """Fit if a fit was skipped while the table was hidden (call from showEvent)."""
        if not self._measured[0]:
            self.fit()

    def fit(self, *, remeasure: bool = True) -> None:
        model = self.view.model()
        n = model.columnCount() if model is not None else 0
        if self.user_sized or n == 0:
            return
        if not self.view.isVisible():  # a hidden page's table has no real width yet
            self._measured = ([], [])  # measure when shown (the page's showEvent)
            return
        if remeasure or len(self._measured[0]) != n:
            self._measured = self._measure(n)
        floor, want = self._measured[0], list(self._measured[1])
        over = sum(want) - self.view.viewport().width()
        flex = [c for c in self.flexible if c < n - 1]
        slack = sum(want[c] - floor[c] for c in flex)
        if over > 0 and slack > 0:
            take = min(over, slack) / slack
            for c in flex:
                want[c] -= int((want[c] - floor[c]) * take + 0.999)
        over = sum(want) - self.view.viewport().width()
        last = [c for c in self.last_resort if c < n - 1]
        last_slack = sum(want[c] - floor[c] for c in last)
        if 0 < over <= last_slack:
            take = over / last_slack
            for c in last:
                want[c] -= int((want[c] - floor[c]) * take + 0.999)
        elif over < 0 and self.spare is not None and self.spare < n - 1:
            want[self.spare] += -over - 2
        header = self.view.horizontalHeader()
        self._fitting = True
        try:
            for c in range(n):
                header.resizeSection(c, want[c])
        finally:
            self._fitting = False


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
        # The view's palette carries the soft selection colour as Highlight (style
        # sheet); the bar's fill is the accent, as in the status bar and details.
        accent = QApplication.palette().color(QPalette.ColorRole.Highlight)
        opt.palette.setColor(QPalette.ColorRole.Highlight, accent)
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, opt, painter, option.widget)


def on_enter(view: QAbstractItemView, slot: Callable[[QModelIndex], object]) -> None:
    """Call ``slot(current index)`` when Enter or Return is pressed in ``view``."""

    def fire() -> None:
        ix = view.currentIndex()
        if ix.isValid():
            slot(ix)

    for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        sc = QShortcut(QKeySequence(key), view)
        sc.setContext(Qt.ShortcutContext.WidgetShortcut)
        sc.activated.connect(fire)
