"""Table models of the model page: its versions (metric columns follow the data), the alias
history and the model's audit events."""

from __future__ import annotations

from collections.abc import Sequence

from modelward.core.clock import display_ts
from modelward.core.domain import AliasEvent, AuditEvent, ModelVersion
from modelward.core.query import PREFERRED_METRICS
from modelward.ui.measured import MIXED_MARK, mixed_note, version_measured_on
from modelward.ui.models.rows import Column, RowTableModel
from modelward.ui.models.versions_table import (
    STATUS_COLORS,
    format_metric,
    metric_header,
    status_label,
)

LOWER_IS_BETTER = ("rmse", "mae")


FIXED_VERSION_COLUMNS: tuple[Column[ModelVersion], ...] = (
    Column("Version", lambda v: v.version, numeric=True),
    Column("Aliases", lambda v: ", ".join(v.aliases)),
    Column("Status", lambda v: status_label(v.status), color=lambda v: STATUS_COLORS.get(v.status)),
    Column("Estimator", lambda v: (v.estimator_class or "").rsplit(".", 1)[-1]),
    Column("Format", lambda v: v.format),
    Column("Created", lambda v: display_ts(v.created_at, minutes=True)),
    Column("By", lambda v: v.created_by),
)  # fmt: skip
MEASURED_ON: Column[ModelVersion] = Column(
    "Metrics measured on", version_measured_on, tooltip=version_measured_on
)
"""After the metrics: on a narrow screen the numbers come first, where they were measured next."""


def _metric_column(key: str, best: float | None, mixed: bool) -> Column[ModelVersion]:
    def text(v: ModelVersion) -> str:
        val = v.metrics.get(key)
        return "—" if val is None else format_metric(val)

    def bold(v: ModelVersion) -> bool:
        return best is not None and v.metrics.get(key) == best

    def tip(v: ModelVersion) -> str:
        return f"{key} of {v.ref}, measured on {version_measured_on(v)}"

    head = metric_header(key) + (f" {MIXED_MARK}" if mixed else "")
    return Column(head, text, bold=bold, tooltip=tip, numeric=True)


class ModelVersionsTableModel(RowTableModel[ModelVersion]):
    """A model's versions side by side; the best value of each metric is bold."""

    columns = FIXED_VERSION_COLUMNS
    row_id = staticmethod(lambda v: v.id)

    def set_versions(self, versions: Sequence[ModelVersion]) -> None:
        present = {k for v in versions for k in v.metrics}
        keys = [k for k in PREFERRED_METRICS if k in present] + sorted(
            present - set(PREFERRED_METRICS)
        )
        # Numbers measured on different data are marked: their best is no verdict.
        note = mixed_note(version_measured_on(v) for v in versions)
        metric_columns = []
        for k in keys:
            best: float | None = None
            if len(versions) > 1 and k not in LOWER_IS_BETTER:
                best = max(v.metrics.get(k, float("-inf")) for v in versions)
            metric_columns.append(_metric_column(k, best, bool(note)))
        n = len(FIXED_VERSION_COLUMNS)
        self.mixed_note = note
        self.header_tips = {n + i: note for i in range(len(metric_columns))} if note else {}
        self.set_rows(versions, (*FIXED_VERSION_COLUMNS, *metric_columns, MEASURED_ON))


def _move(e: AliasEvent) -> str:
    if e.version is None:
        return f"removed (was v{e.previous_version})"
    if e.previous_version is None:
        return f"set to v{e.version}"
    return f"v{e.previous_version} → v{e.version}"


class AliasHistoryTableModel(RowTableModel[AliasEvent]):
    columns = (
        Column("When (UTC)", lambda e: display_ts(e.at, minutes=True)),
        Column("Alias", lambda e: e.alias),
        Column("Move", _move),
        Column("By", lambda e: e.by),
        Column("Reason", lambda e: e.reason, tooltip=lambda e: e.reason),
    )  # fmt: skip


def _what(e: AuditEvent) -> str:
    return e.entity_id + (f" — {e.reason}" if e.reason else "")


class ModelAuditTableModel(RowTableModel[AuditEvent]):
    columns = (
        Column("#", lambda e: e.seq, numeric=True),
        Column("When (UTC)", lambda e: display_ts(e.ts, minutes=True)),
        Column("User", lambda e: e.actor),
        Column("Action", lambda e: e.action),
        Column("Entity / reason", _what, tooltip=_what),
    )  # fmt: skip
    row_id = staticmethod(lambda e: e.seq)


__all__ = [
    "AliasHistoryTableModel",
    "ModelAuditTableModel",
    "ModelVersionsTableModel",
]
