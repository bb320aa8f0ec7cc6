"""Event-loop stall of the window while a training job runs: in a thread vs in the worker process.

    python bench/bench_training_ui.py [--rows 1000000]

A 10 ms heartbeat timer runs on the GUI thread of a real main window; every
gap beyond 10 ms is a stall. The same training (LogisticRegression, holdout,
string categories one-hot encoded) runs once as a job thread in the window's
process (the old way) and once in the training worker process (the way the
training dialog runs it). An idle run of the same window gives the baseline.
Prints a Markdown table for docs/benchmarks.md ("## Training").
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HEARTBEAT_MS = 10


def make_data(path: Path, n: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    cats = {f"cat{i}": rng.choice([f"level-{i}-{k:02d}" for k in range(30)], n) for i in range(4)}
    num = {f"x{i}": rng.normal(size=n) for i in range(4)}
    logit = num["x0"] - 0.5 * num["x1"] + (cats["cat0"] == "level-0-03") * 1.5
    df = pd.DataFrame({**num, **cats})
    df["target"] = (logit + rng.logistic(size=n) > 0).astype(int)
    df.to_csv(path, index=False)


class Heartbeat:
    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(HEARTBEAT_MS)
        self.cpu: list[float] = []
        self.timer.timeout.connect(self._beat)

    def _beat(self) -> None:
        self.ticks.append(time.perf_counter())
        self.cpu.append(time.thread_time())  # the GUI thread's own CPU, not the host's wait

    def start(self) -> None:
        self.ticks = [time.perf_counter()]
        self.cpu = [time.thread_time()]
        self.timer.start()

    def stop(self) -> dict[str, float]:
        import numpy as np

        self.timer.stop()
        gaps = np.diff(self.ticks) * 1000.0 - HEARTBEAT_MS
        gaps = np.clip(gaps, 0, None)
        return {
            "max_ms": float(gaps.max()) if len(gaps) else 0.0,
            "p99_ms": float(np.percentile(gaps, 99)) if len(gaps) else 0.0,
            "over_50": int((gaps > 50).sum()),
            "seconds": self.ticks[-1] - self.ticks[0],
            "busy_max_ms": float(np.diff(self.cpu).max() * 1000.0) if len(self.cpu) > 1 else 0.0,
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--idle", type=float, default=5.0, help="seconds of the idle baseline")
    ap.add_argument(
        "--worker-only",
        action="store_true",
        help="skip the job-thread run (the window never trains on a thread; it only shows why)",
    )
    args = ap.parse_args()

    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from modelward.core.compute.recipe import Recipe
    from modelward.core.compute.training import train
    from modelward.core.compute.worker import worker_job
    from modelward.core.jobs import JobKind
    from modelward.core.registry import Registry
    from modelward.core.settings import Settings
    from modelward.ui.app import make_app
    from modelward.ui.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="mw-bench-train-ui-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp / "qs"))
    data = tmp / "train.csv"
    t0 = time.perf_counter()
    make_data(data, args.rows)
    print(f"data: {args.rows:,} rows ({time.perf_counter() - t0:.1f} s to write)", file=sys.stderr)
    app = make_app("light")
    reg = Registry(tmp / "reg", idle_release=1.0)
    win = MainWindow(reg, Settings(), save_settings_on_change=False)
    win.show()
    recipe = Recipe(data=str(data), target="target", estimator="LogisticRegression")
    beat = Heartbeat()

    def run_job(fn, *a) -> tuple[dict[str, float], float]:
        loop = QEventLoop()
        ids: list[int] = []
        ended: list[str] = []

        def end(job_id: int, *_r: object) -> None:
            if ids and job_id == ids[0]:
                ended.append("x")
                loop.quit()

        for sig in (win.jobs.sig_job_finished, win.jobs.sig_job_failed):
            sig.connect(end)
        beat.start()
        t = time.perf_counter()
        ids.append(win.jobs.submit(JobKind.TRAIN, "bench", fn, *a))
        loop.exec()
        wall = time.perf_counter() - t
        stats = beat.stop()
        job = win.jobs.runner.get(ids[0])
        if job.error:
            raise SystemExit(f"training failed: {job.error}")
        return stats, wall

    # let the window finish starting (first page, watcher), then the idle baseline
    loop = QEventLoop()
    QTimer.singleShot(2000, loop.quit)
    loop.exec()
    app.processEvents()
    beat.start()
    loop = QEventLoop()
    QTimer.singleShot(int(args.idle * 1000), loop.quit)
    loop.exec()
    idle = beat.stop()

    def in_thread(ctx):
        return train(reg, recipe, "in-thread", progress=ctx.progress, cancel=ctx.cancel)

    thread_stats, thread_wall = ({}, 0.0) if args.worker_only else run_job(in_thread)
    request = {
        "kind": "train",
        "registry": str(reg.home),
        "recipe": recipe.to_json(),
        "name": "in-worker",
    }
    worker_stats, worker_wall = run_job(worker_job, request)
    win.shutdown()

    print(
        f"\nTraining {args.rows:,} rows (4 numeric, 4 string columns), heartbeat {HEARTBEAT_MS} ms\n"
    )
    print(
        "| where the fit runs | job wall time | max stall | p99 stall | stalls > 50 ms "
        "| GUI-thread CPU between two beats, max |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| idle window (baseline, {idle['seconds']:.0f} s) | — | {idle['max_ms']:.0f} ms | "
        f"{idle['p99_ms']:.0f} ms | {idle['over_50']} | {idle['busy_max_ms']:.0f} ms |"
    )
    runs = [("training worker process", worker_stats, worker_wall)]
    if thread_stats:
        runs.insert(0, ("job thread in the window's process", thread_stats, thread_wall))
    for label, s, wall in runs:
        print(
            f"| {label} | {wall:.1f} s | {s['max_ms']:.0f} ms | {s['p99_ms']:.0f} ms | "
            f"{s['over_50']} | {s['busy_max_ms']:.0f} ms |"
        )
    if thread_stats:
        print(
            f"\nmax stall, worker / thread: "
            f"{worker_stats['max_ms'] / max(thread_stats['max_ms'], 1e-9):.2f}; "
            f"wall time, worker / thread: {worker_wall / thread_wall:.2f}"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
