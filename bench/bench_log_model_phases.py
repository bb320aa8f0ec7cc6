"""Where one ``api.log_model`` registration spends its time, and DuckDB's per-statement floor.

In one process, after a warm-up registration: ``--n`` registrations of small
fitted logistic regressions (the models of ``bench_log_model.py``, with its
metrics and parameters) into one registry, each phase timed with a wall-clock
wrapper around the function that does it:

- ``describe_estimator``, ``skops.dumps`` and ``check_skops_types``: the bytes
  and what is recorded of them;
- ``door._store``: the bytes into the content-addressed store (written; their
  fsync and the folder's run on a thread beside ``add_version``, which waits
  for them before its commit);
- ``add_version``: the DuckDB transaction (model and version rows, metrics,
  the audit row and its chain, the state delta, the journal line, the wait for
  the artifact's fsyncs, COMMIT).

Then, on the registry's own connection, the time of one DuckDB statement: ``SELECT 1``, the model-id lookup and the version scan that
``add_version`` runs, and an empty ``BEGIN``/``ROLLBACK``.

    python bench/bench_log_model_phases.py --n 300
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT / "bench"))

import _log_model_driver as driver  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()

    import skops.io as sio

    from modelward import api
    from modelward.core.intake import door
    from modelward.core.intake import estimator as est
    from modelward.core.registry import versions

    acc: dict[str, float] = {}

    def wrap(owner: object, name: str, label: str) -> None:
        f = getattr(owner, name)

        def timed(*a: object, **k: object) -> object:
            t = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                acc[label] = acc.get(label, 0.0) + time.perf_counter() - t

        setattr(owner, name, timed)

    n = args.n
    models = driver._models(n + 1)
    with tempfile.TemporaryDirectory() as tmp:
        home = str(Path(tmp) / "reg")
        api.log_model(models[-1], "warm-up", registry=home)
        wrap(est, "describe_estimator", "describe_estimator")
        wrap(sio, "dumps", "skops.dumps")
        wrap(est, "check_skops_types", "check_skops_types")
        wrap(door, "_store", "door._store (write; its two fsyncs run beside add_version)")
        wrap(versions.VersionsMixin, "add_version", "add_version (DuckDB transaction)")
        t, c = time.perf_counter(), time.process_time()
        for i, clf in enumerate(models[:n]):
            api.log_model(
                clf,
                f"bench-{i % 10}",
                metrics=driver._metrics(i),
                params=driver._params(clf),
                registry=home,
            )
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        print(
            f"{n} registrations: {wall / n * 1000:.2f} ms each (wall), {cpu / n * 1000:.2f} ms CPU, "
            f"load {os.getloadavg()[0]:.1f}\n"
        )
        print("| phase | ms per registration |")
        print("|---|---|")
        for k, v in sorted(acc.items(), key=lambda kv: -kv[1]):
            print(f"| {k} | {v / n * 1000:.2f} |")
        print(f"| the rest (api, lineage, result) | {(wall - sum(acc.values())) / n * 1000:.2f} |")

        # DuckDB's own floor per statement, on the registry's own held connection
        reg = api.open_registry(home)
        lease = reg.read()
        cur = lease.__enter__()
        mid = cur.execute("SELECT id FROM models WHERE name = 'bench-1'").fetchone()[0]
        statements = {
            "SELECT 1": lambda: cur.execute("SELECT 1").fetchall(),
            "model id by name": lambda: cur.execute(
                "SELECT id FROM models WHERE name = ?", ["bench-1"]
            ).fetchall(),
            "version scan of add_version": lambda: cur.execute(
                "SELECT arg_min(id, version) FILTER (WHERE sha256 = $sha), "
                "coalesce(max(version), 0) + 1 FROM versions WHERE model_id = $mid",
                {"mid": mid, "sha": "x"},
            ).fetchall(),
            "BEGIN + ROLLBACK": lambda: (cur.execute("BEGIN"), cur.execute("ROLLBACK")),
        }
        print("\n| one DuckDB statement | ms, median of 5 × 1,000 (min–max) |")
        print("|---|---|")
        for label, fn in statements.items():
            fn()
            xs = []
            for _ in range(5):
                t = time.perf_counter()
                for _ in range(1000):
                    fn()
                xs.append(time.perf_counter() - t)
            print(f"| {label} | {statistics.median(xs):.3f} ({min(xs):.3f}–{max(xs):.3f}) |")
        lease.__exit__(None, None, None)
        reg.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
