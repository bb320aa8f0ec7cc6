"""Policies in the window: the editor round-trips a policy; runs explain themselves; the loop
runs on the window's job runner (the PolicyService's) and run_due on the policy thread."""

from __future__ import annotations

import pytest

from modelward.core.policies import Policy, Triggers, get_policy, list_policy_runs
from modelward.core.policies import engine as policy_engine
from modelward.core.policies.triggers import TriggerHit
from modelward.ui.dialogs.policy import PolicyDialog
from support.policy_ui import OWNER, protected_registry

RICH = Policy(
    model="m",
    triggers=Triggers(
        drift_share_above=None,
        psi_above=0.3,
        psi_features=("income", "debt_ratio"),
        metric="accuracy",
        performance_below=0.71,
        performance_drop=0.04,
        every_days=14.5,
        new_labelled_rows=5000,
    ),
    alert=True,
    retrain=True,
    promote=False,
    alias="production",
    four_eyes=True,
    protected_aliases=("production", "champion"),
    window_batches=4,
    holdout_share=0.25,
    include_training_data=False,
    gates=("accuracy>=champion-0.01", "roc_auc>=0.7"),
    n_boot=400,
    approval_ttl_hours=48.0,
    alert_command=("notify-send", "ModelWard alert", "--urgency=critical"),
    alert_timeout=5.0,
    owner="Alice Maker",
    enabled=False,
)


def test_the_dialog_round_trips_a_policy(qtbot):
    dlg = PolicyDialog("m", RICH, models=["m", "other"])
    qtbot.addWidget(dlg)
    assert dlg.policy() == RICH
    default = Policy(model="m", owner="me")
    dlg.set_policy(default)
    assert dlg.policy() == default


def test_the_dialog_shows_the_cores_refusal(qtbot):
    dlg = PolicyDialog("m", RICH)
    qtbot.addWidget(dlg)
    dlg.gates.setPlainText("roc_auc >>= banana")
    dlg.ok_button.click()
    assert not dlg.error_label.isHidden() and "gate" in dlg.error_label.text()
    assert dlg.result() == 0  # still open


@pytest.fixture
def window(make_main_window, qtbot, tmp_path):
    win = make_main_window(protected_registry(tmp_path))
    qtbot.waitUntil(lambda: len(win.policies.snapshot.policies) == 1, timeout=10_000)
    return win


def test_editing_a_policy_in_the_window_stores_it(window, qtbot):
    center, reg = window.policies, window.registry
    window.open_model("m")
    qtbot.waitSignal(window.sig_model_page_loaded, timeout=10_000).wait()
    center.policy_button.click()
    dlg = center.policy_dialog
    assert dlg.policy() == get_policy(reg, "m")
    dlg.drift_share.set_value(0.3)
    dlg.command.setText("forward-alert --to 'risk team'")
    dlg.reason.setText("tighter drift threshold")
    with qtbot.waitSignal(window.jobs.sig_job_finished, timeout=30_000):
        dlg.ok_button.click()
    stored = get_policy(reg, "m")
    assert stored.triggers.drift_share_above == 0.3
    assert stored.alert_command == ("forward-alert", "--to", "risk team")
    assert stored.owner == OWNER
    assert reg.audit_events(action="policy.set", limit=1)[0].reason == "tighter drift threshold"


def test_policy_runs_are_listed_with_their_explanation(window, qtbot):
    center, reg = window.policies, window.registry
    # The window's runner runs policy jobs (progress, cancel, log in Jobs).
    assert center.service.runner is window.jobs.runner
    assert window.watch.service.runner is window.jobs.runner
    hit = TriggerHit("psi_above", 0.41, 0.25, "PSI of income 0.41 above 0.25")
    with qtbot.waitSignal(center.sig_new_alerts, timeout=10_000):
        policy_engine.fire(reg, get_policy(reg, "m"), [hit], runner=center.service.runner)
    (run,) = list_policy_runs(reg)
    page = center.policies_page
    center.show(center.policies_index)
    qtbot.waitUntil(lambda: page.runs.model().rowCount() == 1, timeout=10_000)
    page.select_run(run.id)
    text = page.explain.toPlainText()
    assert text == run.explain()
    assert "fired: PSI of income 0.41 above 0.25" in text


def test_run_due_runs_on_the_policy_thread(window, qtbot):
    center = window.policies
    with qtbot.waitSignal(center.sig_background_done, timeout=10_000) as done:
        center.run_due()
    assert done.args[1] == []  # nothing scheduled is due


def test_the_policy_service_stops_at_shutdown(make_main_window, tmp_path):
    win = make_main_window(protected_registry(tmp_path))
    service = win.policies.service
    assert service.running and service.runner is win.jobs.runner
    win.shutdown()
    assert not service.running
    assert not hasattr(policy_engine, "use_runner")  # no process-global runner
