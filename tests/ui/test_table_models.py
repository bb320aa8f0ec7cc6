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
from modelward.ui.controllers.policy_tasks import load_snapshot
from modelward.ui.models.policy_tables import (
    AlertsTableModel,
    HistoryTableModel,
    PendingRow,
    PendingTableModel,
    PoliciesTableModel,
    RunsTableModel,
)
from modelward.ui.models.rows import ROW_ROLE
from support.people import account, enrol
from support.policy_ui import OWNER, protected_registry


@pytest.fixture
def snapshot(tmp_path):
    reg = protected_registry(tmp_path)
    raise_alert(reg, "m", "trigger", "m: 62% of the columns drifted", severity="warning")
    raise_alert(reg, None, "info", "nothing to see")
    people = enrol(reg, OWNER, "Second Reviewer")
    with account(OWNER):
        req = request_approval(reg, "m:2", signer=people[OWNER], reason="v2 beats v1")
    with account("Second Reviewer"):
        approve(reg, req.id, people["Second Reviewer"], "approved", "gates passed")
    with account(OWNER):
        request_approval(reg, "m:1", signer=people[OWNER], reason="back to v1")
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


def test_the_validation_models_pass_the_model_tester(qtmodeltester):
    from modelward.ui.models.validation_tables import (
        DifferencesTableModel,
        GatesTableModel,
        MetricsTableModel,
    )

    colors = {"success": "#2e8540", "danger": "#d1453b"}
    metrics = MetricsTableModel()
    qtmodeltester.check(metrics)
    metrics.set_metrics({"roc_auc": 0.91234, "accuracy": 0.8, "note": None})
    qtmodeltester.check(metrics)
    assert [metrics.index(r, 0).data() for r in range(3)] == ["accuracy", "note", "roc_auc"]
    assert metrics.index(1, 1).data() == "—" and metrics.index(2, 1).data() == "0.9123"
    diffs = DifferencesTableModel()
    qtmodeltester.check(diffs)
    row = {
        "metric": "roc_auc", "champion": 0.8, "challenger": 0.85, "difference": 0.05,
        "ci_low": 0.01, "ci_high": 0.09, "p_value": 0.0004, "verdict": "better",
        "test": "DeLong",
    }  # fmt: skip
    diffs.set_differences([row, {**row, "metric": "accuracy", "verdict": "worse"}], colors)
    qtmodeltester.check(diffs)
    assert diffs.index(0, 5).data() == "< 0.001"
    assert diffs.index(0, 6).data(Qt.ItemDataRole.ForegroundRole).name() == "#2e8540"
    gates = GatesTableModel()
    gates.set_gates([{"gate": "roc_auc>=0.5", "passed": True, "detail": "0.85"}], colors)
    qtmodeltester.check(gates)
    assert gates.index(0, 1).data() == "✓ passed"


def test_worker_requests_are_typed_and_give_the_worker_its_message():
    import dataclasses

    from modelward.ui.requests import CompareRequest, ValidateRequest

    common = {"registry": "/r", "actor": "ana", "busy_timeout": 30.0, "allow_extra": False}
    v = ValidateRequest(**common, ref="m:1", data="d.csv", target=None)
    assert v.to_worker() == {**common, "kind": "validate", "ref": "m:1", "data": "d.csv",
                             "target": None}  # fmt: skip
    c = CompareRequest(**common, champion="m:1", challenger="m:2", data="d.csv", gates=("a>1",))
    assert c.to_worker()["gates"] == ["a>1"] and c.to_worker()["kind"] == "compare"
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.ref = "m:2"  # type: ignore[misc]
