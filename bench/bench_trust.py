"""Trust benchmark: time to register a ~100 MB model, and the hostile-file tally.

Registering a file from outside = copy into the store while hashing, then the
sandboxed first look (triage, the worker re-reads and re-hashes the bytes,
restricted unpickling, metadata) and the database row. The floor is plain
SHA-256 hashing of the same file, measured in the same run.

    python bench/bench_trust.py [--mb 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from modelward.core.intake import accept_model_file

REPO = Path(__file__).resolve().parents[1]


def _median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def big_models(tmp: Path, mb: int) -> dict[str, Path]:
    import joblib
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    rows = mb * (1 << 20) // (10 * 8)
    X = rng.normal(size=(rows, 10))
    y = (X[:, 0] > 0).astype(int)
    knn = make_pipeline(StandardScaler(), KNeighborsClassifier(algorithm="brute")).fit(X, y)
    out = {}
    out["pipeline-knn.joblib"] = tmp / "pipeline-knn.joblib"
    joblib.dump(knn, out["pipeline-knn.joblib"])
    out["pipeline-knn-p5.pkl"] = tmp / "pipeline-knn-p5.pkl"
    out["pipeline-knn-p5.pkl"].write_bytes(pickle.dumps(knn, protocol=5))
    Xs, ys = X[:20000], y[:20000]
    rf = RandomForestClassifier(n_estimators=60, random_state=0, n_jobs=2).fit(Xs, ys)
    out["random-forest.joblib"] = tmp / "random-forest.joblib"
    joblib.dump(rf, out["random-forest.joblib"])
    return out


def hostile_tally(tmp: Path) -> tuple[int, int, int]:
    """(files tried, payloads executed, ordinary models accepted) through the real door."""
    sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "storage")]
    from test_trust_hostile import hostile_corpus
    from test_trust_models import _ordinary

    from modelward.core.errors import RejectedFile
    from modelward.core.registry import Registry

    marker = tmp / "MARKER"
    corpus = hostile_corpus(tmp, marker)
    reg = Registry(tmp / "tally-registry")
    executed = 0
    for name, data in corpus.items():
        path = tmp / name
        path.write_bytes(data)
        try:
            accept_model_file(reg, path, name="hostile").register_result()
            executed += 1  # accepted counts as a failure too
        except RejectedFile:
            pass
        if marker.exists():
            executed += 1
            marker.unlink()
    ordinary = _ordinary(tmp)
    accepted = 0
    for path, _model, _X, _fmt in ordinary:
        try:
            accept_model_file(reg, path, name=path.stem).register_result()
            accepted += 1
        except RejectedFile as e:
            print(f"  ordinary model rejected: {path.name}: {e.reason}")
    return len(corpus), executed, accepted, len(ordinary)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    from modelward.core.artifacts.sandbox import Sandbox, set_default_sandbox
    from modelward.core.artifacts.store import sha256_file
    from modelward.core.registry import Registry

    with tempfile.TemporaryDirectory(prefix="mw-bench-trust-") as d:
        tmp = Path(d)
        files = big_models(tmp, args.mb)
        print(
            "| model | size | sha256 floor | register, cold worker | register, warm | warm / floor |"
        )
        print("|---|---|---|---|---|---|")
        for label, path in files.items():
            size_mb = path.stat().st_size / 1e6
            floor = _median_time(lambda p=path: sha256_file(p), args.repeat)
            # cold: a fresh sandbox, the worker starts inside the measurement
            sb = Sandbox()
            set_default_sandbox(sb)
            reg = Registry(tmp / f"reg-cold-{label}")
            t0 = time.perf_counter()
            accept_model_file(reg, path, name="m").register_result()
            cold = time.perf_counter() - t0
            # warm: the worker is up (the app starts it at launch); a new registry each time
            warm_times = []
            for i in range(args.repeat):
                reg = Registry(tmp / f"reg-warm-{label}-{i}")
                t0 = time.perf_counter()
                accept_model_file(reg, path, name="m").register_result()
                warm_times.append(time.perf_counter() - t0)
            sb.close()
            warm = statistics.median(warm_times)
            print(
                f"| {label} | {size_mb:.0f} MB | {floor:.2f} s | {cold:.2f} s | {warm:.2f} s "
                f"| {warm / floor:.1f}x |"
            )
        set_default_sandbox(None)
        tried, executed, accepted, n_ordinary = hostile_tally(tmp)
        print()
        print(
            f"hostile files tried: {tried}; payloads executed: {executed}; "
            f"ordinary models accepted: {accepted} of {n_ordinary}"
        )


if __name__ == "__main__":
    main()
