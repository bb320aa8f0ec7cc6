"""Time series of monitoring results for charts, as NumPy arrays.

Charts are views over these snapshots; they never query DuckDB themselves.
Every function is one small indexed read (fast enough for a timer-driven
refresh, but call it from a worker, not the GUI thread). Batches are ordered
by ``batch_time`` then id; all arrays of one call share that order.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from modelward.core.errors import NotFound
from modelward.core.monitoring.profile import NumericProfile
from modelward.core.monitoring.service import get_profile

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = ["batches", "drift_matrix", "histograms", "performance_series", "version_id_of"]


def version_id_of(reg: Registry, ref: str) -> int:
    """The version id of ``NAME``, ``NAME:N`` or ``NAME@ALIAS``."""
    return reg.resolve(ref).id


def batches(reg: Registry, version_id: int) -> dict[str, np.ndarray]:
    """One entry per checked batch.

    Returns
    -------
    dict
        ``batch_id`` int64, ``name`` and ``batch_time`` object (str),
        ``n_rows`` int64, ``drift_share`` float64, ``drifted`` bool,
        ``prediction_statistic`` float64 (NaN: no score), ``prediction_drifted`` bool,
        ``multivariate_error``/``multivariate_threshold`` float64,
        ``multivariate_drifted`` bool, ``has_labels`` bool.
    """
    with reg._read() as cur:
        d = cur.execute(
            "SELECT id AS batch_id, name, batch_time, n_rows, drift_share, drifted, "
            "coalesce(prediction_statistic, 'NaN'::DOUBLE) AS prediction_statistic, "
            "coalesce(prediction_drifted, false) AS prediction_drifted, "
            "coalesce(multivariate_error, 'NaN'::DOUBLE) AS multivariate_error, "
            "coalesce(multivariate_threshold, 'NaN'::DOUBLE) AS multivariate_threshold, "
            "coalesce(multivariate_drifted, false) AS multivariate_drifted, has_labels "
            "FROM mon_batches WHERE version_id = ? ORDER BY batch_time, id",
            [version_id],
        ).fetchnumpy()
    return {k: np.asarray(v) for k, v in d.items()}


def drift_matrix(reg: Registry, version_id: int, value: str = "statistic") -> dict[str, Any]:
    """Feature × batch matrices for the drift heatmap.

    Parameters
    ----------
    value
        ``statistic`` (the chosen method's value), ``ratio`` (statistic over
        threshold; >= 1 means drifted, for distance methods) or ``p_value``.

    Returns
    -------
    dict
        ``features`` list[str] (F), ``batch_id`` int64 (B), ``value`` float64
        (F, B) (NaN where a feature was not checked), ``drifted`` bool (F, B),
        ``severity`` object (F, B) ('ok', 'amber', 'red', ''), ``method``
        object (F, B).
    """
    b = batches(reg, version_id)
    ids = b["batch_id"]
    with reg._read() as cur:
        d = cur.execute(
            "SELECT f.batch_id, f.feature, f.method, coalesce(f.statistic, 'NaN'::DOUBLE) AS s, "
            "coalesce(f.threshold, 'NaN'::DOUBLE) AS t, coalesce(f.p_value, 'NaN'::DOUBLE) AS p, "
            "f.drifted, f.severity FROM mon_feature_drift f JOIN mon_batches b ON b.id = f.batch_id "
            "WHERE b.version_id = ?",
            [version_id],
        ).fetchnumpy()
    feats = list(dict.fromkeys(np.asarray(d["feature"]).tolist()))
    fi = {f: i for i, f in enumerate(feats)}
    bi = {int(x): j for j, x in enumerate(ids.tolist())}
    shape = (len(feats), len(ids))
    val = np.full(shape, np.nan)
    drifted = np.zeros(shape, dtype=bool)
    severity = np.full(shape, "", dtype=object)
    method = np.full(shape, "", dtype=object)
    s, t, p = np.asarray(d["s"]), np.asarray(d["t"]), np.asarray(d["p"])
    for k, (bid, f) in enumerate(
        zip(np.asarray(d["batch_id"]).tolist(), np.asarray(d["feature"]).tolist(), strict=True)
    ):
        i, j = fi[f], bi[int(bid)]
        m = str(d["method"][k])
        method[i, j] = m
        if value == "ratio":
            val[i, j] = s[k] / t[k] if m not in ("ks", "chi2") and t[k] > 0 else np.nan
        elif value == "p_value":
            val[i, j] = p[k]
        else:
            val[i, j] = s[k]
        drifted[i, j] = bool(d["drifted"][k])
        severity[i, j] = str(d["severity"][k])
    return {
        "features": feats,
        "batch_id": ids,
        "value": val,
        "drifted": drifted,
        "severity": severity,
        "method": method,
    }


def performance_series(reg: Registry, version_id: int, metric: str = "roc_auc") -> dict[str, Any]:
    """Realized and estimated values of one metric per batch, with the reference band.

    Returns
    -------
    dict
        ``batch_id`` int64 (B), ``realized`` and ``estimated`` float64 (B)
        (NaN where there is none; a batch whose late labels arrived has
        both), ``reference`` float (the reference's value or NaN),
        ``band_lower``/``band_upper`` float (mean ± 3σ over reference
        chunks, NaN when unknown).
    """

    b = batches(reg, version_id)
    ids = b["batch_id"]
    bi = {int(x): j for j, x in enumerate(ids.tolist())}
    out = {"realized": np.full(len(ids), np.nan), "estimated": np.full(len(ids), np.nan)}
    with reg._read() as cur:
        rows = cur.execute(
            "SELECT p.batch_id, p.kind, p.value FROM mon_performance p "
            "JOIN mon_batches b ON b.id = p.batch_id WHERE b.version_id = ? AND p.metric = ?",
            [version_id, metric],
        ).fetchall()
    for bid, kind, value in rows:
        if kind in out and value is not None:
            out[kind][bi[int(bid)]] = value
    prof = get_profile(reg, version_id)
    band = (prof.model.get("bands", {}) if prof else {}).get(metric)
    ref = (prof.model.get("reference", {}) if prof else {}).get(metric, np.nan)
    return {
        "batch_id": ids,
        "realized": out["realized"],
        "estimated": out["estimated"],
        "reference": float(ref),
        "band_lower": band["mean"] - 3 * band["std"] if band else np.nan,
        "band_upper": band["mean"] + 3 * band["std"] if band else np.nan,
    }


def histograms(reg: Registry, batch_id: int, feature: str) -> dict[str, Any]:
    """Reference and current distribution of one feature in one batch (heatmap click).

    Returns
    -------
    dict
        ``kind``; ``reference`` and ``current`` float64 proportions over the
        same bins; numeric: ``edges`` float64 (E,) with bins ``(edges[i-1],
        edges[i]]`` plus a below-range bin 0 and an above-range bin E;
        categorical: ``labels`` list[str] (the last is "(unseen)").
    """

    with reg._read() as cur:
        rows = cur.execute(
            "SELECT b.version_id, f.counts FROM mon_feature_drift f JOIN mon_batches b "
            "ON b.id = f.batch_id WHERE f.batch_id = ? AND f.feature = ?",
            [batch_id, feature],
        ).fetchall()
    if not rows:
        raise NotFound(f"batch {batch_id} has no result for column {feature!r}")
    prof = get_profile(reg, int(rows[0][0]))
    if prof is None or feature not in prof.features:
        raise NotFound(f"no reference profile for column {feature!r}")
    p = prof.features[feature]
    ref = p.total_counts.astype(np.float64)
    cur_counts = np.asarray(json.loads(rows[0][1]), dtype=np.float64)
    out: dict[str, Any] = {
        "kind": p.kind,
        "reference": ref / max(ref.sum(), 1.0),
        "current": cur_counts / max(cur_counts.sum(), 1.0),
    }
    if isinstance(p, NumericProfile):
        out["edges"] = p.edges
    else:
        out["labels"] = [*p.categories, "(unseen)"]
    return out
