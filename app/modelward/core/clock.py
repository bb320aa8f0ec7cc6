"""Time as the registry stores it and as people read it.

Every stored timestamp is UTC text in ISO 8601 with microseconds and a ``Z``
(``2026-03-01T09:30:00.123456Z``): it sorts as text, so SQL ``ORDER BY`` and
range filters need no parsing. People see it without the ``T`` and the
fraction: :func:`display_ts`.
"""

from __future__ import annotations

import datetime as _dt


def utcnow() -> str:
    """UTC time as ISO 8601 with microseconds and a ``Z``: sortable as text.

    Returns
    -------
    str
        For example ``"2026-03-01T09:30:00.123456Z"``.
    """
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def display_ts(ts: str | None, *, minutes: bool = False) -> str:
    """A stored timestamp as people read it: ``2026-03-01 09:30:00`` (UTC).

    Parameters
    ----------
    ts
        A timestamp as :func:`utcnow` writes it (or any ISO 8601 text);
        ``None`` or empty gives ``""``.
    minutes
        Stop at the minute (``2026-03-01 09:30``), for narrow columns.

    Returns
    -------
    str
        The date and time separated by a space, without fraction or zone.
    """
    if not ts:
        return ""
    return ts[: 16 if minutes else 19].replace("T", " ")
