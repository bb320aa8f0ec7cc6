"""A small credit-style frame the MLflow export tests share (each adds its own columns)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def credit_frame(n: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """``income``, ``region`` (text), ``debt``, ``age``; ``default`` (two classes) and
    ``segment`` (three) drawn from one risk score, returned beside the frame."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "income": rng.normal(50, 15, n),
            "region": rng.choice(["north", "south", "east"], n),
            "debt": rng.normal(10, 5, n),
            "age": rng.integers(20, 70, n).astype(float),
        }
    )
    z = 0.08 * (df.debt - 10) - 0.05 * (df.income - 50)
    df["default"] = (z + rng.logistic(size=n) * 0.5 > 0).astype(int)
    df["segment"] = np.where(z > 0.4, "high", np.where(z < -0.4, "low", "mid"))
    return df, z.to_numpy()
