"""The watch service every face shares: the registry's watched folders, watched.

``modelward watch`` and the window both start a :class:`WatchService`. It owns
the :class:`~modelward.core.watch.FolderWatcher` for the registry's folders,
restarts it when the folders change (add, remove, pause, resume), and hands
every :class:`~modelward.core.watch.WatchEvent` to its subscribers (on the
watcher's thread; a window re-emits them as signals). :meth:`WatchService.run_once`
takes everything waiting in every inbox on the calling thread and returns.
Policy loops that a data inbox starts run on the runner it is given, normally
:attr:`modelward.core.policies.service.PolicyService.runner`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.core.registry import Registry
from modelward.core.watch.folders import (
    WatchedFolder,
    add_folder,
    list_folders,
    remove_folder,
    set_paused,
)
from modelward.core.watch.ingest import IngestResult
from modelward.core.watch.watcher import FolderStatus, FolderWatcher, WatchEvent

if TYPE_CHECKING:
    from modelward.core.jobs import JobRunner

log = logging.getLogger(__name__)

WatchSubscriber = Callable[[WatchEvent], None]


class WatchService:
    """Watch the registry's folders until :meth:`stop`; tell subscribers what arrives.

    Parameters
    ----------
    registry
        The registry (use ``idle_release`` > 0 so other processes get in
        between files).
    runner
        Runs the jobs a data inbox's policy starts; ``None`` runs them inline.
    settle, rescan_interval, write_timeout
        As for :class:`~modelward.core.watch.FolderWatcher`.

    Examples
    --------
    >>> svc = WatchService(reg, runner=policies.runner)   # doctest: +SKIP
    >>> svc.subscribe(print); svc.start(); ...; svc.stop() # doctest: +SKIP
    """

    def __init__(
        self,
        registry: Registry,
        *,
        runner: JobRunner | None = None,
        settle: float = 1.0,
        rescan_interval: float = 10.0,
        write_timeout: float = 30.0,
    ):
        self.registry = registry
        self.runner = runner
        self.settle = settle
        self.rescan_interval = rescan_interval
        self.write_timeout = write_timeout
        self.folders: list[WatchedFolder] = []
        self._watcher: FolderWatcher | None = None
        self._started = False
        self._subscribers: list[WatchSubscriber] = []
        self._sub_lock = threading.Lock()
        self._lock = threading.RLock()  # one change of the folders or the watcher at a time

    # ------------------------------------------------------------------ subscribers
    def subscribe(self, callback: WatchSubscriber) -> Callable[[], None]:
        """Call ``callback`` with every :class:`WatchEvent`; returns the unsubscribe."""
        with self._sub_lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._sub_lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event: WatchEvent) -> None:
        with self._sub_lock:
            subscribers = list(self._subscribers)
        for cb in subscribers:
            try:
                cb(event)
            except Exception:  # a broken subscriber must not stop the watcher
                log.exception("watch event subscriber failed")

    # ------------------------------------------------------------------ lifecycle
    @property
    def watcher(self) -> FolderWatcher | None:
        """The running watcher (replaced at every restart), or ``None``."""
        return self._watcher

    @property
    def running(self) -> bool:
        w = self._watcher
        return w is not None and w.running

    def _new_watcher(self) -> FolderWatcher:
        return FolderWatcher(
            self.registry,
            on_event=self._emit,
            settle=self.settle,
            rescan_interval=self.rescan_interval,
            write_timeout=self.write_timeout,
            runner=self.runner,
        )

    def start(self) -> list[WatchedFolder]:
        """Start watching the registry's folders (paused ones are listed, not watched)."""
        with self._lock:
            self._started = True
            return self._restart()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching; waits for the file in hand."""
        with self._lock:
            self._started = False
            w, self._watcher = self._watcher, None
            if w is not None:
                w.stop(timeout)

    def restart(self) -> list[WatchedFolder]:
        """Read the folders again and watch them anew (when started)."""
        with self._lock:
            return self._restart()

    def _restart(self) -> list[WatchedFolder]:
        old, self._watcher = self._watcher, None
        if old is not None:
            old.stop()
        self.folders = list_folders(self.registry)
        if self._started:
            w = self._new_watcher()
            w.start()
            self._watcher = w
        return list(self.folders)

    # ------------------------------------------------------------------ the folders
    def add(
        self,
        path: str | Path,
        kind: str,
        *,
        model_name: str | None = None,
        polling: bool = False,
        options: dict[str, Any] | None = None,
    ) -> WatchedFolder:
        """Watch one more folder (audited); the watcher restarts to include it."""
        with self._lock:
            f = add_folder(
                self.registry, path, kind, model_name=model_name, polling=polling, options=options
            )
            self._restart()
            return f

    def remove(self, folder: int | str | Path) -> WatchedFolder:
        """Stop watching a folder (audited)."""
        with self._lock:
            f = remove_folder(self.registry, folder)
            self._restart()
            return f

    def pause(self, folder: int | str | Path) -> WatchedFolder:
        """Pause a folder (audited): its files wait until it is resumed."""
        return self.set_paused(folder, True)

    def resume(self, folder: int | str | Path) -> WatchedFolder:
        """Resume a paused folder (audited); what arrived meanwhile is taken."""
        return self.set_paused(folder, False)

    def set_paused(self, folder: int | str | Path, paused: bool) -> WatchedFolder:
        with self._lock:
            f = set_paused(self.registry, folder, paused)
            self._restart()
            return f

    # ------------------------------------------------------------------ now
    def rescan(self) -> None:
        """Ask the running watcher for a full rescan now (returns at once)."""
        w = self._watcher
        if w is not None:
            w.rescan()

    def status(self, folder_id: int) -> FolderStatus | None:
        """The live status of an active folder, or ``None``."""
        w = self._watcher
        return None if w is None else w.status.get(folder_id)

    def backlog(self) -> int:
        """Files noticed and not yet taken."""
        w = self._watcher
        return 0 if w is None else w.backlog()

    def run_once(self) -> list[IngestResult]:
        """Take everything waiting in every (unpaused) inbox now, on this thread, and return.

        Subscribers hear of each file as with the running watcher. Not while
        the service is started (its watcher owns the folders then).

        Returns
        -------
        list of IngestResult
            One per file looked at.
        """
        with self._lock:
            if self._started:
                raise RuntimeError("run_once() while the watch service is started")
            self.folders = list_folders(self.registry)
            return self._new_watcher().run_once()

    def wait_for(self, predicate: Callable[[list[IngestResult]], bool], timeout: float) -> bool:
        """Block until ``predicate(results of the current watcher)`` holds (tests, CLI)."""
        w = self._watcher
        return False if w is None else w.wait_for(predicate, timeout)
