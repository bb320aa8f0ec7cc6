"""What the GUI thread ran during its longest gaps: a sampling profiler for the UI benches.

A daemon thread samples the main thread's Python stack every ``interval`` seconds
so a gap between two heartbeats can be explained afterwards: :meth:`Sampler.report` takes the gaps
whose GUI-thread CPU was largest and prints the stacks seen inside each, most
frequent first. When the main thread is inside Qt's C++ (a paint, a layout)
the innermost Python frame is the one that called into Qt.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from collections.abc import Iterable


class Sampler:
    def __init__(self, interval: float = 0.001, depth: int = 14) -> None:
        self.interval = interval
        self.depth = depth
        self.main = threading.main_thread().ident
        self.samples: list[tuple[float, tuple[str, ...]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gui-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            frame = sys._current_frames().get(self.main)
            stack = []
            while frame is not None and len(stack) < self.depth:
                code = frame.f_code
                where = code.co_filename.rsplit("/", 2)
                stack.append(f"{'/'.join(where[-2:])}:{frame.f_lineno} {code.co_name}")
                frame = frame.f_back
            self.samples.append((time.perf_counter(), tuple(stack)))

    def report(self, beats: Iterable[tuple[float, float, float]], top: int = 5) -> None:
        """``beats``: (start, end, GUI-thread CPU ms) of each gap; prints the top gaps' stacks."""
        worst = sorted(beats, key=lambda b: -b[2])[:top]
        for start, end, cpu in worst:
            inside = [s for t, s in self.samples if start <= t <= end]
            print(
                f"\n--- gap {1000 * (end - start):.0f} ms wall, {cpu:.0f} ms GUI CPU, "
                f"{len(inside)} samples, monotonic {start:.6f}-{end:.6f}",
                file=sys.stderr,
            )
            for stack, n in collections.Counter(inside).most_common(4):
                print(f"  {n} x", file=sys.stderr)
                for line in stack:
                    print(f"      {line}", file=sys.stderr)


class EventLog:
    """Every event the GUI thread delivers, with the thread's CPU clock at delivery.

    The CPU between two consecutive deliveries is charged to the first (a paint
    that runs 20 ms shows as a Paint event followed by a 20 ms step). Install
    with ``app.installEventFilter(log.filter)``.
    """

    def __init__(self) -> None:
        from PySide6.QtCore import QEvent, QObject

        log = self
        self.rows: list[tuple[float, float, str]] = []
        names = {int(v.value): k for k, v in QEvent.Type.__members__.items()}
        paint, timer = int(QEvent.Type.Paint.value), int(QEvent.Type.Timer.value)

        class _Filter(QObject):
            def eventFilter(self, obj, ev):  # noqa: N802 (Qt's name)
                t = int(ev.type())
                who = type(obj).__name__
                on = obj.objectName() if hasattr(obj, "objectName") else ""
                if t == paint:
                    r = ev.rect()
                    on += f" {r.width()}x{r.height()}+{r.x()}+{r.y()}"
                elif t == timer:
                    on += f" timer {ev.timerId()}"
                log.rows.append(
                    (time.perf_counter(), time.thread_time(), f"{names.get(t, t)} {who} {on}")
                )
                return False

        self.filter = _Filter()

    def report(self, beats: Iterable[tuple[float, float, float]], top: int = 5) -> None:
        worst = sorted(beats, key=lambda b: -b[2])[:top]
        for start, end, cpu in worst:
            idx = [i for i, r in enumerate(self.rows) if start <= r[0] <= end]
            steps = []
            for i in idx:
                nxt = self.rows[i + 1][1] if i + 1 < len(self.rows) else self.rows[i][1]
                steps.append((1000 * (nxt - self.rows[i][1]), self.rows[i][2]))
            print(
                f"\n--- gap {1000 * (end - start):.0f} ms wall, {cpu:.0f} ms GUI CPU: "
                f"{len(idx)} events; the costliest:",
                file=sys.stderr,
            )
            for ms, what in sorted(steps, key=lambda s: -s[0])[:8]:
                print(f"  {ms:6.1f} ms  {what}", file=sys.stderr)
            print("  in order (>= 0.5 ms):", file=sys.stderr)
            for ms, what in steps:
                if ms >= 0.5:
                    print(f"    {ms:6.1f} ms  {what}", file=sys.stderr)
