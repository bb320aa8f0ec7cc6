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
import pyarrow as pa
import pyarrow.parquet as pq

from modelward.core.artifacts.allowlist import Allowlist
from modelward.core.artifacts.safeload import load_bytes
from modelward.core.compute.parallel import _dask_client, limited_threads
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
    path: str,
    row_groups: list[int],
    offset: int,
    ids: list[str],
    thr: float | None,
    schema: Any,
    part_path: str,
    out_fmt: str,
    batch_rows: int,
    keep_rows: bool,
) -> dict[str, Any]:
    """Score some row groups of ``path`` into ``part_path`` (runs on a worker).

    ``impl`` is scoring's ``(model class, writer class, record-batch scorer)``,
    handed over so this module does not import the one that imports it.
    """
    model_cls, writer_cls, score_batch = impl
    est = _worker_model(payload)
    model = model_cls(est=est, **model_desc)
    summary = ScoreSummary(probability=model.has_proba or model.classes is not None)
    rejected: list[list[Any]] = []
    kept: list[tuple[list[Any], np.ndarray, np.ndarray | None]] = []
    n_in = n_scored = 0
    writer = writer_cls(Path(part_path), out_fmt)
    pf = pq.ParquetFile(path)
    with limited_threads(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for batch in pf.iter_batches(
            batch_size=batch_rows, row_groups=row_groups, columns=[*model.features, *ids]
        ):
            if batch.num_rows == 0:
                continue
            table, rows, pred, proba, bad, kept_ids = score_batch(
                model, batch, ids, thr, offset + n_in, schema
            )
            writer.write(table)
            score, _ = score_column(proba, pred)
            summary.add(pred, score)
            if keep_rows:
                kept.append((kept_ids.to_pylist(), pred, proba))
            rejected.extend(bad)
            n_in += batch.num_rows
            n_scored += int(rows.size)
    writer.close(schema)
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
    payload: tuple[str, str, bytes, list[Any]],
    model: Any,
    path: Path,
    ids: list[str],
    thr: float | None,
    schema: Any,
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
    meta = pq.ParquetFile(path).metadata
    group_rows = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
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
            plan = _partitions(meta.num_row_groups, group_rows, max(1, 2 * len(workers)))
            shared = client.scatter(payload, broadcast=True)  # the model goes out once
            futures = []
            for k, (groups, offset) in enumerate(plan):
                part = out_path.with_name(f"{out_path.name}.part{k:04d}.partial")
                parts.append(part)
                futures.append(
                    client.submit(
                        _score_partition,
                        impl,
                        shared,
                        desc,
                        str(path),
                        groups,
                        offset,
                        ids,
                        thr,
                        schema,
                        str(part),
                        "parquet",  # parts are Parquet whatever the output: exact types
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
        writer = writer_cls(out_path, out_fmt)
        n_in = n_scored = n_rej = 0
        for res in results:
            for b in pq.ParquetFile(res["part"]).iter_batches(batch_size=batch_rows):
                writer.write(pa.Table.from_batches([b]))
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
        writer.close(schema)
    finally:
        for p in parts:
            with contextlib.suppress(OSError):
                p.unlink()
    info = {
        "scheduler": address,
        "partitions": len(plan),
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
