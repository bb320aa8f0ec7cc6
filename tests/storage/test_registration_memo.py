"""Back-to-back registrations on a held registry skip the model lookup and the version scan.

What the last registration of a model left (its id, next number and digests)
is kept while the file is held and only registrations commit. Each test below
makes it stale the way a user could and checks the numbers that follow; the
first checks that the scan is really skipped (the speed this buys: see
docs/benchmarks.md, session 10).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from modelward import api
from modelward.core.registry import Registry
from modelward.core.registry import versions as versions_mod
from modelward.core.registry.bulk import bulk_add_versions
from modelward.core.registry.connection import HOLD

_X = np.random.default_rng(0).normal(size=(60, 3))
_Y = (_X[:, 0] > 0).astype(int)


def _model(c: float) -> LogisticRegression:
    return LogisticRegression(C=c).fit(_X, _Y)


def _scans(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = versions_mod.VersionsMixin._version_scan

    def counted(self, tx, mid, sha):
        seen.append(sha)
        return real(self, tx, mid, sha)

    monkeypatch.setattr(versions_mod.VersionsMixin, "_version_scan", counted)
    return seen


def test_alternating_models_are_numbered_right_without_a_scan(tmp_path, monkeypatch):
    scans = _scans(monkeypatch)
    reg = Registry(tmp_path / "reg", idle_release=HOLD)
    try:
        got = []
        for i in range(12):
            v = api.log_model(_model(1 + i), f"m{i % 3}", registry=reg, metrics={"a": i})
            got.append((v.name, v.version))
        assert got == [(f"m{i % 3}", i // 3 + 1) for i in range(12)]
        assert len(scans) == 3  # once per model, then from memory
        first = reg.resolve("m0:1")  # the same bytes again: the version they are
        again = reg.add_version("m0", sha256=first.sha256, size=first.size, format=first.format)
        assert (again.version.version, again.created) == (1, False)
        assert api.log_model(_model(99), "m0", registry=reg).version == 5
        assert len(scans) == 3
        assert [v.version for v in reg.list_versions("m0")] == [1, 2, 3, 4, 5]
    finally:
        reg.close()


@pytest.fixture
def held(tmp_path):
    """A held registry with m:1 and m:2 registered back to back."""
    reg = Registry(tmp_path / "reg", idle_release=HOLD)
    for i in range(2):
        api.log_model(_model(1 + i), "m", registry=reg)
    yield reg
    reg.close()


def test_any_other_commit_makes_it_stale(tmp_path, held, monkeypatch):
    scans = _scans(monkeypatch)
    reg, home = held, held.home
    try:
        art = tmp_path / "a.bin"
        art.write_bytes(b"not a model")
        # another write of this process adds m:3 behind the memo's back
        bulk_add_versions(
            reg,
            [
                {
                    "name": "m",
                    "sha256": reg.artifacts.put_file(art)[0],
                    "size": 11,
                    "format": "skops",
                }
            ],
        )
        assert api.log_model(_model(7), "m", registry=reg).version == 4
        assert len(scans) == 1
        # another instance of this process (same DuckDB database) registers m:5
        other = Registry(home)
        assert api.log_model(_model(8), "m", registry=other).version == 5
        other.close()
        assert api.log_model(_model(9), "m", registry=reg).version == 6
        # a non-held instance with its own session open registers between two held ones
        other = Registry(home)
        with other.session():
            assert api.log_model(_model(10), "m", registry=reg).version == 7
            assert api.log_model(_model(11), "m", registry=other).version == 8
            assert api.log_model(_model(12), "m", registry=reg).version == 9
        other.close()
    finally:
        reg.close()


def test_another_process_registering_meanwhile_is_seen(tmp_path, held, run_cli):
    reg, home = held, held.home
    try:
        model_file = tmp_path / "m.skops"
        import skops.io as sio

        sio.dump(_model(5), model_file)
        # the CLI knocks: the held registry lets go, the file changes, it opens again
        proc = run_cli("register", str(model_file), "--name", "m", "--registry", str(home))
        assert proc.returncode == 0, proc.stderr
        assert api.log_model(_model(6), "m", registry=reg).version == 4
        assert [v.version for v in reg.list_versions("m")] == [1, 2, 3, 4]
    finally:
        reg.close()


def test_a_group_never_uses_it(tmp_path, monkeypatch):
    scans = _scans(monkeypatch)
    reg = Registry(tmp_path / "reg", idle_release=HOLD)
    try:
        api.log_model(_model(1), "m", registry=reg)
        with reg.group():
            a = api.log_model(_model(2), "m", registry=reg)
            b = api.log_model(_model(3), "m", registry=reg)
        assert (a.version, b.version) == (2, 3)
        assert len(scans) == 3
        assert api.log_model(_model(4), "m", registry=reg).version == 4
    finally:
        reg.close()
