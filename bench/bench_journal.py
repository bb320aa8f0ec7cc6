"""The cost of the journal: 1,000 registrations with it, and the same without it.

Each registration stores a small model file and records a version with five
metrics (``add_version``), with a session held: the fast path, where a fixed
per-commit cost (one JSON line, one fsync) weighs most. Every round runs in a
fresh subprocess and a fresh registry; the modes are interleaved, round by
round. ``MODELWARD_JOURNAL=off`` is the baseline (same code, no journal).
``--before PATH`` adds a third mode: another checkout's ``app`` folder (for
example main before the chain covered the state), so the cost of recording the
state deltas shows too.

    python bench/bench_journal.py --quick          # 200 registrations, 3 rounds
    python bench/bench_journal.py                  # 1,000 registrations, 5 rounds
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP = HERE.parent / "app"

CHILD = r"""
import json, os, sys, time
from modelward.core.registry import Registry
n, home = int(sys.argv[1]), sys.argv[2]
reg = Registry(home, actor="bench")
payloads = [os.urandom(2048) for _ in range(n)]
with reg.session():
    t0 = time.perf_counter()
    for i, data in enumerate(payloads):
        sha, size = reg.artifacts.put_bytes(data)
        reg.add_version("credit", sha256=sha, size=size, format="skops",
                        metrics={"roc_auc": 0.7, "f1": 0.5, "accuracy": 0.8,
                                 "precision": 0.6, "recall": 0.55})
    dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt}))
"""


def run_round(app: Path, journal: str, n: int) -> float:
    with tempfile.TemporaryDirectory(prefix="mw-bench-journal-") as tmp:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(app),
            MODELWARD_JOURNAL=journal,
            OMP_NUM_THREADS="1",
            OPENBLAS_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
        )
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(n), str(Path(tmp) / "reg")],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--registrations", type=int)
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--before", type=Path, help="another checkout's app folder (a third mode)")
    args = ap.parse_args()
    n = args.registrations or (200 if args.quick else 1000)
    rounds = args.rounds or (3 if args.quick else 5)
    modes: dict[str, tuple[Path, str]] = {
        "journal off": (APP, "off"),
        "journal on": (APP, "on"),
        "journal without fsync": (APP, "nosync"),
    }
    if args.before:
        modes["before the chain covered the state"] = (args.before, "off")
    times: dict[str, list[float]] = {m: [] for m in modes}
    for r in range(rounds):
        for m, (app, journal) in modes.items():
            times[m].append(run_round(app, journal, n))
            print(f"round {r + 1}/{rounds} {m}: {times[m][-1]:.2f} s", file=sys.stderr)
    base = statistics.median(times["journal off"])
    result = {
        "registrations": n,
        "rounds": rounds,
        "modes": {
            m: {
                "median_s": statistics.median(t),
                "min_s": min(t),
                "max_s": max(t),
                "per_registration_ms": statistics.median(t) / n * 1000,
                "ratio_to_journal_off": statistics.median(t) / base,
            }
            for m, t in times.items()
        },
    }
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "journal.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
