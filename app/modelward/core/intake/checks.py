"""The checks behind the door: what a stored batch must satisfy to be taken.

:func:`check_batch` is the one place where a data batch is judged before it
is recorded; stricter validation (encodings, types, limits) belongs here, so
that every path a batch can take in meets it. It reads the artifact store's
copy, never the file it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelward.core.datasets import read_schema
from modelward.core.errors import NotFound, RejectedFile
from modelward.core.monitoring.quality import SchemaMismatch
from modelward.core.monitoring.service import check_batch as monitor_check
from modelward.core.registry import Registry


@dataclass(frozen=True)
class BatchFacts:
    """What the check learned about a batch: its columns (DuckDB types) and rows."""

    schema: dict[str, str]
    rows: int


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


def check_batch(registry: Registry, path: Path, *, model_name: str | None) -> BatchFacts:
    """Check a stored batch: a readable table with the columns its model needs.

    Parameters
    ----------
    registry
        Where the model's signature is looked up.
    path
        The stored copy (a view of it named like the source).
    model_name
        The model the batch is for; ``None`` checks only that it is a table.

    Raises
    ------
    RejectedFile
        Unreadable, or columns the model needs are missing.
    """
    schema, rows = read_schema(path)
    if model_name is not None:
        expected = expected_features(registry, model_name)
        if expected is not None:
            missing = [c for c in expected if c not in schema]
            if missing:
                shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
                raise RejectedFile(
                    f"schema mismatch: {len(missing)} column(s) the model {model_name} "
                    f"needs are missing: {shown}"
                )
    return BatchFacts(schema, rows)


def monitor_batch(
    registry: Registry,
    path: Path,
    *,
    model_name: str,
    name: str,
    schema: dict[str, str],
    options: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Check the batch against the champion's reference profile, when there is one.

    A batch whose columns or types do not match the reference is refused; a
    model without a champion or a profile yet is simply not checked.

    Returns
    -------
    dict or None
        ``batch_id``, ``drift_share``, ``drifted``, ``verdict`` and ``performance``.

    Raises
    ------
    RejectedFile
        The batch does not match the reference's schema.
    """
    opts = options or {}
    label = opts.get("label_column") if opts.get("label_column") in schema else None
    id_col = opts.get("id_column") if opts.get("id_column") in schema else None
    try:
        res = monitor_check(
            registry,
            f"{model_name}@champion",
            path,
            name=name,
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
