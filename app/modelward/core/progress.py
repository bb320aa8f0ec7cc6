"""Progress callbacks and cancel tokens: how long work talks to whoever waits for it.

Long operations take ``progress`` (a :data:`ProgressFn`) and ``cancel`` (a
:class:`CancelToken`). They know nothing about threads or signals; the job
runner and the Qt bridge wrap them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from modelward.core.errors import Cancelled

ProgressFn = Callable[[float, str], None]
"""``progress(fraction, status)``: fraction in 0..1, a short status text."""

__all__ = ["Cancelled", "CancelToken", "ProgressFn", "no_progress", "sub_progress"]


def no_progress(_fraction: float, _status: str) -> None:
    """A progress callback that ignores everything."""


@dataclass
class CancelToken:
    """Set by the user, checked by the work at step boundaries."""

    _flag: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self._flag.set()

    @property
    def cancelled(self) -> bool:
        return self._flag.is_set()

    def raise_if_cancelled(self) -> None:
        if self._flag.is_set():
            raise Cancelled("cancelled")


def check(cancel: CancelToken | None) -> None:
    """Raise :class:`Cancelled` if ``cancel`` was set (``None`` never cancels)."""
    if cancel is not None:
        cancel.raise_if_cancelled()


def sub_progress(progress: ProgressFn, start: float, end: float) -> ProgressFn:
    """Map a sub-step's 0..1 into ``start..end`` of the parent (Orange's ``wrap_callback``)."""

    def inner(fraction: float, status: str) -> None:
        progress(start + (end - start) * min(max(fraction, 0.0), 1.0), status)

    return inner
