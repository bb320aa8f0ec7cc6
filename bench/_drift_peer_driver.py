"""Evidently or NannyML side of bench_drift_matrix.py; runs in the peer's own virtualenv.

Usage: python _drift_peer_driver.py evidently|nannyml JOBS.json [PARTIAL.jsonl]
JOBS.json holds a list of jobs, each ``{"reference": path, "current": path,
"numeric": [...], "categorical": [...], "chunk_size": int}`` (Parquet files).
Prints one JSON list on stdout: per job ``{"drifted": {column: bool}, "seconds": s}``.

Both tools run at their defaults. Evidently: ``Report([DataDriftPreset()])``
with the column types declared (its own choice of test per column: a p-value
test when the reference has at most 1000 rows, else normed Wasserstein /
Jensen–Shannon ≥ 0.1). NannyML: ``UnivariateDriftCalculator`` with its
default methods and thresholds (Jensen–Shannon; mean + 3σ over reference
chunks); the chunk size is the one setting given, so that the current batch
is judged as a whole (or, when it is larger than a tenth of the reference,
in chunks of that size, drifted when most chunks alert).
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from typing import Any


def evidently_job(job: dict[str, Any], cache: dict[str, Any]) -> dict[str, bool]:
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    dd = DataDefinition(numerical_columns=job["numeric"], categorical_columns=job["categorical"])
    if job["reference"] not in cache:
        cache.clear()
        cache[job["reference"]] = Dataset.from_pandas(
            pd.read_parquet(job["reference"]), data_definition=dd
        )
    cur = Dataset.from_pandas(pd.read_parquet(job["current"]), data_definition=dd)
    snap = Report([DataDriftPreset()]).run(cur, cache[job["reference"]])
    out = {}
    for m in snap.dict()["metrics"]:
        cfg = m.get("config", {})
        if not cfg.get("type", "").endswith("ValueDrift"):
            continue
        value, thr = float(m["value"]), float(cfg["threshold"])
        # p-value tests drift below their threshold, distances at or above it
        out[cfg["column"]] = value < thr if "p_value" in cfg["method"] else value >= thr
    return out


def nannyml_job(job: dict[str, Any], cache: dict[str, Any]) -> dict[str, bool]:
    import nannyml as nml
    import pandas as pd

    cols = job["numeric"] + job["categorical"]
    key = f"{job['reference']}|{job['chunk_size']}"
    if key not in cache:
        cache.clear()
        calc = nml.UnivariateDriftCalculator(
            column_names=cols,
            treat_as_categorical=job["categorical"],
            chunk_size=job["chunk_size"],
        )
        calc.fit(pd.read_parquet(job["reference"]))
        cache[key] = calc
    res = cache[key].calculate(pd.read_parquet(job["current"]))
    df = res.filter(period="analysis").to_df()
    out = {}
    for c in cols:
        alerts = [bool(a) for a in df[(c, "jensen_shannon", "alert")].tolist()]
        out[c] = sum(alerts) * 2 > len(alerts)
    return out


def main() -> None:
    tool, jobs_path = sys.argv[1], sys.argv[2]
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    with open(jobs_path) as fh:
        jobs = json.load(fh)
    run = {"evidently": evidently_job, "nannyml": nannyml_job}[tool]
    cache: dict[str, Any] = {}
    results = []
    partial = len(sys.argv) > 3  # a file that gets one line per finished job
    for i, job in enumerate(jobs):
        t = time.perf_counter()
        drifted = run(job, cache)
        results.append({"drifted": drifted, "seconds": time.perf_counter() - t})
        if partial:
            with open(sys.argv[3], "a") as fh:
                fh.write(json.dumps({"job": i, **results[-1]}) + "\n")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
