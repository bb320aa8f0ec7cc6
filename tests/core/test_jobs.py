"""JobRunner: progress, logs, cancel, failures as one sentence, orderly shutdown."""

from __future__ import annotations

import threading

import pytest

from modelward.core.errors import InvalidInput
from modelward.core.jobs import JobKind, JobRunner, JobState


class Recorder:
    def __init__(self):
        self.events = []
        self.lock = threading.Lock()

    def _add(self, *e):
        with self.lock:
            self.events.append(e)

    def job_started(self, job_id):
        self._add("started", job_id)

    def job_progressed(self, job_id, fraction, status):
        self._add("progress", job_id, fraction, status)

    def job_logged(self, job_id, line):
        self._add("log", job_id, line)

    def job_finished(self, job_id, result):
        self._add("finished", job_id, result)

    def job_failed(self, job_id, message):
        self._add("failed", job_id, message)

    def job_cancelled(self, job_id):
        self._add("cancelled", job_id)


def work(ctx, n):
    for i in range(n):
        ctx.raise_if_cancelled()
        ctx.progress((i + 1) / n, f"step {i + 1}")
    ctx.log("all done")
    return n * 2


def test_sync_runner_reports_in_order():
    rec = Recorder()
    job = JobRunner(sync=True, listener=rec).submit(JobKind.OTHER, "double", work, 4)
    assert job.state is JobState.FINISHED
    assert job.result == 8
    assert job.progress == 1.0
    kinds = [e[0] for e in rec.events]
    assert kinds[0] == "started"
    assert kinds[-1] == "finished"
    assert kinds.count("progress") == 4
    assert any("all done" in line for line in job.log)
    assert job.elapsed >= 0


def test_progress_is_throttled():
    rec = Recorder()

    def chatty(ctx):
        for i in range(10_000):
            ctx.progress(i / 10_000)

    JobRunner(sync=True, listener=rec).submit(JobKind.OTHER, "chatty", chatty)
    n = sum(1 for e in rec.events if e[0] == "progress")
    assert 50 <= n <= 110


def test_failures_are_one_sentence_not_a_traceback():
    rec = Recorder()
    runner = JobRunner(sync=True, listener=rec)

    def bad_input(ctx):
        raise InvalidInput("the file is not a model")

    def crash(ctx):
        raise KeyError("boom\nsecond line")

    j1 = runner.submit(JobKind.REGISTER, "a", bad_input)
    j2 = runner.submit(JobKind.TRAIN, "b", crash)
    assert j1.state is JobState.FAILED
    assert j1.error == "the file is not a model"
    assert j2.state is JobState.FAILED
    assert j2.error.startswith("train failed: KeyError")
    assert "\n" not in j2.error
    assert not any("Traceback" in line for line in j2.log)
    assert ("failed", j1.id, "the file is not a model") in rec.events


def test_cancel_a_running_job_and_a_queued_one():
    rec = Recorder()
    runner = JobRunner(max_workers=1, listener=rec)
    started = threading.Event()
    release = threading.Event()

    def blocking(ctx):
        started.set()
        while not release.wait(0.01):
            ctx.raise_if_cancelled()
        return "not reached"

    j1 = runner.submit(JobKind.TRAIN, "long", blocking)
    j2 = runner.submit(JobKind.TRAIN, "queued", blocking)
    assert started.wait(5)
    assert j2.state is JobState.QUEUED
    runner.cancel(j2.id)
    runner.cancel(j1.id)
    assert runner.wait(5)
    assert j1.state is JobState.CANCELLED
    assert j2.state is JobState.CANCELLED
    assert ("cancelled", j2.id) in rec.events
    assert ("started", j2.id) not in rec.events
    assert runner.shutdown(1)


def test_shutdown_cancels_and_refuses_new_jobs():
    runner = JobRunner(max_workers=2)
    started = threading.Event()

    def forever(ctx):
        started.set()
        while True:
            ctx.raise_if_cancelled()
            threading.Event().wait(0.005)

    job = runner.submit(JobKind.DRIFT, "forever", forever)
    assert started.wait(5)
    assert runner.shutdown(timeout=5)
    assert job.state is JobState.CANCELLED
    with pytest.raises(Exception, match="shutting down"):
        runner.submit(JobKind.OTHER, "late", work, 1)


def test_broken_listener_does_not_break_the_job():
    class Broken(Recorder):
        def job_progressed(self, *a):
            raise RuntimeError("listener bug")

    job = JobRunner(sync=True, listener=Broken()).submit(JobKind.OTHER, "x", work, 3)
    assert job.state is JobState.FINISHED


def test_old_records_are_trimmed():
    runner = JobRunner(sync=True, keep=5)
    for i in range(12):
        runner.submit(JobKind.OTHER, f"j{i}", work, 1)
    assert len(runner.jobs()) <= 6
    assert runner.jobs()[-1].title == "j11"
