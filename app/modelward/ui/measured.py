"""Which data a version's metrics were measured on, in words a table can show.

A registered version's metrics come from where it was made: the held-out part
of its own training data (trained here, or logged with ``log_model``), the
folds of a cross-validation, or whatever the file's author measured. Two
versions' numbers side by side mean little when they come from different
data, so every table that shows them says where each came from, and a table
that mixes sources says so (:func:`mixed_note`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

MIXED_MARK = "◆"
"""Put next to a metric column whose rows were measured on different data."""


def _file(path: Any) -> str:
    return PurePath(str(path)).name if path else "its training data"


def measured_on(lineage: dict[str, Any] | None, tags: dict[str, str] | None = None) -> str:
    """A short phrase: the data ``metrics`` of a version with this lineage were measured on.

    Examples: ``holdout 25% of loans.csv``, ``5-fold CV on loans.csv``,
    ``holdout of its training data``, ``validation set q3.parquet``,
    ``not recorded``.
    """
    lin = lineage or {}
    tags = tags or {}
    named = tags.get("metrics_data") or lin.get("metrics_data")
    if named:
        return f"validation set {_file(named)}"
    recipe = lin.get("recipe")
    if isinstance(recipe, dict):
        split = recipe.get("split") or {}
        kind = split.get("kind", "holdout") if isinstance(split, dict) else "holdout"
        data = _file(lin.get("data") or recipe.get("data"))
        if kind in ("kfold", "stratified"):
            return f"{int(split.get('folds') or 5)}-fold CV on {data}"
        share = float(split.get("test_size") or 0.25)
        latest = "latest " if kind == "time" else ""
        return f"holdout {latest}{share:.0%} of {data}"
    if lin.get("training_data"):
        return "holdout of its training data"
    return "not recorded"


def version_measured_on(v: Any) -> str:
    """:func:`measured_on` of a :class:`~modelward.core.domain.ModelVersion`."""
    return measured_on(getattr(v, "lineage", None), getattr(v, "tags", None))


def mixed_note(sources: Iterable[str]) -> str:
    """'' when every row was measured on the same data; else one sentence saying it is not."""
    distinct = sorted(set(sources))
    if len(distinct) <= 1:
        return ""
    listed = "; ".join(distinct[:4]) + ("; …" if len(distinct) > 4 else "")
    return (
        f"{MIXED_MARK} These metrics were measured on {len(distinct)} different data sets "
        f"({listed}): compare them on one data set before choosing."
    )
