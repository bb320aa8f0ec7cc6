"""Create the demo workspace from the window vs ``modelward demo --no-gui``.

    python bench/bench_demo.py [--rounds 3]

Each round builds the demo workspace twice on fresh registries, interleaved:

* ``cli``: ``modelward demo --no-gui`` as a real subprocess (interpreter start,
  the build, then its checks, model card and offscreen screenshots); the time
  of its build alone is read off its output (the line after the steps);
* ``window``: the window, in this process and offscreen, with File → Create
  demo workspace triggered (``QAction.trigger()``) and timed to the job's end,
  while a 10 ms heartbeat measures the event-loop stall.

Prints a Markdown table for docs/benchmarks.md ("## The window, walked").
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")


IDLE_S = 8.0


def cli_round(home: Path) -> tuple[float, float]:
    """(whole command, build part) in seconds."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelward", "demo", "--no-gui", "--registry", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    build = None
    for line in proc.stdout:
        if build is None and line.startswith("  champion "):
            build = time.perf_counter() - t0
    proc.wait()
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"modelward demo --no-gui failed ({proc.returncode})")
    return total, build or total


def window_round(home: Path) -> dict[str, float]:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    from modelward.core.registry import Registry
    from modelward.core.settings import Settings
    from modelward.ui.actions import Ids
    from modelward.ui.app import IDLE_RELEASE, make_app
    from modelward.ui.main_window import MainWindow

    make_app("light")
    win = MainWindow(
        Registry(home, idle_release=IDLE_RELEASE), Settings(), save_settings_on_change=False
    )
    win.resize(1280, 800)
    win.show()
    # Let the window settle first (first page, first poll, the folder watcher's start):
    # the figure is the demo's, not the window's start.
    settle = QEventLoop()
    QTimer.singleShot(3000, settle.quit)
    settle.exec()
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]
    busy: list[float] = []
    cpu = [time.thread_time()]

    def beat() -> None:
        now = clock.nsecsElapsed()
        c = time.thread_time()  # the GUI thread's own CPU between beats (not the host's wait)
        busy.append((c - cpu[0]) * 1000)
        cpu[0] = c
        gaps.append((now - last[0]) / 1e6)
        if gaps[-1] > 60 and os.environ.get("BENCH_VERBOSE"):
            print(f"  stall {gaps[-1]:.0f} ms at {time.perf_counter() - t0:.2f} s", file=sys.stderr)
        last[0] = now

    hb = QTimer()
    hb.setInterval(10)
    hb.timeout.connect(beat)
    loop = QEventLoop()
    result: dict[str, object] = {}
    logs: list[float] = []
    t0 = time.perf_counter()
    win.jobs.sig_job_finished.connect(lambda *a: (result.setdefault("ok", True), loop.quit()))
    win.jobs.sig_job_failed.connect(lambda _j, m: (result.setdefault("error", m), loop.quit()))

    def logged(_jid: int, line: str) -> None:
        logs.append(time.perf_counter() - t0)
        if os.environ.get("BENCH_VERBOSE"):
            print(f"  {logs[-1]:6.2f} s  {line}", file=sys.stderr)

    win.jobs.sig_job_logged.connect(logged)
    hb.start()
    # The idle baseline: the same heartbeat with nothing to do for IDLE_S seconds (what
    # the shared machine's scheduler alone costs).
    t0 = time.perf_counter()
    idle = QEventLoop()
    QTimer.singleShot(int(IDLE_S * 1000), idle.quit)
    idle.exec()
    idle_gaps = sorted(g - 10 for g in gaps[5:])
    gaps.clear()
    busy.clear()
    t0 = time.perf_counter()
    win.acts[Ids.DEMO].trigger()
    QTimer.singleShot(600_000, loop.quit)
    loop.exec()
    took = time.perf_counter() - t0
    hb.stop()
    win.shutdown()
    if "error" in result or "ok" not in result:
        raise SystemExit(f"the window's demo job did not finish: {result}")
    stalls = sorted(g - 10 for g in gaps[5:])
    return {
        "seconds": took,
        "stall_max_ms": max(stalls),
        "stall_p99_ms": stalls[int(0.99 * (len(stalls) - 1))],
        "busy_max_ms": max(busy[5:]),
        "idle_max_ms": max(idle_gaps),
        "idle_p99_ms": idle_gaps[int(0.99 * (len(idle_gaps) - 1))],
        "log_lines": len(logs),
        "first_log_s": min(logs) if logs else took,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    cli_total, cli_build, win_s, stall_max, stall_p99 = [], [], [], [], []
    idle_max, idle_p99, busy_max = [], [], []
    lines = []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="mw-demo-") as t:
            order = ("window", "cli") if r % 2 else ("cli", "window")
            for which in order:
                home = Path(t) / which
                if which == "cli":
                    total, build = cli_round(home)
                    cli_total.append(total)
                    cli_build.append(build)
                    print(f"round {r}: cli {total:.1f} s (build {build:.1f} s)", file=sys.stderr)
                else:
                    w = window_round(home)
                    win_s.append(w["seconds"])
                    stall_max.append(w["stall_max_ms"])
                    stall_p99.append(w["stall_p99_ms"])
                    idle_max.append(w["idle_max_ms"])
                    busy_max.append(w["busy_max_ms"])
                    idle_p99.append(w["idle_p99_ms"])
                    lines.append(w["log_lines"])
                    print(f"round {r}: window {w}", file=sys.stderr)

    def fmt(xs: list[float], unit: str = "s", d: int = 1) -> str:
        return f"{statistics.median(xs):.{d}f} {unit} ({min(xs):.{d}f}–{max(xs):.{d}f})"

    ratio_total = [w / c for w, c in zip(win_s, cli_total, strict=True)]
    ratio_build = [w / c for w, c in zip(win_s, cli_build, strict=True)]
    print(f"\n{args.rounds} rounds, interleaved; load {os.getloadavg()[0]:.1f}\n")
    print("| measure | median (min–max) |")
    print("|---|---|")
    print(f"| `modelward demo --no-gui`, whole command | {fmt(cli_total)} |")
    print(f"| `modelward demo --no-gui`, its build (to the summary) | {fmt(cli_build)} |")
    print(f"| window: File → Create demo workspace, to the job's end | {fmt(win_s)} |")
    print(f"| ratio window / CLI whole command | {fmt(ratio_total, '×', 2)} |")
    print(f"| ratio window / CLI build part | {fmt(ratio_build, '×', 2)} |")
    print(f"| event-loop stall while it builds, max | {fmt(stall_max, 'ms', 0)} |")
    print(f"| event-loop stall while it builds, p99 | {fmt(stall_p99, 'ms', 0)} |")
    print(f"| GUI-thread CPU between two beats while it builds, max | {fmt(busy_max, 'ms', 0)} |")
    print(
        f"| idle baseline (same window, nothing to do {IDLE_S:g} s), max | {fmt(idle_max, 'ms', 0)} |"
    )
    print(f"| idle baseline, p99 | {fmt(idle_p99, 'ms', 0)} |")
    print(f"| job-log lines written while it ran | {fmt(lines, '', 0)} |")


if __name__ == "__main__":
    main()
