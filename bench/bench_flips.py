"""Byte flips and truncations of the log and the database after acknowledged writes.

A registry gets 10 versions that are checkpointed into the database file and
then 10 more that are acknowledged (the call returned) but live only in the
write-ahead log: the writer process ends without closing (as a killed process
does). Each trial copies that registry, then flips one byte or truncates, at a
random offset, the WAL or the database file, and opens it in a fresh process:
``Registry(home)`` (the startup recovery and the replay from the journal),
then the acknowledged versions are looked up and ``verify`` runs. The trials run
one after another in one worker process (restarted if a damaged file kills it).

Each trial ends as one of:

- ``intact``: every acknowledged version is there and verify passes;
- ``recovered``: every acknowledged version is there after a recovery (replayed
  from the journal), and the recovery is recorded;
- ``named``: something is missing or wrong and the user is told what: the open
  fails with a message, or the recovery names what it lost, or verify fails;
- ``silent``: an acknowledged version is missing and nothing says so. The figure is the count of these.

    python bench/bench_flips.py --quick        # 40 trials
    python bench/bench_flips.py                # 200 trials
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP = HERE.parent / "app"

BUILD = r"""
import json, os, sys
from modelward.core.registry import Registry
home, first = sys.argv[1], sys.argv[2] == "1"
reg = Registry(home, actor="bench")
acked = []
with reg.session():
    if not first:
        reg._con.execute("PRAGMA disable_checkpoint_on_shutdown")
        reg._con.execute("SET checkpoint_threshold = '1GB'")
    for i in range(10):
        sha, n = reg.artifacts.put_bytes(os.urandom(512))
        reg.add_version("credit", sha256=sha, size=n, format="skops", metrics={"auc": i / 10})
        acked.append(sha)
    print(json.dumps(acked), flush=True)
    if not first:
        os._exit(0)  # a killed writer: no close, no checkpoint
"""

WORKER = r"""
import json, sys
from modelward.core.errors import ModelWardError
from modelward.core.registry import Registry
from modelward.core.evidence.backup import verify_registry


def trial(home, acked):
    out = {}
    try:
        reg = Registry(home, actor="bench")
    except ModelWardError as e:
        return {"open_error": str(e)[:200]}
    except Exception as e:
        return {"open_error": "unexpected: " + repr(e)[:200]}
    try:
        rec = reg.recovered or {}
        out["replayed"] = len(rec.get("replayed") or [])
        out["lost_named"] = sum(len(x.get("events") or []) for x in rec.get("lost") or [])
        try:
            with reg.read() as cur:
                have = {r[0] for r in cur.execute("SELECT sha256 FROM versions").fetchall()}
            out["missing"] = len(acked - have)
        except Exception as e:
            out["read_error"] = repr(e)[:200]
        try:
            v = verify_registry(reg)
            out["verify_ok"] = v["ok"]
            out["problems"] = v["problems"][:3]
        except Exception as e:
            out["verify_error"] = repr(e)[:200]
        out["loss_file"] = reg.unacknowledged_loss() is not None
    finally:
        reg.close()
    return out


for line in sys.stdin:
    home, acked = json.loads(line)
    print(json.dumps(trial(home, set(acked))), flush=True)
"""


class Worker:
    """One process that runs the trials in turn (restarted if a damaged file kills it)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def run(self, home: Path, acked: list[str]) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env=_env(),
            )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps([str(home), acked]) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            self.proc = None
            return {"open_error": f"the process ended with {code}"}
        return dict(json.loads(line))

    def close(self) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()
            self.proc.wait()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(APP), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return env


def build(home: Path) -> list[str]:
    acked: list[str] = []
    for first in ("1", "0"):
        out = subprocess.run(
            [sys.executable, "-c", BUILD, str(home), first],
            capture_output=True,
            text=True,
            env=_env(),
            check=True,
        )
        acked += json.loads(out.stdout.strip().splitlines()[-1])
    return acked


def classify(res: dict) -> str:
    if "open_error" in res or "read_error" in res or "verify_error" in res:
        return "named"
    missing = res.get("missing", 0)
    told = res.get("lost_named", 0) > 0 or not res.get("verify_ok", True) or res.get("loss_file")
    if missing:
        return "named" if told else "silent"
    if told:
        return "named"
    return "recovered" if res.get("replayed") else "intact"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--trials", type=int)
    ap.add_argument("--seed", type=int, default=16)
    args = ap.parse_args()
    trials = args.trials or (40 if args.quick else 200)
    rnd = random.Random(args.seed)
    kinds = ["wal flip", "wal truncate", "db flip", "db truncate"]
    tally: dict[str, collections.Counter[str]] = {k: collections.Counter() for k in kinds}
    silent: list[dict] = []
    samples: dict[str, list[dict]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory(prefix="mw-flips-") as tmp:
        template = Path(tmp) / "template"
        acked = build(template)
        wal_size = (template / "registry.duckdb.wal").stat().st_size
        db_size = (template / "registry.duckdb").stat().st_size
        worker = Worker()
        for t in range(trials):
            kind = kinds[t % len(kinds)]
            home = Path(tmp) / "trial"
            shutil.rmtree(home, ignore_errors=True)
            shutil.copytree(template, home)
            target = home / ("registry.duckdb.wal" if kind.startswith("wal") else "registry.duckdb")
            size = wal_size if kind.startswith("wal") else db_size
            pos = rnd.randrange(size)
            data = bytearray(target.read_bytes())
            if kind.endswith("flip"):
                data[pos] ^= 1 << rnd.randrange(8)
            else:
                del data[pos:]
            target.write_bytes(bytes(data))
            res = worker.run(home, acked)
            verdict = classify(res)
            tally[kind][verdict] += 1
            if verdict == "silent":
                silent.append({"kind": kind, "offset": pos, **res})
            if len(samples[kind]) < 3 and verdict != "intact":
                samples[kind].append({"offset": pos, "verdict": verdict, **res})
            print(f"{t + 1}/{trials} {kind} @{pos}: {verdict}", file=sys.stderr)
        worker.close()
    result = {
        "trials": trials,
        "acknowledged_versions": len(acked),
        "in_wal_only": 10,
        "wal_bytes": wal_size,
        "db_bytes": db_size,
        "by_kind": {k: dict(v) for k, v in tally.items()},
        "silent_losses": len(silent),
        "silent": silent,
        "samples": samples,
    }
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "flips.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
