"""What the prediction log says: shadow challengers against the champion, and realized metrics.

:func:`add_labels` takes labels that arrived after the batches were scored
(``modelward labels NAME --data labels.csv --id loan_id``), through the strict
reader, into the registry. :func:`prediction_report` reads the log
(:mod:`modelward.core.registry.predictions`) per version: batches and rows
scored, the mean score, for shadow challengers their agreement with the
champion and the score drift between the two (PSI of their score
histograms), and, for rows logged at row level whose id has a label, the
realized metrics (accuracy; ROC AUC for a binary classifier; MAE for a
regressor).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from modelward.core.compute.data import resolve_source
from modelward.core.duck import connect as duck_connect
from modelward.core.errors import InvalidInput
from modelward.core.registry.predictions import (
    CHAMPION,
    SHADOW,
    LoggedBatch,
    list_shadows,
    read_labels,
    read_predictions,
    store_labels,
)
from modelward.core.registry.refusals import door
from modelward.core.tables import bool_word, open_table, quote

__all__ = ["add_labels", "prediction_report", "psi", "realized"]


@door("labels", source="data", ref="model")
def add_labels(
    registry: Any,
    model: str,
    data: str | os.PathLike[str],
    *,
    id_column: str,
    label_column: str | None = None,
) -> dict[str, Any]:
    """Store the labels of ``data`` for ``model``, keyed by ``id_column`` (audited).

    ``label_column`` defaults to the model's recorded target, else the one
    column that is not the id.

    Returns
    -------
    dict
        ``rows`` stored, ``label_column``, ``matched`` (ids found in the
        row-level prediction log).
    """

    registry.resolve(model)  # the model must exist
    table = open_table(resolve_source(data, registry))  # "no such data file", as every door
    if id_column not in table.columns:
        raise InvalidInput(f"{table.label} has no id column {id_column!r}")
    if label_column is None:
        others = [c for c in table.columns if c != id_column]
        target = None
        try:
            target = (registry.resolve(model).signature or {}).get("target")
        except Exception:  # no signature: fall back to the only other column
            target = None
        if target in others:
            label_column = str(target)
        elif len(others) == 1:
            label_column = others[0]
        else:
            raise InvalidInput(
                f"{table.label} has several columns besides {id_column!r}: name the label with --label"
            )
    if label_column not in table.columns:
        raise InvalidInput(f"{table.label} has no label column {label_column!r}")
    i, lab = quote(id_column), quote(label_column)
    con = duck_connect()
    try:
        con.execute(
            f"CREATE TEMP TABLE mw_in AS SELECT CAST({i} AS VARCHAR) AS id, "
            f"CAST({lab} AS VARCHAR) AS label FROM {table.source}"
        )
        without_id, with_id = con.execute(
            "SELECT count(*) FILTER (WHERE id IS NULL), count(id) FROM mw_in"
        ).fetchall()[0]
        # an id given twice with two labels: which one is true is not ours to guess
        clash = con.execute(
            "SELECT id, min(label), max(label) FROM mw_in WHERE id IS NOT NULL GROUP BY id "
            "HAVING count(DISTINCT coalesce(label, chr(0))) > 1 ORDER BY min(rowid) LIMIT 1"
        ).fetchall()
        if clash:
            k, a, b = clash[0]
            raise InvalidInput(
                f"{table.label}: the id {k!r} has two different labels ({a!r} and {b!r}); "
                "give one label per id"
            )
        got = con.execute(
            "SELECT id, any_value(label) FROM mw_in WHERE id IS NOT NULL GROUP BY id "
            "ORDER BY min(rowid)"
        ).fetchall()
        # each label once, with the row it first appears in (the file's order)
        distinct = con.execute(
            "SELECT label, min(rowid) FROM mw_in WHERE id IS NOT NULL AND label IS NOT NULL "
            "GROUP BY label ORDER BY 2"
        ).fetchall()
    finally:
        con.close()
    _check_labels(registry, model, distinct, source=table.label, column=label_column)
    ids = [r[0] for r in got]
    labels = [r[1] for r in got]
    n = store_labels(registry, model, ids, labels, source=str(data))
    logged = read_predictions(registry, model, rows=True)
    logged_ids = logged["id"].tolist()
    known = set(logged_ids)
    matched = sum(1 for i in ids if i in known)
    out = {
        "rows": n,
        "label_column": label_column,
        "matched": matched,
        # rows that gave nothing new: no id to join by, or an id (and label) given again
        "without_id": int(without_id),
        "repeated": int(with_id) - n,
    }
    if ids and logged_ids and not matched:
        # ids join as text, exactly: '1.0' (a column of ids read as numbers with a
        # decimal) is not '1'; show one of each, so the difference can be seen
        out["unmatched_example"] = {"file": str(ids[0]), "logged": str(logged_ids[0])}
    return out


def _check_labels(
    registry: Any, model: str, distinct: list[tuple[str, int]], *, source: str, column: str
) -> None:
    """Refuse labels a version that logged predictions never saw (a regressor's: not numbers).

    The monitor's rule (:func:`~modelward.core.labels.check_labels`),
    for each version of ``model`` in the prediction log: a label no class
    matches would be read as the wrong class and invert the realized metrics.
    """
    from modelward.core.labels import check_labels, kind_of  # deferred: start-up cost

    if not distinct:
        return
    labels = np.array([r[0] for r in distinct], dtype=object)
    rows = [int(r[1]) for r in distinct]
    by_version: dict[int, list[LoggedBatch]] = {}
    for b in read_predictions(registry, model):
        by_version.setdefault(b.version, []).append(b)
    for version, batches in sorted(by_version.items()):
        v = registry.resolve(f"{model}:{version}")
        sig = v.signature or {}
        # registration records a classifier's classes; a regressor records none, and
        # its logged predictions count no classes
        classes = sig.get("classes")
        regressor = sig.get("task") == "regression" or (
            not classes and not any(b.summary.get("classes") for b in batches)
        )
        if not classes and not regressor:
            continue  # a classifier that recorded no classes: nothing to match against
        kind = kind_of({**sig, "task": "regression"} if regressor else sig)
        check_labels(labels, kind, source=source, column=column, rows=rows, model=v.ref)


def psi(expected: list[int] | None, actual: list[int] | None) -> float | None:
    """Population stability index between two histograms over the same bins."""
    if not expected or not actual or len(expected) != len(actual):
        return None
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.sum() == 0 or a.sum() == 0:
        return None
    e = np.clip(e / e.sum(), 1e-4, None)
    a = np.clip(a / a.sum(), 1e-4, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _pooled_hist(batches: list[LoggedBatch]) -> list[int] | None:
    hists = [b.summary.get("score_hist") for b in batches if b.summary.get("score_hist")]
    if not hists:
        return None
    return [int(sum(col)) for col in zip(*hists, strict=True)]


def realized(rows: Any, labels: dict[str, str | None], version: int) -> dict[str, Any] | None:
    """Realized metrics of ``version`` on the logged ``rows`` whose ids have a label.

    ``rows`` is the prediction log's frame (``id``, ``version``, ``prediction``, ``score``),
    ``labels`` maps a row id to its label. ``None`` when no labelled row of
    that version is logged.
    """
    if not labels or len(rows) == 0:
        return None
    mine = rows[rows["version"].to_numpy() == version]
    if len(mine) == 0:
        return None
    ids = mine["id"].tolist()
    pred = mine["prediction"].tolist()
    score = mine["score"].tolist()
    y, p, s = [], [], []
    for i, pr, sc in zip(ids, pred, score, strict=True):
        lab = labels.get(str(i))
        if lab is None:
            continue
        y.append(lab)
        p.append(pr)
        s.append(sc)
    if not y:
        return {"labelled_rows": 0}
    out: dict[str, Any] = {"labelled_rows": len(y)}
    try:
        yf = np.asarray([float(v) for v in y])
        pf = np.asarray([float(v) for v in p])
        numeric = True
    except (TypeError, ValueError):
        numeric = False
    classes = sorted(set(y) | set(p))
    if numeric and len(set(y)) > 10:
        out["mae"] = float(np.mean(np.abs(yf - pf)))
        return out
    same = [_same(a, b) for a, b in zip(y, p, strict=True)]
    out["accuracy"] = float(np.mean(same))
    if len(set(y)) == 2 and all(v is not None and math.isfinite(v) for v in s):
        from sklearn.metrics import roc_auc_score  # deferred: start-up cost

        pos = _positive(classes, y)
        yb = np.asarray([_same(v, pos) for v in y], dtype=int)
        out["roc_auc"] = float(roc_auc_score(yb, np.asarray(s, dtype=float)))
    return out


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        # a model fitted on a true/false target predicts True/False; labels
        # may come as the file's yes/no
        return (x := bool_word(a)) is not None and x == bool_word(b)


def _positive(classes: list[str], y: list[str]) -> str:
    """The second class in the model's order (labels and predictions are text here)."""
    labs = sorted(set(y), key=lambda v: (_num(v), v))
    return labs[-1]


def _num(v: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.inf


def prediction_report(registry: Any, model: str) -> dict[str, Any]:
    """The prediction log of ``model`` per version, shadows against the champion.

    Returns
    -------
    dict
        ``model``, ``shadows`` (versions), ``labels`` (count) and
        ``versions``: per version ``role``, ``batches``, ``rows``,
        ``score_mean``, for shadows ``agreement``, ``mean_abs_score_diff`` and
        ``score_psi`` (against the champion's batches), and ``realized``.
    """
    logged: list[LoggedBatch] = read_predictions(registry, model)
    labels = read_labels(registry, model)
    rows = read_predictions(registry, model, rows=True) if labels else None
    by_version: dict[int, list[LoggedBatch]] = {}
    for b in logged:
        by_version.setdefault(b.version, []).append(b)
    champ_batches = [b for b in logged if b.role == CHAMPION]
    champ_hist = _pooled_hist(champ_batches)
    versions: list[dict[str, Any]] = []
    for version, batches in sorted(by_version.items()):
        roles = {b.role for b in batches}
        n = sum(b.rows for b in batches)
        means = [
            (float(b.summary["score_mean"]), b.rows)
            for b in batches
            if b.summary.get("score_mean") is not None
        ]
        entry: dict[str, Any] = {
            "ref": f"{model}:{version}",
            "version": version,
            "role": SHADOW if roles == {SHADOW} else CHAMPION,
            "batches": len(batches),
            "rows": n,
            "score_mean": (
                sum(m * w for m, w in means) / sum(w for _, w in means) if means else None
            ),
        }
        if SHADOW in roles:
            vs = [b.summary.get("vs_champion") or {} for b in batches if b.role == SHADOW]
            comp = [
                (float(v["agreement"]), int(v.get("rows_compared") or 0))
                for v in vs
                if v.get("agreement") is not None and v.get("rows_compared")
            ]
            diffs = [
                (float(v["mean_abs_score_diff"]), int(v.get("rows_compared") or 0))
                for v in vs
                if v.get("mean_abs_score_diff") is not None
            ]
            entry["agreement"] = (
                sum(a * w for a, w in comp) / sum(w for _, w in comp) if comp else None
            )
            entry["mean_abs_score_diff"] = (
                sum(d * w for d, w in diffs) / sum(w for _, w in diffs)
                if diffs and sum(w for _, w in diffs)
                else None
            )
            shadow_ids = {b.batch_id for b in batches if b.role == SHADOW}
            entry["score_psi"] = psi(
                _pooled_hist([b for b in champ_batches if b.batch_id in shadow_ids]),
                _pooled_hist([b for b in batches if b.role == SHADOW]),
            )
        entry["realized"] = realized(rows, labels, version) if rows is not None else None
        versions.append(entry)
    return {
        "model": model,
        "shadows": list_shadows(registry, model),
        "labels": len(labels),
        "champion_score_hist": champ_hist,
        "versions": versions,
    }
