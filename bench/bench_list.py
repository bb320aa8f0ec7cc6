"""`modelward list --filter` over 100,000 versions, as a whole process, against a floor.

What it measures, in one run with rounds interleaved:

- A: ``modelward list --filter "name:credit roc_auc>0.9" --sort=-roc_auc --limit 100``
  as a real subprocess (start-up, opening the registry, count, one page, printing);
- B: the floor, a subprocess that imports duckdb, opens the same file read-only
  and runs the same statement (the page of ids with the count of all matches,
  ``page_sql(..., with_total=True)``) on a bare cursor;
- B': the same floor importing DuckDB's engine module alone (``_duckdb``), as
  ModelWard's registry does since session 10 (the package's Python layer is
  about 100 ms of import);
- C, D and D', for the floors' own parts: ``python -c pass``,
  ``python -c "import duckdb"`` and ``python -c "import _duckdb"``.

Both start a fresh Python; the ratio A/B is what ModelWard's CLI adds to the
bare work. The registry is filled by ``bulk_add_versions`` (columnar). Both
run with bytecode caches (in a temporary ``PYTHONPYCACHEPREFIX``), as an
installed package does, and the CPU time of each process (user + system) is
printed beside its wall time: on a loaded machine the wall time mostly says
how long the process waited for a core.

    python bench/bench_list.py --quick          # 20,000 versions, 5 rounds
    python bench/bench_list.py --write-docs     # 100,000 versions, 11 rounds
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from modelward.core import query  # noqa: E402
from modelward.core.registry import Registry  # noqa: E402
from modelward.core.registry.bulk import bulk_add_versions  # noqa: E402

FILTER = "name:credit roc_auc>0.9"
FLOOR = r"""
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True, config={"autoinstall_known_extensions": False})
page_sql = sys.argv[2]
params = [p for p in sys.argv[3:]]
rows = con.execute(page_sql, params).fetchall()
print(rows[0][-1] if rows else 0, len(rows))
"""
FLOOR_ENGINE = FLOOR.replace("import sys, duckdb", "import sys, _duckdb as duckdb")
assert FLOOR_ENGINE != FLOOR


def fill(home: Path, n: int) -> None:
    reg = Registry(home)
    shas = []
    for i in range(4):
        p = home.parent / f"a{i}.bin"
        p.write_bytes(b"artifact %d" % i)
        shas.append(reg.artifacts.put_file(p)[0])
    names = ("credit", "churn", "fraud")
    recs = [
        {
            "name": f"{names[(i // 4) % 3]}-{i // 4:06d}",
            "sha256": shas[i % 4],
            "size": 10,
            "format": "skops",
            "metrics": {"roc_auc": (i % 1000) / 1000, "accuracy": (i % 97) / 97},
        }
        for i in range(n)
    ]
    bulk_add_versions(reg, recs)
    reg.close()


def floor_statement() -> tuple[str, list[str]]:
    """The page-and-count SQL the CLI runs, with the filter's bound values."""
    flt = query.parse_search(FILTER)
    spec = query.TableSpec(
        filter=flt, metric_keys=("roc_auc",), sort="metric:roc_auc", descending=True
    )
    page, params = query.page_sql(spec, 100, 0, with_total=True)
    # page_sql binds the sort's metric key first, then the filter's values
    assert params[0] == "roc_auc"
    page = page.replace("mx0.key = ?", "mx0.key = 'roc_auc'", 1)
    return page, [str(p) for p in flt.params]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of ``cmd``."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed: {proc.stderr[-500:]}")
    return dt, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--versions", type=int)
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    n = args.versions or (20_000 if args.quick else 100_000)
    rounds = args.rounds or (5 if args.quick else 11)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "app"), OMP_NUM_THREADS="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as tmp:
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        home = Path(tmp) / "reg"
        home.mkdir()
        fill(home, n)
        page_sql, params = floor_statement()
        db = str(home / "registry.duckdb")
        cli = [
            sys.executable,
            "-m",
            "modelward",
            "list",
            "--registry",
            str(home),
            "--filter",
            FILTER,
            "--sort=-roc_auc",
            "--limit",
            "100",
        ]
        floor = [sys.executable, "-c", FLOOR, db, page_sql, *params]
        engine_floor = [sys.executable, "-c", FLOOR_ENGINE, db, page_sql, *params]
        commands = {
            "`modelward list --filter …`": cli,
            "floor: python + duckdb, the same statement": floor,
            "floor: python + DuckDB's engine module alone (`_duckdb`, as ModelWard reads)": (
                engine_floor
            ),
            "`python -c pass`": [sys.executable, "-c", "pass"],
            "`python -c 'import duckdb'`": [sys.executable, "-c", "import duckdb"],
            "`python -c 'import _duckdb'`": [sys.executable, "-c", "import _duckdb"],
        }
        for cmd in (cli, floor, engine_floor):
            timed(cmd, env)  # warm the page cache and the bytecode
        walls: dict[str, list[float]] = {k: [] for k in commands}
        cpus: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(rounds):
            for name, cmd in commands.items():
                wall, cpu = timed(cmd, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
    names = list(commands)
    a, b, e = (walls[names[i]] for i in range(3))
    a_cpu, b_cpu, e_cpu = (cpus[names[i]] for i in range(3))

    def ratio_row(
        name: str, xs: list[float], ys: list[float], xc: list[float], yc: list[float]
    ) -> str:
        r = [x / y for x, y in zip(xs, ys, strict=True)]
        rc = [x / y for x, y in zip(xc, yc, strict=True)]
        return (
            f"| {name} | {statistics.median(r):.2f}× | {min(r):.2f}–{max(r):.2f}× "
            f"| {statistics.median(rc):.2f}× | {min(rc):.2f}–{max(rc):.2f}× |"
        )

    def row(name: str, xs: list[float], unit: str = "ms", k: float = 1000) -> str:
        return (
            f"| {name} | {statistics.median(xs) * k:.0f} {unit} "
            f"| {min(xs) * k:.0f}–{max(xs) * k:.0f} |"
        )

    load = os.getloadavg()[0]
    lines = [
        f"`list --filter {FILTER!r} --sort=-roc_auc --limit 100` over {n:,} versions, "
        f"{rounds} interleaved rounds, load {load:.1f} at the end:",
        "",
        "| whole process | wall median | wall min–max | CPU median | CPU min–max |",
        "|---|---|---|---|---|",
        *(row(k, walls[k]) + row("", cpus[k])[4:] for k in names[:3]),
        ratio_row("ratio to the duckdb floor (pair by pair)", a, b, a_cpu, b_cpu),
        ratio_row("ratio to the engine floor (pair by pair)", a, e, a_cpu, e_cpu),
        *(row(k, walls[k]) + row("", cpus[k])[4:] for k in names[3:]),
    ]
    print("\n".join(lines))
    if args.write_docs:
        docs = ROOT / "docs" / "benchmarks.md"
        text = docs.read_text(encoding="utf-8")
        head = "## `list --filter` as a whole process"
        body = head + "\n\nMeasured by `bench/bench_list.py`.\n\n" + "\n".join(lines) + "\n"
        if head in text:
            start = text.index(head)
            end = text.find("\n## ", start + len(head))
            text = text[:start] + body + (text[end:] if end != -1 else "")
        else:
            text = text.rstrip("\n") + "\n\n" + body
        docs.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
