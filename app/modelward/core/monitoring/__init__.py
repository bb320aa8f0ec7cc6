"""Monitoring: reference profiles, drift, data quality and performance over time (Qt-free)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def kept_pass(registry: Any, version: Any, path: Path) -> Any:
    """Start the check's pass over a file being scored (``score_file``'s ``log_pass``).

    Importing this costs nothing: the monitoring code loads only when a
    scoring with a row-level log calls it (see
    :class:`~modelward.core.monitoring.service.KeptPass`).
    """
    from modelward.core.monitoring.service import KeptPass  # deferred: start-up cost

    return KeptPass.start(registry, version, path)
