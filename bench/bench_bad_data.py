"""The bad-data corpus through every data path: nothing bad gets in quietly.

Writes the corpus of ``tests/support/bad_data.py`` into a temporary folder,
trains a champion on a sound file, then presents every file to a real watched
data inbox and to ``modelward train``, ``drift``, ``monitor`` and ``score``
as real processes, and prints per path: files, silently accepted, tracebacks,
raw warnings, not one sentence, rows committed from refused batches, refusals
recorded once in the audit trail (``input.refused``, or a training run's
``run.failed``; ``drift`` works without a registry), and (inbox) audit events
against files presented.

Run: ``python bench/bench_bad_data.py [--workers 3] [--verbose]``
(with the package importable, e.g. ``PYTHONPATH=app``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.bad_data import (  # noqa: E402
    AUDITED,
    PATHS,
    run_inbox,
    run_subprocess_paths,
    setup_registry,
    write_corpus,
    write_good,
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=3, help="processes run at once")
    ap.add_argument("--verbose", action="store_true", help="print every verdict")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        good = write_good(root / "good.csv")
        files = write_corpus(root / "corpus")
        home = root / "home"
        setup_registry(home, good)
        t0 = time.perf_counter()
        inbox, events = run_inbox(home, root / "corpus", files)
        t_inbox = time.perf_counter() - t0
        t0 = time.perf_counter()
        procs = run_subprocess_paths(home, good, root / "corpus", files, workers=args.workers)
        t_procs = time.perf_counter() - t0
    outcomes = inbox + procs
    print(f"corpus: {len(files)} bad data files; inbox {t_inbox:.1f} s, processes {t_procs:.1f} s")
    print("load average at the end: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    head = f"{'path':<8} {'files':>5} {'refused':>7} {'flagged/ok':>10} {'silent':>6} "
    head += f"{'traceback':>9} {'warning':>7} {'not 1 line':>10} {'committed':>9} {'audited':>7}"
    print(head)
    for path in PATHS:
        rows = [o for o in outcomes if o.path == path]
        print(
            f"{path:<8} {len(rows):>5} {sum(not o.accepted for o in rows):>7} "
            f"{sum(o.accepted for o in rows):>10} {sum(o.silent for o in rows):>6} "
            f"{sum(o.traceback for o in rows):>9} {sum(o.warning for o in rows):>7} "
            f"{sum(not o.one_sentence for o in rows):>10} {sum(o.committed for o in rows):>9} "
            # refusals recorded once each (input.refused, or a training run's run.failed)
            + (
                f"{sum(o.audited == 1 for o in rows if not o.accepted):>7}"
                if path in AUDITED
                else "      -"
            )
        )
    refused = sum(not o.accepted for o in inbox)
    print(
        f"inbox audit: {events} ingest.rejected events for {refused} refused files "
        f"({len(files)} files presented, {len(files) - refused} taken as datasets)"
    )
    if args.verbose:
        for o in outcomes:
            verdict = "taken" if o.accepted else "refused"
            print(f"  {o.path:<8} {o.file:<34} {verdict:<8} {o.message[:150]}")
    bad = [o for o in outcomes if o.silent or o.traceback or o.warning or not o.one_sentence]
    bad += [o for o in outcomes if o.committed]
    bad += [o for o in outcomes if o.path in AUDITED and not o.accepted and o.audited != 1]
    return 1 if bad or events != refused else 0


if __name__ == "__main__":
    raise SystemExit(main())
