"""The loop: a batch's numbers → triggers → alert → retrain → validate → promote or ask.

:func:`evaluate_after_batch` is called by the data inbox after each batch
(:mod:`modelward.core.watch.batches`); :func:`run_due` is called periodically
by ``modelward watch`` and the window (schedules, expired approvals).

When a trigger fires, a *policy run* is recorded (``pol_runs``) with the
triggers and their numbers, and an alert is raised. If the policy retrains,
the rest runs as a job (:class:`~modelward.core.jobs.JobRunner`: progress,
cancel, log): the champion's recipe is trained again on a window of labelled
batches, the challenger and the champion are validated on the same holdout
(the newest labelled batch) and compared with the policy's gates, and then
the challenger is promoted, or its promotion is requested for approval when
the alias is protected by four-eyes. Each step is appended to the run and to
the audit trail with its numbers, so every automatic action explains itself.
A run that fails leaves the champion where it was and says why (an alert and
the run's error).
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import modelward.core.compute.data as _data
import modelward.core.policies.alerts as _alerts
from modelward.core.clock import utcnow
from modelward.core.compute.compare import compare, promote
from modelward.core.compute.predlog import realized
from modelward.core.compute.recipe import Recipe
from modelward.core.compute.training import train
from modelward.core.errors import Cancelled, InvalidInput, ModelWardError
from modelward.core.jobs import JobKind, JobRunner
from modelward.core.monitoring.performance import higher_is_better
from modelward.core.monitoring.service import check_batch
from modelward.core.policies.approvals import (
    expire_approvals,
    get_approval,
    pending_approvals,
    request_approval,
)
from modelward.core.policies.model import Policy
from modelward.core.policies.runs import (
    ALERTED,
    AWAITING,
    CANCELLED,
    EXPIRED,
    FAILED,
    GATES_FAILED,
    SKIPPED,
    VALIDATED,
    PolicyRun,
    after_promotion,
    get_policy_run,
    list_policy_runs,
)
from modelward.core.policies.runs import add_step as _step
from modelward.core.policies.runs import finish_run as _finish
from modelward.core.policies.runs import start_run as _start_run
from modelward.core.policies.store import get_policy, list_policies
from modelward.core.policies.triggers import (
    GROUP_GAP,
    BatchNumbers,
    TriggerHit,
    evaluate_triggers,
    group_gap_hit,
    numbers_of_batch,
)
from modelward.core.progress import sub_progress
from modelward.core.registry.predictions import list_shadows, read_labels, read_predictions

if TYPE_CHECKING:
    from modelward.core.jobs import Job, JobContext
    from modelward.core.registry import Registry
    from modelward.core.watch.folders import WatchedFolder

__all__ = [
    "PolicyRun",
    "after_promotion",
    "evaluate_after_batch",
    "group_gap_alert",
    "fire",
    "get_policy_run",
    "list_policy_runs",
    "record_batch",
    "record_batches",
    "run_due",
    "shadow_comparison",
]

log = logging.getLogger(__name__)

_lock = threading.Lock()
_active: set[str] = set()  # models with a loop queued or running in this process


def _get_runner(runner: JobRunner | None = None) -> JobRunner:
    """``runner``, else an inline runner (the CLI's one-shot commands, tests)."""
    return runner if runner is not None else JobRunner(sync=True)


def _last_action_at(registry: Registry, policy: Policy) -> str | None:
    with registry.read() as cur:
        row = cur.execute(
            "SELECT max(started_at) FROM pol_runs WHERE model_name = ? AND status <> ?",
            [policy.model, SKIPPED],
        ).fetchall()
        if row and row[0][0]:
            return str(row[0][0])
        row = cur.execute(
            "SELECT updated_at FROM pol_policies WHERE model_name = ?", [policy.model]
        ).fetchall()
    return str(row[0][0]) if row else None


def _labelled_rows_since(registry: Registry, model: str, since: str | None) -> int:
    sql = "SELECT coalesce(sum(rows), 0) FROM pol_data WHERE model_name = ? AND label_column IS NOT NULL"
    args: list[Any] = [model]
    if since:
        sql += " AND arrived_at > ?"
        args.append(since)
    with registry.read() as cur:
        return int(cur.execute(sql, args).fetchall()[0][0])


# --------------------------------------------------------------------------- batches
def record_batch(
    registry: Registry,
    model: str,
    dataset_id: int,
    sha256: str,
    rows: int,
    *,
    label_column: str | None = None,
    batch_id: int | None = None,
) -> None:
    """Remember a batch that arrived for ``model`` (labelled when ``label_column`` is set).

    The retraining window and the "new labelled data" trigger read these.
    """

    with registry.transaction() as tx:
        tx.q(
            "INSERT OR IGNORE INTO pol_data VALUES (?,?,?,?,?,?,?)",
            [model, dataset_id, sha256, rows, label_column, batch_id, utcnow()],
        )


def record_batches(registry: Registry, model: str, batches: Sequence[tuple[Any, ...]]) -> None:
    """:func:`record_batch` for many batches, in one columnar write.

    ``batches``: ``(dataset id, sha256, rows, label column)`` each, and the
    monitoring batch id as a fifth item when the batch was checked.
    """
    batches = list({b[0]: b for b in reversed(batches)}.values())[::-1]  # one row per dataset
    if not batches:
        return
    import numpy as np  # deferred: start-up cost

    cols: dict[str, Any] = {}
    for i, k in enumerate(("did", "sha", "n", "label", "bid")):
        cols[k] = np.empty(len(batches), dtype=object)
        cols[k][:] = [b[i] if i < len(b) else None for b in batches]
    cols["at"] = np.full(len(batches), utcnow(), dtype=object)
    with registry.transaction() as tx:
        tx.cur.register("_mw_pol_data", cols)
        try:
            tx.q(
                "INSERT INTO pol_data SELECT ?, CAST(n.did AS BIGINT), CAST(n.sha AS VARCHAR), "
                "CAST(n.n AS BIGINT), CAST(n.label AS VARCHAR), CAST(n.bid AS BIGINT), "
                "CAST(n.at AS VARCHAR) "
                "FROM _mw_pol_data n WHERE NOT EXISTS (SELECT 1 FROM pol_data p "
                "WHERE p.model_name = ? AND p.dataset_id = n.did)",
                [model, model],
            )
        finally:
            tx.cur.unregister("_mw_pol_data")


def evaluate_after_batch(
    registry: Registry,
    folder: WatchedFolder,
    path: Path,
    *,
    dataset_id: int,
    sha256: str,
    rows: int,
    schema: Mapping[str, str],
    monitoring: Mapping[str, Any] | None = None,
    now: _dt.datetime | None = None,
    runner: JobRunner | None = None,
) -> dict[str, Any] | None:
    """Run the model's policy on a batch that just arrived in its data inbox.

    The batch is remembered (labelled or not) for retraining windows. If the
    model has an enabled policy, the batch is checked against the champion
    (unless monitoring already did), the triggers are evaluated on its
    numbers and, when one fires, :func:`fire` acts.

    Never raises: a failure becomes a ``policy-error`` alert, so the inbox
    still takes the file exactly once. A retraining loop runs on ``runner``
    (inline when ``None``).

    Returns
    -------
    dict or None
        ``None`` without a policy; else what happened (``summary``,
        ``fired``, ``policy_run_id``, ``batch_id``).
    """
    model = folder.model_name
    if not model:
        return None
    try:
        return _after_batch(
            registry, folder, path, model, dataset_id, sha256, rows, schema, monitoring, now, runner
        )
    except Exception as e:  # never let a policy stop the inbox from taking the file
        log.exception("the policy of %s failed on %s", model, path)
        msg = str(e) if isinstance(e, ModelWardError) else f"{type(e).__name__}: {e}"
        try:
            _alerts.raise_alert(
                registry,
                model,
                "policy-error",
                f"the policy of {model} could not evaluate the batch {path.name}: {msg}",
                severity=_alerts.CRITICAL,
            )
        except Exception:
            log.exception("cannot raise the policy-error alert")
        return {"summary": "policy error", "error": msg}


def _after_batch(
    registry: Registry,
    folder: WatchedFolder,
    path: Path,
    model: str,
    dataset_id: int,
    sha256: str,
    rows: int,
    schema: Mapping[str, str],
    monitoring: Mapping[str, Any] | None,
    now: _dt.datetime | None,
    runner: JobRunner | None,
) -> dict[str, Any] | None:
    opts = folder.options or {}
    label = opts.get("label_column") if opts.get("label_column") in schema else None
    id_col = opts.get("id_column") if opts.get("id_column") in schema else None
    policy = get_policy(registry, model)
    batch_id = monitoring.get("batch_id") if monitoring else None
    notes: list[str] = []
    if policy is not None and policy.enabled and batch_id is None:
        try:
            res = check_batch(
                registry,
                f"{model}@{policy.alias}",
                path,
                name=path.name,
                id_column=id_col,
                label_column=label,
            )
            batch_id = res.batch_id
        except ModelWardError as e:  # no champion, no profile, schema drift
            notes.append(f"not checked: {e}")
    record_batch(registry, model, dataset_id, sha256, rows, label_column=label, batch_id=batch_id)
    if policy is None or not policy.enabled:
        return group_gap_alert(registry, model, batch_id)
    numbers = numbers_of_batch(registry, int(batch_id)) if batch_id is not None else None
    since = _last_action_at(registry, policy)
    hits = evaluate_triggers(
        policy,
        numbers,
        labelled_rows_since=_labelled_rows_since(registry, model, since),
        last_action_at=since,
        now=now,
    )
    out: dict[str, Any] = {"batch_id": batch_id, "fired": [h.trigger for h in hits]}
    if notes:
        out["notes"] = notes
    if not hits:
        out["summary"] = "policy: no trigger fired"
        return out
    run = fire(registry, policy, hits, numbers=numbers, runner=runner)
    out["policy_run_id"] = run.id
    out["summary"] = f"policy fired ({', '.join(out['fired'])}): {run.status}"
    return out


def group_gap_alert(registry: Registry, model: str, batch_id: Any) -> dict[str, Any] | None:
    """One alert for a checked batch whose group gaps crossed their thresholds, else ``None``.

    Without a policy such a batch still alerts: from a data inbox, ``monitor``
    and :func:`modelward.api.monitor` alike. Returns ``alert_id`` and a ``summary``.
    """
    if batch_id is None:
        return None
    numbers = numbers_of_batch(registry, int(batch_id))
    hit = group_gap_hit(numbers)
    if hit is None:
        return None
    alert = _raise_gap_alert(registry, model, [hit], numbers, None, (), 10.0)
    return {
        "batch_id": batch_id,
        "fired": [hit.trigger],
        "alert_id": alert.id,
        "summary": f"alert {alert.id}: group gap past its threshold",
    }


def _raise_gap_alert(
    registry: Registry,
    model: str,
    hits: list[TriggerHit],
    numbers: BatchNumbers,
    run_id: int | None,
    command: tuple[str, ...],
    timeout: float,
) -> _alerts.Alert:
    return _alerts.raise_alert(
        registry,
        model,
        "group-gap",
        f"{model}: " + "; ".join(h.detail for h in hits),
        severity=_alerts.WARNING,
        numbers={
            "triggers": [h.to_json() for h in hits],
            "batch": numbers.batch,
            "batch_id": numbers.batch_id,
            "version": numbers.version,
            "column": numbers.groups_column,
            "gaps": numbers.groups_crossed,
        },
        policy_run_id=run_id,
        command=command,
        timeout=timeout,
    )


SHADOW_BEATS = "shadow_beats_champion"


def shadow_comparison(registry: Registry, policy: Policy) -> list[dict[str, Any]]:
    """Each shadow challenger's realized metric against the champion's, on shared rows.

    Only labelled rows that both the champion and the challenger scored (and
    logged row by row) count, so both are measured on the same rows.

    Returns
    -------
    list of dict
        ``ref``, ``rows`` (labelled rows compared), ``champion`` and
        ``challenger`` (the metric), ``gain`` (positive: the challenger is
        better), for each shadow version with labelled rows.
    """
    metric = policy.shadow_metric
    if not metric:
        return []
    try:
        champ = registry.resolve(f"{policy.model}@{policy.alias}")
    except ModelWardError:
        return []
    shadows = [v for v in list_shadows(registry, policy.model) if v != champ.version]
    labels = read_labels(registry, policy.model) if shadows else {}
    if not labels:
        return []
    rows = read_predictions(registry, policy.model, rows=True)
    versions = rows["version"].to_numpy()
    ids = rows["id"].to_numpy(dtype=object)
    champ_ids = set(ids[versions == champ.version].tolist())
    higher = higher_is_better(metric)
    out = []
    for v in shadows:
        common = champ_ids & set(ids[versions == v].tolist()) & labels.keys()
        labs = {i: labels[i] for i in common}
        rc = realized(rows, labs, champ.version) or {}
        rs = realized(rows, labs, v) or {}
        if metric not in rc or metric not in rs:
            continue
        gain = (rs[metric] - rc[metric]) if higher else (rc[metric] - rs[metric])
        out.append(
            {
                "ref": f"{policy.model}:{v}",
                "champion_ref": champ.ref,
                "rows": len(common),
                "champion": rc[metric],
                "challenger": rs[metric],
                "gain": gain,
            }
        )
    return out


def _shadow_rule(registry: Registry, policy: Policy) -> PolicyRun | None:
    """Request the promotion of a shadow challenger that beats the champion (see ``Policy``)."""
    if _busy(registry, policy):
        return None  # a retraining runs or a request waits: one decision at a time
    metric = str(policy.shadow_metric)
    best = None
    for c in shadow_comparison(registry, policy):
        if c["rows"] >= policy.shadow_min_rows and c["gain"] >= policy.shadow_margin:
            if best is None or c["gain"] > best["gain"]:
                best = c
    if best is None:
        return None
    detail = (
        f"shadow challenger {best['ref']} has realized {metric} {best['challenger']:.4f} "
        f"against the champion {best['champion_ref']}'s {best['champion']:.4f} on the same "
        f"{best['rows']:,} labelled rows (better by {best['gain']:.4f}; the policy asks "
        f"{policy.shadow_margin:g} over at least {policy.shadow_min_rows:,} rows)"
    )
    hit = TriggerHit(SHADOW_BEATS, best["gain"], float(policy.shadow_margin), detail)
    run_id = _start_run(registry, policy, [hit], None)
    if policy.alert:
        _alerts.raise_alert(
            registry,
            policy.model,
            "trigger",
            f"{policy.model}: {detail}",
            severity=_alerts.WARNING,
            numbers={"triggers": [hit.to_json()], "shadow": best},
            policy_run_id=run_id,
            command=policy.alert_command,
            timeout=policy.alert_timeout,
        )
    if not (policy.promote and policy.needs_approval):
        _step(
            registry,
            run_id,
            policy.model,
            "shadow",
            True,
            detail + f"; promote it with: alias set {best['ref']} {policy.alias}",
        )
        _finish(registry, run_id, ALERTED)
        return get_policy_run(registry, run_id)
    req = request_approval(
        registry,
        best["ref"],
        requested_by=policy.owner or registry.actor,
        reason=detail,
        alias=policy.alias,
        policy_run_id=run_id,
        ttl_hours=policy.approval_ttl_hours,
    )
    _step(
        registry,
        run_id,
        policy.model,
        "approval-requested",
        True,
        f"promotion of {best['ref']} to {policy.alias} needs approval by someone other than "
        f"{req.requested_by} (request {req.id}, expires {req.expires_at})",
        {"request_id": req.id, "requested_by": req.requested_by},
        approval_id=req.id,
        challenger_ref=best["ref"],
        champion_ref=best["champion_ref"],
    )
    _finish(registry, run_id, AWAITING)
    return get_policy_run(registry, run_id)


# --------------------------------------------------------------------------- acting
def fire(
    registry: Registry,
    policy: Policy,
    hits: list[TriggerHit],
    *,
    numbers: BatchNumbers | None = None,
    runner: JobRunner | None = None,
) -> PolicyRun:
    """Act on triggers that fired: record the run, alert, and start the loop as a job.

    The retraining loop is submitted to ``runner`` (inline when ``None``).

    Returns
    -------
    PolicyRun
        The run as it stands after the job was submitted (finished, with an
        inline runner; ``job_id`` names the job).
    """
    run_id = _start_run(registry, policy, hits, numbers)
    gaps_only = all(h.trigger == GROUP_GAP for h in hits)
    if gaps_only and numbers is not None:
        # a gap between protected groups alerts even when other triggers only act
        _raise_gap_alert(
            registry,
            policy.model,
            hits,
            numbers,
            run_id,
            policy.alert_command,
            policy.alert_timeout,
        )
    elif policy.alert:
        _alerts.raise_alert(
            registry,
            policy.model,
            "trigger",
            f"{policy.model}: " + "; ".join(h.detail for h in hits),
            severity=_alerts.WARNING,
            numbers={
                "triggers": [h.to_json() for h in hits],
                "batch": numbers.batch if numbers else None,
                "batch_id": numbers.batch_id if numbers else None,
            },
            policy_run_id=run_id,
            command=policy.alert_command,
            timeout=policy.alert_timeout,
        )
    if not policy.retrain or gaps_only:  # retraining does not close a gap between groups
        _finish(registry, run_id, ALERTED)
        return get_policy_run(registry, run_id)
    busy = _busy(registry, policy)
    if busy:
        _step(registry, run_id, policy.model, "skipped", False, busy)
        _finish(registry, run_id, SKIPPED)
        return get_policy_run(registry, run_id)

    with _lock:
        _active.add(policy.model)
    try:
        job: Job = _get_runner(runner).submit(
            JobKind.TRAIN,
            f"policy of {policy.model}: retrain, validate, promote",
            run_loop,
            registry,
            policy,
            run_id,
        )
    except BaseException:
        with _lock:
            _active.discard(policy.model)
        raise
    run = get_policy_run(registry, run_id)
    return PolicyRun(**{**asdict(run), "job_id": job.id})


def _busy(registry: Registry, policy: Policy) -> str | None:
    with _lock:
        if policy.model in _active:
            return f"a retraining of {policy.model} is already under way"
    pending = pending_approvals(registry, model=policy.model)
    if pending:
        p = pending[0]
        return (
            f"approval request {p.id} ({p.version_ref} to {p.alias}) is still pending; "
            "decide it first"
        )
    return None


@dataclass(frozen=True)
class Window:
    """The labelled data a retraining uses and the holdout both versions are judged on."""

    train: Path
    holdout: Path
    target: str
    info: dict[str, Any]


def build_window(registry: Registry, policy: Policy, champion: Any, run_id: int) -> Window:
    """Write the training table and the holdout of a retraining (Parquet, under the home).

    The newest ``window_batches`` labelled batches are pooled; a random
    ``holdout_share`` of their rows (seeded by the run) is the holdout, the
    rest (and the champion's own training data, if the policy says so) are
    the training rows. Only the champion's feature columns and the target
    are kept.

    Raises
    ------
    InvalidInput
        The champion has no recipe, no labelled batch arrived, or too few rows.
    IntegrityError
        A batch or the champion's training snapshot is missing or corrupt.
    """
    import numpy as np  # deferred: start-up cost
    import pandas as pd  # deferred: start-up cost

    lin = champion.lineage or {}
    if "recipe" not in lin:
        raise InvalidInput(
            f"{champion.ref} was not trained by ModelWard: it has no recipe to retrain"
        )
    recipe = Recipe.from_json(lin["recipe"])
    features = [str(f["name"]) for f in (champion.signature or {}).get("features", [])]
    if not features:
        features = list(recipe.features)
    target = recipe.target
    with registry.read() as cur:
        batches = cur.execute(
            "SELECT d.dataset_id, d.sha256, d.rows, d.label_column, coalesce(s.name, '') "
            "FROM pol_data d LEFT JOIN datasets s ON s.id = d.dataset_id "
            "WHERE d.model_name = ? AND d.label_column IS NOT NULL "
            "ORDER BY d.arrived_at DESC, d.dataset_id DESC LIMIT ?",
            [policy.model, int(policy.window_batches)],
        ).fetchall()
    if not batches:
        raise InvalidInput(
            f"no labelled batch of {policy.model} has arrived yet, so there is nothing to "
            "retrain on (give the data inbox a label column)"
        )

    def load(sha: str, label: str, what: str) -> pd.DataFrame:
        path = registry.artifacts.verify(sha)
        df = _data.read_table(path)
        if label != target:
            df = df.rename(columns={label: target})
        missing = [c for c in [*features, target] if c not in df.columns]
        if missing:
            raise InvalidInput(f"{what} lacks the column(s) {', '.join(missing)}")
        return df[[*features, target]].dropna(subset=[target])

    sources = [str(name or f"dataset:{did}") for did, *_rest, name in batches]
    pooled = pd.concat(
        [load(sha, label, f"batch {name or did}") for did, sha, _n, label, name in batches],
        ignore_index=True,
    )
    order = np.random.default_rng(run_id).permutation(len(pooled))
    n_hold = int(round(len(pooled) * policy.holdout_share))
    holdout = pooled.iloc[np.sort(order[:n_hold])].reset_index(drop=True)
    parts = [pooled.iloc[np.sort(order[n_hold:])]]
    if policy.include_training_data:
        snap = lin.get("snapshot_sha256")
        if not snap:
            raise InvalidInput(f"{champion.ref} has no training data snapshot")
        parts.append(load(str(snap), target, f"the training data of {champion.ref}"))
    train_df = pd.concat(parts, ignore_index=True)
    if n_hold < 20 or len(train_df) < 20:
        raise InvalidInput(
            f"only {len(pooled)} labelled rows in the window ({', '.join(sources)}): too few to "
            "train and validate a challenger; wait for more labelled data"
        )
    folder = registry.home / "policies" / f"run-{run_id}"
    folder.mkdir(parents=True, exist_ok=True)
    train_path, holdout_path = folder / "train.parquet", folder / "holdout.parquet"
    _data.frame_to_parquet(train_df, train_path)
    _data.frame_to_parquet(holdout, holdout_path)
    info = {
        "batches": sources,
        "window_rows": len(pooled),
        "holdout_rows": len(holdout),
        "train_rows": len(train_df),
        "includes_training_data": policy.include_training_data,
        "features": features,
        "target": target,
    }
    return Window(train_path, holdout_path, target, info)


def _default_gates(task: str) -> list[str]:
    return ["roc_auc>=champion-0.02"] if task == "classification" else ["r2>=champion-0.02"]


def run_loop(ctx: JobContext, registry: Registry, policy: Policy, run_id: int) -> PolicyRun:
    """The job: retrain on the window, validate against the champion, promote or ask.

    Every step is recorded on the run and in the audit trail. A failure or a
    cancel leaves the champion where it was, with an alert saying why.
    """

    model = policy.model
    champion_ref = f"{model}@{policy.alias}"
    try:
        champion = registry.resolve(champion_ref)
        champion_ref = champion.ref
        with registry.transaction() as tx:
            tx.q("UPDATE pol_runs SET champion_ref = ? WHERE id = ?", [champion.ref, run_id])
        ctx.progress(0.02, "collecting the labelled data")
        window = build_window(registry, policy, champion, run_id)
        w = window.info
        detail = (
            f"{w['window_rows']} labelled rows from {', '.join(w['batches'])}: "
            f"training on {w['train_rows']} rows"
            + (" (with the champion's training data)" if w["includes_training_data"] else "")
            + f", holding out {w['holdout_rows']}"
        )
        _step(registry, run_id, model, "window", True, detail, w)
        ctx.log(detail)
        ctx.raise_if_cancelled()

        recipe = Recipe.from_json(champion.lineage["recipe"]).replace(
            data=str(window.train), features=tuple(w["features"])
        )
        ctx.progress(0.1, f"retraining {champion.ref}'s recipe")
        res = train(
            registry,
            recipe,
            model,
            progress=sub_progress(ctx.progress, 0.1, 0.6),
            cancel=ctx.cancel,
            description=f"challenger trained by the policy of {model} (policy run {run_id})",
        )
        detail = f"{res.ref} trained with {champion.ref}'s recipe ({recipe.estimator})"
        _step(
            registry,
            run_id,
            model,
            "retrained",
            True,
            detail,
            {"challenger": res.ref, "metrics": res.metrics, "rows": w["train_rows"]},
            challenger_ref=res.ref,
        )
        ctx.log(detail)
        gates = list(policy.gates) or _default_gates(recipe.resolved_task())
        ctx.progress(0.6, f"validating {res.ref} against {champion.ref}")
        cmp = compare(
            registry,
            champion.ref,
            res.ref,
            str(window.holdout),
            gates=gates,
            target=window.target,
            allow_extra=True,
            n_boot=policy.n_boot,
            seed=run_id,
            progress=sub_progress(ctx.progress, 0.6, 0.95),
            cancel=ctx.cancel,
        )
        gate_text = "; ".join(
            f"{g.gate} {'passed' if g.passed else 'FAILED'} ({g.detail})" for g in cmp.gates
        )
        _step(
            registry,
            run_id,
            model,
            "validated",
            cmp.promotion_allowed,
            f"{res.ref} vs {champion.ref} on the same {w['holdout_rows']} held-out rows: {gate_text}",
            {
                "comparison_id": cmp.comparison_id,
                "champion": champion.ref,
                "challenger": res.ref,
                "gates": [g.to_json() for g in cmp.gates],
                "differences": [d.to_json() for d in cmp.differences],
            },
            comparison_id=cmp.comparison_id,
        )
        ctx.log(gate_text)
        if not cmp.promotion_allowed:
            _finish(registry, run_id, GATES_FAILED)
            _alerts.raise_alert(
                registry,
                model,
                "gates-failed",
                f"{res.ref} did not pass the gates against {champion.ref}: {gate_text}; "
                f"{champion.ref} stays {policy.alias}",
                numbers={"gates": [g.to_json() for g in cmp.gates]},
                policy_run_id=run_id,
                command=policy.alert_command,
                timeout=policy.alert_timeout,
            )
            return get_policy_run(registry, run_id)
        if not policy.promote:
            _finish(registry, run_id, VALIDATED)
            return get_policy_run(registry, run_id)
        reason = (
            f"policy run {run_id}: "
            + "; ".join(t["detail"] for t in get_policy_run(registry, run_id).triggers)
            + f"; gates passed: {', '.join(g.gate for g in cmp.gates)}"
        )
        if policy.needs_approval:
            ctx.progress(0.97, "requesting approval")
            req = request_approval(
                registry,
                res.ref,
                requested_by=policy.owner or registry.actor,
                reason=reason,
                alias=policy.alias,
                comparison_id=cmp.comparison_id,
                policy_run_id=run_id,
                ttl_hours=policy.approval_ttl_hours,
            )
            detail = (
                f"promotion of {res.ref} to {policy.alias} needs approval by someone other "
                f"than {req.requested_by} (request {req.id}, expires {req.expires_at})"
            )
            _step(
                registry,
                run_id,
                model,
                "approval-requested",
                True,
                detail,
                {"request_id": req.id, "requested_by": req.requested_by},
                approval_id=req.id,
            )
            _finish(registry, run_id, AWAITING)
            _alerts.raise_alert(
                registry,
                model,
                "approval-requested",
                detail,
                severity=_alerts.INFO,
                numbers={"request_id": req.id, "version": res.ref, "alias": policy.alias},
                policy_run_id=run_id,
                command=policy.alert_command,
                timeout=policy.alert_timeout,
            )
        else:
            ctx.progress(0.97, f"promoting {res.ref}")
            promote(registry, int(cmp.comparison_id or 0), reason=reason, alias=policy.alias)
            after_promotion(registry, res.ref, run_id)
        ctx.progress(1.0, "done")
        return get_policy_run(registry, run_id)
    except Cancelled:
        _step(registry, run_id, model, "cancelled", False, f"cancelled; {champion_ref} untouched")
        _finish(registry, run_id, CANCELLED, "cancelled by the user")
        raise
    except Exception as e:
        msg = str(e) if isinstance(e, ModelWardError) else f"{type(e).__name__}: {e}"
        detail = f"retraining failed: {msg}; {champion_ref} stays {policy.alias}, untouched"
        _step(registry, run_id, model, "failed", False, detail)
        _finish(registry, run_id, FAILED, msg)
        _alerts.raise_alert(
            registry,
            model,
            "retrain-failed",
            f"{model}: {detail}",
            severity=_alerts.CRITICAL,
            numbers={"error": msg},
            policy_run_id=run_id,
            command=policy.alert_command,
            timeout=policy.alert_timeout,
        )
        raise
    finally:
        with _lock:
            _active.discard(model)


def run_due(
    registry: Registry, *, now: _dt.datetime | None = None, runner: JobRunner | None = None
) -> list[PolicyRun]:
    """Periodic work: expire old approval requests, fire scheduled and data triggers.

    :class:`~modelward.core.policies.service.PolicyService` calls this on its
    timer (``modelward watch`` and the window); loops run on ``runner``
    (inline when ``None``).

    Returns
    -------
    list of PolicyRun
        The runs started by schedules (or enough new labelled data).
    """

    for rid in expire_approvals(registry, now=now):
        req = get_approval(registry, rid)
        detail = f"approval request {rid} ({req.version_ref} to {req.alias}) expired unanswered"
        if req.policy_run_id is not None:
            _step(registry, req.policy_run_id, req.model, "expired", False, detail)
            _finish(registry, req.policy_run_id, EXPIRED)
        _alerts.raise_alert(
            registry,
            req.model,
            "approval-expired",
            detail,
            numbers={"request_id": rid},
            policy_run_id=req.policy_run_id,
        )
    runs = []
    for policy in list_policies(registry):
        if policy.enabled and policy.shadow_metric:
            run = _shadow_rule(registry, policy)
            if run is not None:
                runs.append(run)
        t = policy.triggers
        if not policy.enabled or (t.every_days is None and t.new_labelled_rows is None):
            continue
        since = _last_action_at(registry, policy)
        hits = evaluate_triggers(
            policy,
            None,
            labelled_rows_since=_labelled_rows_since(registry, policy.model, since),
            last_action_at=since,
            now=now,
        )
        if hits:
            runs.append(fire(registry, policy, hits, runner=runner))
    return runs
