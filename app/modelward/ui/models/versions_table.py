"""The registry browser's table: every version, paged; filter and sort run in DuckDB."""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor

from modelward.core import query
from modelward.core.clock import display_ts
from modelward.core.registry import Registry
from modelward.ui.bridge import Reader
from modelward.ui.models.base import RIGHT
from modelward.ui.models.paged import PagedTableModel
from modelward.ui.models.roles import REF_ROLE, ROW_ID_ROLE, STATE_ROLE

METRIC_HEADER_TIP = (
    "As recorded with each version, on the data it was measured on (its own holdout, "
    "a validation set): different versions' numbers may come from different data. Select "
    "versions and use Model → Compare selected to see where each was measured, or to "
    "score them all on one file."
)
FIXED_HEADERS = ("Model", "Version", "Aliases", "Status", "Estimator", "Created", "Created by")
_SORT_KEYS = query.COLUMNS  # same order as FIXED_HEADERS
STATUS_LABELS = {
    "ok": "OK",
    "needs_revalidation": "Needs revalidation",
    "quarantined": "Quarantined",
    "drift_alert": "Drift alert",
    "archived": "Archived",
}
STATUS_COLORS = {
    "needs_revalidation": "#b7791f",
    "quarantined": "#c8372d",
    "drift_alert": "#c8372d",
    "archived": "#8a8f98",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def format_metric(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"


def metric_header(key: str) -> str:
    special = {"roc_auc": "ROC AUC", "rmse": "RMSE", "mae": "MAE", "r2": "R²", "f1": "F1"}
    return special.get(key, key.replace("_", " ").capitalize())


_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
# Made once: data() answers the status column's colour on every paint.
_STATUS_QCOLORS = {k: QColor(v) for k, v in STATUS_COLORS.items()}


def _display(r: tuple[Any, ...]) -> tuple[str, ...]:
    """The texts of a page row ``(id, name, version, aliases, status, estimator, created_at,
    created_by, metrics…)`` in column order."""
    fixed = (
        r[1],
        str(r[2]),
        r[3] or "",
        status_label(r[4]),
        (r[5] or "").rsplit(".", 1)[-1],
        display_ts(r[6], minutes=True),
        r[7],
    )
    return fixed + tuple(format_metric(v) for v in r[8:])


class QtVersionsTableModel(PagedTableModel):
    """Versions of a registry as rows; metric columns follow the key metrics present."""

    headers = FIXED_HEADERS

    def __init__(self, registry: Registry, reader: Reader, parent: QObject | None = None):
        super().__init__(reader, parent)
        self.registry = registry
        self._metric_columns = 3
        self.auto_metrics = True  # metric columns follow the registry
        # Which metrics get a column is re-read after a change in the registry, not on
        # every search: a search keeps the columns and only runs the page query.
        self._keys_stale = True

    # The spec (filter, sort, metric keys) is immutable and handed to the reader thread.
    def _count(self, spec: query.TableSpec) -> int:
        return query.count_rows(self.registry, spec)

    def _page(self, spec: query.TableSpec, offset: int, limit: int) -> list[tuple[Any, ...]]:
        # Display texts are made here, on the reader thread: painting only indexes a tuple.
        return [(*r, _display(r)) for r in query.fetch_page(self.registry, spec, offset, limit)]

    def _first(self, spec: query.TableSpec, limit: int) -> tuple[int, list[tuple[Any, ...]]]:
        n, rows = query.first_page(self.registry, spec, limit)  # one statement for both
        return n, [(*r, _display(r)) for r in rows]

    @property
    def metric_columns(self) -> int:
        """How many metric columns to show (the next load re-reads which)."""
        return self._metric_columns

    @metric_columns.setter
    def metric_columns(self, n: int) -> None:
        self._metric_columns = n
        self._keys_stale = True

    def refresh(self) -> None:
        self._keys_stale = True
        super().refresh()

    def warm_up(self) -> None:
        """Open the database ahead of a query the user is about to run (typing a search)."""
        self.reader.submit("warm", query.warm_up, self.registry)

    def _load_first(self, spec: Any, gen: int) -> Any:
        # The metric columns follow what the registry holds; decided on the reader thread.
        if self.auto_metrics and (self._keys_stale or spec.metric_keys == ()):
            self._keys_stale = False
            keys = query.key_metrics(self.registry, self._metric_columns)
            spec = dataclasses.replace(spec, metric_keys=keys)
            if spec.sort.startswith("metric:") and spec.sort[7:] not in keys:
                spec = dataclasses.replace(spec, sort="name", descending=False)
        gen, n, rows = super()._load_first(spec, gen)
        return gen, n, rows, spec

    def _on_read_done(self, channel: str, token: int, result: Any) -> None:
        if channel == self._channel + ":reset" and len(result) == 4:
            gen, n, rows, spec = result
            if gen == self._gen and self.reader.is_current(channel, token):
                self._spec = spec  # with the resolved metric keys
            result = (gen, n, rows)
        super()._on_read_done(channel, token, result)

    def _headers_for(self, spec: query.TableSpec) -> tuple[str, ...]:
        return FIXED_HEADERS + tuple(metric_header(k) for k in spec.metric_keys)

    def search(self, text: str, *, metric_keys: tuple[str, ...] | None = None) -> None:
        """Filter by a search text (see :mod:`modelward.core.query`); raises InvalidInput."""
        flt = query.parse_search(text)
        old = self._spec
        self.auto_metrics = metric_keys is None
        keys = metric_keys or (old.metric_keys if old is not None else ())
        sort, desc = ("name", False) if old is None else (old.sort, old.descending)
        self.set_spec(query.TableSpec(filter=flt, metric_keys=keys, sort=sort, descending=desc))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if self._spec is None or not (0 <= column < len(self.headers)):
            return
        if column < len(_SORT_KEYS):
            key = _SORT_KEYS[column]
        else:
            key = "metric:" + self._spec.metric_keys[column - len(_SORT_KEYS)]
        desc = order == Qt.SortOrder.DescendingOrder
        if (key, desc) != (self._spec.sort, self._spec.descending):
            self.set_spec(dataclasses.replace(self._spec, sort=key, descending=desc))

    def is_numeric(self, column: int) -> bool:
        return column == 1 or column >= len(FIXED_HEADERS)  # version, metrics

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.ToolTipRole
            and orientation == Qt.Orientation.Horizontal
            and section >= len(FIXED_HEADERS)
        ):
            return METRIC_HEADER_TIP
        return super().headerData(section, orientation, role)

    def _cell(self, row: tuple[Any, ...], column: int, role: int) -> Any:
        if role == _DISPLAY:
            texts = row[-1]
            return texts[column] if column < len(texts) else None
        if role == Qt.ItemDataRole.TextAlignmentRole and self.is_numeric(column):
            return RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and column == 3 and row[4] in STATUS_COLORS:
            return _STATUS_QCOLORS[row[4]]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 4:
                return row[5]
            if column == 5:
                return row[6]
        if role == ROW_ID_ROLE:
            return int(row[0])
        if role == REF_ROLE:
            return f"{row[1]}:{row[2]}"
        if role == STATE_ROLE:
            return row[4]
        return None
