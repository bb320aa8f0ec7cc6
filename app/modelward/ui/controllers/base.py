"""What both controllers share: jobs with callbacks, background work on the window's reader."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt

if TYPE_CHECKING:
    from modelward.ui.main_window import MainWindow


class Controller(QObject):
    """Runs jobs on the window's job runner and short work on its background reader.

    ``done``/``failed`` callbacks are called on the GUI thread, once, and never
    after :meth:`shutdown`.
    """

    BACKGROUND = "background"
    """Reader channel of this controller's short writes (never superseded)."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.registry = window.registry
        self._closed = False
        self._job_done: dict[int, Callable[[Any], None]] = {}
        self._job_failed: dict[int, Callable[[str], None]] = {}
        self._bg_done: dict[int, Callable[[Any], None]] = {}
        self._bg_channel = f"{self.BACKGROUND}-{type(self).__name__}-{next(_ids)}"
        q = Qt.ConnectionType.QueuedConnection
        window.jobs.sig_job_finished.connect(self._job_finished, q)
        window.jobs.sig_job_failed.connect(self._job_failed_slot, q)
        window.jobs.sig_job_cancelled.connect(self._job_cancelled, q)
        window.reader.sig_read_done.connect(self._read_done, q)
        window.reader.sig_read_failed.connect(self._read_failed, q)

    # ------------------------------------------------------------ jobs
    def submit(
        self,
        kind: str,
        title: str,
        fn: Callable[..., Any],
        *args: Any,
        done: Callable[[Any], None] | None = None,
        failed: Callable[[str], None] | None = None,
    ) -> int:
        job_id = self.window.submit_job(kind, title, fn, *args)
        if done is not None:
            self._job_done[job_id] = done
        if failed is not None:
            self._job_failed[job_id] = failed
        return job_id

    def _job_finished(self, job_id: int, result: Any) -> None:
        self._job_failed.pop(job_id, None)
        cb = self._job_done.pop(job_id, None)
        if self._closed:
            return
        if cb is not None:
            cb(result)
        self.job_finished(job_id, result)

    def job_finished(self, job_id: int, result: Any) -> None:
        """Any job of the window finished (GUI thread); for subclasses."""

    def _job_failed_slot(self, job_id: int, message: str) -> None:
        self._job_done.pop(job_id, None)
        cb = self._job_failed.pop(job_id, None)
        if cb is not None and not self._closed:
            cb(message)

    def _job_cancelled(self, job_id: int) -> None:
        self._job_done.pop(job_id, None)
        cb = self._job_failed.pop(job_id, None)
        if cb is not None and not self._closed:
            cb("cancelled")

    # ------------------------------------------------------------ background
    def background(
        self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None] | None = None
    ) -> int | None:
        """Run a short write on the window's reader thread; returns its token."""
        if self._closed:
            return None
        token = self.window.reader.submit(self._bg_channel, fn, *args, stale=False)
        if done is not None:
            self._bg_done[token] = done
        return token

    def _read_done(self, channel: str, token: int, result: Any) -> None:
        if self._closed:
            return
        if channel == self._bg_channel:
            self.background_done(token, result)
        else:
            self.read_done(channel, token, result)

    def _read_failed(self, channel: str, token: int, message: str) -> None:
        if channel == self._bg_channel and not self._closed:
            self.background_failed(token, message)

    def background_done(self, token: int, result: Any) -> None:
        cb = self._bg_done.pop(token, None)
        if cb is not None:
            cb(result)

    def background_failed(self, token: int, message: str) -> None:
        self._bg_done.pop(token, None)
        self.window.notify(message, error=True)

    def read_done(self, channel: str, token: int, result: Any) -> None:
        """A read of the window's reader finished (GUI thread); for subclasses."""

    def shutdown(self, timeout: float = 5.0) -> None:
        self._closed = True


_ids = itertools.count(1)
