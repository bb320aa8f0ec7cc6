"""Twelve monthly batches for the demo workspace, with drift from mid-year and late labels.

Rows are drawn from a large pool of the demo's synthetic credit data, so the
relation between features and default never changes (covariate shift only):
from July on, applicants with higher debt, utilisation, late payments and loan
amounts, and lower income and shorter employment, are drawn more and more often. Each batch is checked against the
champion as it "arrives"; labels arrive three months late, so the last three
months stay estimated while the earlier ones become realized.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from modelward.core.demo.data import DEMO_MODEL, FEATURES, credit_data
from modelward.core.monitoring.service import attach_labels, check_batch, profile_version
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = ["add_monitoring_demo"]

MONTHS = 12
DRIFT_FROM = 7  # July
LABEL_DELAY = 3  # months


def _monthly_rows(pool: np.ndarray, month: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices into ``pool`` for one month (tilted towards riskier applicants)."""

    strength = max(0, month - DRIFT_FROM + 1) * 0.6
    col = {c: i for i, c in enumerate(FEATURES)}

    def z(c: str) -> np.ndarray:
        x = pool[:, col[c]]
        return np.asarray((x - x.mean()) / x.std())

    # Most of the book moves (not just one or two columns), so the dataset-level
    # verdict turns red in autumn, as it would for a real change of clientele.
    tilt = (
        z("debt_ratio")
        + z("utilisation")
        + z("late_payments")
        + z("loan_amount")
        - z("income")
        - z("months_employed")
    )
    w = np.exp(strength * tilt / 6)
    return rng.choice(len(pool), size=n, replace=False, p=w / w.sum())


def add_monitoring_demo(
    registry: Registry,
    *,
    ref: str | None = None,
    rows: int = 1500,
    year: int = 2025,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> list[int]:
    """Profile the demo champion and check twelve monthly batches; returns the batch ids.

    Parameters
    ----------
    registry
        A registry where :func:`modelward.core.demo.create_demo_workspace` ran.
    ref
        The version to monitor (default ``credit-risk@champion``).
    rows
        Rows per monthly batch.
    """

    ref = ref or f"{DEMO_MODEL}@champion"
    progress(0.0, "profiling the champion's reference data")
    X, y = credit_data()  # the data the demo models were trained on
    reference = {c: X[:, i] for i, c in enumerate(FEATURES)}
    reference["default"] = y
    profile_version(registry, ref, reference, target="default")
    pool_x, pool_y = credit_data(40_000, seed=2024)
    rng = np.random.default_rng(year)
    ids: list[int] = []
    labels: dict[int, dict[str, np.ndarray]] = {}
    for month in range(1, MONTHS + 1):
        check(cancel)
        progress(0.05 + 0.9 * (month - 1) / MONTHS, f"checking the batch of {year}-{month:02d}")
        idx = _monthly_rows(pool_x, month, rows, rng)
        batch = {c: pool_x[idx, i] for i, c in enumerate(FEATURES)}
        batch["application_id"] = np.array([f"{year}{month:02d}-{i:05d}" for i in range(rows)])
        res = check_batch(
            registry,
            ref,
            batch,
            name=f"{year}-{month:02d}",
            batch_time=f"{year}-{month:02d}-28",
            id_column="application_id",
        )
        ids.append(res.batch_id)
        labels[res.batch_id] = {"application_id": batch["application_id"], "default": pool_y[idx]}
        arrived = month - LABEL_DELAY
        if arrived >= 1:
            bid = ids[arrived - 1]
            attach_labels(
                registry, bid, labels[bid], id_column="application_id", label_column="default"
            )
    progress(1.0, "monitoring demo ready")
    return ids
