"""Text columns counted by DuckDB give exactly what counting their values in Python gives.

(A CSV reference is counted in Python: DuckDB does not number a CSV file's
rows, and the reference is counted per chunk of rows.)

``drift``, the stored-profile check and the reference profile count a text
column that no model reads with one ``GROUP BY`` per column (per reference
chunk, from Parquet's row numbers) instead of as Python strings in the pass.
Each test runs the same file both ways: the Python way by making the source
report that it cannot count (what arrays in memory report).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from modelward.core.monitoring import source as source_mod
from modelward.core.monitoring.drift import check_drift, drift_between, summarize
from modelward.core.monitoring.profile import build_profile
from modelward.core.monitoring.source import open_source


def _frame(n: int, seed: int, shift: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue", 'it\'s "odd"'], n, p=[0.5, 0.3, 0.15, 0.05])
    if shift:
        colour[: n // 10] = "violet"  # a value the reference never saw
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "colour": pd.array(colour, dtype=object),
            "grade": rng.integers(1, 6, n),  # codes, monitored as categorical
            "flag": rng.random(n) < 0.3,
        }
    )
    df.loc[rng.random(n) < 0.07, "colour"] = None
    return df


def _python_way(monkeypatch) -> None:
    monkeypatch.setattr(source_mod.TableSource, "category_counts", lambda *a, **k: None)


@pytest.fixture
def files(tmp_path):
    ref, cur = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    _frame(5_003, 1).to_parquet(ref, row_group_size=700)
    _frame(2_001, 2, shift=True).to_parquet(cur, row_group_size=300)
    _frame(2_001, 2, shift=True).to_csv(tmp_path / "cur.csv", index=False)
    return ref, cur, tmp_path / "cur.csv"


def test_the_reference_profile_is_the_same_both_ways(files, monkeypatch):
    ref, _cur, csv = files
    assert open_source(ref).category_counts(["colour"], [0, 2000, 5003]) is not None
    assert open_source(csv).category_counts(["colour"]) is not None  # a batch: by DuckDB
    assert open_source(csv).category_counts(["colour"], [0, 900, 2001]) is None  # no row numbers
    by_duckdb = build_profile(open_source(ref, categorical=["grade"]), n_chunks=7)
    with monkeypatch.context() as m:
        _python_way(m)
        in_python = build_profile(open_source(ref, categorical=["grade"]), n_chunks=7)
    a, b = by_duckdb.to_json(), in_python.to_json()
    assert json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
    counts = by_duckdb.features["colour"].counts
    assert (
        counts.shape[0] == 7 and counts.sum() + by_duckdb.features["colour"].missing.sum() == 5_003
    )


@pytest.mark.parametrize("which", ["parquet", "csv"])
def test_a_batch_is_counted_the_same_both_ways(files, monkeypatch, which):
    ref, cur, csv = files
    batch = cur if which == "parquet" else csv
    prof = build_profile(open_source(ref, categorical=["grade"]), n_chunks=7)
    got = summarize(open_source(batch, categorical=["grade"]), prof)
    with monkeypatch.context() as m:
        _python_way(m)
        want = summarize(open_source(batch, categorical=["grade"]), prof)
    assert got.n_rows == want.n_rows == 2_001
    for c in ("colour", "grade", "flag"):
        g, w = got.categorical[c], want.categorical[c]
        assert g.missing == w.missing
        assert np.array_equal(g.counts, w.counts)
        assert g.unseen == w.unseen
    assert set(got.categorical["colour"].unseen) == {"violet"}
    report = check_drift(open_source(batch, categorical=["grade"]), prof)
    assert report.feature("colour").drifted


def test_drift_between_two_files_agrees_both_ways(files, monkeypatch):
    ref, cur, _csv = files
    got = drift_between(ref, cur).to_json()
    with monkeypatch.context() as m:
        _python_way(m)
        want = drift_between(ref, cur).to_json()
    got.pop("created_at", None), want.pop("created_at", None)
    assert json.dumps(got, sort_keys=True, default=str) == json.dumps(
        want, sort_keys=True, default=str
    )


@pytest.mark.parametrize("ref_kind", ["csv", "parquet", "arrays"])
@pytest.mark.parametrize("cur_kind", ["csv", "parquet", "arrays"])
def test_a_boolean_column_reads_the_same_from_every_source(tmp_path, ref_kind, cur_kind):
    """A CSV reference and a Parquet batch of the same rows: nothing new, nothing drifted.

    (A CSV file's booleans came back as ``False``, arrays' as ``False``, Parquet's
    as ``false``: every value was "unseen" and the column drifted.)
    """
    df = _frame(3_000, 5)

    def made(kind: str, stem: str):
        if kind == "arrays":
            return {c: df[c].to_numpy() for c in df.columns}
        path = tmp_path / f"{stem}.{kind}"
        df.to_csv(path, index=False) if kind == "csv" else df.to_parquet(path)
        return path

    report = drift_between(made(ref_kind, "ref"), made(cur_kind, "cur"))
    flag = report.feature("flag")
    assert (flag.unseen, flag.drifted) == (0, False)
    prof = build_profile(open_source(made(ref_kind, "ref2")))
    assert sorted(prof.features["flag"].categories) == ["false", "true"]


def test_a_profile_stored_with_true_and_false_reads_as_true_and_false(files):
    ref, _cur, _csv = files
    stored = build_profile(open_source(ref)).to_json()
    flag = next(f for f in stored["features"] if f["name"] == "flag")
    flag["categories"] = [v.capitalize() for v in flag["categories"]]  # as an older version wrote
    from modelward.core.monitoring.profile import ReferenceProfile

    prof = ReferenceProfile.from_json(stored)
    assert sorted(prof.features["flag"].categories) == ["false", "true"]
    assert check_drift(open_source(ref), prof).feature("flag").unseen == 0


@pytest.mark.parametrize("kind", ["csv", "parquet", "arrays"])
def test_segments_of_a_boolean_column_find_their_rows(tmp_path, kind):
    from modelward.core.monitoring.segments import segment_drift

    df = _frame(3_000, 6)
    if kind == "arrays":
        ref = cur = {c: df[c].to_numpy() for c in df.columns}
    else:
        ref = cur = tmp_path / f"d.{kind}"
        df.to_csv(ref, index=False) if kind == "csv" else df.to_parquet(ref)
    out = segment_drift(ref, cur, "flag", features=["x", "colour"])
    rows = {s["segment"]: s["rows"] for s in out["segments"]}
    assert rows == {"false": int((~df["flag"]).sum()), "true": int(df["flag"].sum())}
    assert all("drift_share" in s for s in out["segments"])


def test_a_column_named_like_duckdbs_row_number_is_counted_in_python(tmp_path):
    df = _frame(1_000, 3).assign(file_row_number=np.arange(1_000) % 3)
    path = tmp_path / "r.parquet"
    df.to_parquet(path)
    src = open_source(path, categorical=["file_row_number"])
    assert src.category_counts(["colour"], [0, 500, 1_000]) is None
    prof = build_profile(src, n_chunks=4)
    assert prof.features["file_row_number"].categories == ["0", "1", "2"]


def test_numbers_read_as_categories_are_the_same_text_from_csv_and_parquet(tmp_path):
    """A CSV file's own text (``2.50``, ``3``) is not what the batches see: DuckDB's is."""
    n = 600
    score = np.tile([1.0, 2.5, 3.0], n // 3)
    (tmp_path / "ref.csv").write_text(
        "x,score\n"
        + "".join(f"{i},{ {1.0: '1.0', 2.5: '2.50', 3.0: '3'}[v] }\n" for i, v in enumerate(score))
    )
    pd.DataFrame({"x": np.arange(n, dtype=float), "score": score}).to_parquet(
        tmp_path / "cur.parquet"
    )
    ref = open_source(tmp_path / "ref.csv", categorical=["score"])
    assert sorted(next(ref.batches(["score"]))["score"][:3]) == ["1.0", "2.5", "3.0"]
    report = drift_between(tmp_path / "ref.csv", tmp_path / "cur.parquet", categorical=["score"])
    assert (report.feature("score").unseen, report.feature("score").drifted) == (0, False)


@pytest.mark.parametrize("ref_kind", ["csv", "parquet", "arrays"])
@pytest.mark.parametrize("cur_kind", ["csv", "parquet", "arrays"])
def test_a_yes_no_column_is_one_column_from_every_source(tmp_path, ref_kind, cur_kind):
    """DuckDB's CSV reader types yes/no as BOOLEAN (``true``/``false``); Parquet keeps ``yes``.

    A CSV reference and a Parquet batch of the same rows called every value
    new and the column drifted. A word that is no truth word stays unseen.
    """
    rng = np.random.default_rng(7)
    answer = rng.choice(["yes", "no"], 3_000, p=[0.3, 0.7]).astype(object)
    ref_df = pd.DataFrame({"x": rng.normal(size=3_000), "answer": answer})
    cur_df = ref_df.copy()
    cur_df.loc[:9, "answer"] = "maybe"  # not a truth word: new to a yes/no column

    def made(df: pd.DataFrame, kind: str, stem: str):
        if kind == "arrays":
            return {c: df[c].to_numpy() for c in df.columns}
        path = tmp_path / f"{stem}.{kind}"
        df.to_csv(path, index=False) if kind == "csv" else df.to_parquet(path)
        return path

    same = drift_between(made(ref_df, ref_kind, "ref"), made(ref_df, cur_kind, "same"))
    assert (same.feature("answer").unseen, same.feature("answer").drifted) == (0, False)
    odd = drift_between(made(ref_df, ref_kind, "ref"), made(cur_df, cur_kind, "odd"))
    assert odd.feature("answer").unseen == 10
    assert list(odd.feature("answer").unseen_examples) == ["maybe"]
