"""The decision threshold stored with a binary model's version.

Its own module because both scoring (which decides each row with it) and
validation (which stores it and shows what it does) read it.
"""

from __future__ import annotations

import math
from typing import Any

from modelward.core.errors import InvalidInput

__all__ = ["THRESHOLD_KEY", "stored_threshold"]

THRESHOLD_KEY = "decision_threshold"
"""The tag (``threshold set``) or signature key holding the threshold."""


def stored_threshold(version: Any) -> float | None:
    """The decision threshold stored with a version (its tags, else its signature), if any.

    A tag is what ``modelward threshold set`` stores (audited); it wins over a
    threshold recorded with the model file.

    Raises
    ------
    InvalidInput
        A stored threshold that is not a number between 0 and 1.
    """
    raw = (version.tags or {}).get(THRESHOLD_KEY)
    if raw is None:
        raw = (version.signature or {}).get(THRESHOLD_KEY)
    if raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(f"{version.ref} stores the decision threshold {raw!r}, not 0–1")
    return value
