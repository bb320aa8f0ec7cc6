"""Audit export: the whole hash-chained trail as CSV or JSON, for an auditor's own checks.

Every column is exported as stored (``before`` and ``after`` are the exact JSON
texts that were hashed), so an auditor can recompute each event's hash and the
links between them with their own script; the README gives a ten-line recipe.
In CSV, a text that a spreadsheet would run as a formula (``=1+2`` as a model
name) is written with a leading ``'`` (:func:`~modelward.core.text.csv_cell`);
the recipe removes it again before hashing.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import modelward.core.registry.audit as _audit
from modelward.core import platform
from modelward.core.errors import InvalidInput
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress
from modelward.core.registry.audit import COLUMNS
from modelward.core.text import csv_cell

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = ["COLUMNS", "NULL", "export_audit"]

NULL = "\\N"  # how CSV writes a missing value (an empty text stays an empty cell)


def export_audit(
    registry: Registry,
    path: str | os.PathLike[str],
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Write every audit event, oldest first, to ``path`` (``.csv`` or ``.json``).

    CSV: a header row of :data:`COLUMNS`, UTF-8, ``\\N`` for NULL, a ``'``
    before every text starting with ``= + - @ '``, a tab or a CR. JSON:
    ``{"columns": [...], "events": [{column: value, ...}, ...], "head_hash": ...}``
    with ``null`` for NULL.

    Returns
    -------
    dict
        ``path``, ``events``, ``head_hash`` and ``chain_ok`` (the chain as
        verified while exporting).
    """

    dest = Path(path)
    kind = dest.suffix.lower()
    if kind not in (".csv", ".json"):
        raise InvalidInput(f"export to .csv or .json, not {dest.suffix or 'no extension'!r}")
    total = registry.audit_head() or 1
    tmp = dest.with_name(f".{dest.name}.partial")
    n = 0
    with registry.read() as cur, open(tmp, "w", encoding="utf-8", newline="") as f:
        cur.execute(f"SELECT {', '.join(COLUMNS)} FROM audit ORDER BY seq")
        writer = csv.writer(f) if kind == ".csv" else None
        if writer is not None:
            writer.writerow(COLUMNS)
        else:
            f.write('{"columns": ' + json.dumps(list(COLUMNS)) + ', "events": [\n')

        def written() -> Iterator[tuple[Any, ...]]:
            nonlocal n
            while batch := cur.fetchmany(10_000):
                check(cancel)
                for row in batch:
                    if writer is not None:
                        writer.writerow([NULL if v is None else csv_cell(v) for v in row])
                    else:
                        event = json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False)
                        f.write((",\n" if n else "") + event)
                    n += 1
                    yield row
                progress(min(n / total, 1.0), f"{n} events")

        rows = written()
        report = _audit.verify_rows(rows)  # stops at a broken link: write the rest anyway
        for _ in rows:
            pass
        if writer is None:
            f.write('\n], "head_hash": ' + json.dumps(report.head_hash) + "}\n")
    platform.replace_file(tmp, dest)
    progress(1.0, f"{n} events exported")
    return {"path": str(dest), "events": n, "head_hash": report.head_hash, "chain_ok": report.ok}
