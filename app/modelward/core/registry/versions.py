"""Models and their versions: creation, lookup, paging.

Files enter through the intake door (:mod:`modelward.core.intake`), which
stores and checks them and then records a version here with
:meth:`VersionsMixin.add_version`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from modelward.core.artifacts.store import ArtifactStore
from modelward.core.clock import utcnow
from modelward.core.domain import ModelInfo, ModelVersion, RegisterResult
from modelward.core.errors import InvalidInput, NotFound
from modelward.core.refs import parse_ref, validate_name
from modelward.core.registry.connection import RegistryConnection
from modelward.core.registry.tx import Tx, _dumps, _first, _loads, current_group

if TYPE_CHECKING:
    pass

_VERSION_COLS = (
    "v.id, v.model_id, m.name, v.version, v.sha256, v.size, v.format, v.estimator_class, "
    "v.params, v.signature, v.lineage, v.tags, v.status, v.created_at, v.created_by"
)


LOGGED_PARAMS = "logged"
"""The key of a version's ``params`` JSON under which the parameters a user states are kept."""
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")


def logged_params(params: Mapping[str, Any]) -> dict[str, str | int | float | bool | None]:
    """Check and normalise the parameters a user states for a version.

    Parameters
    ----------
    params
        ``{name: value}``; names as in the search syntax (letters, digits,
        ``_ . -``), values scalars (NumPy scalars are taken as their value;
        anything else is stored as its text).

    Returns
    -------
    dict
        What is stored under ``params["logged"]`` and searched by ``param.NAME``.

    Raises
    ------
    InvalidInput
        A name the search could not name, or a value that is not finite.
    """
    out: dict[str, str | int | float | bool | None] = {}
    for name, value in params.items():
        if not isinstance(name, str) or not _PARAM_NAME.match(name):
            raise InvalidInput(
                f"parameter name {name!r}: use letters, digits, '_', '.' or '-' "
                "(starting with a letter or '_')"
            )
        item = getattr(value, "item", None)
        if callable(item) and not isinstance(value, (str, bytes)):
            try:
                value = item()  # a NumPy scalar
            except (TypeError, ValueError):
                pass
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInput(f"parameter {name}: {value!r} is not a finite number")
        if value is None or isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:
            out[name] = str(value)
    return out


@dataclass
class _ModelMemo:
    """A model as this process's last registration of it left the file (while held).

    Later registrations of the model then skip its id lookup and the scan of
    its versions (two of the seven statements of a registration, and a scan
    that grows with the model). Registrations of other models keep it; any
    other commit, and any close or open of the file, make it stale.
    """

    model_id: int
    next_version: int
    shas: dict[str, int]
    """Every digest of the model, with the id of its first version."""


class VersionsMixin(RegistryConnection):
    """Models and versions of a :class:`~modelward.core.registry.Registry`."""

    artifacts: ArtifactStore
    quarantine_dir: Path

    # ------------------------------------------------------------------ models
    def _model_id(self, cur: Any, name: str) -> int | None:
        row = _first(cur.execute("SELECT id FROM models WHERE name = ?", [name]))
        return int(row[0]) if row else None

    def ensure_model(
        self,
        tx: Tx,
        name: str,
        *,
        task: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> int:
        """The id of model ``name``, creating it (audited) inside ``tx`` if needed."""
        validate_name(name)
        mid = self._model_id(tx.cur, name)
        if mid is not None:
            return mid
        mid = tx.next_id("seq_models")
        now = utcnow()
        tx.q(
            "INSERT INTO models VALUES (?,?,?,?,?,?,?)",
            [mid, name, task, description, _dumps(tags), now, tx.actor],
        )
        tx.audit(
            "model.created", "model", name, after={"name": name, "task": task, "tags": tags or {}}
        )
        return mid

    def list_models(self) -> list[ModelInfo]:
        with self._read() as cur:
            rows = cur.execute(
                """SELECT m.id, m.name, m.task, m.description, m.tags, m.created_at,
                          m.created_by, count(v.id)
                   FROM models m LEFT JOIN versions v ON v.model_id = m.id
                   GROUP BY ALL ORDER BY m.name"""
            ).fetchall()
        return [
            ModelInfo(r[0], r[1], r[2], r[3], _loads(r[4]), r[5], r[6], int(r[7])) for r in rows
        ]

    # ------------------------------------------------------------------ versions
    def _versions_from_rows(self, cur: Any, rows: list[tuple[Any, ...]]) -> list[ModelVersion]:
        if not rows:
            return []
        ids = [int(r[0]) for r in rows]
        metrics: dict[int, dict[str, float]] = {i: {} for i in ids}
        aliases: dict[int, list[str]] = {i: [] for i in ids}
        id_list = ",".join(str(i) for i in ids)
        for vid, key, value in cur.execute(
            f"SELECT version_id, key, value FROM version_metrics WHERE version_id IN ({id_list})"
        ).fetchall():
            metrics[int(vid)][key] = value
        for vid, alias in cur.execute(
            f"SELECT version_id, alias FROM aliases WHERE version_id IN ({id_list}) ORDER BY alias"
        ).fetchall():
            aliases[int(vid)].append(alias)
        out = []
        for r in rows:
            vid = int(r[0])
            out.append(
                ModelVersion(
                    id=vid,
                    model_id=int(r[1]),
                    name=r[2],
                    version=int(r[3]),
                    sha256=r[4],
                    size=int(r[5]),
                    format=r[6],
                    estimator_class=r[7],
                    params=_loads(r[8]),
                    signature=_loads(r[9]),
                    lineage=_loads(r[10]),
                    metrics=metrics[vid],
                    tags=_loads(r[11]),
                    status=r[12],
                    created_at=r[13],
                    created_by=r[14],
                    aliases=tuple(aliases[vid]),
                )
            )
        return out

    def get_version_by_id(self, version_id: int) -> ModelVersion:
        with self._read() as cur:
            rows = cur.execute(
                f"SELECT {_VERSION_COLS} FROM versions v JOIN models m ON m.id = v.model_id "
                "WHERE v.id = ?",
                [version_id],
            ).fetchall()
            found = self._versions_from_rows(cur, rows)
        if not found:
            raise NotFound(f"no model version with id {version_id}")
        return found[0]

    def resolve(self, ref: str) -> ModelVersion:
        """The version named by ``NAME`` (latest), ``NAME:VERSION`` or ``NAME@ALIAS``."""
        name, number, alias = parse_ref(ref)
        group = current_group(self._local)
        memo = group.tx.memo if group is not None else None
        if memo is not None and ref in memo:
            return cast(ModelVersion, memo[ref])
        with self._read() as cur:
            held = self._memo_of_held() if group is None else None
            generation = -1
            if held is not None:
                with held.lock:
                    generation = held.generation
                    known = held.by_ref.get(ref)
                if known is not None:
                    return cast(ModelVersion, known)
            found = self._resolve_fast(cur, name, number, alias)
            if found is not None:
                if memo is not None:
                    memo[ref] = found
                if held is not None:
                    with held.lock:
                        if held.generation == generation:
                            held.by_ref[ref] = found
                return found
            # Not found: the slower path below says what is missing.
            mid = self._model_id(cur, name)
            if mid is None:
                raise NotFound(f"no model named {name!r} in {self.home}")
            base = f"SELECT {_VERSION_COLS} FROM versions v JOIN models m ON m.id = v.model_id "
            if alias is not None:
                rows = cur.execute(
                    base
                    + "JOIN aliases a ON a.version_id = v.id WHERE a.model_id = ? AND a.alias = ?",
                    [mid, alias],
                ).fetchall()
                if not rows:
                    raise NotFound(f"model {name!r} has no alias {alias!r}")
            elif number is not None:
                rows = cur.execute(
                    base + "WHERE v.model_id = ? AND v.version = ?", [mid, number]
                ).fetchall()
                if not rows:
                    raise NotFound(f"model {name!r} has no version {number}")
            else:
                rows = cur.execute(
                    base + "WHERE v.model_id = ? ORDER BY v.version DESC LIMIT 1", [mid]
                ).fetchall()
                if not rows:
                    raise NotFound(f"model {name!r} has no versions yet")
            return self._versions_from_rows(cur, rows)[0]

    def _resolve_fast(
        self, cur: Any, name: str, number: int | None, alias: str | None
    ) -> ModelVersion | None:
        """:meth:`resolve` by the model's name in the version query itself (one query fewer).

        Metrics and aliases are then read by key; correlated subqueries for
        them cost DuckDB a scan of both tables (measured: 6x slower).
        """
        sql = f"SELECT {_VERSION_COLS} FROM versions v JOIN models m ON m.id = v.model_id "
        if alias is not None:
            sql += "JOIN aliases a ON a.version_id = v.id WHERE m.name = ? AND a.alias = ?"
            args: list[Any] = [name, alias]
        elif number is not None:
            sql += "WHERE m.name = ? AND v.version = ?"
            args = [name, number]
        else:
            sql += "WHERE m.name = ? ORDER BY v.version DESC LIMIT 1"
            args = [name]
        rows = cur.execute(sql, args).fetchall()
        return self._versions_from_rows(cur, rows)[0] if rows else None

    def list_versions(
        self,
        name: str | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        where: str | None = None,
        params: Sequence[Any] = (),
        order_by: str = "m.name, v.version",
    ) -> list[ModelVersion]:
        """Versions in pages. ``where`` is trusted SQL built by core query code only."""
        clauses = []
        args: list[Any] = []
        if name is not None:
            clauses.append("m.name = ?")
            args.append(name)
        if where:
            clauses.append(f"({where})")
            args.extend(params)
        sql = f"SELECT {_VERSION_COLS} FROM versions v JOIN models m ON m.id = v.model_id"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {order_by}"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        with self._read() as cur:
            rows = cur.execute(sql, args).fetchall()
            return self._versions_from_rows(cur, rows)

    def version_formats(self, ids: Sequence[int]) -> list[tuple[int, str]]:
        """``(id, format)`` of the versions ``ids``: the list command's one extra column."""
        if not ids:
            return []
        # integers written into the statement: binding a list imports decimal and uuid
        listed = ", ".join(str(int(i)) for i in ids)
        with self._read() as cur:
            return [
                (int(i), str(f))
                for i, f in cur.execute(
                    f"SELECT id, format FROM versions WHERE id IN ({listed})"
                ).fetchall()
            ]

    def count_versions(self, where: str | None = None, params: Sequence[Any] = ()) -> int:
        sql = "SELECT count(*) FROM versions v JOIN models m ON m.id = v.model_id"
        if where:
            sql += f" WHERE {where}"
        with self._read() as cur:
            return int(_first(cur.execute(sql, list(params)))[0])

    def find_by_sha(self, name: str, sha256: str) -> ModelVersion | None:
        with self._read() as cur:
            rows = cur.execute(
                f"SELECT {_VERSION_COLS} FROM versions v JOIN models m ON m.id = v.model_id "
                "WHERE m.name = ? AND v.sha256 = ? ORDER BY v.version LIMIT 1",
                [name, sha256],
            ).fetchall()
            found = self._versions_from_rows(cur, rows)
        return found[0] if found else None

    def add_version(
        self,
        name: str,
        *,
        sha256: str,
        size: int,
        format: str,
        estimator_class: str | None = None,
        params: dict[str, Any] | None = None,
        signature: dict[str, Any] | None = None,
        lineage: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        tags: dict[str, str] | None = None,
        status: str = "ok",
        task: str | None = None,
        description: str | None = None,
        before_commit: Sequence[Callable[[], None]] = (),
    ) -> RegisterResult:
        """Record a version whose artifact is already in the store.

        Identical bytes under the same model return the existing version.
        ``before_commit`` is awaited just before the commit (the artifact's
        fsyncs, running meanwhile); if one raises, nothing is recorded.
        """
        if not self.artifacts.has(sha256):
            raise NotFound(f"artifact {sha256[:12]}… is not in the store; store it first")
        # One lease for the write and the read-back, and as few statements as possible:
        # a notebook or CLI without a session pays one open/close per call.
        with self._lease(), self.transaction() as tx:
            tx.before_commit.extend(before_commit)
            memo = self._model_memo(tx, name)
            if tx.memo is None and self._memo_of_held() is not None:
                # held, not a group's member: this transaction writes model ``name`` only,
                # and its commit leaves the other models' memos valid (any other commit,
                # a non-held instance's registrations included, makes them stale)
                tx.registration = name
            shas: dict[str, int] | None
            if memo is not None:  # the last registration of this model, nothing since
                mid, number, shas = memo.model_id, memo.next_version, memo.shas
                existing = shas.get(sha256)
            else:
                mid = self.ensure_model(tx, name, task=task, description=description)
                existing, number, shas = self._version_scan(tx, mid, sha256)
            if existing is not None:  # the same bytes: nothing is written
                if memo is not None:
                    tx.after_commit.append(lambda: self._remember_model(tx, name, memo))
                return RegisterResult(self.get_version_by_id(int(existing)), False)
            now = utcnow()
            texts = [_dumps(params), _dumps(signature), _dumps(lineage), _dumps(tags)]
            new_id = int(
                _first(
                    tx.q(
                        "INSERT INTO versions VALUES "
                        "(nextval('seq_versions'),?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                        [mid, number, sha256, size, format, estimator_class, *texts]
                        + [status, now, tx.actor],
                    )
                )[0]
            )
            clean_metrics = {str(k): float(v) for k, v in (metrics or {}).items()}
            if clean_metrics:  # a handful of rows, one statement
                tx.q(
                    "INSERT INTO version_metrics VALUES "
                    + ",".join(["(?, ?, ?)"] * len(clean_metrics)),
                    [x for kv in clean_metrics.items() for x in (new_id, *kv)],
                )
            tx.audit(
                "version.registered",
                "version",
                f"{name}:{number}",
                after={
                    "sha256": sha256,
                    "size": size,
                    "format": format,
                    "estimator_class": estimator_class,
                    "status": status,
                    "lineage": lineage or {},
                    "metrics": clean_metrics,
                },
            )
            if tx.registration is not None and shas is not None:
                shas[sha256] = new_id
                after = _ModelMemo(mid, int(number) + 1, shas)
                tx.after_commit.append(lambda: self._remember_model(tx, name, after))
        # Built from what was written (no read-back); the JSON round trip matches a read.
        version = ModelVersion(
            id=new_id,
            model_id=mid,
            name=name,
            version=int(number),
            sha256=sha256,
            size=int(size),
            format=format,
            estimator_class=estimator_class,
            params=_loads(texts[0]),
            signature=_loads(texts[1]),
            lineage=_loads(texts[2]),
            metrics=clean_metrics,
            tags=_loads(texts[3]),
            status=status,
            created_at=now,
            created_by=tx.actor,
        )
        return RegisterResult(version, True)

    def _version_scan(
        self, tx: Tx, mid: int, sha256: str
    ) -> tuple[int | None, int, dict[str, int] | None]:
        """The version holding ``sha256`` (or ``None``), the next number, and while held
        every digest of the model with its first version (for :class:`_ModelMemo`)."""
        if self._memo_of_held() is None or tx.memo is not None:
            existing, number = _first(
                tx.q(
                    # One scan; correlated subqueries here cost several times more.
                    "SELECT arg_min(id, version) FILTER (WHERE sha256 = $sha), "
                    "coalesce(max(version), 0) + 1 FROM versions WHERE model_id = $mid",
                    {"mid": mid, "sha": sha256},
                )
            )
            return existing, int(number), None
        rows = tx.q(
            "SELECT sha256, arg_min(id, version), max(max(version)) OVER () "
            "FROM versions WHERE model_id = ? GROUP BY sha256",
            [mid],
        ).fetchall()
        shas = {str(r[0]): int(r[1]) for r in rows}
        return shas.get(sha256), (int(rows[0][2]) + 1 if rows else 1), shas

    def _model_memo(self, tx: Tx, name: str) -> _ModelMemo | None:
        """What the last registration of ``name`` left, if nothing was committed since.

        Only while the file is held (no other process can write it) and outside
        a group (whose own earlier writes are not committed yet).
        """
        if tx.memo is not None or self._memo_of_held() is None:
            return None
        res = self._resolved
        with res.lock:  # taken, not read: put back only by this registration's commit
            found = res.models.pop(name, None)
            return found[1] if found is not None and found[0] == res.epoch else None

    def _remember_model(self, tx: Tx, name: str, memo: _ModelMemo) -> None:
        """After the commit, under the write lock (so no registration of ``name`` runs meanwhile)."""
        res = self._resolved
        with res.lock:
            if res.epoch == tx.commit_epoch:  # no other kind of commit came after this one
                res.models[name] = (res.epoch, memo)

    def set_status(self, ref: str, status: str, reason: str) -> ModelVersion:
        v = self.resolve(ref)
        with self.transaction() as tx:
            tx.q("UPDATE versions SET status = ? WHERE id = ?", [status, v.id])
            tx.audit(
                "version.status",
                "version",
                v.ref,
                before={"status": v.status},
                after={"status": status},
                reason=reason,
            )
        return self.get_version_by_id(v.id)
