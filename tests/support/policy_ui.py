"""A small registry for the policy, approval and evidence UI tests: model ``m`` with two
versions, ``m@champion`` on version 1 and a four-eyes policy owned by Alice Maker."""

from __future__ import annotations

from pathlib import Path

from tests.support.models import register_file

from support.models import write_joblib

OWNER = "Alice Maker"


def protected_registry(tmp_path: Path):
    from modelward.core.policies import Policy, set_policy
    from modelward.core.registry import Registry

    reg = Registry(tmp_path / "registry", idle_release=0.2)
    register_file(reg, write_joblib(tmp_path / "a.joblib", seed=1), "m")
    register_file(reg, write_joblib(tmp_path / "b.joblib", seed=2), "m")
    reg.set_alias("m:1", "champion", "first champion")
    set_policy(reg, Policy(model="m", owner=OWNER), reason="four-eyes on champion")
    return reg
