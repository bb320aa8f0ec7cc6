"""Scoring: inboxes scored by a model's champion into outboxes, their last batches, throughput.

The page reads :func:`~modelward.core.watch.deployments.scoring_overview` on the
window's reader thread whenever the registry changes; the window's watcher
does the scoring (a scoring folder is a watched folder). :func:`install` adds
the page to a window (navigation, a small *Deployed* line on the model page)
so the window itself needs one call. *Reason codes* opens the selected batch's
first rows (with the version that scored it, from its manifest): clicking a row
shows its reason codes, computed in the worker like the validation panel's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from modelward.core.clock import display_ts
from modelward.core.watch.folders import SCORING
from modelward.ui.pages.explain_panel import ReasonRows
from modelward.ui.widgets import label, page_layout, setup_table

if TYPE_CHECKING:
    from modelward.ui.main_window import MainWindow

__all__ = ["AddScoringFolderDialog", "ScoringController", "ScoringPage", "install"]

CHANNEL = "scoring"
MODEL_CHANNEL = "scoring-model"
FOLDER_COLUMNS = ("Inbox", "Outbox", "Model", "Scored by", "Shadows", "State", "Waiting")
BATCH_COLUMNS = ("Time", "Batch", "Scored by", "Rows", "Rejected", "Seconds", "Output")


FIRST_REFRESH_MS = 200
"""The page's first read waits this long: after the window's first paint and its table."""


def _overview(registry: Any, **kw: Any) -> dict[str, Any]:
    """:func:`~modelward.core.watch.deployments.scoring_overview`, on the reader's thread.

    Imported here: its module imports the watched folders' intake and scoring (NumPy,
    the policies, the scoring engine), about a third of the window's start (measured,
    issue 21), which the first paint does not need.
    """
    from modelward.core.watch.deployments import scoring_overview

    return scoring_overview(registry, **kw)


def open_path(path: str) -> bool:
    """Open a file with the desktop's program for it (tests replace this)."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def _item(text: Any, tip: str = "", *, number: bool = False) -> QTableWidgetItem:
    it = QTableWidgetItem("–" if text is None or text == "" else str(text))
    it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if tip:
        it.setToolTip(tip)
    if number:
        it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return it


class AddScoringFolderDialog(QDialog):
    """Inbox, outbox, model and id column of a new scoring folder."""

    def __init__(self, models: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Add a scoring folder")
        form = QFormLayout(self)
        self.inbox = QLineEdit()
        self.inbox.setPlaceholderText("where batches to score arrive")
        self.outbox = QLineEdit()
        self.outbox.setPlaceholderText("where the scored batches go")
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.addItems(models)
        self.model.setToolTip("The model whose champion scores every batch")
        self.id_column = QLineEdit()
        self.id_column.setPlaceholderText("optional, e.g. loan_id (passed through; joins labels)")
        for text, edit in (("Inbox", self.inbox), ("Outbox", self.outbox)):
            row = QHBoxLayout()
            row.addWidget(edit, 1)
            b = QPushButton("Browse…")
            b.setToolTip(f"Choose the {text.lower()} folder")
            b.clicked.connect(lambda _c=False, e=edit: self._browse(e))
            row.addWidget(b)
            form.addRow(text, row)
        form.addRow("Model", self.model)
        form.addRow("Id column", self.id_column)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        for e in (self.inbox, self.outbox):
            e.textChanged.connect(self._update)
        self.model.currentTextChanged.connect(self._update)
        self._update()

    def _browse(self, edit: QLineEdit) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if path:
            edit.setText(path)

    def _update(self) -> None:
        ok = bool(
            self.inbox.text().strip()
            and self.outbox.text().strip()
            and self.model.currentText().strip()
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def values(self) -> tuple[str, str, str, str | None]:
        return (
            self.inbox.text().strip(),
            self.outbox.text().strip(),
            self.model.currentText().strip(),
            self.id_column.text().strip() or None,
        )


class ScoringPage(QWidget):
    """The scoring folders and the last batches they scored."""

    sig_add_requested = Signal()
    sig_refresh_requested = Signal()
    sig_explain_requested = Signal(str)
    """the output of the selected batch, whose rows the user wants explained."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.overview: dict[str, Any] = {"folders": [], "batches": [], "throughput": None}
        lay, head, self.throughput_label = page_layout(self, "Scoring")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the folders and batches again")
        self.open_button = QPushButton("Open output")
        self.open_button.setToolTip("Open the selected batch's scored file")
        self.explain_button = QPushButton("Reason codes")
        self.explain_button.setToolTip(
            "Show the selected batch's rows; click one for its reason codes "
            "(its top features with signed contributions)"
        )
        self.reasons: QWidget | None = None
        self.add_button = QPushButton("Add scoring folder…")
        self.add_button.setToolTip(
            "An inbox whose batches the model's champion scores into an outbox"
        )
        self.add_button.setProperty("primary", True)
        for b in (self.refresh_button, self.open_button, self.explain_button, self.add_button):
            head.addWidget(b)
        self.error_label = label("", "Error", wrap=True)
        self.error_label.hide()
        self._error_from_read = False
        lay.addWidget(self.error_label)

        self.split = split = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        self.folders = QTableWidget(0, len(FOLDER_COLUMNS))
        self.folders.setHorizontalHeaderLabels(list(FOLDER_COLUMNS))
        setup_table(self.folders, stretch_last=False)
        self.folders.setTextElideMode(Qt.TextElideMode.ElideLeft)  # the folder's own name shows
        h = self.folders.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        h.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col, w in ((2, 110), (3, 100), (4, 90), (5, 70), (6, 70)):
            h.resizeSection(col, w)
        tl.addWidget(self.folders, 1)
        self.empty_label = label(
            "No scoring folder yet. Add one: every batch saved in its inbox is scored by "
            "the model's champion of the moment and written to its outbox, with a manifest "
            "saying which version scored which bytes.",
            "Muted",
            wrap=True,
        )
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        tl.addWidget(self.empty_label)
        split.addWidget(top)

        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 6, 0, 0)
        bh = QHBoxLayout()
        bh.addWidget(label("Last batches", "SectionTitle"))
        bh.addWidget(label("newest first", "Muted"), 0, Qt.AlignmentFlag.AlignBottom)
        bh.addStretch(1)
        bl.addLayout(bh)
        self.batches = QTableWidget(0, len(BATCH_COLUMNS))
        self.batches.setHorizontalHeaderLabels(list(BATCH_COLUMNS))
        setup_table(self.batches)
        self.batches.setTextElideMode(Qt.TextElideMode.ElideLeft)
        bh2 = self.batches.horizontalHeader()
        for col, w in ((0, 140), (1, 150), (2, 95), (3, 70), (4, 74), (5, 76)):
            bh2.resizeSection(col, w)
        bl.addWidget(self.batches, 1)
        split.addWidget(bottom)
        split.setSizes([170, 470])
        lay.addWidget(split, 1)

        self.add_button.clicked.connect(self.sig_add_requested)
        self.refresh_button.clicked.connect(self.sig_refresh_requested)
        self.open_button.clicked.connect(self.open_selected)
        self.explain_button.clicked.connect(self.explain_selected)
        self.batches.itemSelectionChanged.connect(self._update_buttons)
        self.batches.itemDoubleClicked.connect(lambda _it: self.open_selected())
        self.set_overview(self.overview)

    def show_error(self, text: str, *, from_read: bool = False) -> None:
        """One sentence under the buttons (``""`` hides it).

        ``from_read``: the overview could not be read; the next good read takes
        it away. Any other sentence (a refused folder, a moved file) stays until
        the user's next action: a folder change is followed by a read at once,
        which must not wipe out why the change was refused.
        """
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))
        self._error_from_read = from_read and bool(text)

    def clear_read_error(self) -> None:
        if self._error_from_read:
            self.show_error("")

    def set_overview(self, overview: dict[str, Any]) -> None:
        """Show what :func:`scoring_overview` read."""
        self.overview = overview
        folders, batches = overview["folders"], overview["batches"]
        self.folders.setRowCount(len(folders))
        for r, f in enumerate(folders):
            cells = [
                _item(f["inbox"], f["inbox"]),
                _item(f["outbox"], f["outbox"]),
                _item(f["model"]),
                _item(f["champion"] or "no champion", "The version that scores the next batch"),
                _item(", ".join("v" + s.split(":")[-1] for s in f["shadows"]) or None,
                      ", ".join(f["shadows"])),
                _item(f["state"]),
                _item(f["waiting"], number=True),
            ]  # fmt: skip
            for c, it in enumerate(cells):
                self.folders.setItem(r, c, it)
        keep = self.selected_output()
        self.batches.setRowCount(len(batches))
        for r, b in enumerate(batches):
            name = Path(str(b["source"])).name
            ref = b["ref"] or b["status"]
            cells = [
                _item(display_ts(b["at"]) if b["at"] else None),
                _item(name, b["source"] + (f"\n{b['detail']}" if b["detail"] else "")),
                _item(ref, b["detail"] or (", ".join(b["shadows"]) and
                                           "shadows: " + ", ".join(b["shadows"]))),
                _item(f"{b['rows']:,}" if b["rows"] is not None else None, number=True),
                _item(b["rejected"], number=True),
                _item(f"{b['seconds']:.2f}" if b["seconds"] is not None else None, number=True),
                _item(Path(b["output"]).name if b["output"] else None, b["output"] or ""),
            ]  # fmt: skip
            for c, it in enumerate(cells):
                self.batches.setItem(r, c, it)
            if keep and b["output"] == keep:
                self.batches.selectRow(r)
        n = len(folders)
        self.empty_label.setVisible(n == 0)
        self.folders.setVisible(n > 0)
        tp = overview.get("throughput")
        self.throughput_label.setText(
            (f"{n} folder{'s' if n != 1 else ''}" if n else "")
            + (f" · {tp:,.0f} rows/s" if tp else "")
        )
        self._update_buttons()

    def selected_output(self) -> str | None:
        rows = {i.row() for i in self.batches.selectedIndexes()}
        if not rows:
            return None
        b = self.overview["batches"][min(rows)]
        return b["output"] or None

    def _update_buttons(self) -> None:
        self.open_button.setEnabled(self.selected_output() is not None)
        self.explain_button.setEnabled(self.selected_output() is not None)

    def set_reasons_panel(self, panel: QWidget) -> None:
        """Put the panel that shows a batch's rows and reason codes under the batches."""
        self.reasons = panel
        self.split.addWidget(panel)
        self.split.setCollapsible(self.split.indexOf(panel), False)
        panel.hide()  # until a batch is opened

    def explain_selected(self) -> None:
        """Ask for the selected batch's rows (the controller opens them in the panel)."""
        out = self.selected_output()
        if out is None:
            return
        self.show_error("")
        if self.reasons is not None and not self.reasons.isVisible():
            self.reasons.show()
            # the rows and their codes take most of the page; the folders and batches shrink
            total = sum(self.split.sizes())
            self.split.setSizes([total * 2 // 10, total * 3 // 10, total * 5 // 10])
        self.sig_explain_requested.emit(out)

    def open_selected(self) -> None:
        out = self.selected_output()
        if out is None:
            return
        if not Path(out).exists():
            self.show_error(f"{out} is no longer there (moved or deleted by another program)")
            return
        self.show_error("")
        open_path(out)


class ScoringController(QObject):
    """Wires the page to a window: reads on its reader, folders through its watcher."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.page = ScoringPage()
        self.index = window.pages.addWidget(self.page)
        item = QListWidgetItem("Scoring")
        item.setSizeHint(QSize(0, 34))
        window.nav.insertItem(self.index, item)
        self.deployed_label = label("", "Muted", wrap=True)
        self.deployed_label.setObjectName("DeployedLabel")
        self.deployed_label.hide()
        mp_layout = window.model_page.layout()
        mp_layout.insertWidget(min(2, mp_layout.count()), self.deployed_label)
        self.page.sig_refresh_requested.connect(self.refresh)
        self.page.sig_add_requested.connect(self.open_add_dialog)
        # A scored batch's rows and their reason codes: the validation panel's widget.
        self.reasons = ReasonRows(
            window.registry, window.jobs, orientation=Qt.Orientation.Horizontal
        )
        self.page.set_reasons_panel(self.reasons)
        self.page.sig_explain_requested.connect(self.reasons.open_batch)
        window.reader.sig_read_done.connect(self._on_read_done, Qt.ConnectionType.QueuedConnection)
        window.reader.sig_read_failed.connect(
            self._on_read_failed, Qt.ConnectionType.QueuedConnection
        )
        window.sig_registry_changed.connect(lambda _h: self.refresh())
        window.sig_model_page_loaded.connect(self.refresh_model)
        window.sig_watch_event_shown.connect(lambda _k: self.refresh())
        q = Qt.ConnectionType.QueuedConnection
        window.watch.sig_folders_changed.connect(lambda _f: self.refresh(), q)
        window.watch.sig_watch_failed.connect(self.page.show_error, q)
        QTimer.singleShot(FIRST_REFRESH_MS, self.refresh)

    def show(self) -> None:
        self.window.nav.setCurrentRow(self.index)
        self.refresh()

    def refresh(self) -> int:
        """Read the overview on the window's reader; returns the read's token."""
        return self.window.reader.submit(CHANNEL, _overview, self.window.registry)

    def refresh_model(self, name: str) -> None:
        self.window.reader.submit(
            MODEL_CHANNEL, lambda reg, n: (n, _overview(reg, model=n, limit=0)),
            self.window.registry, name,
        )  # fmt: skip

    def _on_read_done(self, channel: str, token: int, result: Any) -> None:
        if not self.window.reader.is_current(channel, token):
            return
        if channel == CHANNEL:
            self.page.clear_read_error()
            self.page.set_overview(result)
        elif channel == MODEL_CHANNEL:
            name, ov = result
            data = self.window.model_page.data
            if data is None or data.name != name:
                return
            self.deployed_label.setText(deployed_text(ov))
            self.deployed_label.setVisible(True)

    def _on_read_failed(self, channel: str, _token: int, message: str) -> None:
        if channel == CHANNEL:
            self.page.show_error(message, from_read=True)

    def models(self) -> list[str]:
        return [m.name for m in self.window.registry.list_models()]

    def open_add_dialog(self) -> AddScoringFolderDialog:
        dlg = AddScoringFolderDialog(self.models(), self.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self.add_folder(*dlg.values()))
        dlg.open()
        return dlg

    def add_folder(self, inbox: str, outbox: str, model: str, id_column: str | None) -> None:
        """Watch a scoring folder; the watcher restarts off the GUI thread (errors: on the page)."""
        options: dict[str, Any] = {"outbox": outbox}
        if id_column:
            options["id_column"] = id_column
        self.page.show_error("")
        bridge = self.window.watch
        # The bridge's control thread, as for every folder change (its add() has no options).
        bridge._submit(
            lambda: bridge.service.add(inbox, SCORING, model_name=model, options=options)
        )


def deployed_text(overview: dict[str, Any]) -> str:
    """The model page's one line: where the model scores, and who scores in the shadow."""
    folders = overview["folders"]
    if not folders:
        return "Not deployed: no scoring folder uses this model."
    where = "; ".join(
        f"{Path(f['inbox']).name} → {Path(f['outbox']).name} ({f['state']})" for f in folders
    )
    champ = folders[0]["champion"] or "no champion yet"
    shadows = folders[0]["shadows"]
    text = f"Deployed: {where}, scored by {champ}."
    text += f" Shadow challengers: {', '.join(shadows)}." if shadows else " No shadow challenger."
    return text


def install(window: MainWindow) -> ScoringController:
    """Add the Scoring page to ``window`` (after its other pages); returns its controller."""
    return ScoringController(window)
