"""Batch scoring: ``modelward score`` against a bare pyarrow + scikit-learn floor.

Synthetic data: N rows x 25 numeric features and an ``id`` column, written to
Parquet by DuckDB. Two models are trained on the first 50,000 rows and
registered with ``api.log_model``: a HistGradientBoostingClassifier and a
StandardScaler + LogisticRegression pipeline.

For each model and each round (interleaved, the order alternating), it times
two whole processes:

* modelward: ``modelward score NAME:1 --data in.parquet -o out.parquet
  --id-column id`` (start-up, registry, safe load, read, checks, predict,
  write Parquet, hashes, manifest, audit event);
* floor: a script that loads the same estimator (joblib), reads the same file
  with ``pyarrow.parquet.ParquetFile.iter_batches``, calls ``predict_proba`` on
  each record batch and writes the same columns (``id``, ``prediction``,
  ``proba_0``, ``proba_1``) with ``pyarrow.parquet.ParquetWriter``.

Both use every core and 65,536-row batches. Peak memory is each child's
``ru_maxrss`` (``os.wait4``).

``--digest-floor`` adds a third process of the same rounds: the floor that
also computes the SHA-256 of its input (on a thread while it scores, with
``hashlib.file_digest``) and of its output, the two digests every
``modelward score`` manifest carries. Its ratio says how much of the gap is
that required work.

``--csv`` scores the same rows written as CSV (DuckDB's ``COPY``, 17 significant
digits), and the floor reads them with ``pyarrow.csv.open_csv`` (streaming, every
column typed by pyarrow) instead of the Parquet reader.

``--inbox N`` measures a scoring folder instead: a warm watcher (a
``WatchService`` started in this process, the champion already scored one
batch) and N batches of ``--inbox-rows`` rows (CSV) renamed into the inbox one
after the other; each latency is from the rename to the output's manifest in
the outbox. The floor is the same batch scored in this process with the
estimator already loaded (read the CSV with pyarrow, ``predict_proba``, write
Parquet), so the figure to read is the p95 latency minus the floor's own time.
Usage::

    python bench/bench_score.py                 # 1,000,000 rows, 3 rounds
    python bench/bench_score.py --rows 200000 --rounds 5
    python bench/bench_score.py --rows 10000000 --rounds 1 --models logreg
    python bench/bench_score.py --inbox 30      # 10,000-row batches through a scoring folder
    python bench/bench_score.py --csv           # the same from a CSV file
    python bench/bench_score.py --quick         # 100,000 rows, 1 round; 10 inbox batches
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR = r"""
import sys, joblib, numpy as np, pyarrow as pa, pyarrow.parquet as pq
model_path, data, out = sys.argv[1:4]
model = joblib.load(model_path)
features = [f"x{i}" for i in range(25)]
pf = pq.ParquetFile(data, pre_buffer=False)  # the same reader options as modelward's
writer = None
for batch in pf.iter_batches(batch_size=65536, columns=["id", *features]):
    X = batch.select(features).to_pandas()
    proba = model.predict_proba(X)
    cols = {"id": batch.column("id"),
            "prediction": pa.array(model.classes_[proba.argmax(axis=1)])}
    for j, c in enumerate(model.classes_):
        cols[f"proba_{c}"] = pa.array(proba[:, j])
    table = pa.table(cols)
    if writer is None:
        writer = pq.ParquetWriter(out, table.schema)
    writer.write_table(table)
writer.close()
"""


FLOOR_CSV = FLOOR.replace(
    "pf = pq.ParquetFile(data, pre_buffer=False)  # the same reader options as modelward's\n",
    "import pyarrow.csv as pc\n"
    "reader = pc.open_csv(data, read_options=pc.ReadOptions(block_size=1 << 23))\n",
).replace(
    'for batch in pf.iter_batches(batch_size=65536, columns=["id", *features]):\n',
    "for batch in reader:\n",
)
assert FLOOR_CSV != FLOOR

# The floor plus the two digests of the manifest: the input's on a thread while
# the rows are scored, the output's once it is written.
FLOOR_DIGEST = (
    FLOOR.replace(
        "model = joblib.load(model_path)\n",
        "import hashlib, threading\n"
        "digests = {}\n"
        "def _digest(path, key):\n"
        "    with open(path, 'rb') as f:\n"
        "        digests[key] = hashlib.file_digest(f, 'sha256').hexdigest()\n"
        "hasher = threading.Thread(target=_digest, args=(data, 'in'))\n"
        "hasher.start()\n"
        "model = joblib.load(model_path)\n",
    )
    + "hasher.join()\n_digest(out, 'out')\nassert len(digests) == 2\n"
)
assert "hasher.start()" in FLOOR_DIGEST

MODELS = ("hgb", "logreg")


def make_data(path: Path, n: int, *, csv: bool = False) -> None:
    import duckdb

    num = ", ".join(f"random() * 2 - 1 AS x{i}" for i in range(25))
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    con.execute("SELECT setseed(0.42)")
    con.execute(
        f"""COPY (
            SELECT CAST(range AS BIGINT) AS id, *,
                   CAST(x0 + 0.5 * x1 - 0.3 * x2 + random() - 0.5 > 0 AS INTEGER) AS y
            FROM (SELECT range, {num} FROM range({n}))
        ) TO '{path}' (FORMAT parquet)"""
    )
    if csv:
        con.execute(f"COPY (SELECT * FROM '{path}') TO '{path.with_suffix('.csv')}' (HEADER)")
    con.close()


def make_models(data: Path, reg: Path, folder: Path) -> dict[str, Path]:
    import joblib
    import pyarrow.parquet as pq
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from modelward import api

    head = pq.ParquetFile(data).iter_batches(batch_size=50_000).__next__().to_pandas()
    X = head[[f"x{i}" for i in range(25)]]
    y = head["y"]
    models = {
        "hgb": HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(X, y),
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y),
    }
    out = {}
    assert tuple(models) == MODELS
    for name, est in models.items():
        api.log_model(est, name, X=X, y=y, registry=str(reg))
        path = folder / f"{name}.joblib"
        joblib.dump(est, path)
        out[name] = path
    api.open_registry(str(reg)).close()
    return out


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode() if p.stderr else ""
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed ({p.returncode}): {err}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", metavar="FILE", help="write the raw figures as JSON")
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--inbox", type=int, metavar="N", help="N batches through a scoring folder")
    ap.add_argument("--inbox-rows", type=int, default=10_000)
    ap.add_argument("--csv", action="store_true", help="score a CSV file (floor: pyarrow.csv)")
    ap.add_argument(
        "--digest-floor",
        action="store_true",
        help="also time the floor with the input's and output's SHA-256 (Parquet only)",
    )
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--setup", metavar="DIR", help=argparse.SUPPRESS)
    ap.add_argument("--setup-small", metavar="DIR", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.rows, args.rounds = min(args.rows, 100_000), 1
        args.inbox = min(args.inbox, 10) if args.inbox else None
    if args.inbox:
        bench_inbox(args)
        return
    if args.setup:
        make_data(Path(args.setup) / "in.parquet", args.rows, csv=args.csv)
        make_models(Path(args.setup) / "in.parquet", Path(args.setup) / "reg", Path(args.setup))
        return
    if args.setup_small:
        make_data(Path(args.setup_small) / "small.parquet", 1000, csv=args.csv)
        return

    with tempfile.TemporaryDirectory(prefix="bench-score-") as tmp:
        t = Path(tmp)
        data, reg = t / "in.parquet", t / "reg"
        t0 = time.perf_counter()
        # Set up in a child, so this process stays small: a child's peak RSS
        # starts from its parent's at fork time.
        as_csv = ["--csv"] if args.csv else []
        subprocess.run(
            [sys.executable, __file__, "--setup", tmp, "--rows", str(args.rows), *as_csv],
            check=True,
        )
        models = {name: t / f"{name}.joblib" for name in args.models}
        small = t / "small.parquet"
        subprocess.run([sys.executable, __file__, "--setup-small", tmp, *as_csv], check=True)
        if args.csv:
            data, small = data.with_suffix(".csv"), small.with_suffix(".csv")
        print(
            f"{args.rows:,} rows x 25 columns, {data.stat().st_size / 1e6:.0f} MB "
            f"{'CSV' if args.csv else 'Parquet'} (setup {time.perf_counter() - t0:.1f} s)",
            flush=True,
        )
        env = dict(os.environ)
        env["MODELWARD_HOME"] = str(reg)
        floor_py = t / "floor.py"
        floor_py.write_text(FLOOR_CSV if args.csv else FLOOR)
        digest_py = t / "floor_digest.py"
        digest_py.write_text(FLOOR_DIGEST)
        digest = args.digest_floor and not args.csv

        def commands(name: str, src: Path) -> dict[str, list[str]]:
            out = t / f"out-{name}-{src.stem}.parquet"
            return {
                "modelward": [
                    *(sys.executable, "-m", "modelward", "score", f"{name}:1"),
                    *("--data", str(src), "-o", str(out), "--id-column", "id"),
                    *("--registry", str(reg)),
                ],
                "floor": [sys.executable, str(floor_py), str(models[name]), str(src), str(out)],
                "floor_digest": [
                    *(sys.executable, str(digest_py), str(models[name]), str(src), str(out)),
                ],
            }

        figures: dict[str, dict[str, list[float]]] = {m: {} for m in models}
        for r in range(args.rounds):
            for name in models:
                for size, src in (("", data), ("_1k", small)):
                    cmds = commands(name, src)
                    order = ["floor", "modelward"] if r % 2 == 0 else ["modelward", "floor"]
                    if digest and not size:
                        order.insert(1, "floor_digest")
                    for who in order:
                        secs, mb = run(cmds[who], env)
                        figures[name].setdefault(who + size, []).append(secs)
                        figures[name].setdefault(f"{who}{size}_mb", []).append(mb)
                        print(
                            f"  round {r + 1} {name:<7} {who + size:<12} {secs:7.2f} s  {mb:6.0f} MB",
                            flush=True,
                        )

    med = statistics.median
    print()
    print(
        "| model | modelward s (median, min–max) | floor s (median, min–max) | ratio of medians "
        "| same on 1,000 rows (start-up) | ratio of the per-row part | peak MB modelward / floor |"
    )
    print("|---|---|---|---|---|---|---|")
    summary = {}
    for name, f in figures.items():
        mw, fl = f["modelward"], f["floor"]
        mw1, fl1 = f["modelward_1k"], f["floor_1k"]
        ratio = med(mw) / med(fl)
        per_row = (med(mw) - med(mw1)) / max(med(fl) - med(fl1), 1e-9)
        summary[name] = {**f, "ratio": ratio, "ratio_per_row": per_row}
        print(
            f"| {name} | {med(mw):.2f} ({min(mw):.2f}–{max(mw):.2f}) "
            f"| {med(fl):.2f} ({min(fl):.2f}–{max(fl):.2f}) | {ratio:.2f}× "
            f"| {med(mw1):.2f} / {med(fl1):.2f} s | {per_row:.2f}× "
            f"| {max(f['modelward_mb']):.0f} / {max(f['floor_mb']):.0f} |"
        )
    if any("floor_digest" in f for f in figures.values()):
        print("\n| model | floor with both SHA-256 s (median, min–max) | modelward / that floor |")
        print("|---|---|---|")
        for name, f in figures.items():
            fd = f["floor_digest"]
            print(
                f"| {name} | {med(fd):.2f} ({min(fd):.2f}–{max(fd):.2f}) "
                f"| {med(f['modelward']) / med(fd):.2f}× |"
            )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "rows": args.rows,
                    "rounds": args.rounds,
                    "machine": platform.platform(),
                    "cpus": os.cpu_count(),
                    "figures": summary,
                },
                indent=2,
            )
        )


def _floor_batch(est, src: Path, out: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(src)
    X = table.select([f"x{i}" for i in range(25)]).to_pandas()
    proba = est.predict_proba(X)
    cols = {"id": table.column("id"), "prediction": pa.array(est.classes_[proba.argmax(axis=1)])}
    for j, c in enumerate(est.classes_):
        cols[f"proba_{c}"] = pa.array(proba[:, j])
    pq.write_table(pa.table(cols), out)


def bench_inbox(args: argparse.Namespace) -> None:
    """Batch renamed into a scoring inbox -> output in the outbox, with a warm watcher."""
    import joblib
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from threadpoolctl import threadpool_limits

    from modelward.core.registry import Registry
    from modelward.core.watch import add_folder
    from modelward.core.watch.service import WatchService

    with tempfile.TemporaryDirectory(prefix="bench-inbox-") as tmp, threadpool_limits(1):
        t = Path(tmp)
        data = t / "in.parquet"
        make_data(data, max(args.inbox_rows * 2, 60_000))
        make_models(data, t / "reg", t)
        reg = Registry(t / "reg", idle_release=0.5)
        name = args.models[0]
        reg.set_alias(f"{name}:1", "champion", "bench")
        inbox, outbox, stage = t / "inbox", t / "outbox", t / "stage"
        stage.mkdir()
        add_folder(reg, inbox, "scoring", model_name=name, options={"outbox": str(outbox)})
        rows = pq.read_table(data).slice(0, args.inbox_rows).drop(["y"])
        batches = []
        for k in range(args.inbox + 1):
            src = stage / f"batch{k:03d}.csv"
            pacsv.write_csv(rows, src)
            batches.append(src)
        est = joblib.load(t / f"{name}.joblib")
        svc = WatchService(reg, settle=0.2, rescan_interval=5.0)
        svc.start()
        latencies, floors = [], []
        try:
            for k, src in enumerate(batches):
                dest = inbox / src.name
                manifest = outbox / f"{src.stem}.scored.csv.manifest.json"
                t0 = time.perf_counter()
                os.replace(src, dest)
                if not svc.wait_for(lambda r, k=k: len(r) > k, 120):
                    raise SystemExit(f"batch {k} was not scored in 120 s")
                elapsed = time.perf_counter() - t0
                assert manifest.exists(), manifest
                f0 = time.perf_counter()
                _floor_batch(est, dest, t / "floor.parquet")
                floor = time.perf_counter() - f0
                if k == 0:  # the warm-up batch: the watcher's first load of the model
                    print(f"  warm-up batch {elapsed:.2f} s", flush=True)
                    continue
                latencies.append(elapsed)
                floors.append(floor)
                print(f"  batch {k:3d}  {elapsed:6.3f} s   floor {floor:6.3f} s", flush=True)
        finally:
            svc.stop()
            reg.close()

    def p95(xs: list[float]) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]

    med = statistics.median
    print()
    print(
        "| batch rows | batches | latency p95 s | median (min–max) | floor median s | p95 − floor median |"
    )
    print("|---|---:|---:|---|---:|---:|")
    print(
        f"| {args.inbox_rows:,} | {len(latencies)} | {p95(latencies):.3f} "
        f"| {med(latencies):.3f} ({min(latencies):.3f}–{max(latencies):.3f}) "
        f"| {med(floors):.3f} | {p95(latencies) - med(floors):.3f} |"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"inbox_rows": args.inbox_rows, "latencies": latencies, "floors": floors})
        )


if __name__ == "__main__":
    main()
