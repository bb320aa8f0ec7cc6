"""Watched folders: arrival latency, hashing throughput, and a burst of files.

Usage::

    python bench/bench_watch.py            # full run (20,000-file burst)
    python bench/bench_watch.py --quick    # 2,000-file burst, fewer latency samples

Figures:

* latency from a file's close to "registered and visible" (the watcher's
  ``ingested`` event, sent after the registry transaction committed), for
  real scikit-learn model files from 10 KB to 10 MB: median and p95;
* hashing throughput of ``sha256_file`` on a 1 GB file, as a ratio to
  ``hashlib.sha256`` over the same bytes already in memory (the floor);
* a burst of N files moved into the inbox at once: how many were registered,
  and how long it took.
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="bench/results/watch.json")
    args = ap.parse_args()
    samples = 20 if args.quick else 60
    burst = 2_000 if args.quick else 20_000
    results: dict[str, object] = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="mw-bench-watch-") as d:
        tmp = Path(d)
        results["hashing"] = bench_hashing(tmp, 256 if args.quick else 1024)
        print("hashing", json.dumps(results["hashing"]), flush=True)
        results["latency"] = bench_latency(tmp, samples)
        print("latency", json.dumps(results["latency"]), flush=True)
        results["burst"] = bench_burst(tmp, burst)
        print("burst", json.dumps(results["burst"]), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
