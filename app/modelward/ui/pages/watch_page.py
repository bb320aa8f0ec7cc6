"""Watched folders: add, remove, pause, resume, rescan; their state; a live feed of arrivals."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from modelward.core.watch import WatchedFolder
from modelward.ui.models.watch_tables import QtWatchedFoldersModel, QtWatchFeedModel
from modelward.ui.widgets import label, page_layout, setup_table


class WatchPage(QWidget):
    """The panel over the window's :class:`~modelward.ui.bridge.WatchBridge`."""

    sig_add_requested = Signal()
    """The user wants to add a folder (the window opens the dialog)."""

    def __init__(
        self,
        folders: QtWatchedFoldersModel,
        feed: QtWatchFeedModel,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.folders = folders
        self.feed = feed
        self.bridge = folders.bridge
        lay, head, self.count_label = page_layout(self, "Watched folders")
        self.rescan_button = QPushButton("Rescan")
        self.rescan_button.setToolTip("List every folder now (files missed while closed)")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Stop taking arrivals from the selected folder for now")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Take arrivals from the selected folder again")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip(
            "Stop watching the folder (its files and versions stay where they are)"
        )
        self.add_button = QPushButton("Add folder…")
        self.add_button.setToolTip("Watch a folder for model files or data batches")
        self.add_button.setProperty("primary", True)
        for b in (
            self.rescan_button,
            self.pause_button,
            self.resume_button,
            self.remove_button,
            self.add_button,
        ):
            head.addWidget(b)
        self.error_label = label("", "Error", wrap=True)
        self.error_label.hide()
        lay.addWidget(self.error_label)

        split = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        self.table = QTableView()
        self.table.setModel(folders)
        setup_table(self.table, stretch_last=False)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # keep the folder's own name
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, w in ((1, 110), (2, 130), (3, 75), (4, 85), (5, 250), (6, 64), (7, 84), (8, 76)):
            h.resizeSection(col, w)
        tl.addWidget(self.table, 1)
        self.empty_label = label(
            "No folder is watched yet. Add one: model files saved there are registered "
            "automatically, and files that fail the checks are quarantined with a reason.",
            "Muted",
            wrap=True,
        )
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        tl.addWidget(self.empty_label)
        split.addWidget(top)

        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 6, 0, 0)
        fh = QHBoxLayout()
        fh.addWidget(label("Arrivals", "SectionTitle"))
        self.feed_label = label("live, newest first", "Muted")
        fh.addWidget(self.feed_label, 0, Qt.AlignmentFlag.AlignBottom)
        fh.addStretch(1)
        bl.addLayout(fh)
        self.feed_table = QTableView()
        self.feed_table.setModel(feed)
        setup_table(self.feed_table)
        self.feed_table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        fh2 = self.feed_table.horizontalHeader()
        for col, w in ((0, 80), (1, 160), (2, 220), (3, 120)):
            fh2.resizeSection(col, w)
        bl.addWidget(self.feed_table, 1)
        split.addWidget(bottom)
        split.setSizes([240, 420])
        lay.addWidget(split, 1)

        self.add_button.clicked.connect(self.sig_add_requested)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.pause_button.clicked.connect(lambda: self._set_paused(True))
        self.resume_button.clicked.connect(lambda: self._set_paused(False))
        self.rescan_button.clicked.connect(self.bridge.rescan)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self._keep: int | None = None
        folders.modelAboutToBeReset.connect(self._on_folders_resetting)
        folders.modelReset.connect(self._on_folders_reset)
        folders.dataChanged.connect(lambda *_: self._update_buttons())
        self._on_folders_reset()

    def selected_folder(self) -> WatchedFolder | None:
        rows = self.table.selectionModel().selectedRows()
        return self.folders.folder_at(rows[0].row()) if rows else None

    def select_folder(self, folder_id: int) -> None:
        row = self.folders.row_of(folder_id)
        if row >= 0:
            self.table.selectRow(row)

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _on_folders_resetting(self) -> None:
        f = self.selected_folder()
        self._keep = f.id if f else None

    def _on_folders_reset(self) -> None:
        n = self.folders.rowCount()
        if self._keep is not None and self.folders.row_of(self._keep) >= 0:
            self.select_folder(self._keep)
        self.count_label.setText(f"{n} folder{'s' if n != 1 else ''}" if n else "")
        self.empty_label.setVisible(n == 0)
        self.table.setVisible(n > 0)
        if n and not self.table.selectionModel().selectedRows():
            self.table.selectRow(0)
        self._update_buttons()

    def _update_buttons(self) -> None:
        f = self.selected_folder()
        self.remove_button.setEnabled(f is not None)
        self.pause_button.setEnabled(f is not None and not f.paused)
        self.resume_button.setEnabled(f is not None and f.paused)
        self.rescan_button.setEnabled(self.folders.rowCount() > 0)

    def _on_remove_clicked(self) -> None:
        f = self.selected_folder()
        if f is not None:
            self.show_error("")
            self.bridge.remove(f.id)

    def _set_paused(self, paused: bool) -> None:
        f = self.selected_folder()
        if f is not None:
            self.show_error("")
            self.bridge.set_paused(f.id, paused)
