"""Bulk writes: many versions in one transaction through DuckDB's columnar path.

Registering versions one at a time costs a handful of statements each; that is
fine for a person, but a bundle import, a migration or a benchmark fixture
writes tens of thousands. :func:`bulk_add_versions` does the bookkeeping in
Python (version numbers, JSON texts, the audit hash chain continued from the
current tail) and hands DuckDB whole numpy columns, one ``INSERT … SELECT`` per
table. Row-by-row ``executemany`` is about a thousand times slower.

The result is what the same records registered one by one through
:meth:`Registry.add_version` would have written: the same rows, a
``model.created`` event before a new model's first version, one
``version.registered`` event per new version, and identical bytes under the
same model mapped to the existing version instead of a new one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import modelward.core.registry.audit as _audit
from modelward.core.artifacts.store import ProgressFn, _noop
from modelward.core.clock import utcnow
from modelward.core.errors import Cancelled, InvalidInput, NotFound
from modelward.core.refs import validate_name
from modelward.core.registry import Registry
from modelward.core.registry.tx import Tx, _dumps, _first

__all__ = ["BulkResult", "VersionRecord", "bulk_add_versions"]

_CHUNK = 5_000  # records between progress reports and cancel checks


@dataclass(frozen=True)
class VersionRecord:
    """One version to register; its artifact must already be in the store."""

    name: str
    sha256: str
    size: int
    format: str
    estimator_class: str | None = None
    params: dict[str, Any] | None = None
    signature: dict[str, Any] | None = None
    lineage: dict[str, Any] | None = None
    metrics: dict[str, float] | None = None
    tags: dict[str, str] | None = None
    status: str = "ok"
    task: str | None = None  # used only when the model is created
    description: str | None = None  # likewise


@dataclass(frozen=True)
class BulkResult:
    """What :func:`bulk_add_versions` did.

    ``version_ids[i]`` is the version id record ``i`` maps to (new or existing).
    """

    version_ids: list[int] = field(default_factory=list)
    created: int = 0
    existing: int = 0
    models_created: int = 0


_FIELDS = {f.name for f in dataclasses.fields(VersionRecord)}


def _as_record(r: VersionRecord | Mapping[str, Any]) -> VersionRecord:
    if isinstance(r, VersionRecord):
        return r
    if dataclasses.is_dataclass(r) and not isinstance(r, type):
        r = dataclasses.asdict(r)
    if not isinstance(r, Mapping):
        raise InvalidInput(f"a version record must be a mapping or a dataclass, not {type(r)}")
    unknown = set(r) - _FIELDS
    if unknown:
        raise InvalidInput(f"unknown version record fields: {', '.join(sorted(unknown))}")
    try:
        return VersionRecord(**r)
    except TypeError as e:
        raise InvalidInput(f"incomplete version record: {e}") from None


def _check(cancel: Any) -> None:
    """Honour a cancel token (``raise_if_cancelled()``, ``is_set()`` or a callable)."""
    if cancel is None:
        return
    if hasattr(cancel, "raise_if_cancelled"):
        cancel.raise_if_cancelled()
        return
    flag = cancel.is_set() if hasattr(cancel, "is_set") else cancel()
    if flag:
        raise Cancelled("the bulk registration was cancelled; nothing was written")


def _col(values: list[Any]) -> np.ndarray:
    """An object column DuckDB reads as VARCHAR (``None`` becomes NULL)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _insert(tx: Tx, table: str, columns: dict[str, np.ndarray], select: str = "*") -> None:
    """``INSERT INTO table SELECT select FROM <columns>`` as one columnar statement."""
    view = f"_mw_bulk_{table}"
    tx.cur.register(view, columns)
    try:
        tx.q(f"INSERT INTO {table} SELECT {select} FROM {view}")
    finally:
        tx.cur.unregister(view)


def _ids(tx: Tx, seq: str, n: int) -> list[int]:
    if n == 0:
        return []
    got = tx.q(f"SELECT nextval('{seq}') AS id FROM range(?)", [n]).fetchnumpy()["id"]
    return sorted(int(i) for i in got)


class _Chain:
    """The audit hash chain continued in Python, collected as columns."""

    def __init__(self, seq: int, prev: str, ts: str, actor: str):
        self.seq, self.prev, self.ts, self.actor = seq, prev, ts, actor
        self.rows: dict[str, list[Any]] = {
            k: []
            for k in (
                "seq",
                "action",
                "entity_type",
                "entity_id",
                "after",
                "prev_hash",
                "hash",
            )
        }

    def add(self, action: str, entity_type: str, entity_id: str, after: Any) -> None:
        self.seq += 1
        a = _audit.canonical_json(after)
        h = _audit.event_hash(
            self.seq, self.ts, self.actor, action, entity_type, entity_id, None, a, None, self.prev
        )
        for k, v in (
            ("seq", self.seq),
            ("action", action),
            ("entity_type", entity_type),
            ("entity_id", entity_id),
            ("after", a),
            ("prev_hash", self.prev),
            ("hash", h),
        ):
            self.rows[k].append(v)
        self.prev = h

    def columns(self) -> dict[str, np.ndarray]:
        n = len(self.rows["seq"])
        r = self.rows
        return {
            "seq": np.asarray(r["seq"], dtype=np.int64),
            "ts": _col([self.ts] * n),
            "actor": _col([self.actor] * n),
            "action": _col(r["action"]),
            "entity_type": _col(r["entity_type"]),
            "entity_id": _col(r["entity_id"]),
            "after": _col(r["after"]),
            "prev_hash": _col(r["prev_hash"]),
            "hash": _col(r["hash"]),
        }


def bulk_add_versions(
    registry: Registry,
    records: Iterable[VersionRecord | Mapping[str, Any]],
    *,
    progress: ProgressFn | None = None,
    cancel: Any = None,
) -> BulkResult:
    """Register many versions in one transaction, columnar, with their audit events.

    Parameters
    ----------
    registry
        The registry to write to.
    records
        :class:`VersionRecord` objects, or mappings (or dataclasses) with the
        same fields: ``name``, ``sha256``, ``size``, ``format`` and optionally
        ``estimator_class``, ``params``, ``signature``, ``lineage``,
        ``metrics``, ``tags``, ``status``, ``task``, ``description``.
    progress
        Called with ``(fraction, status)``.
    cancel
        A cancel token, checked between chunks and before the commit; a
        cancelled call writes nothing.

    Returns
    -------
    BulkResult
        The version id each record maps to and how many versions and models
        were created.

    Raises
    ------
    NotFound
        An artifact is not in the store; nothing was written.
    InvalidInput
        A record is malformed (bad name, missing field); nothing was written.
    """
    report: Callable[[float, str], None] = progress or _noop
    recs = [_as_record(r) for r in records]
    n = len(recs)
    report(0.0, f"checking {n:,} records")
    names_seen: set[str] = set()
    for i, r in enumerate(recs):
        if r.name not in names_seen:
            validate_name(r.name)
            names_seen.add(r.name)
        if i % _CHUNK == 0:
            _check(cancel)
    for i, sha in enumerate(dict.fromkeys(r.sha256 for r in recs)):
        if not registry.artifacts.has(sha):
            raise NotFound(
                f"artifact {sha[:12]}… is not in the store; store it first (nothing was written)"
            )
        if i % _CHUNK == 0:
            _check(cancel)
            report(0.2 * i / max(n, 1), "checking artifacts")
    if n == 0:
        return BulkResult()

    with registry.transaction() as tx:
        names = list(names_seen)
        tx.cur.register("_mw_bulk_names", {"name": _col(names)})
        try:
            rows = tx.q(
                "SELECT m.name, m.id, coalesce(max(v.version), 0) FROM models m "
                "JOIN _mw_bulk_names n ON n.name = m.name "
                "LEFT JOIN versions v ON v.model_id = m.id GROUP BY ALL"
            ).fetchall()
            existing_rows = tx.q(
                "SELECT m.name, v.sha256, arg_min(v.id, v.version) FROM versions v "
                "JOIN models m ON m.id = v.model_id "
                "JOIN _mw_bulk_names n ON n.name = m.name GROUP BY ALL"
            ).fetchall()
        finally:
            tx.cur.unregister("_mw_bulk_names")
        model_id = {name: int(mid) for name, mid, _ in rows}
        last_version = {name: int(top) for name, _, top in rows}
        known: dict[tuple[str, str], int] = {(m, s): int(v) for m, s, v in existing_rows}
        new_names = [nm for nm in dict.fromkeys(r.name for r in recs) if nm not in model_id]
        for nm, mid in zip(new_names, _ids(tx, "seq_models", len(new_names)), strict=True):
            model_id[nm] = mid
            last_version[nm] = 0
        new_set = set(new_names)
        n_new = len({(r.name, r.sha256) for r in recs} - set(known))
        vids = iter(_ids(tx, "seq_versions", n_new))

        tail = _first(tx.q("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"))
        now = utcnow()
        chain = _Chain(int(tail[0]), str(tail[1]), now, tx.actor) if tail else None
        if chain is None:
            chain = _Chain(0, _audit.GENESIS, now, tx.actor)

        created_models: set[str] = set()
        m_cols: dict[str, list[Any]] = {k: [] for k in ("id", "name", "task", "desc", "tags")}
        v_cols: dict[str, list[Any]] = {
            k: []
            for k in (
                "id",
                "model_id",
                "version",
                "sha256",
                "size",
                "format",
                "estimator_class",
                "params",
                "signature",
                "lineage",
                "tags",
                "status",
            )
        }
        mv_id: list[int] = []
        mv_key: list[str] = []
        mv_val: list[float] = []
        out_ids: list[int] = []
        for i, r in enumerate(recs):
            if i % _CHUNK == 0:
                _check(cancel)
                report(0.2 + 0.6 * i / n, f"preparing {i:,} of {n:,}")
            key = (r.name, r.sha256)
            if key in known:
                out_ids.append(known[key])
                continue
            if r.name in new_set and r.name not in created_models:
                created_models.add(r.name)
                for k, v in (
                    ("id", model_id[r.name]),
                    ("name", r.name),
                    ("task", r.task),
                    ("desc", r.description),
                    ("tags", _dumps(None)),
                ):
                    m_cols[k].append(v)
                chain.add(
                    "model.created", "model", r.name, {"name": r.name, "task": r.task, "tags": {}}
                )
            vid = next(vids)
            number = last_version[r.name] + 1
            last_version[r.name] = number
            known[key] = vid
            out_ids.append(vid)
            try:
                metrics = {str(k): float(v) for k, v in (r.metrics or {}).items()}
                size = int(r.size)
            except (TypeError, ValueError) as e:
                raise InvalidInput(
                    f"bad metric or size in the record for {r.name!r}: {e}"
                ) from None
            for col, val in (
                ("id", vid),
                ("model_id", model_id[r.name]),
                ("version", number),
                ("sha256", r.sha256),
                ("size", size),
                ("format", r.format),
                ("estimator_class", r.estimator_class),
                ("params", _dumps(r.params)),
                ("signature", _dumps(r.signature)),
                ("lineage", _dumps(r.lineage)),
                ("tags", _dumps(r.tags)),
                ("status", r.status),
            ):
                v_cols[col].append(val)
            for mkey, mval in metrics.items():
                mv_id.append(vid)
                mv_key.append(mkey)
                mv_val.append(mval)
            chain.add(
                "version.registered",
                "version",
                f"{r.name}:{number}",
                {
                    "sha256": r.sha256,
                    "size": size,
                    "format": r.format,
                    "estimator_class": r.estimator_class,
                    "status": r.status,
                    "lineage": r.lineage or {},
                    "metrics": metrics,
                },
            )

        _check(cancel)
        report(0.8, "writing")
        if m_cols["id"]:
            n_models = len(m_cols["id"])
            _insert(
                tx,
                "models",
                {
                    "id": np.asarray(m_cols["id"], dtype=np.int64),
                    "name": _col(m_cols["name"]),
                    "task": _col(m_cols["task"]),
                    "descr": _col(m_cols["desc"]),
                    "tags": _col(m_cols["tags"]),
                    "created_at": _col([now] * n_models),
                    "created_by": _col([tx.actor] * n_models),
                },
                "id, name, task::VARCHAR, descr::VARCHAR, tags, created_at, created_by",
            )
        if v_cols["id"]:
            n_versions = len(v_cols["id"])
            cols = {
                c: np.asarray(v_cols[c], dtype=np.int64) for c in ("id", "model_id", "size")
            } | {"version": np.asarray(v_cols["version"], dtype=np.int32)}
            for c in ("sha256", "format", "estimator_class", "params", "signature"):
                cols[c] = _col(v_cols[c])
            for c in ("lineage", "tags", "status"):
                cols[c] = _col(v_cols[c])
            cols["created_at"] = _col([now] * n_versions)
            cols["created_by"] = _col([tx.actor] * n_versions)
            _insert(
                tx,
                "versions",
                cols,
                "id, model_id, version, sha256, size, format, estimator_class::VARCHAR, params, "
                "signature, lineage, tags, status, created_at, created_by",
            )
        if mv_id:
            vals = np.asarray(mv_val, dtype=np.float64)
            # numpy NaN reaches DuckDB as NULL; keep a NaN metric a NaN, as add_version does.
            _insert(
                tx,
                "version_metrics",
                {
                    "version_id": np.asarray(mv_id, dtype=np.int64),
                    "key": _col(mv_key),
                    "value": vals,
                    "nan": np.isnan(vals),
                },
                "version_id, key, CASE WHEN nan THEN 'NaN'::DOUBLE ELSE value END",
            )
        _insert(
            tx,
            "audit",
            chain.columns(),
            "seq, ts, actor, action, entity_type, entity_id, NULL, after::VARCHAR, NULL, "
            "prev_hash, hash, NULL",
        )
        report(0.95, "committing")
        _check(cancel)
    report(1.0, "done")
    n_created = len(v_cols["id"])
    return BulkResult(out_ids, n_created, n - n_created, len(created_models))
