"""Start the window, or say clearly why it cannot start and do the job headless."""

from __future__ import annotations

import os
from pathlib import Path

from modelward.ui.display import has_display

__all__ = ["has_display", "launch", "smoke_window"]


def launch(registry: str | os.PathLike[str] | None, *, smoke: bool = False) -> int:
    """Open the main window on ``registry``; returns the exit code."""
    if not has_display():
        # Not at module level: the headless path must not load Qt, the window path not
        # the headless one (each costs start-up time).
        from modelward.headless import run_headless

        return run_headless(registry)
    from modelward.ui.app import run_app  # loads Qt: only once we know a window can open

    return run_app(registry, smoke=smoke)


def smoke_window(registry: str | os.PathLike[str] | Path) -> int:
    """Open the main window, let the event loop run briefly, close it. Returns row count."""
    from modelward.ui.app import open_and_close  # loads Qt

    return open_and_close(registry)
