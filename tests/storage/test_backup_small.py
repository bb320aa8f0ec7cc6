"""A backup of a small registry (a few versions) verifies: its database file, mostly empty
blocks, deflates more than 200-fold and must not be taken for a decompression bomb."""

from __future__ import annotations

from tests.support.models import register_file

from modelward.core.evidence.backup import backup, restore
from modelward.core.registry import Registry
from support.models import write_joblib


def test_a_small_registry_backs_up_and_restores(tmp_path):
    reg = Registry(tmp_path / "reg")
    register_file(reg, write_joblib(tmp_path / "a.joblib", seed=1), "m")
    reg.set_alias("m:1", "champion", "first")
    info = backup(reg, tmp_path / "small.mwbak")
    assert info["artifacts"] >= 1
    res = restore(tmp_path / "small.mwbak", tmp_path / "restored")
    assert res["verification"]["ok"]
    assert Registry(tmp_path / "restored").resolve("m@champion").version == 1
