"""Scoring a large Parquet file on a Dask cluster (``modelward score --dask SCHEDULER``).

The file is split by row groups into partitions; the model's bytes go to
the workers once (broadcast), and each worker loads them through the same
safe loader as the desktop (:func:`~modelward.core.artifacts.safeload.load_bytes`
with the reviewer-approved globals of these bytes, never a plain unpickle),
scores its partition with the same conversion and rejection rules, and
writes its part of the output beside the final output (a shared folder on a
real cluster). The caller assembles the parts in order into one output, the
rejected rows into one file, and writes the manifest: the result is the
same bytes as scoring on this machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelward.core.artifacts.allowlist import Allowlist
from modelward.core.artifacts.safeload import load_bytes
from modelward.core.compute.parallel import _dask_client, limited_threads
from modelward.core.duck import connect as duck_connect
from modelward.core.errors import InvalidInput
from modelward.core.progress import CancelToken, ProgressFn, check
from modelward.core.registry.predictions import ScoreSummary, score_column

__all__ = ["score_partitions"]

# A worker process keeps the models it loaded, by SHA-256: one load per worker.
_LOADED: dict[str, Any] = {}
_LOADED_LOCK = threading.Lock()


def _worker_model(payload: tuple[str, str, bytes, list[Any]]) -> Any:
    sha, fmt, data, extra = payload
    with _LOADED_LOCK:
        est = _LOADED.get(sha)
        if est is None:
            if hashlib.sha256(data).hexdigest() != sha:
                raise InvalidInput("the model's bytes changed on the way to the worker")
            est = load_bytes(data, fmt, Allowlist([tuple(p) for p in extra]))
            _LOADED[sha] = est
        return est


def _score_partition(
    impl: tuple[Any, Any, Any],
    payload: tuple[str, str, bytes, list[Any]],
    model_desc: dict[str, Any],
    plan: Any,
    path: str,
    rows: tuple[int, int],
    thr: float | None,
    schema: list[tuple[str, str]],
    part_path: str,
    batch_rows: int,
    keep_rows: bool,
) -> dict[str, Any]:
    """Score the rows ``rows[0] <= i < rows[1]`` of ``path`` into ``part_path`` (on a worker).

    ``impl`` is scoring's ``(model class, writer class, batch scorer)``,
    handed over so this module does not import the one that imports it.
    The part is Parquet whatever the output: exact types.
    """
    model_cls, writer_cls, score_batch = impl
    est = _worker_model(payload)
    model = model_cls(est=est, **model_desc)
    summary = ScoreSummary(probability=model.has_proba or model.classes is not None)
    rejected: list[list[Any]] = []
    kept: list[tuple[list[Any], np.ndarray, np.ndarray | None]] = []
    offset, end = rows
    n_in = n_scored = 0
    writer = writer_cls(Path(part_path), "parquet", schema)
    lit = "'" + path.replace("'", "''") + "'"
    con = duck_connect()
    try:
        con.execute("SET threads = 1")
        cur = con.execute(
            f"SELECT {plan.select} FROM read_parquet({lit}, file_row_number = true) "
            f"WHERE file_row_number >= {int(offset)} AND file_row_number < {int(end)}"
        )
        with limited_threads(1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            while len(batch := cur.fetch_df_chunk(max(1, -(-batch_rows // 2048)))):
                for start in range(0, len(batch), batch_rows):
                    piece = batch.iloc[start : start + batch_rows]
                    cols, scored, pred, proba, bad, kept_ids = score_batch(
                        model, plan, piece, thr, offset + n_in, schema
                    )
                    writer.write(cols)
                    score, _ = score_column(proba, pred)
                    summary.add(pred, score)
                    if keep_rows:
                        kept.append((np.asarray(kept_ids, dtype=object).tolist(), pred, proba))
                    rejected.extend(bad)
                    n_in += len(piece)
                    n_scored += int(scored.size)
        writer.close()
    finally:
        con.close()
        writer.discard()
    return {
        "rows_in": n_in,
        "rows_scored": n_scored,
        "rejected": rejected,
        "summary": summary,
        "kept": kept,
        "part": part_path,
        "worker": os.getpid(),
    }


def _partitions(num_row_groups: int, rows: Sequence[int], n: int) -> list[tuple[list[int], int]]:
    """Row groups in ``n`` contiguous partitions, with each partition's first row offset."""
    n = max(1, min(n, num_row_groups))
    bounds = np.linspace(0, num_row_groups, n + 1).astype(int)
    out, offset = [], 0
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        groups = list(range(int(a), int(b)))
        if groups:
            out.append((groups, offset))
            offset += sum(rows[g] for g in groups)
    return out


def score_partitions(
    address: str,
    *,
    impl: tuple[Any, Any, Any],
    plan: Any,
    payload: tuple[str, str, bytes, list[Any]],
    model: Any,
    path: Path,
    ids: list[str],
    thr: float | None,
    schema: list[tuple[str, str]],
    out_path: Path,
    out_fmt: str,
    batch_rows: int,
    kept: Any,
    rejected: Any,
    progress: ProgressFn,
    cancel: CancelToken | None,
) -> tuple[tuple[int, int, int], dict[str, Any]]:
    """Score ``path`` on the cluster at ``address`` into ``out_path`` (already a temporary name).

    Returns ``((rows in, scored, rejected), what the manifest records)``.
    """
    writer_cls = impl[1]
    lit = "'" + str(path).replace("'", "''") + "'"
    con = duck_connect()
    try:
        got = con.execute(
            "SELECT row_group_id, any_value(row_group_num_rows) "
            f"FROM parquet_metadata({lit}) GROUP BY row_group_id ORDER BY row_group_id"
        ).fetchall()
    finally:
        con.close()
    group_rows = [int(r[1]) for r in got]
    desc = {
        "features": model.features,
        "kinds": model.kinds,
        "classes": model.classes,
        "has_proba": model.has_proba,
        "argmax_predicts": model.argmax_predicts,
        "rejects_nan": model.rejects_nan,
    }
    parts: list[Path] = []
    try:
        with _dask_client(address) as client:
            workers = list(client.scheduler_info().get("workers", {}))
            parts_plan = _partitions(len(group_rows), group_rows, max(1, 2 * len(workers)))
            shared = client.scatter(payload, broadcast=True)  # the model goes out once
            futures = []
            for k, (groups, offset) in enumerate(parts_plan):
                end = offset + sum(group_rows[g] for g in groups)
                part = out_path.with_name(f"{out_path.name}.part{k:04d}.partial")
                parts.append(part)
                futures.append(
                    client.submit(
                        _score_partition,
                        impl,
                        shared,
                        desc,
                        plan,
                        str(path),
                        (offset, end),
                        thr,
                        schema,
                        str(part),
                        batch_rows,
                        kept.keep_rows,
                        pure=False,
                    )
                )
            results = []
            for k, fut in enumerate(futures):  # in order: the output keeps the input's order
                check(cancel)
                results.append(fut.result())
                progress(
                    0.05 + 0.8 * (k + 1) / len(futures), f"partition {k + 1} of {len(futures)}"
                )
        progress(0.86, "assembling the partitions")
        writer = writer_cls(out_path, out_fmt, schema)
        n_in = n_scored = n_rej = 0
        for res in results:
            writer.add_part(Path(res["part"]))
            rejected.writerows(res["rejected"])
            part_summary = res["summary"]
            _merge(kept.summary, part_summary)
            for kid, pred, proba in res["kept"]:
                kept.ids.append(kid)
                kept.preds.append(np.asarray(pred))
                if proba is not None:
                    kept.probas.append(proba)
            n_in += res["rows_in"]
            n_scored += res["rows_scored"]
            n_rej += len(res["rejected"])
        try:
            writer.close()
        finally:
            writer.discard()
    finally:
        for p in parts:
            with contextlib.suppress(OSError):
                p.unlink()
    info = {
        "scheduler": address,
        "partitions": len(parts_plan),
        "workers": len(workers),
        "worker_pids": sorted({r["worker"] for r in results}),
    }
    return (n_in, n_scored, n_rej), info


def _merge(into: Any, part: Any) -> None:
    into.rows += part.rows
    for k, v in part.classes.items():
        into.classes[k] = into.classes.get(k, 0) + v
    into.score_sum += part.score_sum
    into.score_sq += part.score_sq
    into.score_min = min(into.score_min, part.score_min)
    into.score_max = max(into.score_max, part.score_max)
    into.hist = [a + b for a, b in zip(into.hist, part.hist, strict=True)]
