"""What a ``modelward watch`` process says first, read the same way by every test."""

from __future__ import annotations

import subprocess


def opening_lines(proc: subprocess.Popen[str]) -> list[str]:
    """Its first two lines, sorted: each folder's ``started`` line and ``watching 1 folder``.

    The watcher's thread and the command print them, in either order (the
    command says ``watching`` once the folders are observed).
    """
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(2)]
    return sorted(
        "watching 1 folder" if ln.startswith("watching 1 folder") else ln.split()[0] for ln in lines
    )
