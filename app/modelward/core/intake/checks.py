"""The checks behind the door: what a stored batch must satisfy to be taken.

:func:`check_batch` is the one place where a data batch is judged before it
is recorded; stricter validation (encodings, types, limits) belongs here, so
that every path a batch can take in meets it. It reads the artifact store's
copy, never the file it came from.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelward.core.errors import NotFound, RejectedFile
from modelward.core.monitoring.quality import SchemaMismatch
from modelward.core.monitoring.service import check_batch as monitor_check
from modelward.core.registry import Registry
from modelward.core.tables import BadTable, check_signature, open_table, scan_table


@dataclass(frozen=True)
class BatchFacts:
    """What the check learned about a batch.

    Its columns (DuckDB types) and rows; ``flags`` maps a column to what is
    readable but implausible in it (``infinite``/``nan`` counts and a ``what``
    line); ``extra`` lists columns the model does not know that were kept.
    """

    schema: dict[str, str]
    rows: int
    flags: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)


def expected_signature(registry: Registry, model_name: str) -> dict[str, str | None] | None:
    """Feature name -> kind (``numeric``/``categorical``/``None``) of the champion, else latest.

    ``None`` when the model or its feature names are unknown.
    """
    for ref in (f"{model_name}@champion", model_name):
        try:
            v = registry.resolve(ref)
        except NotFound:
            continue
        sig = v.signature or {}
        if sig.get("features"):
            return {str(c["name"]): c.get("kind") for c in sig["features"]}
        if sig.get("feature_names"):
            return dict.fromkeys(str(x) for x in sig["feature_names"])
        if sig.get("columns"):
            return {str(c["name"]): c.get("kind") for c in sig["columns"]}
        return None
    return None


def expected_features(registry: Registry, model_name: str) -> list[str] | None:
    """Feature names the model's champion (else latest version) was trained on, if known."""
    sig = expected_signature(registry, model_name)
    return None if sig is None else list(sig)


def _allowed_extra(registry: Registry, model_name: str, options: dict[str, Any]) -> list[str]:
    """Columns a batch may carry besides the features: labels, ids, the target, the time."""
    out = [str(options[k]) for k in ("label_column", "id_column") if options.get(k)]
    for ref in (f"{model_name}@champion", model_name):
        try:
            sig = registry.resolve(ref).signature or {}
        except NotFound:
            continue
        out += [str(sig[k]) for k in ("target", "time_column") if sig.get(k)]
        break
    return out


def check_batch(
    registry: Registry,
    path: Path,
    *,
    model_name: str | None,
    options: dict[str, Any] | None = None,
    allow_extra: bool = False,
) -> BatchFacts:
    """Check a stored batch with the strict reader, and against its model's columns.

    Parameters
    ----------
    registry
        Where the model's signature is looked up.
    path
        The stored copy (a view of it named like the source).
    model_name
        The model the batch is for; ``None`` checks only that it is a sound table.
    options
        The inbox's options: ``label_column``/``id_column`` may be present besides
        the features; any other extra column is kept and flagged, unless
        ``allow_extra`` is ``False`` (then it is refused).
    allow_extra
        Keep columns the model does not know even if the options say otherwise.

    Raises
    ------
    RejectedFile
        With the strict reader's sentence (see :mod:`modelward.core.tables`):
        unreadable, ambiguous, empty, limits, or columns missing, extra or of
        the wrong type.
    """
    opts = dict(options or {})
    expected = expected_signature(registry, model_name) if model_name is not None else None
    try:
        table = open_table(path, expected=list(expected) if expected else None)
        extra: list[str] = []
        if expected is not None and model_name is not None:
            # A producer's batch often carries ids or labels the inbox was not told of:
            # kept, and shown in the flags, unless the inbox says allow_extra: false.
            keep = allow_extra or bool(opts.get("allow_extra", True))
            extra = check_signature(
                table,
                expected,
                allow_extra=keep,
                allowed_extra=_allowed_extra(registry, model_name, opts),
            )
        scan = scan_table(table)
    except BadTable as e:
        raise RejectedFile(str(e)) from None
    flags = dict(scan.flags)
    for c in extra:
        flags[c] = {"extra": True, "what": "not a column of the model: kept, not monitored"}
    return BatchFacts(table.types, scan.rows, flags, extra)


@contextlib.contextmanager
def _quiet_numbers() -> Iterator[None]:
    """Odd values are reported as flags: no raw numpy warning goes to the log or terminal."""
    import numpy as np  # deferred: start-up cost

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


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
        ``batch_id``, ``drift_share``, ``drifted``, ``verdict``, ``performance`` and
        ``flags`` (column -> values outside the reference's range, unseen
        categories, more missing values: counts and a ``what`` line).

    Raises
    ------
    RejectedFile
        The batch does not match the reference's schema.
    """
    opts = options or {}
    label = opts.get("label_column") if opts.get("label_column") in schema else None
    id_col = opts.get("id_column") if opts.get("id_column") in schema else None
    try:
        with _quiet_numbers():
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
    except ValueError as e:
        # The batch is readable but the model cannot score some rows (±inf, or values
        # so large that its arithmetic overflows): taken, flagged, not checked.
        why = "a value is infinite or too large" if "infinity" in str(e) else "it refused the rows"
        return {
            "batch_id": None,
            "drift_share": None,
            "drifted": None,
            "verdict": f"not checked against the champion: the model cannot score it ({why})",
            "performance": {},
            "flags": {},
        }
    except NotFound:
        return None  # no champion, or no reference profile yet: nothing to compare with
    report = res.report
    verdict = (
        f"drift in {report.drift_share:.0%} of features"
        if report.drifted
        else f"no dataset drift ({report.drift_share:.0%} of features)"
    )
    flags: dict[str, dict[str, Any]] = {}
    for c in report.quality.columns if report.quality is not None else ():
        notes = []
        if c.out_of_range:
            notes.append(f"{c.out_of_range} value(s) outside the reference's range")
        if c.unseen:
            notes.append(f"{c.unseen} value(s) of categories the reference never saw")
        if c.missing_rate > c.reference_missing_rate + 0.01:
            notes.append(f"missing {c.missing_rate:.1%} (reference {c.reference_missing_rate:.1%})")
        if notes:
            flags[c.name] = {
                "out_of_range": c.out_of_range,
                "unseen": c.unseen,
                "what": "; ".join(notes),
            }
    if flags:
        verdict += f"; {len(flags)} column(s) flagged"
    return {
        "batch_id": res.batch_id,
        "drift_share": report.drift_share,
        "drifted": report.drifted,
        "verdict": verdict,
        "performance": res.performance,
        "flags": flags,
    }
