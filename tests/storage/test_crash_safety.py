"""A process registering in a loop, killed with SIGKILL at random moments."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest

from modelward.core.registry import Registry

CHILD = textwrap.dedent(
    """
    import sys, joblib
    from sklearn.linear_model import LogisticRegression
    from modelward.core.intake import accept_model_file
    from modelward.core.registry import Registry
    home, start, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    reg = Registry(home)
    i = start
    while True:
        path = f"{folder}/m{i}.joblib"
        joblib.dump(LogisticRegression(C=1.0 + i), path)
        v = accept_model_file(reg, path, name="loop").register_result().version
        print(f"ACK {v.version} {v.sha256}", flush=True)
        i += 1
    """
)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_sigkill_mid_registration_never_leaves_half_a_version(tmp_path):
    home = tmp_path / "reg"
    files = tmp_path / "files"
    files.mkdir()
    rng = random.Random(20261125)
    acked: dict[int, str] = {}
    start = 0
    for _round in range(20):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(home), str(start), str(files)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert child.stdout is not None
        for _ in range(rng.randint(1, 3)):
            line = child.stdout.readline()
            assert line.startswith("ACK"), line
            _, number, sha = line.split()
            acked[int(number)] = sha
            start += 1
        child.send_signal(signal.SIGKILL)
        child.wait()
        start += 1  # the killed iteration's file may or may not have landed

        reg = Registry(home, busy_timeout=10)
        versions = {v.version: v for v in reg.list_versions("loop")}
        for number, sha in acked.items():  # every acknowledged registration is there
            assert versions[number].sha256 == sha
        registered = {
            e.entity_id for e in reg.audit_events(limit=None, action="version.registered")
        }
        for v in versions.values():  # and nothing is half-present
            reg.artifacts.verify(v.sha256)
            assert v.ref in registered
        assert len(registered) == len(versions)
        report = reg.verify_audit()
        assert report.ok, report.problem
        # the state matches the events and the journal anchors every commit,
        # whenever the writer died (a journaled commit it never finished is replayed)
        records = reg.verify_records()
        assert records["ok"], records["problems"]
        reg.close()
