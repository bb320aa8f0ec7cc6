"""SIGKILL at the worst moments of an intake: nothing acknowledged lost, nothing left after a start.

Each child process stops itself at a fixed moment (bytes copied but not yet
renamed into the store; bytes in the store but no version recorded; a batch
stored but no dataset recorded), says so, and is killed there with SIGKILL.
The registry is then started by a real CLI command, and checked: every
acknowledged registration is present, no temporary file is left in the
store, and ``modelward verify`` lists no unreferenced artifact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modelward.core.registry import Registry

CHILD = textwrap.dedent(
    """
    import sys, time
    from sklearn.linear_model import LogisticRegression
    from modelward import api
    from modelward.core import platform
    from modelward.core.intake import accept_batch, door
    from modelward.core.registry import Registry

    home, moment, data = sys.argv[1], sys.argv[2], sys.argv[3]
    reg = Registry(home)
    X, y = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.2], [0.1, 0.9]], [0, 1, 1, 0]
    v = api.log_model(LogisticRegression().fit(X, y), "loop", registry=reg)
    print(f"ACK {v.version} {v.sha256}", flush=True)

    def stop_here(*_a, **_k):
        print("STOPPED", flush=True)
        time.sleep(600)

    if moment == "copied":  # the bytes are in a temporary file, not yet in place
        platform.replace_file = stop_here
    elif moment == "placed":  # the bytes are in place, no version refers to them yet
        Registry.add_version = stop_here
    elif moment == "batch":  # a batch is stored and checked, no dataset refers to it yet
        door.record_dataset = stop_here
    if moment == "batch":
        accept_batch(reg, data, model_name=None)
    else:
        api.log_model(LogisticRegression(C=7.0).fit(X, y), "loop", registry=reg)
    print("FINISHED", flush=True)
    """
)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelward", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("moment", ["copied", "placed", "batch"])
def test_a_kill_at_a_bad_moment_leaves_nothing_after_the_next_start(tmp_path, moment):
    home = tmp_path / "reg"
    data = tmp_path / "batch.csv"
    data.write_text("a,b\n" + "".join(f"{i},{i * 0.5}\n" for i in range(5000)))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), moment, str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        ack = child.stdout.readline()
        assert ack.startswith("ACK"), ack + (child.stderr.read() if child.stderr else "")
        _, number, sha = ack.split()
        assert child.stdout.readline().strip() == "STOPPED"
        store = home / "artifacts"
        # Killed here, something of the intake is on disk and nothing records it.
        assert [p for p in store.iterdir() if p.name.startswith(".")]
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()

    start = _cli("list", "--registry", str(home))  # the next start, from the command line
    assert start.returncode == 0, start.stderr

    assert [p.name for p in store.iterdir() if p.name.startswith(".")] == []
    ver = _cli("verify", "--json", "--min-age", "0", "--registry", str(home))
    doc = json.loads(ver.stdout)
    assert doc["ok"], doc["problems"]
    assert doc["unreferenced"] == [] and doc["recent"] == []
    reg = Registry(home)
    try:
        versions = {v.version: v.sha256 for v in reg.list_versions("loop")}
        assert versions == {int(number): sha}  # the acknowledged one, whole; nothing else
        reg.artifacts.verify(sha)
        with reg.read() as cur:
            assert cur.execute("SELECT count(*) FROM datasets").fetchall() == [(0,)]
    finally:
        reg.close()


def test_markers_of_a_live_process_are_left_alone(tmp_path):
    """A start beside a running process never removes bytes that process is placing."""
    reg = Registry(tmp_path / "reg")
    try:
        sha, _ = reg.artifacts.put_file(_write(tmp_path / "x.bin", b"placed, not yet recorded"))
    finally:
        reg.close()
    other = Registry(tmp_path / "reg")  # this process is alive: its marker protects the bytes
    try:
        assert other.leftovers.get("orphans") == []
        assert other.artifacts.has(sha)
    finally:
        other.close()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_dead_marker_on_recorded_bytes_only_loses_the_marker(tmp_path):
    """A process killed after recording (before dropping its marker): the bytes stay."""
    from modelward.core.intake import accept_model_file
    from modelward.core.platform import host_tag
    from support.models import write_joblib

    reg = Registry(tmp_path / "reg")
    try:
        v = accept_model_file(reg, write_joblib(tmp_path / "m.joblib"), name="m").version
        assert v is not None
    finally:
        reg.close()
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    marker = (
        tmp_path / "reg" / "artifacts" / f".placed-{host_tag()}-{gone.stdout.strip()}-{v.sha256}"
    )
    marker.touch()
    again = Registry(tmp_path / "reg")
    try:
        assert again.leftovers.get("orphans") == []
        again.artifacts.verify(v.sha256)
        assert not marker.exists()
    finally:
        again.close()
