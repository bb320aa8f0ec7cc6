"""Startup recovery on a real DuckDB file: a damaged write-ahead log, a damaged main file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from modelward.core.errors import RegistryCorrupt
from modelward.core.evidence.backup import backup, restore
from modelward.core.registry import Registry


def _registry_with_a_wal(home: Path) -> Registry:
    """A registry whose last event is only in the write-ahead log (no checkpoint on close)."""
    reg = Registry(home)
    reg.record_event("test.checkpointed", "x", "1")
    with reg.session():
        con = reg._con
        assert con is not None
        con.execute("PRAGMA disable_checkpoint_on_shutdown")
        con.execute("SET checkpoint_threshold = '1GB'")
        reg.record_event("test.only_in_wal", "x", "2")
    assert (home / "registry.duckdb.wal").stat().st_size > 0
    return reg


def _flip(path: Path, pos: int) -> None:
    data = bytearray(path.read_bytes())
    data[pos] ^= 0xFF
    path.write_bytes(data)


def test_a_damaged_wal_is_set_aside_and_the_last_checkpoint_opens(tmp_path, monkeypatch):
    # Without the journal (benchmarks' baseline): the change only in the log is gone.
    monkeypatch.setenv("MODELWARD_JOURNAL", "off")
    home = tmp_path / "reg"
    _registry_with_a_wal(home)
    wal = home / "registry.duckdb.wal"
    original = wal.read_bytes()
    _flip(wal, len(original) // 2)
    # measured: DuckDB itself refuses the whole file
    with pytest.raises(duckdb.Error, match="WAL"):
        duckdb.connect(str(home / "registry.duckdb")).close()
    reg = Registry(home)
    assert reg.recovered is not None
    kept = Path(reg.recovered["wal"])
    assert kept.is_file() and kept.parent.parent == home / "recovery"
    assert kept.read_bytes()[: len(original) // 2] == original[: len(original) // 2]
    assert (kept.parent / "README.txt").is_file()
    assert not wal.exists()
    actions = [e.action for e in reg.audit_events()]
    assert actions[0] == "registry.recovered"
    assert "test.checkpointed" in actions and "test.only_in_wal" not in actions
    ev = reg.audit_events(action="registry.recovered")[0]
    assert ev.after["wal"] == str(kept) and "WAL" in ev.after["error"]
    assert reg.verify_audit().ok
    reg.close()
    # the next start is an ordinary one: no loop
    again = Registry(home)
    assert again.recovered is None
    assert len(again.audit_events(action="registry.recovered")) == 1


def test_the_cli_warns_about_a_recovery(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELWARD_JOURNAL", "off")
    home = tmp_path / "reg"
    _registry_with_a_wal(home)
    _flip(home / "registry.duckdb.wal", 40)
    r = run_cli("--registry", str(home), "audit", "verify")
    assert r.returncode == 0, r.stderr
    assert "write-ahead log was damaged" in r.stderr and "may be lost" in r.stderr


def test_a_damaged_wal_is_replayed_from_the_journal(tmp_path):
    home = tmp_path / "reg"
    _registry_with_a_wal(home)
    wal = home / "registry.duckdb.wal"
    _flip(wal, wal.stat().st_size // 2)
    reg = Registry(home)
    assert reg.recovered is not None and Path(reg.recovered["wal"]).is_file()
    assert reg.recovered["replayed"] and not reg.recovered["lost"]
    actions = [e.action for e in reg.audit_events()]
    assert actions[:3] == ["registry.recovered", "test.only_in_wal", "test.checkpointed"]
    assert reg.verify_records()["ok"], reg.verify_records()["problems"]
    assert reg.unacknowledged_loss() is None
    reg.close()
    again = Registry(home)
    assert again.recovered is None
    # ids keep counting after the replayed rows
    sha, n = again.artifacts.put_bytes(b"after")
    assert again.add_version("m", sha256=sha, size=n, format="skops").version.version == 1


def test_a_replayed_version_keeps_its_id_and_the_next_one_follows(tmp_path):
    home = tmp_path / "reg"
    reg = Registry(home)
    sha, n = reg.artifacts.put_bytes(b"one")
    reg.add_version("credit", sha256=sha, size=n, format="skops", metrics={"auc": 0.7})
    with reg.session():
        assert reg._con is not None
        reg._con.execute("PRAGMA disable_checkpoint_on_shutdown")
        sha2, n2 = reg.artifacts.put_bytes(b"two")
        reg.add_version("credit", sha256=sha2, size=n2, format="skops", metrics={"auc": 0.8})
        reg.set_alias("credit:2", "staging", "in the log only")
    _flip(home / "registry.duckdb.wal", (home / "registry.duckdb.wal").stat().st_size // 3)
    reg = Registry(home)
    assert reg.resolve("credit@staging").version == 2
    assert reg.recovered and len(reg.recovered["replayed"]) == 2
    sha3, n3 = reg.artifacts.put_bytes(b"three")
    v3 = reg.add_version("credit", sha256=sha3, size=n3, format="skops")
    assert v3.version.version == 3
    assert reg.verify_records()["ok"], reg.verify_records()["problems"]


def test_a_change_that_cannot_be_replayed_is_named_until_acknowledged(run_cli, tmp_path):
    home = tmp_path / "reg"
    _registry_with_a_wal(home)
    journal = home / "registry.duckdb.journal"
    lines = journal.read_text().splitlines()
    # the last transaction journaled by its head only (as a columnar batch is)
    import json

    last = json.loads(lines[-1])
    last["events"] = None
    lines[-1] = json.dumps(last)
    journal.write_text("\n".join(lines) + "\n")
    _flip(home / "registry.duckdb.wal", 40)
    reg = Registry(home)
    assert reg.recovered and reg.recovered["lost"]
    loss = reg.unacknowledged_loss()
    assert loss is not None and loss["lost"][0]["seq"] == last["seq"]
    reg.close()
    for args in (["list"], ["verify"], ["audit", "verify"]):
        r = run_cli("--registry", str(home), *args)
        assert "LOST" in r.stderr + r.stdout, (args, r.stderr)
    r = run_cli("--registry", str(home), "verify")
    assert r.returncode != 0
    r = run_cli(
        "--registry", str(home), "verify", "--acknowledge-loss", "--reason", "seen; re-run it"
    )
    assert r.returncode == 0, r.stderr
    r = run_cli("--registry", str(home), "verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "LOST" not in r.stderr
    reg = Registry(home)
    ev = reg.audit_events(action="registry.loss_acknowledged")[0]
    assert ev.reason == "seen; re-run it" and ev.after["lost"]


def test_a_damaged_main_file_points_at_restore_and_is_left_alone(tmp_path):
    home = tmp_path / "reg"
    reg = Registry(home)
    reg.record_event("test.one", "x", "1")
    saved = backup(reg, tmp_path / "b.mwbackup")
    reg.close()
    db = home / "registry.duckdb"
    _flip(db, 5000)
    damaged = db.read_bytes()
    for _ in range(2):  # every start says the same thing; nothing changes
        with pytest.raises(RegistryCorrupt, match="modelward restore"):
            Registry(home)
        assert db.read_bytes() == damaged
    res = restore(saved["path"], home, replace=True)
    assert res["verification"]["ok"]
    assert (Path(res["set_aside"]) / "registry.duckdb").read_bytes() == damaged
    assert Registry(home).audit_events(action="test.one")
