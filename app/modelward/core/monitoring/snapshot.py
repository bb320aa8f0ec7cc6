"""One read of everything the monitoring views show, and the tables they export.

The window's monitoring page draws a :class:`MonitoringSnapshot`; it never
queries the registry itself. :func:`load_snapshot` runs on a worker (a few
small indexed reads), :func:`chart_table` turns a snapshot into the rows a
chart exports as CSV, and :func:`write_csv` writes them (a job).
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

import modelward.core.monitoring.series as series
from modelward.core import platform
from modelward.core.errors import InvalidInput
from modelward.core.monitoring.performance import METRICS_BY_KIND, MULTICLASS, PRIMARY_METRIC
from modelward.core.monitoring.service import get_profile, stored_kind
from modelward.core.text import csv_cell

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = [
    "CHARTS",
    "MonitoringSnapshot",
    "chart_table",
    "drift_details",
    "histogram_table",
    "load_snapshot",
    "monitored_versions",
    "write_csv",
]

#: Charts of the monitoring page that export their data.
CHARTS = ("performance", "drift_share", "heatmap", "multivariate", "groups")
DEFAULT_SHARE_THRESHOLD = 0.5


@dataclass(frozen=True)
class MonitoringSnapshot:
    """The monitoring series of one version at one audit head (plain arrays only)."""

    ref: str
    version_id: int
    metric: str
    head: int
    batches: dict[str, np.ndarray]
    performance: dict[str, Any]
    matrix: dict[str, Any]
    details: dict[str, Any]
    metrics: tuple[str, ...] = ()
    times: np.ndarray = field(default_factory=lambda: np.empty(0))
    kind: str = ""  # binary | multiclass | regression ("" when the profile does not say)
    # the latest batch's protected-group gaps and segments (see ``check_batch``), with its name
    groups: dict[str, Any] = field(default_factory=dict)
    segments: dict[str, Any] = field(default_factory=dict)
    groups_batch: str = ""

    @property
    def n_batches(self) -> int:
        return len(self.batches["batch_id"])


def monitored_versions(reg: Registry) -> list[str]:
    """Refs (``NAME:N``) of the versions with a reference profile: champions first, then by
    most recent batch."""
    return [ref for ref, _aliases in monitored_version_rows(reg)]


def monitored_version_rows(reg: Registry) -> list[tuple[str, list[str]]]:
    """``(ref, aliases)`` of every profiled version, champions first, then by most recent batch.

    The monitoring page opens on the first one (a champion, never an
    unaliased old version while a champion is monitored) and marks the aliases in its list.
    """
    with reg._read() as cur:
        rows = cur.execute(
            "WITH al AS (SELECT version_id, list(alias ORDER BY alias) AS aliases "
            "FROM aliases GROUP BY version_id), "
            "mv AS (SELECT m.name, v.version, max(b.batch_time) AS last, "
            "any_value(coalesce(al.aliases, [])) AS aliases FROM mon_profiles p "
            "JOIN versions v ON v.id = p.version_id JOIN models m ON m.id = v.model_id "
            "LEFT JOIN al ON al.version_id = v.id "
            "LEFT JOIN mon_batches b ON b.version_id = p.version_id "
            "GROUP BY m.name, v.version) "
            "SELECT name, version, last, aliases FROM mv "
            "ORDER BY list_contains(aliases, 'champion') DESC, len(aliases) > 0 DESC, "
            "last DESC NULLS LAST, name, version DESC"
        ).fetchall()
    return [(f"{name}:{ver}", list(aliases or [])) for name, ver, _last, aliases in rows]


def drift_details(reg: Registry, version_id: int, features: list[str]) -> dict[str, Any]:
    """What the heatmap tooltip explains, per feature × batch (same order as ``drift_matrix``).

    Returns
    -------
    dict
        F×B object arrays ``reason`` (why the method was chosen) and
        ``threshold_source``; F×B float arrays ``statistic``, ``p_value``
        (NaN: none), ``threshold``; B arrays ``share_threshold`` (the share
        of drifted features above which a batch is drifted).
    """
    b = series.batches(reg, version_id)
    ids = [int(x) for x in b["batch_id"].tolist()]
    fi = {f: i for i, f in enumerate(features)}
    shape = (len(features), len(ids))
    out: dict[str, Any] = {
        "reason": np.full(shape, "", dtype=object),
        "threshold_source": np.full(shape, "", dtype=object),
        "statistic": np.full(shape, np.nan),
        "p_value": np.full(shape, np.nan),
        "threshold": np.full(shape, np.nan),
        "share_threshold": np.full(len(ids), DEFAULT_SHARE_THRESHOLD),
    }
    if not ids:
        return out
    with reg._read() as cur:
        rows = cur.execute(
            "SELECT id, report FROM mon_batches WHERE version_id = ?", [version_id]
        ).fetchall()
    col = {bid: j for j, bid in enumerate(ids)}

    def num(v: Any) -> float:
        return float(v) if v is not None else math.nan

    for bid, text in rows:
        j = col.get(int(bid))
        if j is None:
            continue
        rep = json.loads(text or "{}")
        out["share_threshold"][j] = num(rep.get("share_threshold", DEFAULT_SHARE_THRESHOLD))
        for f in rep.get("features", []):
            i = fi.get(f.get("name"))
            if i is None:
                continue
            out["reason"][i, j] = f.get("reason") or ""
            out["threshold_source"][i, j] = f.get("threshold_source") or ""
            out["statistic"][i, j] = num(f.get("statistic"))
            p = f.get("p_adjusted") if f.get("p_adjusted") is not None else f.get("p_value")
            out["p_value"][i, j] = num(p)
            out["threshold"][i, j] = num(f.get("threshold"))
    return out


def _metrics(reg: Registry, version_id: int, kind: str = "") -> tuple[str, ...]:
    """The metrics stored for a version: the kind's own set first, in its order."""
    with reg._read() as cur:
        rows = cur.execute(
            "SELECT DISTINCT p.metric FROM mon_performance p JOIN mon_batches b "
            "ON b.id = p.batch_id WHERE b.version_id = ? ORDER BY 1",
            [version_id],
        ).fetchall()
    names = [str(r[0]) for r in rows]
    if kind in METRICS_BY_KIND:
        own = METRICS_BY_KIND[kind]
        # batches stored before kinds were kept may hold another kind's metrics: leave them out
        names = [m for m in own if m in names] + [
            m for m in names if m.startswith("recall[") and kind == MULTICLASS
        ]
    return tuple(names)


def _kind(reg: Registry, version_id: int) -> str:
    prof = get_profile(reg, version_id)
    k = stored_kind(prof) if prof is not None else None
    return k.kind if k is not None else ""


def batch_times(values: np.ndarray) -> np.ndarray:
    """Batch times (ISO text) as POSIX seconds; unreadable ones become NaN."""
    out = np.full(len(values), np.nan)
    for k, v in enumerate(values.tolist()):
        try:
            t = np.datetime64(str(v).replace("Z", "").split("+")[0], "s")
        except ValueError:
            continue
        out[k] = t.astype("int64")
    return out


def load_snapshot(reg: Registry, ref: str, metric: str = "roc_auc") -> MonitoringSnapshot:
    """Read the monitoring series of ``ref`` (run on a worker, not the GUI thread).

    Parameters
    ----------
    reg
        The registry.
    ref
        ``NAME:N``, ``NAME@ALIAS`` or ``NAME``.
    metric
        The performance metric to follow; when the version has no value for
        it, the primary metric of the model's kind (ROC AUC, accuracy, RMSE)
        is used instead, else the first metric it has.

    Raises
    ------
    NotFound
        ``ref`` does not resolve.
    """
    with reg.session():
        head = reg.audit_head()
        v = reg.resolve(ref)
        kind = _kind(reg, v.id)
        metrics = _metrics(reg, v.id, kind)
        if metrics and metric not in metrics:
            primary = PRIMARY_METRIC.get(kind, "roc_auc")
            metric = primary if primary in metrics else metrics[0]
        b = series.batches(reg, v.id)
        perf = series.performance_series(reg, v.id, metric)
        matrix = series.drift_matrix(reg, v.id, "statistic")
        ratio = series.drift_matrix(reg, v.id, "ratio")["value"]
        details = drift_details(reg, v.id, matrix["features"])
        groups, segments, groups_batch = latest_groups(reg, v.id)
    details["ratio"] = ratio
    return MonitoringSnapshot(
        ref=v.ref,
        version_id=v.id,
        metric=metric,
        head=head,
        batches=b,
        performance=perf,
        matrix=matrix,
        details=details,
        metrics=metrics,
        times=batch_times(b["batch_time"]),
        kind=kind,
        groups=groups,
        segments=segments,
        groups_batch=groups_batch,
    )


def latest_groups(reg: Registry, version_id: int) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The protected-group gaps and segments of the latest batch that has either, and its name."""
    with reg._read() as cur:
        rows = cur.execute(
            "SELECT name, json_extract(report, '$.groups'), json_extract(report, '$.segments') "
            "FROM mon_batches WHERE version_id = ? "
            "AND (json_extract(report, '$.groups.column') IS NOT NULL "
            "OR json_extract(report, '$.segments.column') IS NOT NULL) "
            "ORDER BY batch_time DESC, id DESC LIMIT 1",
            [version_id],
        ).fetchall()
    if not rows:
        return {}, {}, ""
    name, g, sg = rows[0]
    return json.loads(g) if g else {}, json.loads(sg) if sg else {}, str(name)


def _cell(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return "" if not math.isfinite(float(v)) else repr(float(v))
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, np.integer):
        return int(v)
    return v


def chart_table(snap: MonitoringSnapshot, chart: str) -> tuple[list[str], list[list[Any]]]:
    """The data behind one chart as a header and rows (what its CSV export writes).

    Parameters
    ----------
    chart
        One of :data:`CHARTS`.
    """
    b = snap.batches
    key = ["batch_id", "batch", "batch_time"]
    base = [
        [int(b["batch_id"][j]), str(b["name"][j]), str(b["batch_time"][j])]
        for j in range(snap.n_batches)
    ]
    if chart == "performance":
        p = snap.performance
        header = [*key, "metric", "realized", "estimated", "reference", "band_lower", "band_upper"]
        rows = [
            [
                *base[j],
                snap.metric,
                p["realized"][j],
                p["estimated"][j],
                p["reference"],
                p["band_lower"],
                p["band_upper"],
            ]
            for j in range(snap.n_batches)
        ]
    elif chart == "drift_share":
        header = [*key, "n_rows", "drift_share", "share_threshold", "drifted"]
        rows = [
            [
                *base[j],
                b["n_rows"][j],
                b["drift_share"][j],
                snap.details["share_threshold"][j],
                b["drifted"][j],
            ]
            for j in range(snap.n_batches)
        ]
    elif chart == "multivariate":
        header = [*key, "reconstruction_error", "threshold", "drifted"]
        rows = [
            [
                *base[j],
                b["multivariate_error"][j],
                b["multivariate_threshold"][j],
                b["multivariate_drifted"][j],
            ]
            for j in range(snap.n_batches)
        ]
    elif chart == "heatmap":
        m, d = snap.matrix, snap.details
        header = [
            *key,
            "feature",
            "method",
            "statistic",
            "p_value",
            "threshold",
            "drifted",
            "severity",
            "reason",
            "threshold_source",
        ]
        rows = [
            [
                *base[j],
                f,
                m["method"][i, j],
                d["statistic"][i, j],
                d["p_value"][i, j],
                d["threshold"][i, j],
                m["drifted"][i, j],
                m["severity"][i, j],
                d["reason"][i, j],
                d["threshold_source"][i, j],
            ]
            for j in range(snap.n_batches)
            for i, f in enumerate(m["features"])
            if m["method"][i, j]
        ]
    elif chart == "groups":
        header = ["batch", "attribute", "group", "rows", "selection_rate", "true_positive_rate"]
        header += ["calibration", "drift_share"]
        g, sg = snap.groups, snap.segments
        rows = [
            [
                snap.groups_batch,
                g.get("column", ""),
                k,
                m.get("n"),
                m.get("selection_rate"),
                m.get("true_positive_rate"),
                m.get("calibration"),
                None,
            ]
            for k, m in (g.get("by_group") or {}).items()
        ]
        rows += [
            [snap.groups_batch, sg.get("column", ""), e["segment"], e["rows"], None, None, None]
            + [e.get("drift_share")]
            for e in sg.get("segments") or []
        ]
    else:
        raise InvalidInput(f"unknown chart {chart!r}; use one of {', '.join(CHARTS)}")
    return header, [[_cell(v) for v in r] for r in rows]


def histogram_table(hist: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Reference and current proportions of one feature in one batch, one row per bin."""
    ref, cur = hist["reference"], hist["current"]
    if "edges" in hist:
        e = [float(x) for x in hist["edges"]]
        lo = [-math.inf, *e]
        hi = [*e, math.inf]
        header = ["bin", "lower", "upper", "reference", "current"]
        rows = [[k, lo[k], hi[k], ref[k], cur[k]] for k in range(len(ref))]
    else:
        header = ["bin", "category", "reference", "current"]
        rows = [[k, hist["labels"][k], ref[k], cur[k]] for k in range(len(ref))]
    return header, [[_cell(v) for v in r] for r in rows]


def write_csv(path: str | os.PathLike[str], header: list[str], rows: list[list[Any]]) -> str:
    """Write a table as UTF-8 CSV (replaced atomically); returns the path."""
    target = os.fspath(path)
    tmp = target + ".part"
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow([csv_cell(h) for h in header])
            w.writerows([csv_cell(c) for c in r] for r in rows)
        platform.replace_file(tmp, target)
    except OSError as e:
        raise InvalidInput(f"could not write {target}: {e.strerror or e}") from e
    return target
