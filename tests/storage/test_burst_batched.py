"""A burst in a data inbox is checked file by file but recorded together, with the same outcome."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelward import api
from modelward.core import tables
from modelward.core.errors import InvalidInput
from modelward.core.registry import Registry
from modelward.core.watch import DATA, FolderWatcher, add_folder

COLS = "age,income,debt_ratio"


def _files(folder: Path) -> None:
    """Good batches, and next to them every kind of outcome a group must keep apart."""
    folder.mkdir()
    rng = np.random.default_rng(5)
    for i in range(12):
        rows = [
            f"{40 + 5 * a:.4f},{50 + 10 * b:.4f},{abs(c) / 3:.4f}"
            for a, b, c in rng.normal(size=(6, 3))
        ]
        (folder / f"good-{i:02d}.csv").write_text("\n".join([COLS, *rows]) + "\n")
    # Integers in one column: another type, so it is read apart from the others.
    (folder / "ints.csv").write_text(f"{COLS}\n40,50,0\n41,52,0\n")
    (folder / "inf.csv").write_text(f"{COLS}\n40.5,50.25,1e309\n41.5,52.5,0.25\n")
    (folder / "far.csv").write_text(f"{COLS}\n4000.5,50.25,0.5\n41.5,52.5,0.25\n")
    (folder / "text.csv").write_text(f"{COLS}\n40.5,50.25,0.5\n41.5,abc,0.25\n42.5,51.0,0.1\n")
    (folder / "header-only.csv").write_text(f"{COLS}\n")
    (folder / "ragged.csv").write_text(f"{COLS}\n40.5,50.25\n41.5,52.5,0.25\n")
    (folder / "missing.csv").write_text("age,income\n40.5,50.25\n")
    (folder / "empty.csv").write_text("")
    shutil.copyfile(folder / "good-00.csv", folder / "same-bytes.csv")


def _registry(root: Path, inbox: Path, champion: bool = False, profiled: bool = True) -> Registry:
    from modelward.core.monitoring.service import profile_version

    reg = Registry(root, idle_release=0.2)
    Z = np.random.default_rng(0).normal(size=(400, 3))
    X = pd.DataFrame(
        {"age": 40 + 5 * Z[:, 0], "income": 50 + 10 * Z[:, 1], "debt_ratio": abs(Z[:, 2]) / 3}
    )
    api.log_model(LogisticRegression().fit(X, X["age"] > 40), "scorer", X=X, registry=reg)
    if champion:  # then every batch is also checked against the champion
        reg.set_alias("scorer:1", "champion", "test")
    if profiled:  # row flags on values (the trained range)
        profile_version(reg, "scorer:1", {c: X[c].to_numpy() for c in X.columns})
    add_folder(reg, inbox, DATA, model_name="scorer")
    return reg


def _outcome(reg: Registry, results) -> dict:
    with reg.read() as cur:
        datasets = sorted(
            (name, rows, schema)
            for name, rows, schema in cur.execute(
                "SELECT name, rows, schema FROM datasets WHERE role = 'batch'"
            ).fetchall()
        )
        pol = cur.execute("SELECT count(*) FROM pol_data").fetchone()[0]
        # What the policy step remembers of each batch, and the champion checks themselves.
        pol_rows = sorted(
            cur.execute(
                "SELECT d.name, p.rows, p.label_column, m.name FROM pol_data p "
                "JOIN datasets d ON d.id = p.dataset_id "
                "LEFT JOIN mon_batches m ON m.id = p.batch_id"
            ).fetchall(),
            key=str,
        )
        checks = sorted(
            cur.execute("SELECT name, n_rows, drift_share, drifted FROM mon_batches").fetchall(),
            key=str,
        )
        taken = cur.execute("SELECT count(*) FROM ingested_files").fetchone()[0]
    events = {
        a: len(reg.audit_events(action=a))
        for a in ("dataset.registered", "ingest.rejected", "ingest.duplicate", "monitor.checked")
    }
    flags = sorted(
        (e.after["name"], json.dumps(e.after.get("flags"), sort_keys=True))
        for e in reg.audit_events(action="dataset.registered")
    )
    statuses = sorted((Path(r.path).name, r.status, r.detail) for r in results)
    return {
        "datasets": datasets,
        "pol_data": pol,
        "pol_rows": pol_rows,
        "checks": checks,
        "taken": taken,
        "events": events,
        "flags": flags,
        "statuses": statuses,
    }


@pytest.mark.parametrize(
    ("champion", "profiled"),
    [(False, True), (True, True), (False, False)],  # last: plain numbers, nothing scanned
)
def test_a_burst_recorded_together_is_what_file_by_file_gives(
    tmp_path, monkeypatch, caplog, champion, profiled
):
    import modelward.core.intake.door as door

    staging = tmp_path / "staging"
    _files(staging)
    n = len(list(staging.iterdir()))
    outcomes = {}
    flushes: list[int] = []
    real_flush = door._flush_stored

    def counting_flush(registry, digests):
        flushes.append(len(digests))
        return real_flush(registry, digests)

    monkeypatch.setattr(door, "_flush_stored", counting_flush)
    for group in (1, 200):
        inbox = tmp_path / f"inbox-{group}"
        reg = _registry(tmp_path / f"reg-{group}", inbox, champion, profiled)
        for p in staging.iterdir():
            shutil.copyfile(p, inbox / p.name)
        results = FolderWatcher(reg, group_size=group, group_seconds=600).run_once()
        assert len(results) == n
        outcomes[group] = _outcome(reg, results)
        assert reg.verify_audit().ok
        reg.close()
    assert "rolled back" not in caplog.text  # taken together, not again one by one
    alone, together = outcomes[1], outcomes[200]
    assert together == alone
    # What each kind of file came to (the same either way, checked above).
    status = {name: s for name, s, _ in together["statuses"]}
    refused = {"text.csv", "header-only.csv", "ragged.csv", "missing.csv", "empty.csv"}
    assert {k for k, v in status.items() if v == "rejected"} == refused
    assert together["events"]["ingest.rejected"] == len(refused)  # one event per refused file
    assert together["events"]["ingest.duplicate"] == 1  # same-bytes.csv
    assert together["taken"] == n
    flagged = dict(together["flags"])
    assert "infinite" in flagged["inf.csv"]
    assert ("out_of_range" in flagged["far.csv"]) == profiled
    assert flagged["good-03.csv"] == "null"
    # One flush of the store for the whole group, not one per file.
    assert flushes == [n - 1]  # every stored file but the duplicate's bytes, once


def test_a_group_killed_before_its_commit_leaves_nothing_and_is_taken_again(tmp_path, monkeypatch):
    import modelward.core.datasets as datasets

    staging = tmp_path / "staging"
    _files(staging)
    inbox = tmp_path / "inbox"
    reg = _registry(tmp_path / "reg", inbox)
    for p in staging.iterdir():
        shutil.copyfile(p, inbox / p.name)
    real = datasets.record_datasets

    def failing(registry, records):
        real(registry, records)
        raise OSError("the disk went away")

    monkeypatch.setattr(datasets, "record_datasets", failing)
    import modelward.core.intake.door as door

    monkeypatch.setattr(door, "record_datasets", failing)
    results = FolderWatcher(reg, group_seconds=600).run_once()
    # The group was rolled back and its files taken again one by one: each once.
    assert len(results) == len(list(inbox.iterdir()))
    assert sorted(r.status for r in results).count("registered") == 12 + 3 + 1
    with reg.read() as cur:
        names = [r[0] for r in cur.execute("SELECT name FROM datasets").fetchall()]
    assert len(names) == len(set(names))
    assert reg.verify_audit().ok


@pytest.mark.parametrize(
    "body",
    [
        "1,2.5,-3\n3,4.0,0\n-5,10,8\n",
        "0,1,2\n1,0,3\n",
        "1,,3\n2,5,6\n",
        "10.25,20.5,0.125\n",
        "007,1,2\n",  # leading zero: DuckDB decides
        "1e5,2,3\n",  # exponent: DuckDB decides
        "1,2,\n3,4,\n",  # an empty column: DuckDB decides
        "true,2,3\n",
        "2024-01-02,2,3\n",
        "1.5,2,3\n\n4,5,6\n",  # a blank line: DuckDB decides
        '"1",2,3\n',  # quotes: DuckDB decides
        "99999999999999999999,1,2\n",  # too large for BIGINT: DuckDB decides
        " 1,2,3\n",
        "1,2,3\r\n4,5,6\r\n",  # CRLF after an LF header
        "1,2,3\n4,5,6\n\n",  # a blank line at the end
        "1,2,3\n4,5,6",  # no newline at the end
        "1.5,2,3\n4,,6\n7,8,9.25\n",
    ],
)
def test_plain_numbers_are_typed_as_duckdb_types_them(tmp_path, body):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n" + body)
    table = tables.open_table(path)
    try:
        described = tables._describe(table.source, "t.csv")
    except InvalidInput:  # DuckDB refuses it (mixed line ends): not counted by the reader
        assert table.rows is None
        return
    assert table.types == described
    text = path.read_text()
    rows = tables._split(text, ",")
    guess = tables._plain_numbers(rows[0], rows, text, ".")
    assert guess is None or guess == described
    # Rows counted by the reader (plain numbers only) are the rows DuckDB reads.
    if table.rows is not None:
        from modelward.core.duck import connect

        with connect() as con:
            assert (
                table.rows == con.execute(f"SELECT count(*) FROM {table.source}").fetchall()[0][0]
            )


def test_a_burst_is_recorded_in_few_commits_with_one_flush_per_group(tmp_path, monkeypatch):
    """The files of a burst share the store's flush: no fsync per stored file."""
    import modelward.core.artifacts.store as store

    inbox = tmp_path / "inbox"
    reg = _registry(tmp_path / "reg", inbox)
    rng = np.random.default_rng(1)
    for i in range(40):
        rows = [",".join(f"{v:.3f}" for v in r) for r in rng.normal(size=(4, 3))]
        (inbox / f"b{i:02d}.csv").write_text("\n".join([COLS, *rows]) + "\n")
    synced: list[int] = []
    real = os.fsync

    def counting(fd):
        synced.append(fd)
        return real(fd)

    monkeypatch.setattr(store.os, "fsync", counting)
    results = FolderWatcher(reg, group_seconds=600).run_once()
    assert [r.status for r in results] == ["registered"] * 40
    assert len(synced) < 10  # was two per file
    assert reg.verify_audit().ok
