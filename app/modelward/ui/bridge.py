"""Bridges from core threads to the GUI thread: job events and background reads.

Core code calls plain Python callbacks on worker threads; these QObjects live
on the GUI thread and re-emit the calls as signals. Emitting a signal from a
worker thread to a receiver on the GUI thread is queued by Qt; we also connect
with an explicit ``Qt.QueuedConnection`` so the intent is visible (STYLE §3.3).
Only plain values cross: ids, numbers, strings, dataclasses — never Qt objects.
"""

from __future__ import annotations

import gc
import itertools
import logging
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from modelward.core.artifacts.sandbox import default_sandbox
from modelward.core.errors import ModelWardError
from modelward.core.jobs import JobRunner, lower_thread_priority
from modelward.core.watch import MODELS, add_folder

if TYPE_CHECKING:
    from modelward.core.watch.service import WatchService

log = logging.getLogger(__name__)
JOB_NICE = 10
READ_NICE = 3

_frozen_at_modules = 0


def freeze_long_lived() -> bool:
    """Keep what imports created out of the garbage collector's full passes (1 s tick).

    A full collection walks every tracked object: with scikit-learn, pandas and
    pyqtgraph loaded that is ~190,000 objects and ~100 ms with the GIL held, a
    visible freeze at a random moment. Nearly all of them are modules, classes
    and functions that live as long as the app, so whenever ``sys.modules`` has
    grown we move everything tracked so far to the permanent generation
    (:func:`gc.freeze`, O(1)); later full passes walk only younger objects.
    Returns whether it froze.
    """
    global _frozen_at_modules
    n = len(sys.modules)
    if n == _frozen_at_modules:
        return False
    _frozen_at_modules = n
    gc.freeze()
    return True


def call_niced(fn: Callable[[], Any], nice: int = READ_NICE) -> Any:
    """Run ``fn()`` on a fresh thread ``nice`` steps nicer and wait for its result.

    For starting a service from the GUI thread: the threads ``fn`` starts (a
    timer loop, a database's worker threads) inherit the niceness of the thread
    that creates them (Linux), so started from here they never compete with the
    GUI thread for a core on a busy host. Exceptions are re-raised here.
    """
    out: list[Any] = []
    err: list[BaseException] = []

    def run() -> None:
        lower_thread_priority(nice)
        try:
            out.append(fn())
        except BaseException as e:  # handed to the caller
            err.append(e)

    t = threading.Thread(target=run, name="mw-niced-start", daemon=True)
    t.start()
    t.join()
    if err:
        raise err[0]
    return out[0]


_warming = threading.Event()


def warm_sandbox() -> None:
    """Start a trust-sandbox worker in the background, once, as a registration nears.

    A cold worker takes 1-4 s to start (it imports scikit-learn); the window
    calls this when a file is dragged over it or the file dialog opens, so the
    worker is usually ready when the file arrives. Not at window start: an idle
    worker holds ~200 MB and its start competes with the first paint.
    """
    if _warming.is_set():
        return
    _warming.set()

    def run() -> None:
        lower_thread_priority(JOB_NICE)  # the worker process inherits it
        try:
            default_sandbox().warm_up()
        except ModelWardError as e:  # the first real inspection reports it properly
            log.info("sandbox warm-up failed: %s", e)

    threading.Thread(target=run, name="mw-sandbox-warm-up", daemon=True).start()


class JobBridge(QObject):
    """A :class:`~modelward.core.jobs.JobListener` that re-emits job events as signals."""

    sig_job_started = Signal(int)
    """job id: the job left the queue and runs."""
    sig_job_progressed = Signal(int, float, str)
    """job id, fraction 0..1, short status text."""
    sig_job_logged = Signal(int, str)
    """job id, one log line (with a time stamp)."""
    sig_job_finished = Signal(int, object)
    """job id, the job function's return value."""
    sig_job_failed = Signal(int, str)
    """job id, one sentence for the user."""
    sig_job_cancelled = Signal(int)
    """job id: the job stopped at the user's request."""
    sig_job_submitted = Signal(int)
    """job id: a new job was queued (emitted on the GUI thread)."""

    def __init__(self, max_workers: int = 2, parent: QObject | None = None):
        super().__init__(parent)
        # Jobs run nicer than the GUI thread, so a fit or a big registration never
        # takes the CPU the window needs to draw (the trust sandbox inherits it).
        self.runner = JobRunner(max_workers=max_workers, listener=self, nice=JOB_NICE)

    # JobListener (called on worker threads): emit only.
    def job_started(self, job_id: int) -> None:
        self.sig_job_started.emit(job_id)

    def job_progressed(self, job_id: int, fraction: float, status: str) -> None:
        self.sig_job_progressed.emit(job_id, fraction, status)

    def job_logged(self, job_id: int, line: str) -> None:
        self.sig_job_logged.emit(job_id, line)

    def job_finished(self, job_id: int, result: Any) -> None:
        self.sig_job_finished.emit(job_id, result)

    def job_failed(self, job_id: int, message: str) -> None:
        self.sig_job_failed.emit(job_id, message)

    def job_cancelled(self, job_id: int) -> None:
        self.sig_job_cancelled.emit(job_id)

    def submit(self, kind: str, title: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> int:
        """Queue a job (GUI thread); returns its id."""
        job = self.runner.submit(kind, title, fn, *args, **kw)
        self.sig_job_submitted.emit(job.id)
        return job.id

    def shutdown(self, timeout: float = 5.0) -> bool:
        return self.runner.shutdown(timeout)


class Reader(QObject):
    """Runs short registry reads on one background thread; results come back as a signal.

    Each request has a ``channel`` (e.g. ``"versions"``); a newer request on a
    channel makes the older one stale and its result is dropped (STYLE §3.6).
    Reads are serialised on one thread: they are short, and one thread keeps
    DuckDB cursors simple.
    """

    sig_read_done = Signal(str, int, object)
    """channel, request token, result."""
    sig_read_failed = Signal(str, int, str)
    """channel, request token, one sentence for the user."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(
            1,
            thread_name_prefix="mw-read",
            initializer=lower_thread_priority,
            initargs=(READ_NICE,),
        )
        self._tokens = itertools.count(1)
        self._latest: dict[str, int] = {}
        self._lock = threading.Lock()

    def submit(self, channel: str, fn: Callable[..., Any], *args: Any, stale: bool = True) -> int:
        """Run ``fn(*args)`` off the GUI thread; returns the request token.

        With ``stale=True`` an earlier request on ``channel`` is superseded.
        """
        token = next(self._tokens)
        if stale:
            with self._lock:
                self._latest[channel] = token
        if self._pool is None:
            return token
        self._pool.submit(self._run, channel, token, stale, fn, args)
        return token

    def is_current(self, channel: str, token: int) -> bool:
        with self._lock:
            return self._latest.get(channel, token) == token

    def _run(
        self, channel: str, token: int, stale: bool, fn: Callable[..., Any], args: Any
    ) -> None:
        if stale and not self.is_current(channel, token):
            return  # superseded before it started: skip the work
        try:
            result = fn(*args)
        except ModelWardError as e:
            self.sig_read_failed.emit(channel, token, str(e))
            return
        except Exception as e:  # never let a read die silently
            log.exception("background read %s failed", channel)
            self.sig_read_failed.emit(
                channel, token, f"could not read the registry: {type(e).__name__}: {e}"
            )
            return
        self.sig_read_done.emit(channel, token, result)

    def shutdown(self, timeout: float = 5.0) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class WatchBridge(QObject):
    """The window's face of the core :class:`~modelward.core.watch.service.WatchService`.

    The service is the same one ``modelward watch`` runs. Changing the folders
    (add, remove, pause, resume) and (re)starting the watcher read and write
    the registry and may wait for the file in hand, so they run on one control
    thread, in order; the GUI thread only submits. Watcher events arrive on the
    watcher's worker thread and are only emitted.
    """

    sig_watch_event = Signal(object)
    """a :class:`~modelward.core.watch.WatchEvent` (connect with a queued connection)."""
    sig_folders_changed = Signal(object)
    """the watched folders (a list of ``WatchedFolder``), after a change or a (re)start."""
    sig_watch_failed = Signal(str)
    """one sentence: a folder change or the watcher's start failed."""

    def __init__(
        self,
        registry: Any,
        parent: QObject | None = None,
        *,
        runner: Any = None,
        settle: float = 1.0,
        rescan_interval: float = 10.0,
    ):
        super().__init__(parent)
        self.registry = registry
        self._service_args = {
            "runner": runner,
            "settle": settle,
            "rescan_interval": rescan_interval,
        }
        self._service: WatchService | None = None
        self._service_lock = threading.Lock()
        self.folders: list[Any] = []
        # The watcher's own threads start from here and inherit this niceness.
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(
            1,
            thread_name_prefix="mw-watch",
            initializer=lower_thread_priority,
            initargs=(JOB_NICE,),
        )

    @property
    def service(self) -> WatchService:
        """The core service, made when first wanted: by :meth:`start` on the control thread.

        Its module imports the intake checks, policies and scoring (NumPy and
        more, about a third of the window's start, measured, issue 21), so the
        window imports it off the GUI thread, after its first paint.
        """
        with self._service_lock:
            if self._service is None:
                from modelward.core.watch.service import WatchService  # start cost: see above

                service = WatchService(self.registry, **self._service_args)
                service.subscribe(self.sig_watch_event.emit)
                self._service = service
            return self._service

    @property
    def watcher(self) -> Any:
        """The running :class:`~modelward.core.watch.FolderWatcher`, or ``None``."""
        service = self._service
        return None if service is None else service.watcher

    # GUI thread: submit only.
    def start(self, legacy_paths: list[str] | tuple[str, ...] = ()) -> None:
        """Start watching the registry's folders (plus ``legacy_paths`` from old settings)."""
        paths = list(legacy_paths)
        self._submit(lambda: self._start(paths))

    def add(
        self,
        path: str,
        kind: str = "models",
        *,
        model_name: str | None = None,
        polling: bool = False,
    ) -> None:
        self._submit(lambda: self.service.add(path, kind, model_name=model_name, polling=polling))

    def remove(self, folder_id: int) -> None:
        self._submit(lambda: self.service.remove(folder_id))

    def set_paused(self, folder_id: int, paused: bool) -> None:
        self._submit(lambda: self.service.set_paused(folder_id, paused))

    def rescan(self) -> None:
        """Ask the running watcher for a full rescan now (sets a flag; returns at once)."""
        if self._service is not None:  # not started yet: its start scans anyway
            self._service.rescan()

    def status(self, folder_id: int) -> Any:
        """The live ``FolderStatus`` of an active folder, or ``None``."""
        service = self._service
        return None if service is None else service.status(folder_id)

    def _submit(self, change: Callable[[], Any]) -> None:
        if self._pool is not None:
            self._pool.submit(self._apply, change)

    # Control thread.
    def _start(self, paths: list[str]) -> None:
        for p in paths:
            try:
                add_folder(self.registry, p, MODELS)
            except ModelWardError as e:
                log.warning("watched folder from the old settings not moved: %s", e)
        self.service.start()

    def _apply(self, change: Callable[[], Any]) -> None:
        failure = ""
        try:
            change()
        except ModelWardError as e:
            failure = str(e)
        except Exception as e:  # never let a control step die silently
            log.exception("watched folder change failed")
            failure = f"the watched folders could not be changed: {type(e).__name__}: {e}"
        if failure and self._pool is not None:
            # The change failed before the service restarted: make sure it runs.
            try:
                self.service.restart()
            except Exception as e:
                log.exception("the folder watcher could not start")
                failure = f"{failure}; the folder watcher could not start either: {e}"
        self.folders = list(self.service.folders)
        if failure:
            self.sig_watch_failed.emit(failure)
        self.sig_folders_changed.emit(list(self.folders))

    def shutdown(self, timeout: float = 10.0) -> None:
        """Finish the pending change, then stop the watcher (it finishes the file in hand)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if self._service is not None:
            self._service.stop(timeout)
