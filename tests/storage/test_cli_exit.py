"""A command leaves without the interpreter's teardown, and loses nothing by it.

``modelward.__main__.leave`` ends every command (not the window) with
``os._exit`` after doing what the interpreter's exit does that matters: the
threads that are not daemons finish, the ``atexit`` functions run (held
registries are closed), stdout and stderr are flushed. Each test runs the
real command in a subprocess.
"""

from __future__ import annotations

import json
import os
import sys

from modelward.core.registry import Registry, connection
from modelward.core.registry.connection import HOLD

# Set up at start-up, before modelward is imported: an atexit function of
# someone else's (a coverage tool, a log handler), a thread that is not a
# daemon and still has work to do when the command returns, and an object
# only the interpreter's teardown would free.
SHIM = """
import atexit, os, threading, time

def _marker():
    with open(os.environ["MW_TEST_MARKER"], "a") as f:
        f.write("atexit\\n")

atexit.register(_marker)

def _late():
    time.sleep(0.3)
    with open(os.environ["MW_TEST_MARKER"], "a") as f:
        f.write("thread\\n")

threading.Thread(target=_late, daemon=False).start()

class _Freed:  # freed by the interpreter's teardown, which a command skips
    def __del__(self, open=open, path=os.environ["MW_TEST_MARKER"]):
        with open(path, "a") as f:
            f.write("freed\\n")

_kept = _Freed()
"""


def _env(tmp_path):
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(SHIM, encoding="utf-8")
    marker = tmp_path / "marker.txt"
    path = os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONPATH": path, "MW_TEST_MARKER": str(marker)}, marker


def test_a_command_runs_exit_functions_waits_for_threads_and_flushes(tmp_path):
    import subprocess

    env, marker = _env(tmp_path)
    home = tmp_path / "reg"
    Registry(home).close()
    out = tmp_path / "list.json"
    with open(out, "w", encoding="utf-8") as f:  # a file, not a pipe: fully buffered
        proc = subprocess.run(
            [sys.executable, "-m", "modelward", "list", "--json", "--registry", str(home)],
            env={**os.environ, **env},
            stdout=f,
            timeout=120,
        )
    assert proc.returncode == 0
    assert json.loads(out.read_text(encoding="utf-8"))["versions"] == []
    # the thread finished first, then the exit functions ran (the interpreter's
    # order), and nothing was torn down
    assert marker.read_text(encoding="utf-8").split() == ["thread", "atexit"]


def test_a_failing_command_keeps_its_exit_code_and_its_sentence(run_cli, tmp_path):
    env, marker = _env(tmp_path)
    home = tmp_path / "reg"
    Registry(home).close()
    proc = run_cli("show", "nosuchmodel", "--registry", str(home), env=env)
    assert proc.returncode not in (0, 70)
    assert "nosuchmodel" in proc.stderr and "Traceback" not in proc.stderr
    assert marker.read_text(encoding="utf-8").split() == ["thread", "atexit"]


def test_held_registries_are_closed_at_exit(tmp_path):
    reg = Registry(tmp_path / "reg", idle_release=HOLD)
    reg.list_models()
    assert reg.is_connected  # held after its last operation
    connection._close_at_exit()
    assert not reg.is_connected
    # and a later operation opens it again
    reg.list_models()
    assert reg.is_connected
    reg.close()


# An object freed by the interpreter's teardown says so; then the command leaves.
TEARDOWN = """
import sys
{qt}

class Freed:
    def __del__(self, open=open, path=sys.argv[1]):  # builtins are gone by then
        with open(path, "a") as f:
            f.write("freed\\n")

kept = Freed()
from modelward.__main__ import leave
leave(3)
"""


def _leave(tmp_path, qt: str) -> tuple[int, str]:
    import subprocess

    marker = tmp_path / f"freed-{bool(qt)}.txt"
    code = TEARDOWN.format(qt=qt)
    proc = subprocess.run([sys.executable, "-c", code, str(marker)], timeout=120)
    return proc.returncode, marker.read_text() if marker.exists() else ""


def test_a_command_skips_the_teardown_and_the_window_does_not(tmp_path):
    # a command: no teardown (the object is never freed), the code is kept
    assert _leave(tmp_path, "") == (3, "")
    # with Qt loaded (the window): the usual exit, teardown and all, the same code
    assert _leave(tmp_path, "import PySide6.QtCore") == (3, "freed\n")
