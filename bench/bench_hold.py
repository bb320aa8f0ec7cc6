"""A held registry against one released after every call: alias lookups, count + first page.

In one process, over a registry of ``--versions`` versions (made with
``bulk_add_versions``), rounds interleaved:

- ``NAME@champion`` resolved on a registry held between calls (the notebook
  API, the window, ``watch``: ``idle_release=HOLD``) and on one that closes the
  file after every call (``idle_release=0``: a reopen per lookup);
- count + first page of 100 (``name:credit roc_auc>0.9``), the same two ways,
  as the table and ``modelward list`` read it (``query.first_page``: one
  statement for the count and the page); on the held registry also as two
  calls (``count_rows`` then ``fetch_page``), for comparison.

    python bench/bench_hold.py --quick      # 20,000 versions
    python bench/bench_hold.py              # 100,000 versions
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_list import fill  # noqa: E402

from modelward.core import query  # noqa: E402
from modelward.core.registry import Registry  # noqa: E402
from modelward.core.registry.connection import HOLD  # noqa: E402


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--versions", type=int)
    args = ap.parse_args()
    n = args.versions or (20_000 if args.quick else 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "reg"
        home.mkdir()
        fill(home, n)
        setup = Registry(home)
        setup.set_alias("credit-000000:1", "champion", reason="bench")
        setup.close()
        held = Registry(home, idle_release=HOLD)
        released = Registry(home)  # idle_release=0: closes the file after every call
        spec = query.TableSpec(
            filter=query.parse_search("name:credit roc_auc>0.9"),
            metric_keys=("roc_auc",),
            sort="metric:roc_auc",
            descending=True,
        )
        res: dict[str, list[float]] = {k: [] for k in ("alias held", "alias released",
                                                       "page held", "page released",
                                                       "two held")}  # fmt: skip

        def page(reg: Registry) -> None:
            query.first_page(reg, spec, 100)

        def two(reg: Registry) -> None:
            query.count_rows(reg, spec)
            query.fetch_page(reg, spec, 0, 100)

        for _ in range(5):
            res["alias held"] += timed(lambda: held.resolve("credit-000000@champion"), 40)
            res["page held"] += timed(lambda: page(held), 4)
            res["two held"] += timed(lambda: two(held), 4)
            # One process shares one DuckDB database: the held one lets go first.
            held.close()
            res["alias released"] += timed(lambda: released.resolve("credit-000000@champion"), 8)
            res["page released"] += timed(lambda: page(released), 2)
            held.resolve("credit-000000@champion")  # hold it again
        held.close()
    load = os.getloadavg()[0]
    print(f"{n:,} versions, load {load:.1f}, 5 interleaved rounds:\n")
    print("| operation | held (HOLD) median (min–max) | released after every call |")
    print("|---|---|---|")
    for op in ("alias", "page"):
        cells = []
        for how in ("held", "released"):
            xs = [x * 1000 for x in res[f"{op} {how}"]]
            cells.append(f"{statistics.median(xs):.2f} ms ({min(xs):.2f}–{max(xs):.2f})")
        what = "`NAME@champion` resolved" if op == "alias" else "count + first page of 100"
        print(f"| {what} | {cells[0]} | {cells[1]} |")
    xs = [x * 1000 for x in res["two held"]]
    print(
        f"| count, then first page of 100 (two calls) | {statistics.median(xs):.2f} ms "
        f"({min(xs):.2f}–{max(xs):.2f}) | — |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
