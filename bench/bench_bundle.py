"""The desktop bundle: its size, default and with each optional model library, and its cold start.

For each build asked for, in one run:

- builds ``packaging/build.py`` into a temporary folder, with
  ``MODELWARD_BUNDLE_EXTRAS`` set for the extra (``xgboost``, ``lightgbm``,
  ``onnx`` = onnxruntime + onnx + skl2onnx, ``catboost``), and no size budget;
- its size (files, symlinks not counted, as the build prints it) and its ten
  largest parts;
- start to window: the time from starting ``<bundle> --smoke --registry R``
  (``QT_QPA_PLATFORM=offscreen``) to the first paint of the main window, which
  the app prints with ``--smoke`` (the wall-clock time of the paint, so the
  bench subtracts the moment it started the process). The first run after the
  build is reported apart (cold: the bundle's files were just written, so they
  are in the page cache, but nothing of the app has run); then ``--rounds``
  more, interleaved with the baseline;
- the baseline of the same rounds: a bare PySide6 process of the build
  environment that shows one ``QWidget`` and reports its first paint the same
  way (the floor Qt itself costs here).

Each extra's size is also given as the difference to the default build of the
same run. The environment must have the extras installed (``pip install -e
".[build,xgboost,lightgbm,onnx,catboost]"``); an extra whose library is missing
is skipped with a note.

    python bench/bench_bundle.py --quick        # the default build only, 3 rounds
    python bench/bench_bundle.py                # default + xgboost, lightgbm, onnx, catboost
    python bench/bench_bundle.py --extras onnx  # default + one extra
    python bench/bench_bundle.py --skip-default --extras xgboost,lightgbm   # extras only
    MODELWARD_BUNDLE_PYARROW=0 python bench/bench_bundle.py --quick   # without pyarrow
    python bench/bench_bundle.py --existing dist/modelward --rounds 9   # no build: start only

With ``--existing`` nothing is built (see below); it also takes one bundle
folder made by ``packaging/build.py``.

A build takes several minutes (about 10 at low priority on a shared 2-core
machine). Each bundle is deleted after it is measured (``--keep`` keeps them).

Bundles built earlier (``--keep --out DIR``, or ``packaging/build.py --dist
DIR/<name>`` with ``MODELWARD_BUNDLE_EXTRAS``) are measured without building
with ``--existing DIR``: every ``DIR/<name>/modelward/`` (``default`` first,
``--extras`` picks some). Each round takes every bundle in turn, cold then
warm, then the bare Qt window: *cold* is a start after the bundle's own files
were dropped from the page cache (``posix_fadvise(DONTNEED)`` on each file,
no root needed; the system's libraries and Python's stay cached, as they are
for a user who started any Qt program), *warm* the start right after it::

    python bench/bench_bundle.py --existing /tmp/bundles --rounds 5
    python bench/bench_bundle.py --existing /tmp/bundles --extras catboost --rounds 1   # a check
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packaging"))

from build import largest_parts, tree_size  # noqa: E402

EXTRAS: dict[str, tuple[str, ...]] = {
    # name -> (MODELWARD_BUNDLE_EXTRAS modules, module that must be importable here)
    "xgboost": ("xgboost",),
    "lightgbm": ("lightgbm",),
    "onnx": ("onnxruntime", "onnx", "skl2onnx"),
    "catboost": ("catboost",),
}

FLOOR = r"""
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

class First(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint:
            sys.stderr.write(f"first paint at {time.time():.3f}\n")
            sys.stderr.flush()
            QTimer.singleShot(0, app.quit)
            obj.removeEventFilter(self)
        return False

app = QApplication(sys.argv[:1])
w = QWidget()
w.resize(1280, 800)
f = First()
w.installEventFilter(f)
w.show()
app.exec()
"""


def first_paint(cmd: list[str], env: dict[str, str], timeout: float = 300) -> float:
    """Seconds from starting ``cmd`` to the first paint it reports on stderr."""
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    for line in proc.stderr.splitlines():
        if line.startswith("first paint at "):
            return float(line.split()[3].rstrip(",")) - t0
    raise SystemExit(f"{cmd[0]} reported no first paint (exit {proc.returncode}): {proc.stderr}")


def build(dist: Path, work: Path, extras: tuple[str, ...]) -> float:
    """Build the bundle into ``dist``; returns the build's wall time in seconds."""
    env = dict(os.environ, MODELWARD_BUNDLE_EXTRAS=",".join(extras))
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "packaging" / "build.py"),
            "--dist",
            str(dist),
            "--work",
            str(work),
            "--budget-mib",
            "0",
        ],
        check=True,
        env=env,
        cwd=ROOT,
    )
    return time.perf_counter() - t0


def stats(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} s ({min(xs):.2f}–{max(xs):.2f})"


def evict(folder: Path) -> int:
    """Drop ``folder``'s files from the page cache (clean pages; no root needed); returns files."""
    n = 0
    for dirpath, _dirs, files in os.walk(folder):
        for f in files:
            p = Path(dirpath) / f
            if p.is_symlink():
                continue
            try:
                fd = os.open(p, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                n += 1
            finally:
                os.close(fd)
    return n


def existing(root: Path, names: list[str] | None, rounds: int, out_json: str | None) -> int:
    """Size and cold/warm start to window of bundles already built under ``root``."""
    found = sorted(
        (d.name for d in root.iterdir() if (d / "modelward").is_dir()),
        key=lambda n: (n != "default", n),
    )
    if names:
        found = [n for n in found if n in names]
    if not found:
        raise SystemExit(f"no bundle folders <name>/modelward/ under {root}")
    if not hasattr(os, "posix_fadvise"):
        raise SystemExit("cold starts need posix_fadvise (Linux)")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)
    floor_cmd = [sys.executable, "-c", FLOOR]
    cold: dict[str, list[float]] = {n: [] for n in found}
    warm: dict[str, list[float]] = {n: [] for n in found}
    floor: list[float] = []
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="mw-start-") as tmp:
        run_env = dict(env, HOME=str(Path(tmp) / "home"))
        run_env["MODELWARD_HOME"] = str(Path(tmp) / "default-home")
        for r in range(rounds):
            # rotate the order so that no bundle always runs first
            order = found[r % len(found) :] + found[: r % len(found)]
            for name in order:
                bundle = root / name / "modelward"
                exe = bundle / ("modelward.exe" if os.name == "nt" else "modelward")
                cmd = [str(exe), "--smoke", "--registry", str(Path(tmp) / f"reg-{name}")]
                evict(bundle)
                cold[name].append(first_paint(cmd, run_env))
                warm[name].append(first_paint(cmd, run_env))
            floor.append(first_paint(floor_cmd, run_env))
            print(f"round {r + 1}/{rounds} done", flush=True)
    load.append(os.getloadavg()[0])
    sizes = {n: tree_size(root / n / "modelward") for n in found}
    base = sizes.get("default")
    lines = [
        f"{len(found)} bundle(s) under {root}, {rounds} rounds, load {load[0]:.1f} at the start"
        f" and {load[1]:.1f} at the end:",
        "",
        "| bundle | size | vs default | cold start to window, median (min–max) "
        "| warm, median (min–max) | bare Qt window, median (min–max) |",
        "|---|---|---|---|---|---|",
    ]
    for n in found:
        delta = "—" if n == "default" or base is None else f"+{(sizes[n] - base) / 2**20:.0f} MiB"
        lines.append(
            f"| {n} | {sizes[n] / 2**20:.0f} MiB | {delta} | {stats(cold[n])} | {stats(warm[n])} "
            f"| {stats(floor)} |"
        )
    print("\n".join(lines))
    if out_json:
        record = {
            n: {
                "size_mib": round(sizes[n] / 2**20, 1),
                "parts_mib": {
                    k: round(v / 2**20, 1) for k, v in largest_parts(root / n / "modelward")
                },
                "cold_s": [round(x, 3) for x in cold[n]],
                "warm_s": [round(x, 3) for x in warm[n]],
            }
            for n in found
        }
        record["_floor_s"] = [round(x, 3) for x in floor]  # type: ignore[assignment]
        Path(out_json).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the default build only, 3 rounds")
    ap.add_argument("--extras", help="comma-separated extras (default: all four)")
    ap.add_argument("--rounds", type=int, help="start-to-window rounds after the first (5)")
    ap.add_argument(
        "--skip-default",
        action="store_true",
        help="build only the extras (to run them beside a default build of the same commit)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the bundles (in --out)")
    ap.add_argument("--out", help="folder for the bundles (default: a temporary one)")
    ap.add_argument("--json", help="write the raw figures here")
    ap.add_argument(
        "--existing",
        metavar="DIR",
        help="build nothing: time the bundles DIR/<name>/modelward/ already built (cold and warm)",
    )
    args = ap.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    if args.existing:
        picked = [e.strip() for e in args.extras.split(",")] if args.extras else None
        return existing(Path(args.existing), picked, rounds, args.json)
    names = (
        []
        if args.quick
        else [e.strip() for e in (args.extras or ",".join(EXTRAS)).split(",") if e.strip()]
    )
    for name in names:
        if name not in EXTRAS:
            raise SystemExit(f"unknown extra {name!r}; known: {', '.join(EXTRAS)}")

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="mw-bundles-"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)
    results: dict[str, dict[str, object]] = {}
    floor_cmd = [sys.executable, "-c", FLOOR]
    try:
        for name in ([] if args.skip_default else ["default"]) + names:
            mods = () if name == "default" else EXTRAS[name]
            missing = [m for m in mods if importlib.util.find_spec(m) is None]
            if missing:
                print(f"{name}: skipped, {', '.join(missing)} not installed here", flush=True)
                continue
            dist = out / name
            build_s = build(dist, out / "work" / name, mods)
            bundle = dist / "modelward"
            exe = bundle / ("modelward.exe" if os.name == "nt" else "modelward")
            size = tree_size(bundle)
            with tempfile.TemporaryDirectory(prefix="mw-start-") as tmp:
                run_env = dict(env, HOME=str(Path(tmp) / "home"))
                run_env["MODELWARD_HOME"] = str(Path(tmp) / "default-home")
                cmd = [str(exe), "--smoke", "--registry", str(Path(tmp) / "reg")]
                cold = first_paint(cmd, run_env)
                warm, floor = [], []
                for _ in range(rounds):
                    warm.append(first_paint(cmd, run_env))
                    floor.append(first_paint(floor_cmd, run_env))
            results[name] = {
                "extras": list(mods),
                "build_s": round(build_s, 1),
                "size_mib": round(size / 2**20, 1),
                "parts_mib": {k: round(v / 2**20, 1) for k, v in largest_parts(bundle)},
                "first_start_s": round(cold, 3),
                "start_s": [round(x, 3) for x in warm],
                "floor_s": [round(x, 3) for x in floor],
            }
            print(
                f"{name}: {size / 2**20:.0f} MiB, built in {build_s:.0f} s; start to window: "
                f"first {cold:.2f} s, then {stats(warm)}; bare Qt window {stats(floor)}",
                flush=True,
            )
            if not args.keep:
                shutil.rmtree(dist, ignore_errors=True)
                shutil.rmtree(out / "work" / name, ignore_errors=True)
    finally:
        if not args.keep and not args.out:
            shutil.rmtree(out, ignore_errors=True)

    load = os.getloadavg()[0]
    base = results.get("default", {}).get("size_mib")
    lines = [
        f"{len(results)} build(s), {rounds} start rounds each, load {load:.1f} at the end"
        + (
            ", pyarrow out (MODELWARD_BUNDLE_PYARROW=0)"
            if os.environ.get("MODELWARD_BUNDLE_PYARROW") == "0"
            else ""
        )
        + ":",
        "",
        "| bundle | size | vs default | start to window, first | then, median (min–max) "
        "| bare Qt window, median (min–max) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        size_mib = float(r["size_mib"])  # type: ignore[arg-type]
        delta = "—" if name == "default" or base is None else f"+{size_mib - float(base):.0f} MiB"  # type: ignore[arg-type]
        lines.append(
            f"| {name} | {size_mib:.0f} MiB | {delta} | {r['first_start_s']:.2f} s "
            f"| {stats(r['start_s'])} | {stats(r['floor_s'])} |"  # type: ignore[arg-type]
        )
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
