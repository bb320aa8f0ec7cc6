"""Scoring folders, shadow challengers, the prediction log and late labels, through the user's doors.

Batches are copied into a real inbox; ``modelward run --once`` and
``modelward watch`` run as real subprocesses; a SIGKILL hits a real scoring
process in the middle of a batch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LogisticRegression

from modelward import api
from modelward.core.compute.predlog import prediction_report
from modelward.core.intake.estimator import log_estimator
from modelward.core.registry import Registry
from modelward.core.registry.predictions import read_predictions
from modelward.core.retention import apply_retention
from support.watch_cli import start_watch

FEATURES = ["age", "income", "debt"]


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    df.insert(0, "loan_id", [f"L{seed}-{i:07d}" for i in range(n)])
    return df


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """``credit`` with two versions (v1 champion) and an empty scoring inbox/outbox pair."""
    path = tmp_path / "reg"
    reg = Registry(path)
    df = _frame(400)
    X = df[FEATURES]
    y = (X["age"] + 0.5 * X["income"] > 0).astype(int)
    log_estimator(reg, LogisticRegression().fit(X, y), "credit", X=X, y=y)
    log_estimator(reg, LogisticRegression(C=0.001).fit(X, y), "credit", X=X, y=y)
    reg.set_alias("credit:1", "champion", "first")
    reg.close()
    return path


def _ok(proc):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _add_inbox(run_cli, home: Path, tmp_path: Path, *extra: str) -> tuple[Path, Path]:
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    _ok(
        run_cli(
            *("folders", "add", str(inbox), "--kind", "scoring", "--model", "credit"),
            *("--outbox", str(outbox), "--id-column", "loan_id", "--registry", str(home)),
            *extra,
        )
    )
    return inbox, outbox


def _manifest(out: Path) -> dict:
    return json.loads(out.with_name(out.name + ".manifest.json").read_text())


def _audit(home: Path, action: str) -> list[dict]:
    reg = Registry(home)
    try:
        with reg.read() as cur:
            rows = cur.execute(
                "SELECT entity_id, after, reason FROM audit WHERE action = ? ORDER BY seq",
                [action],
            ).fetchall()
    finally:
        reg.close()
    return [{"entity": r[0], "after": json.loads(r[1] or "null"), "reason": r[2]} for r in rows]


def test_a_promotion_between_two_batches_changes_who_scores_the_next_one(run_cli, home, tmp_path):
    inbox, outbox = _add_inbox(run_cli, home, tmp_path)
    _frame(120, seed=1).to_csv(inbox / "monday.csv", index=False)
    proc = _ok(run_cli("run", "--once", "--registry", str(home), "--json"))
    doc = json.loads(proc.stdout)
    assert [f["status"] for f in doc["files"]] == ["registered"]
    assert doc["files"][0]["ref"] == "credit:1"

    _ok(
        run_cli(
            "alias", "set", "credit:2", "champion", "--reason", "better", "--registry", str(home)
        )
    )
    _frame(80, seed=2).to_parquet(inbox / "tuesday.parquet", index=False)
    proc = _ok(run_cli("run", "--once", "--registry", str(home), "--json"))
    doc = json.loads(proc.stdout)
    assert [(Path(f["path"]).name, f["ref"]) for f in doc["files"]] == [
        ("tuesday.parquet", "credit:2")
    ]

    monday, tuesday = outbox / "monday.scored.csv", outbox / "tuesday.scored.parquet"
    assert _manifest(monday)["model"]["ref"] == "credit:1"
    assert _manifest(tuesday)["model"]["ref"] == "credit:2"
    assert _manifest(tuesday)["scoring_folder"]["champion"] == "credit:2"
    assert len(pd.read_csv(monday)) == 120
    assert pq.read_table(tuesday).num_rows == 80
    assert list(pd.read_csv(monday).columns[:2]) == ["loan_id", "prediction"]
    # both recorded: audited, and in the prediction log under their own version
    scored = _audit(home, "score.completed")
    assert [e["entity"] for e in scored] == ["credit:1", "credit:2"]
    reg = Registry(home)
    logged = read_predictions(reg, "credit")
    reg.close()
    assert sorted((b.version, b.rows) for b in logged) == [(1, 120), (2, 80)]
    # a third run takes nothing again
    proc = _ok(run_cli("run", "--once", "--registry", str(home), "--json"))
    assert json.loads(proc.stdout)["files"] == []
    assert sorted(p.name for p in outbox.iterdir()) == [
        "monday.scored.csv",
        "monday.scored.csv.manifest.json",
        "tuesday.scored.parquet",
        "tuesday.scored.parquet.manifest.json",
    ]


def test_sigkill_during_scoring_leaves_no_output_and_the_batch_is_scored_once(
    run_cli, home, tmp_path
):
    inbox, outbox = _add_inbox(run_cli, home, tmp_path)
    # Big enough that the kill lands while the rows are being scored.
    df = _frame(600_000, seed=3)
    pq.write_table(
        pa.Table.from_pandas(df, preserve_index=False), inbox / "big.parquet", row_group_size=20_000
    )
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelward", "run", "--once", "--registry", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 300
        # The rows are being scored: the output's hidden temporary file exists
        # (it is created before the first row is read, and written in one pass
        # once every row is scored).
        while time.monotonic() < deadline:
            parts = list(outbox.glob(".big.scored.parquet.*.partial"))
            if parts or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        assert parts, "never saw the output being written"
        assert not (outbox / "big.scored.parquet").exists()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert not (outbox / "big.scored.parquet").exists()
    assert not (outbox / "big.scored.parquet.manifest.json").exists()
    assert _audit(home, "score.completed") == []

    doc = json.loads(
        _ok(run_cli("run", "--once", "--registry", str(home), "--json", timeout=600)).stdout
    )
    assert [f["status"] for f in doc["files"]] == ["registered"]
    assert sorted(p.name for p in outbox.iterdir()) == [
        "big.scored.parquet",
        "big.scored.parquet.manifest.json",
    ]  # the killed run's temporary files are gone too
    assert pq.read_metadata(outbox / "big.scored.parquet").num_rows == 600_000
    assert len(_audit(home, "score.completed")) == 1
    # and once: the next run scores nothing
    doc = json.loads(_ok(run_cli("run", "--once", "--registry", str(home), "--json")).stdout)
    assert doc["files"] == []
    assert len(_audit(home, "score.completed")) == 1


def test_an_output_written_before_a_crash_is_recorded_not_scored_again(home, tmp_path):
    from modelward.core.watch import add_folder
    from modelward.core.watch.ingest import ingest_file

    reg = Registry(home)
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    folder = add_folder(reg, inbox, "scoring", model_name="credit", options={"outbox": outbox})
    _frame(50, seed=4).to_csv(inbox / "b.csv", index=False)
    first = ingest_file(reg, folder, inbox / "b.csv")
    assert first.status == "registered"
    # A crash after the rename, before the inbox file was recorded as taken:
    with reg.transaction() as tx:
        tx.q("DELETE FROM ingested_files")
    again = ingest_file(reg, folder, inbox / "b.csv")
    assert again.status == "registered" and "already scored by credit:1" in again.detail
    with reg.read() as cur:
        n = cur.execute("SELECT count(*) FROM audit WHERE action = 'score.completed'").fetchone()
    assert n[0] == 1
    reg.close()


def test_a_batch_the_champion_cannot_score_is_quarantined_with_its_reason(run_cli, home, tmp_path):
    inbox, outbox = _add_inbox(run_cli, home, tmp_path)
    _frame(30, seed=5).drop(columns=["income"]).to_csv(inbox / "broken.csv", index=False)
    proc = run_cli("run", "--once", "--registry", str(home), "--json")
    doc = json.loads(proc.stdout)
    assert [f["status"] for f in doc["files"]] == ["rejected"]
    assert "'income'" in doc["files"][0]["detail"]
    assert list(outbox.iterdir()) == []
    rejected = _audit(home, "ingest.rejected")
    assert len(rejected) == 1 and "'income'" in rejected[0]["reason"]
    reasons = list((home / "quarantine").glob("*.reason.txt"))
    assert len(reasons) == 1 and "'income'" in reasons[0].read_text()
    # refused once, not retried
    assert (
        json.loads(_ok(run_cli("run", "--once", "--registry", str(home), "--json")).stdout)["files"]
        == []
    )


def test_shadow_challenger_scores_in_the_shadow_and_labels_give_realized_metrics(
    run_cli, home, tmp_path
):
    inbox, outbox = _add_inbox(run_cli, home, tmp_path, "--log-rows")
    _ok(run_cli("shadow", "add", "credit", "2", "--reason", "trial", "--registry", str(home)))
    df = _frame(200, seed=6)
    df.to_csv(inbox / "batch.csv", index=False)
    _ok(run_cli("run", "--once", "--registry", str(home)))
    # the outbox holds the champion's output only
    assert sorted(p.name for p in outbox.iterdir()) == [
        "batch.scored.csv",
        "batch.scored.csv.manifest.json",
    ]
    assert _manifest(outbox / "batch.scored.csv")["model"]["ref"] == "credit:1"
    assert [e["entity"] for e in _audit(home, "shadow.added")] == ["credit:2"]

    labels = tmp_path / "labels.csv"
    y = (df["age"] + 0.5 * df["income"] > 0).astype(int)
    pd.DataFrame({"loan_id": df["loan_id"], "defaulted": y}).iloc[:150].to_csv(labels, index=False)
    proc = _ok(
        run_cli(
            *("labels", "credit", "--data", str(labels), "--id", "loan_id"),
            *("--registry", str(home), "--json"),
        )
    )
    assert json.loads(proc.stdout) == {
        "rows": 150,
        "label_column": "defaulted",
        "matched": 150,
        "without_id": 0,
        "repeated": 0,
    }
    assert len(_audit(home, "labels.added")) == 1

    rep = json.loads(
        _ok(run_cli("shadow", "show", "credit", "--registry", str(home), "--json")).stdout
    )
    by_ref = {v["ref"]: v for v in rep["versions"]}
    champ, shadow = by_ref["credit:1"], by_ref["credit:2"]
    assert champ["role"] == "champion" and shadow["role"] == "shadow"
    assert champ["rows"] == shadow["rows"] == 200
    assert champ["realized"]["labelled_rows"] == shadow["realized"]["labelled_rows"] == 150
    assert champ["realized"]["roc_auc"] > 0.95
    assert 0.0 <= shadow["agreement"] <= 1.0 and shadow["score_psi"] is not None
    # the strongly regularised challenger squeezes its scores toward 0.5: drift is visible
    assert shadow["mean_abs_score_diff"] > 0.05

    # the champion's agreement, checked by hand from the logged rows
    reg = Registry(home)
    rows = read_predictions(reg, "credit", rows=True)
    reg.close()
    a = rows[rows.version == 1].set_index("id")["prediction"]
    b = rows[rows.version == 2].set_index("id")["prediction"]
    assert shadow["agreement"] == pytest.approx(float((a == b.loc[a.index]).mean()))

    # compare shows the challenger's record in the shadow beside the metrics
    labelled = tmp_path / "labelled.csv"
    df.assign(defaulted=y).drop(columns=["loan_id"]).to_csv(labelled, index=False)
    proc = _ok(
        run_cli(
            *("compare", "credit:1", "credit:2", "--data", str(labelled), "--target", "defaulted"),
            *("--n-boot", "50", "--registry", str(home)),
        )
    )
    assert "in the shadow: 1 batch(es), 200 rows, agreement" in proc.stdout
    assert "realized on 150 labelled rows: roc_auc" in proc.stdout

    _ok(run_cli("shadow", "remove", "credit", "2", "--registry", str(home)))
    assert _audit(home, "shadow.removed")[0]["entity"] == "credit:2"


def test_watch_headless_scores_a_batch_dropped_in_the_inbox(home, tmp_path):
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    reg = Registry(home)
    api_folder = __import__("modelward.core.watch", fromlist=["add_folder"]).add_folder
    api_folder(reg, inbox, "scoring", model_name="credit", options={"outbox": str(outbox)})
    reg.close()
    proc = start_watch("--registry", str(home), "--json")
    try:
        _frame(40, seed=7).to_csv(inbox / ".drop.csv.tmp", index=False)
        os.replace(inbox / ".drop.csv.tmp", inbox / "drop.csv")
        out = outbox / "drop.scored.csv"
        deadline = time.monotonic() + 120
        while (
            time.monotonic() < deadline and not out.with_name(out.name + ".manifest.json").exists()
        ):
            time.sleep(0.05)
        assert out.exists() and len(pd.read_csv(out)) == 40
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert any(e["kind"] == "ingested" and e["ref"] == "credit:1" for e in events)


def test_score_logs_a_summary_by_default_rows_when_asked_and_retention_prunes(home, tmp_path):
    data = tmp_path / "d.csv"
    _frame(90, seed=8).to_csv(data, index=False)
    reg = Registry(home)
    res = api.score("credit@champion", data, tmp_path / "o1.csv", registry=reg)
    (b,) = read_predictions(reg, "credit")
    assert b.batch_id == res.batch_id == res.input_sha256[:16]
    assert b.rows == 90 and b.rows_sha256 is None and sum(b.summary["score_hist"]) == 90
    api.score(
        "credit:2", data, tmp_path / "o2.csv", registry=reg, id_columns=["loan_id"], log_rows=True
    )
    rows = read_predictions(reg, "credit", version=2, rows=True)
    assert len(rows) == 90 and rows["id"].tolist()[0] == "L8-0000000"
    import datetime as dt

    out = apply_retention(reg, days=1, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
    assert out["deleted"]["pred_log"] == 2
    assert read_predictions(reg, "credit") == []
    assert prediction_report(reg, "credit")["versions"] == []
    reg.close()
