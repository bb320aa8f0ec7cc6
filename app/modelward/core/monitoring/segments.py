"""Segments, protected groups, a batch's data time and the summary of its predictions.

* **Segments**: the rows of a batch split by one column (a region, a product,
  a score band). :func:`segments_of` names the segments from the values seen
  in the batch (the most frequent ones; a numeric column with many values is
  cut in quartile bands) and :func:`filtered` gives each one as a table of its
  own, which the batch check measures like a whole batch.
* **Group gaps**: for a declared protected attribute, the per-group selection
  rate, true-positive rate and calibration (mean score minus observed rate) of
  a binary classifier, computed with fairlearn's ``MetricFrame``, and the gaps
  between groups against thresholds (:data:`GAP_THRESHOLDS`).
* **Data time**: when the rows of a batch happened (:func:`data_time_of`):
  a date in the file name, else the earliest value of a date column, else the
  arrival time.
* **Prediction summary**: what is stored of a batch's predictions when
  row-level logging is not asked for (:func:`prediction_summary`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelward.core.errors import InvalidInput
from modelward.core.monitoring.drift import check_drift
from modelward.core.monitoring.profile import build_profile
from modelward.core.monitoring.source import (
    NUMERIC,
    TableSource,
    _connection,
    bool_text,
    open_source,
    quote,
)

__all__ = [
    "GAP_THRESHOLDS",
    "MAX_SEGMENTS",
    "Segment",
    "check_date_column",
    "column_time",
    "data_time_of",
    "date_in_name",
    "filtered",
    "group_gaps",
    "prediction_summary",
    "segment_drift",
    "segments_of",
]

MAX_SEGMENTS = 12
"""At most this many segments are measured (the most frequent values)."""

MIN_SEGMENT_ROWS = 30
"""A segment with fewer rows is listed but not measured."""

GAP_THRESHOLDS: dict[str, float] = {
    # the four-fifths rule: the lowest group's selection rate under 80 % of the highest
    "selection_rate_ratio": 0.8,
    # equal opportunity: true-positive rates more than 10 points apart
    "tpr_difference": 0.1,
    # calibration: (mean score - observed rate) more than 10 points apart between groups
    "calibration_difference": 0.1,
}


# --------------------------------------------------------------------------- segments
@dataclass(frozen=True)
class Segment:
    """One segment: its label, the SQL condition and the row test that select it."""

    label: str
    where: str
    lo: float | None = None
    hi: float | None = None
    value: str | None = None

    def mask(self, values: np.ndarray) -> np.ndarray:
        """The rows of ``values`` (the segment column) in this segment."""
        if self.lo is not None or self.hi is not None:
            v = np.asarray(values, dtype=np.float64)
            out = np.ones(len(v), dtype=bool)
            if self.lo is not None:
                out &= v >= self.lo
            if self.hi is not None:
                out &= v < self.hi
            return out
        as_text = _as_text(values)
        return np.asarray(
            as_text == (self.value if self.value is not None else "(missing)"), dtype=bool
        )


def _as_text(values: Any) -> np.ndarray:
    if not isinstance(values, np.ndarray):
        values = np.asarray(values.to_pylist(), dtype=object)
    if values.dtype.kind == "f":
        out = np.array([_num_text(x) for x in values.tolist()], dtype=object)
    else:
        out = np.array(
            ["(missing)" if x is None else bool_text(x) for x in values.tolist()], dtype=object
        )
    return out


def _num_text(x: float) -> str:
    if x != x:  # NaN
        return "(missing)"
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _sql_text(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def segments_of(
    column: str, values: np.ndarray | Any, kind: str, *, max_segments: int = MAX_SEGMENTS
) -> list[Segment]:
    """The segments of ``column`` from its values in the batch.

    Parameters
    ----------
    column
        The segment column.
    values
        Its values in the batch (collected in the batch's one pass).
    kind
        ``numeric`` or ``categorical`` (the source's kind of the column).
    max_segments
        The most frequent values kept; a numeric column with more distinct
        values than this is cut in four quartile bands instead.
    """
    q = quote(column)
    text = _as_text(values)
    uniq, counts = np.unique(text, return_counts=True)
    if kind == NUMERIC and len(uniq) > max_segments:
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size == 0:
            return []
        edges = np.unique(np.quantile(v, [0.25, 0.5, 0.75]))
        bounds = [None, *[float(e) for e in edges], None]
        out = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            cond = [f"CAST({q} AS DOUBLE) >= {lo!r}" if lo is not None else None]
            cond.append(f"CAST({q} AS DOUBLE) < {hi!r}" if hi is not None else None)
            where = " AND ".join(c for c in cond if c)
            label = (
                f"< {hi:g}" if lo is None else f">= {lo:g}" if hi is None else f"{lo:g} to {hi:g}"
            )
            out.append(Segment(label, where, lo=lo, hi=hi))
        return out
    order = np.argsort(-counts, kind="stable")[:max_segments]
    out = []
    for i in order:
        value = str(uniq[i])
        if value == "(missing)":
            out.append(Segment(value, f"{q} IS NULL", value=None))
        elif kind == NUMERIC:
            out.append(Segment(value, f"CAST({q} AS DOUBLE) = {float(value)!r}", value=value))
        else:
            out.append(Segment(value, f"CAST({q} AS VARCHAR) = {_sql_text(value)}", value=value))
    return out


def filtered(src: TableSource, column: str, seg: Segment) -> TableSource:
    """The rows of ``src`` in one segment, as a table of its own."""
    if src._arrays is not None:
        mask = seg.mask(np.asarray(src._arrays[column]))
        arrays = {c: np.asarray(a)[mask] for c, a in src._arrays.items()}
        return TableSource(f"{src.label} [{column}={seg.label}]", dict(src.kinds), _arrays=arrays)
    sql = f"(SELECT * FROM {src._sql} WHERE {seg.where}) AS _mw_segment"
    return TableSource(
        f"{src.label} [{column}={seg.label}]",
        dict(src.kinds),
        _sql=sql,
        table=src.table,
        text_numbers=set(src.text_numbers),  # numbers read from text, read so here too
    )


# --------------------------------------------------------------------------- group gaps
def group_gaps(
    groups: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray | None,
    threshold: float,
    *,
    thresholds: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Per-group rates of a binary classifier and the gaps between groups.

    Parameters
    ----------
    groups
        The protected attribute of each row.
    scores
        The positive-class probability of each row.
    labels
        0/1 labels (NaN where unknown), or ``None``: then only selection rates.
    threshold
        The decision threshold (selected = score >= threshold).
    thresholds
        Limits of the gaps (default :data:`GAP_THRESHOLDS`).

    Returns
    -------
    dict
        ``by_group`` (group -> {n, selection_rate, true_positive_rate,
        calibration}), ``gaps`` (name -> {value, threshold, crossed}) and
        ``crossed`` (the names of the gaps past their threshold).
    """
    from fairlearn.metrics import MetricFrame  # deferred: start-up cost (pandas)

    limits = {**GAP_THRESHOLDS, **(thresholds or {})}
    g = _as_text(groups)
    s = np.asarray(scores, dtype=np.float64)
    have_labels = labels is not None and bool(np.isfinite(np.asarray(labels, float)).any())
    y = np.asarray(labels, dtype=np.float64) if have_labels else np.full(len(s), np.nan)
    if have_labels:
        keep = np.isfinite(y)
        g, s, y = g[keep], s[keep], y[keep]

    def selection_rate(_y: np.ndarray, p: np.ndarray) -> float:
        return float(np.mean(p >= threshold)) if len(p) else float("nan")

    def true_positive_rate(yt: np.ndarray, p: np.ndarray) -> float:
        pos = yt == 1
        return float(np.mean(p[pos] >= threshold)) if pos.any() else float("nan")

    def calibration(yt: np.ndarray, p: np.ndarray) -> float:
        return float(np.mean(p) - np.mean(yt)) if len(p) else float("nan")

    def count(_y: np.ndarray, p: np.ndarray) -> float:
        return float(len(p))

    metrics: dict[str, Any] = {"n": count, "selection_rate": selection_rate}
    if have_labels:
        metrics.update(true_positive_rate=true_positive_rate, calibration=calibration)
    mf = MetricFrame(metrics=metrics, y_true=y, y_pred=s, sensitive_features=g)
    by = mf.by_group
    by_group = {str(k): {m: _finite(by.loc[k, m]) for m in metrics} for k in by.index}
    gaps: dict[str, dict[str, Any]] = {}
    if len(by_group) >= 2:
        ratio = mf.ratio(method="between_groups")
        gaps["selection_rate_ratio"] = _gap(
            ratio["selection_rate"], limits["selection_rate_ratio"], below=True
        )
        if have_labels:
            diff = mf.difference(method="between_groups")
            gaps["tpr_difference"] = _gap(diff["true_positive_rate"], limits["tpr_difference"])
            gaps["calibration_difference"] = _gap(
                diff["calibration"], limits["calibration_difference"]
            )
    return {
        "by_group": by_group,
        "gaps": gaps,
        "crossed": [k for k, v in gaps.items() if v["crossed"]],
        "threshold": threshold,
    }


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _gap(value: Any, limit: float, *, below: bool = False) -> dict[str, Any]:
    v = _finite(value)
    crossed = v is not None and (v < limit if below else v > limit)
    return {"value": v, "threshold": limit, "crossed": bool(crossed)}


# --------------------------------------------------------------------------- data time
_DATE_IN_NAME = re.compile(
    r"(?<!\d)((?:19|20)\d{2})[-_.]?(0[1-9]|1[0-2])(?:[-_.]?(0[1-9]|[12]\d|3[01]))?(?!\d)"
)


def date_in_name(name: str) -> str | None:
    """The date a file name carries (``2025-03.csv`` -> ``2025-03-01``), or ``None``."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    m = _DATE_IN_NAME.search(base)
    if not m:
        return None
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:  # 2025-02-31
        return None


def _date_columns(src: TableSource) -> list[str]:
    if src._arrays is not None:
        return [c for c, a in src._arrays.items() if np.asarray(a).dtype.kind == "M"]
    if src._types is not None:  # the table's types, as DuckDB read them when it was opened
        return [c for c, t in src._types.items() if t.upper().startswith(("DATE", "TIMESTAMP"))]
    cur = _connection()
    try:
        desc = cur.execute(f"SELECT * FROM {src._sql} LIMIT 0").description or []
        return [str(d[0]) for d in desc if str(d[1]).upper().startswith(("DATE", "TIMESTAMP"))]
    except Exception:
        return []
    finally:
        cur.close()


def _earliest(src: TableSource, column: str) -> str | None:
    if src._arrays is not None:
        v = np.asarray(src._arrays[column])
        v = v[~np.isnat(v)]
        return str(np.datetime_as_string(v.min(), unit="D")) if v.size else None
    cur = _connection()
    try:
        row = cur.execute(f"SELECT CAST(min({quote(column)}) AS DATE) FROM {src._sql}").fetchall()
    except Exception:
        return None
    finally:
        cur.close()
    return row[0][0].isoformat() if row and row[0][0] is not None else None


def check_date_column(src: TableSource, column: str) -> None:
    """Refuse a date column the user named that the batch lacks, that holds a value
    DuckDB cannot read as a date, or that holds none.

    Before, such a column gave way to the arrival time without a word; it is
    refused as a column the file lacks is (before the batch is read).
    """
    if column not in src.kinds:
        raise InvalidInput(f"{src.label} has no date column {column!r}")
    if src._arrays is not None:
        return  # arrays: a datetime64 column is read as one, anything else is not a date column
    q = quote(column)
    cur = _connection()
    try:  # one pass: a value that is no date, and whether any value is there
        bad, dated = cur.execute(
            f"SELECT any_value(CAST({q} AS VARCHAR)) FILTER "
            f"(WHERE {q} IS NOT NULL AND TRY_CAST({q} AS TIMESTAMP) IS NULL), count({q}) "
            f"FROM {src._sql}"
        ).fetchall()[0]
    finally:
        cur.close()
    if bad is not None:
        raise InvalidInput(
            f"{src.label}: the date column {column!r} holds {bad!r}, which cannot be "
            "read as a date (write dates as 2024-01-05 or 2024-01-05T10:00:00), or give the "
            "batch's time with --data-time"
        )
    if not dated:
        raise InvalidInput(
            f"{src.label}: the date column {column!r} holds no value; give the batch's time "
            "with --data-time"
        )


def data_time_of(src: TableSource, arrival: str, *, column: str | None = None) -> tuple[str, str]:
    """When a batch's rows happened, and where that was read from.

    In order: a date in the file name; the earliest value of a date column
    (``column``, else the first date/timestamp column); the arrival time.

    Returns
    -------
    (time, source)
        An ISO date or time, and ``"file name"``, ``"column NAME"`` or
        ``"arrival"``.
    """
    if column is None and src._arrays is None:
        found = date_in_name(src.label)
        if found:
            return found, "file name"
    return column_time(src, column) or (arrival, "arrival")


def column_time(src: TableSource, column: str | None = None) -> tuple[str, str] | None:
    """The earliest value of a date column (``column``, else the first date/timestamp
    column) and ``"column NAME"``, or ``None`` when there is none."""
    if column is not None and column not in src.kinds:
        raise InvalidInput(f"{src.label} has no date column {column!r}")
    for c in [column] if column else _date_columns(src):
        found = _earliest(src, c)
        if found:
            return found, f"column {c}"
    return None


# --------------------------------------------------------------------------- predictions
def prediction_summary(
    scores: np.ndarray, kind: str, classes: Sequence[Any] = (), threshold: float = 0.5
) -> dict[str, Any]:
    """What is kept of a batch's predictions without row-level logging.

    The count, mean, quantiles and a 20-bin histogram of the scores; for a
    classifier also the rows per predicted class.
    """
    s = np.asarray(scores, dtype=np.float64)
    s = s[np.isfinite(s)]
    out: dict[str, Any] = {"n": int(s.size), "kind": kind}
    if s.size == 0:
        return out
    qs = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
    out["mean"] = float(s.mean())
    out["quantiles"] = {str(q): float(v) for q, v in zip(qs, np.quantile(s, qs), strict=True)}
    lo, hi = (0.0, 1.0) if kind == "binary" else (float(s.min()), float(s.max()))
    if hi <= lo:
        hi = lo + 1.0
    counts, edges = np.histogram(s, bins=20, range=(lo, hi))
    out["histogram"] = {"edges": edges.tolist(), "counts": counts.tolist()}
    if kind == "binary":
        out["per_class"] = {
            str(classes[1]) if len(classes) > 1 else "1": int((s >= threshold).sum()),
            str(classes[0]) if len(classes) > 1 else "0": int((s < threshold).sum()),
        }
    elif kind == "multiclass":
        idx, n = np.unique(s.astype(np.int64), return_counts=True)
        names = list(classes)
        out["per_class"] = {
            (str(names[i]) if 0 <= i < len(names) else str(i)): int(c)
            for i, c in zip(idx.tolist(), n.tolist(), strict=True)
        }
    return out


# --------------------------------------------------------------------------- two files
def column_values(src: TableSource, column: str) -> np.ndarray:
    """All values of one column (the segment column of a batch)."""
    parts = [
        b[column]
        if isinstance(b[column], np.ndarray)
        else np.asarray(b[column].to_pylist(), dtype=object)
        for b in src.batches([column])
    ]
    return np.concatenate(parts) if parts else np.empty(0)


def segment_drift(
    reference: str | os.PathLike[str] | Mapping[str, Any],
    current: str | os.PathLike[str] | Mapping[str, Any],
    column: str,
    *,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
    **kw: Any,
) -> dict[str, Any]:
    """Drift of each segment of ``column``: the reference's rows of a segment against the current's.

    The segments are those of the current data (:func:`segments_of`); the
    segment column itself is not compared. ``kw`` goes to
    :func:`~modelward.core.monitoring.drift.check_drift`.

    Returns
    -------
    dict
        ``{"column", "segments": [{segment, rows, reference_rows, drift_share,
        drifted, drifted_features}]}``.
    """
    ref = open_source(reference, categorical=categorical)
    cur = open_source(current, categorical=categorical)
    for src in (ref, cur):
        if column not in src.kinds:
            raise InvalidInput(f"{src.label} has no segment column {column!r}")
    values = column_values(cur, column)
    ref_values = column_values(ref, column)
    cols = [c for c in (features or ref.columns) if c != column]
    out: list[dict[str, Any]] = []
    for seg in segments_of(column, values, cur.kinds[column]):
        n, n_ref = int(seg.mask(values).sum()), int(seg.mask(ref_values).sum())
        entry: dict[str, Any] = {"segment": seg.label, "rows": n, "reference_rows": n_ref}
        out.append(entry)
        if min(n, n_ref) < MIN_SEGMENT_ROWS:
            entry["note"] = f"fewer than {MIN_SEGMENT_ROWS} rows on a side: not measured"
            continue
        prof = build_profile(filtered(ref, column, seg), features=cols, categorical=categorical)
        rep = check_drift(filtered(cur, column, seg), prof, **kw)
        entry.update(
            drift_share=rep.drift_share,
            drifted=rep.drifted,
            drifted_features=[f.name for f in rep.features if f.drifted],
        )
    return {"column": column, "segments": out}
