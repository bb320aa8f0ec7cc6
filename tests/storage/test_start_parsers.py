"""The window's command line and ``list`` are parsed without the other command groups."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from modelward.cli.runner import fast_parser, opens_window

APP = Path(__file__).resolve().parents[2] / "app"


def test_opens_window_only_without_a_command() -> None:
    assert opens_window([])
    assert opens_window(["--smoke"])
    assert opens_window(["--registry", "R", "--smoke", "--json"])
    assert opens_window(["--registry=R"])
    assert not opens_window(["list"])
    assert not opens_window(["--registry", "R", "demo"])
    assert not opens_window(["--version"])
    assert not opens_window(["--help"])


def test_window_line_parses_like_the_full_parser(tmp_path: Path) -> None:
    p = fast_parser(["--registry", str(tmp_path), "--smoke"])
    assert p is not None
    args = p.parse_args(["--registry", str(tmp_path), "--smoke"])
    assert args.smoke is True and args.registry == str(tmp_path)
    assert getattr(args, "handler", None) is None  # the runner then opens the window
    assert fast_parser(["--version"]) is None and fast_parser(["demo"]) is None


def test_window_and_list_lines_import_no_other_command_group(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from modelward.cli.runner import fast_parser\n"
        "for argv in (['--registry', 'R', '--smoke'], ['list', '--filter', 'x']):\n"
        "    fast_parser(argv).parse_args(argv)\n"
        "groups = [m for m in sys.modules if m.startswith('modelward.cli.')]\n"
        "print(sorted(groups))\n"
        "assert 'modelward.cli.entry' not in sys.modules, groups\n"
        "assert 'modelward.cli.compute' not in sys.modules, groups\n"
        "assert 'modelward.cli.monitoring' not in sys.modules, groups\n"
    )
    env = dict(os.environ, PYTHONPATH=str(APP))
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert res.returncode == 0, res.stderr
