"""``modelward score --dask``: a Parquet input split across a loopback Dask cluster's workers."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from modelward.core.compute.score import output_paths
from modelward.core.intake.estimator import log_estimator
from modelward.core.registry import Registry

distributed = pytest.importorskip("distributed")

FEATURES = ["age", "income", "debt"]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    df["region"] = rng.choice(["north", "south", "east"], size=n)  # not a feature: not read
    df.insert(0, "loan_id", np.arange(n, dtype=np.int64))
    return df


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    c = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", host="127.0.0.1"
    )
    try:
        yield c
    finally:
        c.close()


def test_score_on_a_local_cluster_gives_the_rows_of_a_local_run(run_cli, cluster, tmp_path):
    home = tmp_path / "reg"
    reg = Registry(home)
    train = _frame(500, seed=0)
    X = train[FEATURES]
    y = (train["age"] > 0).astype(int)
    clf = HistGradientBoostingClassifier(max_iter=15).fit(X, y)
    log_estimator(reg, clf, "credit", X=X, y=y)
    reg.close()

    df = _frame(30_000, seed=1)
    df.loc[7, "age"] = np.inf  # rejected, row 8: the row numbers stay global across partitions
    data = tmp_path / "big.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), data, row_group_size=2_000)

    local, remote = tmp_path / "local.parquet", tmp_path / "remote.parquet"
    common = ("--data", str(data), "--registry", str(home), "--json")
    proc = run_cli("score", "credit:1", *common, "-o", str(local), timeout=300)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli(
        "score",
        "credit:1",
        *common,
        "-o",
        str(remote),
        "--dask",
        cluster.scheduler_address,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["rows"] == {"in": 30_000, "scored": 29_999, "rejected": 1}

    a, b = pq.read_table(local), pq.read_table(remote)
    assert a.schema == b.schema and a.num_rows == b.num_rows == 29_999
    assert a.equals(b)  # same rows, same order, same values
    manifest = json.loads(output_paths(remote)[2].read_text())
    assert manifest["dask"]["partitions"] > 1
    assert len(manifest["dask"]["worker_pids"]) == 2
    assert os.getpid() not in manifest["dask"]["worker_pids"]
    assert manifest["output"]["sha256"] == doc["output_sha256"]
    rejected = output_paths(remote)[1].read_text().splitlines()
    assert rejected[1].startswith("8,") and "infinite" in rejected[1]
    # no part files stay behind
    assert sorted(p.name for p in tmp_path.iterdir() if "remote" in p.name) == [
        "remote.parquet",
        "remote.parquet.manifest.json",
        "remote.parquet.rejected.csv",
    ]

    # every worker loaded the model once, through the safe loader's cache
    from distributed import Client

    with Client(cluster.scheduler_address) as client:
        loaded = client.run(
            lambda: list(__import__("modelward.core.compute.score_dask", fromlist=["x"])._LOADED)
        )
    assert all(v == [doc["sha256"]] for v in loaded.values())


def test_dask_needs_a_parquet_input(run_cli, tmp_path):
    home = tmp_path / "reg"
    reg = Registry(home)
    train = _frame(200, seed=0)
    X = train[FEATURES]
    log_estimator(reg, HistGradientBoostingClassifier(max_iter=5).fit(X, X["age"] > 0), "c", X=X)
    reg.close()
    data = tmp_path / "d.csv"
    train.to_csv(data, index=False)
    proc = run_cli(
        *("score", "c:1", "--data", str(data), "-o", str(tmp_path / "o.csv")),
        *("--dask", "tcp://127.0.0.1:1", "--registry", str(home)),
    )
    assert proc.returncode != 0 and "Parquet" in proc.stderr
    assert not (tmp_path / "o.csv").exists()
