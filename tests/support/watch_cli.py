"""What a ``modelward watch`` process says first, read the same way by every test."""

from __future__ import annotations

import subprocess
import sys
from typing import Any


def start_watch(*args: str, **popen: Any) -> subprocess.Popen[str]:
    """``modelward watch ARGS…`` as a real process, its output read as text.

    stdout and stderr are pipes unless ``popen`` says otherwise (``stderr``,
    ``env``).
    """
    kw: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    return subprocess.Popen([sys.executable, "-m", "modelward", "watch", *args], **{**kw, **popen})


def opening_lines(proc: subprocess.Popen[str]) -> list[str]:
    """Its first two lines, sorted: each folder's ``started`` line and ``watching 1 folder``.

    The watcher's thread and the command print them, in either order (the
    command says ``watching`` once the folders are observed). If the process
    ends first, the assertion carries what it wrote on stderr.
    """
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(2)]
    if not all(ln.strip() for ln in lines):
        proc.kill()
        _out, err = proc.communicate(timeout=30)
        raise AssertionError(f"watch said {lines!r}, exit {proc.returncode}; stderr:\n{err}")
    return sorted(
        "watching 1 folder" if ln.startswith("watching 1 folder") else ln.split()[0] for ln in lines
    )
