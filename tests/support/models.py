"""Small real model files for tests (written to tmp folders)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np


def small_data(seed: int = 0, n: int = 120, d: int = 4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def fitted_logreg(seed: int = 0, C: float = 1.0):
    from sklearn.linear_model import LogisticRegression

    X, y = small_data(seed)
    return LogisticRegression(C=C).fit(X, y)


def write_joblib(path: Path, seed: int = 0, C: float = 1.0) -> Path:
    import joblib

    joblib.dump(fitted_logreg(seed, C), path)
    return path


def write_pickle(path: Path, seed: int = 0, protocol: int = 5) -> Path:
    with open(path, "wb") as f:
        pickle.dump(fitted_logreg(seed), f, protocol=protocol)
    return path


def register_file(reg, path, name):
    """Register a model file through the intake door, as the CLI does (refusals raise)."""
    from modelward.core.intake import accept_model_file

    return accept_model_file(reg, path, name=name).register_result()
