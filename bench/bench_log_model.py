"""1,000 ``log_model`` registrations: ModelWard against MLflow, with the durable-write floor.

Rounds rotate the three sides, each a whole process of its own in a fresh
folder (fitting the models is not timed, importing and the first open are
not either: both sides register one model first):

- ModelWard: ``modelward.api.log_model`` with 5 metrics and 5 stated params;
- MLflow (pinned, in its own virtualenv, SQLite store, its defaults except
  explicit ``pip_requirements``, which would otherwise start a subprocess per
  model): a run, 5 params, 5 metrics, ``mlflow.sklearn.log_model``,
  ``register_model``;
- the floor: write + fsync a 20 KB file and fsync its folder, once per
  registration (what any durable registration costs on this disk).

After each side its folder is deleted and ``os.sync()`` flushes what it left
for the disk, so no side's fsyncs wait on the previous side's writes.

MLflow is slow enough that it registers fewer models per round
(``--mlflow-n``); the ratio is per registration, pair by pair in a round.

    python bench/bench_log_model.py --mlflow-python /tmp/mlflow-venv/bin/python --quick
    python bench/bench_log_model.py --mlflow-python … --n 1000 --mlflow-n 200 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _busy import start_busy, stop_busy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DRIVER = HERE / "_log_model_driver.py"


def run(python: str, side: str, n: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "app"), OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")  # fmt: skip
    with tempfile.TemporaryDirectory() as work:
        proc = subprocess.run(
            [python, str(DRIVER), side, work, str(n)],
            capture_output=True, text=True, env=env, cwd=work,
        )  # fmt: skip
    # What a side left for the disk to write (MLflow: thousands of files, then their
    # deletion) is flushed before the next side starts, not inside its timed fsyncs.
    if hasattr(os, "sync"):
        os.sync()
    if proc.returncode != 0:
        raise SystemExit(f"{side} failed: {proc.stderr[-800:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mlflow-python", help="python of a virtualenv with mlflow + scikit-learn")
    ap.add_argument("--n", type=int, help="ModelWard registrations per round (1,000)")
    ap.add_argument("--mlflow-n", type=int, help="MLflow registrations per round (200)")
    ap.add_argument("--rounds", type=int, help="rounds (3)")
    ap.add_argument("--quick", action="store_true", help="200 / 50 registrations, 2 rounds")
    ap.add_argument(
        "--busy", type=int, default=0, help="keep N busy-loop processes running (load N+1)"
    )
    args = ap.parse_args()
    n = args.n or (200 if args.quick else 1000)
    mn = args.mlflow_n or (50 if args.quick else 200)
    rounds = args.rounds or (2 if args.quick else 3)
    sides = [("modelward", sys.executable, n), ("floor", sys.executable, n)]
    if args.mlflow_python:
        sides.insert(1, ("mlflow", args.mlflow_python, mn))
    res: dict[str, list[dict]] = {s: [] for s, _, _ in sides}
    loads = []
    busy = start_busy(args.busy)
    try:
        _rounds(rounds, sides, res, loads)
    finally:
        stop_busy(busy)
    return _report(args, rounds, n, mn, res, loads)


def _rounds(rounds: int, sides: list, res: dict, loads: list) -> None:
    for r in range(rounds):
        order = sides[r % len(sides) :] + sides[: r % len(sides)]  # rotate who goes first
        for side, python, count in order:
            res[side].append(run(python, side, count))
            loads.append(os.getloadavg()[0])
            print(f"round {r + 1}: {side} {res[side][-1]}", file=sys.stderr)


def _report(args: argparse.Namespace, rounds: int, n: int, mn: int, res: dict, loads: list) -> int:
    def med(side: str, key: str) -> float:
        return statistics.median(x[key] for x in res[side])

    def span(side: str, key: str, k: float = 1.0) -> str:
        xs = [x[key] * k for x in res[side]]
        return f"{statistics.median(xs):.2f} ({min(xs):.2f}–{max(xs):.2f})"

    lines = [
        f"{rounds} rotating rounds, load {min(loads):.1f}–{max(loads):.1f} "
        + (f"with {args.busy} busy-loop processes " if args.busy else "")
        + f"({os.cpu_count()} cores); ModelWard {n:,} registrations per round"
        + (f", MLflow {res['mlflow'][0]['version']} {mn:,}" if "mlflow" in res else "")
        + ":",
        "",
        "| side | total s, median (min–max) | ms per registration, median (min–max) |",
        "|---|---|---|",
        f"| ModelWard `api.log_model` ×{n:,} | {span('modelward', 'total_s')} "
        f"| {span('modelward', 'per_ms')} |",
    ]
    if "mlflow" in res:
        lines.append(
            f"| MLflow log_model + register_model ×{mn:,} | {span('mlflow', 'total_s')} "
            f"| {span('mlflow', 'per_ms')} |"
        )
    lines.append(
        f"| floor: write+fsync 20 KB + fsync folder ×{n:,} | {span('floor', 'total_s')} "
        f"| {span('floor', 'per_ms')} |"
    )
    if "mlflow" in res:
        pairs = [
            m["per_ms"] / w["per_ms"] for m, w in zip(res["mlflow"], res["modelward"], strict=True)
        ]
        lines += [
            "",
            f"ModelWard is **{statistics.median(pairs):.1f}×** faster than MLflow per "
            f"registration (pair by pair {min(pairs):.1f}–{max(pairs):.1f}×; "
            f"{med('mlflow', 'per_ms') / med('modelward', 'per_ms'):.1f}× by the ratio of "
            "the medians); "
            f"1,000 registrations would take {med('modelward', 'per_ms'):.1f} s "
            f"against a floor of {med('floor', 'per_ms'):.1f} s.",
        ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
