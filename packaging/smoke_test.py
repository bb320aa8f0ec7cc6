"""Smoke-test a built bundle: ``python packaging/smoke_test.py [dist/modelward/modelward]``.

Runs the frozen executable the way a user would, in a temporary registry:
``--version``, ``selftest`` (registry, parallel fit in loky worker processes,
window offscreen), ``register`` of a joblib model file made here, ``show
--json``, ``list --json``, ``audit verify``, ``train`` from a CSV made here
(cross-validation in 2 worker processes), ``score`` of that CSV to CSV and
Parquet with the trained version, ``drift`` of the CSV against itself, the
``--smoke`` window (its time to first paint is printed), and checks that worker
arguments it does not know are refused cleanly. ``--demo`` adds ``demo
--no-gui`` (the demo workspace, its report and screenshots) and a ``score``
and ``drift`` on the demo's hold-out. ``--extras xgboost,lightgbm,catboost,onnx``
checks a bundle built with those optional model libraries
(``MODELWARD_BUNDLE_EXTRAS``): a model of each kind, saved natively here, is
registered (loaded in the bundle's sandbox worker) and scores the CSV; for
``onnx`` the trained version is converted with ``convert --to onnx`` (skl2onnx
and onnxruntime in the bundle) and the ONNX version scores it. Any failure
prints the command with its output and exits 1. Needs numpy, scikit-learn and
joblib in the Python that runs it (to make the model file), not in the
bundle's, and the library of each extra checked.

    python packaging/smoke_test.py [EXE] [--demo] [--extras xgboost,onnx]
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
        for _ in range(400):  # a drift reference needs 300 rows (3 chunks of 100)
            a, b = rng.normal(size=2)
            colour = rng.choice(["red", "blue"])
            f.write(f"{a:.4f},{b:.4f},{colour},{int(a + b > 0)}\n")


EXTRAS = ("xgboost", "lightgbm", "catboost", "onnx")
"""The optional model libraries a bundle can carry (``onnx``: onnxruntime, onnx, skl2onnx)."""


def make_native(kind: str, data: Path, folder: Path) -> Path:
    """A classifier of ``kind`` on the smoke CSV, saved in its library's own format."""
    import pandas as pd

    df = pd.read_csv(data)
    y = df["y"]
    if kind == "xgboost":
        import xgboost as xgb

        path = folder / "native.ubj"
        xgb.XGBClassifier(n_estimators=5, max_depth=2, n_jobs=1).fit(df[["a", "b"]], y).save_model(
            path
        )
    elif kind == "lightgbm":
        import lightgbm as lgb

        model = lgb.LGBMClassifier(n_estimators=5, num_leaves=4, n_jobs=1, verbose=-1)
        path = folder / "native.txt"
        model.fit(df[["a", "b"]], y).booster_.save_model(str(path))
    elif kind == "catboost":
        import catboost as cb

        model = cb.CatBoostClassifier(
            iterations=5, depth=2, verbose=0, thread_count=1, cat_features=["colour"]
        )
        path = folder / "native.cbm"
        model.fit(df[["a", "b", "colour"]], y).save_model(str(path))
    else:
        raise SmokeFailure(f"no native model for {kind!r}")
    return path


def check_extra(kind: str, exe: Path, data: Path, reg: str, tmp: Path, env: dict[str, str]) -> None:
    """Register (or, for ONNX, convert) a model of ``kind`` in the bundle and score ``data``."""
    if kind == "onnx":
        res = run(
            exe, "convert", "trained", "--to", "onnx", "--registry", reg, "--json",
            env=env, timeout=600,
        )  # fmt: skip
        converted = json.loads(res.stdout)
        if converted.get("format") != "onnx":
            raise SmokeFailure(f"convert --to onnx gave {converted}")
        ref = f"{converted['name']}:{converted['version']}"
    else:
        model = make_native(kind, data, tmp)
        res = run(
            exe, "register", str(model), "--name", f"native-{kind}", "--registry", reg, "--json",
            env=env,
        )  # fmt: skip
        registered = json.loads(res.stdout)
        if registered.get("status") != "ok" or not str(registered.get("format")).startswith(kind):
            raise SmokeFailure(f"register of a {kind} model gave {registered}")
        ref = f"native-{kind}"
    target = tmp / f"scored-{kind}.csv"
    res = run(
        exe, "score", ref, "--data", str(data), "-o", str(target), "--registry", reg, "--json",
        env=env, timeout=600,
    )  # fmt: skip
    scored = json.loads(res.stdout)
    if not (target.is_file() and scored.get("rows", {}).get("scored", 0) > 0):
        raise SmokeFailure(f"score with the {kind} model gave {scored}")


def score_and_drift(
    exe: Path, ref: str, data: Path, reg: str, out: Path, env: dict[str, str]
) -> None:
    """``score`` ``data`` with ``ref`` to CSV and Parquet, then ``drift`` of ``data`` against itself."""
    for suffix in (".csv", ".parquet"):
        target = out.with_suffix(suffix)
        res = run(
            exe, "score", ref, "--data", str(data), "-o", str(target),
            "--registry", reg, "--json", env=env, timeout=600,
        )  # fmt: skip
        scored = json.loads(res.stdout)
        if not (target.is_file() and scored.get("rows", {}).get("scored", 0) > 0):
            raise SmokeFailure(f"score to {suffix} gave {scored}")
    res = run(
        exe, "drift", "--reference", str(data), "--current", str(data),
        "--registry", reg, "--json", env=env, timeout=600,
    )  # fmt: skip
    if json.loads(res.stdout).get("drifted") is not False:
        raise SmokeFailure(f"drift of a file against itself: {res.stdout[:300]}")


def smoke(exe: Path, demo: bool = False, extras: tuple[str, ...] = ()) -> None:
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

        score_and_drift(exe, "trained", data, reg, tmp / "scored", env)
        for kind in extras:
            check_extra(kind, exe, data, reg, tmp, env)

        res = run(exe, "--smoke", "--registry", reg, env=env, timeout=120)
        painted = [line for line in res.stderr.splitlines() if line.startswith("first paint")]
        if not painted:
            raise SmokeFailure(f"--smoke never painted its window: {res.stderr[-300:]!r}")
        print("    " + painted[0])
        # then the Monitoring page is built and a chart drawn: the chart library loads
        if not any(line.startswith("charts drawn") for line in res.stderr.splitlines()):
            raise SmokeFailure(f"--smoke drew no chart: {res.stderr[-300:]!r}")

        if demo:
            home = tmp / "demo"
            run(exe, "demo", "--no-gui", "--registry", str(home), env=env, timeout=1800)
            holdout = home / "demo" / "credit-holdout.csv"
            score_and_drift(
                exe, "credit-risk@champion", holdout, str(home), tmp / "demo-scored", env
            )

        # The frozen app is not a Python interpreter for anything but its workers.
        run(exe, "--mw-worker", "no-such-worker", expect=2, env=env)
        run(exe, "-c", "print('hello')", expect=2, env=env)
        run(exe, "-m", "http.server", expect=2, env=env)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    demo = "--demo" in args
    args = [a for a in args if a != "--demo"]
    extras: tuple[str, ...] = ()
    if "--extras" in args:
        i = args.index("--extras")
        extras = tuple(e.strip() for e in args[i + 1].split(",") if e.strip())
        del args[i : i + 2]
        unknown = [e for e in extras if e not in EXTRAS]
        if unknown:
            print(f"unknown extra {unknown[0]!r}; known: {', '.join(EXTRAS)}", file=sys.stderr)
            return 2
    exe = Path(args[0]).resolve() if args else DEFAULT_EXE
    t0 = time.perf_counter()
    try:
        smoke(exe, demo=demo, extras=extras)
    except (SmokeFailure, subprocess.TimeoutExpired) as e:
        print(f"SMOKE TEST FAILED: {e}", file=sys.stderr)
        return 1
    print(f"smoke test passed ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
