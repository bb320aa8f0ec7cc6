"""Watched folders and the live feed of arrivals, as small table models.

Both are fed on the GUI thread: the folder list and watcher events come from
:class:`~modelward.ui.bridge.WatchBridge` signals; the live counters
(taken, rejected, backlog, present) are read from the watcher's
``FolderStatus`` objects on a timer. Every file or folder name shown goes
through :func:`~modelward.core.watch.folders.display_name`, which escapes
control and bidi characters a hostile name could use to forge a row.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from modelward.core.watch import MODELS, WatchedFolder
from modelward.core.watch.folders import display_name
from modelward.ui.bridge import WatchBridge
from modelward.ui.models.base import RIGHT, HeaderedTableModel, shown
from modelward.ui.models.roles import ROW_ID_ROLE, STATE_ROLE

if TYPE_CHECKING:
    from modelward.core.watch import WatchEvent

Index = QModelIndex | QPersistentModelIndex
FEED_MAX = 1000
DANGER, WARNING, SUCCESS, MUTED = "#c8372d", "#b7791f", "#1f8a4c", "#8a8f98"

# What the feed shows for each event kind: label, colour. Other kinds are not shown.
FEED_KINDS = {
    "ingested": ("✓ Registered", SUCCESS),
    "rejected": ("✗ Rejected", DANGER),
    "error": ("⚠ Error", WARNING),
    "folder-missing": ("⚠ Folder missing", WARNING),
    "folder-back": ("Folder back", MUTED),
}
STATE_COLORS = {"paused": MUTED, "missing": DANGER, "starting": MUTED}


def clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


class QtWatchedFoldersModel(HeaderedTableModel):
    """One row per watched folder: where, what, how, state, last event, counts."""

    headers = (
        "Folder",
        "Kind",
        "Model",
        "Mode",
        "State",
        "Last event",
        "Taken",
        "Rejected",
        "Backlog",
    )
    NUMERIC = (6, 7, 8)

    def is_numeric(self, column: int) -> bool:
        return column in self.NUMERIC

    def __init__(self, bridge: WatchBridge, parent: QObject | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self._folders: list[WatchedFolder] = []
        self._last: dict[str, tuple[float, str]] = {}  # folder path -> (time, text)
        # Taken / rejected since the window opened, counted from events: the watcher
        # restarts (and its own counters start again) whenever the folders change.
        self._counts: dict[str, list[int]] = {}

    def set_folders(self, folders: list[WatchedFolder]) -> None:
        self.beginResetModel()
        self._folders = list(folders)
        self.endResetModel()

    def folder_at(self, row: int) -> WatchedFolder | None:
        return self._folders[row] if 0 <= row < len(self._folders) else None

    def row_of(self, folder_id: int) -> int:
        return next((i for i, f in enumerate(self._folders) if f.id == folder_id), -1)

    def note_event(self, event: WatchEvent) -> None:
        if event.kind in FEED_KINDS:
            what = FEED_KINDS[event.kind][0].lstrip("✓✗⚠ ")
            name = f": {display_name(PurePath(event.path).name)}" if event.path else ""
            self._last[event.folder] = (event.at, f"{what.lower()}{name}")
        if event.kind in ("ingested", "rejected"):
            counts = self._counts.setdefault(event.folder, [0, 0])
            counts[event.kind == "rejected"] += 1
        self.update_status()

    def update_status(self) -> None:
        """Re-read the live counters (a timer and every event call this)."""
        if self._folders:
            self.dataChanged.emit(
                self.index(0, 4), self.index(len(self._folders) - 1, len(self.headers) - 1)
            )

    def state(self, f: WatchedFolder) -> str:
        if f.paused:
            return "paused"
        st = self.bridge.status(f.id)
        if st is None:
            return "starting"
        return "active" if st.present else "missing"

    def _text(self, f: WatchedFolder, column: int) -> str:
        if column == 0:
            return display_name(f.path)
        if column == 1:
            return {MODELS: "Models", "scoring": "Scoring"}.get(f.kind, "Data batches")
        if column == 2:
            return display_name(f.model_name) if f.model_name else "from file name"
        if column == 3:
            return "Polling" if f.polling else "Events"
        if column == 4:
            return self.state(f).capitalize()
        if column == 5:
            last = self._last.get(f.path)
            return f"{clock(last[0])}  {last[1]}" if last else "—"
        if column in (6, 7):
            return str(self._counts.get(f.path, (0, 0))[column - 6])
        st = self.bridge.status(f.id)
        return "—" if st is None else str(st.backlog)

    # ------------------------------------------------------------ Qt model
    def _row_count(self) -> int:
        return len(self._folders)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        f = self.folder_at(index.row())
        if f is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return shown(self._text(f, col))
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return display_name(f.path)
        if role == Qt.ItemDataRole.TextAlignmentRole and self.is_numeric(col):
            return RIGHT
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 4 and self.state(f) in STATE_COLORS:
                return QColor(STATE_COLORS[self.state(f)])
            if col == 7 and self._text(f, 7) not in ("0", "—"):
                return QColor(DANGER)
        if role == ROW_ID_ROLE:
            return f.id
        if role == STATE_ROLE:
            return self.state(f)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )


class QtWatchFeedModel(HeaderedTableModel):
    """Arrivals, newest first: time, folder, file, result, ref or reason (last 1,000)."""

    headers = ("Time", "Folder", "File", "Result", "Version / reason")

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._rows: deque[tuple[str, ...]] = deque()  # (time, folder, file, result, detail, kind)

    def add_event(self, event: WatchEvent) -> bool:
        """Show ``event`` if it is an arrival or a folder change; returns whether it was shown."""
        if event.kind not in FEED_KINDS:
            return False
        folder = display_name(PurePath(event.folder).name or event.folder)
        file = display_name(PurePath(event.path).name) if event.path else ""
        detail = event.ref or display_name(event.detail)
        row = (clock(event.at), folder, file, FEED_KINDS[event.kind][0], detail, event.kind)
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._rows.appendleft(row)
        self.endInsertRows()
        if len(self._rows) > FEED_MAX:
            self.beginRemoveRows(QModelIndex(), FEED_MAX, len(self._rows) - 1)
            while len(self._rows) > FEED_MAX:
                self._rows.pop()
            self.endRemoveRows()
        return True

    def kind_at(self, row: int) -> str:
        return self._rows[row][5] if 0 <= row < len(self._rows) else ""

    def _row_count(self) -> int:
        return len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return shown(row[col])
        if role == Qt.ItemDataRole.ToolTipRole and col in (2, 4):
            return shown(row[col], role)
        if role == Qt.ItemDataRole.ForegroundRole and col in (3, 4) and row[5] != "ingested":
            return QColor(FEED_KINDS[row[5]][1])
        if role == Qt.ItemDataRole.ForegroundRole and col == 3:
            return QColor(SUCCESS)
        if role == STATE_ROLE:
            return row[5]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )
