"""The inspection sandbox: a reused worker process, memory cap, time limit, crash recovery."""

from __future__ import annotations

import hashlib
import sys
import threading
from pathlib import Path

import pytest

from modelward.core.artifacts import sandbox
from modelward.core.artifacts.sandbox import Sandbox
from modelward.core.errors import Cancelled, RejectedFile
from support.models import write_joblib

# A worker that spins on files named HANGME.joblib (a parser stuck in a loop:
# a fault we cannot provoke with an allowlisted file), waits without working
# on WAIT<seconds>.joblib (what a worker at low priority on a busy host does, or
# one blocked on something), and inspects everything else normally.
_HANGING_WORKER = (
    "import time\n"
    "import modelward.core.artifacts.sandbox as s\n"
    "real = s._inspect\n"
    "def fake(req):\n"
    "    name = req['path'].rsplit('/', 1)[-1].rsplit(chr(92), 1)[-1]\n"
    "    if name == 'HANGME.joblib':\n"
    "        while True:\n"
    "            pass\n"
    "    if name.startswith('WAIT'):\n"
    "        time.sleep(float(name[4:-7]))\n"
    "    return real(req)\n"
    "s._inspect = fake\n"
    "s.worker_main()\n"
)


def test_one_worker_serves_many_files(tmp_path: Path):
    with Sandbox(max_workers=1) as sb:
        for i in range(5):
            meta = sb.inspect(write_joblib(tmp_path / f"m{i}.joblib", seed=i), fmt="joblib")
            assert meta["estimator_class"].endswith("LogisticRegression")
        assert sb.workers_started == 1


def test_concurrent_inspections(tmp_path: Path):
    files = [write_joblib(tmp_path / f"m{i}.joblib", seed=i) for i in range(6)]
    results: list[object] = []
    with Sandbox(max_workers=2) as sb:

        def run(p: Path) -> None:
            results.append(sb.inspect(p, fmt="joblib")["estimator_class"])

        threads = [threading.Thread(target=run, args=(p,)) for p in files]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 6
        assert sb.workers_started <= 2


def test_memory_cap_rejects_and_replaces_the_worker(tmp_path: Path):
    if not sys.platform.startswith("linux"):
        pytest.skip("RLIMIT_AS is enforced on Linux")
    # bytearray(1 GiB): fine without a cap, refused under a 200 MB cap
    bomb = tmp_path / "bomb.pkl"
    bomb.write_bytes(b"\x80\x04cbuiltins\nbytearray\nJ\x00\x00\x00\x40\x85R.")
    good = write_joblib(tmp_path / "good.joblib")
    with Sandbox(memory_mb=200, max_workers=1) as sb:
        with pytest.raises(RejectedFile, match="more memory than allowed"):
            sb.inspect(bomb, fmt="pickle")
        assert sb.inspect(good, fmt="joblib")["status"] == "ok"
        assert sb.workers_started == 2


def test_a_hanging_file_is_killed_and_the_next_file_works(tmp_path: Path):
    hang = write_joblib(tmp_path / "HANGME.joblib")
    good = write_joblib(tmp_path / "good.joblib", seed=3)
    with Sandbox(timeout=2, max_workers=1, command=[sys.executable, "-c", _HANGING_WORKER]) as sb:
        with pytest.raises(RejectedFile, match="took longer than 2 s of processor time"):
            sb.inspect(hang, fmt="joblib")
        assert sb.inspect(good, fmt="joblib")["status"] == "ok"
        assert sb.workers_started == 2


def test_the_limit_is_processor_time_not_the_clock(tmp_path: Path):
    """A good file whose worker waits for a core (a busy host) is not refused at the limit."""
    waits = write_joblib(tmp_path / "WAIT3.joblib")
    with Sandbox(timeout=1, max_workers=1, command=[sys.executable, "-c", _HANGING_WORKER]) as sb:
        sb.warm_up()
        assert sb.inspect(waits, fmt="joblib")["status"] == "ok"  # 3 s on the clock, ~0 s of CPU


def test_a_worker_that_waits_too_long_on_the_clock_is_stopped(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(sandbox, "WALL_FACTOR", 2.0)
    waits = write_joblib(tmp_path / "WAIT3600.joblib")
    with Sandbox(timeout=1, max_workers=1, command=[sys.executable, "-c", _HANGING_WORKER]) as sb:
        sb.warm_up()
        with pytest.raises(RejectedFile, match=r"took longer than 2 s; the inspection"):
            sb.inspect(waits, fmt="joblib")


def test_cancel_stops_the_inspection(tmp_path: Path):
    hang = write_joblib(tmp_path / "HANGME.joblib")
    flag = threading.Event()
    with Sandbox(max_workers=1, command=[sys.executable, "-c", _HANGING_WORKER]) as sb:
        sb.warm_up()
        timer = threading.Timer(0.3, flag.set)
        timer.start()
        with pytest.raises(Cancelled):
            sb.inspect(hang, fmt="joblib", cancel=flag.is_set)


def test_bytes_must_match_their_hash(tmp_path: Path):
    path = write_joblib(tmp_path / "m.joblib")
    wrong = hashlib.sha256(b"something else").hexdigest()
    with Sandbox(max_workers=1) as sb:
        with pytest.raises(RejectedFile, match="changed after it was hashed"):
            sb.inspect(path, fmt="joblib", sha256=wrong)


def test_worker_output_does_not_leak(tmp_path: Path, capfd: pytest.CaptureFixture[str]):
    path = write_joblib(tmp_path / "m.joblib")
    with Sandbox(max_workers=1) as sb:
        sb.inspect(path, fmt="joblib")
        with pytest.raises(RejectedFile):
            sb.inspect(path, fmt="pickle")  # the wrong loader fails inside the worker
    out, err = capfd.readouterr()
    assert out == "" and err == ""
