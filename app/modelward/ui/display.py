"""Whether a Qt window can be shown here (no Qt import: the CLI asks before loading Qt)."""

from __future__ import annotations

import os
import sys


def has_display() -> bool:
    """Whether a Qt window can be shown here (an explicit QT_QPA_PLATFORM counts)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True
