"""A table model over a list of plain rows (dataclasses), described by its columns.

The pages that show a short, fully read list (alerts, approvals, policies, a
model's versions and history) use it instead of filling ``QTableWidget``
items by hand: the rows stay plain objects, the view asks for what it paints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QColor, QFont

from modelward.ui.models.base import RIGHT, HeaderedTableModel, Index, shown
from modelward.ui.models.roles import ROW_ID_ROLE

R = TypeVar("R")
ROW_ROLE = int(Qt.ItemDataRole.UserRole) + 20
"""The row object itself."""


@dataclass(frozen=True)
class Column(Generic[R]):
    """One column: its header and how a row shows in it."""

    header: str
    text: Callable[[R], Any]
    color: Callable[[R], str | None] | None = None
    bold: Callable[[R], bool] | None = None
    tooltip: Callable[[R], str | None] | None = None
    numeric: bool = False


class RowTableModel(HeaderedTableModel, Generic[R]):
    """Rows of type ``R`` in :attr:`columns`; :meth:`set_rows` replaces them all."""

    columns: Sequence[Column[Any]] = ()
    row_id: Callable[[Any], int] | None = None

    def __init__(self, parent: QObject | None = None, columns: Sequence[Column[Any]] | None = None):
        super().__init__(parent)
        if columns is not None:
            self.columns = tuple(columns)
        self.headers = tuple(c.header for c in self.columns)
        self.rows: list[R] = []
        self._bold = QFont()
        self._bold.setBold(True)

    def set_rows(self, rows: Sequence[R], columns: Sequence[Column[Any]] | None = None) -> None:
        """Replace the rows (and the columns, for tables whose columns follow the data)."""
        self.beginResetModel()
        self.rows = list(rows)
        if columns is not None:
            self.columns = tuple(columns)
            self.headers = tuple(c.header for c in self.columns)
        self.endResetModel()

    def row(self, r: int) -> R | None:
        return self.rows[r] if 0 <= r < len(self.rows) else None

    def _row_count(self) -> int:
        return len(self.rows)

    def is_numeric(self, column: int) -> bool:
        return 0 <= column < len(self.columns) and self.columns[column].numeric

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        r, c = index.row(), index.column()
        if not (0 <= r < len(self.rows) and 0 <= c < len(self.columns)):
            return None
        row, col = self.rows[r], self.columns[c]
        if role == Qt.ItemDataRole.DisplayRole:
            v = col.text(row)
            return "" if v is None else shown(str(v))
        if role == Qt.ItemDataRole.ForegroundRole and col.color is not None:
            color = col.color(row)
            return QColor(color) if color else None
        if role == Qt.ItemDataRole.FontRole and col.bold is not None:
            return self._bold if col.bold(row) else None
        if role == Qt.ItemDataRole.ToolTipRole and col.tooltip is not None:
            return shown(col.tooltip(row), role)
        if role == Qt.ItemDataRole.TextAlignmentRole and col.numeric:
            return RIGHT
        if role == ROW_ROLE:
            return row
        if role == ROW_ID_ROLE and self.row_id is not None:
            return self.row_id(row)
        return None

    def index_of(self, predicate: Callable[[R], bool]) -> QModelIndex:
        """The first column's index of the first row that matches (invalid if none)."""
        for r, row in enumerate(self.rows):
            if predicate(row):
                return self.index(r, 0)
        return QModelIndex()
