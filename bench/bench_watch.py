"""Watched folders: arrival latency, hashing throughput, and a burst of files.

Usage::

    python bench/bench_watch.py            # full run (20,000-file bursts)
    python bench/bench_watch.py --quick    # 2,000 model files, 1,000 CSVs, fewer samples
    python bench/bench_watch.py --only data --data-files 20000   # one part alone
    python bench/bench_watch.py --only data --data-files 2000 --data-small 0 --data-champion

Figures:

* latency from a file's close to "registered and visible" (the watcher's
  ``ingested`` event, sent after the registry transaction committed), for
  real scikit-learn model files from 10 KB to 10 MB: median and p95;
* hashing throughput of ``sha256_file`` on a 1 GB file, as a ratio to
  ``hashlib.sha256`` over the same bytes already in memory (the floor);
* a burst of N model files moved into a models inbox at once: how many were
  registered, and how long it took;
* a burst of N small CSV batches moved into a data inbox at once (each read by
  the strict reader and checked against the model's signature): all listed,
  files/s, and the ratio to a plain loop that copies and hashes the same files
  (run just before and just after, in the same run); once with the watcher's
  group commit and once with one commit per file (``group_size=1``), on
  fewer files.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import joblib
import numpy as np

from modelward.core.artifacts.store import sha256_file
from modelward.core.registry import Registry
from modelward.core.watch import MODELS, FolderWatcher, add_folder


def model_bytes(n_features: int, seed: int) -> bytes:
    """A real fitted StandardScaler whose size grows with ``n_features``."""
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    scaler = StandardScaler().fit(rng.normal(size=(3, n_features)))
    buf = io.BytesIO()
    joblib.dump(scaler, buf)
    return buf.getvalue()


def bench_latency(tmp: Path, samples: int) -> dict[str, object]:
    reg = Registry(tmp / "lat-reg", idle_release=0.5)
    inbox = tmp / "lat-inbox"
    add_folder(reg, inbox, MODELS, model_name="latency")
    arrived: dict[str, float] = {}
    cond = threading.Condition()

    def on_event(e):
        if e.kind in ("ingested", "rejected", "error"):
            with cond:
                arrived[Path(e.path).name] = time.perf_counter()
                cond.notify_all()

    w = FolderWatcher(reg, on_event=on_event, settle=1.0, rescan_interval=30)
    w.start()
    sizes = [1_000, 30_000, 150_000, 400_000]  # features -> ~25 KB .. ~9.6 MB files
    rows = []
    try:
        for i in range(samples):
            nf = sizes[i % len(sizes)]
            data = model_bytes(nf, seed=i)
            name = f"m{i:04d}.joblib"
            with open(inbox / name, "wb") as f:
                f.write(data)
            closed_at = time.perf_counter()  # the close happened at the end of `with`
            with cond:
                cond.wait_for(lambda n=name: n in arrived, timeout=60)
            rows.append((len(data), arrived.get(name, float("nan")) - closed_at))
    finally:
        w.stop()
        reg.close()
    lat = [r[1] for r in rows]
    lat_sorted = sorted(lat)
    p95 = lat_sorted[max(0, int(round(0.95 * len(lat_sorted))) - 1)]
    return {
        "samples": len(rows),
        "sizes_bytes": sorted({r[0] for r in rows}),
        "median_s": statistics.median(lat),
        "p95_s": p95,
        "max_s": max(lat),
        "registered": sum(1 for v in reg.list_versions("latency")),
    }


def bench_hashing(tmp: Path, size_mb: int) -> dict[str, object]:
    path = tmp / "big.bin"
    block = np.random.default_rng(0).bytes(8 * 1024 * 1024)
    with open(path, "wb") as f:
        for _ in range(size_mb // 8):
            f.write(block)
    size = path.stat().st_size
    sha256_file(path)  # warm the page cache, as a just-written file is
    best_file = best_floor = float("inf")
    data = path.read_bytes()
    for _ in range(3):
        t = time.perf_counter()
        sha256_file(path)
        best_file = min(best_file, time.perf_counter() - t)
        t = time.perf_counter()
        hashlib.sha256(data).hexdigest()
        best_floor = min(best_floor, time.perf_counter() - t)
    del data
    path.unlink()
    return {
        "size_mb": size / 1e6,
        "sha256_file_mb_s": size / 1e6 / best_file,
        "floor_mb_s": size / 1e6 / best_floor,
        "ratio_to_floor": best_file / best_floor,
    }


def bench_burst(tmp: Path, n: int) -> dict[str, object]:
    from sklearn.linear_model import LogisticRegression

    staging = tmp / "burst-staging"
    staging.mkdir()
    for i in range(n):
        buf = io.BytesIO()
        joblib.dump(LogisticRegression(C=1.0 + i), buf)
        (staging / f"b{i:06d}.joblib").write_bytes(buf.getvalue())
    reg = Registry(tmp / "burst-reg", idle_release=0.5)
    inbox = tmp / "burst-inbox"
    add_folder(reg, inbox, MODELS, model_name="burst")
    w = FolderWatcher(reg, settle=1.0, rescan_interval=5)
    w.start()
    t0 = time.perf_counter()
    for p in sorted(staging.iterdir()):
        os.replace(p, inbox / p.name)
    moved = time.perf_counter() - t0
    ok = w.wait_for(lambda r: len(r) >= n, timeout=3600)
    elapsed = time.perf_counter() - t0
    w.stop()
    statuses: dict[str, int] = {}
    for r in w.results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    registered = reg.count_versions("m.name = ?", ["burst"])
    chain_ok = reg.verify_audit().ok
    reg.close()
    return {
        "files": n,
        "moved_in_s": moved,
        "all_done": ok,
        "registered": registered,
        "statuses": statuses,
        "seconds": elapsed,
        "files_per_s": registered / elapsed,
        "audit_chain_ok": chain_ok,
    }


def _csv_burst(tmp: Path, n: int, tag: str) -> Path:
    """``n`` small CSV batches (20 rows of the model's three features) in a staging folder."""
    rng = np.random.default_rng(7)
    staging = tmp / f"csv-staging-{tag}"
    staging.mkdir()
    for i in range(n):
        rows = rng.normal(size=(20, 3))
        lines = ["age,income,debt_ratio"]
        lines += [f"{40 + 8 * a:.3f},{50 + 10 * b:.3f},{abs(c) / 3:.4f}" for a, b, c in rows]
        (staging / f"batch-{i:06d}.csv").write_text("\n".join(lines) + "\n")
    return staging


def copy_and_hash(staging: Path, dest: Path) -> float:
    """The plain loop: copy each file and hash it (no checks, no registry). Seconds."""
    dest.mkdir()
    t = time.perf_counter()
    for p in sorted(staging.iterdir()):
        data = p.read_bytes()
        hashlib.sha256(data).hexdigest()
        (dest / p.name).write_bytes(data)
    return time.perf_counter() - t


def bench_data_burst(
    tmp: Path, n: int, *, group_size: int, tag: str, champion: bool = False
) -> dict[str, object]:
    """N CSVs moved into a watched data inbox at once; all must be listed as datasets.

    ``champion``: the model has a profiled champion, so every batch is also
    checked against it (drift, predictions) and its rows flagged against the
    trained range; the reference has the batches' distribution.
    """
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from modelward import api
    from modelward.core.watch import DATA

    load_start = [round(x, 1) for x in os.getloadavg()]
    staging = _csv_burst(tmp, n, tag)
    before = copy_and_hash(staging, tmp / f"copy-before-{tag}")
    reg = Registry(tmp / f"data-reg-{tag}", idle_release=0.5)
    rng = np.random.default_rng(0)
    if champion:
        from modelward.core.monitoring.service import profile_version

        Z = rng.normal(size=(2_000, 3))
        X = pd.DataFrame(
            {"age": 40 + 8 * Z[:, 0], "income": 50 + 10 * Z[:, 1], "debt_ratio": abs(Z[:, 2]) / 3}
        )
        api.log_model(LogisticRegression().fit(X, X["age"] > 40), "scorer", X=X, registry=reg)
        reg.set_alias("scorer:1", "champion", "bench")
        profile_version(reg, "scorer@champion", {c: X[c].to_numpy() for c in X.columns})
    else:
        X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["age", "income", "debt_ratio"])
        api.log_model(LogisticRegression().fit(X, X["age"] > 0), "scorer", X=X, registry=reg)
    inbox = tmp / f"data-inbox-{tag}"
    add_folder(reg, inbox, DATA, model_name="scorer")
    w = FolderWatcher(reg, settle=1.0, rescan_interval=5, group_size=group_size)
    w.start()
    t0 = time.perf_counter()
    for p in sorted(staging.iterdir()):
        os.replace(p, inbox / p.name)
    moved = time.perf_counter() - t0
    ok = w.wait_for(lambda r: len(r) >= n, timeout=7200)
    elapsed = time.perf_counter() - t0
    w.stop()
    statuses: dict[str, int] = {}
    for r in w.results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    with reg.read() as cur:
        listed = int(
            cur.execute("SELECT count(*) FROM datasets WHERE role = 'batch'").fetchone()[0]
        )
        checked = int(cur.execute("SELECT count(*) FROM mon_batches").fetchone()[0])
        distinct = int(
            cur.execute("SELECT count(DISTINCT fingerprint) FROM datasets").fetchone()[0]
        )
    chain_ok = reg.verify_audit().ok
    reg.close()
    restaged = tmp / f"csv-restaged-{tag}"
    restaged.mkdir()
    for p in sorted(inbox.iterdir()):
        os.replace(p, restaged / p.name)
    after = copy_and_hash(restaged, tmp / f"copy-after-{tag}")
    plain = statistics.median([before, after])
    return {
        "files": n,
        "group_size": group_size,
        "champion": champion,
        "checked_against_champion": checked,
        "moved_in_s": round(moved, 2),
        "all_done": ok,
        "listed": listed,
        "distinct_fingerprints": distinct,
        "statuses": statuses,
        "seconds": round(elapsed, 1),
        "files_per_s": round(listed / elapsed, 1),
        "plain_copy_hash_s": [round(before, 2), round(after, 2)],
        "plain_files_per_s": round(n / plain, 1),
        "ratio_to_plain": round(elapsed / plain, 1),
        "audit_chain_ok": chain_ok,
        "load_start": load_start,
        "load": [round(x, 1) for x in os.getloadavg()],
    }


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "modelward", *args]


def bench_drop(tmp: Path, rounds: int, per_round: int) -> dict[str, object]:
    """Model file dropped into a folder that a real ``modelward watch`` watches → shown by ``modelward list``.

    Each round starts ``modelward watch`` afresh, drops the first file as soon
    as it says it is watching, then ``per_round - 1`` more, one at a time.
    Latency: from the drop (the rename that ends an atomic save) to the end
    of the first ``modelward list --json`` process that shows the version
    (list processes run back to back, so this includes up to one list run).
    """
    import subprocess

    from modelward.core.artifacts.sandbox import server_address

    reg = tmp / "drop-reg"
    inbox = tmp / "drop-inbox"
    inbox.mkdir()
    stage = tmp / "drop-stage"
    stage.mkdir()
    server_was_up = bool(server_address() and os.path.exists(server_address() or ""))
    first: list[float] = []
    later: list[float] = []
    commit: list[float] = []
    list_runs: list[float] = []
    k = 0
    for _ in range(rounds):
        proc = subprocess.Popen(
            _cli("watch", "--models", str(inbox), "--model", "drop", "--registry", str(reg)),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("watching"):
                break
        lines: list[tuple[float, str]] = []

        def read(stream=proc.stdout, sink=lines) -> None:
            for ln in stream:
                sink.append((time.perf_counter(), ln))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            for i in range(per_round):
                k += 1
                name = f"d{k:04d}.joblib"
                (stage / name).write_bytes(model_bytes(8, seed=k))
                t0 = time.perf_counter()
                os.replace(stage / name, inbox / name)
                while True:
                    t1 = time.perf_counter()
                    out = subprocess.run(
                        _cli("list", "drop", "--json", "--registry", str(reg)),
                        capture_output=True,
                        text=True,
                    )
                    t2 = time.perf_counter()
                    list_runs.append(t2 - t1)
                    seen = out.returncode == 0 and json.loads(out.stdout or "{}").get("versions")
                    if seen and len(seen) >= k:
                        break
                    if t2 - t0 > 120:
                        raise RuntimeError("the dropped file never became visible")
                (first if i == 0 else later).append(t2 - t0)
                done = [t for t, ln in lines if ln.startswith("ingested") and name in ln]
                if done:
                    commit.append(done[0] - t0)
        finally:
            proc.terminate()
            proc.wait(30)

    def p95(xs: list[float]) -> float:
        ys = sorted(xs)
        return ys[max(0, int(round(0.95 * len(ys))) - 1)]

    every = first + later
    return {
        "rounds": rounds,
        "files": len(every),
        "session_server_running_before": server_was_up,
        "first_after_start_s": [round(x, 3) for x in first],
        "visible_median_s": round(statistics.median(every), 3),
        "visible_p95_s": round(p95(every), 3),
        "visible_max_s": round(max(every), 3),
        "commit_median_s": round(statistics.median(commit), 3) if commit else None,
        "commit_p95_s": round(p95(commit), 3) if commit else None,
        "list_process_median_s": round(statistics.median(list_runs), 3),
        "load": [round(x, 1) for x in os.getloadavg()],
    }


def bench_inbox(tmp: Path, batches: int, rows: int) -> dict[str, object]:
    """Data batch renamed into a model's data inbox -> checked and recorded (warm watcher).

    The model has a profiled champion, so each batch goes through the strict
    reader, the signature and row-level checks and the champion check (drift,
    performance) before its ``ingested`` event, which is sent after the
    commit. Batches of ``rows`` rows × 3 features + a label, renamed in one at
    a time from a staging folder, after the previous one was recorded. The
    floor reads the same file once with pyarrow's CSV reader in this process.
    """
    import pandas as pd
    import pyarrow.csv as pacsv
    from sklearn.linear_model import LogisticRegression

    from modelward import api
    from modelward.core.monitoring.service import profile_version
    from modelward.core.watch import DATA

    reg = Registry(tmp / "inbox-reg", idle_release=0.5)
    rng = np.random.default_rng(0)
    cols = ["age", "income", "debt_ratio"]
    X = pd.DataFrame(rng.normal(size=(2_000, 3)), columns=cols)
    y = (X["age"] > 0).astype(int)
    api.log_model(LogisticRegression().fit(X, y), "inboxed", X=X, registry=reg)
    reg.set_alias("inboxed:1", "champion", "bench")
    profile_version(
        reg,
        "inboxed@champion",
        {**{c: X[c].to_numpy() for c in cols}, "label": y.to_numpy()},
        target="label",
    )
    inbox = tmp / "data-inbox-drop"
    add_folder(reg, inbox, DATA, model_name="inboxed", options={"label_column": "label"})
    stage = tmp / "inbox-stage"
    stage.mkdir()
    arrived: dict[str, float] = {}
    cond = threading.Condition()

    def on_event(e):
        if e.kind in ("ingested", "rejected", "error"):
            with cond:
                arrived[Path(e.path).name] = time.perf_counter()
                cond.notify_all()

    w = FolderWatcher(reg, on_event=on_event, settle=1.0, rescan_interval=600)
    w.start()
    lat: list[float] = []
    floors: list[float] = []
    statuses: dict[str, int] = {}
    try:
        for k in range(batches + 1):  # the first one warms the watcher up; not counted
            B = rng.normal(size=(rows, 3))
            frame = pd.DataFrame(B, columns=cols)
            frame["label"] = (B[:, 0] > 0).astype(int)
            name = f"batch-{k:04d}.csv"
            frame.to_csv(stage / name, index=False)
            t = time.perf_counter()
            pacsv.read_csv(stage / name)
            floor = time.perf_counter() - t
            t0 = time.perf_counter()
            os.replace(stage / name, inbox / name)
            with cond:
                cond.wait_for(lambda n=name: n in arrived, timeout=120)
            if k:
                lat.append(arrived.get(name, float("nan")) - t0)
                floors.append(floor)
        for r in w.results:
            statuses[r.status] = statuses.get(r.status, 0) + 1
    finally:
        w.stop()
        reg.close()

    def p95(xs: list[float]) -> float:
        ys = sorted(xs)
        return ys[max(0, int(round(0.95 * len(ys))) - 1)]

    return {
        "batches": len(lat),
        "rows": rows,
        "statuses": statuses,
        "visible_median_s": round(statistics.median(lat), 3),
        "visible_p95_s": round(p95(lat), 3),
        "visible_min_s": round(min(lat), 3),
        "visible_max_s": round(max(lat), 3),
        "floor_read_median_s": round(statistics.median(floors), 3),
        "p95_minus_floor_s": round(p95(lat) - statistics.median(floors), 3),
        "load": [round(x, 1) for x in os.getloadavg()],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="bench/results/watch.json")
    ap.add_argument(
        "--only", choices=("hashing", "latency", "burst", "data", "drop", "inbox"), action="append"
    )
    ap.add_argument("--inbox-batches", type=int, help="batches through the data inbox")
    ap.add_argument("--inbox-rows", type=int, default=10_000)
    ap.add_argument("--data-files", type=int, help="CSV files in the data burst")
    ap.add_argument(
        "--data-small",
        type=int,
        default=200,
        help="files of the one-commit-per-file comparison before the burst (0: skip it)",
    )
    ap.add_argument(
        "--data-champion",
        action="store_true",
        help="the data burst's model has a profiled champion: every batch is checked against it",
    )
    args = ap.parse_args()
    samples = 20 if args.quick else 60
    burst = 2_000 if args.quick else 20_000
    data_n = args.data_files or (1_000 if args.quick else 20_000)
    parts = set(args.only or ("hashing", "latency", "burst", "data", "drop", "inbox"))
    results: dict[str, object] = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="mw-bench-watch-") as d:
        tmp = Path(d)
        if "hashing" in parts:
            results["hashing"] = bench_hashing(tmp, 256 if args.quick else 1024)
            print("hashing", json.dumps(results["hashing"]), flush=True)
        if "latency" in parts:
            results["latency"] = bench_latency(tmp, samples)
            print("latency", json.dumps(results["latency"]), flush=True)
        if "drop" in parts:
            rounds = 3 if args.quick else 8
            results["drop"] = bench_drop(tmp, rounds, 5)
            print("drop", json.dumps(results["drop"]), flush=True)
        if "inbox" in parts:
            nb = args.inbox_batches or (10 if args.quick else 30)
            results["inbox"] = bench_inbox(tmp, nb, args.inbox_rows)
            print("inbox", json.dumps(results["inbox"]), flush=True)
        if "burst" in parts:
            results["burst"] = bench_burst(tmp, burst)
            print("burst", json.dumps(results["burst"]), flush=True)
        if "data" in parts:
            # One commit per file against groups, on a small burst, same run.
            small = min(data_n, args.data_small)
            for g in (1, 200) if small else ():
                key = f"data_small_group{g}"
                results[key] = bench_data_burst(
                    tmp, small, group_size=g, tag=key, champion=args.data_champion
                )
                print(key, json.dumps(results[key]), flush=True)
            results["data_burst"] = bench_data_burst(
                tmp, data_n, group_size=200, tag="big", champion=args.data_champion
            )
            print("data_burst", json.dumps(results["data_burst"]), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
