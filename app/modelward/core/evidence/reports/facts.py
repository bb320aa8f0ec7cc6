"""What a model card states, gathered offline from the registry.

:func:`gather_facts` reads a version, its lineage (data, recipe, environment),
its stored validations (with bootstrap confidence intervals computed from the
stored predictions), its monitoring history and the audit events that approve
or change it. The result is plain JSON-ready data; rendering is separate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import duckdb

import modelward.core.monitoring.series as _series
from modelward.core.compute.compare import _metric_on_rows
from modelward.core.compute.validation import load_validation
from modelward.core.duck import connect as duck_connect
from modelward.core.errors import InvalidInput
from modelward.core.evidence.head import head_line, sign_head
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = ["gather_facts", "metric_intervals"]

_APPROVAL_ACTIONS = ("alias.", "trust.", "approval.", "bundle.", "version.status", "policy.")


def metric_intervals(
    predictions: Any,
    metrics: dict[str, float],
    *,
    n_boot: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
    cancel: CancelToken | None = None,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals for the metrics that can be resampled by row.

    Returns ``metric -> (low, high)`` for accuracy, balanced accuracy, F1,
    ROC AUC, average precision and R² (those present in ``metrics``).
    """
    import numpy as np  # deferred: start-up cost

    p = predictions
    n = len(p.y_pred)
    fns: dict[str, Callable[[Any], float]] = {}
    yt, yp = np.asarray(p.y_true), np.asarray(p.y_pred)
    for key in metrics:
        if key == "accuracy":
            fns[key] = lambda idx: float(np.mean(yt[idx] == yp[idx]))
            continue
        try:
            fns[key] = _metric_on_rows(key, p)
        except InvalidInput:
            continue
    if not fns or n < 2:
        return {}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in fns}
    for i in range(n_boot):
        if i % 20 == 0:
            check(cancel)
        idx = rng.integers(0, n, n)
        for k, fn in fns.items():
            draws[k].append(fn(idx))
    out = {}
    for k, vals in draws.items():
        arr = np.asarray(vals, dtype=float)
        arr = arr[np.isfinite(arr)]
        if arr.size >= 10:
            lo, hi = np.quantile(arr, [alpha / 2, 1 - alpha / 2])
            out[k] = (float(lo), float(hi))
    return out


def _json_rows(rows: list[tuple[Any, ...]], cols: tuple[str, ...]) -> list[dict[str, Any]]:
    return [dict(zip(cols, r, strict=True)) for r in rows]


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def gather_facts(
    registry: Registry,
    ref: str,
    *,
    n_boot: int = 200,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Everything the model card and validation report of ``ref`` state.

    Parameters
    ----------
    registry
        The registry to read.
    ref
        ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS``.
    n_boot
        Bootstrap resamples for the metrics' confidence intervals (0: none).

    Returns
    -------
    dict
        ``version``, ``model``, ``data``, ``training``, ``validations``,
        ``monitoring``, ``approvals``, ``limitations`` and ``hashes``.
    """

    v = registry.resolve(ref)
    progress(0.0, f"reading {v.ref}")
    with registry.read() as cur:
        task, description = cur.execute(
            "SELECT task, description FROM models WHERE id = ?", [v.model_id]
        ).fetchall()[0]
        val_ids = [
            int(r[0])
            for r in cur.execute(
                "SELECT id FROM validations WHERE version_id = ? ORDER BY id", [v.id]
            ).fetchall()
        ]
        events = _json_rows(
            cur.execute(
                "SELECT seq, ts, actor, action, entity_id, before, after, reason, hash FROM audit "
                "WHERE entity_id = ? OR (entity_type = 'alias' AND starts_with(entity_id, ?)) "
                "OR contains(coalesce(after, ''), ?) ORDER BY seq",
                [v.ref, v.name + "@", v.sha256],
            ).fetchall(),
            ("seq", "ts", "actor", "action", "entity", "before", "after", "reason", "hash"),
        )
    lin = v.lineage
    recipe = lin.get("recipe") or {}
    features = (v.signature or {}).get("features") or []
    data = {
        "source": lin.get("data") or lin.get("source"),
        "fingerprint": lin.get("data_fingerprint"),
        "rows": lin.get("data_rows"),
        "snapshot_sha256": lin.get("snapshot_sha256"),
        "target": recipe.get("target"),
        "period": _period(registry, lin, recipe),
        "schema": [
            {"name": f.get("name"), "kind": f.get("kind"), "dtype": f.get("dtype")}
            for f in features
            if isinstance(f, dict)
        ],
    }
    training = {
        "recipe": recipe,
        "best_params": lin.get("best_params"),
        "environment": lin.get("environment") or {},
        "run_id": lin.get("run_id"),
        "seed": lin.get("seed"),
        "training_metrics": v.metrics,
        "provenance": lin.get("provenance"),
    }
    validations = []
    for i, vid in enumerate(val_ids):
        check(cancel)
        progress(0.1 + 0.7 * i / max(len(val_ids), 1), "confidence intervals")
        newest = vid == val_ids[-1]
        res = load_validation(registry, vid, predictions=newest and n_boot > 0)
        ci = (
            metric_intervals(res.predictions, res.metrics, n_boot=n_boot, cancel=cancel)
            if res.predictions is not None
            else {}
        )
        validations.append(
            {
                "id": vid,
                "data_fingerprint": res.data_fingerprint,
                "data_source": res.data_source,
                "rows": res.rows,
                "target": res.target,
                "task": res.task,
                "metrics": res.metrics,
                "intervals": {k: list(x) for k, x in ci.items()},
                "n_boot": n_boot if ci else 0,
                "curves": {
                    k: res.curves[k]
                    for k in ("roc", "pr", "calibration", "confusion_matrix", "classes")
                    if k in res.curves
                },
                "predictions_sha256": res.predictions_sha256,
            }
        )
    progress(0.85, "monitoring history")
    b = _series.batches(registry, v.id)
    metric = "roc_auc" if (task or "classification") == "classification" else "r2"
    perf = _series.performance_series(registry, v.id, metric) if len(b["batch_id"]) else None
    monitoring = {
        "metric": metric,
        "batches": [
            {
                "name": str(b["name"][i]),
                "time": str(b["batch_time"][i]),
                "rows": int(b["n_rows"][i]),
                "drift_share": _finite(b["drift_share"][i]),
                "drifted": bool(b["drifted"][i]),
                "realized": _finite(perf["realized"][i]) if perf else None,
                "estimated": _finite(perf["estimated"][i]) if perf else None,
            }
            for i in range(len(b["batch_id"]))
        ],
        "reference": _finite(perf["reference"]) if perf else None,
        "band": [_finite(perf["band_lower"]), _finite(perf["band_upper"])] if perf else None,
    }
    approvals = [e for e in events if e["action"].startswith(_APPROVAL_ACTIONS)]
    for e in approvals:
        for k in ("before", "after"):
            e[k] = json.loads(e[k]) if e[k] else None
    facts: dict[str, Any] = {
        "version": {
            "ref": v.ref,
            "name": v.name,
            "version": v.version,
            "estimator_class": v.estimator_class,
            "format": v.format,
            "size": v.size,
            "sha256": v.sha256,
            "status": v.status,
            "aliases": list(v.aliases),
            "tags": v.tags,
            "created_at": v.created_at,
            "created_by": v.created_by,
        },
        "model": {
            "task": task,
            "purpose": description or v.tags.get("purpose"),
            "owner": v.tags.get("owner") or v.created_by,
        },
        "data": data,
        "training": training,
        "validations": validations,
        "monitoring": monitoring,
        "approvals": approvals,
    }
    facts["limitations"] = _limitations(facts)
    facts["hashes"] = {
        "model_sha256": v.sha256,
        "training_data_fingerprint": data["fingerprint"],
        "training_snapshot_sha256": data["snapshot_sha256"],
        "validation_data": [x["data_fingerprint"] for x in validations],
        "validation_predictions": [x["predictions_sha256"] for x in validations],
        # the registry's signed audit head: an outside copy for the reader to keep
        "registry_head": head_line(sign_head(registry)),
    }
    progress(1.0, "facts gathered")
    return facts


def _period(registry: Registry, lin: dict[str, Any], recipe: dict[str, Any]) -> str | None:
    """First and last timestamp of the training data, when a time column is known."""
    col = recipe.get("time_column") or (recipe.get("split") or {}).get("time_column")
    snap = lin.get("snapshot_sha256")
    if not col or not isinstance(snap, str) or not registry.artifacts.has(snap):
        return None

    path = str(registry.artifacts.verify(snap)).replace("'", "''")
    try:
        con = duck_connect()
        try:
            lo, hi = con.execute(
                f'SELECT min("{col}"), max("{col}") FROM read_parquet(\'{path}\')'
            ).fetchall()[0]
        finally:
            con.close()
    except duckdb.Error:
        return None
    return f"{lo} to {hi}" if lo is not None else None


def _limitations(f: dict[str, Any]) -> list[str]:
    """Limitations that follow from the facts; the template may add the owner's own."""
    out = []
    v, vals, mon = f["version"], f["validations"], f["monitoring"]
    if v["status"] != "ok":
        out.append(f"The version's status is '{v['status']}': it needs review before use.")
    if not vals:
        out.append("The version has not been validated on held-out data in this registry.")
    elif len({x["data_fingerprint"] for x in vals}) == 1:
        out.append(
            f"Validated on one data set only ({vals[0]['rows']} rows); performance on other "
            "populations is unknown."
        )
    for x in vals[-1:]:
        for k, (lo, hi) in x["intervals"].items():
            if hi - lo > 0.1:
                out.append(
                    f"The 95% interval of {k} is wide ({lo:.3f} to {hi:.3f}): more validation "
                    "data would narrow it."
                )
    drifted = [b["name"] for b in mon["batches"] if b["drifted"]]
    if drifted:
        out.append(
            f"Data drift was detected in {len(drifted)} of {len(mon['batches'])} monitored "
            f"batches (first: {drifted[0]})."
        )
    est = [
        b["name"] for b in mon["batches"] if b["realized"] is None and b["estimated"] is not None
    ]
    if est:
        out.append(
            f"Performance of {len(est)} recent batch(es) is estimated from the model's own "
            "probabilities; labels have not arrived yet."
        )
    if not mon["batches"]:
        out.append("No production data has been monitored yet.")
    if not f["data"]["fingerprint"]:
        out.append(
            "The training data is not recorded (the model was registered, not trained here)."
        )
    return out
