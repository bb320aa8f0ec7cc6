"""Dataset fingerprints: a stable SHA-256 of the data's content and shape."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb

from modelward.core.clock import utcnow
from modelward.core.duck import connect as duck_connect
from modelward.core.errors import RejectedFile


def fingerprint_arrays(X: Any, y: Any = None) -> dict[str, Any]:
    """Fingerprint in-memory data (numpy arrays or DataFrames): hash, rows, columns."""
    import numpy as np  # deferred: start-up cost

    h = hashlib.sha256()
    rows = None
    n_cols = None
    for part in (X, y):
        if part is None:
            continue
        values = part.to_numpy() if hasattr(part, "to_numpy") else np.asarray(part)
        rows = int(values.shape[0]) if rows is None else rows
        if values.ndim == 2 and n_cols is None:
            n_cols = int(values.shape[1])
        h.update(str(values.shape).encode())
        h.update(str(values.dtype).encode())
        if values.dtype == object:
            h.update(repr(values.tolist()).encode())
        else:
            h.update(np.ascontiguousarray(values).tobytes())
    return {"fingerprint": h.hexdigest(), "rows": rows, "columns": n_cols}


def read_schema(path: Any) -> tuple[dict[str, str], int]:
    """Column name → DuckDB type, and the row count, of a CSV or Parquet file.

    Raises
    ------
    RejectedFile
        When the file cannot be read as a table (with DuckDB's reason, shortened).
    """

    p = Path(path)
    with open(p, "rb") as f:
        head = f.read(4)
    reader = "read_parquet" if head == b"PAR1" else "read_csv"
    con = duck_connect()
    try:
        rel = con.sql(f"SELECT * FROM {reader}(?)", params=[str(p)])
        schema = {name: str(t) for name, t in zip(rel.columns, rel.types, strict=True)}
        rows = int(con.execute(f"SELECT count(*) FROM {reader}(?)", [str(p)]).fetchall()[0][0])
    except duckdb.Error as e:
        first = str(e).splitlines()[0]
        raise RejectedFile(
            f"cannot read as a {'Parquet' if head == b'PAR1' else 'CSV'} table: {first}"
        ) from None
    finally:
        con.close()
    if not schema:
        raise RejectedFile("the table has no columns")
    return schema, rows


def register_dataset(
    registry: Any,
    *,
    fingerprint: str,
    name: str | None,
    role: str,
    rows: int | None,
    schema: dict[str, str],
    source: str | None,
    model_name: str | None = None,
) -> int:
    """Record a dataset (once per fingerprint, audited); returns its id."""
    return record_dataset(
        registry,
        fingerprint=fingerprint,
        name=name,
        role=role,
        rows=rows,
        schema=schema,
        source=source,
        model_name=model_name,
    )[0]


def record_dataset(
    registry: Any,
    *,
    fingerprint: str,
    name: str | None,
    role: str,
    rows: int | None,
    schema: dict[str, str],
    source: str | None,
    model_name: str | None = None,
    flags: dict[str, Any] | None = None,
) -> tuple[int, bool]:
    """Record a dataset once per fingerprint; returns ``(id, created)``.

    A new dataset writes one ``dataset.registered`` audit event (with the
    intake's ``flags``, when given); known bytes return the existing id and
    write nothing.
    """
    with registry.transaction() as tx:
        found = tx.q("SELECT id FROM datasets WHERE fingerprint = ?", [fingerprint]).fetchall()
        if found:
            return int(found[0][0]), False
        did = tx.next_id("seq_datasets")
        tx.q(
            "INSERT INTO datasets VALUES (?,?,?,?,?,?,?,?,?)",
            [did, fingerprint, name, role, rows, json.dumps(schema), source, utcnow(), tx.actor],
        )
        tx.audit(
            "dataset.registered",
            "dataset",
            did,
            after={
                "fingerprint": fingerprint,
                "name": name,
                "role": role,
                "rows": rows,
                "model": model_name,
                "columns": len(schema),
                **({"flags": flags} if flags else {}),
            },
        )
    return int(did), True
