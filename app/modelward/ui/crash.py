"""Unhandled exceptions in the window: one sentence for the user, the traceback in the log.

:func:`install_excepthook` replaces ``sys.excepthook`` (Qt hands it every
exception a slot or an event handler lets escape). The user sees a dialog with
one sentence and a collapsible details section; the traceback goes to
``logs/modelward.log`` under the registry home, where the CLI writes its own.
"""

from __future__ import annotations

import datetime as _dt
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

log = logging.getLogger(__name__)

LOG_NAME = "modelward.log"
Hook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


def write_crash_log(home: str | Path, text: str) -> Path | None:
    """Append ``text`` (a traceback) with a time stamp to ``home/logs/modelward.log``."""
    try:
        folder = Path(home) / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_NAME
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"--- {stamp} unhandled error in the window\n{text}\n")
        return path
    except OSError as e:  # a full or read-only disk must not hide the dialog
        log.warning("could not write the crash log: %s", e)
        return None


class CrashReporter:
    """The excepthook: logs the traceback and shows :attr:`dialog` (one at a time)."""

    def __init__(self, home: str | Path, parent: Callable[[], QWidget | None] | None = None):
        self.home = Path(home)
        self._parent = parent or (lambda: None)
        self.dialog: QMessageBox | None = None
        self.previous: Hook = sys.excepthook

    def __call__(
        self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            self.previous(kind, exc, tb)
            return
        text = "".join(traceback.format_exception(kind, exc, tb))
        log.error("unhandled error in the window:\n%s", text)
        path = write_crash_log(self.home, text)
        if QApplication.instance() is None:
            return
        if self.dialog is not None and self.dialog.isVisible():
            return  # an error loop must not stack a hundred dialogs
        where = f"The details are in {path}." if path else "The details could not be saved."
        box = QMessageBox(self._parent())
        box.setObjectName("CrashDialog")
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("ModelWard")
        box.setText(
            "Something went wrong inside ModelWard; what you were doing may not have finished."
        )
        box.setInformativeText(where)
        box.setDetailedText(text)  # collapsed behind "Show Details…"
        box.open()
        self.dialog = box


def install_excepthook(
    home: str | Path, parent: Callable[[], QWidget | None] | None = None
) -> CrashReporter:
    """Make a :class:`CrashReporter` the process's ``sys.excepthook``; returns it."""
    hook = CrashReporter(home, parent)
    sys.excepthook = hook
    return hook


def uninstall_excepthook(hook: CrashReporter) -> None:
    if sys.excepthook is hook:
        sys.excepthook = hook.previous
