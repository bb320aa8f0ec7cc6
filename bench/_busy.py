"""Busy-loop processes that keep cores busy while a bench runs (issue 21's "load 2-3").

Plain Python at the priority of the bench (normal, when run as the issue asks):
they compete with what is measured as another program on the host would.
"""

from __future__ import annotations

import subprocess
import sys
import time


def start_busy(n: int) -> list[subprocess.Popen]:
    """``n`` processes that each keep a core busy."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    if procs:
        time.sleep(1.0)  # let the load average and the scheduler see them
        print(f"{n} busy-loop processes running (pids {[p.pid for p in procs]})", file=sys.stderr)
    return procs


def stop_busy(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()
