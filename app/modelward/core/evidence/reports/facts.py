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

import modelward.core.monitoring.series as _series
from modelward.core import duck
from modelward.core.compute.compare import _metric_on_rows, evaluate_gates, parse_gate
from modelward.core.compute.validation import ensure_intervals, load_validation
from modelward.core.duck import connect as duck_connect
from modelward.core.errors import InvalidInput
from modelward.core.evidence.head import head_line, sign_head
from modelward.core.monitoring.snapshot import latest_groups
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = ["CURVE_KEYS", "gather_facts", "metric_intervals", "threshold_matrix"]

# what a report shows of a validation's stored curves (the rest, e.g. residual
# points, stays in the registry)
CURVE_KEYS = (
    "roc",
    "pr",
    "calibration",
    "confusion_matrix",
    "classes",
    "explanations",
    "intervals",
    "interval_method",
    "lift",
    "gains",
    "bands",
    "calibration_test",
)

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
    ROC AUC, Gini, KS, average precision, log loss, Brier score, R², RMSE and
    MAE (those present in ``metrics``).
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
        own = _row_metric(key, p)
        if own is not None:
            fns[key] = own
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


def _row_metric(key: str, p: Any) -> Callable[[Any], float] | None:
    """``idx -> metric`` in plain numpy, equal to scikit-learn's, or ``None``.

    scikit-learn's per-call checks cost about a millisecond each; a report
    bootstraps seven metrics 200 times, so the common ones are computed here
    (a test holds them equal to scikit-learn on the same resamples).
    """
    import numpy as np  # deferred: start-up cost

    if p.task != "classification":
        t = np.asarray(p.y_true, dtype=float)
        err = t - np.asarray(p.y_pred, dtype=float)
        if key == "rmse":
            return lambda idx: float(np.sqrt(np.mean(err[idx] ** 2)))
        if key == "mae":
            return lambda idx: float(np.mean(np.abs(err[idx])))
        if key == "r2":
            return lambda idx: _r2(t[idx], err[idx])
        return None
    yt, yp = np.asarray(p.y_true), np.asarray(p.y_pred)
    if key == "balanced_accuracy":
        return lambda idx: _balanced_accuracy(yt[idx], yp[idx])
    score = p.positive_score()
    if score is None or not p.binary:
        return None
    pos = p.classes[1]
    y = yt == pos
    s = np.asarray(score, dtype=float)
    if key == "f1":
        hit = yp == pos
        return lambda idx: _f1(y[idx], hit[idx])
    if key in ("roc_auc", "gini"):
        k = 2.0 if key == "gini" else 1.0
        return lambda idx: k * _auc(s[idx], y[idx]) - (k - 1.0)
    if key == "average_precision":
        return lambda idx: _average_precision(s[idx], y[idx])
    if key == "ks":
        return lambda idx: _ks(s[idx], y[idx])
    if p.proba is None or key not in ("brier_score_loss", "log_loss"):
        return None
    q = np.clip(s, 1e-15, 1 - 1e-15)
    if key == "brier_score_loss":
        return lambda idx: float(np.mean((q[idx] - y[idx]) ** 2))
    return lambda idx: float(-np.mean(np.where(y[idx], np.log(q[idx]), np.log(1 - q[idx]))))


def _r2(t: Any, err: Any) -> float:
    import numpy as np  # deferred: start-up cost

    ss_res = float(np.sum(err**2))
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0  # scikit-learn's force_finite
    return 1.0 - ss_res / ss_tot


def _balanced_accuracy(yt: Any, yp: Any) -> float:
    import numpy as np  # deferred: start-up cost

    return float(np.mean([np.mean(yp[yt == c] == c) for c in np.unique(yt)]))


def _f1(y: Any, hit: Any) -> float:
    tp = int((y & hit).sum())
    den = 2 * tp + int((~y & hit).sum()) + int((y & ~hit).sum())
    return 2 * tp / den if den else 0.0


def _auc(score: Any, positive: Any) -> float:
    """ROC AUC as the Mann-Whitney statistic (tied scores share their mean rank)."""
    import numpy as np  # deferred: start-up cost

    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    first = np.r_[True, s[1:] != s[:-1]]
    starts = np.nonzero(first)[0]
    ends = np.r_[starts[1:], len(s)]
    ranks = ((starts + ends + 1) / 2.0)[np.cumsum(first) - 1]  # 1-based mean rank per tie group
    return float((ranks[positive[order]].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _average_precision(score: Any, positive: Any) -> float:
    """Average precision as scikit-learn defines it (a step sum over distinct thresholds)."""
    import numpy as np  # deferred: start-up cost

    if not positive.any() or positive.all():
        return float("nan")
    order = np.argsort(-score, kind="mergesort")
    s, y = score[order], positive[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tps = np.cumsum(y)[last]
    precision = tps / (last + 1)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _ks(score: Any, positive: Any) -> float:
    """The Kolmogorov-Smirnov distance between the scores of positives and negatives."""
    import numpy as np  # deferred: start-up cost

    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    s, pos = score[order], positive[order]
    cum_pos, cum_neg = np.cumsum(pos) / n_pos, np.cumsum(~pos) / n_neg
    last = np.r_[s[1:] != s[:-1], True]  # compare the CDFs after each distinct score
    return float(np.max(np.abs(cum_pos[last] - cum_neg[last])))


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
    features = (v.signature or {}).get("features") or (v.signature or {}).get("columns") or []
    td = lin.get("training_data")
    logged: dict[str, Any] = td if isinstance(td, dict) else {}
    data = {
        "source": lin.get("data") or lin.get("source"),
        "fingerprint": lin.get("data_fingerprint") or logged.get("fingerprint"),
        "rows": lin.get("data_rows") or logged.get("rows"),
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
    threshold = decision_threshold(v)
    for i, vid in enumerate(val_ids):
        check(cancel)
        progress(0.1 + 0.7 * i / max(len(val_ids), 1), "confidence intervals")
        newest = vid == val_ids[-1]
        res = load_validation(
            registry, vid, predictions=newest and (n_boot > 0 or threshold is not None)
        )
        if res.curves.get("intervals_deferred"):  # a compare's: what validate would store
            res = ensure_intervals(registry, vid, store=False, cancel=cancel)
        ci = (
            metric_intervals(res.predictions, res.metrics, n_boot=n_boot, cancel=cancel)
            if res.predictions is not None and n_boot > 0
            else {}
        )
        stored = res.curves.get("intervals") or {}
        intervals: dict[str, list[float]] = {k: list(x) for k, x in ci.items()}
        methods = {k: f"percentile bootstrap, {n_boot} resamples" for k in intervals}
        for k, pair in stored.items() if isinstance(stored, dict) else ():
            lo, hi = (_finite(x) for x in (list(pair) + [None, None])[:2])
            if lo is not None and hi is not None:
                # the interval stored with the validation is the one filed
                intervals[k] = [lo, hi]
                methods[k] = str(res.curves.get("interval_method") or "stored with the validation")
        entry: dict[str, Any] = {
            "id": vid,
            "data_fingerprint": res.data_fingerprint,
            "data_source": res.data_source,
            "rows": res.rows,
            "target": res.target,
            "task": res.task,
            "metrics": res.metrics,
            "intervals": intervals,
            "interval_methods": methods,
            "n_boot": n_boot if ci else 0,
            "curves": {k: res.curves[k] for k in CURVE_KEYS if k in res.curves},
            "predictions_sha256": res.predictions_sha256,
        }
        if newest and threshold is not None and res.predictions is not None:
            entry["threshold"] = threshold_matrix(res.predictions, float(threshold["threshold"]))
        validations.append(entry)
    progress(0.85, "monitoring history")
    b = _series.batches(registry, v.id)
    metric = "roc_auc" if (task or "classification") == "classification" else "r2"
    perf = _series.performance_series(registry, v.id, metric) if len(b["batch_id"]) else None
    monitoring: dict[str, Any] = {
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
    groups, segments, groups_batch = latest_groups(registry, v.id)
    monitoring = {
        **monitoring,
        "groups": groups,
        "segments": segments,
        "groups_batch": groups_batch,
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
            "task": task or (validations[-1]["task"] if validations else None),
            "purpose": description or v.tags.get("purpose"),
            "owner": v.tags.get("owner") or v.created_by,
        },
        "data": data,
        "training": training,
        "validations": validations,
        "monitoring": monitoring,
        "approvals": approvals,
        "decision_threshold": threshold,
        "gates": _gates(registry, v, validations),
    }
    facts["limitations"] = _limitations(facts)
    head = sign_head(registry)
    facts["hashes"] = {
        "model_sha256": v.sha256,
        "training_data_fingerprint": data["fingerprint"],
        "training_snapshot_sha256": data["snapshot_sha256"],
        "validation_data": [x["data_fingerprint"] for x in validations],
        "validation_predictions": [x["predictions_sha256"] for x in validations],
        # the registry's signed audit head: an outside copy for the reader to keep
        "registry_head": head_line(head),
    }
    facts["audit_head"] = head
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
    except duck.Error:
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


def decision_threshold(version: Any) -> dict[str, Any] | None:
    """The decision threshold stored with a version, wherever it was put, or ``None``.

    Read tolerantly: a ``decision_threshold`` key in the version's metadata,
    lineage or tags, as a mapping (``threshold``, ``cost_fp``, ``cost_fn``,
    ``set_by``, ``set_at``), a JSON text of one, or a bare number.
    """
    for holder in ("metadata", "meta", "lineage", "tags", "signature"):
        d = getattr(version, holder, None)
        raw = d.get("decision_threshold") if isinstance(d, dict) else None
        if raw is None:
            continue
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                continue
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = {"threshold": raw}
        if isinstance(raw, dict) and _finite(raw.get("threshold")) is not None:
            return {**raw, "threshold": float(raw["threshold"])}
    return None


def threshold_matrix(predictions: Any, threshold: float) -> dict[str, Any] | None:
    """Confusion matrix and rates of a binary classifier's scores cut at ``threshold``.

    Returns ``None`` when the predictions have no positive-class score.
    ``matrix`` is ``[[tn, fp], [fn, tp]]`` (rows: true class, columns: decision).
    """
    import numpy as np  # deferred: start-up cost

    score = predictions.positive_score()
    if score is None:
        return None
    classes = list(predictions.classes)
    y = np.asarray(predictions.y_true) == classes[1]
    hit = np.asarray(score, dtype=float) >= threshold
    tp, fp = int(np.sum(hit & y)), int(np.sum(hit & ~y))
    fn, tn = int(np.sum(~hit & y)), int(np.sum(~hit & ~y))
    n = max(tp + fp + fn + tn, 1)
    return {
        "threshold": threshold,
        "classes": [str(c) for c in classes],
        "matrix": [[tn, fp], [fn, tp]],
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "flagged_share": (tp + fp) / n,
    }


def _gates(registry: Registry, v: Any, validations: list[dict[str, Any]]) -> dict[str, Any]:
    """The model's policy gates checked against this version's records.

    A threshold gate is evaluated on the newest validation's metrics with the
    comparison module's own :func:`evaluate_gates`; a "not worse than the
    champion" gate can only be read from a stored comparison in which this
    version was the challenger.
    """
    with registry.read() as cur:
        try:
            row = cur.execute(
                "SELECT policy FROM pol_policies WHERE model_name = ?", [v.name]
            ).fetchall()
        except duck.Error:
            row = []
        comps = cur.execute(
            "SELECT id, gates, promotion_allowed, created_at FROM comparisons "
            "WHERE challenger_version_id = ? ORDER BY id DESC LIMIT 1",
            [v.id],
        ).fetchall()
    texts: list[str] = []
    if row:
        try:
            texts = [str(g) for g in (json.loads(row[0][0]).get("gates") or [])]
        except (ValueError, AttributeError):
            texts = []
    compared = {}
    comparison = None
    if comps:
        cid, gtext, allowed, at = comps[0]
        stored = json.loads(gtext or "[]")
        compared = {str(g.get("gate")): g for g in stored if isinstance(g, dict)}
        comparison = {"id": int(cid), "promotion_allowed": bool(allowed), "at": at}
        texts += [g for g in compared if g not in texts]
    metrics = validations[-1]["metrics"] if validations else {}
    results: list[dict[str, Any]] = []
    for text in texts:
        try:
            gate = parse_gate(text)
        except InvalidInput as e:
            results.append({"gate": text, "passed": None, "detail": str(e), "source": "policy"})
            continue
        if gate.kind == "not_worse":
            got = compared.get(str(gate)) or compared.get(text)
            if got is None:
                results.append(
                    {
                        "gate": str(gate),
                        "passed": None,
                        "detail": "needs a comparison with the champion; none is stored",
                        "source": "–",
                    }
                )
            else:
                results.append(
                    {
                        "gate": str(gate),
                        "passed": bool(got.get("passed")),
                        "detail": str(got.get("detail") or ""),
                        "source": f"comparison {comparison['id'] if comparison else ''}",
                    }
                )
            continue
        if not validations:
            results.append(
                {
                    "gate": str(gate),
                    "passed": None,
                    "detail": "no stored validation",
                    "source": "policy",
                }
            )
            continue
        r = evaluate_gates([gate], metrics, [])[0]
        results.append(
            {
                "gate": r.gate,
                "passed": r.passed,
                "detail": r.detail,
                "source": f"validation {validations[-1]['id']}",
            }
        )
    return {"results": results, "comparison": comparison}
