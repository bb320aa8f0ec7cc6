"""A scored batch, opened to explain its rows: which version scored which input, and its first rows.

A scored batch is known by its output file. The manifest beside it (written
by :func:`~modelward.core.compute.score.score_file`, for ``score`` and for
scoring folders alike) names the version that scored it and the input's path
and SHA-256. The output holds no features, so a row is explained from the
input, and only while the input still holds the bytes that were scored: a
moved, deleted or changed input is one sentence, never codes for other data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import modelward.core.compute.data as _data
from modelward.core.artifacts.store import sha256_file
from modelward.core.compute.score import output_paths, read_manifest
from modelward.core.errors import InvalidInput

__all__ = ["batch_preview", "scored_batch"]


def scored_batch(output: str | os.PathLike[str]) -> dict[str, Any]:
    """The version and the input of the scored batch written to ``output``, checked.

    Returns
    -------
    dict
        ``output``, ``ref`` (the version that scored it, as its manifest
        records), ``data`` (the input's path), ``sha256`` (the input's),
        ``id_columns`` and ``counts`` (rows ``in``, ``scored``, ``rejected``).

    Raises
    ------
    InvalidInput
        No manifest beside the output, or the input is gone or changed since.
    """
    out = Path(output)
    man = read_manifest(out)
    if man is None or not isinstance(man.get("model"), dict) or not man.get("input"):
        raise InvalidInput(
            f"{out.name} has no scoring manifest beside it, so the version that scored it "
            "is not known"
        )
    ref = str(man["model"]["ref"])
    src = Path(str(man["input"].get("path") or ""))
    if not src.is_file():
        raise InvalidInput(
            f"the input of {out.name} ({src}) is no longer there (moved or deleted): "
            "its rows cannot be explained"
        )
    sha, _size = sha256_file(src)
    if sha != man["input"].get("sha256"):
        raise InvalidInput(
            f"the input of {out.name} ({src}) has changed since {ref} scored it: "
            "its rows cannot be explained"
        )
    return {
        "output": str(out),
        "ref": ref,
        "data": str(src),
        "sha256": sha,
        "id_columns": list(man.get("id_columns") or []),
        "counts": dict(man.get("rows") or {}),
    }


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    return v if isinstance(v, (int, float, str, bool)) or v is None else str(v)


def batch_preview(output: str | os.PathLike[str], n: int = 200) -> dict[str, Any]:
    """The first ``n`` scored rows of a batch: what the model said, then the input's columns.

    Returns
    -------
    dict
        :func:`scored_batch` plus ``columns`` (``row``, the input row number
        from 1, then the output's columns but ``row``, then the input's
        columns not already shown) and ``rows`` (JSON-safe lists). A row the
        scoring run rejected has no output and is left out.
    """
    batch = scored_batch(output)
    scored = _data.read_table(batch["output"], limit=n)
    if "row" in scored.columns:
        numbers = [int(r) for r in scored["row"].tolist()]
    else:
        # With id columns the output has no row number: it keeps the input's
        # order, less the rejected rows (their numbers are in the rejected file).
        rejected: set[int] = set()
        rej = output_paths(batch["output"])[1]
        if int(batch["counts"].get("rejected") or 0) and rej.is_file():
            rejected = {int(r) for r in _data.read_table(rej)["row"].tolist()}
        numbers, r = [], 0
        while len(numbers) < len(scored):
            r += 1
            if r not in rejected:
                numbers.append(r)
    inp = _data.read_table(batch["data"], limit=max(numbers, default=0))
    out_cols = [str(c) for c in scored.columns if c != "row"]
    in_cols = [str(c) for c in inp.columns if str(c) not in out_cols]
    rows = []
    for i, number in enumerate(numbers):
        rows.append(
            [number]
            + [_plain(scored[c].iloc[i]) for c in out_cols]
            + [_plain(inp[c].iloc[number - 1]) for c in in_cols]
        )
    return {**batch, "columns": ["row", *out_cols, *in_cols], "rows": rows}
