"""Policies as data and trigger evaluation: pure functions, no registry."""

from __future__ import annotations

import datetime as dt

import pytest

from modelward.core.errors import InvalidInput
from modelward.core.policies.model import Policy, Triggers
from modelward.core.policies.triggers import BatchNumbers, evaluate_triggers


def _numbers(**kw) -> BatchNumbers:
    base = dict(
        model="m",
        batch_id=1,
        batch="b.csv",
        drift_share=0.25,
        psi={"a": 0.05, "b": 0.4, "c": 0.3},
        performance_kind="realized",
        performance={"roc_auc": 0.71, "brier_score_loss": 0.3},
        reference={"roc_auc": 0.80, "brier_score_loss": 0.2},
    )
    base.update(kw)
    return BatchNumbers(**base)


def _fired(policy: Policy, numbers: BatchNumbers | None = None, **kw) -> dict[str, float]:
    return {h.trigger: h.value for h in evaluate_triggers(policy, numbers, **kw)}


def test_policy_json_round_trip_and_defaults():
    p = Policy(
        "credit",
        Triggers(psi_above=0.2, psi_features=("income",), every_days=30),
        retrain=True,
        gates=("roc_auc>=champion-0.01",),
        alert_command=("forward-alert", "--to", "ops"),
        owner="Alice",
    )
    assert Policy.from_json(p.to_json()) == p
    assert Policy.from_json(__import__("json").dumps(p.to_json())) == p
    assert p.needs_approval  # champion is protected and four-eyes is on by default
    assert not p.replace(four_eyes=False).needs_approval
    assert not p.replace(alias="staging").needs_approval
    assert p.triggers.active == ["drift_share_above", "psi_above", "every_days"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"model": "m", "colour": 1}, "unknown policy field 'colour'"),
        ({"model": "m", "triggers": {"psi_over": 1}}, "unknown trigger 'psi_over'"),
        ({"model": "m", "policy_version": 99}, "newer ModelWard"),
        ("{not json", "not valid JSON"),
    ],
)
def test_malformed_policies_are_refused(doc, message):
    with pytest.raises(InvalidInput, match=message):
        Policy.from_json(doc)


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (Policy("m", Triggers(drift_share_above=1.5)), "fraction of columns"),
        (Policy("m", Triggers(psi_above=-1)), "cannot be negative"),
        (Policy("m", Triggers(new_labelled_rows=0)), "at least 1"),
        (Policy("m", window_batches=0), "at least 1 batch"),
        (Policy("m", holdout_share=0.95), "holdout share"),
        (Policy("m", gates=("roc_auc>>1",)), "bad gate"),
        (Policy("m", approval_ttl_hours=0), "positive number of hours"),
        (Policy("bad:name"), "bad model name"),
    ],
)
def test_policy_check(policy, message):
    with pytest.raises(InvalidInput, match=message):
        policy.check()


def test_drift_share_fires_above_the_threshold_only():
    assert _fired(Policy("m", Triggers(drift_share_above=0.2)), _numbers()) == {"drift_share": 0.25}
    assert _fired(Policy("m", Triggers(drift_share_above=0.25)), _numbers()) == {}
    assert _fired(Policy("m", Triggers(drift_share_above=0.2)), _numbers(drift_share=None)) == {}


def test_psi_names_the_worst_column_and_respects_the_column_list():
    hits = evaluate_triggers(
        Policy("m", Triggers(drift_share_above=None, psi_above=0.25)), _numbers()
    )
    assert [(h.trigger, h.value, h.threshold) for h in hits] == [("psi", 0.4, 0.25)]
    assert "PSI of b is 0.400" in hits[0].detail and "1 more column" in hits[0].detail
    only_c = Policy("m", Triggers(drift_share_above=None, psi_above=0.25, psi_features=("c",)))
    assert _fired(only_c, _numbers()) == {"psi": 0.3}
    only_a = Policy("m", Triggers(drift_share_above=None, psi_above=0.25, psi_features=("a",)))
    assert _fired(only_a, _numbers()) == {}


def test_performance_below_and_drop_read_the_metric_direction():
    below = Policy("m", Triggers(drift_share_above=None, performance_below=0.75))
    assert _fired(below, _numbers()) == {"performance": 0.71}
    assert _fired(below, _numbers(performance={"roc_auc": 0.8})) == {}
    drop = Policy("m", Triggers(drift_share_above=None, performance_drop=0.05))
    assert _fired(drop, _numbers()) == pytest.approx({"performance_drop": 0.09})
    assert _fired(drop.replace(triggers=Triggers(None, performance_drop=0.1)), _numbers()) == {}
    # Lower is better for the Brier score: 0.3 against the champion's 0.2 is a drop of 0.1.
    brier = Triggers(
        drift_share_above=None,
        metric="brier_score_loss",
        performance_below=0.25,
        performance_drop=0.05,
    )
    assert _fired(Policy("m", brier), _numbers()) == pytest.approx(
        {"performance": 0.3, "performance_drop": 0.1}
    )
    # No performance in the batch (no labels, no calibration): nothing to judge.
    assert _fired(below, _numbers(performance={}, performance_kind=None)) == {}


def test_schedule_and_new_labelled_rows():
    now = dt.datetime(2026, 3, 31, tzinfo=dt.UTC)
    p = Policy("m", Triggers(drift_share_above=None, every_days=30, new_labelled_rows=1000))
    fired = _fired(p, None, last_action_at="2026-03-01T00:00:00.000000Z", now=now)
    assert fired == {"schedule": 30.0}
    assert _fired(p, None, last_action_at="2026-03-02T00:00:00.000000Z", now=now) == {}
    assert _fired(p, None, labelled_rows_since=999) == {}
    assert _fired(p, None, labelled_rows_since=1000) == {"new_labelled_rows": 1000.0}


def test_a_disabled_policy_never_fires():
    p = Policy("m", Triggers(drift_share_above=0.0), enabled=False)
    assert _fired(p, _numbers(drift_share=1.0)) == {}
