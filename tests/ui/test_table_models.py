"""The list pages' table models pass Qt's model checks, filled from a real registry."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from modelward.core.policies import (
    approve,
    get_policy,
    raise_alert,
    request_approval,
)
from modelward.core.policies import engine as policy_engine
from modelward.core.policies.triggers import TriggerHit
from modelward.ui.models.policy_tables import (
    AlertsTableModel,
    HistoryTableModel,
    PendingRow,
    PendingTableModel,
    PoliciesTableModel,
    RunsTableModel,
)
from modelward.ui.models.rows import ROW_ROLE
from modelward.ui.pages.alerts_tasks import load_snapshot
from support.policy_ui import OWNER, protected_registry


@pytest.fixture
def snapshot(tmp_path):
    reg = protected_registry(tmp_path)
    raise_alert(reg, "m", "trigger", "m: 62% of the columns drifted", severity="warning")
    raise_alert(reg, None, "info", "nothing to see")
    req = request_approval(reg, "m:2", requested_by=OWNER, reason="v2 beats v1")
    approve(reg, req.id, "Second Reviewer", "approved", "gates passed")
    request_approval(reg, "m:1", requested_by=OWNER, reason="back to v1")
    hit = TriggerHit("psi_above", 0.41, 0.25, "PSI of income 0.41 above 0.25")
    policy_engine.fire(reg, get_policy(reg, "m"), [hit])
    snap = load_snapshot(reg)
    reg.close()
    return snap


def test_the_policy_models_pass_the_model_tester(qtmodeltester, snapshot):
    assert snapshot.alerts and snapshot.pending and snapshot.history
    assert snapshot.policies and snapshot.runs
    filled = [
        (AlertsTableModel(), list(snapshot.alerts)),
        (PendingTableModel(), [PendingRow(q, "no comparison") for q in snapshot.pending]),
        (HistoryTableModel(), list(snapshot.history)),
        (PoliciesTableModel(), list(snapshot.policies)),
        (RunsTableModel(), list(snapshot.runs)),
    ]
    for model, rows in filled:
        qtmodeltester.check(model)  # empty
        model.set_rows(rows)
        qtmodeltester.check(model)
        assert model.rowCount() == len(rows) > 0
        assert model.index(0, 0).data(ROW_ROLE) is rows[0]
        model.set_rows(rows[:1])
        qtmodeltester.check(model)


def test_the_alerts_model_shows_what_the_table_showed(snapshot):
    model = AlertsTableModel()
    model.set_rows(list(snapshot.alerts))
    texts = [model.index(r, 5).data() for r in range(model.rowCount())]
    assert "m: 62% of the columns drifted" in texts
    r = texts.index("m: 62% of the columns drifted")
    assert model.index(r, 0).data() == "●"  # unread
    assert model.index(r, 2).data() == "warning"
    assert model.index(r, 2).data(0x9) is not None  # Qt.ForegroundRole: severity colour
    other = texts.index("nothing to see")
    assert model.index(other, 3).data() == "—"  # no model


def test_the_model_page_models_pass_the_model_tester(qtmodeltester, tmp_path):
    from modelward.ui.models.model_page_tables import (
        AliasHistoryTableModel,
        ModelAuditTableModel,
        ModelVersionsTableModel,
    )
    from modelward.ui.pages.model_page import load_model_page

    reg = protected_registry(tmp_path)
    reg.set_alias("m:2", "challenger", "next in line")
    data = load_model_page(reg, "m")
    reg.close()
    versions = ModelVersionsTableModel()
    qtmodeltester.check(versions)
    versions.set_versions(data.versions)
    qtmodeltester.check(versions)
    assert versions.rowCount() == 2
    assert versions.headerData(0, Qt.Orientation.Horizontal) == "Version"
    assert [versions.index(r, 0).data() for r in range(2)] == ["2", "1"]
    assert versions.columnCount() >= 7
    for model, rows in (
        (AliasHistoryTableModel(), data.alias_history),
        (ModelAuditTableModel(), data.audit),
    ):
        qtmodeltester.check(model)
        model.set_rows(rows)
        qtmodeltester.check(model)
        assert model.rowCount() == len(rows) > 0
