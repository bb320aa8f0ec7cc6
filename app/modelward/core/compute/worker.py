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
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import IO, Any

import modelward.core.errors as _errors
from modelward.core import platform
from modelward.core.compute.training import TrainingFailed
from modelward.core.errors import Cancelled, ModelWardError
from modelward.core.progress import CancelToken
from modelward.core.workers import worker_command

__all__ = [
    "KINDS",
    "WORKER_NAME",
    "ScoreBuffer",
    "run_in_worker",
    "worker_job",
]

log = logging.getLogger(__name__)

WORKER_NAME = "train"
KINDS = ("train", "validate", "compare", "demo", "explain", "reasons", "batch")
MessageFn = Callable[[dict[str, Any]], None]


# --------------------------------------------------------------------------- parent side
def _error_class(name: str) -> type[ModelWardError]:
    """The :class:`ModelWardError` subclass called ``name`` (the base class if unknown)."""
    cls = getattr(_errors, name, None)
    if cls is None and name == "TrainingFailed":
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
