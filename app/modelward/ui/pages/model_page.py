"""One model: versions side by side, lineage, signature, parameters, aliases, audit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from modelward.core.clock import display_ts
from modelward.core.domain import AliasEvent, AuditEvent, ModelVersion
from modelward.core.registry import Registry
from modelward.ui.models.model_page_tables import (
    AliasHistoryTableModel,
    ModelAuditTableModel,
    ModelVersionsTableModel,
)
from modelward.ui.widgets import ColumnFitter, label, setup_table


@dataclass(frozen=True)
class ModelPageData:
    """Everything the page shows, read in one go on the reader thread."""

    name: str
    versions: tuple[ModelVersion, ...]
    alias_history: tuple[AliasEvent, ...]
    audit: tuple[AuditEvent, ...]

    @property
    def aliases(self) -> dict[str, int]:
        return {a: v.version for v in self.versions for a in v.aliases}


def load_model_page(registry: Registry, name: str, max_versions: int = 200) -> ModelPageData:
    """Read a model page (runs off the GUI thread). Newest versions first."""
    with registry.session():
        versions = registry.list_versions(name, order_by="v.version DESC", limit=max_versions)
        history = registry.alias_history(name)
        audit = registry.audit_events(entity_prefix=name, limit=500)
    own = [
        e for e in audit if e.entity_id == name or e.entity_id.startswith((name + ":", name + "@"))
    ]
    return ModelPageData(name, tuple(versions), tuple(reversed(history)), tuple(own))


class ModelPage(QWidget):
    sig_back_requested = Signal()
    """The user wants to go back to the registry table."""
    sig_set_alias_requested = Signal(str, int)
    """model name, the selected version (0 if none)."""
    sig_compare_requested = Signal(str, str)
    """two refs to compare."""
    sig_compare_many_requested = Signal(list)
    """three or more refs to compare side by side."""
    sig_monitor_requested = Signal(str)
    """ref: show the monitoring page of this version."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.data: ModelPageData | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 16, 20, 12)
        lay.setSpacing(10)
        head = QHBoxLayout()
        self.back_button = QPushButton("←  Registry")
        self.back_button.setToolTip("Back to the registry (Alt+Left)")
        head.addWidget(self.back_button)
        head.addSpacing(8)
        self.title = label("", "PageTitle")
        head.addWidget(self.title)
        self.badges = QHBoxLayout()
        self.badges.setSpacing(6)
        head.addLayout(self.badges)
        head.addStretch(1)
        lay.addLayout(head)
        # The actions get a row of their own: beside the title and the alias chips they
        # were squeezed (and cut off) below ~1300 px.
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.compare_button = QPushButton("Compare…")
        self.compare_button.setToolTip(
            "Two selected versions: their differences; three or more: side by side "
            "with parameters against the score"
        )
        self.alias_button = QPushButton("Set alias…")
        self.alias_button.setToolTip(
            "Point an alias (champion, staging, …) at the selected version"
        )
        self.alias_button.setProperty("primary", True)
        self.monitor_button = QPushButton("Monitoring")
        self.monitor_button.setToolTip("Drift and performance over time of the selected version")
        bar.addWidget(self.monitor_button)
        bar.addWidget(self.compare_button)
        bar.addWidget(self.alias_button)
        self._head = bar
        self.subtitle = label("", "Muted", wrap=True)
        lay.addWidget(self.subtitle)
        bar.addStretch(1)
        lay.addLayout(bar)

        split = QSplitter(Qt.Orientation.Vertical)
        self.versions_model = ModelVersionsTableModel(self)
        self.versions = QTableView()
        self.versions.setModel(self.versions_model)
        setup_table(self.versions)
        # The estimator gives way first; the aliases only when that saves the scroll bar.
        self.versions_fitter = ColumnFitter(self.versions, flexible=(3,), spare=3, last_resort=(1,))
        self.versions.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        split.addWidget(self.versions)
        self.tabs = QTabWidget()
        self.details = QTreeWidget()
        self.details.setObjectName("Details")
        self.details.setHeaderLabels(["Field", "Value"])
        self.details.setAlternatingRowColors(True)
        self.details.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tabs.addTab(self.details, "Lineage, signature, parameters")
        self.alias_model = AliasHistoryTableModel(self)
        self.alias_table = QTableView()
        self.alias_table.setModel(self.alias_model)
        setup_table(self.alias_table)
        self.tabs.addTab(self.alias_table, "Alias history")
        self.audit_model = ModelAuditTableModel(self)
        self.audit_table = QTableView()
        self.audit_table.setModel(self.audit_model)
        setup_table(self.audit_table)
        self.tabs.addTab(self.audit_table, "Audit")
        split.addWidget(self.tabs)
        split.setSizes([230, 400])
        lay.addWidget(split, 1)

        self.back_button.clicked.connect(self.sig_back_requested)
        self.alias_button.clicked.connect(self._on_alias_clicked)
        self.compare_button.clicked.connect(self._on_compare_clicked)
        self.monitor_button.clicked.connect(self._on_monitor_clicked)
        self.versions.selectionModel().selectionChanged.connect(lambda *_a: self._update_details())

    def add_head_widgets(self, *widgets: QWidget) -> None:
        """Put buttons of other parts of the window (policy, evidence) left of Compare."""
        for w in widgets:
            self._head.insertWidget(self._head.indexOf(self.compare_button), w)

    # ------------------------------------------------------------ show data

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.versions_fitter.fit(remeasure=False)  # the table follows the page's width

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.versions_fitter.fit_if_stale()  # content that arrived while the page was hidden

    def show_loading(self, name: str) -> None:
        self.title.setText(name)
        self.subtitle.setText("Loading…")

    def set_data(self, data: ModelPageData, select_version: int | None = None) -> None:
        """Show ``data``; select ``select_version``, else keep the user's selection.

        A background refresh of the same model keeps the selected versions (and
        the current one), so the next action never hits another version.
        """
        keep: list[int] = []
        current: int | None = None
        if select_version is None and self.data is not None and self.data.name == data.name:
            keep = [v.version for v in self.selected_versions()]
            cur = self.versions.currentIndex()
            if cur.isValid() and cur.row() < len(self.data.versions):
                current = self.data.versions[cur.row()].version
        self.data = data
        self.title.setText(data.name)
        while self.badges.count():
            w = self.badges.takeAt(0).widget()
            if w:
                w.deleteLater()
        for alias, ver in sorted(data.aliases.items()):
            b = label(f"{alias} → v{ver}", "Badge")
            self.badges.addWidget(b)
        n = len(data.versions)
        latest = data.versions[0] if data.versions else None
        est = (latest.estimator_class or "unknown estimator").rsplit(".", 1)[-1] if latest else ""
        self.subtitle.setText(
            f"{n} version{'s' if n != 1 else ''} · latest {est}"
            + (
                f" · created {display_ts(latest.created_at, minutes=True)} by {latest.created_by}"
                if latest
                else ""
            )
        )
        self._fill_versions(data)
        self._fill_alias_history(data)
        self._fill_audit(data)
        if keep and self._select(keep, current):
            self._update_details()
            return
        row = 0
        if select_version is not None:
            for i, v in enumerate(data.versions):
                if v.version == select_version:
                    row = i
        if data.versions:
            self.versions.selectRow(row)
        self._update_details()

    def _select(self, versions: list[int], current: int | None) -> bool:
        """Select the rows of ``versions`` (those still there); whether any was."""
        assert self.data is not None
        rows = [i for i, v in enumerate(self.data.versions) if v.version in versions]
        if not rows:
            return False
        sm = self.versions.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        sm.clearSelection()
        cur_row = next(
            (i for i, v in enumerate(self.data.versions) if v.version == current), rows[0]
        )
        sm.setCurrentIndex(
            self.versions_model.index(cur_row, 0), QItemSelectionModel.SelectionFlag.NoUpdate
        )
        for r in rows:
            sm.select(self.versions_model.index(r, 0), flags)
        return True

    def _fill_versions(self, data: ModelPageData) -> None:
        self.versions_model.set_versions(data.versions)
        self.versions_fitter.fit()

    def _fill_alias_history(self, data: ModelPageData) -> None:
        self.alias_model.set_rows(data.alias_history)
        self.alias_table.resizeColumnsToContents()

    def _fill_audit(self, data: ModelPageData) -> None:
        self.audit_model.set_rows(data.audit)
        self.audit_table.resizeColumnsToContents()

    def selected_versions(self) -> list[ModelVersion]:
        if self.data is None:
            return []
        rows = sorted({ix.row() for ix in self.versions.selectionModel().selectedRows()})
        return [self.data.versions[r] for r in rows if r < len(self.data.versions)]

    def _update_details(self) -> None:
        self.details.clear()
        sel = self.selected_versions()
        if not sel:
            return
        v = sel[0]
        self.tabs.setTabText(0, f"Details of version {v.version}")
        sections = {
            "Artifact": {
                "sha256": v.sha256,
                "size": f"{v.size:,} bytes",
                "format": v.format,
                "estimator": v.estimator_class or "—",
            },
            "Lineage": v.lineage,
            "Signature": v.signature,
            "Parameters": v.params,
            "Metrics": v.metrics,
            "Tags": v.tags,
        }
        for title, value in sections.items():
            top = QTreeWidgetItem([title, "" if value else "—"])
            f = top.font(0)
            f.setBold(True)
            top.setFont(0, f)
            self.details.addTopLevelItem(top)
            self._add_tree(top, value)
            top.setExpanded(title in ("Artifact", "Lineage", "Signature"))

    def _add_tree(self, parent: QTreeWidgetItem, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, dict) and v:
                    child = QTreeWidgetItem([str(k), ""])
                    parent.addChild(child)
                    self._add_tree(child, v)
                else:
                    text = v if isinstance(v, str) else json.dumps(v, default=str)
                    child = QTreeWidgetItem([str(k), text if len(text) < 300 else text[:300] + "…"])
                    child.setToolTip(1, text[:2000])
                    parent.addChild(child)

    def _on_alias_clicked(self) -> None:
        if self.data is None:
            return
        sel = self.selected_versions()
        self.sig_set_alias_requested.emit(self.data.name, sel[0].version if sel else 0)

    def _on_compare_clicked(self) -> None:
        if self.data is None or len(self.data.versions) < 2:
            return
        sel = self.selected_versions()
        if len(sel) >= 3:
            self.sig_compare_many_requested.emit([v.ref for v in sel])
            return
        if len(sel) >= 2:
            a, b = sel[1], sel[0]
        else:
            # One (or none) selected: compare it with the one before it.
            b = sel[0] if sel else self.data.versions[0]
            i = self.data.versions.index(b)
            a = (
                self.data.versions[i + 1]
                if i + 1 < len(self.data.versions)
                else self.data.versions[i - 1]
            )
        self.sig_compare_requested.emit(a.ref, b.ref)

    def _on_monitor_clicked(self) -> None:
        if self.data is None or not self.data.versions:
            return
        sel = self.selected_versions()
        champion = next((v for v in self.data.versions if "champion" in v.aliases), None)
        v = sel[0] if sel else (champion or self.data.versions[0])
        self.sig_monitor_requested.emit(v.ref)
