"""A data batch arriving in a data inbox: through the intake door, then the model's policy."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.core.intake import SeenFn, accept_batch, expected_features, stored_view
from modelward.core.policies.engine import evaluate_after_batch
from modelward.core.registry import Registry
from modelward.core.watch.folders import WatchedFolder

if TYPE_CHECKING:
    from modelward.core.intake import IntakeResult
    from modelward.core.intake.checks import ModelContext
    from modelward.core.jobs import JobRunner

__all__ = ["expected_features", "ingest_batch"]


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
