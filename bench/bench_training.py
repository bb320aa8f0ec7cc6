"""Overhead of a ModelWard training job over the bare scikit-learn fit.

Synthetic data: N rows x 25 features (20 numeric, 5 categorical), binary
target, written to Parquet by DuckDB. For LogisticRegression and
HistGradientBoostingClassifier it times, in the same run:

* bare: read the Parquet file, build the same preprocessing pipeline, fit on
  the holdout training rows and score the test rows with scikit-learn alone;
* job: ``modelward.core.compute.training.train`` with a holdout split (data
  checks, fit, metrics, skops save, artifact store, registration), split into
  the training-data snapshot (Parquet copy + store) and everything else.

Both run with BLAS/OpenMP limited to one thread. Usage::

    python bench/bench_training.py            # 1,000,000 rows
    python bench/bench_training.py --quick    # 100,000 rows
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def make_data(path: Path, n: int) -> None:
    import duckdb

    num = ", ".join(f"random() * 2 - 1 AS x{i}" for i in range(20))
    cat = ", ".join(
        f"('c' || CAST(floor(random() * {5 + 3 * j}) AS INTEGER)) AS k{j}" for j in range(5)
    )
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    con.execute("SELECT setseed(0.42)")
    con.execute(
        f"""COPY (
            SELECT *, CAST(x0 + 0.5 * x1 - 0.3 * x2 + (k0 = 'c1')::INT + random() - 0.5 > 0 AS INTEGER) AS y
            FROM (SELECT {num}, {cat} FROM range({n}))
        ) TO '{path}' (FORMAT parquet)"""
    )
    con.close()


def bare_fit(path: Path, estimator: str, seed: int = 0) -> float:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from modelward.core.compute import data as D
    from modelward.core.compute.parallel import limited_threads
    from modelward.core.compute.recipe import resolve_estimator
    from modelward.core.compute.training import build_pipeline

    t0 = time.perf_counter()
    with limited_threads(1):
        df = D.read_table(path)
        kinds = {
            c: ("categorical" if c.startswith("k") else "numeric") for c in df.columns if c != "y"
        }
        X = D.feature_frame(df, kinds)
        y = df["y"].to_numpy()
        tr, te = train_test_split(range(len(y)), test_size=0.25, random_state=seed, stratify=y)
        est = resolve_estimator(estimator)()
        if "random_state" in est.get_params():
            est.set_params(random_state=seed)
        model = build_pipeline(kinds, est).fit(X.iloc[tr], y[tr])
        roc_auc_score(y[te], model.predict_proba(X.iloc[te])[:, 1])
    return time.perf_counter() - t0


class Ticker:
    """A thread that wakes every 5 ms and records its worst lateness: how long the
    GIL was held by the job (a Qt-free proxy for the GUI event loop's stall)."""

    def __init__(self) -> None:
        import threading

        self.worst = 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last = time.perf_counter()
        while not self._stop.wait(0.005):
            now = time.perf_counter()
            self.worst = max(self.worst, now - last - 0.005)
            last = now

    def __enter__(self) -> Ticker:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def job_fit(path: Path, estimator: str, home: Path) -> dict[str, float]:
    import threading

    from modelward.core.compute.recipe import Recipe
    from modelward.core.compute.training import train
    from modelward.core.registry import Registry

    reg = Registry(home)
    out: dict[str, float] = {}

    def work() -> None:  # a job thread, as the window's job runner would start it
        t0 = time.perf_counter()
        res = train(reg, Recipe(data=str(path), target="y", estimator=estimator), "bench")
        out["total"] = time.perf_counter() - t0
        out["snapshot"] = res.timings["snapshot_s"]

    with Ticker() as ticker:
        t = threading.Thread(target=work)
        t.start()
        t.join()
    out["stall_ms"] = ticker.worst * 1000
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000")
    ap.add_argument("--rows", type=int)
    args = ap.parse_args()
    n = args.rows or (100_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.parquet"
        make_data(data, n)
        print(f"{n:,} rows x 25 features, {data.stat().st_size / 1e6:.1f} MB Parquet")
        warm = Path(tmp) / "warm.parquet"  # imports and first-call costs, paid before timing
        make_data(warm, 5_000)
        for est in ("LogisticRegression", "HistGradientBoostingClassifier"):
            bare_fit(warm, est)
            job_fit(warm, est, Path(tmp) / "reg-warm")
        print(
            f"{'estimator':<32} {'bare s':>8} {'job s':>8} {'snapshot s':>11} {'job-snap s':>11} {'overhead':>9}"
        )
        for est in ("LogisticRegression", "HistGradientBoostingClassifier"):
            bare = bare_fit(data, est)
            job = job_fit(data, est, Path(tmp) / f"reg-{est}")
            rest = job["total"] - job["snapshot"]
            print(
                f"{est:<32} {bare:8.2f} {job['total']:8.2f} {job['snapshot']:11.2f} "
                f"{rest:11.2f} {rest / bare - 1:+9.1%} {job['stall_ms']:9.0f}"
            )


if __name__ == "__main__":
    main()
