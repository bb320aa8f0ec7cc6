"""MLflow side of bench_registry.py; runs in its own virtualenv, never in ModelWard's.

Usage: python _mlflow_driver.py WORKDIR N_REGISTRATIONS N_POINTS REPEAT
Prints one JSON object of timings (seconds) on stdout.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import time
import warnings


def main() -> None:
    workdir, n_reg, n_points, repeat = sys.argv[1], *map(int, sys.argv[2:5])
    os.makedirs(workdir, exist_ok=True)
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import mlflow
    import numpy as np
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient
    from sklearn.linear_model import LogisticRegression

    uri = f"sqlite:///{workdir}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # Artifacts inside the work folder, never in the current directory.
    if mlflow.get_experiment_by_name("bench") is None:
        mlflow.create_experiment("bench", artifact_location=f"file://{workdir}/artifacts")
    exp = mlflow.set_experiment("bench")
    client = MlflowClient(uri, uri)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    models = [
        LogisticRegression(C=0.1 + i / 100, max_iter=100 + i % 7).fit(X, y) for i in range(n_reg)
    ]
    out: dict[str, object] = {"mlflow": mlflow.__version__}

    # (a) a run with 5 params and 5 metrics, a model, a registration: per version.
    per = []
    t_all = time.perf_counter()
    for i, clf in enumerate(models):
        t = time.perf_counter()
        with mlflow.start_run():
            p = clf.get_params()
            mlflow.log_params(
                {k: p[k] for k in ("C", "max_iter", "tol", "solver", "fit_intercept")}
            )
            mlflow.log_metrics({f"m{j}": float((i * 7 + j) % 1000) / 1000 for j in range(5)})
            # Explicit requirements: inferring them starts a subprocess per model (~8 s).
            info = mlflow.sklearn.log_model(clf, name="model", pip_requirements=["scikit-learn"])
            mlflow.register_model(info.model_uri, f"bench-{i % 10}")
        per.append(time.perf_counter() - t)
    out["register_total"] = time.perf_counter() - t_all
    out["register_median"] = statistics.median(per)
    out["register_n"] = n_reg

    # (b) filtered listings over what (a) created.
    def med(fn) -> float:
        ts = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return statistics.median(ts)

    out["search_runs_filtered"] = med(
        lambda: client.search_runs(
            [exp.experiment_id], "metrics.m0 > 0.5 and params.solver = 'lbfgs'", max_results=100
        )
    )
    out["search_runs_all"] = med(lambda: client.search_runs([exp.experiment_id], max_results=1000))
    out["search_model_versions"] = med(
        lambda: client.search_model_versions("name LIKE 'bench-%'", max_results=100)
    )

    # (c) n_points metric points with log_batch (1,000 per call, MLflow's limit).
    run = client.create_run(exp.experiment_id)
    values = rng.normal(size=n_points)
    now = int(time.time() * 1000)
    t = time.perf_counter()
    for start in range(0, n_points, 1000):
        batch = [
            Metric("loss", float(values[s]), now, s)
            for s in range(start, min(start + 1000, n_points))
        ]
        client.log_batch(run.info.run_id, metrics=batch)
    out["log_batch_total"] = time.perf_counter() - t
    out["log_batch_points"] = n_points

    # (d) read that history back.
    out["history_read"] = med(lambda: client.get_metric_history(run.info.run_id, "loss"))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
