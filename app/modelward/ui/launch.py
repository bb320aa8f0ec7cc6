"""Start the window, or say clearly why it cannot start and do the job headless."""

from __future__ import annotations

import os
from pathlib import Path

from modelward.core import platform


def has_display() -> bool:
    """Whether a Qt window can be shown here (an explicit QT_QPA_PLATFORM counts)."""
    return platform.has_display()


def launch(registry: str | os.PathLike[str] | None, *, smoke: bool = False) -> int:
    """Open the main window on ``registry``; returns the exit code."""
    if not has_display():
        from modelward.headless import run_headless

        return run_headless(registry)
    from modelward.ui.app import run_app

    return run_app(registry, smoke=smoke)


def smoke_window(registry: str | os.PathLike[str] | Path) -> int:
    """Open the main window, let the event loop run briefly, close it. Returns row count."""
    from modelward.ui.app import open_and_close

    return open_and_close(registry)
