"""Build the ModelWard desktop bundle with PyInstaller: ``python packaging/build.py``.

The bundle lands in ``dist/modelward/`` (start it as ``dist/modelward/modelward``).
Run with the Python of an environment that has the project and its ``build``
extra installed (``pip install -e ".[build]"``). Prints the build time, the
bundle size and its ten largest parts, and fails when the bundle is larger than
its budget (``--budget-mib``), so that a dependency that drags in hundreds of
megabytes is caught by CI, not by a user's download; ``--smoke`` then runs
packaging/smoke_test.py against the result.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "modelward.spec"
# The default bundle without pyarrow (see PYARROW in the spec) measured 351 MiB
# (368 MB) on Linux (2026-12, libraries stripped where safe, Qt's OpenGL binding and
# orphan system libraries out); the budget leaves room for small additions, not for
# a new library family, and stays under issue 21's 380 MB (358 MiB = 375 MB; see
# docs/benchmarks.md).
BUDGET_MIB = 358
PYARROW_MIB = 80
"""Added to the budget while the bundle carries pyarrow (the spec's PYARROW switch)."""


def tree_size(path: Path) -> int:
    """Total size in bytes of the files under ``path`` (symlinks not followed)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            p = Path(dirpath) / f
            if not p.is_symlink():
                total += p.stat().st_size
    return total


def link_duplicates(bundle: Path) -> int:
    """Replace byte-identical copies of a library in two wheels' ``*.libs`` folders by symlinks.

    NumPy's and SciPy's wheels each ship the same libgfortran and libquadmath
    (3 MiB); both resolve it by ``$ORIGIN``, which a relative symlink keeps.
    Not on Windows (no such folders there). Returns the bytes saved.
    """
    if os.name == "nt":
        return 0
    lib = bundle / "_internal"
    seen: dict[tuple[str, int, str], Path] = {}
    saved = 0
    for folder in sorted(p for p in lib.glob("*.libs") if p.is_dir() and not p.is_symlink()):
        for f in sorted(folder.iterdir()):
            if f.is_symlink() or not f.is_file():
                continue
            key = (f.name, f.stat().st_size, hashlib.sha256(f.read_bytes()).hexdigest())
            first = seen.setdefault(key, f)
            if first is f:
                continue
            saved += f.stat().st_size
            f.unlink()
            f.symlink_to(os.path.relpath(first, f.parent))
    return saved


def largest_parts(bundle: Path, top: int = 10) -> list[tuple[str, int]]:
    """The ``top`` largest entries of the bundle's library folder, by total size.

    An entry is a package folder (``pyarrow``, ``PySide6``) or a single library
    file (``_duckdb….so``), the units one can exclude in the spec.
    """
    lib = bundle / "_internal"
    root = lib if lib.is_dir() else bundle
    sizes: dict[str, int] = {}
    for entry in root.iterdir():
        if entry.is_symlink():
            continue
        sizes[entry.name] = tree_size(entry) if entry.is_dir() else entry.stat().st_size
    return sorted(sizes.items(), key=lambda kv: kv[1], reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    parser.add_argument("--work", default=str(ROOT / "build" / "pyinstaller"))
    parser.add_argument("--smoke", action="store_true", help="run the smoke test afterwards")
    parser.add_argument(
        "--budget-mib",
        type=float,
        default=float(os.environ.get("MODELWARD_BUNDLE_BUDGET_MIB", BUDGET_MIB)),
        help=f"fail when the bundle is larger (default {BUDGET_MIB}; 0: no budget)",
    )
    args = parser.parse_args(argv)
    extras = os.environ.get("MODELWARD_BUNDLE_EXTRAS", "")

    t0 = time.perf_counter()
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--clean",
        "--log-level=WARN",
        "--distpath",
        args.dist,
        "--workpath",
        args.work,
        str(SPEC),
    ]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)
    bundle = Path(args.dist) / "modelward"
    linked = link_duplicates(bundle)
    if linked:
        print(f"{linked / 2**20:.1f} MiB of duplicate libraries replaced by symlinks")
    dt = time.perf_counter() - t0
    size = tree_size(bundle)
    print(f"built {bundle} in {dt:.0f} s: {size / 2**20:.0f} MiB", flush=True)
    print("largest parts:")
    for name, part in largest_parts(bundle):
        print(f"  {part / 2**20:7.1f} MiB  {name}")
    budget = args.budget_mib
    if budget and extras:
        print(f"extras asked for ({extras}): no budget")
        budget = 0
    elif budget and (bundle / "_internal" / "pyarrow").is_dir():
        budget += PYARROW_MIB
        print(f"pyarrow is in (the spec's PYARROW switch): budget {budget:.0f} MiB")
    if budget and size / 2**20 > budget:
        print(
            f"the bundle is {size / 2**20:.0f} MiB, over its budget of {budget:.0f} MiB:"
            " exclude what the app does not use in packaging/modelward.spec, or raise"
            " BUDGET_MIB in packaging/build.py with the reason in the commit",
            file=sys.stderr,
            flush=True,
        )
        return 1
    if args.smoke:
        exe = bundle / ("modelward.exe" if os.name == "nt" else "modelward")
        # each optional model library the build carries scores a model of its kind too
        kinds = {"xgboost": "xgboost", "lightgbm": "lightgbm", "catboost": "catboost"}
        kinds["onnxruntime"] = "onnx"
        checked = sorted({kinds[m.strip()] for m in extras.split(",") if m.strip() in kinds})
        smoke = [sys.executable, str(ROOT / "packaging" / "smoke_test.py"), str(exe)]
        if checked:
            smoke += ["--extras", ",".join(checked)]
        subprocess.run(smoke, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
