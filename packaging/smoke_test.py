"""Smoke-test a built bundle: ``python packaging/smoke_test.py [dist/modelward/modelward]``.

Runs the frozen executable the way a user would, in a temporary registry:
``--version``, ``selftest`` (registry, parallel fit in loky worker processes,
window offscreen), ``register`` of a joblib model file made here, ``show
--json``, ``list --json``, ``audit verify``, ``train`` from a CSV made here
(cross-validation in 2 worker processes), the ``--smoke`` window, and checks
that worker arguments it does not know are refused cleanly. Any failure prints
the command with its output and exits 1. Needs numpy, scikit-learn and joblib
in the Python that runs it (to make the model file), not in the bundle's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EXE = ROOT / "dist" / "modelward" / ("modelward.exe" if os.name == "nt" else "modelward")


class SmokeFailure(Exception):
    pass


def run(
    exe: Path, *args: str, expect: int = 0, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    t0 = time.perf_counter()
    res = subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    dt = time.perf_counter() - t0
    shown = " ".join(args)
    ok = res.returncode == expect and "Traceback" not in res.stderr + res.stdout
    print(f"[{'ok' if ok else 'FAIL'}] modelward {shown[:90]}  (exit {res.returncode}, {dt:.1f} s)")
    if not ok:
        raise SmokeFailure(
            f"`modelward {shown}` exited {res.returncode} (expected {expect})\n"
            f"--- stdout\n{res.stdout}\n--- stderr\n{res.stderr}"
        )
    return res


def make_model(path: Path) -> None:
    import joblib
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = (X[:, 0] > 0).astype(int)
    joblib.dump(RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y), path)


def make_csv(path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    with open(path, "w", encoding="utf-8") as f:
        f.write("a,b,colour,y\n")
        for _ in range(200):
            a, b = rng.normal(size=2)
            colour = rng.choice(["red", "blue"])
            f.write(f"{a:.4f},{b:.4f},{colour},{int(a + b > 0)}\n")


def smoke(exe: Path) -> None:
    if not exe.is_file():
        raise SmokeFailure(f"no bundle at {exe}: build it first (packaging/build.sh)")
    with tempfile.TemporaryDirectory(prefix="modelward-smoke-") as tmpdir:
        tmp = Path(tmpdir)
        env = dict(os.environ)
        env["QT_QPA_PLATFORM"] = "offscreen"
        env["MODELWARD_HOME"] = str(tmp / "default-home")  # never the user's own
        env["HOME"] = str(tmp / "home")  # platformdirs, Qt settings, caches
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONHOME", None)
        reg = str(tmp / "registry")

        res = run(exe, "--version", env=env)
        if not res.stdout.startswith("modelward "):
            raise SmokeFailure(f"--version printed {res.stdout!r}")

        res = run(exe, "selftest", env=env, timeout=600)
        print("    " + res.stdout.strip().replace("\n", "\n    "))
        if "parallel-fit" not in res.stdout or "window" not in res.stdout:
            raise SmokeFailure("selftest skipped a check")

        model = tmp / "forest.joblib"
        make_model(model)
        res = run(
            exe, "register", str(model), "--name", "smoke", "--registry", reg, "--json", env=env
        )
        registered = json.loads(res.stdout)
        # The estimator class comes from the sandboxed inspection worker
        # (`<exe> --mw-worker inspect`): it ran inside the bundle.
        if registered.get("estimator_class", "").rsplit(".", 1)[-1] != "RandomForestClassifier":
            raise SmokeFailure(f"register did not describe the model: {registered}")
        if registered.get("status") != "ok":
            raise SmokeFailure(f"register gave status {registered.get('status')}")
        res = run(exe, "show", "smoke", "--registry", reg, "--json", env=env)
        shown = json.loads(res.stdout)
        for key in ("sha256", "version", "format"):
            if shown.get(key) != registered.get(key):
                raise SmokeFailure(f"show and register disagree on {key}: {shown} vs {registered}")
        res = run(exe, "list", "--registry", reg, "--json", env=env)
        if len(json.loads(res.stdout)["versions"]) != 1:
            raise SmokeFailure(f"list shows {res.stdout}")
        res = run(exe, "audit", "verify", "--registry", reg, env=env)
        if "intact" not in res.stdout:
            raise SmokeFailure(f"audit verify printed {res.stdout!r}")

        # Training reads the CSV (DuckDB, pandas) and cross-validates in loky
        # worker processes of the bundle.
        data = tmp / "train.csv"
        make_csv(data)
        res = run(
            exe, "train", "--data", str(data), "--target", "y",
            "--estimator", "LogisticRegression", "--name", "trained",
            "--split", "kfold", "--folds", "3", "--n-jobs", "2",
            "--registry", reg, "--json", env=env, timeout=600,
        )  # fmt: skip
        trained = json.loads(res.stdout)
        if not trained.get("metrics", {}).get("accuracy", 0) > 0.8:
            raise SmokeFailure(f"training gave {trained.get('metrics')}")
        res = run(exe, "list", "--registry", reg, "--json", env=env)
        if len(json.loads(res.stdout)["versions"]) != 2:
            raise SmokeFailure(f"list after training shows {res.stdout}")

        run(exe, "--smoke", "--registry", reg, env=env, timeout=120)

        # The frozen app is not a Python interpreter for anything but its workers.
        run(exe, "--mw-worker", "no-such-worker", expect=2, env=env)
        run(exe, "-c", "print('hello')", expect=2, env=env)
        run(exe, "-m", "http.server", expect=2, env=env)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    exe = Path(args[0]).resolve() if args else DEFAULT_EXE
    t0 = time.perf_counter()
    try:
        smoke(exe)
    except (SmokeFailure, subprocess.TimeoutExpired) as e:
        print(f"SMOKE TEST FAILED: {e}", file=sys.stderr)
        return 1
    print(f"smoke test passed ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
