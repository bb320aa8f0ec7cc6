"""Table models of the Alerts, Approvals and Policies pages (rows from a PolicySnapshot)."""

from __future__ import annotations

from dataclasses import dataclass

from modelward.core.clock import display_ts
from modelward.core.policies import Alert, ApprovalRequest, Policy, PolicyRun
from modelward.ui.models.rows import Column, RowTableModel

SEVERITY_COLORS = {"critical": "#d1453b", "warning": "#c77c02", "info": "#3b7dd8"}
STATUS_COLORS = {
    "approved": "#2e8540",
    "rejected": "#d1453b",
    "expired": "#8a8a8a",
    "superseded": "#8a8a8a",
}
RUN_COLORS = {
    "promoted": "#2e8540",
    "failed": "#d1453b",
    "gates-failed": "#c77c02",
    "awaiting-approval": "#3b7dd8",
    "running": "#3b7dd8",
}


def _unread(a: Alert) -> bool:
    return bool(a.unread)


class AlertsTableModel(RowTableModel[Alert]):
    columns = (
        Column("", lambda a: "●" if a.unread else "", color=lambda a: SEVERITY_COLORS.get(a.severity)),
        Column("When (UTC)", lambda a: display_ts(a.created_at), bold=_unread),
        Column("Severity", lambda a: a.severity, color=lambda a: SEVERITY_COLORS.get(a.severity),
               bold=_unread),
        Column("Model", lambda a: a.model or "—", bold=_unread),
        Column("Kind", lambda a: a.kind, bold=_unread),
        Column("Message", lambda a: a.message, bold=_unread, tooltip=lambda a: a.message),
    )  # fmt: skip
    row_id = staticmethod(lambda a: a.id)


@dataclass(frozen=True)
class PendingRow:
    """A pending request with the text of its comparison's gates."""

    request: ApprovalRequest
    gates: str


class PendingTableModel(RowTableModel[PendingRow]):
    columns = (
        Column("#", lambda p: p.request.id, numeric=True),
        Column("Model", lambda p: p.request.model, bold=lambda p: True),
        Column("Version", lambda p: p.request.version_ref.rpartition(":")[2]),
        Column("Alias", lambda p: p.request.alias),
        Column("Requested by",
               lambda p: f"{p.request.requested_by} ({p.request.requested_os_user})"),
        Column("When (UTC)", lambda p: display_ts(p.request.requested_at, minutes=True)),
        Column("Expires (UTC)", lambda p: display_ts(p.request.expires_at, minutes=True)),
        Column("Gates", lambda p: p.gates),
        Column("Reason", lambda p: p.request.reason, tooltip=lambda p: p.request.reason),
    )  # fmt: skip
    row_id = staticmethod(lambda p: p.request.id)


def _signer(q: ApprovalRequest) -> str:
    return f"{q.decided_by} ({q.decided_os_user})" if q.decided_by else "—"


class HistoryTableModel(RowTableModel[ApprovalRequest]):
    columns = (
        Column("#", lambda q: q.id, numeric=True),
        Column("Decision", lambda q: q.status, color=lambda q: STATUS_COLORS.get(q.status),
               bold=lambda q: True),
        Column("Version → alias", lambda q: f"{q.version_ref} → {q.alias}"),
        Column("Signed by (OS user)", _signer),
        Column("Meaning", lambda q: q.meaning or "—"),
        Column("When (UTC)", lambda q: display_ts(q.decided_at, minutes=True)),
        Column("Requested by", lambda q: q.requested_by),
        Column("Reason", lambda q: q.decision_reason or q.reason),
    )  # fmt: skip
    row_id = staticmethod(lambda q: q.id)


def describe_triggers(p: Policy) -> str:
    t = p.triggers
    parts = []
    if t.drift_share_above is not None:
        parts.append(f"drift share > {t.drift_share_above:g}")
    if t.psi_above is not None:
        cols = f" ({', '.join(t.psi_features)})" if t.psi_features else ""
        parts.append(f"PSI > {t.psi_above:g}{cols}")
    if t.performance_below is not None:
        parts.append(f"{t.metric} < {t.performance_below:g}")
    if t.performance_drop is not None:
        parts.append(f"{t.metric} drop > {t.performance_drop:g}")
    if t.every_days is not None:
        parts.append(f"every {t.every_days:g} days")
    if t.new_labelled_rows is not None:
        parts.append(f"{t.new_labelled_rows} new labelled rows")
    return ", ".join(parts) or "none"


def describe_actions(p: Policy) -> str:
    acts = [
        n for n, on in (("alert", p.alert), ("retrain", p.retrain), ("promote", p.promote)) if on
    ]
    return " → ".join(acts) or "none"


def _eyes(p: Policy) -> str:
    return f"on ({', '.join(p.protected_aliases)})" if p.four_eyes else "off"


class PoliciesTableModel(RowTableModel[Policy]):
    columns = (
        Column("Model", lambda p: p.model, bold=lambda p: True),
        Column("State", lambda p: "enabled" if p.enabled else "disabled"),
        Column("Triggers", describe_triggers),
        Column("Actions", describe_actions),
        Column("Alias", lambda p: p.alias),
        Column("Four-eyes", _eyes),
        Column("Owner", lambda p: p.owner),
    )  # fmt: skip


def _fired(run: PolicyRun) -> str:
    return "; ".join(x.get("trigger", "") for x in run.triggers)


class RunsTableModel(RowTableModel[PolicyRun]):
    columns = (
        Column("#", lambda r: r.id, numeric=True),
        Column("Model", lambda r: r.model),
        Column("Status", lambda r: r.status, color=lambda r: RUN_COLORS.get(r.status),
               bold=lambda r: True),
        Column("Started (UTC)", lambda r: display_ts(r.started_at)),
        Column("Fired", _fired),
        Column("By", lambda r: r.started_by),
    )  # fmt: skip
    row_id = staticmethod(lambda r: r.id)
