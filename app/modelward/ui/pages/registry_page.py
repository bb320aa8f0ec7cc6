"""The registry browser: a search box over the paged versions table."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QLineEdit,
    QPushButton,
    QTableView,
    QWidget,
)

from modelward.core.errors import InvalidInput
from modelward.ui.models.roles import REF_ROLE
from modelward.ui.models.versions_table import QtVersionsTableModel
from modelward.ui.widgets import ColumnFitter, label, on_enter, page_layout, setup_table

SEARCH_HINT = (
    "Search: name:credit alias:champion roc_auc>0.8 created>2026-01-01 -status:quarantined"
)


class RegistryPage(QWidget):
    """Models and their versions; double-click opens the model page."""

    sig_version_activated = Signal(str)
    """ref ``NAME:VERSION`` of the row the user opened."""

    def __init__(self, model: QtVersionsTableModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        lay, head, self.count_label = page_layout(self, "Registry")
        self.compare_button = QPushButton("Compare selected")
        self.compare_button.setToolTip(
            "Select two or more versions (Ctrl+click, Shift+click), then compare them "
            "side by side (Ctrl+Shift+C)"
        )
        self.compare_button.setEnabled(False)
        head.addWidget(self.compare_button)
        self.register_button = QPushButton("Register a model…")
        self.register_button.setToolTip("Check model files and register them (Ctrl+O)")
        self.register_button.setProperty("primary", True)
        head.addWidget(self.register_button)
        self.search = QLineEdit()
        self.search.setObjectName("Search")
        self.search.setPlaceholderText(SEARCH_HINT)
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip(
            "name:, alias:, status:, by:, estimator:, format:, sha:, version>=N, created>DATE, "
            "METRIC>NUMBER; -term negates; quote values with spaces"
        )
        lay.addWidget(self.search)
        self.error_label = label("", "Error")
        self.error_label.hide()
        lay.addWidget(self.error_label)
        self.table = QTableView()
        self.table.setModel(model)
        setup_table(self.table)
        # The estimator gives way first; model names and aliases (they say which version is
        # which) only when that saves the horizontal scroll bar.
        self.fitter = ColumnFitter(self.table, flexible=(4,), spare=4, last_resort=(0, 2))
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionMode(QTableView.SelectionMode.ExtendedSelection)
        lay.addWidget(self.table, 1)
        self.empty_label = label("No version matches this search.", "Muted")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.hide()
        lay.addWidget(self.empty_label)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self.apply_search)
        self.search.textChanged.connect(self._on_search_edited)
        self.search.returnPressed.connect(self.apply_search)
        self.table.doubleClicked.connect(self._on_table_activated)
        on_enter(self.table, self._on_table_activated)
        model.sig_loaded.connect(self._on_model_loaded)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        model.modelReset.connect(self._on_selection_changed)
        model.sig_load_failed.connect(self._on_load_failed)
        self._fitted: tuple[tuple[str, ...], int] = ((), 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fitter.fit(remeasure=False)  # the table follows the page's width

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.fitter.fit_if_stale()  # content that arrived while the page was hidden

    def _on_search_edited(self, _text: str) -> None:
        if not self._debounce.isActive():
            self.model.warm_up()  # open the database while the user types (it idles closed)
        self._debounce.start()

    def apply_search(self) -> None:
        self._debounce.stop()
        try:
            self.model.search(self.search.text())
        except InvalidInput as e:
            self._show_error(str(e))
            return
        self._show_error("")

    def _show_error(self, text: str) -> None:
        if bool(self.search.property("invalid")) != bool(text):
            # Re-polishing under the style sheet costs several ms: only when the state flips.
            self.search.setProperty("invalid", bool(text))
            self.search.style().unpolish(self.search)
            self.search.style().polish(self.search)
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _on_model_loaded(self, n: int, seconds: float) -> None:
        filtered = bool(self.model.spec is not None and self.model.spec.filter)
        self.count_label.setText(
            f"{n:,} version{'s' if n != 1 else ''}" + (" match" if filtered else "")
        )
        self.empty_label.setVisible(n == 0 and filtered)
        # Columns are fitted to what a screenful of rows needs: again when the
        # columns change, more rows than last time fill the screen or the registry
        # changed, not on a search or a sort (columns jumping while one types
        # would be worse than a clipped cell).
        fit = (self.model.headers, min(n, 30))
        if n and (fit[0] != self._fitted[0] or fit[1] > self._fitted[1] or self.model.refreshing):
            self._fitted = fit
            self.fitter.fit()

    def _on_load_failed(self, message: str) -> None:
        self._show_error(message)

    def _on_table_activated(self, index: QModelIndex) -> None:
        ref = index.data(REF_ROLE)
        if ref:
            self.sig_version_activated.emit(ref)

    def _on_selection_changed(self, *_a: object) -> None:
        rows = {ix.row() for ix in self.table.selectionModel().selectedRows()}
        self.compare_button.setEnabled(len(rows) >= 2)

    def selected_refs(self) -> list[str]:
        rows = sorted({ix.row() for ix in self.table.selectionModel().selectedRows()})
        out = []
        for r in rows:
            ref = self.model.index(r, 0).data(REF_ROLE)
            if ref:
                out.append(ref)
        return out
