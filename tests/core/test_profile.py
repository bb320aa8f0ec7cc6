"""Reference profiles: streaming equals in-memory, stored profiles equal raw data, files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from modelward.core.errors import Cancelled, InvalidInput, NotFound
from modelward.core.monitoring import profile as profile_mod
from modelward.core.monitoring.drift import check_drift, drift_between
from modelward.core.monitoring.profile import ReferenceProfile, build_profile, make_edges
from modelward.core.progress import CancelToken


def _write(path, n: int, seed: int, shift: float = 0.0) -> None:
    import duckdb

    rng = np.random.default_rng(seed)
    con = duckdb.connect()
    cols = {
        "num": rng.normal(shift, 1, n),
        "cnt": rng.poisson(3, n).astype(np.int64),
        "cat": np.array(["a", "b", "c", "d"])[rng.integers(0, 4, n)],
    }
    cols["num"][::50] = np.nan  # 2 % missing
    con.register("t", cols)
    fmt = "parquet" if str(path).endswith(".parquet") else "csv"
    con.execute(f"COPY t TO '{path}' (FORMAT {fmt})")
    con.close()


@pytest.fixture
def files(tmp_path):
    ref, cur = tmp_path / "ref.parquet", tmp_path / "cur.csv"
    _write(ref, 30000, 1)
    _write(cur, 5000, 2, shift=0.4)
    return ref, cur


def test_profile_of_a_file(files):
    ref, _ = files
    p = build_profile(ref, n_chunks=10)
    assert p.n_rows == 30000 and p.n_chunks == 10 and p.chunk_rows.sum() == 30000
    num, cnt, cat = p.features["num"], p.features["cnt"], p.features["cat"]
    assert num.kind == "numeric" and cat.kind == "categorical"
    assert num.missing.sum() == 600 and num.total_counts.sum() == 29400
    assert num.stats["missing_rate"] == pytest.approx(0.02)
    assert cat.categories and set(cat.categories) == {"a", "b", "c", "d"}
    assert cat.total_counts[-1] == 0  # the unseen slot
    # integer counts: one bin per distinct value, none below or above the range
    assert np.array_equal(cnt.edges[1:], np.unique(np.sort(cnt.edges[1:])))
    assert cnt.total_counts[0] == 0 and cnt.total_counts[-1] == 0
    assert num.total_counts[0] == 0 and num.total_counts[-1] == 0
    assert p.multivariate is not None and len(p.multivariate.chunk_errors) == 10


def test_stored_profile_gives_the_same_answer_as_raw_reference(files):
    ref, cur = files
    raw = drift_between(ref, cur)
    stored = ReferenceProfile.from_json(json.loads(json.dumps(build_profile(ref).to_json())))
    again = check_drift(cur, stored)
    assert raw.to_json() == again.to_json()
    assert raw.feature("num").drifted and not raw.feature("cat").drifted


def test_streaming_equals_in_memory(files, monkeypatch):
    ref, _ = files
    in_memory = build_profile(ref)
    monkeypatch.setattr(profile_mod, "IN_MEMORY_CELLS", 0)
    monkeypatch.setattr(profile_mod, "SAMPLE_SIZE", 7000)  # sample every 5th row
    streamed = build_profile(ref, batch_rows=4096)
    monkeypatch.setattr(profile_mod, "IN_MEMORY_CELLS", 10**9)
    cached = build_profile(ref, batch_rows=4096)
    assert streamed.to_json() == cached.to_json()
    # the sampled edges differ from the exact ones, the counts stay exact
    assert (
        streamed.features["num"].total_counts.sum() == in_memory.features["num"].total_counts.sum()
    )
    assert np.array_equal(streamed.features["cat"].counts, in_memory.features["cat"].counts)


def test_make_edges():
    e = make_edges(np.array([3.0, 1.0, 2.0, 2.0, np.nan]), 10)
    assert e[1:].tolist() == [1.0, 2.0, 3.0] and e[0] < 1.0
    x = np.random.default_rng(0).normal(size=10000)
    e = make_edges(x, 100)
    # a sentinel under the minimum, the minimum, 99 quantiles, the maximum: 100 bins in range
    assert len(e) == 102 and np.all(np.diff(e) > 0) and e[-1] == x.max()


def test_progress_and_cancel(files):
    ref, _ = files
    seen: list[float] = []
    build_profile(ref, progress=lambda f, s: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        build_profile(ref, cancel=token)


def test_bad_inputs(tmp_path):
    with pytest.raises(NotFound):
        build_profile(tmp_path / "nope.csv")
    bad = tmp_path / "x.xlsx"
    bad.write_text("x")
    with pytest.raises(InvalidInput, match="csv or .parquet"):
        build_profile(bad)
    empty = tmp_path / "e.csv"
    empty.write_text("a,b\n")
    with pytest.raises(InvalidInput):
        build_profile(empty)
