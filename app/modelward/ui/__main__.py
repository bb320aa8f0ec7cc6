"""``python -m modelward.ui [--smoke] [--registry PATH]``."""

from __future__ import annotations

import argparse
import sys

from modelward.ui.launch import launch

if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="python -m modelward.ui")
    p.add_argument("--registry")
    p.add_argument("--smoke", action="store_true")
    a = p.parse_args()
    sys.exit(launch(a.registry, smoke=a.smoke))
