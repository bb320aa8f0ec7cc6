"""Desktop benchmarks: cold start, filter-to-first-repaint on 100k versions, event-loop stall.

    python bench/bench_ui.py [--versions 100000] [--model-mb 200]

Prints a Markdown table for docs/benchmarks.md ("## Desktop"). Timings are
reported next to baselines measured in the same run (the machine is shared).
"""

from __future__ import annotations

import argparse
import atexit
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _busy import start_busy, stop_busy

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

COLD_START = r"""
import sys, time
t0 = time.perf_counter()
from modelward.ui.app import make_app
from modelward.ui.main_window import MainWindow
from modelward.core.registry import Registry
from modelward.core.settings import Settings
from PySide6.QtCore import QTimer
app = make_app("light")
win = MainWindow(Registry(sys.argv[1], idle_release=1.0), Settings(), save_settings_on_change=False)
win.show()
def loaded(n, s):
    # First paint of the table with its first page.
    win.registry_page.table.viewport().repaint()
    print(f"{time.perf_counter() - t0:.4f} {n}", flush=True)
    heavy = [m for m in ("sklearn", "scipy", "pandas") if m in sys.modules]
    print("heavy:" + ",".join(heavy), flush=True)
    QTimer.singleShot(0, app.quit)
win.versions_model.sig_loaded.connect(loaded)
app.exec()
win.shutdown()
"""


def make_registry(home: Path, n: int) -> None:
    import numpy as np

    from modelward.core.registry import Registry
    from modelward.core.registry.bulk import bulk_add_versions

    reg = Registry(home)
    shas = []
    with tempfile.TemporaryDirectory() as t:
        for i in range(100):
            p = Path(t) / f"m{i}.bin"
            p.write_bytes(os.urandom(64))
            shas.append(reg.artifacts.put_file(p)[0])
    rng = np.random.default_rng(0)
    statuses = ["ok", "ok", "ok", "needs_revalidation", "quarantined"]
    recs = [
        {
            "name": f"{'credit' if (i // 100) % 3 == 0 else 'churn'}-{i // 100:04d}",
            "sha256": shas[i % 100],
            "size": 64,
            "format": "skops",
            "estimator_class": "sklearn.linear_model.LogisticRegression",
            "metrics": {
                "roc_auc": float(rng.uniform(0.6, 0.95)),
                "accuracy": float(rng.uniform(0.6, 0.95)),
            },
            "status": statuses[i % 5],
        }
        for i in range(n)
    ]
    bulk_add_versions(reg, recs)
    reg.close()


def timed_cmd(args: list[str], runs: int = 5) -> float:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def cold_start(home: Path, runs: int = 5) -> tuple[float, float, float, str]:
    py = sys.executable
    base = timed_cmd([py, "-c", "pass"], runs)
    qt = timed_cmd([py, "-c", "import PySide6.QtWidgets"], runs)
    times, heavy = [], ""
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run(
            [py, "-c", COLD_START, str(home)], check=True, capture_output=True, text=True
        )
        # Wall time to the printed first paint = process start + in-process time.
        lines = r.stdout.split()
        in_proc = float(lines[0])
        times.append((time.perf_counter() - t0) - 0 if False else None)
        heavy = r.stdout.splitlines()[1]
        times[-1] = in_proc
    # in-process time excludes interpreter start; add the measured `python -c pass`.
    return base, qt, statistics.median(times) + base, heavy


def in_window(
    home: Path,
    model_mb: int,
    parts: set[str],
    scenarios: list[str],
    profile: int = 0,
    seconds: float = 10.0,
) -> dict[str, float]:
    from PySide6.QtCore import QEventLoop, QTimer

    from modelward.core.registry import Registry
    from modelward.core.settings import Settings
    from modelward.ui.app import IDLE_RELEASE, make_app
    from modelward.ui.main_window import MainWindow

    make_app("light")
    win = MainWindow(
        Registry(home, idle_release=IDLE_RELEASE), Settings(), save_settings_on_change=False
    )
    win.resize(1280, 800)
    win.show()

    def wait(sig, ms=120_000):
        loop = QEventLoop()
        sig.connect(lambda *a: loop.quit())
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    if win.versions_model.loading:
        wait(win.versions_model.sig_loaded)
    out: dict[str, float] = {}
    if "filter" in parts:
        out.update(filter_times(win, wait))
    if "stall" in parts:
        out.update(stall(win, wait, model_mb, scenarios, profile, seconds))
    if "gc" in parts:
        out.update(gc_pause())
    win.shutdown()
    return out


def filter_times(win, wait) -> dict[str, float]:
    from PySide6.QtCore import QEventLoop, QTimer

    view = win.registry_page.table
    page = win.registry_page
    queries = (
        "name:credit",
        "roc_auc>0.9",
        "name:churn status:quarantined",
        "accuracy<0.7 -name:credit",
        "",
    )
    # Filter -> first repaint, back to back (the connection stays open).
    filt = []
    for _ in range(2):
        for text in queries:
            page.search.blockSignals(True)
            page.search.setText(text)
            page.search.blockSignals(False)
            t0 = time.perf_counter()
            page.apply_search()
            wait(win.versions_model.sig_loaded)
            view.viewport().repaint()
            filt.append(time.perf_counter() - t0)
    # As a user types after looking at the table for a while: the connection was
    # released (idle), typing starts the debounce; timed from the debounce firing.
    idle = []
    fired = [0.0]
    page._debounce.timeout.connect(lambda: fired.__setitem__(0, time.perf_counter()))
    for text in queries:
        deadline = time.perf_counter() + 30
        while win.registry.is_connected and time.perf_counter() < deadline:
            loop = QEventLoop()
            QTimer.singleShot(100, loop.quit)
            loop.exec()
        assert not win.registry.is_connected
        page.search.setText(text)
        wait(win.versions_model.sig_loaded)
        view.viewport().repaint()
        idle.append(time.perf_counter() - fired[0])
    # Baseline: the same count + page queries alone, on this thread, connection open.
    from modelward.core import query

    spec = win.versions_model.spec
    bare = []
    for _ in range(2):
        for text in queries:
            t0 = time.perf_counter()
            sp = query.TableSpec(
                filter=query.parse_search(text), metric_keys=spec.metric_keys, sort=spec.sort
            )
            query.count_rows(win.registry, sp)
            query.fetch_page(win.registry, sp, 0, 500)
            bare.append(time.perf_counter() - t0)
    print("filter ms:", [round(1000 * x) for x in filt], file=sys.stderr)
    print("idle ms:", [round(1000 * x) for x in idle], file=sys.stderr)
    print("bare ms:", [round(1000 * x) for x in bare], file=sys.stderr)
    return {
        "bare_median_ms": 1000 * statistics.median(bare),
        "filter_median_ms": 1000 * statistics.median(filt),
        "filter_max_ms": 1000 * max(filt),
        "filter_idle_median_ms": 1000 * statistics.median(idle),
        "filter_idle_max_ms": 1000 * max(idle),
        "filter_load": os.getloadavg()[0],
    }


def stall(
    win, wait, model_mb: int, scenarios: list[str], profile: int = 0, seconds: float = 10.0
) -> dict[str, float]:
    """Event-loop gaps (10 ms heartbeat) per scenario, each with its own idle baseline.

    ``idle``: nothing but the heartbeat (what the shared machine's scheduler
    alone costs); ``scroll``: scroll + filter the table for 10 s; ``register``: a
    ``model_mb`` MB scikit-learn model registers; ``fit``: a random forest trains
    in a worker process and registers (as the training dialog runs it); ``all``: the three together (the issue's target).
    """
    import joblib
    import numpy as np
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from sklearn.linear_model import LogisticRegression

    view = win.registry_page.table
    tmp = Path(tempfile.mkdtemp(prefix="mw-bench-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    # A real estimator whose weights take model_mb MB (it passes the trust checks).
    big_model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    big_model.coef_ = np.random.default_rng(0).normal(size=(1, model_mb * 1024 * 1024 // 8))
    big_model.n_features_in_ = big_model.coef_.shape[1]

    # The fit runs as the window's training dialog runs it: a worker process that
    # fits, scores the holdout and registers the model (it must get into the
    # database while the window keeps reading).
    from modelward.core.compute.recipe import Recipe
    from modelward.core.compute.worker import worker_job

    rng = np.random.default_rng(1)
    X = rng.normal(size=(20_000, 20))
    cols = [f"x{j}" for j in range(20)]
    csv = tmp / "train.csv"
    with open(csv, "w") as f:
        f.write(",".join(cols) + ",y\n")
        np.savetxt(f, np.column_stack([X, (X[:, 0] + X[:, 1] > 0)]), delimiter=",", fmt="%.6g")
    recipe = Recipe(
        data=str(csv),
        target="y",
        estimator="RandomForestClassifier",
        params={"n_estimators": 60},
    )

    def fit_request() -> dict:
        return {
            "kind": "train",
            "registry": str(win.registry.home),
            "actor": win.registry.actor,
            "busy_timeout": win.registry.busy_timeout,
            "recipe": recipe.to_json(),
            "name": "bench-fit",
            "n_jobs": 1,
        }

    done = {"n": 0, "failed": []}
    win.jobs.sig_job_finished.connect(lambda *a: done.__setitem__("n", done["n"] + 1))

    def failed(_jid, msg):
        done["n"] += 1
        done["failed"].append(msg)

    win.jobs.sig_job_failed.connect(failed)
    out: dict[str, float] = {}
    for i, name in enumerate(scenarios):
        jobs = 0
        if name in ("register", "all"):
            big = tmp / f"big{i}.joblib"
            joblib.dump(big_model, big)
        gaps: list[float] = []
        busy: list[float] = []
        spans: list[tuple[float, float, float]] = []
        clock = QElapsedTimer()
        clock.start()
        last = [clock.nsecsElapsed()]
        cpu = [time.thread_time()]

        wall = [time.perf_counter()]

        def beat(gaps=gaps, busy=busy, clock=clock, last=last, cpu=cpu, wall=wall, spans=spans):
            now = clock.nsecsElapsed()
            gaps.append((now - last[0]) / 1e6)
            last[0] = now
            # CPU the GUI thread itself spent between two beats: the part of a gap
            # that is the window's own work, not waiting for a core on a busy host.
            c = time.thread_time()
            busy.append((c - cpu[0]) * 1000)
            cpu[0] = c
            w = time.perf_counter()
            spans.append((wall[0], w, busy[-1]))
            wall[0] = w

        hb = QTimer()
        hb.setInterval(10)
        hb.timeout.connect(beat)
        sampler = None
        if profile:
            from _gui_sampler import EventLog, Sampler
            from PySide6.QtWidgets import QApplication

            sampler = Sampler()
            sampler.start()
            events = EventLog()
            QApplication.instance().installEventFilter(events.filter)
        gc_pauses: list[tuple[int, float]] = []
        gc_cb = _gc_recorder(gc_pauses)
        gc.callbacks.append(gc_cb)
        hb.start()
        done["n"] = 0
        load0 = os.getloadavg()[0]
        t_start = time.perf_counter()
        if name in ("register", "all"):
            win.register_files([str(big)], f"big-model-{i}")
            jobs += 1
        if name in ("fit", "all"):
            win.jobs.submit("train", "bench fit", worker_job, fit_request())
            jobs += 1
        scroll = name in ("scroll", "all")
        sb = view.verticalScrollBar()
        step = 0
        while time.perf_counter() - t_start < 300:
            if done["n"] >= jobs and time.perf_counter() - t_start >= seconds:
                break
            step += 1
            if scroll:
                sb.setValue((step * 7919 * 37) % max(1, sb.maximum()))
                if step % 25 == 0:
                    text = ["name:credit", "roc_auc>0.8", ""][step // 25 % 3]
                    win.registry_page.search.setText(text)
                    win.registry_page.apply_search()
            loop = QEventLoop()
            QTimer.singleShot(30, loop.quit)
            loop.exec()
        hb.stop()
        gc.callbacks.remove(gc_cb)
        if sampler is not None:
            sampler.stop()
            print(f"\n=== {name}: the {profile} gaps with the most GUI-thread CPU", file=sys.stderr)
            sampler.report(spans[5:], profile)
            QApplication.instance().removeEventFilter(events.filter)
            events.report(spans[5:], profile)
        stalls = sorted(g - 10 for g in gaps[5:])
        out[f"{name}_max_ms"] = max(stalls)
        out[f"{name}_p99_ms"] = stalls[int(0.99 * (len(stalls) - 1))]
        out[f"{name}_busy_max_ms"] = max(busy[5:])
        out[f"{name}_seconds"] = time.perf_counter() - t_start
        out[f"{name}_beats"] = len(gaps)
        out[f"{name}_load"] = (load0 + os.getloadavg()[0]) / 2
        full = [ms for gen, ms in gc_pauses if gen == 2]
        out[f"{name}_gc_max_ms"] = max((ms for _g, ms in gc_pauses), default=0.0)
        print(
            f"{name}: max {max(stalls):.0f} ms, p99 {out[f'{name}_p99_ms']:.0f} ms, "
            f"GUI-thread CPU between beats max {out[f'{name}_busy_max_ms']:.0f} ms, "
            f"{len(gaps)} beats, {out[f'{name}_seconds']:.0f} s, load {out[f'{name}_load']:.1f}; "
            f"GC on the GUI thread: {len(gc_pauses)} passes ({len(full)} full), longest "
            f"{out[f'{name}_gc_max_ms']:.1f} ms CPU",
            file=sys.stderr,
        )
    if done["failed"]:
        # A job that failed fast would make the figures look better than they are.
        raise SystemExit(f"jobs failed: {done['failed']}")
    out["scenarios"] = scenarios  # type: ignore[assignment]
    return out


def _gc_recorder(pauses: list[tuple[int, float]]):
    """A ``gc.callbacks`` hook: (generation, GUI-thread CPU ms) of each collection on it."""
    import threading

    main = threading.main_thread()
    started = [0.0]

    def record(phase: str, info: dict) -> None:
        if threading.current_thread() is not main:
            return
        if phase == "start":
            started[0] = time.thread_time()
        else:
            pauses.append((info["generation"], 1000 * (time.thread_time() - started[0])))

    return record


def gc_pause(repeat: int = 5) -> dict[str, float]:
    """One full garbage collection in the window's process, as a session has it (the
    scientific stack loaded): everything tracked (baseline) vs after the window's
    freeze of long-lived objects (``bridge.freeze_long_lived``, run by its 1 s tick)."""
    import gc

    import pandas  # noqa: F401  (what the training and monitoring pages load)
    import pyqtgraph  # noqa: F401
    import scipy.stats  # noqa: F401
    import sklearn.ensemble  # noqa: F401

    def full() -> float:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            gc.collect()
            times.append(time.perf_counter() - t)
        return 1000 * statistics.median(times)

    gc.unfreeze()
    tracked = len(gc.get_objects())
    before = full()
    gc.freeze()
    after = full()
    return {"gc_tracked": tracked, "gc_full_ms": before, "gc_frozen_ms": after}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--versions", type=int, default=100_000)
    ap.add_argument("--model-mb", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default="cold,filter,stall,gc", help="comma list of parts to run")
    ap.add_argument("--scenarios", default="idle,scroll,register,fit,all")
    ap.add_argument("--home", help="reuse a registry built by an earlier run (kept)")
    ap.add_argument(
        "--busy",
        type=int,
        default=0,
        metavar="N",
        help="run N busy-loop processes (plain `while True: pass`, normal priority) during "
        "the filter/stall/gc parts: the host under load (issue 21: two)",
    )
    ap.add_argument(
        "--seconds", type=float, default=10.0, help="length of each stall scenario (at least)"
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 10,000 versions, a 20 MB model, 4 s scenarios, one cold start",
    )
    ap.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="sample the GUI thread's stack and print what ran in the N busiest gaps",
    )
    a = ap.parse_args()
    if a.quick:
        a.versions, a.model_mb, a.seconds, a.runs = 10_000, 20, 4.0, 1
    parts = set(a.only.split(","))
    with tempfile.TemporaryDirectory(prefix="mw-bench-ui-") as t:
        home = Path(a.home) if a.home else Path(t) / "reg"
        if not (home / "registry.duckdb").exists():
            t0 = time.perf_counter()
            make_registry(home, a.versions)
            print(
                f"built {a.versions:,} versions in {time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
            )
        if "cold" in parts:
            load = os.getloadavg()[0]
            base, qt, start, heavy = cold_start(home, a.runs)
        busy = start_busy(a.busy)
        try:
            w = (
                in_window(home, a.model_mb, parts, a.scenarios.split(","), a.profile, a.seconds)
                if parts & {"filter", "stall", "gc"}
                else {}
            )
        finally:
            stop_busy(busy)
    print("| Measure | Result | Baseline (same run) |")
    print("|---|---|---|")
    if "cold" in parts:
        print(
            f"| Cold start to the table painted, {a.versions:,} versions | {start:.2f} s | "
            f"`python -c pass` {base:.2f} s, `import PySide6.QtWidgets` {qt:.2f} s "
            f"(ratio {start / qt:.1f}× the Qt import); load {load:.1f} |"
        )
        print(f"| Heavy modules loaded at first paint | {heavy[6:] or 'none'} | — |")
    if "filter" in parts:
        print(
            f"| Filter {a.versions:,} versions → first repaint, connection open | "
            f"median {w['filter_median_ms']:.0f} ms, max {w['filter_max_ms']:.0f} ms | "
            f"count + page queries alone: median {w['bare_median_ms']:.0f} ms "
            f"(ratio {w['filter_median_ms'] / w['bare_median_ms']:.1f}); target < 100 ms; "
            f"load {w['filter_load']:.1f} |"
        )
        print(
            f"| Same, typed after the idle release (from the debounce firing) | "
            f"median {w['filter_idle_median_ms']:.0f} ms, max {w['filter_idle_max_ms']:.0f} ms | "
            f"target < 100 ms |"
        )
    if "gc" in parts:
        print(
            f"| One full garbage collection (sklearn, pandas, scipy, pyqtgraph loaded; "
            f"{w['gc_tracked']:,} objects tracked) | {w['gc_frozen_ms']:.1f} ms after the "
            f"window's freeze of long-lived objects | {w['gc_full_ms']:.0f} ms with all tracked |"
        )
    if "stall" in parts:
        what = {
            "idle": "nothing but the heartbeat (baseline)",
            "scroll": "the table scrolls and filters",
            "register": f"a {a.model_mb} MB model registers",
            "fit": "a random-forest fit runs in a job",
            "all": f"all together: {a.model_mb} MB model registers + fit + scroll/filter",
        }
        base = w.get("idle_max_ms")
        host = f"{a.busy} busy-loop processes on the host, " if a.busy else ""
        target = "p99 < 30 ms, max < 100 ms" if a.busy else "max < 50 ms"
        for name in w["scenarios"]:
            ratio = f"; {w[name + '_max_ms'] / base:.1f}× the idle max" if base else ""
            print(
                f"| Event-loop stall (10 ms heartbeat), {what.get(name, name)} | "
                f"max {w[name + '_max_ms']:.0f} ms, p99 {w[name + '_p99_ms']:.0f} ms "
                f"({w[name + '_beats']:.0f} beats, {w[name + '_seconds']:.0f} s); GUI-thread "
                f"CPU between two beats max {w[name + '_busy_max_ms']:.0f} ms; GC longest "
                f"{w[name + '_gc_max_ms']:.1f} ms | "
                f"{host}load {w[name + '_load']:.1f}{ratio}; target {target} |"
            )


if __name__ == "__main__":
    main()
