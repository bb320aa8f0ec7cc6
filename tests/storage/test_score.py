"""Batch scoring: ``modelward score`` in real subprocesses on a real registry, and the core run.

Every model kind the product accepts (binary, multiclass, regression) is
scored end to end; bad input gives one sentence, a non-zero exit and no
output at all; a cancelled or failed run leaves nothing behind.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelward import api
from modelward.core.compute.score import output_paths, score_file
from modelward.core.errors import Cancelled, InvalidInput
from modelward.core.intake.estimator import log_estimator
from modelward.core.progress import CancelToken
from modelward.core.registry import Registry
from modelward.core.watch import DATA, MODELS, add_folder
from support.models import write_joblib

FEATURES = ["age", "income", "debt"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    df.insert(0, "loan_id", [f"L{i:05d}" for i in range(n)])
    return df


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A registry with a binary (threshold 0.3 stored), a multiclass and a regression model."""
    path = tmp_path / "reg"
    reg = Registry(path)
    df = _frame()
    X = df[FEATURES]
    y_bin = (X["age"] + 0.5 * X["income"] > 0).astype(int)
    y_multi = np.where(X["age"] > 0.5, "high", np.where(X["age"] < -0.5, "low", "mid"))
    y_reg = 2 * X["age"] - X["debt"]
    log_estimator(
        reg,
        LogisticRegression().fit(X, y_bin),
        "credit",
        X=X,
        y=y_bin,
        tags={"decision_threshold": "0.3"},
    )
    log_estimator(
        reg, make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y_bin), "credit", X=X
    )
    reg.set_alias("credit:2", "champion", "best so far")
    log_estimator(reg, HistGradientBoostingClassifier(max_iter=20).fit(X, y_multi), "band", X=X)
    log_estimator(reg, HistGradientBoostingRegressor(max_iter=20).fit(X, y_reg), "amount", X=X)
    reg.close()
    return path


def _ok(proc):
    assert proc.returncode == 0, proc.stderr
    return proc


def _one_clean_line(proc) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("modelward: ")]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("modelward: error: ")
    return lines[0]


def _leftovers(folder: Path, *keep: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p not in keep)


# --------------------------------------------------------------------------- end to end
def test_binary_csv_with_stored_threshold_ids_and_rejected_rows(run_cli, home, tmp_path):
    df = _frame(50, seed=1)
    df["income"] = df["income"].astype(object)
    df.loc[4, "income"] = "abc"  # text in a number column: rejected, row 5
    df.loc[9, "age"] = np.nan  # the plain logistic regression cannot take it: rejected, row 10
    data = tmp_path / "applications.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "out" / "decisions.csv"
    out.parent.mkdir()

    proc = _ok(
        run_cli(
            *("score", "credit:1", "--data", str(data), "-o", str(out)),
            *("--id-column", "loan_id", "--registry", str(home), "--json"),
        )
    )
    doc = json.loads(proc.stdout)
    assert doc["rows"] == {"in": 50, "scored": 48, "rejected": 2}
    assert doc["threshold"] == 0.3 and doc["threshold_source"] == "version"

    scored = pd.read_csv(out)
    assert list(scored.columns) == ["loan_id", "prediction", "proba_0", "proba_1", "decision"]
    assert len(scored) == 48 and "L00004" not in set(scored["loan_id"])
    np.testing.assert_allclose(scored["proba_0"] + scored["proba_1"], 1.0)
    assert (scored["decision"] == (scored["proba_1"] >= 0.3).astype(int)).all()
    assert (scored["prediction"] == (scored["proba_1"] >= 0.5).astype(int)).all()
    # the decision differs from the 0.5 prediction exactly where 0.3 <= p < 0.5
    between = scored["proba_1"].between(0.3, 0.5, inclusive="left")
    assert (scored["decision"] != scored["prediction"]).sum() == between.sum()

    _, rejected, manifest = output_paths(out)
    with open(rejected, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["row"], r["loan_id"]) for r in rows] == [("5", "L00004"), ("10", "L00009")]
    assert "'income'" in rows[0]["reason"] and "'abc'" in rows[0]["reason"]
    assert "'age'" in rows[1]["reason"] and "missing" in rows[1]["reason"]

    man = json.loads(manifest.read_text(encoding="utf-8"))
    assert man["model"]["name"] == "credit" and man["model"]["version"] == 1
    assert man["input"]["sha256"] == _sha(data)
    assert man["output"]["sha256"] == _sha(out)
    assert man["rejected"]["sha256"] == _sha(rejected)
    assert man["rows"] == {"in": 50, "scored": 48, "rejected": 2}
    assert man["threshold"] == {"value": 0.3, "source": "version", "stored": 0.3}
    assert man["user"] and man["modelward_version"] and man["finished_at"]
    # nothing else in the folder: no temporary files left
    assert _leftovers(out.parent) == sorted([out.name, rejected.name, manifest.name])

    reg = Registry(home)
    try:
        (event,) = reg.audit_events(action="score.completed")
        assert event.entity_id == "credit:1"
        after = event.after if isinstance(event.after, dict) else json.loads(event.after)
        assert after["manifest_sha256"] == _sha(manifest) == doc["manifest_sha256"]
    finally:
        reg.close()

    # the text form: the summary on stdout, the rejected rows named on stderr
    proc = _ok(
        run_cli(
            *("score", "credit@champion", "--data", str(data), "-o", str(out)),
            *("--threshold", "0.7", "--registry", str(home)),
        )
    )
    assert "credit:2" in proc.stdout and "threshold 0.7 (option)" in proc.stdout
    # the pipeline passes the missing value to the regression, which refuses it: still named
    assert "2 row(s) could not be scored" in proc.stderr
    man = json.loads(manifest.read_text(encoding="utf-8"))
    assert man["model"]["ref"] == "credit:2" and man["model"]["requested"] == "credit@champion"
    assert man["threshold"] == {"value": 0.7, "source": "option", "stored": None}
    assert list(pd.read_csv(out).columns)[0] == "row"  # no id column: the input row number


def test_multiclass_parquet_round_trip(run_cli, home, tmp_path):
    df = _frame(200, seed=2)
    df["loan_id"] = np.arange(1000, 1200, dtype=np.int64)
    df.loc[7, "debt"] = np.nan  # HistGradientBoosting takes a missing value
    data = tmp_path / "batch.parquet"
    df.to_parquet(data)
    out = tmp_path / "scored.parquet"

    doc = json.loads(
        _ok(
            run_cli(
                *("score", "band:1", "--data", str(data), "-o", str(out), "--id-column"),
                *("loan_id", "--registry", str(home), "--json"),
            )
        ).stdout
    )
    assert doc["rows"] == {"in": 200, "scored": 200, "rejected": 0}
    assert doc["rejected"] is None and not output_paths(out)[1].exists()
    table = pq.read_table(out)
    assert table.schema.names == [
        "loan_id",
        "prediction",
        "proba_high",
        "proba_low",
        "proba_mid",
    ]
    assert str(table.schema.field("loan_id").type) == "int64"
    assert str(table.schema.field("prediction").type) == "string"
    got = table.to_pandas()
    assert got["loan_id"].tolist() == df["loan_id"].tolist()
    probs = got[["proba_high", "proba_low", "proba_mid"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert (np.array(["high", "low", "mid"])[probs.argmax(axis=1)] == got["prediction"]).all()
    assert "decision" not in table.schema.names  # no threshold for three classes

    # the same predictions as the model itself, loaded through the safe loader
    model = api.load_model("band:1", registry=str(home))
    np.testing.assert_allclose(probs, model.predict_proba(df[FEATURES]), rtol=1e-12)


def test_regression_csv_to_parquet_and_threshold_refused(run_cli, home, tmp_path):
    df = _frame(80, seed=3)
    data = tmp_path / "amounts.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "amounts-scored.parquet"
    _ok(run_cli("score", "amount:1", "--data", str(data), "-o", str(out), "--registry", str(home)))
    table = pq.read_table(out).to_pandas()
    assert list(table.columns) == ["row", "prediction"]
    assert table["row"].tolist() == list(range(1, 81))
    expect = api.load_model("amount:1", registry=str(home)).predict(df[FEATURES])
    np.testing.assert_allclose(table["prediction"], expect, rtol=1e-12)
    api.open_registry(str(home)).close()  # let the CLI in without a "waiting" notice

    out2 = tmp_path / "refused.csv"
    line = _one_clean_line(
        run_cli(
            *("score", "amount:1", "--data", str(data), "-o", str(out2)),
            *("--threshold", "0.5", "--registry", str(home)),
        )
    )
    assert "binary classifier" in line and "regressor" in line
    assert not out2.exists() and not output_paths(out2)[2].exists()


@pytest.mark.parametrize("case", ["missing_column", "empty_file", "unwritable_folder"])
def test_bad_input_one_sentence_no_output(run_cli, home, tmp_path, case):
    folder = tmp_path / "out"
    folder.mkdir()
    data = tmp_path / "in.csv"
    _frame(20).to_csv(data, index=False)
    out = folder / "out.csv"
    if case == "missing_column":
        _frame(20).drop(columns=["debt"]).to_csv(data, index=False)
    elif case == "empty_file":
        data.write_bytes(b"")
    else:
        if sys.platform != "linux":
            pytest.skip("uses a folder no user can write on Linux")
        out = Path("/proc/modelward-score-test.csv")  # root can write anywhere else
        if os.geteuid() != 0:
            folder.chmod(0o555)
            out = folder / "out.csv"
    try:
        line = _one_clean_line(
            run_cli(
                "score", "credit:1", "--data", str(data), "-o", str(out), "--registry", str(home)
            )
        )
    finally:
        folder.chmod(0o755)
    expected = {
        "missing_column": "lacks the model's column 'debt'",
        "empty_file": "is empty",
        "unwritable_folder": "cannot write in the output folder",
    }[case]
    assert expected in line
    assert _leftovers(folder) == []
    reg = Registry(home)
    try:
        assert reg.audit_events(action="score.completed") == []
    finally:
        reg.close()


def test_the_strict_reader_decides_the_separators_and_refuses_what_it_cannot_read(
    run_cli, home, tmp_path
):
    """The same reader as every other data path: decimal commas read as numbers, not
    rejected; a file it would have to guess at is refused, audited, and nothing written."""
    df = _frame(50, seed=3)
    points, commas = tmp_path / "points.csv", tmp_path / "commas.csv"
    df.to_csv(points, index=False)
    df.to_csv(commas, index=False, sep=";", decimal=",")
    outs = []
    for data in (points, commas):
        out = tmp_path / f"{data.stem}.out.csv"
        _ok(
            run_cli(
                "score", "credit:1", "--data", str(data), "-o", str(out), "--registry", str(home)
            )
        )
        assert not output_paths(out)[1].exists()  # no row rejected
        outs.append(pd.read_csv(out))
    pd.testing.assert_frame_equal(outs[0], outs[1])

    header = ",".join(FEATURES)
    bad = {
        "duplicate": (f"{header},age\n1,2,3,4\n", "appears twice"),
        "spaces": ("age, income ,debt\n1,2,3\n", "spaces at its ends"),
        "nul": (f"{header}\n1,2,\x003\n", "NUL byte"),
        "mixed_decimals": ("age;income;debt\n1,5;2.5;3\n2,5;3.5;4\n", "ambiguous"),
    }
    folder = tmp_path / "refused"
    folder.mkdir()
    for name, (text, words) in bad.items():
        data = tmp_path / f"{name}.csv"
        data.write_text(text, encoding="utf-8")
        out = folder / f"{name}.out.csv"
        line = _one_clean_line(
            run_cli(
                "score", "credit:1", "--data", str(data), "-o", str(out), "--registry", str(home)
            )
        )
        assert words in line, (name, line)
    assert _leftovers(folder) == []
    reg = Registry(home)
    try:
        refused = reg.audit_events(action="input.refused", limit=None)
        assert sorted(Path(e.entity_id).name for e in refused) == sorted(f"{n}.csv" for n in bad)
        assert {e.after["door"] for e in refused} == {"score"}
    finally:
        reg.close()


# --------------------------------------------------------------------------- the core run
def test_many_batches_number_rejected_rows_across_batches(home, tmp_path):
    df = _frame(1000, seed=4)
    df.loc[[0, 257, 999], "debt"] = np.inf
    data = tmp_path / "big.parquet"
    df.to_parquet(data)
    out = tmp_path / "o.csv"
    reg = Registry(home)
    seen: list[float] = []
    try:
        res = score_file(
            reg,
            "credit:1",
            data,
            out,
            id_columns=["loan_id"],
            batch_rows=100,
            progress=lambda f, _s: seen.append(f),
        )
    finally:
        reg.close()
    assert (res.rows_in, res.rows_scored, res.rows_rejected) == (1000, 997, 3)
    rej = pd.read_csv(output_paths(out)[1])
    assert rej["row"].tolist() == [1, 258, 1000]
    assert rej["loan_id"].tolist() == ["L00000", "L00257", "L00999"]
    assert all("infinite" in r for r in rej["reason"])
    assert pd.read_csv(out)["loan_id"].tolist() == [
        x for i, x in enumerate(df["loan_id"]) if i not in (0, 257, 999)
    ]
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 10


@pytest.mark.parametrize("how", ["cancel", "error"])
def test_cancelled_or_failed_run_leaves_nothing(home, tmp_path, how):
    data = tmp_path / "in.parquet"
    _frame(1000).to_parquet(data)
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "o.parquet"
    out.write_bytes(b"an earlier output stays as it was")
    token = CancelToken()

    def progress(fraction: float, status: str) -> None:
        if status.startswith("scored 300"):
            if how == "cancel":
                token.cancel()
            else:
                raise OSError("disk full")

    reg = Registry(home)
    try:
        with pytest.raises(Cancelled if how == "cancel" else OSError):
            score_file(reg, "credit:1", data, out, batch_rows=100, progress=progress, cancel=token)
        assert reg.audit_events(action="score.completed") == []
    finally:
        reg.close()
    assert _leftovers(folder) == ["o.parquet"]
    assert out.read_bytes() == b"an earlier output stays as it was"


def test_the_inputs_digest_is_read_beside_the_load_and_stops_when_the_run_fails(
    home, tmp_path, monkeypatch
):
    # The manifest's SHA-256 of the input is read from before the model's load
    # (its imports keep one core busy) to the end of the scoring, at the lowest
    # priority. A run refused after it started (here: a threshold for a
    # regressor, found once the model is loaded) stops reading: a 4 GiB input
    # is not read to its end for nothing.
    import modelward.core.compute.score as score_mod

    started: list[score_mod._Hasher] = []

    class Seen(score_mod._Hasher):
        nice: int | None = None

        def start(self) -> None:
            started.append(self)
            super().start()

        def run(self) -> None:
            super().run()
            if sys.platform.startswith("linux"):
                self.nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    monkeypatch.setattr(score_mod, "_Hasher", Seen)
    big = tmp_path / "big.parquet"
    with open(big, "wb") as f:
        f.truncate(4 << 30)  # sparse: no disk used, read as zeros
    reg = Registry(home)
    try:
        with pytest.raises(InvalidInput, match="binary classifier"):
            score_file(reg, "amount:1", big, tmp_path / "o.parquet", threshold=0.5)
    finally:
        reg.close()
    assert len(started) == 1 and started[0].path == big
    started[0].join(timeout=60)
    assert not started[0].is_alive()
    assert not started[0]._done and started[0]._offset < 4 << 30  # stopped, not read to the end
    # and a run that succeeds has the whole file's digest in its manifest
    data = tmp_path / "in.parquet"
    _frame(500).to_parquet(data)
    reg = Registry(home)
    try:
        res = score_file(reg, "credit:1", data, tmp_path / "ok.parquet")
    finally:
        reg.close()
    assert res.input_sha256 == _sha(data)
    assert started[1].path == data and started[2].path.name.startswith(".")  # [2]: the output's
    if sys.platform.startswith("linux"):
        assert started[1].nice == 19  # the input's, read beside the prediction
        # the output's, read when nothing else runs: the caller's own priority
        assert started[2].nice == os.getpriority(os.PRIO_PROCESS, 0)


def test_the_digest_a_hashing_thread_did_not_finish_is_finished_by_its_caller(tmp_path):
    # The input's hasher runs at the lowest priority; when the scoring is done
    # the caller takes over at the byte the thread reached, so a machine busy
    # elsewhere never leaves the manifest waiting on a thread that gets no time.
    from modelward.core.artifacts.store import CHUNK
    from modelward.core.compute.score import _Hasher

    data = tmp_path / "three-chunks.bin"
    data.write_bytes(os.urandom(3 * CHUNK + 123))
    h = _Hasher(data, idle=True)
    h._handing_over.set()  # the caller asks before the thread has read more than a chunk
    h.start()
    h.join()
    assert 0 < h._offset < data.stat().st_size and not h._done
    assert h.result() == _sha(data)
    assert h.result() == _sha(data)  # asked again: the same digest, nothing read twice


def test_reference_resolved_once_and_checks_before_writing(home, tmp_path):
    data = tmp_path / "in.csv"
    _frame(30).to_csv(data, index=False)
    reg = Registry(home)
    try:
        res = score_file(reg, "credit@champion", data, tmp_path / "a.csv")
        assert res.ref == "credit:2" and res.threshold is None
        assert "decision" not in res.columns
        clash = tmp_path / "clash.csv"
        _frame(30).assign(prediction=1).to_csv(clash, index=False)
        with pytest.raises(InvalidInput, match="clash"):
            score_file(reg, "credit:1", clash, tmp_path / "b.csv", id_columns=["prediction"])
        with pytest.raises(InvalidInput, match="no id column 'nope'"):
            score_file(reg, "credit:1", data, tmp_path / "b.csv", id_columns=["nope"])
        with pytest.raises(InvalidInput, match="overwrite the input"):
            score_file(reg, "credit:1", data, data)
        with pytest.raises(InvalidInput, match="between 0 and 1"):
            score_file(reg, "credit:1", data, tmp_path / "b.csv", threshold=1.5)
    finally:
        reg.close()
    assert not (tmp_path / "b.csv").exists()
    assert not list(tmp_path.glob(".*partial"))


# --------------------------------------------------------------------------- run --once
def test_run_once_takes_what_waits_in_every_inbox_then_exits(run_cli, tmp_path):
    home = tmp_path / "reg"
    models, data = tmp_path / "models", tmp_path / "data"
    reg = Registry(home)
    add_folder(reg, models, MODELS)
    add_folder(reg, data, DATA, model_name="credit")
    reg.close()
    write_joblib(models / "credit.joblib")
    (data / "2026-01.csv").write_text("a,b\n1,2\n")

    first = json.loads(_ok(run_cli("run", "--once", "--json", "--registry", str(home))).stdout)
    assert sorted((Path(f["path"]).name, f["status"]) for f in first["files"]) == [
        ("2026-01.csv", "registered"),
        ("credit.joblib", "registered"),
    ]
    assert first["policy_runs"] == [] and first["finished"] is True
    again = _ok(run_cli("run", "--once", "--registry", str(home)))
    assert "0 file(s), 0 policy run(s)" in again.stdout
    line = _one_clean_line(run_cli("run", "--registry", str(home)))
    assert "--once" in line


def test_api_score_writes_the_same_files(home, tmp_path):
    data = tmp_path / "in.parquet"
    _frame(40).to_parquet(data)
    res = api.score(
        "credit:1", data, tmp_path / "o.csv", registry=str(home), id_columns=["loan_id"]
    )
    api.open_registry(str(home)).close()
    assert (res.rows_in, res.rows_scored, res.threshold) == (40, 40, 0.3)
    assert res.format == "csv" and res.output_sha256 == _sha(tmp_path / "o.csv")
    man = json.loads(Path(res.manifest).read_text(encoding="utf-8"))
    assert man["output"]["sha256"] == res.output_sha256


def test_rows_the_model_refuses_are_rejected_and_a_model_that_refuses_all_is_an_error(tmp_path):
    X = pd.DataFrame({"city": ["a", "b"] * 20})
    model = make_pipeline(OneHotEncoder(handle_unknown="error"), LogisticRegression())
    reg = Registry(tmp_path / "reg")
    try:
        log_estimator(reg, model.fit(X, [0, 1] * 20), "city", X=X)
        data = tmp_path / "c.csv"
        pd.DataFrame({"city": ["a", "zzz", "b", "a"] * 5}).to_csv(data, index=False)
        res = score_file(reg, "city:1", data, tmp_path / "o.csv")
        assert (res.rows_scored, res.rows_rejected) == (15, 5)
        rej = pd.read_csv(output_paths(tmp_path / "o.csv")[1])
        assert rej["row"].tolist() == [2, 6, 10, 14, 18]
        assert all("zzz" in r for r in rej["reason"])

        pd.DataFrame({"city": ["q", "zzz"] * 5}).to_csv(data, index=False)
        with pytest.raises(InvalidInput, match="cannot score these rows"):
            score_file(reg, "city:1", data, tmp_path / "p.csv")
        assert not (tmp_path / "p.csv").exists() and not list(tmp_path.glob(".p.csv*"))
    finally:
        reg.close()


def test_a_large_output_is_written_while_it_is_scored_and_keeps_its_rows(
    home, tmp_path, monkeypatch
):
    """The output is not held until the end: DuckDB writes it as the batches are scored
    (an Arrow stream into one COPY), so a buffer pool capped far below the output's size
    is enough, the file grows before the last batch is scored, and every row comes out
    in order with the same Parquet schema as a one-batch run."""
    import tempfile

    import modelward.core.compute.score as score_mod

    n = 400_000
    rng = np.random.default_rng(7)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    df["key"] = rng.random(n)  # an id that does not compress
    data = tmp_path / "in.parquet"
    df.to_parquet(data, row_group_size=50_000)
    fresh = tmp_path / "tmp"
    fresh.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(fresh))
    monkeypatch.setattr(score_mod, "_DUCK_MEMORY", "12MB")  # the output is 13 MB of doubles
    monkeypatch.setattr(score_mod, "_DUCK", [])
    folder = tmp_path / "scored"
    folder.mkdir()
    growing: list[int] = []

    def progress(_f: float, status: str) -> None:
        if (
            status.startswith("scored ")
            and f"of {n:,}" in status
            and not status.startswith(f"scored {n:,}")
        ):
            # the output's temporary file (".o.parquet.<hex>.partial", or the name DuckDB
            # writes it under before moving it there), not the rejected rows' or manifest's
            growing.extend(p.stat().st_size for p in folder.glob("*o.parquet.*.partial"))

    reg = Registry(home)
    try:
        res = score_file(
            reg,
            "credit:1",
            data,
            folder / "o.parquet",
            id_columns=["key"],
            threads=1,
            batch_rows=20_000,
            progress=progress,
        )
    finally:
        reg.close()
        for c in score_mod._DUCK:
            c.close()
    assert growing and max(growing) > 0, "nothing was written before the last batch"
    table = pq.read_table(folder / "o.parquet")
    # every column may hold a null, whatever the rows hold
    assert all(f.nullable for f in table.schema)
    out = table.to_pandas()
    assert res.rows_scored == n
    assert out["key"].tolist() == df["key"].tolist()
    # credit:1 as the fixture fits it (deterministic), for a sample of rows
    X0 = _frame()[FEATURES]
    model = LogisticRegression().fit(X0, (X0["age"] + 0.5 * X0["income"] > 0).astype(int))
    sample = np.arange(0, n, 997)
    np.testing.assert_allclose(
        out["proba_1"].to_numpy()[sample],
        model.predict_proba(df[FEATURES].iloc[sample])[:, 1],
        rtol=1e-12,
    )


def test_a_crashed_process_spill_folder_is_removed_by_the_next(tmp_path, monkeypatch):
    import subprocess
    import tempfile

    import modelward.core.compute.score as score_mod

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    root = tmp_path / score_mod._SPILL_ROOT
    (root / dead.stdout.strip()).mkdir(parents=True)
    (root / dead.stdout.strip() / "duckdb_temp_storage_S32K-0.tmp").write_bytes(b"x" * 100)
    (root / str(os.getppid())).mkdir()  # a live process's folder stays
    (root / "notes").mkdir()  # and anything that is not a process's
    mine = score_mod._spill_folder()
    assert Path(mine) == root / str(os.getpid())
    assert sorted(p.name for p in root.iterdir()) == sorted([str(os.getppid()), "notes"])


def test_an_id_column_named_rowid_comes_out_whole_across_batches(home, tmp_path):
    df = _frame(1000, seed=9)
    df.insert(0, "rowid", np.arange(1000) * 7)
    data = tmp_path / "in.parquet"
    df.to_parquet(data)
    reg = Registry(home)
    try:
        score_file(reg, "credit:1", data, tmp_path / "o.csv", id_columns=["rowid"], batch_rows=100)
    finally:
        reg.close()
    assert pd.read_csv(tmp_path / "o.csv")["rowid"].tolist() == df["rowid"].tolist()


def test_a_pipeline_that_cannot_take_a_missing_value_still_refuses_the_row(tmp_path):
    """A batch of finite numbers is predicted without scikit-learn scanning it again; one
    with a missing value is not, so a pipeline whose last step refuses it still names the row
    (its own tags say it takes NaN) and never writes a NaN probability."""
    reg = Registry(tmp_path / "reg")
    df = _frame(200, seed=3)
    y = (df["age"] > 0).astype(int)
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(df[FEATURES], y)
    log_estimator(reg, pipe, "piped", X=df[FEATURES], y=y)
    clean = tmp_path / "clean.parquet"
    df.to_parquet(clean)
    holed = tmp_path / "holed.parquet"
    df.assign(age=df["age"].where(df.index != 7)).to_parquet(holed)
    try:
        ok = score_file(reg, "piped:1", clean, tmp_path / "ok.parquet", id_columns=["loan_id"])
        got = score_file(reg, "piped:1", holed, tmp_path / "o.parquet", id_columns=["loan_id"])
    finally:
        reg.close()
    assert (ok.rows_scored, got.rows_scored, got.rows_rejected) == (200, 199, 1)
    expected = pipe.predict_proba(df[FEATURES])[:, 1]
    np.testing.assert_allclose(pd.read_parquet(tmp_path / "ok.parquet")["proba_1"], expected)
    scored = pd.read_parquet(tmp_path / "o.parquet")
    assert "L00007" not in set(scored["loan_id"]) and scored["proba_1"].notna().all()
    _, rejected, _ = output_paths(tmp_path / "o.parquet")
    assert "missing" in rejected.read_text()


def test_a_long_run_prints_its_counter_now_and_then_not_per_batch(run_cli, home, tmp_path):
    """Each batch's "scored N of M rows" on a line of its own filled a scheduled job's
    log (150 lines for 10M rows): a step's counter prints at most every 2 seconds,
    each new step at once."""
    import time

    rows = 12 * 65_536  # twelve batches
    df = _frame(rows, seed=5)
    data = tmp_path / "many.parquet"
    df.to_parquet(data, index=False)
    out = tmp_path / "many-scored.parquet"
    t0 = time.monotonic()
    proc = _ok(
        run_cli(
            *("score", "credit:1", "--data", str(data), "-o", str(out)),
            *("--id-column", "loan_id", "--registry", str(home)),
        )
    )
    elapsed = time.monotonic() - t0
    lines = proc.stderr.splitlines()
    counters = [ln for ln in lines if " of 786,432 rows" in ln]
    assert 1 <= len(counters) <= 1 + elapsed / 2.0 and len(counters) < 12, proc.stderr
    assert any("writing the manifest" in ln for ln in lines), proc.stderr
    assert any(ln.strip() == "scored 786,432 rows" for ln in lines), proc.stderr


def test_the_models_input_is_the_batchs_own_block_and_scores_as_scikit_learn_does(
    tmp_path, monkeypatch
):
    """Numeric features reach the model as a view of the block DuckDB handed over (copying
    it out again cost a pass over every value per batch); columns of other types in the file
    (an integer, a text id) and a file order unlike the model's change nothing."""
    import gc

    from modelward.core.compute import score as engine

    reg = Registry(tmp_path / "reg")
    df = _frame(3000, seed=5)
    y = (df["age"] - df["debt"] > 0).astype(int)
    est = LogisticRegression().fit(df[FEATURES], y)
    log_estimator(reg, est, "credit", X=df[FEATURES], y=y)
    data = tmp_path / "in.parquet"
    mixed = df.assign(age=(df["age"] * 10).round().astype("int64"))[
        ["debt", "loan_id", "income", "age"]
    ]
    mixed.to_parquet(data)
    seen: list[bool] = []
    real = engine._features_frame

    def spy(model, plan, batch, reasons):
        frame, finite = real(model, plan, batch, reasons)
        seen.append(np.shares_memory(frame.to_numpy(), batch.iloc[:, 0].to_numpy()))
        return frame, finite

    monkeypatch.setattr(engine, "_features_frame", spy)
    try:
        res = score_file(
            reg, "credit:1", data, tmp_path / "o.parquet", id_columns=["loan_id"], batch_rows=1000
        )
    finally:
        reg.close()
    assert res.rows_scored == 3000 and seen and all(seen)
    assert gc.get_freeze_count() == 0  # the collector's full passes see every object again
    expected = est.predict_proba(mixed[FEATURES].astype(float))[:, 1]
    np.testing.assert_allclose(pd.read_parquet(tmp_path / "o.parquet")["proba_1"], expected)


def test_a_failure_while_the_output_is_written_stops_the_run_without_a_hang(tmp_path):
    """The output's COPY reads batches as they come: an error on its side (here the
    summary kept once a batch is taken) is the run's error, raised to the scoring thread
    however many batches are still queued, and the writing thread ends."""
    from modelward.core.compute.score import _Writer

    schema = [("row", "BIGINT"), ("prediction", "DOUBLE")]
    out = tmp_path / "o.parquet"
    writer = _Writer(out, "parquet", schema)

    def broken() -> None:
        raise OSError("the summary's disk is full")

    raised = None
    try:
        for k in range(20):
            rows = np.arange(k * 100, (k + 1) * 100)
            writer.write({"row": rows, "prediction": rows * 0.5}, then=broken if k == 3 else None)
        writer.close()
    except OSError as e:
        raised = e
    finally:
        writer.discard()
    assert raised is not None and "disk is full" in str(raised)
    assert writer._thread is not None and not writer._thread.is_alive()
