"""SIGKILL during registration and during a large batch: nothing acknowledged lost, nothing left.

Real processes are killed with SIGKILL at random moments:

* ``log``: a process registering models in a loop with ``api.log_model``;
* ``register``: a ``modelward register FILE`` command;
* ``batch``: a process taking large CSV batches in a loop through the intake
  door (``accept_batch``, the path of a data inbox).

After each kill the registry is started again by a CLI command
(``modelward list``: the first writable open sweeps what dead processes
left), then checked: every acknowledged registration and batch is present
with its bytes, no temporary file is left in the artifact store, and
``modelward verify --min-age 0`` reports no unreferenced (orphan) artifact.

Run: ``python bench/bench_crash.py [--quick] [--kills N] [--rows N] [--write-docs]``
(with the package importable, e.g. ``PYTHONPATH=app``). POSIX only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

SECTION = "## SIGKILL during registration and during a large batch (issue 14)"

LOG_CHILD = textwrap.dedent(
    """
    import sys
    from sklearn.linear_model import LogisticRegression
    from modelward import api
    from modelward.core.registry import Registry
    home, start = sys.argv[1], int(sys.argv[2])
    X = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.2], [0.1, 0.9]]
    y = [0, 1, 1, 0]
    reg = Registry(home)
    i = start
    while True:
        v = api.log_model(LogisticRegression(C=1.0 + i).fit(X, y), "loop", registry=reg)
        print(f"ACK {v.version} {v.sha256}", flush=True)
        i += 1
    """
)

BATCH_CHILD = textwrap.dedent(
    """
    import sys
    from modelward.core.intake import accept_batch
    from modelward.core.registry import Registry
    home, folder, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
    reg = Registry(home)
    i = start
    while True:
        r = accept_batch(reg, f"{folder}/batch{i}.csv", model_name=None)
        print(f"ACK {r.sha256} {r.rows} {r.status}", flush=True)
        i += 1
    """
)


@dataclass
class Tally:
    """What the kills of one kind found after each restart."""

    kind: str
    kills: int = 0
    acknowledged: int = 0
    lost: int = 0
    temp_files: int = 0
    orphans: int = 0
    restart_failed: int = 0
    notes: list[str] = field(default_factory=list)


def _env() -> dict[str, str]:
    app = str(Path(__file__).resolve().parents[1] / "app")
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": app + (os.pathsep + path if path else "")}


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelward", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=timeout,
    )


def write_batches(folder: Path, count: int, rows: int, seed: int = 0) -> None:
    """``count`` CSV batches of ``rows`` rows each, every one with different bytes."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(rows, 3)).round(6)
    body = "\n".join(f"{a},{b},{c}" for a, b, c in base.tolist())
    for i in range(count):
        (folder / f"batch{i}.csv").write_text(f"x,y,z\n{i},0,0\n{body}\n", encoding="utf-8")


def leftovers(home: Path) -> list[str]:
    """Temporary entries left in the artifact store (``.incoming-*``, ``.view-*``)."""
    root = home / "artifacts"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.name.startswith("."))


def restart_and_check(home: Path, acked_versions: dict[int, str], acked_batches: dict[str, int]):
    """Start the registry again with a CLI command; return ``(lost, temp files, orphans, ok)``."""
    from modelward.core.registry import Registry

    start = _cli("list", "--registry", str(home))
    ok = start.returncode == 0 and "Traceback" not in start.stderr
    temp = leftovers(home)
    lost = 0
    reg = Registry(home, busy_timeout=30)
    try:
        if acked_versions:
            have = {v.version: v.sha256 for v in reg.list_versions("loop")}
            for number, sha in acked_versions.items():
                if have.get(number) != sha:
                    lost += 1
                    continue
                reg.artifacts.verify(sha)
        if acked_batches:
            with reg.read() as cur:
                rows = dict(cur.execute("SELECT fingerprint, rows FROM datasets").fetchall())
            for sha, n in acked_batches.items():
                if rows.get(sha) != n or not reg.artifacts.has(sha):
                    lost += 1
    finally:
        reg.close()
    ver = _cli("verify", "--json", "--min-age", "0", "--registry", str(home))
    try:
        doc = json.loads(ver.stdout)
        orphans = len(doc.get("unreferenced", [])) + len(doc.get("recent", []))
        ok = ok and not doc.get("problems")
    except json.JSONDecodeError:
        orphans, ok = -1, False
    return lost, temp, orphans, ok


def _read_acks(child: subprocess.Popen[str], n: int) -> list[list[str]]:
    assert child.stdout is not None
    out = []
    for _ in range(n):
        line = child.stdout.readline()
        if not line.startswith("ACK"):
            raise RuntimeError(f"the child stopped: {line!r}")
        out.append(line.split()[1:])
    return out


def kill_log(
    home: Path, tally: Tally, rng: random.Random, acked: dict[int, str], start: int
) -> int:
    """One kill of an ``api.log_model`` loop at a random moment; returns the next start index."""
    child = subprocess.Popen(
        [sys.executable, "-c", LOG_CHILD, str(home), str(start)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
    )
    n = rng.randint(1, 3)
    for number, sha in _read_acks(child, n):
        acked[int(number)] = sha
    time.sleep(rng.uniform(0.0, 0.3))  # somewhere inside the next registration
    child.send_signal(signal.SIGKILL)
    child.wait()
    return start + n + 1


def kill_register(home: Path, files: Path, tally: Tally, rng: random.Random, i: int) -> None:
    """One ``modelward register`` command killed at a random moment of its run."""
    import joblib
    from sklearn.linear_model import LogisticRegression

    path = files / f"reg{i}.joblib"
    joblib.dump(LogisticRegression(C=100.0 + i), path)
    child = subprocess.Popen(
        [sys.executable, "-m", "modelward", "register", str(path), "--name", "cli"]
        + ["--registry", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
    )
    time.sleep(rng.uniform(0.2, 3.0))  # start-up, sandbox, recording: the whole command
    child.send_signal(signal.SIGKILL)
    child.wait()
    out = child.stdout.read() if child.stdout else ""
    if child.returncode == 0 and "registered" in out:
        tally.notes.append(f"register {i} finished before the kill")


def kill_batch(
    home: Path,
    folder: Path,
    tally: Tally,
    rng: random.Random,
    acked: dict[str, int],
    start: int,
    per_batch: float,
) -> int:
    """One kill of a loop taking large batches, at a random moment; returns the next index."""
    child = subprocess.Popen(
        [sys.executable, "-c", BATCH_CHILD, str(home), str(folder), str(start)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
    )
    n = rng.randint(0, 1)
    for sha, rows, _status in _read_acks(child, n):
        acked[sha] = int(rows)
    time.sleep(rng.uniform(0.0, per_batch))
    child.send_signal(signal.SIGKILL)
    child.wait()
    return start + n + 1


def run(
    kills: int, rows: int, seed: int, verbose: bool = False, budget: float | None = None
) -> list[Tally]:
    """``kills`` SIGKILLs, shared between the three kinds; the tallies per kind.

    With ``budget`` (seconds), stops after the kill that passes it: the
    tallies say how many kills were actually done.
    """
    began = time.perf_counter()
    rng = random.Random(seed)
    tallies = {k: Tally(k) for k in ("log", "register", "batch")}
    plan = [("log", "register", "batch")[i % 3] for i in range(kills)]
    with tempfile.TemporaryDirectory(prefix="mw-crash-") as tmp:
        root = Path(tmp)
        home = root / "reg"
        files = root / "files"
        files.mkdir()
        batches = root / "batches"
        n_batches = sum(k == "batch" for k in plan) * 2 + 2
        write_batches(batches, n_batches, rows, seed)
        # How long one batch takes here: kills land anywhere inside one.
        t0 = time.perf_counter()
        warm = _cli("list", "--registry", str(home))
        assert warm.returncode == 0, warm.stderr
        from modelward.core.intake import accept_batch
        from modelward.core.registry import Registry

        reg = Registry(home)
        probe = root / "probe.csv"
        probe.write_text((batches / "batch0.csv").read_text().replace("x,y,z\n0,", "x,y,z\n-1,"))
        t0 = time.perf_counter()
        accept_batch(reg, probe, model_name=None)
        per_batch = time.perf_counter() - t0
        reg.close()
        acked_versions: dict[int, str] = {}
        acked_batches: dict[str, int] = {}
        log_start = batch_start = 0
        for i, kind in enumerate(plan):
            if budget is not None and time.perf_counter() - began > budget:
                print(f"time budget spent after {i} kills", flush=True)
                break
            t = tallies[kind]
            if kind == "log":
                log_start = kill_log(home, t, rng, acked_versions, log_start)
            elif kind == "register":
                kill_register(home, files, t, rng, i)
            else:
                batch_start = kill_batch(
                    home, batches, t, rng, acked_batches, batch_start, per_batch * 1.5
                )
                if batch_start >= n_batches:
                    batch_start = 0  # the same bytes again: a duplicate, still acknowledged
            t.kills += 1
            lost, temp, orphans, ok = restart_and_check(home, acked_versions, acked_batches)
            t.lost += lost
            t.temp_files += len(temp)
            t.orphans += max(orphans, 0)
            t.restart_failed += int(not ok)
            if verbose or lost or temp or orphans or not ok:
                print(
                    f"kill {i + 1:>3} ({kind:<8}): lost {lost}, temp {temp}, orphans {orphans}, "
                    f"restart {'ok' if ok else 'FAILED'}",
                    flush=True,
                )
            if orphans > 0:
                # Counted; cleaned so the next kill's count is its own.
                _cli("verify", "--repair", "--min-age", "0", "--registry", str(home))
        tallies["log"].acknowledged = len(acked_versions)
        tallies["batch"].acknowledged = len(acked_batches)
    return list(tallies.values())


def _table(tallies: list[Tally], rows: int) -> list[str]:
    out = [
        "| killed during | kills | acknowledged | lost | temp files left | orphan artifacts | "
        "restart failed |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    what = {
        "log": "`api.log_model` loop",
        "register": "`modelward register` command",
        "batch": f"`accept_batch` loop ({rows:,}-row CSV batches)",
    }
    for t in tallies:
        ack = str(t.acknowledged) if t.kind != "register" else "–"
        out.append(
            f"| {what[t.kind]} | {t.kills} | {ack} | {t.lost} | {t.temp_files} | {t.orphans} | "
            f"{t.restart_failed} |"
        )
    total = sum(t.kills for t in tallies)
    out.append(
        f"| **all** | **{total}** | | **{sum(t.lost for t in tallies)}** | "
        f"**{sum(t.temp_files for t in tallies)}** | **{sum(t.orphans for t in tallies)}** | "
        f"**{sum(t.restart_failed for t in tallies)}** |"
    )
    return out


def write_docs(tallies: list[Tally], rows: int, seconds: float, quick: bool) -> None:
    doc = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    total = sum(t.kills for t in tallies)
    body = [
        SECTION,
        "",
        f"`python bench/bench_crash.py{' --quick' if quick else ''} --write-docs`: "
        f"{total} SIGKILLs actually done ({seconds / 60:.1f} min on the shared 2-core machine), "
        "at random moments of real processes. After each kill the registry is started again "
        "by a CLI command (`modelward list`), then checked: every acknowledged registration "
        "and batch present with its bytes, temporary files left in the artifact store, and "
        "`modelward verify --min-age 0` for unreferenced (orphan) artifacts.",
        "",
        *_table(tallies, rows),
        "",
        "Acknowledged: the registration or batch was reported back to the caller before the "
        "kill (a killed `modelward register` command acknowledges nothing; what it recorded "
        "must still be whole).",
        "",
    ]
    start = text.find(SECTION)
    if start >= 0:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + "\n".join(body) + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(body)
    doc.write_text(text, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 kills, 20,000-row batches")
    ap.add_argument("--kills", type=int, help="SIGKILLs in all (default 100; quick 10)")
    ap.add_argument("--rows", type=int, help="rows per batch (default 200,000)")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument(
        "--max-minutes", type=float, help="stop after this long (the kills done are reported)"
    )
    args = ap.parse_args()
    if os.name != "posix":
        print("SIGKILL is POSIX: run this on Linux or macOS", file=sys.stderr)
        return 2
    kills = args.kills or (10 if args.quick else 100)
    rows = args.rows or (20_000 if args.quick else 200_000)
    t0 = time.perf_counter()
    budget = args.max_minutes * 60 if args.max_minutes else None
    tallies = run(kills, rows, args.seed, args.verbose, budget)
    seconds = time.perf_counter() - t0
    print("\n".join(_table(tallies, rows)))
    print(f"{sum(t.kills for t in tallies)} kills in {seconds:.0f} s")
    if args.write_docs:
        write_docs(tallies, rows, seconds, args.quick)
    bad = sum(t.lost + t.temp_files + t.orphans + t.restart_failed for t in tallies)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
