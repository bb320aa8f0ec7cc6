"""The platform module, exercised for real on this OS (child processes, files, signals)."""

from __future__ import annotations

import ctypes
import getpass
import os
import re
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import modelward
from modelward.core import platform
from modelward.core.errors import ModelWardError

PACKAGE = Path(modelward.__file__).resolve().parent
posix_only = pytest.mark.skipif(not platform.IS_POSIX, reason="exercises the POSIX branch")
linux_only = pytest.mark.skipif(not platform.IS_LINUX, reason="per-thread priority, /proc")


def _python(code: str, **kw) -> subprocess.Popen[str]:
    """Start ``python -c code`` with this checkout on its path."""
    env = dict(os.environ, PYTHONPATH=str(PACKAGE.parent))
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kw,
    )


def _run(code: str, timeout: float = 60) -> str:
    proc = _python(code)
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out


# ----------------------------------------------------------------------------- the rule
def test_nothing_outside_platform_asks_which_os_it_runs_on():
    pattern = re.compile(r"\bos\.name\b|\bsys\.platform\b|\bplatform\.system\b")
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "core" / "platform.py":
            continue
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{no}: {line.strip()}")
    assert offenders == [], "route these through modelward.core.platform:\n" + "\n".join(offenders)


def test_the_module_stays_on_the_kernel_floor():
    text = (PACKAGE / "core" / "platform.py").read_text(encoding="utf-8")
    imported = re.findall(r"^(?:from|import) ([\w.]+)", text, re.M)
    ours = [m for m in imported if m.startswith("modelward")]
    assert ours == ["modelward.core.errors"]
    assert all(m.split(".")[0] in sys.stdlib_module_names for m in imported if m not in ours)


# ----------------------------------------------------------------------------- priority
@posix_only
def test_a_child_process_lowers_its_own_priority():
    out = _run(
        """
        import os
        from modelward.core import platform
        before = os.getpriority(os.PRIO_PROCESS, 0)
        ok = platform.lower_process_priority(4)
        print(before, os.getpriority(os.PRIO_PROCESS, 0), ok)
        """
    )
    before, after, ok = out.split()
    assert ok == "True"
    assert int(after) == min(19, int(before) + 4)


@posix_only
def test_a_child_process_priority_is_lowered_from_outside():
    proc = _python("import sys; sys.stdin.read()", stdin=subprocess.PIPE)
    try:
        before = os.getpriority(os.PRIO_PROCESS, proc.pid)
        assert platform.lower_process_priority(3, proc.pid)
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == min(19, before + 3)
    finally:
        proc.communicate("", timeout=30)


@linux_only
def test_a_lowered_thread_passes_its_priority_to_the_process_it_starts():
    def nice_of_thread() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    main_before = nice_of_thread()
    seen: dict[str, object] = {}

    def work() -> None:
        before = nice_of_thread()
        seen["ok"] = platform.lower_thread_priority(5)
        seen["thread"] = (before, nice_of_thread())
        seen["child"] = int(_run("import os; print(os.getpriority(os.PRIO_PROCESS, 0))"))

    t = threading.Thread(target=work)
    t.start()
    t.join(60)
    before, after = seen["thread"]
    assert seen["ok"] is True
    assert after == min(19, before + 5)
    assert seen["child"] == after
    assert nice_of_thread() == main_before  # the calling thread alone


def test_no_steps_changes_nothing():
    assert platform.lower_thread_priority(0) is False
    assert platform.lower_process_priority(-3) is False


# ----------------------------------------------------------------------------- memory cap
@linux_only
def test_the_memory_cap_is_enforced_on_a_child_and_can_be_lifted():
    out = _run(
        """
        from modelward.core import platform
        limit = platform.cap_memory(64 << 20)
        assert limit is not None and limit <= platform.memory_in_use() + (64 << 20)
        try:
            block = b"x" * (512 << 20)
            print("allocated")
        except MemoryError:
            print("refused")
        platform.uncap_memory()
        block = bytearray(256 << 20)  # untouched pages: address space, not RAM
        print("after", len(block) >> 20)
        """
    )
    assert out.split() == ["refused", "after", "256"]


def test_windows_structures_have_the_sdk_layout():
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        pytest.skip("layout sizes below are for 64-bit")
    # Sizes from the Windows SDK headers (x64); a wrong field shifts them.
    assert ctypes.sizeof(platform._ExtendedLimits) == 144
    assert platform._ExtendedLimits.ProcessMemoryLimit.offset == 112
    assert ctypes.sizeof(platform._MemoryCounters) == 80
    assert ctypes.sizeof(platform._SidAndAttributes) == 16


def test_windows_functions_get_their_prototypes(monkeypatch: pytest.MonkeyPatch):
    class FakeDLL:
        def __init__(self, name: str, use_last_error: bool = False):
            assert use_last_error  # ctypes.get_last_error() needs it
            self.name = name

        def __getattr__(self, func: str):
            f = type("Func", (), {})()
            setattr(self, func, f)
            return f

    monkeypatch.setattr(ctypes, "WinDLL", FakeDLL, raising=False)
    monkeypatch.setattr(platform, "_dlls", {})
    kernel32 = platform._win_dll("kernel32")
    assert platform._win_dll("kernel32") is kernel32  # typed once, then reused
    for dll in ("kernel32", "advapi32"):
        lib = platform._win_dll(dll)
        for func, (restype, argtypes) in platform._PROTOTYPES[dll].items():
            assert getattr(lib, func).restype is restype
            assert getattr(lib, func).argtypes == argtypes
    # handles must travel as pointers, never as 32-bit ints
    assert kernel32.GetCurrentProcess.restype is ctypes.c_void_p
    assert kernel32.CreateJobObjectW.restype is ctypes.c_void_p
    assert kernel32.SetInformationJobObject.argtypes[0] is ctypes.c_void_p


# ----------------------------------------------------------------------------- stopping
_WATCHER = """
    import sys, threading
    from modelward.core import platform
    stop = threading.Event()
    platform.on_stop_signal(lambda signum, frame: stop.set())
    print("ready", flush=True)
    stop.wait(120)
    print("stopped gracefully", flush=True)
    sys.exit(0 if stop.is_set() else 5)
"""


def test_a_watcher_child_stops_gracefully():
    proc = _python(_WATCHER, **platform.graceful_popen_kwargs())
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        code = platform.stop_process(proc, 30.0, new_group=True)
        assert code == 0
        assert proc.stdout.read().strip() == "stopped gracefully"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


@posix_only
def test_a_child_that_ignores_the_request_is_killed():
    proc = _python(
        """
        import signal, sys
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        sys.stdin.read()
        """,
        stdin=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        assert platform.stop_process(proc, 0.5) == -9
    finally:
        proc.communicate(timeout=30)


def test_stopping_a_finished_process_returns_its_code():
    proc = _python("raise SystemExit(3)")
    proc.communicate(timeout=30)
    assert platform.stop_process(proc) == 3


def test_graceful_popen_kwargs_is_empty_on_posix():
    assert (platform.graceful_popen_kwargs() == {}) is platform.IS_POSIX


# ----------------------------------------------------------------------------- files
def test_replace_works_while_another_handle_holds_the_file_open(tmp_path: Path):
    dst, src = tmp_path / "settings.json", tmp_path / "settings.json.tmp"
    dst.write_text("old", encoding="utf-8")
    src.write_text("new", encoding="utf-8")
    with open(dst, encoding="utf-8") as holder:
        platform.replace_file(src, dst)
        assert holder.read() == "old"  # the holder keeps what it opened
    assert dst.read_text(encoding="utf-8") == "new"
    assert not src.exists()


def _sharing_violation() -> PermissionError:
    e = PermissionError(13, "The process cannot access the file")
    e.winerror = 32  # type: ignore[attr-defined]
    return e


def test_replace_retries_a_sharing_violation_until_the_holder_lets_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    real, calls = os.replace, []

    def flaky(a, b):
        calls.append(a)
        if len(calls) < 3:
            raise _sharing_violation()
        real(a, b)

    monkeypatch.setattr(platform.os, "replace", flaky)
    (tmp_path / "a").write_text("x", encoding="utf-8")
    platform.replace_file(tmp_path / "a", tmp_path / "b")
    assert len(calls) == 3
    assert (tmp_path / "b").read_text(encoding="utf-8") == "x"


def test_replace_gives_up_after_its_timeout_and_never_retries_other_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    calls = []

    def held(a, b):
        calls.append(a)
        raise _sharing_violation()

    monkeypatch.setattr(platform.os, "replace", held)
    with pytest.raises(PermissionError):
        platform.replace_file(tmp_path / "a", tmp_path / "b", timeout=0.1)
    assert len(calls) >= 2

    def denied(a, b):
        calls.append(a)
        raise PermissionError(13, "denied")  # no winerror: not a sharing violation

    calls.clear()
    monkeypatch.setattr(platform.os, "replace", denied)
    with pytest.raises(PermissionError):
        platform.replace_file(tmp_path / "a", tmp_path / "b")
    assert len(calls) == 1


@posix_only
def test_a_private_key_file_becomes_owner_only(tmp_path: Path):
    key = tmp_path / "signing.key"
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\n")
    key.chmod(0o644)
    assert platform.is_owner_only(key) is False
    platform.restrict_to_owner(key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert platform.is_owner_only(key) is True


def test_the_windows_acl_grants_the_owner_sid_alone():
    grant, remove = platform._icacls_commands("icacls.exe", Path("k.key"), "S-1-5-21-1-2-3-1001")
    assert grant == ["icacls.exe", "k.key", "/inheritance:r", "/grant:r", "*S-1-5-21-1-2-3-1001:F"]
    assert remove[:3] == ["icacls.exe", "k.key", "/remove:g"]
    assert set(remove[3:]) == {"*S-1-1-0", "*S-1-5-11", "*S-1-5-32-545"}


def test_restricting_a_missing_file_says_so(tmp_path: Path):
    with pytest.raises(ModelWardError, match="private to its owner"):
        platform.restrict_to_owner(tmp_path / "missing.key")


@posix_only
def test_make_read_only_and_fsync_dir(tmp_path: Path):
    f = tmp_path / "artifact"
    f.write_bytes(b"x")
    platform.make_read_only(f)
    assert stat.S_IMODE(f.stat().st_mode) == 0o444
    platform.fsync_dir(tmp_path)
    platform.fsync_dir(tmp_path / "missing")  # quietly nothing


# ----------------------------------------------------------------------------- identity
def test_user_name_is_the_login_name():
    assert platform.user_name() == getpass.getuser()


def test_user_name_without_a_login_name(monkeypatch: pytest.MonkeyPatch):
    def no_login() -> str:
        raise OSError("no login name")

    import getpass

    monkeypatch.setattr(getpass, "getuser", no_login)
    monkeypatch.setenv("USERNAME", "svc-account")
    assert platform.user_name() == "svc-account"
    monkeypatch.delenv("USERNAME")
    monkeypatch.delenv("USER", raising=False)
    if platform.IS_POSIX:
        assert platform.user_name() == f"uid-{os.getuid()}"


@posix_only
def test_user_id_is_the_real_uid_and_ignores_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("USER", "somebody-else")
    monkeypatch.setenv("LOGNAME", "somebody-else")
    assert platform.user_id() == f"uid:{os.getuid()}"
    assert platform.user_name() == "somebody-else"  # the name is only a label


def test_registry_actor_is_the_platform_user():
    from modelward.core.refs import current_user

    assert current_user() == platform.user_name()


# ----------------------------------------------------------------------------- desktop
def test_has_display(monkeypatch: pytest.MonkeyPatch):
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert platform.has_display() is True
    monkeypatch.delenv("QT_QPA_PLATFORM")
    assert platform.has_display() is (not platform.IS_LINUX)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert platform.has_display() is True


def test_processor_time_of_a_process_is_read():
    """The sandbox's time limit counts a worker's processor time with this (Linux, Windows)."""
    import time

    if not (platform.IS_LINUX or platform.IS_WINDOWS):
        assert platform.process_cpu_seconds(os.getpid()) is None
        return
    before = platform.process_cpu_seconds(os.getpid())
    t = time.process_time()
    while time.process_time() - t < 0.3:
        pass
    after = platform.process_cpu_seconds(os.getpid())
    assert before is not None and after is not None
    assert 0.2 <= after - before <= 5.0
    assert platform.process_cpu_seconds(2**22 + 12345) is None  # no such process
