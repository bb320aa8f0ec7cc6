"""Jobs run nicer than the thread that submits them (so the window keeps drawing)."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from modelward.core.jobs import JobKind, JobRunner


def _nice(_ctx) -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux")
def test_worker_threads_are_nicer_and_the_caller_is_not():
    before = _nice(None)
    runner = JobRunner(max_workers=1, nice=5)
    plain = JobRunner(max_workers=1)
    try:
        job = runner.submit(JobKind.OTHER, "nice", _nice)
        other = plain.submit(JobKind.OTHER, "plain", _nice)
        assert runner.wait(10) and plain.wait(10)
        assert job.result == min(19, before + 5)
        assert other.result == before
    finally:
        runner.shutdown(10)
        plain.shutdown(10)
    assert _nice(None) == before
