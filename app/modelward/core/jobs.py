"""Background jobs: a bounded thread pool with progress, cancel, logs and records.

Every long thing the window (or the CLI) does is a job: a plain function
``fn(ctx, *args)`` that reports through ``ctx.progress`` / ``ctx.log`` and
checks ``ctx.cancel`` at step boundaries. The runner keeps a :class:`Job`
record for each (state, progress, elapsed time, log lines, the error message)
and tells a :class:`JobListener` what happens. The listener is called on the
worker thread; the Qt bridge re-emits those calls as queued signals.

A failure is stored as one sentence: a :class:`ModelWardError` keeps its
message, anything else becomes "<kind> failed: <ExceptionType>: <first line>".
The traceback goes to the application log (:mod:`logging`), never to the user.
"""

from __future__ import annotations

import enum
import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from modelward.core import platform
from modelward.core.errors import Cancelled, ModelWardError
from modelward.core.progress import CancelToken

__all__ = ["Job", "JobContext", "JobKind", "JobListener", "JobRunner", "JobState"]

log = logging.getLogger(__name__)


class JobKind(enum.StrEnum):
    """What a job does (used for labels and icons)."""

    REGISTER = "register"
    TRAIN = "train"
    VALIDATE = "validate"
    EXPLAIN = "explain"
    DRIFT = "drift"
    REPORT = "report"
    DEMO = "demo"
    VERIFY = "verify"
    OTHER = "other"


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def done(self) -> bool:
        return self in (JobState.FINISHED, JobState.FAILED, JobState.CANCELLED)


@dataclass
class Job:
    """The record of one job. Mutated only by the runner (under its lock)."""

    id: int
    kind: JobKind
    title: str
    state: JobState = JobState.QUEUED
    progress: float = 0.0
    status: str = "waiting"
    submitted_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    result: Any = None
    log: list[str] = field(default_factory=list)
    cancel: CancelToken = field(default_factory=CancelToken, repr=False)

    @property
    def elapsed(self) -> float:
        """Seconds running (so far, or in total once done); 0 while queued."""
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else time.monotonic()
        return end - self.started_at


class JobListener(Protocol):
    """What a runner reports; every method is called on a worker thread."""

    def job_started(self, job_id: int) -> None: ...
    def job_progressed(self, job_id: int, fraction: float, status: str) -> None: ...
    def job_logged(self, job_id: int, line: str) -> None: ...
    def job_finished(self, job_id: int, result: Any) -> None: ...
    def job_failed(self, job_id: int, message: str) -> None: ...
    def job_cancelled(self, job_id: int) -> None: ...


class JobContext:
    """Handed to a job function: report progress, write log lines, honour cancel."""

    def __init__(self, runner: JobRunner, job: Job):
        self._runner = runner
        self.job_id = job.id
        self.cancel = job.cancel
        self._last = -1.0

    def progress(self, fraction: float, status: str = "") -> None:
        """Report ``fraction`` (0..1). Sent on only when it moved by 1 % or the text changed."""
        self._runner._progress(self.job_id, fraction, status)

    def log(self, line: str) -> None:
        self._runner._log(self.job_id, line)

    def raise_if_cancelled(self) -> None:
        self.cancel.raise_if_cancelled()


JobFn = Callable[..., Any]


def lower_thread_priority(nice: int) -> None:
    """Make the calling thread ``nice`` steps nicer (see :func:`platform.lower_thread_priority`).

    On Linux, ``setpriority`` on a thread id applies to that thread alone.
    Errors are ignored: priority is a preference, never a reason to fail.
    """
    platform.lower_thread_priority(nice)


class JobRunner:
    """Run jobs on a bounded pool; keep their records; report to a listener.

    Parameters
    ----------
    max_workers
        Threads in the pool (jobs beyond that wait, state ``queued``).
    listener
        Receives job events (on worker threads).
    sync
        Run each job inline in :meth:`submit` (CLI, tests).
    keep
        How many finished jobs to keep records of.
    nice
        Added to the worker threads' scheduling niceness (Linux), so that a
        busy job yields the CPU to the thread that draws the window; processes
        a job starts (the trust sandbox) inherit it. ``0`` leaves it alone.

    Examples
    --------
    >>> runner = JobRunner(sync=True)
    >>> job = runner.submit(JobKind.OTHER, "add", lambda ctx, a, b: a + b, 2, 3)
    >>> job.result
    5
    """

    def __init__(
        self,
        max_workers: int = 2,
        listener: JobListener | None = None,
        *,
        sync: bool = False,
        keep: int = 200,
        nice: int = 0,
    ):
        self.listener = listener
        self.sync = sync
        self.keep = keep
        self._pool = (
            None
            if sync
            else ThreadPoolExecutor(
                max_workers,
                thread_name_prefix="mw-job",
                initializer=lambda: lower_thread_priority(nice),
            )
        )
        self._jobs: dict[int, Job] = {}
        self._futures: dict[int, Future[Any]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._closed = False

    # ------------------------------------------------------------------ public
    def submit(self, kind: JobKind | str, title: str, fn: JobFn, *args: Any, **kw: Any) -> Job:
        """Queue ``fn(ctx, *args, **kw)``; returns its :class:`Job` record at once."""
        with self._lock:
            if self._closed:
                raise ModelWardError("the application is shutting down; no new jobs")
            job = Job(next(self._ids), JobKind(kind), title)
            self._jobs[job.id] = job
            self._trim()
        if self._pool is None:
            self._run(job, fn, args, kw)
        else:
            with self._lock:  # _run takes the lock first, so the future is stored before it ends
                self._futures[job.id] = self._pool.submit(self._run, job, fn, args, kw)
        return job

    def get(self, job_id: int) -> Job:
        with self._lock:
            return self._jobs[job_id]

    def jobs(self) -> list[Job]:
        """All kept job records, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def active(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if not j.state.done]

    def cancel(self, job_id: int) -> None:
        """Ask a job to stop; a queued job never starts."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state.done:
                return
            job.cancel.cancel()
            fut = self._futures.get(job_id)
        if fut is not None and fut.cancel():
            # Never started: record it here, since _run will not.
            self._end(job, JobState.CANCELLED)

    def cancel_all(self) -> None:
        for job in self.active():
            self.cancel(job.id)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running; ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while any(not j.state.done for j in self._jobs.values()):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Cancel everything, wait up to ``timeout`` s, stop the pool. ``True`` if all stopped."""
        with self._lock:
            self._closed = True
        self.cancel_all()
        ok = self.wait(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=ok, cancel_futures=True)
        return ok

    # ------------------------------------------------------------------ internals
    def _notify(self, method: str, *args: Any) -> None:
        if self.listener is None:
            return
        try:
            getattr(self.listener, method)(*args)
        except Exception:  # a broken listener must not kill the job
            log.exception("job listener %s failed", method)

    def _trim(self) -> None:
        done = [j.id for j in self._jobs.values() if j.state.done]
        for jid in done[: max(0, len(done) - self.keep)]:
            self._jobs.pop(jid, None)
            self._futures.pop(jid, None)

    def _run(self, job: Job, fn: JobFn, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        with self._lock:
            if job.cancel.cancelled:
                state_cancelled = True
            else:
                state_cancelled = False
                job.state = JobState.RUNNING
                job.started_at = time.monotonic()
                job.status = "running"
        if state_cancelled:
            self._end(job, JobState.CANCELLED)
            return
        self._notify("job_started", job.id)
        ctx = JobContext(self, job)
        try:
            result = fn(ctx, *args, **kw)
        except Cancelled:
            self._end(job, JobState.CANCELLED)
        except ModelWardError as e:
            self._end(job, JobState.FAILED, error=str(e))
        except Exception as e:
            first = (str(e).splitlines() or [""])[0]
            # The traceback is for developers: the application log, not the user's view.
            log.error("job %s (%s) failed\n%s", job.id, job.title, traceback.format_exc())
            self._end(job, JobState.FAILED, error=f"{job.kind} failed: {type(e).__name__}: {first}")
        else:
            if job.cancel.cancelled and result is None:
                self._end(job, JobState.CANCELLED)
            else:
                self._end(job, JobState.FINISHED, result=result)

    def _end(
        self, job: Job, state: JobState, *, result: Any = None, error: str | None = None
    ) -> None:
        with self._lock:
            if job.state.done:
                return
            job.state = state
            job.finished_at = time.monotonic()
            if job.started_at is None:
                job.started_at = job.finished_at
            job.result = result
            job.error = error
            if state is JobState.FINISHED:
                job.progress = 1.0
            job.status = {"finished": "done", "failed": "failed", "cancelled": "cancelled"}[state]
            if error:
                job.log.append(f"error: {error}")
            self._futures.pop(job.id, None)
        if state is JobState.FINISHED:
            self._notify("job_finished", job.id, result)
        elif state is JobState.FAILED:
            self._notify("job_failed", job.id, error or "failed")
        else:
            self._notify("job_cancelled", job.id)
        with self._idle:
            self._idle.notify_all()

    def _progress(self, job_id: int, fraction: float, status: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state.done:
                return
            # Throttle: only a visible change goes on (STYLE §3.5).
            if abs(fraction - job.progress) < 0.01 and (not status or status == job.status):
                return
            job.progress = fraction
            if status:
                job.status = status
        self._notify("job_progressed", job_id, fraction, status)

    def _log(self, job_id: int, line: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return
            stamp = time.strftime("%H:%M:%S")
            text = f"{stamp}  {line}"
            job.log.append(text)
            if len(job.log) > 2000:
                del job.log[:500]
        self._notify("job_logged", job_id, text)
