"""QApplication setup and the main window (the registry browser)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtWidgets import QApplication, QHeaderView, QMainWindow, QTableView

from modelward import __version__
from modelward.core.domain import ModelVersion
from modelward.core.registry import Registry

Index = QModelIndex | QPersistentModelIndex


class VersionsTableModel(QAbstractTableModel):
    """Model versions of a registry, newest model first."""

    HEADERS = ("Model", "Version", "Aliases", "Format", "Estimator", "Status", "Created", "By")

    def __init__(self, registry: Registry, parent: Any = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self._rows: list[ModelVersion] = []
        self.refresh()

    def refresh(self) -> None:
        self.beginResetModel()
        self._rows = self.registry.list_versions()
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        v = self._rows[index.row()]
        col = index.column()
        values = (
            v.name,
            v.version,
            ", ".join(v.aliases),
            v.format,
            (v.estimator_class or "").rsplit(".", 1)[-1],
            v.status,
            v.created_at[:19].replace("T", " "),
            v.created_by,
        )
        return values[col]


class MainWindow(QMainWindow):
    """The registry browser."""

    def __init__(self, registry: Registry) -> None:
        super().__init__()
        self.registry = registry
        self.setWindowTitle(f"ModelWard {__version__} — {registry.home}")
        self.model = VersionsTableModel(registry, self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.setCentralWidget(self.table)
        self.statusBar().showMessage(f"{self.model.rowCount()} versions")
        self.resize(1100, 700)


def _app() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("ModelWard")
        app.setOrganizationName("ModelWard")
    assert isinstance(app, QApplication)
    return app


def run_app(registry: str | os.PathLike[str] | None, *, smoke: bool = False) -> int:
    app = _app()
    reg = Registry(registry, idle_release=1.0)
    win = MainWindow(reg)
    win.show()
    if smoke:
        QTimer.singleShot(1000, app.quit)
    code = app.exec()
    reg.close()
    return int(code)


def open_and_close(registry: str | os.PathLike[str] | Path) -> int:
    app = _app()
    reg = Registry(registry)
    win = MainWindow(reg)
    win.show()
    QTimer.singleShot(200, app.quit)
    app.exec()
    n = win.model.rowCount()
    win.close()
    win.deleteLater()
    reg.close()
    return n
