"""A data batch arriving in a data inbox: through the intake door, then the model's policy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.core.intake import SeenFn, accept_batch, expected_features, stored_view
from modelward.core.intake.door import accept_batches, batch_views
from modelward.core.policies.engine import evaluate_after_batch, record_batches
from modelward.core.policies.store import get_policy
from modelward.core.registry import Registry
from modelward.core.watch.folders import WatchedFolder

if TYPE_CHECKING:
    from modelward.core.intake import IntakeResult
    from modelward.core.intake.checks import ModelContext
    from modelward.core.jobs import JobRunner

__all__ = ["expected_features", "ingest_batch", "ingest_batches"]


def ingest_batch(
    registry: Registry,
    folder: WatchedFolder,
    path: Path,
    *,
    seen: SeenFn | None = None,
    runner: JobRunner | None = None,
    context: ModelContext | None = None,
) -> tuple[IntakeResult, str, dict[str, Any]]:
    """Take one batch through the door; returns ``(intake result, detail, result)``.

    The bytes are copied into the store and checked there (never at ``path``);
    the model's policy then sees the stored bytes too. A refused batch is
    returned as such (already quarantined and audited), as is one ``seen``
    before; only an accepted one reaches the policy. ``context`` is the
    model's checks context when the caller shares one between batches.
    """
    assert folder.model_name is not None
    res = accept_batch(
        registry,
        path,
        model_name=folder.model_name,
        source=str(path),
        options=folder.options,
        seen=seen,
        context=context,
    )
    if res.dataset_id is None:  # refused, or seen before: the caller reports it
        return res, res.reason or "", {}
    rows = int(res.rows or 0)
    detail, result = _taken(folder, res)
    # The model's policy: triggers, alerts, retraining (never raises).
    with stored_view(registry, res.sha256, path.name) as view:
        policy = evaluate_after_batch(
            registry,
            folder,
            view,
            dataset_id=res.dataset_id,
            sha256=res.sha256,
            rows=rows,
            schema=res.schema,
            monitoring=res.monitoring,
            runner=runner,
        )
    if policy:
        result["policy"] = policy
        detail += f"; {policy['summary']}"
    return res, detail, result


def _taken(folder: WatchedFolder, res: IntakeResult) -> tuple[str, dict[str, Any]]:
    """The detail line and the result record of an accepted batch, before its policy."""
    rows = int(res.rows or 0)
    result: dict[str, Any] = {
        "dataset_id": res.dataset_id,
        "rows": rows,
        "model": folder.model_name,
    }
    detail = f"{rows:,} rows for {folder.model_name}" + (
        f", {res.flags_line}" if res.flags_line else ""
    )
    if res.monitoring is not None:
        result["monitoring"] = res.monitoring
        detail += f"; {res.monitoring['verdict']}"
    return detail, result


def ingest_batches(
    registry: Registry,
    folder: WatchedFolder,
    paths: list[Path],
    *,
    seen: Callable[[Path, str], bool] | None = None,
    runner: JobRunner | None = None,
    context: ModelContext | None = None,
) -> list[tuple[IntakeResult, str, dict[str, Any]]]:
    """:func:`ingest_batch` for many batches of one inbox: checked one by one, recorded together.

    The batches go through :func:`~modelward.core.intake.door.accept_batches`
    (one flush of the store, one columnar record of the datasets). A model
    without an enabled policy remembers its batches in one columnar write
    (what its policy step does for each of them,
    :func:`~modelward.core.policies.engine.record_batches`, with the champion
    check's id where there was one); a batch whose group gaps crossed their
    thresholds (an alert to raise), or any batch of a model with an enabled
    policy, goes through :func:`~modelward.core.policies.engine.evaluate_after_batch`
    batch by batch, as alone. Returns one ``(intake result, detail, result)`` per path.
    """
    assert folder.model_name is not None
    model = folder.model_name
    opts = folder.options or {}
    out: list[tuple[IntakeResult, str, dict[str, Any]]] = []
    with batch_views(registry) as views:
        group = accept_batches(
            registry,
            paths,
            model_name=model,
            views=views,
            options=folder.options,
            seen=seen,
            context=context,
        )
        policy = get_policy(registry, model)
        plain = policy is None or not policy.enabled
        recorded: list[tuple[int, str, int, str | None, int | None]] = []
        for g in group:
            res = g.result
            if res.dataset_id is None:
                out.append((res, res.reason or "", {}))
                continue
            detail, result = _taken(folder, res)
            checked = res.monitoring is not None and res.monitoring.get("batch_id") is not None
            if plain and not (
                checked and res.monitoring and res.monitoring.get("group_gaps_crossed")
            ):
                # What the policy step does for such a batch, done for the group at once:
                # remember it (with its check's id); no alert to raise.
                schema = res.schema or {}
                label = opts.get("label_column") if opts.get("label_column") in schema else None
                bid = res.monitoring.get("batch_id") if checked and res.monitoring else None
                recorded.append((res.dataset_id, res.sha256, int(res.rows or 0), label, bid))
            else:
                assert g.view is not None
                done = evaluate_after_batch(
                    registry,
                    folder,
                    g.view,
                    dataset_id=res.dataset_id,
                    sha256=res.sha256,
                    rows=int(res.rows or 0),
                    schema=res.schema or {},
                    monitoring=res.monitoring,
                    runner=runner,
                )
                if done:
                    result["policy"] = done
                    detail += f"; {done['summary']}"
            out.append((res, detail, result))
        record_batches(registry, model, recorded)
    return out
