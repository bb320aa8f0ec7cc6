"""The window's event loop is never held long by the window's own work (issues 18, 21).

A 10 ms heartbeat runs on the GUI thread while a training job fits and
registers a model in its worker process (as the training dialog runs it) and
the table of a few thousand versions is scrolled by jumps; the GUI thread's
own CPU time between two beats (``time.thread_time``) must stay short. CPU
time, not wall time: on a loaded host the wall gaps grow with the wait for a
core, the CPU the window itself spends does not. The bound is generous (a
repaint of the table costs ~20 ms): it catches a long handler coming back,
such as the column sizing that read 1,000 rows per column (~200 ms) or a
full garbage collection over the scientific stack (~100 ms).
"""

from __future__ import annotations

import gc
import os
import time

import numpy as np

BOUND_MS = 100.0


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


def test_gui_thread_cpu_between_beats_stays_short_while_a_fit_runs(
    make_main_window, wait_loaded, qtbot, tmp_path, request
):
    from PySide6.QtCore import QTimer

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
    busy: list[float] = []
    last = [time.thread_time()]

    def beat() -> None:
        now = time.thread_time()
        busy.append(1000 * (now - last[0]))
        last[0] = now

    hb = QTimer()
    hb.setInterval(10)
    hb.timeout.connect(beat)
    hb.start()
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
    hb.stop()
    assert len(busy) > 20 and step[0] > 5
    worst = max(busy[2:])
    assert worst < BOUND_MS, (
        f"the GUI thread ran {worst:.0f} ms of its own CPU between two heartbeats "
        f"(bound {BOUND_MS:.0f} ms): a long handler on the GUI thread"
    )
