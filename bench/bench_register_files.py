"""Model files registered from the command line: one call for a folder, and a shell loop.

N fitted scikit-learn models (the small logistic regressions of
``bench_log_model.py``) are saved with joblib into one folder, as a team hands
them over. Every figure is a whole process (or a loop of them) timed from
outside, in interleaved rounds:

- ModelWard, one call: ``modelward register FOLDER`` (each file is inspected
  in the sandbox, stored and registered; one process for the folder);
- ModelWard, a shell loop: ``modelward register FILE``, one process per file,
  for the first ``--loop`` files, into one registry;
- MLflow (pinned, in its own virtualenv, SQLite store), the same two ways:
  MLflow has no command that registers a model file, so its "one call" is one
  Python process that loads each file with joblib and logs and registers it
  (``mlflow.sklearn.log_model`` in a run, ``register_model`` under the file's
  name), and its loop runs that script once per file
  (``bench/_register_files_mlflow.py``).

Printed: seconds per file for each, and MLflow's over ModelWard's per file,
pair by pair within a round.

    python bench/bench_register_files.py --mlflow-python /tmp/mlflow-venv/bin/python
    python bench/bench_register_files.py --mlflow-python … --n 1000 --loop 30 --rounds 2
    python bench/bench_register_files.py --mlflow-python … --quick     # 100 files, loop 5, 1 round
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import _log_model_driver as driver  # noqa: E402

MLFLOW_DRIVER = HERE / "_register_files_mlflow.py"


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    secs = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed: {proc.stderr[-800:]}")
    return secs, proc.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mlflow-python", help="python of a virtualenv with mlflow + scikit-learn")
    ap.add_argument("--n", type=int, default=1000, help="files registered by one call")
    ap.add_argument("--loop", type=int, default=30, help="files registered by the shell loop")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.n, args.loop, args.rounds = 100, 5, 1
    import joblib

    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "app"), env.get("PYTHONPATH", "")])
    figures: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="mw-bench-files-") as tmp:
        root = Path(tmp)
        folder = root / "models"
        folder.mkdir()
        for i, clf in enumerate(driver._models(args.n)):
            joblib.dump(clf, folder / f"model-{i:05d}.joblib")
        files = sorted(folder.iterdir())

        def modelward_dir(r: int) -> float:
            reg = root / f"mw-dir-{r}"
            secs, out = _timed(
                [sys.executable, "-m", "modelward", "register", str(folder),
                 "--registry", str(reg), "--json"], env,
            )  # fmt: skip
            got = json.loads(out)
            assert got["registered"] == args.n, got
            return secs / args.n

        def modelward_loop(r: int) -> float:
            reg = root / f"mw-loop-{r}"
            each = [
                _timed(
                    [sys.executable, "-m", "modelward", "register", str(p), "--registry", str(reg)],
                    env,
                )[0]  # fmt: skip
                for p in files[: args.loop]
            ]
            return statistics.median(each)

        def mlflow_dir(r: int) -> float:
            work = root / f"mlf-dir-{r}"
            work.mkdir()
            secs, out = _timed(
                [args.mlflow_python, str(MLFLOW_DRIVER), "dir", str(folder), str(work)], env
            )
            assert json.loads(out)["registered"] == args.n
            return secs / args.n

        def mlflow_loop(r: int) -> float:
            work = root / f"mlf-loop-{r}"
            work.mkdir()
            each = [
                _timed([args.mlflow_python, str(MLFLOW_DRIVER), "one", str(p), str(work)], env)[0]
                for p in files[: args.loop]
            ]
            return statistics.median(each)

        sides = {"modelward_dir": modelward_dir, "modelward_loop": modelward_loop}
        if args.mlflow_python:
            sides |= {"mlflow_dir": mlflow_dir, "mlflow_loop": mlflow_loop}
        names = list(sides)
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                if hasattr(os, "sync"):
                    os.sync()  # no side's fsyncs wait on the previous side's writes
                per_file = sides[name](r)
                figures.setdefault(name, []).append(per_file)
                print(f"round {r + 1}: {name} {per_file * 1000:.1f} ms per file", file=sys.stderr)

    def span(name: str) -> str:
        xs = [x * 1000 for x in figures[name]]
        return f"{statistics.median(xs):.1f} ({min(xs):.1f}–{max(xs):.1f})"

    print(
        f"\n{args.n:,} joblib model files by one call, {args.loop} by a loop of single "
        f"calls; {args.rounds} interleaved rounds, load {os.getloadavg()[0]:.1f}:\n"
    )
    print("| how | ModelWard ms per file | MLflow ms per file | MLflow / ModelWard, pair by pair |")
    print("|---|---|---|---|")
    for how, mw, mlf in (
        (f"one call, {args.n:,} files", "modelward_dir", "mlflow_dir"),
        (
            f"a shell loop of single calls ({args.loop} files, median)",
            "modelward_loop",
            "mlflow_loop",
        ),
    ):
        if mlf in figures:
            pairs = [b / a for a, b in zip(figures[mw], figures[mlf], strict=True)]
            ratio = f"{statistics.median(pairs):.1f}× ({min(pairs):.1f}–{max(pairs):.1f})"
            print(f"| {how} | {span(mw)} | {span(mlf)} | {ratio} |")
        else:
            print(f"| {how} | {span(mw)} | — | — |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
