"""The first look at an untrusted model file happens in another process.

A worker process (our own executable started again with ``--mw-worker
inspect``, see :mod:`modelward.core.workers`, so it works in the frozen
bundle too) loads the file with the restricted loaders of
:mod:`~modelward.core.artifacts.safeload` under a memory cap, and sends back
only plain JSON: the estimator's class, steps, parameters, signature and the
scikit-learn version the file was saved with. Nothing from the file ever
crosses into the app as a Python object.

Workers are long-lived and serve many files each, one at a time; a
:class:`Sandbox` keeps a small pool of them for concurrent jobs. A file that
takes longer than its time limit gets its worker killed (a fresh one starts
for the next file); a file that allocates past the memory cap is rejected and
its worker replaced.

The wire format on the worker's stdin/stdout: a 4-byte big-endian length,
then that many bytes of UTF-8 JSON. Both ends are ours.

Memory caps come from :func:`modelward.core.platform.cap_memory`
(``RLIMIT_AS`` on POSIX, a job object's memory limit on Windows).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import queue
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

from modelward.core import platform
from modelward.core.artifacts.allowlist import Allowlist, lazy_allowlist
from modelward.core.artifacts.formats import NATIVE_FORMATS
from modelward.core.artifacts.metadata import describe_estimator
from modelward.core.artifacts.safeload import load_bytes
from modelward.core.errors import Cancelled, ModelWardError, RejectedFile
from modelward.core.workers import worker_command

_HEADER = struct.Struct(">I")
_MAX_MESSAGE = 64 * 1024 * 1024

DEFAULT_TIMEOUT = 120.0
"""Seconds of processor time one file may take in the worker (plus one second per 20 MB)."""
WALL_FACTOR = 10.0
"""Wall time a file may take, as a multiple of its processor-time limit.

The limit counts the worker's processor time, not the clock's: the worker runs
at a lower priority, so on a busy host a good file may wait minutes for a core
(a 200 MB model was refused after 130 s beside two busy loops). The clock still
stops a worker that waits without working, and every worker where its
processor time cannot be read (neither Linux nor Windows).
"""
DEFAULT_MEMORY_MB = 4096
"""Address space a file may add to the worker, in MB (at least 8x the file size)."""
STARTUP_TIMEOUT = 90.0


class SandboxUnavailable(ModelWardError):
    """The inspection worker could not be started; the file was not judged."""


# ----------------------------------------------------------------------------- framing
def _write_frame(stream: IO[bytes], obj: Any) -> None:
    data = json.dumps(obj, default=str, ensure_ascii=False).encode("utf-8")
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exact(stream: IO[bytes], n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _read_frame(stream: IO[bytes]) -> Any:
    head = _read_exact(stream, _HEADER.size)
    if head is None:
        return None
    (n,) = _HEADER.unpack(head)
    if n > _MAX_MESSAGE:
        raise ValueError("message too large")
    body = _read_exact(stream, n)
    if body is None:
        return None
    return json.loads(body.decode("utf-8"))


# ----------------------------------------------------------------------------- worker side
def _cap_memory(budget: int) -> int | None:
    """Limit the address space to what is used now plus ``budget``; returns the limit."""
    return platform.cap_memory(budget)


def _uncap_memory() -> None:
    platform.uncap_memory()


def _inspect(req: dict[str, Any]) -> dict[str, Any]:
    """Load one file with the restricted loader and describe it (runs in the worker)."""

    with open(req["path"], "rb") as f:
        data = f.read()
    expected = req.get("sha256")
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise RejectedFile("the file changed after it was hashed; it was not loaded")
    allow = Allowlist([tuple(p) for p in req.get("extra_globals", [])])  # type: ignore[misc]
    if req["format"] in NATIVE_FORMATS:
        # deferred: start-up cost
        from modelward.core.artifacts.native import MissingExtra, describe_native

        try:
            native = load_bytes(data, req["format"], allow)
        except MissingExtra as e:
            raise RejectedFile(e.reason.replace("this version", "this file", 1)) from None
        meta = describe_native(native)
        meta["status"] = "ok"
        json.dumps(meta)
        return meta
    if req.get("op") == "native":
        return _to_native(data, req, allow)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        obj = load_bytes(data, req["format"], allow)
        del data
        meta = describe_estimator(obj)
    import sklearn  # deferred: start-up cost

    meta["sklearn_version_running"] = sklearn.__version__
    meta["status"] = "ok"
    for w in caught:
        if type(w.message).__name__ == "InconsistentVersionWarning":
            meta["status"] = "needs_revalidation"
            saved = getattr(w.message, "original_sklearn_version", None)
            if saved:
                meta["sklearn_version"] = str(saved)
    json.dumps(meta)  # plain data only, checked here rather than on the wire
    return meta


def _to_native(data: bytes, req: dict[str, Any], allow: Allowlist) -> dict[str, Any]:
    """Load a reviewer-trusted pickle of a boosting model and save it natively (in the worker).

    The unpickling happens here, in the sandbox, with the reviewer's approved
    globals only; the app gets back the new file's path and kind.
    """
    from modelward.core.artifacts.native import native_kind_of, save_native  # deferred

    obj = load_bytes(data, req["format"], allow)
    del data
    kind = native_kind_of(obj)
    if kind is None:
        raise RejectedFile(
            f"the file holds a {type(obj).__name__}, which has no native format "
            "(XGBoost, LightGBM and CatBoost models do)"
        )
    out = str(req["out"])
    save_native(obj, out)
    return {"kind": kind, "out": out, "estimator_class": describe_estimator(obj)["estimator_class"]}


def _serve_files(proto_in: IO[bytes], proto_out: IO[bytes], budget: int) -> None:
    """Answer inspection requests from ``proto_in`` until it closes (one worker's life)."""
    _write_frame(proto_out, {"ready": True, "pid": os.getpid()})
    while True:
        req = _read_frame(proto_in)
        if req is None:
            return
        size = int(req.get("size", 0))
        mine = int(req.get("memory_mb") or 0) << 20 or budget
        limit = _cap_memory(max(mine, 8 * size))
        try:
            reply: dict[str, Any] = {"ok": True, "meta": _inspect(req)}
            fatal = False
        except RejectedFile as e:
            reply, fatal = {"ok": False, "reason": e.reason}, False
        except MemoryError:
            cap = f" ({(limit or 0) >> 20} MB)" if limit else ""
            reply = {"ok": False, "reason": f"loading the file needs more memory than allowed{cap}"}
            fatal = True
        except RecursionError:
            reply, fatal = {"ok": False, "reason": "the file is nested too deeply"}, True
        except Exception as e:  # anything else the file provoked is its fault
            reply = {"ok": False, "reason": f"the file could not be read: {type(e).__name__}: {e}"}
            fatal = False
        finally:
            _uncap_memory()
        reply["retire"] = fatal
        _write_frame(proto_out, reply)
        if fatal:  # a worker that ran out of memory is not trusted with the next file
            return


def worker_main() -> None:
    """Entry point of the ``inspect`` worker: serve requests on stdin until it closes.

    With ``MODELWARD_SANDBOX_SERVE`` set it is the user's session server
    instead (see :func:`serve_session`).
    """
    proto_out = os.fdopen(os.dup(1), "wb")
    # Anything else written to stdout (by us or by C code) must not corrupt the
    # protocol: point file descriptor 1 at stderr.
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    proto_in = sys.stdin.buffer
    budget = int(os.environ.get("MODELWARD_SANDBOX_MEMORY_MB", DEFAULT_MEMORY_MB)) << 20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import sklearn  # noqa: F401 - warm up before the first file

        lazy_allowlist()
    serve = os.environ.get(SERVE_ENV)
    if serve:
        serve_session(serve, budget)
        return
    _serve_files(proto_in, proto_out, budget)


def _wait_reply(
    replies: queue.Queue[Any],
    timeout: float,
    cancel: Callable[[], bool] | None,
    pid: int | None = None,
) -> tuple[str, Any]:
    """The worker's reply, or why there is none.

    ``("reply", msg)``, ``("died", None)``, ``("cancelled", None)``, or
    ``("timeout", "cpu")`` when the worker ``pid`` used ``timeout`` seconds of
    processor time on this request, ``("timeout", seconds)`` when the clock ran
    past ``seconds`` (``timeout`` × :data:`WALL_FACTOR` where the worker's
    processor time is known, ``timeout`` where it is not).
    """
    cpu0 = platform.process_cpu_seconds(pid) if pid is not None else None
    start = time.monotonic()
    wall = timeout * WALL_FACTOR if cpu0 is not None else timeout
    deadline = start + wall
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout", wall
        try:
            msg = replies.get(timeout=min(left, 0.1))
        except queue.Empty:
            if cancel is not None and cancel():
                return "cancelled", None
            if cpu0 is not None and time.monotonic() - start >= timeout:
                used = platform.process_cpu_seconds(pid)  # type: ignore[arg-type]
                if used is not None and used - cpu0 >= timeout:
                    return "timeout", "cpu"
            continue
        return ("reply", msg) if msg is not None else ("died", None)


# ----------------------------------------------------------------------------- session server
SERVE_ENV = "MODELWARD_SANDBOX_SERVE"
SERVER_ENV = "MODELWARD_SANDBOX_SERVER"
"""``0`` turns the session server off: every process starts its own workers."""
SERVER_IDLE = 600.0
"""Seconds the session server waits for a new connection before it exits."""


def server_address() -> str | None:
    """Where this installation's session server listens, or ``None`` where there is none.

    Linux only (the server forks; a fork after scikit-learn's imports is not
    safe on macOS, and Windows has no fork). The socket lives in a folder
    only the user can enter, named after this installation, so two
    checkouts or versions never share a server.
    """
    if not platform.IS_LINUX or os.environ.get(SERVER_ENV, "1") == "0":
        return None
    base = os.environ.get("XDG_RUNTIME_DIR") or ""
    if not base or not os.path.isdir(base):
        base = os.path.join(tempfile.gettempdir(), f"modelward-{os.getuid()}")
    else:
        base = os.path.join(base, "modelward")
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        st = os.stat(base)
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None  # a folder someone else can enter: no server
    here = os.path.dirname(os.path.abspath(__file__))
    # The loaders' code is part of the key: an edited checkout gets a new server.
    stamps = [
        str(os.stat(os.path.join(here, f)).st_mtime_ns)
        for f in ("sandbox.py", "safeload.py", "allowlist.py", "metadata.py", "native.py")
        if os.path.exists(os.path.join(here, f))
    ]
    key = "|".join([sys.executable, here, *stamps, str(sys.version_info[:2])])
    return os.path.join(base, f"sandbox-{hashlib.sha256(key.encode()).hexdigest()[:16]}.sock")


def serve_session(address: str, budget: int, idle: float | None = None) -> None:
    """The session server: scikit-learn imported once, one forked worker per connection.

    A worker (a fork of this process) serves its one client exactly as a
    worker started alone would, under the same memory cap per file, and
    exits when the client closes; the server itself never reads a model
    file. Only the same user may connect (checked with the peer's
    credentials). The server exits after ``idle`` seconds without a new
    connection, or when another server already holds the address.
    """
    import fcntl  # POSIX only, like the server
    import signal
    import socket

    idle = float(os.environ.get("MODELWARD_SANDBOX_IDLE", SERVER_IDLE)) if idle is None else idle
    lock = open(address + ".lock", "a")  # noqa: SIM115 - held for the server's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server is alive
    with contextlib.suppress(FileNotFoundError):
        os.unlink(address)  # a dead server's socket
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o077)
    try:
        srv.bind(address)
    finally:
        os.umask(old)
    srv.listen(16)
    srv.settimeout(idle)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    ident = os.stat(address).st_ino
    try:
        while True:
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                return
            creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            if struct.unpack("3i", creds)[1] != os.getuid():
                conn.close()
                continue
            pid = os.fork()
            if pid == 0:  # the worker
                code = 0
                try:
                    srv.close()
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    conn.settimeout(None)
                    _serve_files(conn.makefile("rb"), conn.makefile("wb"), budget)
                except BaseException:
                    code = 1
                finally:
                    os._exit(code)
            conn.close()
    finally:
        with contextlib.suppress(OSError):
            if os.stat(address).st_ino == ident:
                os.unlink(address)
        srv.close()


class _SessionWorker:
    """A worker forked by the session server, reached over its socket (same face as :class:`_Worker`)."""

    def __init__(self, sock: Any):
        self.sock = sock
        self.pid: int | None = None
        self._in = sock.makefile("rb")
        self._out = sock.makefile("wb")
        self._done = threading.Event()
        self.replies: queue.Queue[Any] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="mw-sandbox-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                msg = _read_frame(self._in)
                if isinstance(msg, dict) and msg.get("ready") and self.pid is None:
                    self.pid = int(msg["pid"])
                self.replies.put(msg)
                if msg is None:
                    break
        except Exception:
            self.replies.put(None)
        self._done.set()

    def wait_reply(
        self, timeout: float, cancel: Callable[[], bool] | None = None
    ) -> tuple[str, Any]:
        return _wait_reply(self.replies, timeout, cancel, self.pid)

    def send(self, msg: Any) -> bool:
        try:
            _write_frame(self._out, msg)
            return True
        except (OSError, ValueError):
            return False

    @property
    def returncode(self) -> int | None:
        return None  # not our child: its exit status is the server's to reap

    @property
    def alive(self) -> bool:
        if self._done.is_set() or self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        return True

    def kill(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, 9)
        self._close_socket()

    def close(self) -> None:
        self._close_socket()  # the worker reads the end of its input and exits

    def _close_socket(self) -> None:
        import socket

        # Shut down first: it wakes the reader thread (closing its file while it
        # reads would wait on the file's lock forever); the worker reads the end.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self._done.wait(5)
        for f in (self._out, self._in):
            with contextlib.suppress(Exception):
                f.close()
        with contextlib.suppress(Exception):
            self.sock.close()


def _connect_session(address: str, *, start: bool, wait: float) -> _SessionWorker | None:
    """A worker from the session server at ``address``; starts the server when there is none."""
    import socket

    deadline = time.monotonic() + wait
    started = False
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(address)
            return _SessionWorker(sock)
        except OSError:
            sock.close()
        if not start:
            return None
        if not started:
            started = True
            env = _worker_env(DEFAULT_MEMORY_MB)
            env[SERVE_ENV] = address
            try:
                subprocess.Popen(
                    worker_command("inspect"),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                    start_new_session=True,  # outlives this process: that is its point
                    close_fds=True,
                )
            except OSError:
                return None
        if time.monotonic() > deadline:
            return None
        time.sleep(0.02)


# ----------------------------------------------------------------------------- app side
class _Worker:
    """One worker process and the thread that reads its replies."""

    def __init__(self, command: Sequence[str], env: dict[str, str], debug: bool):
        try:
            self.proc = subprocess.Popen(
                list(command),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=None if debug else subprocess.DEVNULL,
                env=env,
            )
        except OSError as e:
            raise SandboxUnavailable(
                f"cannot start the model inspection worker: {e.strerror or e}"
            ) from None
        self.replies: queue.Queue[Any] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="mw-sandbox-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            while True:
                msg = _read_frame(self.proc.stdout)
                self.replies.put(msg)
                if msg is None:
                    return
        except Exception:
            self.replies.put(None)

    def wait_reply(
        self, timeout: float, cancel: Callable[[], bool] | None = None
    ) -> tuple[str, Any]:
        """See :func:`_wait_reply`."""
        return _wait_reply(self.replies, timeout, cancel, self.proc.pid)

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def send(self, msg: Any) -> bool:
        try:
            assert self.proc.stdin is not None
            _write_frame(self.proc.stdin, msg)
            return True
        except (OSError, ValueError):
            return False

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=10)
        for s in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(Exception):
                s.close()  # type: ignore[union-attr]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
        with contextlib.suppress(Exception):
            self.proc.stdout.close()  # type: ignore[union-attr]


def _worker_env(memory_mb: int) -> dict[str, str]:
    env = dict(os.environ)
    # One thread per library in the worker: it inspects, it does not compute.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env["MODELWARD_SANDBOX_MEMORY_MB"] = str(memory_mb)
    return env


class Sandbox:
    """A small pool of inspection workers.

    Parameters
    ----------
    timeout
        Seconds one file may take (plus one second per 20 MB of file); then its
        worker is killed and the file rejected.
    memory_mb
        Address space one file may add to its worker, in MB (POSIX only); the
        budget grows to 8x the file size for large files.
    max_workers
        Workers kept for concurrent inspections.
    command
        The worker's argv; default :func:`modelward.core.workers.worker_command`.

    Examples
    --------
    >>> with Sandbox() as sb:                                  # doctest: +SKIP
    ...     meta = sb.inspect("model.joblib", fmt="joblib")
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        memory_mb: int = DEFAULT_MEMORY_MB,
        max_workers: int = 2,
        command: Sequence[str] | None = None,
    ):
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.max_workers = max(1, max_workers)
        self._command = list(command) if command is not None else None
        self._idle: queue.LifoQueue[_Worker | _SessionWorker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._started = 0
        self._closed = False
        self._warming = False
        self.workers_started = 0  # lifetime count, for tests and diagnostics

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _argv(self) -> list[str]:
        if self._command is not None:
            return self._command

        return worker_command("inspect")

    def _start(self) -> _Worker | _SessionWorker:
        debug = bool(os.environ.get("MODELWARD_DEBUG"))
        address = server_address() if self._command is None and not debug else None
        w: _Worker | _SessionWorker | None = None
        if address is not None:
            # A fork of the user's session server: ready in milliseconds, not
            # the seconds a new Python with scikit-learn takes.
            w = _connect_session(address, start=True, wait=STARTUP_TIMEOUT)
        if w is None:
            w = _Worker(self._argv(), _worker_env(self.memory_mb), debug)
        self.workers_started += 1
        kind, msg = w.wait_reply(STARTUP_TIMEOUT)
        if kind != "reply" or not (isinstance(msg, dict) and msg.get("ready")):
            w.kill()
            raise SandboxUnavailable(
                "the model inspection worker did not start; run 'modelward selftest' "
                "(set MODELWARD_DEBUG=1 to see its output)"
            )
        return w

    def _acquire(self) -> _Worker | _SessionWorker:
        while True:
            with self._lock:
                if self._closed:
                    raise SandboxUnavailable("the model inspection sandbox was shut down")
                try:
                    w = self._idle.get_nowait()
                except queue.Empty:
                    w = None
                if w is None and self._started < self.max_workers:
                    self._started += 1
                    break
            if w is not None:
                if w.alive:
                    return w
                self._discard(w)
                continue
            w = self._idle.get()  # all workers busy: wait for one
            if w.alive:
                return w
            self._discard(w)
        try:
            return self._start()
        except BaseException:
            with self._lock:
                self._started -= 1
            raise

    def _release(self, w: _Worker | _SessionWorker) -> None:
        with self._lock:
            closed = self._closed
        if closed:
            w.close()
        else:
            self._idle.put(w)

    def _discard(self, w: _Worker | _SessionWorker) -> None:
        w.kill()
        with self._lock:
            self._started -= 1

    def warm_up(self) -> None:
        """Start one worker now (e.g. at app start) so the first file does not wait for it."""
        self._release(self._acquire())

    def warm_up_in_background(self) -> None:
        """:meth:`warm_up` on a thread of its own, once per sandbox (``watch`` starting)."""
        with self._lock:
            if self._warming or self._closed:
                return
            self._warming = True

        def run() -> None:
            try:
                self.warm_up()
            except ModelWardError:  # the first real inspection reports it properly
                pass

        threading.Thread(target=run, name="mw-sandbox-warm-up", daemon=True).start()

    def inspect(
        self,
        path: str | os.PathLike[str],
        *,
        fmt: str,
        sha256: str | None = None,
        extra_globals: Iterable[tuple[str, str]] = (),
        timeout: float | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> dict[str, Any]:
        """Load ``path`` in a worker and return its plain metadata.

        Parameters
        ----------
        path
            The file (normally the artifact store's copy).
        fmt
            Its format from :func:`~modelward.core.artifacts.formats.detect_format`.
        sha256
            When given, the worker checks the bytes it reads against it.
        extra_globals
            Globals a reviewer approved for this file.
        timeout
            Overrides the sandbox's time limit for this file.
        cancel
            Polled about ten times a second; when it returns ``True`` the
            worker is killed and :class:`Cancelled` raised.

        Returns
        -------
        dict
            ``describe_estimator`` output plus ``status`` (``"ok"`` or
            ``"needs_revalidation"``) and ``sklearn_version_running``.

        Raises
        ------
        RejectedFile
            The file was refused, hung, used too much memory or crashed the worker.
        SandboxUnavailable
            No worker could be started (the file was not judged).
        """
        return self._request(
            path,
            {"format": fmt},
            sha256=sha256,
            extra_globals=extra_globals,
            timeout=timeout,
            cancel=cancel,
        )

    def _request(
        self,
        path: str | os.PathLike[str],
        fields: dict[str, Any],
        *,
        sha256: str | None,
        extra_globals: Iterable[tuple[str, str]],
        timeout: float | None,
        cancel: Callable[[], bool] | None,
    ) -> dict[str, Any]:
        size = os.path.getsize(path)
        limit = (self.timeout if timeout is None else timeout) + size / (20 << 20)
        req = {
            "path": os.fspath(path),
            "sha256": sha256,
            "size": size,
            "extra_globals": [list(p) for p in extra_globals],
            "memory_mb": self.memory_mb,
            **fields,
        }
        w = self._acquire()
        if not w.send(req):
            self._discard(w)
            w = self._acquire()
            if not w.send(req):
                self._discard(w)
                raise SandboxUnavailable("the model inspection worker stopped responding")
        kind, msg = w.wait_reply(limit, cancel)
        if kind == "reply" and isinstance(msg, dict):
            # A worker that ran out of memory retires after replying.
            if msg.get("retire") or not w.alive:
                self._discard(w)
            else:
                self._release(w)
            if msg.get("ok"):
                return dict(msg["meta"])
            raise RejectedFile(str(msg.get("reason") or "rejected by the sandbox"))
        self._discard(w)
        if kind == "cancelled":
            raise Cancelled("inspection cancelled")
        if kind == "timeout" and msg == "cpu":
            raise RejectedFile(
                f"reading the file took longer than {limit:.0f} s of processor time; "
                "the inspection was stopped"
            )
        if kind == "timeout":
            raise RejectedFile(
                f"reading the file took longer than {msg:.0f} s; the inspection was stopped"
            )
        code = w.returncode
        how = f" (signal {-code})" if code is not None and code < 0 else ""
        raise RejectedFile(f"the file crashed the inspection worker{how}")

    def save_native(
        self,
        path: str | os.PathLike[str],
        out: str | os.PathLike[str],
        *,
        fmt: str,
        sha256: str | None = None,
        extra_globals: Iterable[tuple[str, str]] = (),
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Unpickle a trusted boosting model in a worker and write it natively to ``out``.

        Parameters
        ----------
        path
            The pickle or joblib file (normally the store's copy).
        out
            Where the worker writes the native file.
        fmt
            ``"pickle"`` or ``"joblib"``.
        sha256
            The digest the bytes must have.
        extra_globals
            The globals a reviewer approved for these bytes.
        timeout
            Overrides the sandbox's time limit.

        Returns
        -------
        dict
            ``kind`` (the native format written), ``out`` and ``estimator_class``.

        Raises
        ------
        RejectedFile
            The file could not be loaded with those globals, or holds no boosting model.
        """
        return self._request(
            path,
            {"op": "native", "format": fmt, "out": os.fspath(out)},
            sha256=sha256,
            extra_globals=extra_globals,
            timeout=timeout,
            cancel=None,
        )

    def _discard_quietly(self, w: _Worker | _SessionWorker) -> None:
        # Already returned to the pool as idle; it will be found dead and replaced.
        pass

    def close(self) -> None:
        """Stop every idle worker; busy ones stop when their file is done."""
        with self._lock:
            self._closed = True
        while True:
            try:
                w = self._idle.get_nowait()
            except queue.Empty:
                break
            w.close()


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process-wide sandbox (created on first use, closed at exit)."""
    global _default
    with _default_lock:
        if _default is None or _default._closed:
            _default = Sandbox()
            atexit.register(_default.close)
        return _default


def set_default_sandbox(sandbox: Sandbox | None) -> Sandbox | None:
    """Replace the process-wide sandbox (tests, settings); returns the previous one."""
    global _default
    with _default_lock:
        prev, _default = _default, sandbox
        return prev
