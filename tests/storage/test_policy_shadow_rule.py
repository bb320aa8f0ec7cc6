"""A policy promotes a shadow challenger on its realized metrics: ``labels`` + ``run --once``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from modelward.core.intake.estimator import log_estimator
from modelward.core.policies import (
    Policy,
    Triggers,
    get_policy,
    list_alerts,
    list_policy_runs,
    pending_approvals,
    run_due,
)
from modelward.core.policies.engine import shadow_comparison
from modelward.core.registry import Registry
from modelward.core.registry.predictions import SHADOW, add_shadow, log_predictions

FEATURES = ["age", "income", "debt"]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    df["default"] = (df["age"] + df["income"] - df["debt"] + rng.normal(0, 0.5, n) > 0).astype(int)
    df.insert(0, "loan_id", [f"L{seed}-{i:05d}" for i in range(n)])
    return df


def test_shadow_that_beats_the_champion_is_proposed_for_approval(run_cli, tmp_path):
    home = tmp_path / "reg"
    reg = Registry(home)
    train = _frame(1000, 0)
    weak = LogisticRegression().fit(
        train[["debt"]].assign(age=0.0, income=0.0)[FEATURES], train["default"]
    )
    strong = LogisticRegression().fit(train[FEATURES], train["default"])
    log_estimator(reg, weak, "credit", X=train[FEATURES])
    log_estimator(reg, strong, "credit", X=train[FEATURES])
    reg.set_alias("credit:1", "champion", "first")
    add_shadow(reg, "credit", 2)
    # one batch scored by the champion and, in the shadow, by version 2 (rows logged)
    batch = _frame(600, 1)
    for version, est, role in ((1, weak, "champion"), (2, strong, SHADOW)):
        proba = est.predict_proba(batch[FEATURES])
        log_predictions(
            reg, "credit", version, "b1", batch["loan_id"].to_numpy(),
            est.classes_[proba.argmax(axis=1)], proba, rows=True, role=role,
            id_column="loan_id",
        )  # fmt: skip
    reg.close()
    # the rule set through the command line's flags, as a user does
    got = run_cli(
        *("policy", "set", "credit", "--drift-share", "off", "--owner", "Alice"),
        *("--shadow-metric", "roc_auc", "--shadow-margin", "0.01", "--shadow-min-rows", "500"),
        *("--no-group-gap-alerts", "--registry", str(home), "--json"),
        timeout=900,
    )
    assert got.returncode == 0, got.stderr
    saved = json.loads(got.stdout)
    assert (saved["shadow_metric"], saved["shadow_margin"], saved["shadow_min_rows"]) == (
        "roc_auc",
        0.01,
        500,
    )
    assert saved["alert_group_gaps"] is False and saved["triggers"]["drift_share_above"] is None
    reg = Registry(home)
    assert get_policy(reg, "credit") == Policy(
        "credit",
        Triggers(drift_share_above=None),
        shadow_metric="roc_auc",
        shadow_margin=0.01,
        shadow_min_rows=500,
        owner="Alice",
        alert_group_gaps=False,
    )
    assert run_due(reg) == [] and not pending_approvals(reg, model="credit")  # no labels yet
    reg.close()

    labels = tmp_path / "labels.csv"
    batch[["loan_id", "default"]].to_csv(labels, index=False)
    got = run_cli(
        *("labels", "credit", "--data", str(labels), "--id", "loan_id", "--label", "default"),
        *("--registry", str(home)),
        timeout=900,
    )
    assert got.returncode == 0, got.stderr
    ran = run_cli("run", "--once", "--registry", str(home), timeout=900)
    assert ran.returncode == 0, ran.stderr

    reg = Registry(home)
    (req,) = pending_approvals(reg, model="credit")
    assert req.version_ref == "credit:2" and req.alias == "champion" and req.requested_by == "Alice"
    (run,) = list_policy_runs(reg, model="credit")
    assert [t["trigger"] for t in run.triggers] == ["shadow_beats_champion"]
    assert run.status == "awaiting-approval" and run.approval_id == req.id
    (cmp,) = shadow_comparison(reg, Policy("credit", shadow_metric="roc_auc"))
    assert cmp["rows"] == 600 and cmp["gain"] > 0.01 and cmp["ref"] == "credit:2"
    assert "600 labelled rows" in req.reason
    assert any(a.policy_run_id == run.id for a in list_alerts(reg, model="credit"))
    assert run_due(reg) == []  # a request waits: not asked again
    reg.close()

    # 'off' switches the rule off and keeps the rest; the text says so
    got = run_cli(
        *("policy", "set", "credit", "--shadow-metric", "off", "--group-gap-alerts"),
        *("--registry", str(home)),
        timeout=900,
    )
    assert got.returncode == 0, got.stderr
    assert "shadow rule    off" in got.stdout and "group gaps     alert" in got.stdout
    reg = Registry(home)
    p = get_policy(reg, "credit")
    assert p is not None and p.shadow_metric is None and p.alert_group_gaps
    assert p.shadow_min_rows == 500 and p.owner == "Alice"
    reg.close()
