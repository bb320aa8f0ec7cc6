"""Whether a Qt window can be shown here (no Qt import: the CLI asks before loading Qt)."""

from __future__ import annotations

from modelward.core.platform import has_display

__all__ = ["has_display"]
