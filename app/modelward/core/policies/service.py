"""The policy service every face shares: one job runner, one timer, subscribers.

``modelward watch`` and the window both start a :class:`PolicyService`: it
owns the :class:`~modelward.core.jobs.JobRunner` that policy loops run on
(or uses the one it is given, the window's), calls
:func:`~modelward.core.policies.engine.run_due` on a timer (schedules,
expired approvals), and tells subscribers what happened: jobs starting,
logging and ending, runs started, new alerts, errors. Subscribers are called
on the service's or the runner's threads; a window re-emits them as signals.
Pass :attr:`PolicyService.runner` to the watch service so that loops started
by a data inbox run on the same runner.
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelward.core.errors import ModelWardError
from modelward.core.jobs import JobRunner
from modelward.core.policies.alerts import Alert, list_alerts
from modelward.core.policies.engine import PolicyRun, run_due
from modelward.core.registry import Registry

log = logging.getLogger(__name__)

JOB_STARTED = "job-started"
JOB_LOG = "job-log"
JOB_PROGRESS = "job-progress"
JOB_FINISHED = "job-finished"
JOB_FAILED = "job-failed"
JOB_CANCELLED = "job-cancelled"
RUN = "policy"
"""A policy run started by the timer (``run`` is set)."""
ALERT = "alert"
"""An alert raised since the last look (``alert`` is set)."""
ERROR = "error"
"""The periodic work failed this time (a busy registry); it is tried again next tick."""


@dataclass(frozen=True)
class PolicyEvent:
    """Something the policy service wants a person (or a log) to know."""

    kind: str
    detail: str = ""
    job_id: int | None = None
    run: PolicyRun | None = None
    alert: Alert | None = None
    result: Any = field(default=None, compare=False)


PolicySubscriber = Callable[[PolicyEvent], None]


class _Relay:
    """A :class:`~modelward.core.jobs.JobListener` that hands job events to the service."""

    def __init__(self, service: PolicyService):
        self._service = service

    def _title(self, job_id: int) -> str:
        try:
            return self._service.runner.get(job_id).title
        except KeyError:
            return ""

    def job_started(self, job_id: int) -> None:
        self._service._emit(PolicyEvent(JOB_STARTED, self._title(job_id), job_id))

    def job_progressed(self, job_id: int, fraction: float, status: str) -> None:
        self._service._emit(PolicyEvent(JOB_PROGRESS, status, job_id, result=fraction))

    def job_logged(self, job_id: int, line: str) -> None:
        self._service._emit(PolicyEvent(JOB_LOG, line, job_id))

    def job_finished(self, job_id: int, result: Any) -> None:
        status = str(getattr(result, "status", ""))
        self._service._emit(PolicyEvent(JOB_FINISHED, status, job_id, result=result))

    def job_failed(self, job_id: int, message: str) -> None:
        self._service._emit(PolicyEvent(JOB_FAILED, message, job_id))

    def job_cancelled(self, job_id: int) -> None:
        self._service._emit(PolicyEvent(JOB_CANCELLED, "", job_id))


class PolicyService:
    """Run the registry's policies: their jobs, their timer, their news.

    Parameters
    ----------
    registry
        The registry (use ``idle_release`` > 0 so other processes get in).
    runner
        Run policy loops here (the window's runner); ``None`` makes and owns
        a one-worker runner whose job events go to the subscribers.
    interval
        Seconds between two rounds of :meth:`run_due_once` once started.
    max_workers, nice
        For the runner the service makes.
    held
        While this returns ``True`` the timer's rounds are put off (the window's
        own worker has the registry file); :meth:`resume` runs the round put
        off, when that ends.

    Examples
    --------
    >>> svc = PolicyService(reg, interval=60)            # doctest: +SKIP
    >>> svc.subscribe(print)                             # doctest: +SKIP
    >>> svc.start(); ...; svc.stop()                     # doctest: +SKIP
    """

    def __init__(
        self,
        registry: Registry,
        *,
        runner: JobRunner | None = None,
        interval: float = 60.0,
        max_workers: int = 1,
        nice: int = 0,
        held: Callable[[], bool] | None = None,
    ):
        self.registry = registry
        self.interval = interval
        self._held = held
        self._put_off = False
        self._owns_runner = runner is None
        self.runner: JobRunner = (
            runner
            if runner is not None
            else JobRunner(max_workers=max_workers, listener=_Relay(self), nice=nice)
        )
        self._subscribers: list[PolicySubscriber] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_alert: int | None = None

    # ------------------------------------------------------------------ subscribers
    def subscribe(self, callback: PolicySubscriber) -> Callable[[], None]:
        """Call ``callback`` with every :class:`PolicyEvent`; returns the unsubscribe."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event: PolicyEvent) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for cb in subscribers:
            try:
                cb(event)
            except Exception:  # a broken subscriber must not stop the policies
                log.exception("policy event subscriber failed")

    # ------------------------------------------------------------------ work
    def run_due_once(self, *, now: _dt.datetime | None = None) -> list[PolicyRun]:
        """One round, on the calling thread: expire requests, fire what is due, report.

        Loops it starts run on :attr:`runner`. New alerts (from this round, a
        data inbox or another process) are reported after it.

        Raises
        ------
        ModelWardError
            The registry could not be read or written this time.
        """
        runs = run_due(self.registry, now=now, runner=self.runner)
        for run in runs:
            self._emit(
                PolicyEvent(RUN, f"policy run {run.id} for {run.model}: {run.status}", run=run)
            )
        self.check_alerts()
        return runs

    def check_alerts(self) -> list[Alert]:
        """Report alerts raised since the last look (the first look only notes where it is)."""
        newest = list_alerts(self.registry, limit=100)
        with self._lock:
            last, self._last_alert = self._last_alert, (newest[0].id if newest else 0)
            if last is None:
                return []
            if newest and newest[0].id < last:  # alerts were removed: start again from here
                return []
        fresh = [a for a in reversed(newest) if a.id > last]
        for a in fresh:
            self._emit(PolicyEvent(ALERT, a.message, alert=a))
        return fresh

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no policy job is queued or running; ``False`` on timeout."""
        return self.runner.wait(timeout)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the timer thread: a round at once, then every :attr:`interval` seconds."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            try:
                self.check_alerts()  # note where the alerts stand: only new ones are news
            except ModelWardError as e:
                log.warning("policies: cannot read the alerts yet: %s", e)
            self._thread = threading.Thread(
                target=self._loop, name="modelward-policies", daemon=True
            )
            self._thread.start()

    def poke(self) -> None:
        """Run a round now instead of at the next tick (e.g. the user asked)."""
        self._wake.set()

    def resume(self) -> None:
        """Run the round put off while ``held`` said so, if one was (else nothing)."""
        if self._put_off:
            self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the timer; shut down the runner if the service made it (its jobs are cancelled)."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        if self._owns_runner:
            self.runner.shutdown(timeout=timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._held is not None and self._held():
                self._put_off = True
                self._wake.wait(self.interval)
                self._wake.clear()
                continue
            self._put_off = False
            try:
                self.run_due_once()
            except ModelWardError as e:  # a busy registry: try again next time
                self._emit(PolicyEvent(ERROR, str(e)))
            except Exception as e:  # never let the timer die silently
                log.exception("periodic policy work failed")
                self._emit(PolicyEvent(ERROR, f"{type(e).__name__}: {e}"))
            self._wake.wait(self.interval)
            self._wake.clear()
