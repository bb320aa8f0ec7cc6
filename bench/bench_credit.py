"""Credit-style validation (#19): ModelWard's numbers against bare scikit-learn/scipy.

On N binary predictions (a score with a credit-like spread, 20 % events):

- **point numbers**: ``validation_metrics`` + ``credit_curves`` (every scikit-learn
  metric, Gini, KS, lift and gains, deciles, Hosmer–Lemeshow, ECE) against a bare
  script computing the same numbers with scikit-learn, ``scipy.stats.ks_2samp``,
  ``pandas.qcut`` and numpy; rounds interleaved, median (min–max), the ratio;
- **bootstrap intervals** of every metric: ModelWard's vectorised percentile
  bootstrap (B resamples) against the bare loop (each metric with scikit-learn /
  scipy on each resample). The bare loop is timed on K resamples and scaled to B
  (its cost per resample is constant); both use the same resamples;
- **equality**: every point number, and the intervals over the K shared
  resamples, equal the bare computation (largest absolute difference shown).

    python bench/bench_credit.py --quick          # 100,000 rows, B=100, K=5, 3 rounds
    python bench/bench_credit.py --write-docs     # 1,000,000 rows, B=500, K=3, 3 rounds
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from functools import partial
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"  # one BLAS thread: the same for both sides, no oversubscription

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "app"))
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Credit-style validation (#19)"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402
from sklearn import metrics as m  # noqa: E402

from modelward.core.compute.metrics import (  # noqa: E402
    Predictions,
    bootstrap_intervals,
    credit_curves,
    validation_metrics,
)


def data(n: int, seed: int = 0) -> Predictions:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    s = 1 / (1 + np.exp(-(rng.normal(-1.6, 1.0, n) + 1.3 * y)))
    return Predictions(
        y, (s >= 0.5).astype(int), "classification", np.array([0, 1]), np.c_[1 - s, s]
    )


def ours(p: Predictions) -> dict:
    mt = validation_metrics(p)
    return {"metrics": mt, "curves": credit_curves(p)}


def bare_metrics(y, pred, s) -> dict:
    """What a validator's script computes, each number with its usual library."""
    proba = np.c_[1 - s, s]
    auc = m.roc_auc_score(y, s)
    return {
        "accuracy": m.accuracy_score(y, pred),
        "balanced_accuracy": m.balanced_accuracy_score(y, pred),
        "f1": m.f1_score(y, pred),
        "precision": m.precision_score(y, pred),
        "recall": m.recall_score(y, pred),
        "roc_auc": auc,
        "gini": 2 * auc - 1,
        "ks": stats.ks_2samp(s[y == 1], s[y == 0]).statistic,
        "average_precision": m.average_precision_score(y, s),
        "log_loss": m.log_loss(y, proba),
        "brier_score_loss": m.brier_score_loss(y, s),
    }


def bare(p: Predictions) -> dict:
    y, pred, s = p.y_true, p.y_pred, p.proba[:, 1]
    out = bare_metrics(y, pred, s)
    order = np.argsort(-s, kind="stable")
    cum = np.cumsum(y[order])
    k = np.ceil(np.arange(1, 101) / 100 * len(s)).astype(int)
    captured = cum[k - 1] / y.sum()
    bands = pd.DataFrame({"b": pd.qcut(s, 10, duplicates="drop"), "y": y})
    tab = bands.groupby("b", observed=False)["y"].agg(["size", "sum"]).iloc[::-1]
    parts = np.array_split(np.argsort(s, kind="stable"), 10)
    hl = sum((y[a].sum() - s[a].sum()) ** 2 / (s[a].sum() * (1 - s[a].mean())) for a in parts)
    bins = np.minimum((s * 10).astype(int), 9)
    ece = sum(abs(y[bins == b].sum() - s[bins == b].sum()) for b in range(10)) / len(s)
    out.update(
        captured=captured,
        band_sizes=tab["size"].tolist(),
        band_events=tab["sum"].tolist(),
        hl=hl,
        hl_p=stats.chi2.sf(hl, 8),
        ece=ece,
    )
    return out


def bare_boot(p: Predictions, k: int, seed: int = 0) -> dict[str, list[float]]:
    y, pred, s = p.y_true, p.y_pred, p.proba[:, 1]
    rng = np.random.default_rng(seed)
    reps: dict[str, list[float]] = {}
    for _ in range(k):
        i = rng.integers(0, len(y), len(y))
        for key, v in bare_metrics(y[i], pred[i], s[i]).items():
            reps.setdefault(key, []).append(v)
    return {key: np.percentile(v, [2.5, 97.5]).tolist() for key, v in reps.items()}


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def stat(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def run(n: int, n_boot: int, k: int, rounds: int) -> dict:
    p = data(n)
    t_ours, t_bare, t_boot, t_bare_boot = [], [], [], []
    for _ in range(rounds):  # interleaved
        a, mine = timed(ours, p)
        b, theirs = timed(bare, p)
        c, _iv = timed(partial(bootstrap_intervals, p, mine["metrics"], n_boot=n_boot))
        d, ref_iv = timed(bare_boot, p, k)
        t_ours.append(a)
        t_bare.append(b)
        t_boot.append(c)
        t_bare_boot.append(d / k * n_boot)
    # equality: point numbers, curves, and the intervals over the same K resamples
    diffs = {
        key: abs(mine["metrics"][key] - theirs[key])
        for key in bare_metrics(p.y_true[:10], p.y_pred[:10], p.proba[:10, 1])
    }
    crv = mine["curves"]
    diffs["gains"] = float(
        np.max(np.abs(np.array(crv["gains"]["captured"][1:]) - theirs["captured"]))
    )
    diffs["bands"] = float(
        max(
            abs(a - b)
            for a, b in zip(
                [x["population"] for x in crv["bands"]] + [x["events"] for x in crv["bands"]],
                theirs["band_sizes"] + theirs["band_events"],
                strict=True,
            )
        )
    )
    cal = crv["calibration_test"]
    diffs["hosmer_lemeshow"] = abs(cal["hosmer_lemeshow"] - theirs["hl"])
    diffs["hl_p_value"] = abs(cal["p_value"] - theirs["hl_p"])
    diffs["ece"] = abs(cal["ece"] - theirs["ece"])
    iv_k = bootstrap_intervals(p, mine["metrics"], n_boot=k)
    diffs["intervals"] = max(
        abs(a - b) for key in ref_iv for a, b in zip(iv_k[key], ref_iv[key], strict=True)
    )
    return {
        "rows": n,
        "n_boot": n_boot,
        "k": k,
        "rounds": rounds,
        "load": os.getloadavg()[0],
        "point": {"ours": stat(t_ours), "bare": stat(t_bare)},
        "boot": {"ours": stat(t_boot), "bare_scaled": stat(t_bare_boot)},
        "max_abs_diff": diffs,
    }


def fmt(s: dict) -> str:
    return f"{s['median']:.2f} s ({s['min']:.2f}–{s['max']:.2f})"


def report(res: dict) -> str:
    pt, bt = res["point"], res["boot"]
    worst = max(res["max_abs_diff"].values())
    return "\n".join(
        [
            f"{res['rows']:,} rows, {res['rounds']} rounds interleaved, load {res['load']:.1f} "
            "(2 cores shared with other jobs)",
            "",
            "| | ModelWard | bare scikit-learn / scipy | ratio |",
            "|---|---|---|---|",
            f"| every metric + Gini, KS, lift, gains, deciles, HL, ECE | {fmt(pt['ours'])} | "
            f"{fmt(pt['bare'])} | {pt['ours']['median'] / pt['bare']['median']:.2f}× |",
            f"| percentile bootstrap of every metric, B={res['n_boot']} | {fmt(bt['ours'])} | "
            f"{fmt(bt['bare_scaled'])} (a loop, timed on {res['k']} resamples, ×{res['n_boot'] / res['k']:.0f}) | "
            f"{bt['ours']['median'] / bt['bare_scaled']['median']:.3f}× |",
            "",
            f"Equality: the largest absolute difference from the bare computation over every "
            f"metric, the gains curve, the band counts, Hosmer–Lemeshow (and its p-value), ECE "
            f"and the intervals over the same {res['k']} resamples is {worst:.1e}.",
        ]
    )


def write_docs(res: dict) -> None:
    text = DOCS.read_text(encoding="utf-8")
    flags = f"--rows {res['rows']} --n-boot {res['n_boot']} --k {res['k']} --rounds {res['rounds']}"
    body = (
        f"{SECTION}\n\n`python bench/bench_credit.py {flags} --write-docs`, "
        f"measured {time.strftime('%d %B %Y')}. Both sides get the same binary predictions "
        "(a score, 20 % events) and one BLAS thread; the point numbers are what "
        "`validate` adds to the scoring (every metric with scikit-learn, then Gini, KS, "
        "lift and gains, deciles, Hosmer–Lemeshow, ECE), the bootstrap is the interval of "
        "every metric. The bare bootstrap is the loop a validator writes (each metric with "
        "scikit-learn / scipy on each resample); ModelWard counts each block of resamples as "
        "a matrix of row weights, so sums are one matrix product and AUC, Gini, KS and "
        "average precision reuse one sort of the scores. The machine was shared (load "
        "below): read the ratios, not the seconds.\n\n"
        f"{report(res)}\n"
    )
    if SECTION in text:
        head, rest = text.split(SECTION, 1)
        nxt = rest.find("\n## ")
        text = head + body + (rest[nxt:] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    DOCS.write_text(text, encoding="utf-8")


def main() -> int:
    warnings.simplefilter("ignore")  # a resample without a decided event: sklearn warns, 0 is right
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100,000 rows, B=100, K=5")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--n-boot", type=int)
    ap.add_argument("--k", type=int, help="resamples of the bare loop")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--write-docs", action="store_true")
    a = ap.parse_args()
    n = a.rows or (100_000 if a.quick else 1_000_000)
    res = run(n, a.n_boot or (100 if a.quick else 500), a.k or (5 if a.quick else 3), a.rounds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "credit.json").write_text(json.dumps(res, indent=2, default=float))
    print(report(res))
    if a.write_docs:
        write_docs(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
