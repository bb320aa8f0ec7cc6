"""Shared fixtures: every test runs against its own registry home and config folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Never read or write the developer's real registry or settings."""
    base = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("MODELWARD_HOME", str(base / "registry"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "cache"))
    # Personal keys live under XDG_CONFIG_HOME; never a developer's own override or passphrase.
    monkeypatch.delenv("MODELWARD_KEYS_DIR", raising=False)
    monkeypatch.delenv("MODELWARD_KEY_PASSPHRASE", raising=False)
    # Keep BLAS/OpenMP to one thread per process on the 2-core CI machine.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture
def run_cli(tmp_path: Path):
    """Run ``python -m modelward ...`` in a real subprocess; returns CompletedProcess."""
    import subprocess

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120, **kw):
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "modelward", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            **kw,
        )

    return run
