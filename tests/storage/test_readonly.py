"""A registry folder the user may read but not write: browsing works, changes are refused."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from tests.support.models import register_file

from modelward.core.registry import Registry
from support.models import write_joblib

# Root ignores permission bits through these capabilities; without them it
# meets the read-only folder like any user (a real fault, nothing mocked).
DROP_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"]


@pytest.fixture
def readonly_registry():
    """A registry with one version that the test subprocess cannot write.

    The folder and its files lose their write bits; as root, the CLI runs
    without the capabilities that override them.
    """
    base = Path(tempfile.mkdtemp(prefix="mw-ro-"))
    os.chmod(base, 0o755)
    home = base / "reg"
    reg = Registry(home)
    register_file(reg, write_joblib(base / "m.joblib"), "shared")
    reg.set_alias("shared:1", "champion", "approved")
    reg.close()
    new_model = write_joblib(base / "new.joblib", seed=9)
    os.chmod(new_model, 0o644)
    for p in [home, *home.rglob("*")]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot drop the override")
        prefix = DROP_OVERRIDE
    yield home, new_model, prefix
    for p in [home, *home.rglob("*")]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)
    shutil.rmtree(base, ignore_errors=True)


def _cli(args, prefix):
    return subprocess.run(
        [*prefix, sys.executable, "-m", "modelward", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_read_only_registry_can_be_browsed_not_changed(readonly_registry):
    home, new_model, prefix = readonly_registry
    listing = _cli(["list", "--json", "--registry", str(home)], prefix)
    assert listing.returncode == 0, listing.stderr
    assert [v["name"] for v in json.loads(listing.stdout)["versions"]] == ["shared"]
    verify = _cli(["audit", "verify", "--registry", str(home)], prefix)
    assert verify.returncode == 0, verify.stderr

    for args in (
        ["register", str(new_model), "--name", "shared"],
        ["alias", "set", "shared:1", "challenger", "--reason", "try"],
    ):
        proc = _cli([*args, "--registry", str(home)], prefix)
        assert proc.returncode != 0
        assert "Traceback" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert "read-only" in lines[0] or "permission denied" in lines[0].lower()

    reg = Registry(home)  # nothing changed
    assert [v.ref for v in reg.list_versions()] == ["shared:1"]
    assert reg.resolve("shared:1").aliases == ("champion",)
    assert reg.verify_audit().ok
