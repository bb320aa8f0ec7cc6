"""The window's event loop is never held long by the window's own work (issues 18, 21).

While a training job fits and registers a model in its worker process (as the
training dialog runs it) and the table of a few thousand versions is scrolled
by jumps, every event the GUI thread handles is timed by its own CPU
(``time.thread_time``, read by an application-wide event filter as each event
starts: an event's cost is the CPU until the next one starts).

CPU, not wall time, and per event, not per heartbeat: on a loaded host the
wall gaps grow with the wait for a core, and events queued behind a repaint
add up between two beats. Even thread CPU swells under contention on a
virtual machine: a table repaint that costs 12 ms on a quiet host was
measured at 110 ms with two other processes spinning on the two cores (and a
heartbeat version of this test failed CI at 107 ms). So the window's own
handlers (queued signals, timers, read results) are bounded at 100 ms, twenty
times what they cost here (~5 ms): that catches a long handler coming back,
such as a synchronous registry read or the column sizing that read 1,000 rows
per column (~200 ms). A repaint is Qt drawing what is on screen and only gets
a bound for gross faults (a query per cell). Without a clock: the column
sizing reads only the rows on screen (``test_widgets``), and the window
freezes its start-up objects so that full collections stay short
(``test_main_window``).
"""

from __future__ import annotations

import gc
import os
import threading
import time
from itertools import pairwise

import numpy as np

HANDLER_MS = 100.0
PAINT_MS = 400.0


def _registry(home, n):
    from modelward.core.registry import Registry
    from modelward.core.registry.bulk import bulk_add_versions

    reg = Registry(home, idle_release=1.0)
    shas = []
    for i in range(50):  # a model's versions are distinct files
        blob = home.parent / f"m{i}.bin"
        blob.write_bytes(os.urandom(64))
        shas.append(reg.artifacts.put_file(blob)[0])
    rng = np.random.default_rng(0)
    bulk_add_versions(
        reg,
        [
            {
                "name": f"model-{i // 50:03d}",
                "sha256": shas[i % 50],
                "size": 64,
                "format": "skops",
                "estimator_class": "sklearn.linear_model.LogisticRegression",
                "metrics": {"roc_auc": float(rng.uniform(0.6, 0.95))},
                "status": "ok",
            }
            for i in range(n)
        ],
    )
    return reg


def test_each_event_on_the_gui_thread_is_short_while_a_fit_runs(
    make_main_window, wait_loaded, qtbot, tmp_path, request
):
    from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

    from modelward.core.compute.recipe import Recipe
    from modelward.core.compute.worker import worker_job
    from modelward.core.jobs import JobKind

    reg = _registry(tmp_path / "reg", 2_000)
    win = make_main_window(reg)
    win.resize(1280, 800)
    wait_loaded(win.versions_model)
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 2_000, timeout=15_000)

    rng = np.random.default_rng(1)
    X = rng.normal(size=(2_000, 6))
    csv = tmp_path / "train.csv"
    with open(csv, "w") as f:
        f.write(",".join(f"x{j}" for j in range(6)) + ",y\n")
        np.savetxt(f, np.column_stack([X, X[:, 0] > 0]), delimiter=",", fmt="%.5g")
    recipe = Recipe(
        data=str(csv), target="y", estimator="RandomForestClassifier", params={"n_estimators": 10}
    )

    # A fresh window freezes what its start-up created (bridge.freeze_long_lived),
    # so its full collections walk only young objects. This test's process has
    # also run hundreds of earlier tests, whose leftovers a user's window never
    # holds: a full pass over them (130 ms seen in CI) is the test's, not the
    # window's. Start from the window's condition, and undo it afterwards.
    gc.collect()
    gc.freeze()
    request.addfinalizer(gc.unfreeze)
    ended: list[object] = []
    win.jobs.sig_job_finished.connect(lambda *a: ended.append(a))
    win.jobs.sig_job_failed.connect(lambda *a: ended.append(a))
    job = win.jobs.submit(
        JobKind.TRAIN,
        "fit",
        worker_job,
        {
            "kind": "train",
            "registry": str(reg.home),
            "actor": reg.actor,
            "busy_timeout": reg.busy_timeout,
            "recipe": recipe.to_json(),
            "name": "stall-fit",
            "n_jobs": 1,
        },
    )
    # From here on the GUI thread runs only the window's event loop (the submission
    # above is the test's own code, a dialog's in the product).
    gui = threading.get_ident()
    events: list[tuple[float, int, str]] = []

    class Clock(QObject):
        def eventFilter(self, obj, event):  # noqa: N802
            if threading.get_ident() == gui:  # the application's filter sees the main thread's
                events.append((time.thread_time(), int(event.type()), type(obj).__name__))
            return False

    clock = Clock()
    QCoreApplication.instance().installEventFilter(clock)
    request.addfinalizer(lambda: QCoreApplication.instance().removeEventFilter(clock))
    # Scroll by jumps (each a full repaint, pages loading) while the job runs.
    sb = win.registry_page.table.verticalScrollBar()
    step = [0]

    def jump() -> None:
        step[0] += 1
        sb.setValue((step[0] * 7919) % max(1, sb.maximum()))

    scroller = QTimer()
    scroller.setInterval(40)
    scroller.timeout.connect(jump)
    scroller.start()
    qtbot.waitUntil(lambda: bool(ended), timeout=120_000)
    scroller.stop()
    error = win.jobs.runner.get(job).error
    assert not error, error
    # The registration reaches the table: its reload and repaint are measured too.
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 2_001, timeout=30_000)
    qtbot.wait(300)
    QCoreApplication.instance().removeEventFilter(clock)
    assert step[0] > 5 and len(events) > 100
    # Qt's repaint: the paint events and the update request that dispatches them.
    painting = {
        int(QEvent.Type.Paint),
        int(QEvent.Type.UpdateRequest),
        int(QEvent.Type.UpdateLater),
    }
    worst = {True: (0.0, ""), False: (0.0, "")}
    for (t0, kind, receiver), (t1, _k, _r) in pairwise(events):
        ms = 1000 * (t1 - t0)
        is_paint = kind in painting
        if ms > worst[is_paint][0]:
            worst[is_paint] = (ms, f"{QEvent.Type(kind).name} to {receiver}")
    assert worst[False][0] < HANDLER_MS, (
        f"the GUI thread spent {worst[False][0]:.0f} ms of its own CPU on one event "
        f"({worst[False][1]}; bound {HANDLER_MS:.0f} ms): a long handler on the GUI thread"
    )
    assert worst[True][0] < PAINT_MS, (
        f"one repaint took {worst[True][0]:.0f} ms of the GUI thread's CPU "
        f"({worst[True][1]}; bound {PAINT_MS:.0f} ms)"
    )
