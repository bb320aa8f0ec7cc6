"""How long another process waits for the registry while a window is in use.

    python bench/bench_knock.py [--runs 10]

A window-like process keeps its connection between reads (idle release 30 s)
and reads every 20 ms, so it is never idle. CLI-like processes, one after
another, open the registry and move an alias. Baseline: the same processes
with no reader, in the same run. Without the knock (see
``core/registry/registry.py``) the busy case never gets in: it fails after its
busy timeout.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from modelward.core.intake import accept_model_file
from modelward.core.registry import Registry  # noqa: E402
from support.models import write_joblib  # noqa: E402

READER = textwrap.dedent(
    """
    import sys, time
    from modelward.core.registry import Registry
    reg = Registry(sys.argv[1], idle_release=30.0)
    print("reading", flush=True)
    while True:
        reg.list_versions()
        time.sleep(0.02)
    """
)
WRITER = textwrap.dedent(
    """
    import sys, time
    from modelward.core.registry import Registry
    t0 = time.perf_counter()
    reg = Registry(sys.argv[1])
    t1 = time.perf_counter()
    reg.set_alias(sys.argv[2], "champion", reason="bench")
    print(f"{t1 - t0:.4f} {time.perf_counter() - t0:.4f}")
    """
)


def writers(home: Path, runs: int, *, busy: bool) -> list[tuple[float, float]]:
    """(seconds to open, seconds to open + move an alias) per writer process."""
    reader = None
    if busy:
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(home)], stdout=subprocess.PIPE, text=True
        )
        assert reader.stdout is not None and reader.stdout.readline().strip() == "reading"
    out = []
    try:
        for _ in range(runs):
            res = subprocess.run(
                [sys.executable, "-c", WRITER, str(home), "m:1"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            if res.returncode != 0:
                raise SystemExit(f"writer failed: {res.stderr.strip()}")
            opened, total = (float(x) for x in res.stdout.split())
            out.append((opened, total))
    finally:
        if reader is not None:
            reader.kill()
            reader.wait()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    runs = ap.parse_args().runs
    with tempfile.TemporaryDirectory() as t:
        home = Path(t) / "reg"
        reg = Registry(home)
        accept_model_file(reg, write_joblib(Path(t) / "m.joblib"), name="m")
        reg.close()
        alone = writers(home, runs, busy=False)
        busy = writers(home, runs, busy=True)

    def ms(xs: list[float]) -> str:
        return f"median {1000 * statistics.median(xs):.0f} ms, max {1000 * max(xs):.0f} ms"

    print("| Another process … | open | open + move an alias |")
    print("|---|---|---|")
    for what, rows in (("alone (baseline)", alone), ("while a window reads every 20 ms", busy)):
        print(f"| {what} | {ms([r[0] for r in rows])} | {ms([r[1] for r in rows])} |")


if __name__ == "__main__":
    main()
