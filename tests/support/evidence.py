"""A small registry with everything a report or a bundle carries: a trained
version, a stored validation, a reference profile and a few checked batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from modelward.core.registry import Registry


def credit_frame(n: int = 240, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(50 - shift * 10, 15, n)
    age = rng.integers(18, 80, n).astype(float)
    region = rng.choice(["north", "south", "east"], n)
    debt = rng.normal(10 + shift * 4, 5, n)
    logit = 0.08 * (debt - 10) - 0.05 * (income - 50) + (region == "south") * 0.8
    y = (logit + rng.logistic(size=n) > 0).astype(int)
    return pd.DataFrame(
        {"income": income, "age": age, "region": region, "debt": debt, "default": y}
    )


def build(home: Path, *, batches: int = 3) -> tuple[Registry, str]:
    """Train ``credit:1``, validate it, profile it, check ``batches`` monthly batches."""
    from modelward.core.compute.recipe import Recipe
    from modelward.core.compute.training import train
    from modelward.core.compute.validation import validate
    from modelward.core.monitoring.service import attach_labels, check_batch, profile_version

    reg = Registry(home)
    data = home.parent / "data"
    data.mkdir(exist_ok=True)
    train_csv, test_csv = data / "train.csv", data / "test.csv"
    credit_frame(300, seed=0).to_csv(train_csv, index=False)
    credit_frame(400, seed=1).to_csv(test_csv, index=False)
    train(
        reg, Recipe(data=str(train_csv), target="default", estimator="LogisticRegression"), "credit"
    )
    validate(reg, "credit:1", str(test_csv))
    profile_version(reg, "credit:1", str(train_csv), target="default")
    for m in range(1, batches + 1):
        df = credit_frame(300, seed=10 + m, shift=0.5 * (m - 1))
        df.insert(0, "row_id", [f"{m}-{i}" for i in range(len(df))])
        labels = df[["row_id", "default"]]
        res = check_batch(
            reg,
            "credit:1",
            {c: df[c].to_numpy() for c in df.columns if c != "default"},
            name=f"2025-{m:02d}",
            batch_time=f"2025-{m:02d}-28",
            id_column="row_id",
        )
        attach_labels(
            reg,
            res.batch_id,
            {c: labels[c].to_numpy() for c in labels.columns},
            id_column="row_id",
            label_column="default",
        )
    reg.set_alias("credit:1", "champion", "passed review")
    return reg, "credit:1"
