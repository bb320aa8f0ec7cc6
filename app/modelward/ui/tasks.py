"""Job functions the window runs: plain module-level functions over core (no Qt)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from modelward.core.domain import ModelVersion
from modelward.core.errors import InvalidInput, ModelWardError, RejectedFile
from modelward.core.jobs import JobContext
from modelward.core.progress import check, sub_progress
from modelward.core.registry import Registry

MODEL_SUFFIXES = (".skops", ".joblib", ".pkl", ".pickle")

# The job functions import the intake door, the worker, the demo and the approval
# keys where they run (on a job thread): those packages import NumPy, the intake
# checks, monitoring and policies, most of the window's start otherwise (measured,
# issue 21), and the window imports this module to build its first page.


def model_name_for(path: str | os.PathLike[str]) -> str:
    """The model name a file registers under (the intake door's rule; imported here, see above)."""
    from modelward.core.intake import model_name_for as name_for

    return name_for(path)


@dataclass(frozen=True)
class RegisterSummary:
    registered: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = field(default=())  # (file name, message)


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given; folders give their model files (recursively, sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in MODEL_SUFFIXES
            )
        else:
            out.append(p)
    return list(dict.fromkeys(out))


def register_paths(
    ctx: JobContext, registry: Registry, paths: list[str], name: str | None = None
) -> RegisterSummary:
    """Register files (and the model files in folders) through the trust boundary."""
    from modelward.core.intake import accept_model_file  # start cost: see the top

    files = expand_paths(paths)
    if not files:
        raise InvalidInput("no model files (.skops, .joblib, .pkl) were found in what was dropped")
    done: list[str] = []
    failed: list[tuple[str, str]] = []
    n = len(files)
    for i, f in enumerate(files):
        ctx.raise_if_cancelled()
        nm = name or model_name_for(f)
        ctx.log(f"registering {f} as {nm}")
        try:
            res = accept_model_file(
                registry,
                f,
                name=nm,
                progress=sub_progress(
                    lambda fr, s, f=f: ctx.progress(fr, f"{f.name}: {s}"), i / n, (i + 1) / n
                ),
            ).register_result()
        except RejectedFile as e:
            failed.append((f.name, f"rejected: {e.reason}"))
            ctx.log(f"rejected {f.name}: {e.reason} (kept in quarantine)")
            continue
        except ModelWardError as e:
            failed.append((f.name, str(e)))
            ctx.log(f"could not register {f.name}: {e}")
            continue
        ref = res.version.ref
        ctx.log(f"registered {ref}" if res.created else f"already registered as {ref}")
        done.append(ref)
    if failed and not done:
        if n == 1:
            raise ModelWardError(f"{failed[0][0]}: {failed[0][1]}")
        raise ModelWardError(
            f"none of the {n} files could be registered; first: {failed[0][0]}: {failed[0][1]}"
        )
    return RegisterSummary(tuple(done), tuple(failed))


def set_alias(ctx: JobContext, registry: Registry, ref: str, alias: str, reason: str) -> str:
    ctx.progress(0.1, f"pointing {alias} at {ref}")
    v = registry.set_alias(ref, alias, reason)
    ctx.log(f"{v.name}@{alias} -> version {v.version} ({reason})")
    return f"{v.name}@{alias} → v{v.version}"


def verify_audit(ctx: JobContext, registry: Registry) -> object:
    """What ``modelward audit verify`` checks: the chain, the state, the journal, the signatures."""
    ctx.progress(0.05, "walking the chain")
    report = registry.verify_audit()
    if not report.ok:
        ctx.log(f"chain broken at {report.first_broken_seq}: {report.problem}")
        return report
    ctx.progress(0.3, "rebuilding the state from the events, checking the journal")
    problems = [
        p for p in registry.verify_records()["problems"] if not p.startswith("audit trail:")
    ]
    check(ctx.cancel)
    ctx.progress(0.8, "checking the signatures behind approvals")
    from modelward.core.policies.keys import verify_approvals  # start cost: see the top

    problems += [f"signed approvals: {p}" for p in verify_approvals(registry)]
    if problems:
        for p in problems:
            ctx.log(p)
        return replace(report, ok=False, problem="; ".join(problems))
    ctx.log("chain intact; the tables match the events, the journal agrees, signatures hold")
    return report


class StepLog:
    """A job context whose progress also writes each new step into the job's log.

    The Jobs pane then shows the steps as they happen, not only the summary at
    the end; fraction-only updates (the same step going on) are not logged.
    """

    def __init__(self, ctx: JobContext):
        self._ctx = ctx
        self._last = ""
        self.cancel = ctx.cancel

    def progress(self, fraction: float, status: str = "") -> None:
        self._ctx.progress(fraction, status)
        if status and status != self._last:
            self._last = status
            self._ctx.log(status)

    def log(self, line: str) -> None:
        self._ctx.log(line)


DEMO_IDLE_RELEASE = 0.5
"""Seconds the demo's worker keeps the file between its writes (as ``modelward demo`` does)."""


def create_demo(ctx: JobContext, registry: Registry) -> str:
    """The same demo workspace as ``modelward demo``, built in a worker process.

    Training and twelve months of monitoring hold the GIL for seconds (pandas,
    scikit-learn): in a thread of the window they would freeze it. The window
    leaves the file to the worker while it runs (``MainWindow.hold_reads_for``);
    the worker keeps it between its writes, as the CLI does.
    """
    registry.close()  # our idle connection: let the worker in at once
    request = {
        "kind": "demo",
        "registry": str(registry.home),
        "actor": registry.actor,
        "busy_timeout": registry.busy_timeout,
        "idle_release": DEMO_IDLE_RELEASE,
    }
    from modelward.core.compute.worker import worker_job  # start cost: see the top
    from modelward.core.demo import FullDemo

    done = FullDemo(**worker_job(StepLog(ctx), request))
    for line in done.lines():
        ctx.log(line)
    return f"Demo workspace ready: champion {done.champion}"


def load_versions(registry: Registry, refs: list[str]) -> list[object]:
    return [registry.resolve(r) for r in refs]


def poll_changes(
    registry: Registry, last: tuple[object, ...] | None
) -> tuple[tuple[object, ...], int | None]:
    """Cheap change detection for other processes' writes (reader thread).

    Stats the database and its WAL (microseconds, no connection); only when
    they changed does it open the registry and read the audit head.
    """
    sig = []
    for p in (registry.db_path, registry.db_path.with_name(registry.db_path.name + ".wal")):
        try:
            st = p.stat()
            sig.append((st.st_mtime_ns, st.st_size))
        except OSError:
            sig.append(None)
    key = tuple(sig)
    if key == last:
        return key, None
    return key, registry.audit_head()


PICKER_LIMIT = 20_000
"""At most this many versions are offered by a version picker (newest first per model)."""


@dataclass(frozen=True)
class VersionChoice:
    """One version a picker offers: its ref and its aliases."""

    ref: str
    aliases: tuple[str, ...]


def version_choices(registry: Registry, limit: int = PICKER_LIMIT) -> list[VersionChoice]:
    """Every version of the registry, by model name, newest first (reader thread)."""
    versions = registry.list_versions(limit=limit, order_by="m.name, v.version DESC")
    return [VersionChoice(v.ref, tuple(v.aliases)) for v in versions]


def model_names(registry: Registry) -> list[str]:
    """The names of the registry's models, sorted (reader thread)."""
    return [m.name for m in registry.list_models()]


def export_audit(ctx: JobContext, registry: Registry, path: str) -> str:
    """Export the whole audit trail with core's export (a job)."""
    # On first use: the evidence modules cost the window's start, and exports are rare.
    from modelward.core.evidence.audit_export import export_audit as export

    res = export(registry, path, progress=ctx.progress, cancel=ctx.cancel)
    chain = "chain intact" if res.get("chain_ok") else "chain NOT intact"
    return f"Exported {res['events']:,} audit events to {Path(path).name} ({chain})"


@dataclass(frozen=True)
class CompareSet:
    """What the compare-many window shows: the versions and their runs' search candidates."""

    versions: tuple[ModelVersion, ...]
    candidates: dict[str, list[dict[str, Any]]]  # ref -> [{"params": {...}, METRIC: mean}]


def load_compare_set(registry: Registry, refs: list[str]) -> CompareSet:
    """Resolve ``refs`` and read every candidate their training runs searched (reader thread)."""
    versions = tuple(registry.resolve(r) for r in dict.fromkeys(refs))
    candidates: dict[str, list[dict[str, Any]]] = {}
    for v in versions:
        run_id = (v.lineage or {}).get("run_id")
        if isinstance(run_id, int):
            search = registry.run_result(run_id).get("search") or []
            candidates[v.ref] = [c for c in search if isinstance(c, dict)]
    return CompareSet(versions, candidates)


def rescore_versions(ctx: JobContext, request: dict[str, Any], refs: list[str]) -> dict[str, Any]:
    """Validate each of ``refs`` on the same labelled file, one worker after the other.

    ``request`` is a ``validate`` worker request without its ``ref``. Returns
    ``{"data": PATH, "task": TASK, "results": {ref: validation}}``.
    """
    from modelward.core.compute.worker import worker_job  # start cost: see the top

    results: dict[str, Any] = {}
    task = "classification"
    n = len(refs)
    for i, ref in enumerate(refs):
        ctx.raise_if_cancelled()
        ctx.log(f"scoring {ref} on {Path(str(request['data'])).name}")
        part = StepLog(_Scaled(ctx, i / n, (i + 1) / n))
        res = worker_job(part, {**request, "ref": ref})
        results[ref] = res
        task = str(res.get("task") or task)
    return {"data": request["data"], "task": task, "results": results}


class _Scaled:
    """A job context whose progress covers ``lo``..``hi`` of the real one."""

    def __init__(self, ctx: JobContext, lo: float, hi: float):
        self._ctx, self._lo, self._hi = ctx, lo, hi
        self.cancel = ctx.cancel

    def progress(self, fraction: float, status: str = "") -> None:
        self._ctx.progress(self._lo + (self._hi - self._lo) * fraction, status)

    def log(self, line: str) -> None:
        self._ctx.log(line)
