"""The native adapter's own cost per call: adapter vs the library's bare predict (issue 20).

Same process, same models, same in-memory frame; rounds interleaved (the
order alternating), one thread everywhere. Three gradient-boosted classifiers
(100 trees, depth 6, learning rate 0.1, 20 numeric float64 features; trained
on 20,000 rows):

* XGBoost: ``NativeClassifier.predict_proba(frame)`` against
  ``Booster.inplace_predict(frame)``;
* LightGBM: against ``Booster.predict(frame)``;
* ONNX (scikit-learn's HistGradientBoosting through ``convert --to onnx``):
  against ``InferenceSession.run`` fed the float32 matrix the bare caller
  builds (``frame.to_numpy(np.float32)``).

Times are taken as wall and CPU time; the ratios use CPU time (one thread
everywhere, so CPU time is the work done, and it holds on a loaded machine
where wall time waits for a core). Two frames: ``exact`` holds just the model's columns in its order; ``batch``
also holds an ``id`` column first, as a scoring batch read from a file does
(the bare call is then given ``frame[features]``, the selection any caller
must make). Then the per-call cost at 1,000 rows (many calls, interleaved
one by one), where the adapter's own work is not hidden by the library's.
Usage::

    python bench/bench_native_adapter.py            # 1,000,000 rows, 5 rounds
    python bench/bench_native_adapter.py --quick    # 100,000 rows, 3 rounds
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

N_FEATURES = 20
TRAIN_ROWS = 20_000
TREES, DEPTH, RATE = 100, 6, 0.1


def timed(fn: object) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn()`` (one thread: CPU time is the work, whatever the load)."""
    w, c = time.perf_counter(), time.process_time()
    fn()  # type: ignore[operator]
    return time.perf_counter() - w, time.process_time() - c


def make_data(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES))
    logit = X[:, 0] - 0.5 * X[:, 1] + 0.8 * X[:, 2] * X[:, 3]
    y = (logit + rng.logistic(size=n) > 0).astype(int)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(N_FEATURES)]), y


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=200, help="calls of the per-call figure")
    ap.add_argument("--quick", action="store_true", help="100,000 rows, 3 rounds, 100 calls")
    args = ap.parse_args()
    if args.quick:
        args.rows, args.rounds, args.calls = 100_000, 3, 100

    import lightgbm as lgb
    import onnxruntime as ort
    import xgboost as xgb
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    from modelward.core.artifacts.native import load_native, save_native
    from modelward.core.intake.convert import onnx_bytes

    threadpool_limits(1)
    feats = [f"f{i}" for i in range(N_FEATURES)]
    X, y = make_data(TRAIN_ROWS)
    xm = xgb.XGBClassifier(
        n_estimators=TREES, max_depth=DEPTH, learning_rate=RATE, n_jobs=1, tree_method="hist"
    ).fit(X, y)
    lm = lgb.LGBMClassifier(
        n_estimators=TREES, max_depth=DEPTH, learning_rate=RATE, n_jobs=1, verbose=-1
    ).fit(X, y)
    hm = HistGradientBoostingClassifier(
        max_iter=TREES, max_depth=DEPTH, learning_rate=RATE, early_stopping=False
    ).fit(X, y)
    onx = onnx_bytes(hm, [{"name": f, "kind": "numeric"} for f in feats], "classification")
    with tempfile.TemporaryDirectory(prefix="mw-bench-adapter-") as tmp:
        save_native(xm, Path(tmp) / "x.ubj")
        save_native(lm, Path(tmp) / "l.txt")
        adapters = {
            "xgboost": load_native(Path(tmp) / "x.ubj", "xgboost-ubj", threads=1),
            "lightgbm": load_native(Path(tmp) / "l.txt", "lightgbm-text", threads=1),
            "onnx": load_native(onx, "onnx", threads=1),
        }
    booster = xgb.Booster()
    booster.load_model(bytearray(xm.get_booster().save_raw("ubj")))
    booster.set_param({"nthread": 1})
    lbooster = lgb.Booster(model_str=lm.booster_.model_to_string())
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(onx, opts, providers=["CPUExecutionProvider"])
    in_name = sess.get_inputs()[0].name
    out_names = [o.name for o in sess.get_outputs()][1:]

    def bare(kind: str, frame: pd.DataFrame) -> np.ndarray:
        if kind == "xgboost":
            return np.asarray(booster.inplace_predict(frame))
        if kind == "lightgbm":
            return np.asarray(lbooster.predict(frame, num_threads=1))
        return np.asarray(sess.run(out_names, {in_name: frame.to_numpy(np.float32)})[1])

    exact, _ = make_data(args.rows, seed=1)
    batch = exact.copy()
    batch.insert(0, "id", np.arange(args.rows))
    frames = {"exact": exact, "batch": batch}
    # The answers are the same before anything is timed.
    for kind, model in adapters.items():
        p = model.predict_proba(batch)[:, 1]
        assert np.max(np.abs(p - bare(kind, exact).reshape(-1))) < 1e-6, kind

    times: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for r in range(args.rounds):
        for kind, model in adapters.items():
            for fname, frame in frames.items():
                order = ("adapter", "bare") if r % 2 == 0 else ("bare", "adapter")
                for who in order:
                    if who == "adapter":
                        t = timed(lambda m=model, f=frame: m.predict_proba(f))
                    else:  # the caller's own column selection is part of its call
                        t = timed(
                            lambda k=kind, f=frame, e=fname == "exact": bare(
                                k, f if e else f[feats]
                            )
                        )
                    times.setdefault((kind, fname, who), []).append(t)
    # The adapter's own per-call cost, where the library's work is small: 1,000 rows,
    # many calls, interleaved one by one; the minimum is the cost without interference.
    small = {"exact": exact.iloc[:1000].copy(), "batch": batch.iloc[:1000].copy()}
    calls: dict[tuple[str, str, str], list[float]] = {}
    for i in range(args.calls):
        for kind, model in adapters.items():
            for fname, frame in small.items():
                for who in ("adapter", "bare") if i % 2 == 0 else ("bare", "adapter"):
                    if who == "adapter":
                        t = timed(lambda m=model, f=frame: m.predict_proba(f))
                    else:  # the caller's own column selection is part of its call
                        t = timed(
                            lambda k=kind, f=frame, e=fname == "exact": bare(
                                k, f if e else f[feats]
                            )
                        )
                    calls.setdefault((kind, fname, who), []).append(t[1])
    load = os.getloadavg()
    print(
        f"{args.rows:,} rows x {N_FEATURES} float64 features, {args.rounds} rounds interleaved, "
        f"one thread; load average {load[0]:.1f} / {load[1]:.1f}"
    )
    print("wall seconds (median) and the ratio of CPU seconds, median (min-max)")
    print(f"{'model':<10}{'frame':<7}{'adapter s':>11}{'bare s':>9}{'CPU ratio':>24}")
    for kind in adapters:
        for fname in frames:
            a, b = times[(kind, fname, "adapter")], times[(kind, fname, "bare")]
            rs = [x[1] / y[1] for x, y in zip(a, b, strict=True)]
            print(
                f"{kind:<10}{fname:<7}{statistics.median(x[0] for x in a):>11.3f}"
                f"{statistics.median(x[0] for x in b):>9.3f}"
                f"{statistics.median(rs):>10.3f}x ({min(rs):.3f}-{max(rs):.3f})"
            )
    print(f"CPU ms per call at 1,000 rows ({args.calls} calls each, interleaved): min / median")
    print(f"{'model':<10}{'frame':<7}{'adapter':>18}{'bare':>18}{'adapter - bare':>18}")
    for kind in adapters:
        for fname in small:
            a, b = calls[(kind, fname, "adapter")], calls[(kind, fname, "bare")]
            print(
                f"{kind:<10}{fname:<7}"
                f"{min(a) * 1e3:>9.3f} / {statistics.median(a) * 1e3:<6.3f}"
                f"{min(b) * 1e3:>9.3f} / {statistics.median(b) * 1e3:<6.3f}"
                f"{(min(a) - min(b)) * 1e3:>9.3f} / {(statistics.median(a) - statistics.median(b)) * 1e3:<6.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
