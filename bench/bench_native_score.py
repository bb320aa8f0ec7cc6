"""Scoring models beyond scikit-learn: XGBoost, LightGBM and ONNX through ModelWard (issue 20).

Synthetic data: N rows x 20 numeric features and an ``id`` column, in Parquet.
Three gradient-boosted classifiers with the same settings (100 trees, depth 6,
learning rate 0.1) are trained on the first 100,000 rows:

* XGBoost (``XGBClassifier``), registered from its native UBJSON file;
* LightGBM (``LGBMClassifier``), registered from its native text file;
* ONNX: scikit-learn's ``HistGradientBoostingClassifier`` registered as skops,
  then ``convert --to onnx`` (the parity check runs on a validation file, and
  its maximum probability difference is reported).

For each model and each round (interleaved, the order rotating), it times:

* modelward: ``api.score(ref, in.parquet, out.parquet, threads=1)`` in this
  process (resolve, verified load through the native adapter, read in record
  batches, checks, predict, write Parquet, hashes, manifest, audit event);
* bare: the library's own predict on the whole table already in memory
  (``Booster.inplace_predict``, ``Booster.predict``,
  ``InferenceSession.run``), one thread: the figure the target (<= 1.1x)
  refers to;
* floor: read the same Parquet file with pyarrow, the library's predict, write
  the probabilities with pyarrow (what any scoring of a file must do).

One thread everywhere (OMP/BLAS through the environment and threadpoolctl, the
libraries' own thread settings).

``--whole`` times whole processes instead, as a user reruns them: the command
``modelward score REF --data in.parquet -o out.parquet --id-column id
--threads 1`` against a floor script that does the bare work with the library
alone (start Python, load the native model file with the library's own
loader, read the Parquet file with pyarrow in record batches of 65,536 rows,
as modelward does, predict each on one thread, write the ids, the predicted
class and both probabilities with pyarrow). Usage::

    python bench/bench_native_score.py            # 1,000,000 rows, 3 rounds
    python bench/bench_native_score.py --quick    # 100,000 rows, 2 rounds
    python bench/bench_native_score.py --whole --rounds 5
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

N_FEATURES = 20
TRAIN_ROWS = 100_000
TREES, DEPTH, RATE = 100, 6, 0.1


FLOOR = r"""
import os, sys
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"
kind, model, data, out = sys.argv[1:5]
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
if kind == "xgb":
    import xgboost as xgb
    booster = xgb.Booster()
    booster.load_model(model)
    booster.set_param({"nthread": 1})
    predict = booster.inplace_predict
elif kind == "lgb":
    import lightgbm as lgb
    booster = lgb.Booster(model_file=model)
    predict = lambda X: booster.predict(X, num_threads=1)
else:
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    predict = lambda X: sess.run(["probability_1"], {name: X.to_numpy(np.float32)})[0]
writer = None
for batch in pq.ParquetFile(data).iter_batches(batch_size=65536):  # as modelward's batches
    X = batch.to_pandas().drop(columns=["id"])
    p = np.asarray(predict(X), dtype=np.float64).reshape(-1)
    table = pa.table({"id": batch.column("id"), "prediction": (p >= 0.5).astype(np.int64),
                      "proba_0": 1.0 - p, "proba_1": p})
    writer = writer or pq.ParquetWriter(out, table.schema)
    writer.write_table(table)
writer.close()
"""


def whole(root: Path, reg: Path, data: Path, models: dict[str, tuple[str, Path]], rounds: int):
    """Whole processes: ``modelward score`` against the floor script, rounds interleaved."""
    import subprocess

    floor_py = root / "floor.py"
    floor_py.write_text(FLOOR)
    env = {**os.environ, "MODELWARD_HOME": str(reg)}
    times: dict[str, dict[str, list[float]]] = {k: {"modelward": [], "floor": []} for k in models}

    def run(cmd: list[str]) -> float:
        t = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        return time.perf_counter() - t

    for r in range(rounds):
        for k, (ref, path) in models.items():
            out = root / f"whole-{k}.parquet"
            cmds = {
                "modelward": [
                    *(sys.executable, "-m", "modelward", "score", ref, "--data", str(data)),
                    *("-o", str(out), "--id-column", "id", "--threads", "1"),
                    *("--registry", str(reg)),
                ],
                "floor": [sys.executable, str(floor_py), k, str(path), str(data), str(out)],
            }
            for who in ("modelward", "floor") if r % 2 == 0 else ("floor", "modelward"):
                times[k][who].append(run(cmds[who]))
                for extra in root.glob("whole-*"):
                    extra.unlink()
    return times


def make_data(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES))
    logit = X[:, 0] - 0.5 * X[:, 1] + 0.8 * X[:, 2] * X[:, 3] + 0.3 * np.sin(3 * X[:, 4])
    y = (logit + rng.logistic(size=n) > 0).astype(int)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(N_FEATURES)])
    df.insert(0, "id", np.arange(n))
    df["y"] = y
    return df


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="100,000 rows, 2 rounds")
    ap.add_argument("--json", metavar="FILE", help="write the raw numbers here")
    ap.add_argument("--whole", action="store_true", help="whole processes against a floor script")
    args = ap.parse_args()
    if args.quick:
        args.rows, args.rounds = 100_000, 2

    import lightgbm as lgb
    import onnxruntime as ort
    import pyarrow as pa
    import pyarrow.parquet as pq
    import skops.io as sio
    import xgboost as xgb
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    from modelward import api
    from modelward.core.artifacts.native import save_native
    from modelward.core.intake import accept_model_file
    from modelward.core.intake.convert import convert_version
    from modelward.core.registry import Registry

    threadpool_limits(1)
    feats = [f"f{i}" for i in range(N_FEATURES)]
    with tempfile.TemporaryDirectory(prefix="mw-bench-native-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        df = make_data(max(args.rows, TRAIN_ROWS))
        train = df.iloc[:TRAIN_ROWS]
        data = root / "in.parquet"
        df.iloc[: args.rows].drop(columns=["y"]).to_parquet(data, index=False)
        val = root / "val.csv"
        make_data(20_000, seed=1).to_csv(val, index=False)
        X, y = train[feats], train["y"].to_numpy()
        reg = Registry(root / "reg")

        xm = xgb.XGBClassifier(
            n_estimators=TREES, max_depth=DEPTH, learning_rate=RATE, n_jobs=1, tree_method="hist"
        ).fit(X, y)
        save_native(xm, root / "xgb.ubj")
        lm = lgb.LGBMClassifier(
            n_estimators=TREES, max_depth=DEPTH, learning_rate=RATE, n_jobs=1, verbose=-1
        ).fit(X, y)
        save_native(lm, root / "lgb.txt")
        hm = HistGradientBoostingClassifier(
            max_iter=TREES, max_depth=DEPTH, learning_rate=RATE, early_stopping=False
        ).fit(X, y)
        sio.dump(hm, root / "hgb.skops")
        refs = {}
        for name, path in (("xgb", "xgb.ubj"), ("lgb", "lgb.txt"), ("hgb", "hgb.skops")):
            refs[name] = accept_model_file(reg, root / path, name=name).register_result().version
        onnx_v = convert_version(reg, "hgb:1", to="onnx", data=str(val)).version
        parity = onnx_v.lineage["onnx_parity"]
        print(
            f"setup {time.perf_counter() - t0:.0f} s; ONNX parity on {parity['rows']:,} "
            f"validation rows: max |dprob| {parity['max_abs_diff']:.2e} "
            f"(labels agree {parity['labels_agree']:.4f})"
        )

        if args.whole:
            onnx_file = root / "hgb.onnx"
            onnx_file.write_bytes(reg.artifacts.read_bytes(onnx_v.sha256))
            reg.close()
            models = {
                "xgb": ("xgb:1", root / "xgb.ubj"),
                "lgb": ("lgb:1", root / "lgb.txt"),
                "onnx": (onnx_v.ref, onnx_file),
            }
            wt = whole(root, root / "reg", data, models, args.rounds)
            load = os.getloadavg()
            print(
                f"whole processes, {args.rows:,} rows x {N_FEATURES} features, {args.rounds} "
                f"rounds interleaved, one thread; load average {load[0]:.1f} / {load[1]:.1f}"
            )
            print(f"{'model':<8}{'modelward s':>14}{'floor s':>10}{'modelward / floor':>26}")
            for k, t in wt.items():
                rs = [a / b for a, b in zip(t["modelward"], t["floor"], strict=True)]
                print(
                    f"{k:<8}{statistics.median(t['modelward']):>14.2f}"
                    f"{statistics.median(t['floor']):>10.2f}"
                    f"{statistics.median(rs):>14.2f}x ({min(rs):.2f}-{max(rs):.2f})"
                )
            if args.json:
                Path(args.json).write_text(json.dumps({"whole": wt, "parity": parity}, indent=1))
            return 0

        full = pq.read_table(data).to_pandas()[feats]
        booster = xm.get_booster()
        booster.set_param({"nthread": 1})
        lbooster = lm.booster_
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(
            reg.artifacts.read_bytes(onnx_v.sha256), opts, providers=["CPUExecutionProvider"]
        )
        onnx_feed_names = [i.name for i in sess.get_inputs()]

        def bare(kind: str, frame: pd.DataFrame) -> np.ndarray:
            if kind == "xgb":
                return np.asarray(booster.inplace_predict(frame))
            if kind == "lgb":
                return np.asarray(lbooster.predict(frame, num_threads=1))
            feed = {onnx_feed_names[0]: frame[feats].to_numpy(np.float32)}
            # a ModelWard conversion has one output per class (label, probability_0, _1)
            return np.asarray(sess.run(["probability_1"], feed)[0])

        def floor(kind: str, out: Path) -> None:
            pf = pq.ParquetFile(data)
            writer = None
            for batch in pf.iter_batches(batch_size=65_536):
                frame = batch.to_pandas()
                p = bare(kind, frame[feats])
                t = pa.table({"id": frame["id"].to_numpy(), "proba_1": p})
                writer = writer or pq.ParquetWriter(out, t.schema)
                writer.write_table(t)
            if writer is not None:
                writer.close()

        kinds = {"xgb": "xgb:1", "lgb": "lgb:1", "onnx": onnx_v.ref}
        times: dict[str, dict[str, list[float]]] = {
            k: {"modelward": [], "bare": [], "floor": []} for k in kinds
        }
        order = list(kinds)
        for r in range(args.rounds):
            for k in order[r % 3 :] + order[: r % 3]:
                lib = "hgb" if k == "onnx" else k
                for what in (
                    ("modelward", "bare", "floor") if r % 2 == 0 else ("floor", "bare", "modelward")
                ):
                    out = root / f"out-{k}-{what}-{r}.parquet"
                    t = time.perf_counter()
                    if what == "modelward":
                        api.score(kinds[k], data, out, registry=reg, threads=1)
                    elif what == "bare":
                        bare(lib if k != "onnx" else "onnx", full)
                    else:
                        floor(lib if k != "onnx" else "onnx", out)
                    times[k][what].append(time.perf_counter() - t)
                    if out.exists():
                        out.unlink()
                    for extra in root.glob(f"out-{k}-{what}-{r}.parquet.*"):
                        extra.unlink()
        load = os.getloadavg()
        print(
            f"{args.rows:,} rows x {N_FEATURES} features, {args.rounds} rounds interleaved, "
            f"one thread; load average {load[0]:.1f} / {load[1]:.1f}"
        )
        print(
            f"{'model':<8}{'modelward s':>14}{'bare s':>10}{'floor s':>10}{'vs bare':>22}{'vs floor':>22}"
        )
        report = {
            "rows": args.rows,
            "rounds": args.rounds,
            "load": load,
            "parity": parity,
            "models": {},
        }
        for k in kinds:
            m, b, f = (times[k][w] for w in ("modelward", "bare", "floor"))
            rb = [x / y for x, y in zip(m, b, strict=True)]
            rf = [x / y for x, y in zip(m, f, strict=True)]

            def fmt(rs: list[float]) -> str:
                return f"{statistics.median(rs):.2f}x ({min(rs):.2f}-{max(rs):.2f})"

            print(
                f"{k:<8}{statistics.median(m):>14.2f}{statistics.median(b):>10.2f}"
                f"{statistics.median(f):>10.2f}{fmt(rb):>22}{fmt(rf):>22}"
            )
            report["models"][k] = {"modelward": m, "bare": b, "floor": f}
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
