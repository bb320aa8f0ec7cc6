"""The audit trail as a paged table, newest first, filtered in SQL."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QObject, Qt

from modelward.core import query
from modelward.core.clock import display_ts
from modelward.core.registry import Registry
from modelward.ui.bridge import Reader
from modelward.ui.models.base import RIGHT
from modelward.ui.models.paged import PagedTableModel
from modelward.ui.models.roles import ROW_ID_ROLE


class QtAuditTableModel(PagedTableModel):
    """Audit events; ``set_spec`` takes a :class:`~modelward.core.query.Filter`."""

    headers = ("#", "Time (UTC)", "User", "Action", "Entity", "Reason / details")

    def is_numeric(self, column: int) -> bool:
        return column == 0  # the sequence number

    def __init__(self, registry: Registry, reader: Reader, parent: QObject | None = None):
        super().__init__(reader, parent)
        self.registry = registry

    def _count(self, spec: query.Filter) -> int:
        return query.count_audit(self.registry, spec)

    def _page(self, spec: query.Filter, offset: int, limit: int) -> list[tuple[Any, ...]]:
        return query.fetch_audit_page(self.registry, spec, offset, limit)

    def _cell(self, row: tuple[Any, ...], column: int, role: int) -> Any:
        seq, ts, actor, action, etype, eid, reason, after = row
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return str(seq)
            if column == 1:
                return display_ts(ts)
            if column == 2:
                return actor
            if column == 3:
                return action
            if column == 4:
                return f"{etype} {eid}"
            if column == 5:
                return reason or _summary(after)
        if role == Qt.ItemDataRole.ToolTipRole and column == 5:
            return after
        if role == Qt.ItemDataRole.TextAlignmentRole and self.is_numeric(column):
            return RIGHT
        if role == ROW_ID_ROLE:
            return int(seq)
        return None


def _summary(after: str | None) -> str:
    if not after:
        return ""
    try:
        value = json.loads(after)
    except ValueError:
        return after[:80]
    if isinstance(value, dict):
        keys = ("version", "status", "format", "kind", "schema_version", "points")
        parts = [f"{k}={value[k]}" for k in keys if k in value]
        return ", ".join(parts)
    return str(value)[:80]
