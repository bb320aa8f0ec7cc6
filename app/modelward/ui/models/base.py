"""What every flat table model of the window shares: fixed column headers, no tree."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from modelward.core.text import safe_display

Index = QModelIndex | QPersistentModelIndex
RIGHT_ALIGN = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
RIGHT = int(RIGHT_ALIGN)  # what data() returns for TextAlignmentRole
_TEXT_ROLES = (int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.ToolTipRole))


def shown(value: Any, role: int = int(Qt.ItemDataRole.DisplayRole)) -> Any:
    """A cell's value as the view shows it: texts of the display and tooltip roles go
    through :func:`~modelward.core.text.safe_display` (a name with a newline or
    U+202E is shown escaped, never rendered); other roles and values pass as they are."""
    if isinstance(value, str) and int(role) in _TEXT_ROLES:
        return safe_display(value)
    return value


class HeaderedTableModel(QAbstractTableModel):
    """A flat table: subclasses give ``headers`` and ``_row_count()``, and ``data()``."""

    headers: tuple[str, ...] = ()
    header_tips: dict[int, str] = {}  # noqa: RUF012  (replaced per instance, never mutated)

    def _row_count(self) -> int:
        raise NotImplementedError

    def is_numeric(self, column: int) -> bool:
        """Numbers are right-aligned, and so is their column's header."""
        return False

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._row_count()

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.headers):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and self.is_numeric(section):
            return RIGHT
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.header_tips.get(section)
        return None
