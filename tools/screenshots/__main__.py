"""Regenerate the screenshots in ``docs/screenshots/`` (offscreen; not shipped with the app).

From the repository root::

    python tools/screenshots                      # everything, into docs/screenshots
    python tools/screenshots OUTDIR [PART ...]    # PART: window, training, policies, monitoring, scoring, validation

``window`` (welcome, registry, model page, jobs, audit, watched folders, the
alerts/approvals/policy views and the training, validation and comparison
views, light and dark) builds its own demo registry in a temporary folder;
``monitoring`` builds one with twelve monthly batches.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(HERE), str(ROOT / "app")]  # these scripts, then the checkout's package

import shots_monitoring  # noqa: E402
import shots_policies  # noqa: E402
import shots_scoring  # noqa: E402
import shots_validation  # noqa: E402
import shots_window  # noqa: E402

PARTS = {
    "window": shots_window.main,
    "training": shots_window.training_main,
    "policies": shots_policies.main,
    "monitoring": shots_monitoring.main,
    "scoring": shots_scoring.main,
    "validation": shots_validation.main,
}


def main(argv: list[str]) -> int:
    out = argv[0] if argv else str(ROOT / "docs" / "screenshots")
    parts = argv[1:] or ["window", "monitoring", "scoring"]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        sys.stderr.write(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}\n")
        return 2
    for part in parts:
        sys.stderr.write(f"screenshots: {part} -> {out}\n")
        PARTS[part](out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
