"""One side of bench_log_model.py, run as its own process (ModelWard's or MLflow's venv).

Usage: python _log_model_driver.py {modelward,mlflow,floor} WORKDIR N
Prints one JSON object: ``total_s`` for the N timed registrations (fitting the
models is not timed), ``per_ms`` and the side's version.
"""

from __future__ import annotations

import json
import os
import sys
import time


def _models(n: int) -> list:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return [LogisticRegression(C=0.1 + i / 100, max_iter=100 + i % 7).fit(X, y) for i in range(n)]


def _params(clf) -> dict:
    p = clf.get_params()
    return {k: p[k] for k in ("C", "max_iter", "tol", "solver", "fit_intercept")}


def _metrics(i: int) -> dict:
    return {f"m{j}": float((i * 7 + j) % 1000) / 1000 for j in range(5)}


def modelward(work: str, n: int) -> dict:
    from modelward import __version__, api

    models = _models(n + 1)
    home = os.path.join(work, "reg")
    api.log_model(models[-1], "warm-up", registry=home)  # imports, first open
    t = time.perf_counter()
    for i, clf in enumerate(models[:n]):
        api.log_model(
            clf, f"bench-{i % 10}", metrics=_metrics(i), params=_params(clf), registry=home
        )
    return {"total_s": time.perf_counter() - t, "version": __version__}


def mlflow(work: str, n: int) -> dict:
    from _mlflow_store import open_store

    mf = open_store(work, "bench")
    models = _models(n + 1)

    def one(i: int, clf) -> None:
        with mf.start_run():
            mf.log_params(_params(clf))
            mf.log_metrics(_metrics(i))
            # Explicit requirements: inferring them starts a subprocess per model.
            info = mf.sklearn.log_model(clf, name="model", pip_requirements=["scikit-learn"])
            mf.register_model(info.model_uri, f"bench-{i % 10}")

    one(0, models[-1])  # imports, schema creation
    t = time.perf_counter()
    for i, clf in enumerate(models[:n]):
        one(i, clf)
    return {"total_s": time.perf_counter() - t, "version": mf.__version__}


def floor(work: str, n: int) -> dict:
    """The durable-write floor: write + fsync a 20 KB file, fsync its folder, n times."""
    folder = os.path.join(work, "floor")
    os.makedirs(folder)
    data = os.urandom(20 * 1024)
    dfd = os.open(folder, os.O_RDONLY)
    t = time.perf_counter()
    for i in range(n):
        with open(os.path.join(folder, f"{i}.bin"), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.fsync(dfd)
    total = time.perf_counter() - t
    os.close(dfd)
    return {"total_s": total, "version": ""}


if __name__ == "__main__":
    side, work, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    out = {"modelward": modelward, "mlflow": mlflow, "floor": floor}[side](work, count)
    out["per_ms"] = out["total_s"] / count * 1000
    print(json.dumps(out))
