"""Reads the policy views need beyond the policy store: comparison gates, model names."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from modelward.core.registry import Registry


def comparison_gates(registry: Registry, ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The gates stored with each comparison.

    Parameters
    ----------
    registry
        The registry to read.
    ids
        Comparison ids (duplicates and an empty set are fine).

    Returns
    -------
    dict
        Comparison id -> its gates (``gate``, ``passed``, ``detail`` …); ids that
        are not stored are absent.
    """
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    out: dict[int, list[dict[str, Any]]] = {}
    with registry.read() as cur:
        rows = cur.execute(
            f"SELECT id, gates FROM comparisons WHERE id IN ({marks})", wanted
        ).fetchall()
    for cid, text in rows:
        out[int(cid)] = json.loads(text or "[]")
    return out


def model_names(registry: Registry) -> list[str]:
    """Names of every registered model, sorted.

    Parameters
    ----------
    registry
        The registry to read.

    Returns
    -------
    list of str
        Model names in alphabetical order.
    """
    with registry.read() as cur:
        return [str(r[0]) for r in cur.execute("SELECT name FROM models ORDER BY name").fetchall()]
