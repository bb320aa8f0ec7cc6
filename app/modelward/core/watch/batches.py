"""A data batch arriving in a data inbox: schema check, dataset record, monitoring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelward.core.datasets import read_schema, register_dataset
from modelward.core.errors import NotFound, RejectedFile
from modelward.core.registry.registry import Registry
from modelward.core.watch.folders import WatchedFolder


def expected_features(registry: Registry, model_name: str) -> list[str] | None:
    """Feature names the model's champion (else latest version) was trained on, if known."""
    for ref in (f"{model_name}@champion", model_name):
        try:
            v = registry.resolve(ref)
        except NotFound:
            continue
        sig = v.signature or {}
        if sig.get("feature_names"):
            return [str(x) for x in sig["feature_names"]]
        if sig.get("columns"):
            return [str(c["name"]) for c in sig["columns"]]
        return None
    return None


def ingest_batch(
    registry: Registry, folder: WatchedFolder, path: Path, sha256: str
) -> tuple[str, str, dict[str, Any]]:
    """Check and record one batch; returns ``(ref, detail, result)``.

    Raises
    ------
    RejectedFile
        Unreadable file or a schema that does not match the model (quarantined).
    """
    assert folder.model_name is not None
    try:
        schema, rows = read_schema(path)
        expected = expected_features(registry, folder.model_name)
        if expected is not None:
            missing = [c for c in expected if c not in schema]
            if missing:
                shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
                raise RejectedFile(
                    f"schema mismatch: {len(missing)} column(s) the model {folder.model_name} "
                    f"needs are missing: {shown}"
                )
    except RejectedFile as rej:
        registry.quarantine(path, source=str(path), reason=rej.reason, sha256=sha256)
        raise
    stored_sha, _size = registry.artifacts.put_file(path)
    ds = register_dataset(
        registry,
        fingerprint=stored_sha,
        name=path.name,
        role="batch",
        rows=rows,
        schema=schema,
        source=str(path),
        model_name=folder.model_name,
    )
    result: dict[str, Any] = {"dataset_id": ds, "rows": rows, "model": folder.model_name}
    detail = f"batch of {rows} rows for {folder.model_name}"
    try:  # monitoring checks, where that part of ModelWard is present
        from modelward.core.monitoring.service import check_batch_from_inbox
    except ImportError:
        check_batch_from_inbox = None
    if check_batch_from_inbox is not None:
        summary = check_batch_from_inbox(registry, folder, path, dataset_id=ds)
        if summary:
            result["monitoring"] = summary
            detail += f"; {summary.get('verdict', 'checked')}"
    from modelward.core.policies.engine import evaluate_after_batch

    # The model's policy: triggers, alerts, retraining (never raises).
    policy = evaluate_after_batch(
        registry,
        folder,
        path,
        dataset_id=ds,
        sha256=stored_sha,
        rows=rows,
        schema=schema,
        monitoring=result.get("monitoring"),
    )
    if policy:
        result["policy"] = policy
        detail += f"; {policy['summary']}"
    return f"dataset:{ds}", detail, result
