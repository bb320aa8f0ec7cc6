"""Everything that differs between Linux (POSIX) and Windows, in one place.

The rest of the package never asks which OS it runs on: it calls these
functions. Each one does the real thing on POSIX and the closest thing on
Windows; ``docs/windows.md`` says what each does there and what has not been
tried on Windows yet.

- priority: :func:`lower_thread_priority`, :func:`lower_process_priority`;
- the sandbox's memory cap: :func:`cap_memory`, :func:`uncap_memory`,
  :func:`memory_in_use`;
- stopping: :func:`on_stop_signal` (a headless watcher), :func:`graceful_popen_kwargs`
  and :func:`stop_process` (a child process);
- files: :func:`replace_file` (retries Windows sharing violations),
  :func:`fsync_dir`, :func:`restrict_to_owner` (private keys),
  :func:`make_read_only`;
- identity: :func:`user_name`, :func:`user_id`;
- the desktop: :func:`has_display`.

Windows calls go through :mod:`ctypes` (``kernel32``/``advapi32``) or the
``icacls`` tool that ships with Windows; nothing here needs pywin32.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import stat
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.core.errors import ModelWardError

if TYPE_CHECKING:
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

if sys.platform != "win32":
    import resource

IS_WINDOWS = sys.platform == "win32"
"""True on Windows."""
IS_LINUX = sys.platform.startswith("linux")
"""True on Linux (thread priorities and ``/proc`` exist)."""
IS_POSIX = os.name == "posix"
"""True on Linux, the BSDs and macOS."""

StopHandler = Callable[[int, Any], None]
_DWORD = ctypes.c_uint32  # wintypes.DWORD is c_ulong: 8 bytes on 64-bit Linux, 4 on Windows


_BOOL = ctypes.c_int
_HANDLE = ctypes.c_void_p
_PDWORD = ctypes.POINTER(_DWORD)
# Every Win32 function used here, with its result and argument types. Without
# them ctypes passes and returns C ints: a 64-bit HANDLE (the pseudo-handle -1
# of GetCurrentProcess, a job handle) would be cut to 32 bits.
_PROTOTYPES: dict[str, dict[str, tuple[Any, list[Any]]]] = {
    "kernel32": {
        "GetCurrentThread": (_HANDLE, []),
        "GetCurrentProcess": (_HANDLE, []),
        "SetThreadPriority": (_BOOL, [_HANDLE, ctypes.c_int]),
        "SetPriorityClass": (_BOOL, [_HANDLE, _DWORD]),
        "OpenProcess": (_HANDLE, [_DWORD, _BOOL, _DWORD]),
        "CloseHandle": (_BOOL, [_HANDLE]),
        "GetExitCodeProcess": (_BOOL, [_HANDLE, _PDWORD]),
        "GetProcessTimes": (
            _BOOL,
            [_HANDLE, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p],
        ),
        "K32GetProcessMemoryInfo": (_BOOL, [_HANDLE, ctypes.c_void_p, _DWORD]),
        "CreateJobObjectW": (_HANDLE, [ctypes.c_void_p, ctypes.c_wchar_p]),
        "AssignProcessToJobObject": (_BOOL, [_HANDLE, _HANDLE]),
        "SetInformationJobObject": (_BOOL, [_HANDLE, ctypes.c_int, ctypes.c_void_p, _DWORD]),
        "LocalFree": (ctypes.c_void_p, [ctypes.c_void_p]),
    },
    "advapi32": {
        "GetUserNameW": (_BOOL, [ctypes.c_wchar_p, _PDWORD]),
        "OpenProcessToken": (_BOOL, [_HANDLE, _DWORD, ctypes.POINTER(_HANDLE)]),
        "GetTokenInformation": (
            _BOOL,
            [_HANDLE, ctypes.c_int, ctypes.c_void_p, _DWORD, _PDWORD],
        ),
        "ConvertSidToStringSidW": (_BOOL, [ctypes.c_void_p, ctypes.POINTER(ctypes.c_wchar_p)]),
    },
}
_dlls: dict[str, Any] = {}


def _win_dll(name: str) -> Any:
    """A Windows DLL with ``use_last_error`` and typed functions (``ctypes.WinDLL``: Windows only)."""
    dll = _dlls.get(name)
    if dll is None:
        dll = getattr(ctypes, "WinDLL")(name, use_last_error=True)  # noqa: B009
        for func, (restype, argtypes) in _PROTOTYPES[name].items():
            f = getattr(dll, func)
            f.restype, f.argtypes = restype, argtypes
        _dlls[name] = dll
    return dll


def _win_error(what: str) -> OSError:
    code = getattr(ctypes, "get_last_error", lambda: 0)()
    return OSError(f"{what} failed (Windows error {code})")


# ----------------------------------------------------------------------------- processes
_STILL_ACTIVE = 259
_ERROR_ACCESS_DENIED = 5


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (a zombie counts as gone).

    Used to tell a crash's leftovers from the files of a process still at
    work. A process we may not inspect counts as alive: nothing of a live
    process is ever removed.
    """
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if IS_WINDOWS:
        kernel32 = _win_dll("kernel32")
        handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            return bool(getattr(ctypes, "get_last_error", lambda: 0)() == _ERROR_ACCESS_DENIED)
        try:
            code = _DWORD(0)
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == _STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed child its parent has not reaped yet is a zombie: it runs nothing.
    with contextlib.suppress(OSError, IndexError):
        stat_line = Path(f"/proc/{pid}/stat").read_text()
        if stat_line.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def process_cpu_seconds(pid: int) -> float | None:
    """Processor time (user + system) a process has used so far, or ``None`` if unknown.

    Linux: ``/proc/PID/stat``; Windows: ``GetProcessTimes``. Elsewhere, or
    for a process that is gone or not ours to inspect: ``None``.
    """
    if IS_WINDOWS:
        kernel32 = _win_dll("kernel32")
        handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            return None
        try:
            created, exited, kernel, user = (ctypes.c_ulonglong(0) for _ in range(4))
            ok = kernel32.GetProcessTimes(
                handle, *(ctypes.byref(t) for t in (created, exited, kernel, user))
            )
            return (kernel.value + user.value) / 1e7 if ok else None  # 100 ns units
        finally:
            kernel32.CloseHandle(handle)
    if not IS_LINUX:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        # fields[0] is the state (the stat file's 3rd field): utime and stime are its 14th and 15th
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


@functools.cache
def host_tag() -> str:
    """A short, file-name-safe tag of this machine (8 hex digits of its name's hash)."""
    # deferred: start-up cost (hashlib and socket: about 4 ms of every command's start)
    import hashlib
    import socket

    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


# ----------------------------------------------------------------------------- priority
# Windows thread priorities and process priority classes (winbase.h).
_THREAD_PRIORITY_BELOW_NORMAL = -1
_THREAD_PRIORITY_LOWEST = -2
_BELOW_NORMAL_PRIORITY_CLASS = 0x4000
_IDLE_PRIORITY_CLASS = 0x0040
_PROCESS_SET_INFORMATION = 0x0200
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000


def lower_thread_priority(steps: int) -> bool:
    """Make the calling thread ``steps`` nice steps less urgent.

    On Linux ``setpriority`` on the thread id applies to that thread alone, and
    processes started from it inherit the lowered value. On Windows the thread
    gets ``THREAD_PRIORITY_BELOW_NORMAL`` (``steps`` < 10) or ``_LOWEST``
    (not inherited by child processes). Elsewhere (macOS) nothing happens.

    Parameters
    ----------
    steps
        Nice steps to add (POSIX scale, 1..19); 0 or less does nothing.

    Returns
    -------
    bool
        Whether the priority was lowered. Errors are swallowed: priority is a
        preference, never a reason to fail.
    """
    if steps <= 0:
        return False
    if IS_WINDOWS:
        kernel32 = _win_dll("kernel32")
        level = _THREAD_PRIORITY_BELOW_NORMAL if steps < 10 else _THREAD_PRIORITY_LOWEST
        return bool(kernel32.SetThreadPriority(kernel32.GetCurrentThread(), level))
    if not IS_LINUX:
        return False
    try:
        tid = threading.get_native_id()
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, now + steps))
    except OSError:
        return False
    return True


def lower_process_priority(steps: int, pid: int | None = None) -> bool:
    """Make a whole process (this one by default) ``steps`` nice steps less urgent.

    POSIX: ``setpriority`` on the process (on Linux this is the main thread's
    value: threads and processes started afterwards inherit it, threads
    already running keep theirs). Windows: the priority class ``BELOW_NORMAL``
    (``steps`` < 15) or ``IDLE``, which covers every thread.

    Parameters
    ----------
    steps
        Nice steps to add (POSIX scale, 1..19); 0 or less does nothing.
    pid
        The process; ``None`` means the calling process.

    Returns
    -------
    bool
        Whether the priority was lowered (errors are swallowed).
    """
    if steps <= 0:
        return False
    if IS_WINDOWS:
        kernel32 = _win_dll("kernel32")
        cls = _BELOW_NORMAL_PRIORITY_CLASS if steps < 15 else _IDLE_PRIORITY_CLASS
        if pid is None:
            return bool(kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), cls))
        access = _PROCESS_SET_INFORMATION | _PROCESS_QUERY_LIMITED_INFORMATION
        handle = kernel32.OpenProcess(access, False, pid)
        if not handle:
            return False
        try:
            return bool(kernel32.SetPriorityClass(handle, cls))
        finally:
            kernel32.CloseHandle(handle)
    try:
        who = 0 if pid is None else pid
        now = os.getpriority(os.PRIO_PROCESS, who)
        os.setpriority(os.PRIO_PROCESS, who, min(19, now + steps))
    except OSError:
        return False
    return True


# ----------------------------------------------------------------------------- memory cap
class _IoCounters(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in ("r_ops", "w_ops", "o_ops", "r", "w", "o")]


class _BasicLimits(ctypes.Structure):  # JOBOBJECT_BASIC_LIMIT_INFORMATION
    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_int64),
        ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", _DWORD),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", _DWORD),
        ("Affinity", ctypes.c_size_t),
        ("PriorityClass", _DWORD),
        ("SchedulingClass", _DWORD),
    ]


class _ExtendedLimits(ctypes.Structure):  # JOBOBJECT_EXTENDED_LIMIT_INFORMATION
    _fields_ = [
        ("BasicLimitInformation", _BasicLimits),
        ("IoInfo", _IoCounters),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


class _MemoryCounters(ctypes.Structure):  # PROCESS_MEMORY_COUNTERS_EX
    _fields_ = [
        ("cb", _DWORD),
        ("PageFaultCount", _DWORD),
        *[
            (n, ctypes.c_size_t)
            for n in (
                "PeakWorkingSetSize",
                "WorkingSetSize",
                "QuotaPeakPagedPoolUsage",
                "QuotaPagedPoolUsage",
                "QuotaPeakNonPagedPoolUsage",
                "QuotaNonPagedPoolUsage",
                "PagefileUsage",
                "PeakPagefileUsage",
                "PrivateUsage",
            )
        ],
    ]


_JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9
_JOB_OBJECT_LIMIT_PROCESS_MEMORY = 0x0100
_job_handle: int | None = None  # the Windows job object this process put itself in


def memory_in_use() -> int | None:
    """What this process's memory cap is measured against, in bytes, if known.

    Linux: the virtual address space (``/proc/self/statm``), which
    ``RLIMIT_AS`` bounds. Windows: the committed private bytes, which a job
    object's process memory limit bounds. ``None`` elsewhere.
    """
    if IS_WINDOWS:
        counters = _MemoryCounters()
        counters.cb = ctypes.sizeof(counters)
        kernel32 = _win_dll("kernel32")
        proc = kernel32.GetCurrentProcess()
        if not kernel32.K32GetProcessMemoryInfo(proc, ctypes.byref(counters), counters.cb):
            return None
        return int(counters.PrivateUsage)
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[0])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def cap_memory(budget: int) -> int | None:
    """Limit this process's memory to what it uses now plus ``budget`` bytes.

    An allocation past the cap fails (Python raises :class:`MemoryError`)
    instead of the machine swapping. POSIX: ``RLIMIT_AS`` (address space),
    never above the hard limit. Windows: the process puts itself in a job
    object with a process memory limit (committed memory, not address space).

    Parameters
    ----------
    budget
        Bytes allowed on top of the current use (2 GiB of headroom is assumed
        where the current use cannot be read).

    Returns
    -------
    int or None
        The limit set, or ``None`` when no cap could be set.
    """
    now = memory_in_use()
    limit = (now + budget) if now is not None else budget + (2 << 30)
    if IS_WINDOWS:
        return limit if _win_job_limit(limit) else None
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        return None
    return limit


def uncap_memory() -> None:
    """Lift the cap set by :func:`cap_memory` (back to the hard limit / no job limit)."""
    if IS_WINDOWS:
        _win_job_limit(None)
        return
    with contextlib.suppress(ValueError, OSError):
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def _win_job_limit(limit: int | None) -> bool:
    """Set (or with ``None`` clear) the process memory limit of this process's own job."""
    global _job_handle
    kernel32 = _win_dll("kernel32")
    if _job_handle is None:
        if limit is None:
            return True
        handle = kernel32.CreateJobObjectW(None, None)
        if not handle:
            return False
        # Nested jobs (Windows 8+) let this work inside a job the parent made.
        if not kernel32.AssignProcessToJobObject(handle, kernel32.GetCurrentProcess()):
            kernel32.CloseHandle(handle)
            return False
        _job_handle = int(handle)
    info = _ExtendedLimits()
    if limit is not None:
        info.BasicLimitInformation.LimitFlags = _JOB_OBJECT_LIMIT_PROCESS_MEMORY
        info.ProcessMemoryLimit = limit
    ok = kernel32.SetInformationJobObject(
        _job_handle, _JOB_OBJECT_EXTENDED_LIMIT_INFORMATION, ctypes.byref(info), ctypes.sizeof(info)
    )
    return bool(ok)


# ----------------------------------------------------------------------------- stopping
def on_stop_signal(handler: StopHandler) -> None:
    """Call ``handler(signum, frame)`` when this process is asked to stop.

    POSIX: SIGINT (Ctrl+C) and SIGTERM (``kill``, systemd, :func:`stop_process`).
    Windows: SIGINT (Ctrl+C) and SIGBREAK (Ctrl+Break, and the
    ``CTRL_BREAK_EVENT`` that :func:`stop_process` sends). Must be called from
    the main thread.
    """
    import signal

    signal.signal(signal.SIGINT, handler)
    second = getattr(signal, "SIGBREAK", None) if IS_WINDOWS else signal.SIGTERM
    if second is not None:
        signal.signal(second, handler)


def graceful_popen_kwargs() -> dict[str, Any]:
    """Extra :class:`subprocess.Popen` arguments so :func:`stop_process` can stop it gently.

    Windows: ``creationflags=CREATE_NEW_PROCESS_GROUP`` (a console control
    event can only be aimed at a process group). POSIX: nothing.
    """
    if IS_WINDOWS:
        import subprocess

        return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200)}
    return {}


def stop_process(
    proc: subprocess.Popen[Any], timeout: float = 5.0, *, new_group: bool = False
) -> int | None:
    """Ask a child process to stop, wait up to ``timeout`` s, then kill it.

    POSIX: SIGTERM, then SIGKILL. Windows: ``CTRL_BREAK_EVENT`` when the child
    was started with :func:`graceful_popen_kwargs` (``new_group=True``), else
    ``TerminateProcess`` straight away (Windows has no gentle signal for a
    process outside its own group).

    Parameters
    ----------
    proc
        The child.
    timeout
        Seconds to wait for a graceful exit before killing.
    new_group
        Whether ``proc`` was started with :func:`graceful_popen_kwargs`.

    Returns
    -------
    int or None
        The exit code (``None`` if it could not be collected).
    """
    import signal
    import subprocess

    if proc.poll() is not None:
        return proc.returncode
    with contextlib.suppress(OSError):
        if not IS_WINDOWS:
            proc.send_signal(signal.SIGTERM)
        elif new_group:
            proc.send_signal(getattr(signal, "CTRL_BREAK_EVENT", 1))
        else:
            proc.terminate()
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(OSError):
        proc.kill()
    try:
        return proc.wait(5.0)
    except subprocess.TimeoutExpired:
        return None


# ----------------------------------------------------------------------------- files
# ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION: what
# MoveFileEx says while another program (an antivirus, an indexer, an editor,
# Excel) holds the target or the source open without FILE_SHARE_DELETE.
_SHARING_ERRORS = frozenset({5, 32, 33})


def replace_file(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, timeout: float = 2.0
) -> None:
    """Atomically replace ``dst`` with ``src`` (``os.replace``), riding out sharing violations.

    POSIX renames over an open file without trouble (the holder keeps the old
    bytes). Windows refuses while another handle lacks ``FILE_SHARE_DELETE``;
    such a holder usually lets go within moments, so the rename is retried with
    a growing pause for up to ``timeout`` seconds before the error is raised.

    Parameters
    ----------
    src, dst
        Paths on the same volume.
    timeout
        Seconds to keep retrying a sharing violation.

    Raises
    ------
    OSError
        Any other error at once; a sharing violation after ``timeout``.
    """
    deadline = time.monotonic() + timeout
    pause = 0.01
    while True:
        try:
            os.replace(src, dst)
            return
        except PermissionError as e:
            if getattr(e, "winerror", None) not in _SHARING_ERRORS:
                raise
            if time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)  # the other program's handle, not ours: nothing to wait on
        pause = min(pause * 2, 0.25)


READ_ONLY_FLUSHABLE = IS_POSIX
"""Whether a read-only file can be flushed by its path. POSIX flushes through
any descriptor; Windows only through a handle that may write, which a
read-only file (a stored artifact) refuses: there it is flushed by its writer
before it closes."""


def fsync_file(path: str | os.PathLike[str]) -> bool:
    """Flush a closed file to disk by its path; ``False`` if it is gone.

    Windows flushes only through a handle that may write: the file must be
    writable there (see :data:`READ_ONLY_FLUSHABLE`). Other errors raise ``OSError``.
    """
    try:
        fd = os.open(path, (os.O_RDWR | getattr(os, "O_BINARY", 0)) if IS_WINDOWS else os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Flush a directory entry (after a rename) to disk; a no-op where directories cannot be opened.

    Windows has no directory handle for ``os.open``; NTFS journals the rename.
    """
    if not IS_POSIX:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def make_read_only(path: str | os.PathLike[str]) -> None:
    """Mark a stored file read-only for everyone (POSIX mode 0444; Windows: the read-only attribute)."""
    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


# Well-known SIDs a fresh file inherits access for: Everyone, Authenticated
# Users, BUILTIN\Users.
_BROAD_SIDS = ("*S-1-1-0", "*S-1-5-11", "*S-1-5-32-545")


def restrict_to_owner(path: str | os.PathLike[str]) -> None:
    """Let only the current user read and write ``path`` (a private key).

    POSIX: mode 0600. Windows: an ACL with one entry, full control for the
    current user's SID, with inheritance from the folder removed (``icacls
    /inheritance:r /grant:r *SID:F``); administrators can still take ownership,
    as everywhere on Windows.

    Raises
    ------
    ModelWardError
        When the permissions cannot be set (the key is then not protected).
    """
    if not IS_WINDOWS:
        try:
            os.chmod(path, 0o600)
        except OSError as e:
            raise ModelWardError(
                f"cannot make {path} private to its owner: {e.strerror or e}"
            ) from None
        return
    icacls = Path(os.environ.get("SystemRoot", r"C:\Windows")) / "System32" / "icacls.exe"
    grant, remove = _icacls_commands(str(icacls), path, user_id())
    done = _run_quiet(grant)
    if done is None or done.returncode != 0:
        why = (done.stdout + done.stderr).strip().splitlines() if done is not None else []
        raise ModelWardError(
            f"cannot make {path} private to its owner: icacls said "
            f"{why[-1] if why else 'nothing (it did not run)'}"
        )
    # Best effort: the broad groups' inherited entries went with /inheritance:r;
    # this drops explicit ones, which a freshly created file does not carry.
    _run_quiet(remove)


def _icacls_commands(
    icacls: str, path: str | os.PathLike[str], sid: str
) -> tuple[list[str], list[str]]:
    """The two ``icacls`` command lines of :func:`restrict_to_owner`."""
    target = os.fspath(path)
    grant = [icacls, target, "/inheritance:r", "/grant:r", f"*{sid}:F"]
    remove = [icacls, target, "/remove:g", *_BROAD_SIDS]
    return grant, remove


def _run_quiet(cmd: list[str]) -> subprocess.CompletedProcess[str] | None:
    import subprocess

    try:
        # icacls writes in the console's OEM code page: never fail on decoding it
        return subprocess.run(
            cmd, capture_output=True, text=True, errors="replace", timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def is_owner_only(path: str | os.PathLike[str]) -> bool | None:
    """Whether nobody but the owner may read ``path`` (POSIX: no group/other bits).

    Returns ``None`` on Windows, where reading an ACL back is not implemented.
    """
    if IS_WINDOWS:
        return None
    return stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0


# ----------------------------------------------------------------------------- identity
def user_name() -> str:
    """The OS account name running this process: the *who* of audit events.

    ``getpass.getuser()`` (the login environment), else on Windows the
    ``GetUserNameW`` account, else ``USERNAME``/``USER``, else ``uid-N``.
    """
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (containers, services): getpass raises several kinds
        pass
    if IS_WINDOWS:
        buf = ctypes.create_unicode_buffer(257)
        size = _DWORD(len(buf))
        if _win_dll("advapi32").GetUserNameW(buf, ctypes.byref(size)):
            return buf.value
    env = os.environ.get("USERNAME") or os.environ.get("USER")
    if env:
        return env
    return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def user_id() -> str:
    """A stable id of the OS account, unlike the name not settable from the environment.

    POSIX: ``uid:<n>`` (the real user id). Windows: the account's SID
    (``S-1-5-21-…``), read from the process token.
    """
    if IS_WINDOWS:
        return _win_user_sid()
    return f"uid:{os.getuid()}"


class _SidAndAttributes(ctypes.Structure):  # TOKEN_USER
    _fields_ = [("Sid", ctypes.c_void_p), ("Attributes", _DWORD)]


_TOKEN_QUERY = 0x0008
_TOKEN_USER_CLASS = 1


def _win_user_sid() -> str:
    kernel32, advapi32 = _win_dll("kernel32"), _win_dll("advapi32")
    token = _HANDLE()
    if not advapi32.OpenProcessToken(
        kernel32.GetCurrentProcess(), _TOKEN_QUERY, ctypes.byref(token)
    ):
        raise _win_error("OpenProcessToken")
    try:
        needed = _DWORD()
        advapi32.GetTokenInformation(token, _TOKEN_USER_CLASS, None, 0, ctypes.byref(needed))
        buf = ctypes.create_string_buffer(needed.value)
        if not advapi32.GetTokenInformation(
            token, _TOKEN_USER_CLASS, buf, needed, ctypes.byref(needed)
        ):
            raise _win_error("GetTokenInformation")
        user = _SidAndAttributes.from_buffer(buf)
        text = ctypes.c_wchar_p()
        if not advapi32.ConvertSidToStringSidW(user.Sid, ctypes.byref(text)):
            raise _win_error("ConvertSidToStringSidW")
        try:
            return str(text.value)
        finally:
            kernel32.LocalFree(ctypes.cast(text, ctypes.c_void_p))
    finally:
        kernel32.CloseHandle(token)


# ----------------------------------------------------------------------------- desktop
def has_display() -> bool:
    """Whether a window can be shown here (an explicit ``QT_QPA_PLATFORM`` counts).

    Linux and the BSDs need an X11 or Wayland display; Windows and macOS always
    have a desktop when a user runs the program.
    """
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


_BACKGROUND: ThreadPoolExecutor | None = None
_BACKGROUND_LOCK = threading.Lock()


def background() -> ThreadPoolExecutor:
    """The process's threads for waits that overlap the caller's own work.

    A journal line's fsync while DuckDB commits, a stored artifact's fsyncs
    while its registration's statements run: work that spends its time in
    the kernel, awaited before anything is acknowledged. Two threads, made
    on first use (a ``concurrent.futures.ThreadPoolExecutor``).
    """
    from concurrent.futures import ThreadPoolExecutor  # deferred: start-up cost (about 5 ms)

    global _BACKGROUND
    with _BACKGROUND_LOCK:
        if _BACKGROUND is None:
            _BACKGROUND = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mw-sync")
        return _BACKGROUND


def syncfs(path: Path) -> bool:
    """``syncfs(2)`` on the file system holding ``path``; ``False`` where there is none."""
    if not IS_LINUX:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY)
    except (OSError, AttributeError):
        return False
    try:
        return bool(libc.syncfs(fd) == 0)
    except AttributeError:
        return False
    finally:
        os.close(fd)
