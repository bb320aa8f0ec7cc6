"""The demo workspace: two trained credit models, metrics, a champion, audited."""

from __future__ import annotations

import pytest

from modelward import api
from modelward.core.demo import DEMO_MODEL, create_demo_workspace, credit_data
from modelward.core.errors import Cancelled
from modelward.core.progress import CancelToken
from modelward.core.registry import Registry


def test_credit_data_is_deterministic_and_balanced_enough():
    X, y = credit_data(n=2000)
    X2, y2 = credit_data(n=2000)
    assert X.shape == (2000, 8)
    assert (X == X2).all()
    assert (y == y2).all()
    assert 0.1 < y.mean() < 0.6


def test_demo_workspace(tmp_path):
    reg = Registry(tmp_path / "r")
    seen = []
    result = create_demo_workspace(reg, progress=lambda f, s: seen.append(f))
    versions = reg.list_versions(DEMO_MODEL)
    assert len(versions) == 2
    for v in versions:
        assert 0.6 < v.metrics["roc_auc"] <= 1.0
        assert {"accuracy", "f1"} <= set(v.metrics)
        assert v.lineage["training_data"]
    champion = reg.resolve(f"{DEMO_MODEL}@champion")
    assert champion.ref == result.champion
    assert champion.metrics["roc_auc"] == max(v.metrics["roc_auc"] for v in versions)
    with reg.read() as cur:  # validated on its hold-out, so its model card is filled
        rows = cur.execute(
            "SELECT rows, target FROM validations WHERE version_id = ?", [champion.id]
        ).fetchall()
    assert rows == [(1000, "default")]
    assert seen == sorted(seen)
    assert seen[-1] == 1.0
    model = api.load_model(f"{DEMO_MODEL}@champion", registry=reg)
    X, _ = credit_data(n=10)
    assert model.predict_proba(X).shape == (10, 2)
    assert reg.verify_audit().ok
    assert [e.reason for e in reg.alias_history(DEMO_MODEL)] == [
        "demo workspace: best hold-out ROC AUC"
    ]


def test_demo_cancel_before_anything_is_written(tmp_path):
    reg = Registry(tmp_path / "r")
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        create_demo_workspace(reg, cancel=token)
    assert reg.list_versions() == []
