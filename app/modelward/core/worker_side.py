"""The worker process's side of :mod:`modelward.core.compute.worker`.

The parent (the window) starts ``<exe> --mw-worker train``, which runs
:func:`worker_main` here: one JSON request on stdin (``train``, ``validate``,
``compare`` or ``demo``), progress and the result as JSON lines on stdout (the
protocol is described in :mod:`modelward.core.compute.worker`). This side sits
above compute and the demo, which it carries out; the parent side imports
neither.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from modelward.core.compute.batch_reasons import batch_preview, scored_batch
from modelward.core.compute.compare import compare
from modelward.core.compute.explain import (
    explain_validation,
    preview_rows,
    reasons_for,
    stored_explanations,
)
from modelward.core.compute.parallel import Compute
from modelward.core.compute.recipe import Recipe
from modelward.core.compute.training import FoldScore, train
from modelward.core.compute.validation import validate
from modelward.core.compute.worker import KINDS, MessageFn
from modelward.core.demo import build_full_demo
from modelward.core.errors import Cancelled, InvalidInput, ModelWardError
from modelward.core.policies.guard import open_registry
from modelward.core.progress import CancelToken

__all__ = ["run_request", "worker_main"]


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

    # With the four-eyes guard, like every program that opens a registry to change it.
    reg = open_registry(
        request["registry"],
        actor=request.get("actor"),
        busy_timeout=request.get("busy_timeout"),
        idle_release=float(request.get("idle_release") or 0.0),
        on_wait=waiting,
    )
    try:
        if kind == "train":
            return _train(reg, request, progress, send, cancel)
        if kind == "validate":
            return _validate(reg, request, progress, cancel)
        if kind == "demo":
            return _demo(reg, progress, cancel)
        if kind in ("explain", "reasons", "batch"):
            return _explain(reg, request, progress, cancel)
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
    # Each step opens the file for its own writes only, so a window showing this
    # registry keeps reading (and shows the models as they arrive).
    return asdict(build_full_demo(reg, progress=progress, cancel=cancel))


def _validate(
    reg: Any, request: dict[str, Any], progress: Callable[[float, str], None], cancel: CancelToken
) -> dict[str, Any]:
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


def _explain(
    reg: Any, request: dict[str, Any], progress: Callable[[float, str], None], cancel: CancelToken
) -> dict[str, Any]:
    # explain: ``validation_id`` (global explanations, stored with it), optional
    # ``reuse`` (stored ones if any) and ``preview`` (that many rows for a table);
    # reasons: ``ref`` and ``data``, or the ``output`` of a scored batch (its
    # manifest names both), ``rows``, optional ``k`` (reason codes);
    # batch: ``output`` (a scored batch's first ``preview`` rows, checked).
    if request["kind"] == "batch":
        _need(request, "output")
        return batch_preview(str(request["output"]), int(request.get("preview") or 200))
    if request["kind"] == "explain":
        _need(request, "validation_id")
        vid = int(request["validation_id"])
        doc = stored_explanations(reg, vid) if request.get("reuse") else None
        if doc is None:
            doc = explain_validation(reg, vid, progress=progress, cancel=cancel)
        out: dict[str, Any] = {"validation_id": vid, "explanations": doc}
        if request.get("preview"):
            out["preview"] = preview_rows(reg, vid, int(request["preview"]))
        return out
    if request.get("output"):
        batch = scored_batch(str(request["output"]))
        request = {**request, "ref": batch["ref"], "data": batch["data"]}
    _need(request, "ref", "data", "rows")
    return reasons_for(
        reg,
        str(request["ref"]),
        str(request["data"]),
        rows=str(request["rows"]),
        k=int(request.get("k") or 5),
        allow_extra=True,
    )


def _compare(
    reg: Any, request: dict[str, Any], progress: Callable[[float, str], None], cancel: CancelToken
) -> dict[str, Any]:
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
