"""Drift detection on ground truth: ModelWard, Evidently and NannyML at their defaults.

Every batch is a table of 14 columns: 9 that carry one known shift each when
the batch is "shifted", and 5 that never move. The shifts:

=============  ===========================================================
mean+0.1σ      N(0, 1) -> N(0.1, 1)  (also +0.25σ and +0.5σ, own columns)
σ×1.25         N(0, 1) -> N(0, 1.25²)
bimodal        N(0, 1) -> ½N(-0.8, 0.6²) + ½N(0.8, 0.6²): same mean and variance
exp scale×1.4  Exp(1) -> Exp(1.4)
cat 30%→18%    a category's share 30 % -> 18 % (the others grow in proportion)
unseen cats    5 % of the values become two categories the reference never had
missing 1→20%  1 % of values missing -> 20 %
=============  ===========================================================

Null columns: log-normal, uniform, integer codes 0..19, 12 and 30 skewed
categories. For every batch size ``n`` and seed the reference has
``max(20 000, min(10 n, 1 000 000))`` rows drawn without any shift.

Detection of a shift = its column flagged. Each tool sees one batch per
(n, seed) with all nine shifts, the same file for every tool (a column's
verdict in Evidently and NannyML does not depend on the other columns); the
target is read on these batches. ModelWard also sees one batch per shift,
the shift in its column and every other column unshifted, so that its
Benjamini–Hochberg correction faces one true shift among 14 columns, the
hardest case for it ("MW alone" in the table; no peer is put to it, and its
misses are printed apart). False alarms: ``--null-repeats`` batches with no
shift at each of ``--null-sizes`` (default n = 500 and 5 000; one reference
each), share of columns flagged.

Evidently and NannyML run in their own virtualenvs as subprocesses
(``_drift_peer_driver.py``): ``--evidently-python`` / ``--nannyml-python``.

Run: ``python bench/bench_drift_matrix.py --quick`` (n up to 100 000);
without ``--quick`` n goes to 1M (``--sizes`` to choose, e.g. add 5000000).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

SHIFTS = {  # kind -> column
    "mean+0.1σ": "mean01",
    "mean+0.25σ": "mean025",
    "mean+0.5σ": "mean05",
    "σ×1.25": "variance",
    "normal→bimodal": "bimodal",
    "exp scale×1.4": "expo",
    "cat 30%→18%": "cat4",
    "unseen cats 5%": "unseen",
    "missing 1%→20%": "missing",
}
NUMERIC = [
    "mean01",
    "mean025",
    "mean05",
    "variance",
    "bimodal",
    "expo",
    "missing",
    "lognorm",
    "uniform",
    "codes",
]
CATEGORICAL = ["cat4", "unseen", "cat12", "cat30"]
STILL = ["lognorm", "uniform", "codes", "cat12", "cat30"]  # never shifted
CAT4_P = np.array([0.30, 0.30, 0.25, 0.15])
QUICK_SIZES = (200, 500, 1000, 1001, 5000, 20_000, 100_000)
FULL_SIZES = (*QUICK_SIZES, 1_000_000)


def reference_rows(n: int) -> int:
    return max(20_000, min(10 * n, 1_000_000))


def draw(rng: np.random.Generator, n: int, shifted: bool) -> dict[str, np.ndarray]:
    """One table of ``n`` rows; with ``shifted`` every shift column carries its shift."""
    s = 1.0 if shifted else 0.0
    t: dict[str, np.ndarray] = {}
    t["mean01"] = rng.normal(0.1 * s, 1, n)
    t["mean025"] = rng.normal(0.25 * s, 1, n)
    t["mean05"] = rng.normal(0.5 * s, 1, n)
    t["variance"] = rng.normal(0, 1.25 if shifted else 1.0, n)
    if shifted:
        side = np.where(rng.random(n) < 0.5, -0.8, 0.8)
        t["bimodal"] = side + rng.normal(0, 0.6, n)
    else:
        t["bimodal"] = rng.normal(0, 1, n)
    t["expo"] = rng.exponential(1.4 if shifted else 1.0, n)
    miss = rng.normal(0, 1, n)
    miss[rng.random(n) < (0.20 if shifted else 0.01)] = np.nan
    t["missing"] = miss
    t["lognorm"] = np.exp(rng.normal(0, 0.5, n))
    t["uniform"] = rng.uniform(0, 100, n)
    t["codes"] = rng.integers(0, 20, n).astype(np.float64)
    p = CAT4_P
    if shifted:
        p = np.concatenate([[0.18], CAT4_P[1:] * (0.82 / 0.70)])
    t["cat4"] = np.array(["a", "b", "c", "d"])[rng.choice(4, n, p=p)]
    u = np.array(["u0", "u1", "u2", "u3", "u4"])[rng.choice(5, n, p=[0.4, 0.25, 0.15, 0.1, 0.1])]
    if shifted:
        new = rng.random(n) < 0.05
        u = np.where(new, np.where(rng.random(n) < 0.5, "new1", "new2"), u)
    t["unseen"] = u
    t["cat12"] = np.array([f"c{i}" for i in range(12)])[
        np.floor(rng.random(n) ** 2 * 12).astype(int)
    ]
    t["cat30"] = np.array([f"k{i}" for i in range(30)])[
        np.floor(rng.random(n) ** 3 * 30).astype(int)
    ]
    return t


def write(path: Path, t: dict[str, np.ndarray]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists():  # the data are seeded: a kept work folder is reused
        return
    pq.write_table(pa.table(t), path)


def modelward_matrix(cells, nulls) -> tuple[dict, dict, dict]:
    """ModelWard in this process: detections per (kind, n) on the peers' batches and
    with each shift alone, and false alarms per n."""
    from modelward.core.monitoring.drift import check_drift
    from modelward.core.monitoring.profile import build_profile

    det: dict[tuple[str, int], list[bool]] = {}
    alone: dict[tuple[str, int], list[bool]] = {}
    for n, ref, null, shifted in cells:
        prof = build_profile(ref, categorical=[])
        rep = check_drift(shifted, prof)  # the very batch the peers are given
        det.setdefault(("still", n), []).extend(rep.feature(c).drifted for c in STILL)
        for kind, col in SHIFTS.items():
            det.setdefault((kind, n), []).append(rep.feature(col).drifted)
            cur = dict(null)
            cur[col] = shifted[col]
            alone.setdefault((kind, n), []).append(check_drift(cur, prof).feature(col).drifted)
    fa = {}
    for n, ref, batches in nulls:
        prof = build_profile(ref)
        flagged = total = 0
        for b in batches:
            rep = check_drift(b, prof)
            flagged += sum(f.drifted for f in rep.features)
            total += len(rep.features)
        fa[n] = flagged / total
    return det, alone, fa


def priority(job: dict, kind: str, n: int) -> int:
    """Order of the peers' jobs: small shifted batches, the null batches, then the large."""
    if kind == "null":
        return 1
    return 0 if n <= 5000 else (2 if n <= 20_000 else 3)


def read_partial(path: Path, n_jobs: int) -> list[dict | None]:
    """Results a driver wrote one line per finished job (a run stopped early leaves gaps)."""
    out: list[dict | None] = [None] * n_jobs
    for line in path.read_text().splitlines():
        r = json.loads(line)
        out[int(r["job"])] = r
    return out


def peer_matrix(tool: str, python: str, jobs: list[dict], workdir: Path) -> list[dict]:
    path = workdir / f"jobs_{tool}.json"
    path.write_text(json.dumps(jobs))
    partial = workdir / f"partial_{tool}.jsonl"
    partial.unlink(missing_ok=True)
    # no usage telemetry from either tool (this machine is offline anyway)
    env = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1", "DO_NOT_TRACK": "1"}
    out = subprocess.run(
        [python, str(HERE / "_drift_peer_driver.py"), tool, str(path), str(partial)],
        capture_output=True,
        text=True,
        env=env,
    )
    if out.returncode != 0:
        raise SystemExit(f"{tool} failed:\n{out.stderr[-3000:]}")
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"n in {QUICK_SIZES}")
    ap.add_argument("--sizes", type=int, nargs="*", help="batch sizes (default by mode)")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--null-repeats", type=int, default=20)
    ap.add_argument(
        "--null-sizes", type=int, nargs="*", default=[500, 5000], help="n of the null batches"
    )
    ap.add_argument("--evidently-python", default="/tmp/evidently-venv/bin/python")
    ap.add_argument("--nannyml-python", default="/tmp/nannyml-venv/bin/python")
    ap.add_argument("--tools", default="modelward,evidently,nannyml")
    ap.add_argument("--workdir", help="keep the generated files here (default: a temp folder)")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument(
        "--peer-results",
        nargs="*",
        help="tool=FILE: read a driver's (possibly partial) per-job lines instead of running it",
    )
    ap.add_argument(
        "--only-sizes",
        type=int,
        nargs="*",
        help="run ModelWard and show the table for these sizes only, keeping the job list of "
        "the mode (so --peer-results files of a full run still line up)",
    )
    ap.add_argument(
        "--reuse-modelward",
        action="store_true",
        help="reuse ModelWard's verdicts from --peer-cache (only while the code is unchanged)",
    )
    ap.add_argument(
        "--peer-cache",
        help="keep Evidently's and NannyML's verdicts here and reuse them (the data are seeded)",
    )
    args = ap.parse_args()
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    tools = args.tools.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        wd = Path(args.workdir or tmp)
        wd.mkdir(parents=True, exist_ok=True)
        cells, jobs, keys = [], [], []
        for n in sizes:
            for seed in range(args.seeds):
                rng = np.random.default_rng(1000 * seed + n % 997)
                ref = draw(rng, reference_rows(n), False)
                null, shifted = draw(rng, n, False), draw(rng, n, True)
                cells.append((n, ref, null, shifted))
                rp, cp = wd / f"ref_{n}_{seed}.parquet", wd / f"cur_{n}_{seed}.parquet"
                write(rp, ref)
                write(cp, shifted)
                cs = min(n, reference_rows(n) // 10)
                jobs.append(dict(reference=str(rp), current=str(cp), chunk_size=cs))
                keys.append(("shift", n))
        nulls = []
        for n in args.null_sizes:
            rng = np.random.default_rng(77 + n)
            ref = draw(rng, reference_rows(n), False)
            rp = wd / f"nullref_{n}.parquet"
            write(rp, ref)
            batches = []
            for r in range(args.null_repeats):
                b = draw(rng, n, False)
                batches.append(b)
                cp = wd / f"null_{n}_{r}.parquet"
                write(cp, b)
                jobs.append(dict(reference=str(rp), current=str(cp), chunk_size=n))
                keys.append(("null", n))
            nulls.append((n, ref, batches))
        for j in jobs:
            j.update(numeric=NUMERIC, categorical=CATEGORICAL)
        order = sorted(range(len(jobs)), key=lambda i: (priority(jobs[i], *keys[i]), i))
        jobs, keys = [jobs[i] for i in order], [keys[i] for i in order]
        given = dict(x.split("=", 1) for x in args.peer_results or [])

        results: dict = {
            "sizes": list(sizes),
            "seeds": args.seeds,
            "null_repeats": args.null_repeats,
        }
        det: dict[str, dict] = {}
        fa: dict[str, dict] = {}
        secs: dict[str, float] = {}
        cache = Path(args.peer_cache) if args.peer_cache else None
        sig = json.dumps([[k, n] for k, n in keys] + [args.seeds])
        mw_sig = json.dumps([[k, n] for k, n in keys] + [args.seeds, args.only_sizes or []])
        if "modelward" in tools:
            stored = json.loads(cache.read_text()) if cache and cache.exists() else {}
            mw = stored.get("modelward", {})
            if args.reuse_modelward and mw.get("sig") == mw_sig and "alone" in mw:
                d = {(k, n): v for k, n, v in mw["det"]}
                a = {(k, n): v for k, n, v in mw["alone"]}
                f = {int(n): v for n, v in mw["fa"].items()}
                secs["modelward"] = mw["seconds"]
            else:
                t = time.perf_counter()
                d, a, f = modelward_matrix(
                    [c for c in cells if not args.only_sizes or c[0] in args.only_sizes], nulls
                )
                secs["modelward"] = time.perf_counter() - t
                if cache:
                    stored["modelward"] = {
                        "sig": mw_sig,
                        "det": [[k, n, v] for (k, n), v in d.items()],
                        "alone": [[k, n, v] for (k, n), v in a.items()],
                        "fa": f,
                        "seconds": secs["modelward"],
                    }
                    cache.write_text(json.dumps(stored))
            det["modelward"], fa["modelward"] = d, f
            det["modelward-alone"], fa["modelward-alone"] = a, f
        for tool in ("evidently", "nannyml"):
            if tool not in tools:
                continue
            stored = json.loads(cache.read_text()) if cache and cache.exists() else {}
            if tool in given:
                res = read_partial(Path(given[tool]), len(jobs))
                secs[tool] = sum(r["seconds"] for r in res if r)
            elif stored.get(tool, {}).get("sig") == sig:
                res, secs[tool] = stored[tool]["results"], stored[tool]["seconds"]
            else:
                t = time.perf_counter()
                res = peer_matrix(tool, getattr(args, f"{tool}_python"), jobs, wd)
                secs[tool] = time.perf_counter() - t
                if cache:
                    stored[tool] = {"sig": sig, "results": res, "seconds": secs[tool]}
                    cache.write_text(json.dumps(stored))
            d, flagged, total = {}, {}, {}
            for (what, n), r in zip(keys, res, strict=True):
                if r is None:
                    continue  # the run was stopped before this job
                if what == "shift":
                    for kind, col in SHIFTS.items():
                        d.setdefault((kind, n), []).append(bool(r["drifted"][col]))
                    d.setdefault(("still", n), []).extend(bool(r["drifted"][c]) for c in STILL)
                else:
                    flagged[n] = flagged.get(n, 0) + sum(r["drifted"].values())
                    total[n] = total.get(n, 0) + len(r["drifted"])
            det[tool], fa[tool] = d, {n: flagged[n] / total[n] for n in flagged}
            results.setdefault("null_batches_done", {})[tool] = {
                n: total[n] // len(NUMERIC + CATEGORICAL) for n in total
            }
        shown = [n for n in sizes if not args.only_sizes or n in args.only_sizes]
        print_table(det, fa, shown, args.seeds, tools, args.null_sizes)
        misses = target_misses(det, shown)
        alone_misses = target_misses(det, shown, mw="modelward-alone")
        print(
            f"\ntool seconds (whole matrix): {json.dumps({k: round(v, 1) for k, v in secs.items()})}"
        )
        if "modelward" in det:
            if misses:
                print(
                    "TARGET NOT MET where a peer detects in >= 2 of 3 seeds and ModelWard does not:"
                )
                for m in misses:
                    print("  ", m)
            else:
                print(
                    "target met: every shift a peer detects in >= 2 of 3 seeds, ModelWard does "
                    "too, on the same batches"
                )
            if alone_misses:
                print(
                    "with each shift alone among 14 columns (harder for ModelWard's correction; "
                    "no peer is put to it), below 2 of 3 where a peer's batch reaches it:"
                )
                for m in alone_misses:
                    print("  ", m)
        results["detection"] = {
            tool: {f"{k}|{n}": v for (k, n), v in d.items()} for tool, d in det.items()
        }
        results["false_alarm_per_column"] = fa
        results["misses"] = misses
        results["misses_alone"] = alone_misses
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1, default=str))


def target_misses(det: dict, sizes, mw: str = "modelward") -> list[str]:
    """Cells where a peer flags a shift in >= 2 of 3 seeds and ModelWard (``mw``) does not."""
    if mw not in det:
        return []
    out = []
    for kind in SHIFTS:
        for n in sizes:
            hits = sum(det[mw][(kind, n)])
            peers = {
                t: sum(det[t].get((kind, n), [])) for t in det if not t.startswith("modelward")
            }
            k = len(det[mw][(kind, n)])
            need = (2 * k + 2) // 3  # 2 of 3
            if any(v >= need for v in peers.values()) and hits < need:
                out.append(
                    f"{kind} at n={n}: ModelWard {hits}/{k}, "
                    + ", ".join(f"{t} {v}/{k}" for t, v in peers.items())
                )
    return out


def _cell(hits: list[bool] | None, seeds: int) -> str:
    if not hits:
        return "–"
    return str(sum(hits)) if len(hits) == seeds else f"{sum(hits)}/{len(hits)}"


def print_table(det: dict, fa: dict, sizes, seeds: int, tools, null_sizes=(500, 5000)) -> None:
    shown = [t for t in ("modelward", "modelward-alone", "evidently", "nannyml") if t in det]
    short = {"modelward": "MW", "modelward-alone": "MW alone", "evidently": "EV", "nannyml": "NM"}
    head = "| shift | " + " | ".join(f"n={n:,}" for n in sizes) + " |"
    print(f"Detections out of {seeds} seeds, {' / '.join(short[t] for t in shown)}\n")
    print(head)
    print("|" + "---|" * (len(sizes) + 1))
    for kind in SHIFTS:
        cells = []
        for n in sizes:
            cells.append(" / ".join(_cell(det[t].get((kind, n)), seeds) for t in shown))
        print(f"| {kind} | " + " | ".join(cells) + " |")
    tools = [t for t in shown if t != "modelward-alone"]  # the same null batches
    print(
        f"\nThe {len(STILL)} columns that never move, flagged in the batches with the nine "
        "shifts (share of columns)\n"
    )
    print("| n | " + " | ".join(tools) + " |")
    print("|" + "---|" * (len(tools) + 1))
    for n in sizes:
        print(
            f"| {n:,} | "
            + " | ".join(f"{np.mean(det[t].get(('still', n)) or [np.nan]):.1%}" for t in tools)
            + " |"
        )
    print("\nFalse alarms per column (no shift)\n")
    print("| n | " + " | ".join(tools) + " |")
    print("|" + "---|" * (len(tools) + 1))
    for n in null_sizes:
        print(f"| {n:,} | " + " | ".join(f"{fa[t].get(n, float('nan')):.2%}" for t in tools) + " |")


if __name__ == "__main__":
    main()
