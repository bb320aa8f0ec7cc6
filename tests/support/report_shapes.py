"""The result shapes the explanation and credit-validation jobs store, for report tests.

Hand-built (no model is explained here): ``curves["explanations"]``,
``curves["intervals"]`` with ``interval_method``, and for binary classifiers
``lift``, ``gains``, ``bands`` and ``calibration_test``; ``gini`` and ``ks``
join the metrics; a decision threshold is stored with the version.
"""

from __future__ import annotations

import json
from typing import Any

from modelward.core.registry import Registry

FEATURES = ("income", "debt", "age", "region")


def explanations(rows_used: int = 400) -> dict[str, Any]:
    """Permutation importance with spread, and PD/ICE for a numeric and a categorical feature."""
    grid = [10.0, 20.0, 30.0, 40.0, 50.0]
    return {
        "method": "permutation importance (10 repeats) and partial dependence, scikit-learn",
        "rows_used": rows_used,
        "importance": [
            {"feature": f, "mean": m, "std": s}
            for f, m, s in zip(
                FEATURES, (0.081, 0.052, 0.012, 0.007), (0.011, 0.008, 0.004, 0.003), strict=True
            )
        ],
        "pdp": [
            {
                "feature": "debt",
                "kind": "numeric",
                "grid": grid,
                "average": [0.21, 0.28, 0.37, 0.46, 0.55],
                "ice": [[0.2 + 0.01 * k + 0.008 * i for i in range(5)] for k in range(8)],
                "target": "default",
            },
            {
                "feature": "region",
                "kind": "categorical",
                "grid": ["east", "north", "south"],
                "average": [0.31, 0.29, 0.47],
                "ice": [],
                "target": "default",
            },
        ],
    }


def credit_curves() -> dict[str, Any]:
    """Lift, gains, a decile band table, the calibration test and stored intervals."""
    fr = [0.1 * i for i in range(1, 11)]
    captured = [0.24, 0.41, 0.55, 0.66, 0.75, 0.83, 0.89, 0.94, 0.98, 1.0]
    bands = []
    for i in range(10):
        bands.append(
            {
                "band": i + 1,
                "low": round(0.9 - 0.1 * i, 2),
                "high": round(1.0 - 0.1 * i, 2),
                "population": 40,
                "events": 20 - 2 * i,
                "event_rate": (20 - 2 * i) / 40,
                "cum_capture": captured[i],
            }
        )
    return {
        "lift": {"fraction": fr, "lift": [c / f for c, f in zip(captured, fr, strict=True)]},
        "gains": {"fraction": fr, "captured": captured},
        "bands": bands,
        "calibration_test": {"hosmer_lemeshow": 7.93, "df": 8, "p_value": 0.44, "ece": 0.031},
        "intervals": {"gini": [0.41, 0.58], "ks": [0.30, 0.45]},
        "interval_method": "stratified bootstrap, 500 resamples",
    }


THRESHOLD = {
    "threshold": 0.35,
    "cost_fp": 1.0,
    "cost_fn": 5.0,
    "set_by": "validator",
    "set_at": "2025-01-28T09:30:00Z",
}


def enrich(registry: Registry, ref: str) -> None:
    """Store the shapes above with the newest validation of ``ref``, and its threshold."""
    v = registry.resolve(ref)
    with registry.transaction() as tx:
        vid, metrics, curves = tx.q(
            "SELECT id, metrics, curves FROM validations WHERE version_id = ? "
            "ORDER BY id DESC LIMIT 1",
            [v.id],
        ).fetchall()[0]
        m, c = json.loads(metrics), json.loads(curves)
        m.update(gini=0.495, ks=0.372)
        c.update(credit_curves(), explanations=explanations())
        tx.q(
            "UPDATE validations SET metrics = ?, curves = ? WHERE id = ?",
            [json.dumps(m), json.dumps(c), vid],
        )
        lin = json.loads(tx.q("SELECT lineage FROM versions WHERE id = ?", [v.id]).fetchall()[0][0])
        lin["decision_threshold"] = THRESHOLD
        tx.q("UPDATE versions SET lineage = ? WHERE id = ?", [json.dumps(lin), v.id])
