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


def test_a_damaged_wal_is_set_aside_and_the_last_checkpoint_opens(tmp_path):
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


def test_the_cli_warns_about_a_recovery(run_cli, tmp_path):
    home = tmp_path / "reg"
    _registry_with_a_wal(home)
    _flip(home / "registry.duckdb.wal", 40)
    r = run_cli("--registry", str(home), "verify")
    assert r.returncode == 0, r.stderr
    assert "write-ahead log was damaged" in r.stderr and "may be lost" in r.stderr


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
