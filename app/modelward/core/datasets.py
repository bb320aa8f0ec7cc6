"""Dataset fingerprints: a stable SHA-256 of the data's content and shape."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from modelward.core.clock import utcnow


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


def record_datasets(registry: Any, records: list[dict[str, Any]]) -> list[tuple[int, bool]]:
    """Record many datasets in one transaction, columnar; ``(id, created)`` for each record.

    The same as :func:`record_dataset` called for each record in order (one
    ``dataset.registered`` event per new dataset, known bytes mapped to the
    existing id with nothing written, the same bytes twice in ``records``
    recorded once), but with one lookup of the known fingerprints, one
    draw of ids and one ``INSERT … SELECT`` over columns: a burst of small
    batches pays one statement instead of three per batch.

    Parameters
    ----------
    registry
        The registry (inside :meth:`Registry.group`, the group's transaction).
    records
        Mappings with the keyword arguments of :func:`record_dataset`
        (``fingerprint``, ``name``, ``role``, ``rows``, ``schema``, ``source``,
        and optionally ``model_name`` and ``flags``).

    Returns
    -------
    list of (int, bool)
        The dataset id each record maps to, and whether it was created now.
    """
    import numpy as np  # deferred: start-up cost

    if not records:
        return []
    prints = [str(r["fingerprint"]) for r in records]
    with registry.transaction() as tx:
        known = {
            str(fp): int(i)
            for fp, i in tx.q(
                "SELECT fingerprint, id FROM datasets "
                "WHERE fingerprint IN (SELECT unnest(?::VARCHAR[]))",
                [sorted(set(prints))],
            ).fetchall()
        }
        first: dict[str, int] = {}
        for k, fp in enumerate(prints):
            first.setdefault(fp, k)
        fresh = [k for fp, k in first.items() if fp not in known]
        created_now = set(fresh)
        out: list[tuple[int, bool]] = []
        if fresh:
            ids = [
                int(r[0])
                for r in tx.q(
                    "SELECT nextval('seq_datasets') FROM range(?)", [len(fresh)]
                ).fetchall()
            ]
            now = utcnow()
            new = dict(zip(fresh, ids, strict=True))

            def column(values: list[Any]) -> Any:
                arr = np.empty(len(values), dtype=object)
                arr[:] = values
                return arr

            rows = [records[k] for k in fresh]
            cols = {
                "id": np.asarray(ids, dtype=np.int64),
                "fingerprint": column([prints[k] for k in fresh]),
                "name": column([r.get("name") for r in rows]),
                "role": column([r.get("role") for r in rows]),
                "rows": column([None if r.get("rows") is None else int(r["rows"]) for r in rows]),
                "schema": column([json.dumps(r["schema"]) for r in rows]),
                "source": column([r.get("source") for r in rows]),
                "created_at": column([now] * len(rows)),
                "created_by": column([tx.actor] * len(rows)),
            }
            tx.cur.register("_mw_datasets", cols)
            try:
                tx.q(
                    "INSERT INTO datasets SELECT id, fingerprint, name, role, "
                    "CAST(rows AS BIGINT), schema, source, created_at, created_by FROM _mw_datasets"
                )
            finally:
                tx.cur.unregister("_mw_datasets")
            for k, did in new.items():
                r = records[k]
                flags = r.get("flags")
                tx.audit(
                    "dataset.registered",
                    "dataset",
                    did,
                    after={
                        "fingerprint": prints[k],
                        "name": r.get("name"),
                        "role": r.get("role"),
                        "rows": r.get("rows"),
                        "model": r.get("model_name"),
                        "columns": len(r["schema"]),
                        **({"flags": flags} if flags else {}),
                    },
                )
            known.update({prints[k]: did for k, did in new.items()})
        for k, fp in enumerate(prints):
            out.append((known[fp], k in created_now))
    return out
