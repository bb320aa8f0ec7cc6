"""The monitoring snapshot the window draws, and the tables its charts export (no Qt)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from modelward import api
from modelward.core.errors import InvalidInput
from modelward.core.monitoring import series, service, snapshot
from modelward.core.registry import Registry


def _table(n: int, seed: int, shift: float = 0.0) -> tuple[dict, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    X[:, 0] += shift
    y = (X[:, 0] + X[:, 1] + rng.normal(size=n) > 0).astype(int)
    return {"a": X[:, 0], "b": X[:, 1], "c": X[:, 2]}, y


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    from sklearn.linear_model import LogisticRegression

    r = Registry(tmp_path_factory.mktemp("snap") / "registry")
    ref, y = _table(600, 1)
    X = np.column_stack([ref["a"], ref["b"], ref["c"]])
    api.log_model(LogisticRegression().fit(X, y), "tiny", registry=r, tags={"features": "a,b,c"})
    api.log_model(LogisticRegression(C=0.5).fit(X, y), "tiny", registry=r)  # not monitored
    ref["y"] = y
    service.profile_version(r, "tiny:1", ref, target="y")
    for month, shift in ((1, 0.0), (2, 1.0)):
        b, yb = _table(300, 10 + month, shift)
        b["y"] = yb
        service.check_batch(
            r,
            "tiny:1",
            b,
            name=f"m{month}",
            batch_time=f"2026-{month:02d}-28",
            label_column="y" if month == 1 else None,
        )
    return r


def test_monitored_versions_lists_profiled_versions_only(reg):
    assert snapshot.monitored_versions(reg) == ["tiny:1"]


def test_snapshot_carries_series_details_and_times(reg):
    s = snapshot.load_snapshot(reg, "tiny:1", metric="no-such-metric")
    assert s.ref == "tiny:1" and s.n_batches == 2
    assert s.metric == "roc_auc" and "accuracy" in s.metrics  # unknown metric: falls back
    assert s.head == reg.audit_head()
    assert s.times[1] - s.times[0] == 31 * 86400
    m, d = s.matrix, s.details
    assert m["features"] == ["a", "b", "c"]
    assert d["reason"].shape == (3, 2) and all(d["reason"].ravel())  # why each method was chosen
    assert d["threshold_source"][0, 1]
    assert np.allclose(d["statistic"], m["value"], equal_nan=True)
    assert d["share_threshold"].tolist() == [0.5, 0.5]
    assert m["drifted"][0, 1] and not m["drifted"][0, 0]


def test_chart_tables_and_csv(reg, tmp_path):
    s = snapshot.load_snapshot(reg, "tiny:1")
    header, rows = snapshot.chart_table(s, "performance")
    assert header[:4] == ["batch_id", "batch", "batch_time", "metric"]
    realized, estimated = header.index("realized"), header.index("estimated")
    assert rows[0][realized] != "" and rows[1][realized] == "" and rows[1][estimated] != ""
    header, rows = snapshot.chart_table(s, "heatmap")
    assert len(rows) == 6 and {"method", "p_value", "threshold", "reason"} <= set(header)
    with pytest.raises(InvalidInput, match="unknown chart"):
        snapshot.chart_table(s, "pie")
    bid = int(s.batches["batch_id"][1])
    h_header, h_rows = snapshot.histogram_table(series.histograms(reg, bid, "a"))
    assert h_header == ["bin", "lower", "upper", "reference", "current"]
    assert sum(float(r[3]) for r in h_rows) == pytest.approx(1.0)
    path = snapshot.write_csv(tmp_path / "perf.csv", *snapshot.chart_table(s, "drift_share"))
    with open(path, encoding="utf-8") as fh:
        got = list(csv.reader(fh))
    assert got[0][-1] == "drifted" and [r[1] for r in got[1:]] == ["m1", "m2"]
    with pytest.raises(InvalidInput, match="could not write"):
        snapshot.write_csv(tmp_path / "missing" / "x.csv", ["a"], [[1]])
