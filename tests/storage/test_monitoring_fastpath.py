"""The fast path's one read: the intake's flags counted in the pass, the model loading meanwhile."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from modelward.core.demo import DEMO_MODEL, FEATURES, create_demo_workspace, credit_data
from modelward.core.errors import InvalidInput, RejectedFile
from modelward.core.monitoring import service
from modelward.core.monitoring.drift import ScorerNeedsColumns, summarize
from modelward.core.monitoring.profile import build_profile
from modelward.core.monitoring.scoring import PendingScorer
from modelward.core.monitoring.source import open_source
from modelward.core.registry import Registry
from modelward.core.tables import BadTable, open_table, scan_table

CHAMPION = f"{DEMO_MODEL}@champion"


def _read_all(src, columns, scan, rows=1000):
    return sum(len(b[columns[0]]) for b in src.batches(columns, rows=rows, scan=scan))


def test_the_pass_counts_what_the_intake_scan_counts(tmp_path):
    rng = np.random.default_rng(3)
    n = 5000
    lines = ["a,b,note,d,e"]
    for i in range(n):
        a = {7: "nan", 8: "inf", 4000: "-inf", 9: ""}.get(i, f"{rng.normal():.4f}")
        d = {10: "inf", 11: "NaN", 12: "nan", 13: ""}.get(i, str(i))
        e = "" if i % 3 == 0 else f"{rng.random():.3f}"
        lines.append(f"{a},{i % 7},{'x' if i % 2 else ''},{d},{e}")
    p = tmp_path / "t.csv"
    p.write_text("\n".join(lines) + "\n")
    table = open_table(p)
    want = scan_table(table)
    assert want.flags  # the file has something to flag
    src = open_source(table)
    scan = src.intake_scan()
    # only column b is read for the check: a, d and e are counted all the same
    assert _read_all(src, ["b"], scan) == n
    got = scan.result(table.label)
    assert got.rows == want.rows == n
    assert got.flags == want.flags
    assert got.notes() == want.notes()
    with pytest.raises(
        InvalidInput, match=r"holds infinite values in column\(s\) 'a' \(2\), 'd' \(1\)"
    ):
        scan.refuse_infinite(table.label)


def test_masks_past_62_numeric_columns(tmp_path):
    k = 70
    header = ",".join(f"c{j}" for j in range(k))
    rows = []
    for i in range(300):
        vals = [str(i + j) for j in range(k)]
        if i == 5:
            vals[64] = "inf"
        if i in (6, 7):
            vals[69] = "nan"
        if i == 8:
            vals[0] = "-inf"
        rows.append(",".join(vals))
    p = tmp_path / "wide.csv"
    p.write_text(header + "\n" + "\n".join(rows) + "\n")
    table = open_table(p)
    src = open_source(table)
    scan = src.intake_scan()
    _read_all(src, ["c1"], scan, rows=128)
    assert scan.result(table.label).flags == scan_table(table).flags
    assert scan.inf["c64"] == 1 and scan.nan["c69"] == 2 and scan.inf["c0"] == 1


def test_a_bad_cell_in_a_column_the_check_does_not_need_is_refused_as_by_the_scan(tmp_path):
    # past the sniffer's sample and the head the reader types from: only a full read finds it
    n = 40_000
    lines = ["x,y,z"] + [f"{i},{i * 2},{i % 5}" for i in range(n)]
    lines[n - 10] = f"{n},{n},oops"
    p = tmp_path / "late.csv"
    p.write_text("\n".join(lines) + "\n")
    table = open_table(p)
    with pytest.raises(BadTable) as want:
        scan_table(table)
    src = open_source(table)
    with pytest.raises(BadTable) as got:
        _read_all(src, ["x"], src.intake_scan(), rows=4096)
    assert str(got.value) == str(want.value)


def test_an_empty_table_is_refused_after_the_pass():
    src = open_source({"a": np.array([], dtype=np.float64)})
    scan = src.intake_scan()
    assert _read_all(src, ["a"], scan) == 0
    with pytest.raises(BadTable, match="has no rows"):
        scan.result(src.label)


class _Sum:
    """A scorer: the sum of two columns (what a model would give per row)."""

    def __init__(self, columns=("age", "income")):
        self.columns = list(columns)
        self.calls = 0

    def __call__(self, b):
        self.calls += 1
        return np.asarray(b[self.columns[0]] + b[self.columns[1]] / 1e5, dtype=np.float64)


def _data(n, seed):
    X, _ = credit_data(n, seed=seed)
    return {c: X[:, i] for i, c in enumerate(FEATURES)}


@pytest.fixture(scope="module")
def profile():
    return build_profile(_data(3000, 1), score_fn=_Sum(), score_columns=["age", "income"])


def test_batches_read_before_the_model_is_ready_are_scored_in_order(profile):
    data = _data(2000, 2)
    direct = summarize(data, profile, score_fn=_Sum(), batch_rows=200)
    loaded = threading.Event()
    seen: list[int] = []

    def progress(frac, msg):
        seen.append(1)
        if len(seen) == 4:  # the pass went on without the model for 4 batches
            loaded.set()

    def make():
        assert loaded.wait(120), "the pass waited for the model"
        return _Sum()

    pending = PendingScorer(make, ["age", "income"])
    got = summarize(data, profile, score_fn=pending, batch_rows=200, progress=progress)
    assert got.scorer is not None and got.scorer.calls == 10
    np.testing.assert_array_equal(
        np.concatenate(got.collected["__score__"]), np.concatenate(direct.collected["__score__"])
    )
    np.testing.assert_array_equal(got.score.counts, direct.score.counts)
    assert got.n_rows == direct.n_rows == 2000


def test_the_pass_waits_once_it_holds_enough(profile):
    order: list[str] = []
    gate = threading.Event()

    def make():
        gate.wait(120)
        order.append("loaded")
        return _Sum()

    def progress(frac, msg):
        order.append("batch")
        gate.set()

    pending = PendingScorer(make, ["age", "income"], hold_bytes=1)
    got = summarize(_data(1000, 4), profile, score_fn=pending, batch_rows=200, progress=progress)
    # the first batch is held (1 byte is exceeded), the second waits for the model
    assert order[:3] == ["batch", "loaded", "batch"]
    assert len(np.concatenate(got.collected["__score__"])) == 1000


def test_a_model_needing_an_unread_column_says_so(profile):
    pending = PendingScorer(lambda: _Sum(["age", "not_read"]), ["age", "income"])
    data = {**_data(500, 5), "not_read": np.zeros(500)}
    with pytest.raises(ScorerNeedsColumns) as e:
        summarize(data, profile, score_fn=pending)
    assert e.value.scorer.columns == ["age", "not_read"]


def test_the_scan_refuses_before_the_model_errors(profile, tmp_path):
    def refused():
        raise RejectedFile("global os.system is not allowed")

    data = _data(800, 6)
    bad = dict(data)
    bad["age"] = bad["age"].copy()
    bad["age"][5] = np.inf
    src = open_source(bad)
    with pytest.raises(InvalidInput, match="holds infinite values"):
        summarize(
            src, profile, score_fn=PendingScorer(refused, ["age", "income"]), scan=src.intake_scan()
        )
    src = open_source(data)
    with pytest.raises(RejectedFile, match="os.system"):
        summarize(
            src, profile, score_fn=PendingScorer(refused, ["age", "income"]), scan=src.intake_scan()
        )
    # no scorer is called once an infinite value is seen
    scorer = _Sum()
    src = open_source(bad)
    with pytest.raises(InvalidInput):
        summarize(src, profile, score_fn=scorer, scan=src.intake_scan(), batch_rows=100)
    assert scorer.calls == 0


def _csv(path, table):
    import duckdb

    con = duckdb.connect()
    con.register("t", table)
    con.execute(f"COPY t TO '{path}' (FORMAT csv)")
    con.close()


@pytest.fixture(scope="module")
def profiled(tmp_path_factory):
    home = tmp_path_factory.mktemp("fast") / "registry"
    reg = Registry(home)
    create_demo_workspace(reg)
    X, y = credit_data(3000, seed=7)
    ref = {c: X[:, i] for i, c in enumerate(FEATURES)}
    ref["default"] = y
    service.profile_version(reg, CHAMPION, ref, target="default")
    reg.close()
    return home


def test_check_batch_counts_the_flags_and_scores_as_before(profiled, tmp_path):
    data = _data(3000, 9)
    p = tmp_path / "b.csv"
    _csv(p, data)
    reg = Registry(profiled)
    try:
        plain = service.check_batch(reg, CHAMPION, open_table(p))
        fast = service.check_batch(reg, CHAMPION, open_table(p), intake_scan=True)
    finally:
        reg.close()
    assert plain.intake is None
    assert fast.intake is not None and fast.intake.rows == 3000
    assert fast.intake.flags == scan_table(open_table(p)).flags
    assert fast.predictions == plain.predictions
    assert fast.report.to_json()["features"] == plain.report.to_json()["features"]


def test_cli_refuses_an_infinite_batch_and_stores_nothing(profiled, tmp_path, run_cli):
    data = _data(1500, 10)
    data["debt_ratio"][[7, 8, 9]] = np.inf
    p = tmp_path / "inf.csv"
    _csv(p, data)
    out = run_cli("monitor", CHAMPION, "--registry", str(profiled), "--batch", str(p), "--json")
    assert out.returncode == 2, out.stderr
    assert "holds infinite values in column(s) 'debt_ratio' (3)" in out.stdout + out.stderr
    reg = Registry(profiled)
    try:
        names = {b for b in _batch_names(reg)}
    finally:
        reg.close()
    assert "inf.csv" not in names
    ok = tmp_path / "ok.csv"
    _csv(ok, _data(1500, 10))
    out = run_cli("monitor", CHAMPION, "--registry", str(profiled), "--batch", str(ok), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["flags"] == scan_table(open_table(ok)).flags
    assert doc["batch_id"] >= 1


def _batch_names(reg):
    with reg._read() as cur:
        return [r[0] for r in cur.execute("SELECT name FROM mon_batches").fetchall()]
