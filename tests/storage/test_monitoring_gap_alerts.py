"""Gaps between protected groups alert through the policy engine, from inbox batches."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelward.core.intake.estimator import log_estimator
from modelward.core.monitoring import service
from modelward.core.policies import Policy, Triggers, list_alerts, list_policy_runs, set_policy
from modelward.core.registry import Registry
from modelward.core.watch import DATA, add_folder

FEATURES = ["age", "income", "debt"]


def _frame(n: int, seed: int, gap: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    df["group"] = rng.choice(["a", "b"], n)
    # group b's applicants score lower: its selection rate falls under 4/5 of a's
    df.loc[df["group"] == "b", "age"] -= gap
    df["default"] = (df["age"] + 0.5 * df["income"] > 0).astype(int)
    return df


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("gaps")
    reg = Registry(root / "reg")
    ref = _frame(1500, 0)
    log_estimator(
        reg, LogisticRegression().fit(ref[FEATURES], ref["default"]), "credit", X=ref[FEATURES]
    )
    reg.set_alias("credit:1", "champion", "first")
    cols = {c: ref[c].to_numpy() for c in [*FEATURES, "default"]}
    cols["group"] = ref["group"].to_numpy(dtype=object)
    service.profile_version(
        reg, "credit@champion", cols, target="default", exclude=["group"], protected="group"
    )
    inbox = root / "inbox"
    add_folder(reg, inbox, DATA, model_name="credit", options={"label_column": "default"})
    reg.close()
    return root


def _drop(run_cli, root, name: str, df: pd.DataFrame) -> None:
    src = root / f"{name}.tmp"
    df.to_csv(src, index=False)
    shutil.copy(src, root / "inbox" / name)  # copied in, as a user does
    proc = run_cli("run", "--once", "--registry", str(root / "reg"), timeout=900)
    assert proc.returncode == 0, proc.stderr


def test_group_gap_alerts_with_and_without_a_policy(run_cli, home):
    # no policy: the inbox's batch check crossed the four-fifths rule, an alert says so
    _drop(run_cli, home, "2025-01.csv", _frame(800, 1, gap=1.5))
    reg = Registry(home / "reg")
    (alert,) = [a for a in list_alerts(reg, model="credit") if a.kind == "group-gap"]
    assert "selection rate ratio" in alert.message and "2025-01.csv" in alert.message
    assert alert.numbers["column"] == "group"
    assert alert.numbers["gaps"]["selection_rate_ratio"]["value"] < 0.8
    events = reg.audit_events(action="alert.raised")
    assert any(e.after["alert_id"] == alert.id and e.after["kind"] == "group-gap" for e in events)

    # with a policy whose other triggers stay quiet: a policy run of the group_gap
    # trigger, alerted and never retrained (retraining does not close a gap)
    set_policy(reg, Policy("credit", Triggers(drift_share_above=None), retrain=True, owner="A"))
    reg.close()
    _drop(run_cli, home, "2025-02.csv", _frame(800, 2, gap=1.5))
    _drop(run_cli, home, "2025-03.csv", _frame(800, 3, gap=0.0))  # no gap: no alert
    reg = Registry(home / "reg")
    gap_alerts = [a for a in list_alerts(reg, model="credit") if a.kind == "group-gap"]
    assert len(gap_alerts) == 2 and "2025-02.csv" in gap_alerts[0].message
    (run,) = list_policy_runs(reg, model="credit")
    assert [t["trigger"] for t in run.triggers] == ["group_gap"]
    assert run.status == "alerted" and gap_alerts[0].policy_run_id == run.id
    reg.close()
