"""Build the ModelWard desktop bundle with PyInstaller: ``python packaging/build.py``.

The bundle lands in ``dist/modelward/`` (start it as ``dist/modelward/modelward``).
Run with the Python of an environment that has the project and its ``build``
extra installed (``pip install -e ".[build]"``). Prints the build time and the
bundle size; ``--smoke`` then runs packaging/smoke_test.py against the result.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "modelward.spec"


def tree_size(path: Path) -> int:
    """Total size in bytes of the files under ``path`` (symlinks not followed)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            p = Path(dirpath) / f
            if not p.is_symlink():
                total += p.stat().st_size
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    parser.add_argument("--work", default=str(ROOT / "build" / "pyinstaller"))
    parser.add_argument("--smoke", action="store_true", help="run the smoke test afterwards")
    args = parser.parse_args(argv)

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
    dt = time.perf_counter() - t0
    size = tree_size(bundle)
    print(f"built {bundle} in {dt:.0f} s: {size / 2**20:.0f} MiB", flush=True)
    if args.smoke:
        exe = bundle / ("modelward.exe" if os.name == "nt" else "modelward")
        subprocess.run(
            [sys.executable, str(ROOT / "packaging" / "smoke_test.py"), str(exe)], check=True
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
