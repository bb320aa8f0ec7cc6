"""Backup and restore on real files; audit export and an auditor's own check; retention."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from modelward.core.errors import InvalidInput
from modelward.core.evidence.audit_export import export_audit
from modelward.core.evidence.backup import backup, restore, verify_backup, verify_registry
from modelward.core.evidence.bundles import ArchiveRefused
from modelward.core.registry import Registry
from modelward.core.retention import apply_retention, get_retention, set_retention
from support.evidence import build


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("backup")
    reg, ref = build(base / "reg", batches=2)
    path = base / "reg.mwbackup"
    info = backup(reg, path)
    return reg, ref, path, info


def test_a_backup_restores_into_a_registry_that_verifies(src, tmp_path):
    reg, ref, path, info = src
    assert info["audit_events"] > 5 and info["artifacts"] >= 3
    res = restore(path, tmp_path / "restored")
    assert res["verification"]["ok"] and res["set_aside"] is None
    new = Registry(tmp_path / "restored")
    assert verify_registry(new)["ok"]
    a, b = reg.resolve("credit@champion"), new.resolve("credit@champion")
    assert a.to_json() == b.to_json()
    # the restored trail is the backed-up trail plus the restore event
    head = new.audit_events(limit=1)[0]
    assert head.action == "registry.restored"
    assert head.prev_hash == info["audit_head"]
    assert new.artifacts.verify(a.lineage["snapshot_sha256"])


def test_restore_refuses_a_damaged_backup_before_writing(src, tmp_path):
    _, _, path, _ = src
    data = bytearray(path.read_bytes())
    for pos in (100, len(data) // 2, len(data) - 10):
        bad = bytearray(data)
        bad[pos] ^= 0xFF
        p = tmp_path / "bad.mwbackup"
        p.write_bytes(bad)
        with pytest.raises(ArchiveRefused):
            verify_backup(p)
        with pytest.raises(ArchiveRefused):
            restore(p, tmp_path / "target")
        assert not (tmp_path / "target").exists()


def test_restore_over_a_registry_needs_replace_and_keeps_the_old_one(src, tmp_path):
    _, _, path, _ = src
    other = Registry(tmp_path / "other")
    other.record_event("test.mine", "x", "1")
    with pytest.raises(InvalidInput, match="--replace"):
        restore(path, other.home)
    res = restore(path, other.home, replace=True)
    kept = Path(res["set_aside"]) / "registry.duckdb"
    assert kept.is_file()
    assert Registry(other.home).resolve("credit:1")
    assert not Registry(other.home).audit_events(action="test.mine")


def test_backup_must_not_go_inside_the_registry(src):
    reg = src[0]
    with pytest.raises(InvalidInput):
        backup(reg, reg.home / "inside.mwbackup")


# --------------------------------------------------------------------------- audit export
def _readme_recipe() -> str:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = text.index("# verify_audit.py")
    return text[start : text.index("```", start)]


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_audit_export_verifies_with_the_auditors_own_script(src, tmp_path, suffix, monkeypatch):
    reg = src[0]
    out = tmp_path / f"audit{suffix}"
    res = export_audit(reg, out)
    assert res["chain_ok"] and res["events"] == reg.audit_head()
    ns: dict = {}
    exec(compile(_readme_recipe(), "verify_audit.py", "exec"), ns)  # the documented recipe
    assert ns["verify"](str(out)) == res["head_hash"]
    # an edited row is caught by the same script
    if suffix == ".csv":
        rows = list(csv.reader(out.open(encoding="utf-8")))
        rows[3][2] = "mallory"
        with out.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(rows)
    else:
        doc = json.loads(out.read_text(encoding="utf-8"))
        doc["events"][2]["reason"] = "edited"
        out.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValueError, match="event"):
        ns["verify"](str(out))


# --------------------------------------------------------------------------- retention
def test_retention_deletes_old_monitoring_data_and_never_audit(tmp_path):
    import datetime as dt

    reg, _ = build(tmp_path / "reg", batches=2)
    n_audit = reg.audit_head()
    assert get_retention(reg) is None
    assert apply_retention(reg)["deleted"]["mon_batches"] == 0
    set_retention(reg, 30, reason="policy")
    # batches are dated 2025-01-28 and 2025-02-28: 30 days after 2025-02-10 drops one
    res = apply_retention(reg, now=dt.datetime(2025, 3, 12, tzinfo=dt.UTC))
    assert res["deleted"]["mon_batches"] == 1
    assert res["deleted"]["mon_feature_drift"] > 0 and res["deleted"]["mon_predictions"] > 0
    with reg.read() as cur:
        assert cur.execute("SELECT count(*) FROM mon_batches").fetchall()[0][0] == 1
    assert reg.audit_head() == n_audit + 2  # retention.set + retention.applied; nothing purged
    assert reg.verify_audit().ok
