"""Segments, protected-group gaps, data time and the prediction summary of a batch check."""

from __future__ import annotations

import json

import numpy as np
import pytest

from modelward.core.demo import DEMO_MODEL, FEATURES, create_demo_workspace, credit_data
from modelward.core.errors import InvalidInput
from modelward.core.monitoring import series, service
from modelward.core.monitoring.segments import date_in_name, group_gaps, segments_of
from modelward.core.registry import Registry

CHAMPION = f"{DEMO_MODEL}@champion"


def _table(n: int, seed: int, *, shift_b: float = 0.0) -> dict:
    X, y = credit_data(n, seed=seed)
    t = {c: X[:, i] for i, c in enumerate(FEATURES)}
    rng = np.random.default_rng(seed)
    t["region"] = np.array(
        rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2]), dtype=object
    )
    t["group"] = np.array(rng.choice(["a", "b"], n), dtype=object)
    b = t["group"] == "b"
    t["debt_ratio"] = np.where(b, np.clip(t["debt_ratio"] + shift_b, 0, 1), t["debt_ratio"])
    t["late_payments"] = np.where(b, t["late_payments"] + 4 * shift_b, t["late_payments"])
    t["id"] = np.arange(n) + seed * 100_000
    t["default"] = y
    return t


def _write(path, table) -> None:
    import duckdb

    con = duckdb.connect()
    con.register("t", {k: (v.astype(str) if v.dtype == object else v) for k, v in table.items()})
    fmt = "parquet" if str(path).endswith(".parquet") else "csv"
    con.execute(f"COPY t TO '{path}' (FORMAT {fmt})")
    con.close()


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp("seg") / "registry")
    create_demo_workspace(reg)
    service.profile_version(
        reg,
        CHAMPION,
        _table(3000, 7),
        target="default",
        exclude=["id", "region", "group"],
        protected="group",
    )
    return reg


def test_segments_gaps_and_summary(reg):
    t = _table(3000, 11, shift_b=0.35)
    res = service.check_batch(
        reg, CHAMPION, t, segment_by="region", label_column="default", gap_thresholds={}
    )
    # segments: every region, rows add up, each measured with its own drift and performance
    segs = res.segments["segments"]
    assert {s["segment"] for s in segs} == {"north", "south", "east"}
    assert sum(s["rows"] for s in segs) == 3000
    for s in segs:
        assert 0.0 <= s["drift_share"] <= 1.0 and "realized" in s["performance"]
        assert s["rows"] == int((t["region"] == s["segment"]).sum())
    # the protected attribute declared with the profile is used without being named again
    g = res.groups
    assert g["column"] == "group" and set(g["by_group"]) == {"a", "b"}
    # fairlearn's numbers equal a direct computation on the same rows
    vid = reg.resolve(CHAMPION).id
    thr = float(service.get_profile(reg, vid).model.get("threshold", 0.5))
    direct = group_gaps(t["group"], _scores(reg, t), t["default"], thr)
    for grp in ("a", "b"):
        for m in ("selection_rate", "true_positive_rate", "calibration"):
            assert g["by_group"][grp][m] == pytest.approx(direct["by_group"][grp][m], abs=1e-12)
        mask = t["group"] == grp
        sel = float(np.mean(_scores(reg, t)[mask] >= thr))
        assert g["by_group"][grp]["selection_rate"] == pytest.approx(sel, abs=1e-12)
    ratio = g["gaps"]["selection_rate_ratio"]
    lo, hi = sorted(g["by_group"][x]["selection_rate"] for x in ("a", "b"))
    assert ratio["value"] == pytest.approx(lo / hi, abs=1e-12)
    assert "selection_rate_ratio" in g["crossed"] and ratio["crossed"]
    # predictions: a summary, no per-row writes
    assert res.predictions["n"] == 3000 and not res.predictions["rows_logged"]
    assert sum(res.predictions["histogram"]["counts"]) == 3000
    assert sum(res.predictions["per_class"].values()) == 3000
    with reg._read() as cur:
        n = cur.execute(
            "SELECT count(*) FROM mon_predictions WHERE batch_id = ?", [res.batch_id]
        ).fetchall()[0][0]
        stored = json.loads(
            cur.execute("SELECT report FROM mon_batches WHERE id = ?", [res.batch_id]).fetchall()[
                0
            ][0]
        )
    assert n == 0
    assert stored["groups"]["crossed"] == g["crossed"] and stored["segments"] == res.segments
    assert stored["predictions"]["n"] == 3000
    # labels cannot be attached to a batch that kept no rows: said in a sentence
    with pytest.raises(InvalidInput, match="summary"):
        service.attach_labels(reg, res.batch_id, t, id_column="id", label_column="default")


def test_row_logging_on_request(reg):
    t = _table(500, 12)
    res = service.check_batch(reg, CHAMPION, t, log_rows=True)
    with reg._read() as cur:
        n = cur.execute(
            "SELECT count(*) FROM mon_predictions WHERE batch_id = ?", [res.batch_id]
        ).fetchall()[0][0]
    assert n == 500 and res.predictions["rows_logged"]


def _scores(reg, t):
    from modelward.core.artifacts.safeload import load_artifact

    v = reg.resolve(CHAMPION)
    model = load_artifact(reg.artifacts, v.sha256, v.format, registry=reg)
    X = np.column_stack([t[c] for c in FEATURES])
    return model.predict_proba(X)[:, 1]


def test_data_time_from_name_then_column_then_arrival(reg, tmp_path):
    t = _table(400, 13)
    _write(tmp_path / "2025-03.csv", t)
    _write(tmp_path / "batch_2025-04-01.parquet", t)
    with_date = dict(t)
    with_date["day"] = np.array(["2025-05-17"] * 200 + ["2025-05-09"] * 200, dtype="datetime64[ns]")
    _write(tmp_path / "late.parquet", with_date)
    _write(tmp_path / "plain.csv", t)
    r1 = service.check_batch(reg, CHAMPION, tmp_path / "2025-03.csv")
    r2 = service.check_batch(reg, CHAMPION, tmp_path / "batch_2025-04-01.parquet")
    r3 = service.check_batch(reg, CHAMPION, tmp_path / "late.parquet")
    r4 = service.check_batch(reg, CHAMPION, tmp_path / "plain.csv")
    assert (r1.data_time, r1.data_time_source) == ("2025-03-01", "file name")
    assert (r2.data_time, r2.data_time_source) == ("2025-04-01", "file name")
    assert (r3.data_time, r3.data_time_source) == ("2025-05-09", "column day")
    assert r4.data_time_source == "arrival" and r4.data_time[:4] >= "2026"
    # editable; the series (and so the charts) use it
    service.set_data_time(reg, r4.batch_id, "2025-06-01")
    b = series.batches(reg, reg.resolve(CHAMPION).id)
    times = dict(zip(b["batch_id"].tolist(), b["batch_time"].tolist(), strict=True))
    assert [times[r.batch_id] for r in (r1, r2, r3, r4)] == [
        "2025-03-01",
        "2025-04-01",
        "2025-05-09",
        "2025-06-01",
    ]
    assert reg.audit_events(action="monitor.data_time_set")
    with pytest.raises(InvalidInput, match="not a date"):
        service.set_data_time(reg, r4.batch_id, "March")


def test_helpers():
    assert date_in_name("2025-03.csv") == "2025-03-01"
    assert date_in_name("batch_2025-03-01.parquet") == "2025-03-01"
    assert date_in_name("sales_20250315.csv") == "2025-03-15"
    assert date_in_name("model_v12345.csv") is None and date_in_name("2025-13.csv") is None
    v = np.arange(1000, dtype=np.float64)
    bands = segments_of("x", v, "numeric")
    assert len(bands) == 4 and sum(int(s.mask(v).sum()) for s in bands) == 1000
    cats = segments_of("r", np.array(["a", "b", None, "a"], dtype=object), "categorical")
    assert [s.label for s in cats] == ["a", "(missing)", "b"]


def test_cli_segments_groups_alert_and_data_time(tmp_path, run_cli):
    home = tmp_path / "reg"
    create_demo_workspace(Registry(home))
    _write(tmp_path / "ref.csv", _table(2000, 7))
    _write(tmp_path / "2025-07.csv", _table(2000, 21, shift_b=0.35))
    base = ("--registry", str(home))
    out = run_cli(
        "monitor",
        CHAMPION,
        *base,
        "--reference",
        str(tmp_path / "ref.csv"),
        "--target",
        "default",
        "--exclude",
        "id,region,group",
        "--protected",
        "group",
    )
    assert out.returncode == 0, out.stderr
    out = run_cli(
        "monitor",
        CHAMPION,
        *base,
        "--batch",
        str(tmp_path / "2025-07.csv"),
        "--segment-by",
        "region",
        "--label-column",
        "default",
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "segments by region:" in text and "north" in text
    assert "groups by group (protected):" in text
    assert "gap selection rate ratio" in text and "CROSSED" in text
    assert "data time: 2025-07-01 (from file name)" in text
    assert "alert " in text
    from modelward.core.policies.alerts import list_alerts

    alerts = [a for a in list_alerts(Registry(home)) if a.kind == "group-gap"]
    assert len(alerts) == 1 and alerts[0].model == DEMO_MODEL
    bid = str(alerts[0].numbers["batch_id"])
    out = run_cli("monitor", CHAMPION, *base, "--batch-id", bid, "--data-time", "2025-08-01")
    assert out.returncode == 0 and "2025-08-01" in out.stdout, out.stderr
    out = run_cli(
        "drift",
        "--reference",
        str(tmp_path / "ref.csv"),
        "--current",
        str(tmp_path / "2025-07.csv"),
        "--segment-by",
        "region",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert {s["segment"] for s in doc["segments"]["segments"]} == {"north", "south", "east"}
