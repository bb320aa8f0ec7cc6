"""The registry on real DuckDB files: schema, versions, aliases, audit chain."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
from tests.support.models import register_file

from modelward.core.errors import (
    InvalidInput,
    NotARegistry,
    NotFound,
    RegistryTooNew,
)
from modelward.core.registry import Registry
from modelward.core.registry.schema import SCHEMA_VERSION
from support.models import write_joblib, write_pickle


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_empty_folder_is_migrated_and_reopening_is_idempotent(tmp_path):
    reg = Registry(tmp_path / "r")
    meta = reg.meta()
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    assert meta["storage_compatibility_version"] == "v1.0.0"
    assert meta["duckdb_version"] == duckdb.__version__
    events = reg.audit_events()
    assert [e.action for e in events] == ["registry.migrated"]
    reg.close()
    again = Registry(tmp_path / "r")
    assert again.meta() == meta
    assert len(again.audit_events()) == 1  # reopening migrates nothing
    assert again.verify_audit().ok


def test_registry_file_is_readable_by_duckdb_1_storage(tmp_path):
    Registry(tmp_path / "r").close()
    con = duckdb.connect(str(tmp_path / "r" / "registry.duckdb"))
    try:
        rows = con.execute(
            "SELECT tags FROM duckdb_databases() WHERE database_name = 'registry'"
        ).fetchall()
        assert rows  # the database is there; the pinned storage version is in meta
        (version,) = con.execute(
            "SELECT value FROM meta WHERE key = 'storage_compatibility_version'"
        ).fetchall()[0]
        assert version == "v1.0.0"
    finally:
        con.close()


def test_register_records_hash_format_and_lineage(tmp_path):
    reg = Registry(tmp_path / "r")
    path = write_joblib(tmp_path / "model.bin")  # extension says nothing
    res = register_file(reg, path, "credit risk")
    v = res.version
    assert res.created
    assert (v.name, v.version) == ("credit risk", 1)
    assert v.sha256 == _sha(path)
    assert v.size == path.stat().st_size
    assert v.format == "joblib"
    assert v.lineage["source"] == str(path.absolute())
    stored = reg.artifacts.verify(v.sha256)
    assert stored.read_bytes() == path.read_bytes()
    assert reg.verify_audit().ok


def test_identical_bytes_return_the_existing_version(tmp_path):
    reg = Registry(tmp_path / "r")
    path = write_joblib(tmp_path / "m.joblib")
    first = register_file(reg, path, "m")
    n_events = len(reg.audit_events(limit=None))
    second = register_file(reg, path, "m")
    assert not second.created
    assert second.version.id == first.version.id
    assert len(reg.list_versions("m")) == 1
    # nothing recorded but the one event that says the bytes came again (issue 14)
    events = reg.audit_events(limit=None)
    assert len(events) == n_events + 1
    assert events[0].action == "ingest.duplicate" and events[0].after["duplicate_of"] == "m:1"


def test_versions_increment_per_model(tmp_path):
    reg = Registry(tmp_path / "r")
    a1 = register_file(reg, write_joblib(tmp_path / "a1", seed=1), "a").version
    b1 = register_file(reg, write_pickle(tmp_path / "b1", seed=2), "b").version
    a2 = register_file(reg, write_joblib(tmp_path / "a2", seed=3), "a").version
    assert (a1.version, b1.version, a2.version) == (1, 1, 2)
    assert reg.resolve("a").version == 2  # NAME means the latest
    assert reg.resolve("a:1").sha256 == a1.sha256
    assert [m.name for m in reg.list_models()] == ["a", "b"]


def test_alias_set_move_remove_with_history(tmp_path):
    reg = Registry(tmp_path / "r")
    register_file(reg, write_joblib(tmp_path / "1", seed=1), "m")
    register_file(reg, write_joblib(tmp_path / "2", seed=2), "m")
    reg.set_alias("m:1", "champion", "first approved model")
    assert reg.resolve("m@champion").version == 1
    reg.set_alias("m:2", "champion", "beats v1 on Q3 holdout")
    assert reg.resolve("m@champion").version == 2
    assert reg.resolve("m:2").aliases == ("champion",)
    assert reg.resolve("m:1").aliases == ()
    reg.remove_alias("m", "champion", "retired")
    with pytest.raises(NotFound, match="no alias 'champion'"):
        reg.resolve("m@champion")
    hist = reg.alias_history("m")
    assert [(h.previous_version, h.version, h.reason) for h in hist] == [
        (None, 1, "first approved model"),
        (1, 2, "beats v1 on Q3 holdout"),
        (2, None, "retired"),
    ]
    assert reg.verify_audit().ok


@pytest.mark.parametrize("reason", ["", "   "])
def test_alias_needs_a_reason(tmp_path, reason):
    reg = Registry(tmp_path / "r")
    register_file(reg, write_joblib(tmp_path / "1"), "m")
    with pytest.raises(InvalidInput, match="reason"):
        reg.set_alias("m:1", "champion", reason)


@pytest.mark.parametrize("ref", ["nope", "nope:1", "nope@champion"])
def test_unknown_refs_are_not_found(tmp_path, ref):
    reg = Registry(tmp_path / "r")
    with pytest.raises(NotFound):
        reg.resolve(ref)


@pytest.mark.parametrize("name", ["", " lead", "a:b", "a@b", "a/b", "x" * 201])
def test_bad_names_are_refused(tmp_path, name):
    reg = Registry(tmp_path / "r")
    with pytest.raises(InvalidInput):
        register_file(reg, write_joblib(tmp_path / "m"), name)


def test_non_ascii_names_with_spaces_work(tmp_path):
    reg = Registry(tmp_path / "r é")
    v = register_file(reg, write_joblib(tmp_path / "modèle ü.joblib"), "Kredit Risiko ü").version
    assert reg.resolve("Kredit Risiko ü:1").id == v.id


def test_audit_chain_names_the_edited_event(tmp_path):
    reg = Registry(tmp_path / "r")
    register_file(reg, write_joblib(tmp_path / "1", seed=1), "m")
    reg.set_alias("m:1", "champion", "ok")
    register_file(reg, write_joblib(tmp_path / "2", seed=2), "m")
    assert reg.verify_audit().ok
    target = next(e for e in reg.audit_events(limit=None) if e.action == "alias.set")
    reg.close()
    con = duckdb.connect(str(tmp_path / "r" / "registry.duckdb"))
    con.execute("UPDATE audit SET reason = 'forged' WHERE seq = ?", [target.seq])
    con.close()
    report = Registry(tmp_path / "r").verify_audit()
    assert not report.ok
    assert report.first_broken_seq == target.seq
    assert "altered" in report.problem


def test_audit_chain_detects_a_deleted_event(tmp_path):
    reg = Registry(tmp_path / "r")
    register_file(reg, write_joblib(tmp_path / "1", seed=1), "m")
    register_file(reg, write_joblib(tmp_path / "2", seed=2), "m")
    reg.close()
    con = duckdb.connect(str(tmp_path / "r" / "registry.duckdb"))
    con.execute("DELETE FROM audit WHERE seq = 2")
    con.close()
    report = Registry(tmp_path / "r").verify_audit()
    assert not report.ok and report.first_broken_seq == 3
    assert "missing" in report.problem


def test_newer_schema_is_refused_and_left_untouched(tmp_path):
    Registry(tmp_path / "r").close()
    db = tmp_path / "r" / "registry.duckdb"
    con = duckdb.connect(str(db))
    con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    con.execute("CHECKPOINT")
    con.close()
    before = _sha(db)
    with pytest.raises(RegistryTooNew, match=r"schema version 999.*version \d+"):
        Registry(tmp_path / "r")
    assert _sha(db) == before
    assert not (tmp_path / "r" / "registry.duckdb.wal").exists()


def test_a_file_that_is_not_duckdb_is_refused(tmp_path):
    home = tmp_path / "r"
    home.mkdir()
    (home / "registry.duckdb").write_bytes(b"this is not a database" * 100)
    with pytest.raises(NotARegistry, match="not a ModelWard registry"):
        Registry(home)


def test_a_foreign_duckdb_database_is_refused(tmp_path):
    home = tmp_path / "r"
    home.mkdir()
    con = duckdb.connect(str(home / "registry.duckdb"))
    con.execute("CREATE TABLE sales (x INT)")
    con.close()
    with pytest.raises(NotARegistry, match="not a ModelWard registry"):
        Registry(home)


def test_registry_path_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(NotARegistry):
        Registry(f)


def test_metric_series_roundtrip(tmp_path):
    reg = Registry(tmp_path / "r")
    run = reg.create_run("train")
    values = np.linspace(0, 1, 1000)
    reg.append_metrics(run, "loss", values[:600])
    reg.append_metrics(run, "loss", values[600:])  # steps continue
    hist = reg.metric_history(run, "loss")
    np.testing.assert_array_equal(hist["step"], np.arange(1000))
    np.testing.assert_allclose(hist["value"], values)
    reg.finish_run(run, "finished", result={"best": 1.0})
    assert reg.verify_audit().ok


def test_connection_is_released_between_operations(tmp_path):
    reg = Registry(tmp_path / "r")
    reg.list_versions()
    assert not reg.is_connected  # another process can open the file now
    with reg.session():
        reg.list_versions()
        assert reg.is_connected
    assert not reg.is_connected


def test_failed_write_leaves_no_trace(tmp_path):
    """An error inside a transaction rolls back the change and its audit event."""
    reg = Registry(tmp_path / "r")
    n = len(reg.audit_events(limit=None))
    with pytest.raises(RuntimeError), reg.transaction() as tx:
        reg.ensure_model(tx, "ghost")
        raise RuntimeError("boom")
    assert reg.list_models() == []
    assert len(reg.audit_events(limit=None)) == n
    assert reg.verify_audit().ok


def test_show_json_shape(tmp_path):
    reg = Registry(tmp_path / "r")
    v = register_file(reg, write_joblib(tmp_path / "m"), "m").version
    d = json.loads(json.dumps(v.to_json()))
    for key in ("name", "version", "sha256", "format", "aliases"):
        assert key in d


def _wait_until(cond, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_idle_release_closes_after_the_last_read(tmp_path):
    import threading

    reg = Registry(tmp_path / "r", idle_release=0.3)
    before = threading.active_count()
    for _ in range(50):  # a burst of reads keeps the connection and starts one timer
        reg.list_versions()
    assert reg.is_connected
    assert threading.active_count() <= before + 1
    assert _wait_until(lambda: not reg.is_connected)


def test_the_registry_runs_on_one_thread_and_its_heavy_statements_on_every_core(
    tmp_path, monkeypatch
):
    """Small statements are faster without DuckDB's workers; a columnar insert gets them all."""
    import os

    from modelward.core.registry import state

    reg = Registry(tmp_path / "reg")

    def threads() -> int:
        with reg.read() as cur:
            return int(cur.execute("SELECT current_setting('threads')").fetchone()[0])

    assert threads() == 1
    seen: list[int] = []
    execute = state.Recorder._exec

    def watching(self, sql, params):  # the threads each columnar insert ran with
        if sql.startswith("INSERT INTO metric_points"):
            seen.append(int(self.cur.execute("SELECT current_setting('threads')").fetchone()[0]))
        return execute(self, sql, params)

    monkeypatch.setattr(state.Recorder, "_exec", watching)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    run = reg.create_run("test")
    assert reg.append_metrics(run, "loss", np.linspace(1, 0, 50_000)) == 50_000
    assert seen == [4]  # every core for the insert …
    assert threads() == 1  # … and left on one again
    with reg.read() as cur:
        from modelward.core.duck import all_cores

        with all_cores(cur):
            assert int(cur.execute("SELECT current_setting('threads')").fetchone()[0]) == 4
    assert threads() == 1
    assert reg.verify_audit().ok
