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


def _monitor(
    registry: Registry, folder: WatchedFolder, path: Path, schema: dict[str, str]
) -> dict[str, Any] | None:
    """Check the batch against the champion's reference profile, when there is one.

    A batch whose columns or types do not match the reference is rejected
    (quarantined by the caller); a model without a champion or a profile yet
    is simply not checked.
    """
    from modelward.core.monitoring.quality import SchemaMismatch
    from modelward.core.monitoring.service import check_batch

    assert folder.model_name is not None
    opts = folder.options or {}
    label = opts.get("label_column") if opts.get("label_column") in schema else None
    id_col = opts.get("id_column") if opts.get("id_column") in schema else None
    try:
        res = check_batch(
            registry,
            f"{folder.model_name}@champion",
            path,
            name=path.name,
            id_column=id_col,
            label_column=label,
        )
    except SchemaMismatch as e:
        raise RejectedFile(f"schema mismatch: {e}") from None
    except NotFound:
        return None  # no champion, or no reference profile yet: nothing to compare with
    report = res.report
    verdict = (
        f"drift in {report.drift_share:.0%} of features"
        if report.drifted
        else f"no dataset drift ({report.drift_share:.0%} of features)"
    )
    return {
        "batch_id": res.batch_id,
        "drift_share": report.drift_share,
        "drifted": report.drifted,
        "verdict": verdict,
        "performance": res.performance,
    }


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
        monitoring = _monitor(registry, folder, path, schema)
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
    if monitoring is not None:
        result["monitoring"] = monitoring
        detail += f"; {monitoring['verdict']}"
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
