"""Training, validation and comparison in a worker process, over JSON lines.

pandas and the one-hot encoder hold the GIL for hundreds of milliseconds on
large string columns, so a fit in a thread of the window's process stalls its
event loop. The window therefore runs these jobs in a child process started
with :func:`~modelward.core.workers.worker_command` (``train``), which works
in a source checkout and in the frozen bundle alike. The job thread that
waits for the child blocks on a pipe and holds no GIL.

The protocol, one JSON object per line:

* parent → child: the request first, ``{"kind": "train" | "validate" |
  "compare", "registry": PATH, ...}`` (see :func:`run_request`); later, at
  any time, ``{"cancel": true}``. End of input also cancels (the parent died).
* child → parent: ``{"progress": F, "status": S}``, ``{"score": FoldScore}``
  (training only, as each fit finishes), ``{"log": LINE}``, and last either
  ``{"result": ...}`` or ``{"error": MESSAGE, "kind": ErrorClassName}``.

Cancel is honoured where the core checks its token (between folds, between
chunks); :func:`run_in_worker` terminates a child that has not answered a
cancel within ``grace`` seconds. The child opens the registry with
:class:`~modelward.core.registry.Registry` like any second process: it waits
(with retry) while the window holds the database file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import IO, Any

from modelward.core import errors as _errors
from modelward.core import platform
from modelward.core.errors import Cancelled, InvalidInput, ModelWardError
from modelward.core.progress import CancelToken

__all__ = [
    "KINDS",
    "WORKER_NAME",
    "ScoreBuffer",
    "run_in_worker",
    "run_request",
    "worker_job",
    "worker_main",
]

log = logging.getLogger(__name__)

WORKER_NAME = "train"
KINDS = ("train", "validate", "compare", "demo")
MessageFn = Callable[[dict[str, Any]], None]


# --------------------------------------------------------------------------- the work
def run_request(
    request: dict[str, Any],
    send: MessageFn,
    cancel: CancelToken,
) -> dict[str, Any]:
    """Carry out one request (in the worker process) and return its JSON result.

    Parameters
    ----------
    request
        ``kind`` and ``registry`` (the registry folder), optionally ``actor``
        and ``busy_timeout``; then per kind:

        * ``train``: ``recipe`` (:meth:`Recipe.to_json`), ``name``, optional
          ``description`` and ``n_jobs``;
        * ``validate``: ``ref``, ``data``, optional ``target``, ``allow_extra``;
        * ``compare``: ``champion``, ``challenger``, ``data``, optional
          ``gates`` (texts), ``alpha``, ``n_boot``, ``target``, ``allow_extra``;
        * ``demo``: nothing more (builds the demo workspace, see
          :func:`~modelward.core.demo.build_full_demo`).
    send
        Receives the progress, score and log messages.
    cancel
        Checked by the core between steps.

    Returns
    -------
    dict
        ``TrainResult.to_json()``, ``ValidationResult.to_json()`` or
        ``ComparisonResult.to_json()`` (with both validations' curves), or the
        ``FullDemo`` fields.

    Raises
    ------
    ModelWardError
        Whatever the core raises, or :class:`InvalidInput` for a bad request.
    """
    from modelward.core.registry import Registry

    kind = request.get("kind")
    if kind not in KINDS:
        raise InvalidInput(f"unknown worker request {kind!r}: use one of {', '.join(KINDS)}")
    if not request.get("registry"):
        raise InvalidInput("the worker request names no registry")
    last: list[Any] = [None]

    def progress(fraction: float, status: str) -> None:
        key = (round(float(fraction), 3), status)
        if key != last[0]:  # throttle: only visible changes cross the pipe
            last[0] = key
            send({"progress": float(fraction), "status": status})

    def waiting(message: str) -> None:
        send({"progress": 0.0, "status": message})

    reg = Registry(
        request["registry"],
        actor=request.get("actor"),
        busy_timeout=request.get("busy_timeout"),
        on_wait=waiting,
    )
    try:
        if kind == "train":
            return _train(reg, request, progress, send, cancel)
        if kind == "validate":
            return _validate(reg, request, progress, cancel)
        if kind == "demo":
            return _demo(reg, progress, cancel)
        return _compare(reg, request, progress, cancel)
    finally:
        reg.close()


def _need(request: dict[str, Any], *keys: str) -> None:
    missing = [k for k in keys if not request.get(k)]
    if missing:
        raise InvalidInput(f"the {request['kind']} request needs {', '.join(missing)}")


def _train(
    reg: Any,
    request: dict[str, Any],
    progress: Callable[[float, str], None],
    send: MessageFn,
    cancel: CancelToken,
) -> dict[str, Any]:
    from modelward.core.compute.parallel import Compute
    from modelward.core.compute.recipe import Recipe
    from modelward.core.compute.training import FoldScore, train

    _need(request, "recipe", "name")
    recipe = Recipe.from_json(request["recipe"])

    def on_score(score: FoldScore) -> None:
        send({"score": json.loads(json.dumps(asdict(score), default=_plain))})

    res = train(
        reg,
        recipe,
        str(request["name"]),
        compute=Compute(n_jobs=int(request.get("n_jobs") or 1)),
        progress=progress,
        cancel=cancel,
        on_score=on_score,
        description=request.get("description"),
    )
    return res.to_json()


def _demo(reg: Any, progress: Callable[[float, str], None], cancel: CancelToken) -> dict[str, Any]:
    from modelward.core.demo import build_full_demo

    # Each step opens the file for its own writes only, so a window showing this
    # registry keeps reading (and shows the models as they arrive).
    return asdict(build_full_demo(reg, progress=progress, cancel=cancel))


def _validate(
    reg: Any, request: dict[str, Any], progress: Callable[[float, str], None], cancel: CancelToken
) -> dict[str, Any]:
    from modelward.core.compute.validation import validate

    _need(request, "ref", "data")
    res = validate(
        reg,
        str(request["ref"]),
        str(request["data"]),
        target=request.get("target") or None,
        allow_extra=bool(request.get("allow_extra")),
        progress=progress,
        cancel=cancel,
    )
    return res.to_json()


def _compare(
    reg: Any, request: dict[str, Any], progress: Callable[[float, str], None], cancel: CancelToken
) -> dict[str, Any]:
    from modelward.core.compute.compare import compare

    _need(request, "champion", "challenger", "data")
    res = compare(
        reg,
        str(request["champion"]),
        str(request["challenger"]),
        str(request["data"]),
        gates=list(request.get("gates") or ()),
        alpha=float(request.get("alpha", 0.05)),
        n_boot=int(request.get("n_boot", 1000)),
        target=request.get("target") or None,
        allow_extra=bool(request.get("allow_extra")),
        progress=progress,
        cancel=cancel,
    )
    doc = res.to_json()
    # The comparison view draws both models' curves next to each other.
    doc["champion"]["curves"] = res.champion.curves
    doc["challenger"]["curves"] = res.challenger.curves
    doc["task"] = res.champion.task
    return doc


def _plain(o: Any) -> Any:
    return o.item() if hasattr(o, "item") else str(o)


# --------------------------------------------------------------------------- worker side
def worker_main() -> None:
    """Entry point of the ``train`` worker: one request on stdin, messages on stdout."""
    # Only protocol lines go to the real stdout; anything else printed (by us, a
    # library or C code through fd 1) would corrupt them, so fd 1 becomes stderr.
    proto = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    lock = threading.Lock()

    def send(msg: dict[str, Any]) -> None:
        line = json.dumps(msg, default=_plain, allow_nan=True)
        with lock:
            try:
                proto.write(line + "\n")
                proto.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass  # the parent has gone; the work ends at the next cancel check

    cancel = CancelToken()
    first = sys.stdin.readline()
    try:
        request = json.loads(first) if first.strip() else None
    except json.JSONDecodeError:
        request = None
    if not isinstance(request, dict):
        send({"error": "the worker request is not a JSON object", "kind": "InvalidInput"})
        return

    def listen() -> None:
        # Any later line may be a cancel; the end of input (parent died) cancels too.
        for line in sys.stdin:
            with contextlib.suppress(json.JSONDecodeError):
                if json.loads(line).get("cancel"):
                    cancel.cancel()
        cancel.cancel()

    threading.Thread(target=listen, name="mw-worker-stdin", daemon=True).start()
    try:
        result = run_request(request, send, cancel)
    except Cancelled as e:
        send({"error": str(e) or "cancelled", "kind": "Cancelled"})
    except ModelWardError as e:
        send({"error": str(e), "kind": type(e).__name__})
    except Exception as e:  # never a traceback for the user; the log keeps it
        import traceback

        traceback.print_exc()
        first_line = (str(e).splitlines() or [""])[0]
        send(
            {
                "error": f"{request.get('kind', 'job')} failed: {type(e).__name__}: {first_line}",
                "kind": "ModelWardError",
            }
        )
    else:
        send({"result": result})
    with contextlib.suppress(OSError):
        proto.close()


# --------------------------------------------------------------------------- parent side
def _error_class(name: str) -> type[ModelWardError]:
    """The :class:`ModelWardError` subclass called ``name`` (the base class if unknown)."""
    cls = getattr(_errors, name, None)
    if cls is None and name == "TrainingFailed":
        from modelward.core.compute.training import TrainingFailed

        cls = TrainingFailed
    if isinstance(cls, type) and issubclass(cls, ModelWardError):
        return cls
    return ModelWardError


def _raise_error(msg: dict[str, Any]) -> None:
    cls = _error_class(str(msg.get("kind", "")))
    text = str(msg.get("error") or "the worker failed")
    if cls is _errors.RejectedFile:
        raise ModelWardError(text)  # its constructor takes a reason, and text says it all
    raise cls(text)


def run_in_worker(
    request: dict[str, Any],
    on_message: MessageFn | None = None,
    cancel: CancelToken | None = None,
    *,
    grace: float = 5.0,
    command: Sequence[str] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``request`` in a fresh worker process and return its result.

    Blocks the calling thread (on a pipe: no GIL held) until the worker
    answers. Call it from a job thread, never from the GUI thread.

    Parameters
    ----------
    request
        See :func:`run_request`; must be JSON-serialisable.
    on_message
        Called on the calling thread with each ``progress``, ``score`` and
        ``log`` message.
    cancel
        When set, a ``{"cancel": true}`` line is sent; a worker still running
        ``grace`` seconds later is terminated.
    grace
        Seconds a cancelled worker gets to stop by itself.
    command
        The argv to start (default: ``worker_command("train")``).
    env
        The child's environment (default: ours).

    Returns
    -------
    dict
        The worker's ``result``.

    Raises
    ------
    Cancelled
        The job was cancelled (whether the worker stopped or was terminated).
    ModelWardError
        The worker's error, as the same class when it is one of ours; or one
        sentence when the worker could not start or stopped without an answer.
    """
    from modelward.core.workers import worker_command

    argv = list(command) if command is not None else worker_command(WORKER_NAME)
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            env=env,
        )
    except OSError as e:
        raise ModelWardError(f"could not start the training worker: {e.strerror or e}") from None
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stdin, stdout, stderr = proc.stdin, proc.stdout, proc.stderr
    tail: deque[str] = deque(maxlen=30)
    done = threading.Event()
    cancel_sent = threading.Event()
    write_lock = threading.Lock()

    def write(obj: dict[str, Any]) -> None:
        with write_lock, contextlib.suppress(OSError, ValueError):
            stdin.write(json.dumps(obj) + "\n")
            stdin.flush()

    def drain(stream: IO[str]) -> None:
        for line in stream:
            tail.append(line.rstrip())

    def watch_cancel() -> None:
        assert cancel is not None
        flag = cancel._flag
        while not done.is_set():
            if flag.wait(0.1):
                break
        if done.is_set():
            return
        cancel_sent.set()
        write({"cancel": True})
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            log.warning("worker %s did not stop %.1f s after cancel; terminating", proc.pid, grace)
            platform.stop_process(proc, 2.0)

    threads = [threading.Thread(target=drain, args=(stderr,), daemon=True, name="mw-worker-err")]
    if cancel is not None:
        threads.append(threading.Thread(target=watch_cancel, daemon=True, name="mw-worker-cancel"))
    for t in threads:
        t.start()
    final: dict[str, Any] | None = None
    try:
        write(request)
        for line in stdout:
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                tail.append(line.rstrip())
                continue
            if not isinstance(msg, dict):
                continue
            if "result" in msg or "error" in msg:
                final = msg
                break
            if on_message is not None:
                on_message(msg)
    finally:
        done.set()
        with contextlib.suppress(OSError, ValueError):
            stdin.close()
        try:
            proc.wait(grace if final is not None else 2.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for t in threads:
            t.join(5.0)
        for s in (stdout, stderr):
            with contextlib.suppress(OSError):
                s.close()
    if final is not None and "result" in final:
        result = final["result"]
        return result if isinstance(result, dict) else {"value": result}
    if final is not None:
        if cancel_sent.is_set() and final.get("kind") == "Cancelled":
            raise Cancelled("cancelled")
        _raise_error(final)
    if cancel_sent.is_set():
        raise Cancelled("cancelled")
    if tail:
        log.error("worker %s stopped (exit %s):\n%s", proc.pid, proc.returncode, "\n".join(tail))
    raise ModelWardError(
        f"the {request.get('kind', 'training')} worker stopped without an answer "
        f"(exit code {proc.returncode}); see the application log"
    )


# --------------------------------------------------------------------------- as a job
class ScoreBuffer:
    """Fold scores as they arrive, for a live chart: the job appends, a timer reads.

    Thread-safe and append-only; :meth:`since` returns what arrived after the
    ``n`` items a reader has already drawn (STYLE §4: charts redraw on a timer).
    """

    def __init__(self) -> None:
        self._items: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def append(self, score: dict[str, Any]) -> None:
        with self._lock:
            self._items.append(score)

    def since(self, n: int) -> list[dict[str, Any]]:
        with self._lock:
            return self._items[n:]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def _score_line(score: dict[str, Any]) -> str:
    shown = {
        k: v
        for k, v in (score.get("metrics") or {}).items()
        if k in ("roc_auc", "balanced_accuracy", "accuracy", "r2", "rmse")
    }
    where = f"{score.get('stage', 'fit')} fold {int(score.get('fold', 0)) + 1}"
    if score.get("stage") == "search":
        where += f" of candidate {int(score.get('candidate', 0)) + 1}"
    return f"{where}: " + "  ".join(f"{k} {v:.4g}" for k, v in sorted(shown.items()))


def worker_job(
    ctx: Any, request: dict[str, Any], scores: ScoreBuffer | None = None
) -> dict[str, Any]:
    """A :class:`~modelward.core.jobs.JobRunner` job that runs ``request`` in a worker.

    Progress goes to ``ctx.progress``, each fold score to ``scores`` and to
    the job's log, and ``ctx.cancel`` cancels the worker.
    """

    def on_message(msg: dict[str, Any]) -> None:
        if "progress" in msg:
            ctx.progress(float(msg["progress"]), str(msg.get("status") or ""))
        elif "score" in msg:
            if scores is not None:
                scores.append(msg["score"])
            ctx.log(_score_line(msg["score"]))
        elif "log" in msg:
            ctx.log(str(msg["log"]))

    ctx.log(f"starting a {request.get('kind', 'training')} worker")
    result = run_in_worker(request, on_message, ctx.cancel)
    if request.get("kind") == "train":
        ctx.log(f"registered {result.get('ref')}")
    return result
