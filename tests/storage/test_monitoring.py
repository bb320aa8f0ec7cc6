"""Monitoring on a real registry: profiles, batch checks, late labels, series, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from modelward.core.demo import DEMO_MODEL, FEATURES, create_demo_workspace, credit_data
from modelward.core.errors import NotFound
from modelward.core.monitoring import series, service
from modelward.core.monitoring.quality import SchemaMismatch
from modelward.core.registry import Registry

CHAMPION = f"{DEMO_MODEL}@champion"


def _table(n: int, seed: int, shift: float = 0.0) -> tuple[dict, np.ndarray]:
    X, y = credit_data(n, seed=seed)
    t = {c: X[:, i] for i, c in enumerate(FEATURES)}
    t["debt_ratio"] = np.clip(t["debt_ratio"] + shift, 0, 1)
    t["id"] = np.arange(n) + seed * 100_000
    return t, y


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    home = tmp_path_factory.mktemp("mon") / "registry"
    reg = Registry(home)
    create_demo_workspace(reg)
    ref, y = _table(4000, 7)
    ref["default"] = y
    service.profile_version(reg, CHAMPION, ref, target="default", exclude=["id"])
    return reg


def test_check_requires_a_profile(tmp_path):
    reg = Registry(tmp_path / "r")
    create_demo_workspace(reg)
    with pytest.raises(NotFound, match="no reference profile"):
        service.check_batch(reg, CHAMPION, _table(100, 1)[0])


def test_profile_is_stored_with_the_version(workspace):
    v = workspace.resolve(CHAMPION)
    prof = service.get_profile(workspace, v.id)
    assert prof is not None and set(prof.features) == set(FEATURES)
    assert prof.score is not None and prof.model["task"] == "binary"
    assert 0.6 < prof.model["reference"]["roc_auc"] < 1.0
    assert workspace.audit_events(action="monitor.profiled")


def test_batches_drift_performance_and_late_labels(workspace):
    reg = workspace
    vid = reg.resolve(CHAMPION).id
    before = len(series.batches(reg, vid)["batch_id"])
    calm, y_calm = _table(2000, 11)
    calm["default"] = y_calm
    r1 = service.check_batch(
        reg, CHAMPION, calm, name="jan", batch_time="2026-01-31", label_column="default"
    )
    assert "realized" in r1.performance and not r1.report.drifted
    assert not r1.report.feature("debt_ratio").drifted
    shifted, y_shift = _table(2000, 12, shift=0.25)
    r2 = service.check_batch(
        reg, CHAMPION, shifted, name="feb", batch_time="2026-02-28", id_column="id"
    )
    assert r2.report.feature("debt_ratio").drifted
    assert r2.report.prediction is not None and r2.report.prediction.drifted
    assert set(r2.performance) == {"estimated"}

    b = series.batches(reg, vid)
    assert len(b["batch_id"]) == before + 2
    assert b["name"][-2:].tolist() == ["jan", "feb"]
    assert b["has_labels"][-2:].tolist() == [True, False]

    ps = series.performance_series(reg, vid, "roc_auc")
    assert np.isfinite(ps["realized"][-2]) and np.isnan(ps["estimated"][-2])
    assert np.isnan(ps["realized"][-1]) and np.isfinite(ps["estimated"][-1])
    assert ps["band_lower"] < ps["reference"] < ps["band_upper"]

    # late labels, joined by id, make the estimated batch realized too
    metrics = service.attach_labels(
        reg,
        r2.batch_id,
        {"id": shifted["id"], "default": y_shift},
        id_column="id",
        label_column="default",
    )
    assert 0.5 < metrics["roc_auc"] <= 1.0
    ps = series.performance_series(reg, vid, "roc_auc")
    assert ps["realized"][-1] == pytest.approx(metrics["roc_auc"])
    assert np.isfinite(ps["estimated"][-1])
    assert series.batches(reg, vid)["has_labels"][-1]

    m = series.drift_matrix(reg, vid)
    assert m["value"].shape == (len(FEATURES), len(m["batch_id"]))
    j = m["features"].index("debt_ratio")
    assert m["drifted"][j, -1] and not m["drifted"][j, -2]
    h = series.histograms(reg, r2.batch_id, "debt_ratio")
    assert h["reference"].shape == h["current"].shape == (len(h["edges"]) + 1,)
    assert h["current"].sum() == pytest.approx(1.0)
    actions = [e.action for e in reg.audit_events(action="monitor.")]
    assert "monitor.checked" in actions and "monitor.labels_attached" in actions


def test_schema_mismatch_stops_the_check(workspace):
    t, _ = _table(100, 13)
    del t["income"]
    with pytest.raises(SchemaMismatch, match="income"):
        service.check_batch(workspace, CHAMPION, t)


def _csv(path, table):
    import duckdb

    con = duckdb.connect()
    con.register("t", table)
    con.execute(f"COPY t TO '{path}' (FORMAT csv)")
    con.close()


def test_cli_drift_json(tmp_path, run_cli):
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    _csv(ref, _table(3000, 1)[0])
    _csv(cur, _table(3000, 2, shift=0.3)[0])
    out = run_cli("drift", "--reference", str(ref), "--current", str(cur), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert {"features", "drift_share", "drifted"} <= set(doc)
    f = {x["name"]: x for x in doc["features"]}
    for x in f.values():
        assert {"name", "method", "statistic", "p_value", "threshold", "drifted"} <= set(x)
    assert f["debt_ratio"]["drifted"] and not f["age"]["drifted"]
    text = run_cli(
        "drift",
        "--reference",
        str(ref),
        "--current",
        str(cur),
        "--fail-on-drift",
        "--drift-share",
        "0.1",
    )
    assert text.returncode == 1 and "debt_ratio" in text.stdout
    bad = run_cli("drift", "--reference", str(ref), "--current", str(tmp_path / "missing.csv"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_cli_monitor(tmp_path, run_cli):
    home = tmp_path / "reg"
    create_demo_workspace(Registry(home))
    ref, y = _table(3000, 7)
    ref["default"] = y
    _csv(tmp_path / "ref.csv", ref)
    batch, _ = _table(1500, 21, shift=0.25)
    _csv(tmp_path / "b.csv", batch)
    out = run_cli(
        "monitor",
        CHAMPION,
        "--registry",
        str(home),
        "--reference",
        str(tmp_path / "ref.csv"),
        "--target",
        "default",
        "--exclude",
        "id",
        "--batch",
        str(tmp_path / "b.csv"),
        "--id-column",
        "id",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["profile"]["rows"] == 3000 and doc["batch_id"] >= 1
    assert "estimated" in doc["performance"]
    assert any(f["name"] == "debt_ratio" and f["drifted"] for f in doc["features"])


def test_demo_batches(tmp_path):
    from modelward.core.demo.monitoring import add_monitoring_demo

    reg = Registry(tmp_path / "demo")
    create_demo_workspace(reg)
    ids = add_monitoring_demo(reg, rows=600)
    vid = reg.resolve(CHAMPION).id
    b = series.batches(reg, vid)
    assert b["batch_id"].tolist() == ids and len(ids) == 12
    assert b["has_labels"].tolist() == [True] * 9 + [False] * 3  # labels three months late
    assert b["drift_share"][:6].max() == 0.0 and b["drift_share"][-1] > 0.0
    ps = series.performance_series(reg, vid)
    assert np.isfinite(ps["estimated"]).all() and np.isfinite(ps["realized"][:9]).all()
