"""What the scoring folders are doing: their state and their last batches (window, ``--json``)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from modelward.core.errors import NotFound
from modelward.core.registry import Registry
from modelward.core.registry.predictions import list_shadows
from modelward.core.watch.folders import SCORING, WatchedFolder, list_folders
from modelward.core.watch.ingest import already_taken, is_temporary

__all__ = ["scoring_overview"]


def _waiting(folder: WatchedFolder, taken: dict[str, tuple[int, float]]) -> int:
    inbox = Path(folder.path)
    n = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(inbox):
            if not entry.is_file(follow_symlinks=False) or is_temporary(entry.name):
                continue
            st = entry.stat(follow_symlinks=False)
            if taken.get(entry.path) != (st.st_size, st.st_mtime):
                n += 1
    return n


def scoring_overview(
    registry: Registry, *, limit: int = 50, model: str | None = None
) -> dict[str, Any]:
    """The scoring folders with their state, and their last batches (for the window and ``--json``).

    Returns
    -------
    dict
        ``folders``: per scoring folder ``id``, ``inbox``, ``outbox``,
        ``model``, ``champion`` (the ref that would score the next batch, or
        ``None``), ``shadows``, ``state`` (``active``, ``paused``, ``missing``)
        and ``waiting`` (files not yet taken); ``batches``: the last ``limit``
        batches, newest first, with ``at``, ``status``, ``ref``, ``rows``,
        ``rejected``, ``seconds``, ``output`` and ``detail``;
        ``throughput``: rows per second over those batches (``None`` without any).
    """
    folders = [f for f in list_folders(registry) if f.kind == SCORING]
    if model is not None:
        folders = [f for f in folders if f.model_name == model]
    out_folders = []
    for f in folders:
        assert f.model_name is not None
        try:
            champion: str | None = registry.resolve(f"{f.model_name}@champion").ref
        except NotFound:
            champion = None
        present = Path(f.path).is_dir()
        out_folders.append(
            {
                "id": f.id,
                "inbox": f.path,
                "outbox": str(f.options.get("outbox") or ""),
                "model": f.model_name,
                "champion": champion,
                "shadows": [f"{f.model_name}:{v}" for v in list_shadows(registry, f.model_name)],
                "state": "paused" if f.paused else ("active" if present else "missing"),
                "waiting": _waiting(f, already_taken(registry, f.id)) if present else 0,
                "id_column": f.options.get("id_column"),
            }
        )
    batches: list[dict[str, Any]] = []
    if folders:
        marks = ",".join("?" for _ in folders)
        with registry.read() as cur:
            got = cur.execute(
                f"SELECT folder_id, path, status, result, ingested_at FROM ingested_files "
                f"WHERE folder_id IN ({marks}) ORDER BY ingested_at DESC LIMIT ?",
                [*(f.id for f in folders), int(limit)],
            ).fetchall()
        by_id = {f.id: f for f in folders}
        for fid, path, status, result, at in got:
            res = json.loads(result or "{}")
            rows = res.get("rows") or {}
            batches.append(
                {
                    "folder": fid,
                    "model": by_id[fid].model_name,
                    "source": path,
                    "at": at,
                    "status": "scored" if status == "registered" else status,
                    "ref": res.get("ref"),
                    "rows": rows.get("in"),
                    "scored": rows.get("scored"),
                    "rejected": rows.get("rejected"),
                    "seconds": res.get("seconds"),
                    "output": res.get("output"),
                    "shadows": [s.get("ref") for s in res.get("shadows") or []],
                    "detail": res.get("reason") or "",
                }
            )
    timed = [b for b in batches if b["seconds"] and b["rows"]]
    secs = sum(float(b["seconds"]) for b in timed)
    return {
        "folders": out_folders,
        "batches": batches,
        "throughput": (sum(int(b["rows"]) for b in timed) / secs) if secs > 0 else None,
    }
