"""Worker dispatch: our executable standing in for ``python`` when it is frozen.

The frozen app cannot be built in a unit test, so these tests make a stand-in
executable that runs ``python -m modelward "$@"`` (exactly what the frozen app
does with its arguments) and point joblib/loky at it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modelward.core import workers

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell stand-in")


@pytest.fixture
def fake_app(tmp_path: Path) -> Path:
    """An executable that behaves like the frozen app: ``<exe> ARGS`` = ``modelward ARGS``."""
    exe = tmp_path / "modelward-app"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m modelward "$@"\n')
    exe.chmod(0o755)
    return exe


def _run(*argv: str | os.PathLike[str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=120, check=False, **kw
    )


def test_loky_workers_run_through_the_app(fake_app: Path, tmp_path: Path) -> None:
    # loky starts workers as `<sys.executable> -m ...popen_loky_posix` and its
    # resource tracker as `<exe> -c 'from ...resource_tracker import main; ...'`.
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, sys
            sys.executable = {str(fake_app)!r}
            from joblib.externals.loky.backend import spawn
            spawn._python_exe = sys.executable
            from joblib import Parallel, delayed

            def probe(i):
                import os, sys
                return i * i, os.getpid(), "modelward.core.workers" in sys.modules

            out = Parallel(n_jobs=2, backend="loky")(delayed(probe)(i) for i in range(8))
            assert [o[0] for o in out] == [i * i for i in range(8)], out
            assert all(o[1] != os.getpid() for o in out), "ran in the parent"
            assert all(o[2] for o in out), "a worker did not start through modelward"
            print("OK", len({{o[1] for o in out}}))
            """
        )
    )
    res = _run(sys.executable, script)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("OK"), res.stdout


def test_resource_tracker_code_runs_with_interpreter_flags(fake_app: Path) -> None:
    r, w = os.pipe()
    try:
        code = f"from joblib.externals.loky.backend.resource_tracker import main; main({r}, 0)"
        proc = subprocess.Popen(
            [str(fake_app), "-W", "ignore", "-c", code],
            pass_fds=(r,),
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.close(r)
    os.close(w)  # EOF: the tracker has nothing to clean and exits
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


def test_module_form_passes_arguments(fake_app: Path) -> None:
    # popen_loky_posix parses its own argv; a missing --pipe is its own usage error.
    res = _run(
        fake_app, "-m", "joblib.externals.loky.backend.popen_loky_posix", "--process-name", "x"
    )
    assert res.returncode == 2
    assert "required: --pipe" in res.stderr  # --process-name reached it and was accepted


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mw-worker", "no-such-worker"], "unknown worker 'no-such-worker'"),
        (["--mw-worker"], "unknown worker"),
        (["-m", "os"], "does not run module 'os'"),
        (["-c", "print('hi')"], "does not run arbitrary Python code"),
        (["-O", "-c"], "-c needs an argument"),
        (["--multiprocessing-fork", "pipe_handle=3"], "only in the frozen app"),
    ],
)
def test_unknown_workers_fail_cleanly(fake_app: Path, argv: list[str], message: str) -> None:
    res = _run(fake_app, *argv)
    assert res.returncode == 2
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert res.stdout == ""


def test_normal_arguments_are_not_workers() -> None:
    assert workers.dispatch_worker(["modelward"]) is False
    assert workers.dispatch_worker(["modelward", "list", "--json"]) is False
    assert workers.dispatch_worker(["modelward", "--registry", "/x", "-c"]) is False


def test_worker_command_names_known_workers_only() -> None:
    cmd = workers.worker_command("inspect")
    assert cmd[0] == sys.executable
    assert cmd[-2:] == ["--mw-worker", "inspect"]
    with pytest.raises(KeyError):
        workers.worker_command("no-such-worker")
