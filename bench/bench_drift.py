"""Drift check speed, memory and error rates (figures in docs/benchmarks.md, "Monitoring").

Speed: a full drift check of a current batch against a stored reference profile
(all 25 columns, all default statistics, data quality, multivariate PCA
drift), as a ratio to the floor measured in the same run: reading the
numeric columns once (the monitoring reader's batches) and binning each in one
pass (``np.searchsorted`` + ``np.bincount`` on the reference's bin edges), and
one DuckDB ``GROUP BY`` per categorical column. Also: building the profile, and
``modelward drift`` end to end (profile the reference file, then check), both
as ratios to the floor over the same files.

Memory: peak RSS of a fresh process that builds the profile and checks a batch.

Error rates: batches drawn from the reference distribution (false alarms) and
batches with known shifts (detection), at two batch sizes.

Whole process (``--whole``): ``modelward drift --reference R --current C``
as a fresh process, as a ratio to a floor script run in the same loop (a
fresh process that reads both Parquet files with PyArrow and bins every
column once: numeric columns into 100 quantile bins of the reference, Arrow
value counts for categorical ones), rounds interleaved; wall and CPU time
(user + system) of each process, with ModelWard's modules compiled to
bytecode once before the rounds.

Run: ``python bench/bench_drift.py --rows 1000000`` (add ``--rows 10000000``;
``--rates`` for the error rates only; ``--whole`` for the whole-process ratio
only).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_NUM, N_CAT = 20, 5
CAT_SIZES = (3, 5, 12, 30, 50)


def generate(path: Path, rows: int, seed: int) -> None:
    """A Parquet file with 20 numeric and 5 categorical columns, written by DuckDB."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SELECT setseed({seed / 1000})")
    gauss = "sqrt(-2 * ln(random())) * cos(2 * pi() * random())"
    num = (
        [f"({gauss}) * {1 + i % 3} + {i} AS x{i}" for i in range(10)]
        + [f"exp(({gauss}) * 0.5) AS x{i}" for i in range(10, 15)]
        + [f"random() * 100 AS x{i}" for i in range(15, 18)]
        + [f"floor(random() * 20)::INTEGER AS x{i}" for i in range(18, 20)]
    )
    cat = [
        f"'c' || floor(pow(random(), 2) * {k})::INTEGER AS c{j}" for j, k in enumerate(CAT_SIZES)
    ]
    con.execute(
        f"COPY (SELECT {', '.join(num + cat)} FROM range({rows})) TO '{path}' "
        "(FORMAT parquet, ROW_GROUP_SIZE 122880)"
    )
    con.close()


def floor_pass(path: Path, profile) -> float:
    """Read the monitored columns once and bin each in one pass; returns seconds.

    Numeric columns through the monitoring reader's batches, binned with
    ``searchsorted`` + ``bincount``; each categorical column counted by one
    bare DuckDB ``GROUP BY`` (the cheapest count of a Parquet text column here).
    """
    import duckdb

    from modelward.core.monitoring.profile import NumericProfile
    from modelward.core.monitoring.source import open_source

    t = time.perf_counter()
    src = open_source(path)
    edges = {c: p.edges for c, p in profile.features.items() if isinstance(p, NumericProfile)}
    cats = [c for c in profile.features if c not in edges]
    counts = {}
    for b in src.batches(list(edges)):
        for c, e in edges.items():
            n = np.bincount(np.searchsorted(e, b[c]), minlength=len(e) + 1)
            counts[c] = counts.get(c, 0) + n
    con = duckdb.connect()
    for c in cats:
        con.execute(f'SELECT "{c}", count(*) FROM read_parquet(?) GROUP BY ALL', [str(path)])
        con.fetchall()
    con.close()
    return time.perf_counter() - t


FLOOR_SCRIPT = """
import sys
import numpy as np
import pyarrow.parquet as pq
import pyarrow.types as pt
ref, cur = pq.read_table(sys.argv[1]), pq.read_table(sys.argv[2])
for name in ref.column_names:
    a, b = ref[name], cur[name]
    if pt.is_floating(a.type) or pt.is_integer(a.type):
        x, y = a.to_numpy().astype(float), b.to_numpy().astype(float)
        e = np.unique(np.quantile(x[:: max(1, len(x) // 200000)], np.linspace(0, 1, 101)))
        np.bincount(np.searchsorted(e, x), minlength=len(e) + 1)
        np.bincount(np.searchsorted(e, y), minlength=len(e) + 1)
    else:
        a.value_counts()
        b.value_counts()
"""


def whole_process(rows: int, workdir: Path, repeats: int) -> dict:
    """``modelward drift`` as a fresh process against the floor script, interleaved."""
    ref, cur = workdir / f"ref_{rows}.parquet", workdir / f"cur_{rows}.parquet"
    if not ref.exists():
        generate(ref, rows, 1)
        generate(cur, rows, 2)
    floor_cmd = [sys.executable, "-c", FLOOR_SCRIPT, str(ref), str(cur)]
    mw_cmd = [sys.executable, "-m", "modelward", "drift", "--reference", str(ref)]
    mw_cmd += ["--current", str(cur)]

    def run(cmd: list[str]) -> tuple[float, float, float]:
        """Wall seconds, peak RSS (MB) and CPU seconds (user + system) of one child process."""
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{cmd[2:4]} failed")
        cpu = usage.ru_utime + usage.ru_stime
        return time.perf_counter() - t, usage.ru_maxrss / 1024, cpu

    # ModelWard's modules as bytecode, as an installed package has them (with
    # PYTHONDONTWRITEBYTECODE set, each drift process compiled them again; the floor
    # imports none)
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "app"), quiet=1)
    pairs, loads = [], []
    for _ in range(repeats):
        loads.append(os.getloadavg()[0])
        f, f_mb, f_cpu = run(floor_cmd)
        m, m_mb, m_cpu = run(mw_cmd)
        pairs.append((f, m, m / f, f_mb, m_mb, f_cpu, m_cpu, m_cpu / f_cpu))
    a = np.array(pairs)

    def spread(col: int, nd: int = 2) -> list[float]:
        return [round(float(a[:, col].min()), nd), round(float(a[:, col].max()), nd)]

    return {
        "rows": rows,
        "repeats": repeats,
        "floor_process_s": round(float(np.median(a[:, 0])), 2),
        "floor_process_range": spread(0),
        "drift_process_s": round(float(np.median(a[:, 1])), 2),
        "drift_process_range": spread(1),
        "ratio": round(float(np.median(a[:, 2])), 2),
        "ratio_range": spread(2),
        "floor_peak_rss_mb": round(float(np.max(a[:, 3])), 1),
        "drift_peak_rss_mb": round(float(np.max(a[:, 4])), 1),
        # CPU (user + system, every thread): the work done, whatever the machine's load
        "floor_cpu_s": round(float(np.median(a[:, 5])), 2),
        "drift_cpu_s": round(float(np.median(a[:, 6])), 2),
        "cpu_ratio": round(float(np.median(a[:, 7])), 2),
        "cpu_ratio_range": spread(7),
        "load_1min": [round(x, 1) for x in loads],
    }


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def speed(rows: int, workdir: Path, repeats: int) -> dict:
    from modelward.core.monitoring.drift import check_drift, drift_between
    from modelward.core.monitoring.profile import build_profile

    ref, cur = workdir / f"ref_{rows}.parquet", workdir / f"cur_{rows}.parquet"
    if not ref.exists():
        generate(ref, rows, 1)
        generate(cur, rows, 2)
    prof = build_profile(ref)
    rows_out = []
    for _ in range(repeats):
        # each figure is paired with a floor measured right before it, and the
        # median of the per-repeat ratios is reported: the shared machine's load
        # changes within seconds, which makes min/min ratios of separate runs unstable
        f = floor_pass(cur, prof)
        c = timed(lambda: check_drift(cur, prof))
        f_ref = floor_pass(ref, prof)
        p = timed(lambda: build_profile(ref))
        f2 = floor_pass(ref, prof) + floor_pass(cur, prof)
        e = timed(lambda: drift_between(ref, cur))
        rows_out.append((f, c, c / f, p, p / f_ref, e, e / f2))
    a = np.array(rows_out)
    med = np.median(a, axis=0)
    out = {
        "rows": rows,
        "repeats": repeats,
        "floor_s": round(float(med[0]), 3),
        "check_s": round(float(med[1]), 3),
        "check_ratio": round(float(med[2]), 2),
        "check_ratio_range": [round(float(a[:, 2].min()), 2), round(float(a[:, 2].max()), 2)],
        "profile_s": round(float(med[3]), 3),
        "profile_ratio_vs_floor_of_reference": round(float(med[4]), 2),
        "end_to_end_s": round(float(med[5]), 3),
        "end_to_end_ratio_vs_floor_of_both_files": round(float(med[6]), 2),
    }
    out["peak_rss_mb"] = peak_memory(ref, cur)
    return out


def peak_memory(ref: Path, cur: Path) -> float:
    code = (
        "import resource, sys\n"
        "from modelward.core.monitoring.profile import build_profile\n"
        "from modelward.core.monitoring.drift import check_drift\n"
        f"p = build_profile({str(ref)!r})\n"
        f"check_drift({str(cur)!r}, p)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return round(int(out.stdout.strip().splitlines()[-1]) / 1024, 1)


# --------------------------------------------------------------------------- error rates
SHIFTS = {
    # name: (column, description)
    "mean_0.2sd": ("x0", "mean + 0.2 standard deviations"),
    "mean_0.5sd": ("x0", "mean + 0.5 standard deviations"),
    "variance_x1.25": ("x0", "standard deviation x 1.25"),
    "variance_x1.5": ("x0", "standard deviation x 1.5"),
    "category_small": ("c1", "category frequencies u^2 -> u^3 (PSI about 0.08)"),
    "category_large": ("c1", "category frequencies u^2 -> u^4 (PSI about 0.2)"),
}


def draw(rng: np.random.Generator, n: int, shift: str | None = None) -> dict:
    cols = {}
    for i in range(10):
        sd = 1 + i % 3
        x = rng.normal(i, sd, n)
        if i == 0 and shift and shift.startswith("mean"):
            x = x + sd * float(shift.split("_")[1][:-2])
        if i == 0 and shift and shift.startswith("variance"):
            x = (x - i) * float(shift.split("x")[-1]) + i
        cols[f"x{i}"] = x
    for i in range(10, 15):
        cols[f"x{i}"] = np.exp(rng.normal(0, 0.5, n))
    for i in range(15, 18):
        cols[f"x{i}"] = rng.uniform(0, 100, n)
    for i in range(18, 20):
        cols[f"x{i}"] = rng.integers(0, 20, n).astype(float)
    for j, k in enumerate(CAT_SIZES):
        u = rng.random(n) ** 2
        if j == 1 and shift == "category_small":
            u = u**1.5
        if j == 1 and shift == "category_large":
            u = u**2
        cols[f"c{j}"] = np.array([f"c{v}" for v in range(k)])[np.floor(u * k).astype(int)]
    return cols


def rates(n_batches: int = 200, sizes=(500, 5000), ref_rows: int = 100_000) -> dict:
    from modelward.core.monitoring.drift import check_drift
    from modelward.core.monitoring.profile import build_profile

    rng = np.random.default_rng(7)
    prof = build_profile(draw(rng, ref_rows))
    out: dict = {"reference_rows": ref_rows, "batches": n_batches}
    runs = [(n, "auto") for n in sizes] + [(sizes[-1], "reference")]
    for n, thresholds in runs:
        row: dict = {}
        fa_feature = fa_dataset = fa_mv = 0
        for _ in range(n_batches):
            r = check_drift(draw(rng, n), prof, thresholds=thresholds)
            fa_feature += sum(f.drifted for f in r.features)
            fa_dataset += r.drifted
            fa_mv += bool(r.multivariate and r.multivariate["drifted"])
        row["method"] = f"{r.features[0].method}/{r.features[-1].method}"
        row["false_alarm_per_feature"] = fa_feature / (n_batches * len(prof.features))
        row["false_alarm_dataset"] = fa_dataset / n_batches
        row["false_alarm_multivariate"] = fa_mv / n_batches
        for shift, (col, _desc) in SHIFTS.items():
            hits = 0
            for _ in range(n_batches):
                hits += (
                    check_drift(draw(rng, n, shift), prof, thresholds=thresholds)
                    .feature(col)
                    .drifted
                )
            row[f"detect_{shift}"] = hits / n_batches
        out[f"n={n}, thresholds={thresholds}"] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, action="append", help="rows per file (repeatable)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rates", action="store_true", help="only the error rates")
    ap.add_argument("--speed", action="store_true", help="only speed and memory")
    ap.add_argument("--whole", action="store_true", help="only the whole-process ratio")
    ap.add_argument("--batches", type=int, default=200, help="batches per error-rate cell")
    ap.add_argument("--workdir", help="keep generated files here (default: a temp folder)")
    args = ap.parse_args()
    results: dict = {}
    if args.whole:
        with tempfile.TemporaryDirectory() as tmp:
            wd = Path(args.workdir or tmp)
            for rows in args.rows or [1_000_000]:
                results[f"whole_{rows}"] = whole_process(rows, wd, args.repeats)
                print(json.dumps(results[f"whole_{rows}"]), flush=True)
        return
    if not args.rates:
        with tempfile.TemporaryDirectory() as tmp:
            wd = Path(args.workdir or tmp)
            for rows in args.rows or [1_000_000]:
                results[f"speed_{rows}"] = speed(rows, wd, args.repeats)
                print(json.dumps(results[f"speed_{rows}"]), flush=True)
    if not args.speed:
        results["rates"] = rates(n_batches=args.batches)
        print(json.dumps(results["rates"], indent=2))
    _ = resource  # peak memory is measured in a child process


if __name__ == "__main__":
    main()
