"""Trust boundary for model files from outside.

``inspect_untrusted`` is the one door every model file passes before it is
registered. It returns plain metadata (JSON-able) or raises ``RejectedFile``.
"""

from __future__ import annotations

import os
from typing import Any

from modelward.core.artifacts.formats import FormatInfo, detect_format


def inspect_untrusted(path: str | os.PathLike[str]) -> tuple[FormatInfo, dict[str, Any]]:
    """Triage ``path`` by its bytes and read what can be known without running it.

    Returns ``(format info, metadata)``; metadata may be empty.
    """
    info = detect_format(path)
    return info, {}
