"""The state the audit chain covers: every table change recorded as a delta, and its replay.

Every write statement a transaction runs through :meth:`Tx.q
<modelward.core.registry.tx.Tx.q>` on a covered table is recorded here as a
*delta*, without any edit to the method that wrote it:

- a row written with ``INSERT … VALUES`` / ``UPDATE`` / ``DELETE`` is recorded
  whole (``put`` with the row after, and the row before when there was one;
  ``del`` with the row before);
- a columnar batch (``INSERT … SELECT`` from registered columns, as the bulk
  paths do) is recorded as a *digest*: its row count and the sum of the
  64-bit MD5 numbers of its rows' canonical texts, per group for the
  series tables, so bulk writes stay columnar;
- an ``UPDATE``/``DELETE`` of a series table records the digests of the groups it changed.

At commit the deltas travel in the ``delta`` column of the transaction's last
audit event, inside the event hash. :func:`verify_state` replays every delta
from the first event and compares the result with the tables, naming the first
difference (table, row, column, event). A schema migration records a
*baseline* (the digest of every table) so that state written before the chain
covered it, or rewritten by a migration, is covered from then on.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelward.core.duck import all_cores

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "IGNORED",
    "NOT_COVERED",
    "SERIES",
    "Recorder",
    "StateReport",
    "baseline",
    "replayable",
    "table_layout",
    "verify_state",
]

NOT_COVERED = frozenset({"audit"})
"""Tables outside the state: the audit chain itself."""

SERIES = {"metric_points": "run_id", "mon_predictions": "batch_id", "mon_feature_drift": "batch_id"}
"""Long tables recorded only as digests per group (their group column)."""

IGNORED = {"runs": frozenset({"progress"})}
"""Columns that change too often to audit (a run's progress bar)."""

_INSERT = re.compile(
    r"^\s*INSERT\s+(?:OR\s+(REPLACE|IGNORE)\s+)?INTO\s+(\w+)\s*(\([^)]*\))?\s*(VALUES|SELECT)?",
    re.I | re.S,
)
_UPDATE = re.compile(r"^\s*UPDATE\s+(\w+)\b", re.I)
_DELETE = re.compile(r"^\s*DELETE\s+FROM\s+(\w+)\b", re.I)
_RETURNING = re.compile(r"\s+RETURNING\s+(.+?)\s*;?\s*$", re.I | re.S)
_SET = re.compile(r"^\s*UPDATE\s+\w+\s+SET\s+(.*?)\s+WHERE\s+(.*)$", re.I | re.S)


@dataclass(frozen=True)
class Layout:
    """A table's columns, their types, its primary key and the columns left out."""

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    key: tuple[str, ...]

    @functools.cached_property
    def kept(self) -> tuple[int, ...]:
        ign = IGNORED.get(self.name, frozenset())
        return tuple(i for i, c in enumerate(self.columns) if c not in ign)

    def row_text(self, prefix: str = "") -> str:
        """SQL for a row's canonical text (the digest input), over the kept columns."""
        parts = [
            f'coalesce(CAST(CAST({prefix}"{self.columns[i]}" AS {self.types[i]}) AS VARCHAR), chr(0))'
            for i in self.kept
        ]
        return "concat_ws(chr(31), " + ", ".join(parts) + ")"

    def digest_sql(self, prefix: str = "") -> str:
        return f"md5_number_lower({self.row_text(prefix)})"


def table_layout(cur: duckdb.DuckDBPyConnection) -> dict[str, Layout]:
    """The layouts of every covered table of the main schema."""
    cols = cur.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND NOT internal ORDER BY table_name, column_index"
    ).fetchall()
    keys = {
        r[0]: tuple(r[1])
        for r in cur.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
            "WHERE schema_name = 'main' AND constraint_type = 'PRIMARY KEY'"
        ).fetchall()
    }
    by: dict[str, tuple[list[str], list[str]]] = {}
    for t, c, ty in cols:
        if t in NOT_COVERED or t.startswith("_"):
            continue
        by.setdefault(t, ([], []))
        by[t][0].append(c)
        by[t][1].append(ty)
    return {t: Layout(t, tuple(c), tuple(ty), keys.get(t, ())) for t, (c, ty) in by.items()}


_AS_READ_BACK = (str, int, float, bool, type(None))
"""Types JSON gives back as they went in (a float's repr round-trips exactly)."""


def _norm(value: Any) -> Any:
    """A value as it reads back from JSON (what replay compares)."""
    if type(value) in _AS_READ_BACK:
        return value
    return json.loads(json.dumps(value, default=str))


def _row(layout: Layout, values: Sequence[Any]) -> list[Any]:
    return [_norm(values[i]) for i in layout.kept]


def _key(layout: Layout, values: Sequence[Any]) -> str:
    idx = [layout.columns.index(k) for k in layout.key]
    return json.dumps([_norm(values[i]) for i in idx])


class _Projected:
    """The result a caller asked for, when the statement was run with ``RETURNING *``."""

    def __init__(self, rows: list[tuple[Any, ...]]):
        self._rows = rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, n: int = 1) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows[:n], self._rows[n:]
        return rows


@dataclass
class Recorder:
    """Runs a transaction's write statements and records what they changed."""

    cur: duckdb.DuckDBPyConnection
    deltas: list[dict[str, Any]] = field(default_factory=list)
    layouts: dict[str, Layout | None] = field(default_factory=dict)
    """Shared between the transactions of one connection (the catalog costs ms to read)."""

    def layout(self, table: str) -> Layout | None:
        if table in NOT_COVERED:
            return None
        if table not in self.layouts:
            fresh = table_layout(self.cur)
            self.layouts.update(fresh)
            self.layouts.setdefault(table, None)
        return self.layouts[table]

    def _exec(self, sql: str, params: Sequence[Any] | dict[str, Any] | None) -> Any:
        return self.cur.execute(sql, params) if params is not None else self.cur.execute(sql)

    def run(self, sql: str, params: Sequence[Any] | dict[str, Any] | None) -> Any:
        """Execute ``sql``; when it writes a covered table, record the change."""
        m = _INSERT.match(sql)
        if m:
            lay = self.layout(m.group(2).lower())
            if lay is None:
                return self._exec(sql, params)
            if (m.group(4) or "").upper() == "SELECT" and m.group(3) is None:
                return self._bulk(lay, sql, m.end(4) - 6, params)
            return self._returning(lay, sql, params, replace=m.group(1) or "")
        m = _UPDATE.match(sql) or _DELETE.match(sql)
        if m:
            lay = self.layout(m.group(1).lower())
            if lay is None:
                return self._exec(sql, params)
            if lay.name in SERIES:
                return self._regroup(lay, sql, params)
            return self._update_or_delete(
                lay, sql, params, delete=sql.lstrip()[:6].upper() == "DELETE"
            )
        return self._exec(sql, params)

    # ------------------------------------------------------------------ rows
    def _returning(self, lay: Layout, sql: str, params: Any, *, replace: str) -> Any:
        before: list[tuple[Any, ...]] = []
        if replace.upper() == "REPLACE" and lay.key and isinstance(params, list | tuple):
            before = self._replaced(lay, sql, params)
        want = None
        r = _RETURNING.search(sql)
        if r:
            want = [c.strip().strip('"').lower() for c in r.group(1).split(",")]
            sql = sql[: r.start()]
        rows = self._exec(sql + " RETURNING *", params).fetchall()
        if lay.name in SERIES:
            self._series_rows(lay, rows, +1)
        else:
            olds = {_key(lay, b): b for b in before}
            for row in rows:
                k = _key(lay, row)
                self._put(lay, row, olds.get(k))
        if want is None:
            return _Projected([(len(rows),)])
        idx = [lay.columns.index(c) for c in want]
        return _Projected([tuple(row[i] for i in idx) for row in rows])

    def _replaced(self, lay: Layout, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows an ``INSERT OR REPLACE … VALUES (?, …)`` of one row will replace."""
        if sql.count("?") != len(lay.columns) or len(params) != len(lay.columns):
            return []
        where = " AND ".join(f'"{k}" = ?' for k in lay.key)
        vals = [params[lay.columns.index(k)] for k in lay.key]
        return [
            tuple(r)
            for r in self.cur.execute(
                f"SELECT *, {lay.digest_sql()} FROM {lay.name} WHERE {where}", vals
            ).fetchall()
        ]

    def _put(self, lay: Layout, row: Sequence[Any], before: Sequence[Any] | None) -> None:
        d: dict[str, Any] = {"t": lay.name, "op": "put", "row": _row(lay, row)}
        if before is not None:
            d["before"] = _row(lay, before[: len(lay.columns)])
            d["before_digest"] = int(before[len(lay.columns)])
        self.deltas.append(d)

    def _update_or_delete(self, lay: Layout, sql: str, params: Any, *, delete: bool) -> Any:
        want = None
        r = _RETURNING.search(sql)
        if r:
            want = [c.strip().strip('"').lower() for c in r.group(1).split(",")]
            sql = sql[: r.start()]
        before = self._before(lay, sql, params, delete=delete)
        if before is None:  # nothing to record (only ignored columns change)
            return self._exec(sql + (" RETURNING " + r.group(1) if r else ""), params)
        rows = self._exec(sql + " RETURNING *", params).fetchall()
        if delete:
            for b in before:
                self.deltas.append(
                    {
                        "t": lay.name,
                        "op": "del",
                        "key": json.loads(_key(lay, b)),
                        "before": _row(lay, b[: len(lay.columns)]),
                        "before_digest": int(b[len(lay.columns)]),
                    }
                )
        else:
            olds = {_key(lay, b): b for b in before}
            for row in rows:
                self._put(lay, row, olds.get(_key(lay, row)))
        if want is None:
            return _Projected([(len(rows),)])
        idx = [lay.columns.index(c) for c in want]
        return _Projected([tuple(row[i] for i in idx) for row in rows])

    def _before(
        self, lay: Layout, sql: str, params: Any, *, delete: bool
    ) -> list[tuple[Any, ...]] | None:
        """The rows an UPDATE/DELETE will touch (with their digests), read first."""
        if delete:
            where = re.split(r"\bWHERE\b", sql, maxsplit=1, flags=re.I)
            cond, wparams = (where[1], params) if len(where) == 2 else ("true", params)
        else:
            m = _SET.match(sql)
            if m is None:
                return []
            sets = m.group(1)
            cols = {c.lower() for c in re.findall(r"(?:^|,)\s*\"?(\w+)\"?\s*=", sets)}
            if cols and cols <= IGNORED.get(lay.name, frozenset()):
                return None
            cond = m.group(2)
            n = sets.count("?")
            wparams = list(params)[n:] if isinstance(params, list | tuple) else params
        q = f"SELECT *, {lay.digest_sql()} FROM {lay.name} WHERE {cond}"
        return [tuple(r) for r in self._exec(q, wparams if wparams else None).fetchall()]

    # ------------------------------------------------------------------ digests
    def _bulk(self, lay: Layout, sql: str, select_at: int, params: Any) -> Any:
        """A columnar ``INSERT … SELECT``: record its digest, not its rows."""
        select = sql[select_at:]
        cols = ", ".join(f'"{c}"' for c in lay.columns)
        group = SERIES.get(lay.name)
        g = f'CAST(_b."{group}" AS VARCHAR)' if group else "NULL"
        with all_cores(self.cur):
            got = self._exec(
                f"SELECT {g}, count(*), sum({lay.digest_sql('_b.')}) "
                f"FROM ({select}) AS _b({cols}) GROUP BY ALL",
                params,
            ).fetchall()
            res = self._exec(sql, params)
        groups = {str(r[0]): [int(r[1]), int(r[2] or 0)] for r in got if r[1]}
        if groups:
            self.deltas.append({"t": lay.name, "op": "add", "groups": groups})
        return res

    def _series_rows(self, lay: Layout, rows: list[tuple[Any, ...]], sign: int) -> None:
        if not rows:
            return
        group = SERIES[lay.name]
        # Digest in SQL, as verify does, so the texts are the same.
        vals = ",".join("(" + ",".join(["?"] * len(lay.columns)) + ")" for _ in rows)
        cols = ", ".join(f'"{c}"' for c in lay.columns)
        got = self.cur.execute(
            f'SELECT CAST(_b."{group}" AS VARCHAR), count(*), sum({lay.digest_sql("_b.")}) '
            f"FROM (VALUES {vals}) AS _b({cols}) GROUP BY ALL",
            [x for r in rows for x in r],
        ).fetchall()
        groups = {str(r[0]): [sign * int(r[1]), sign * int(r[2] or 0)] for r in got}
        self.deltas.append({"t": lay.name, "op": "add", "groups": groups})

    def _group_digests(self, lay: Layout) -> dict[str, list[int]]:
        group = SERIES[lay.name]
        return {
            str(r[0]): [int(r[1]), int(r[2] or 0)]
            for r in self.cur.execute(
                f'SELECT CAST("{group}" AS VARCHAR), count(*), sum({lay.digest_sql()}) '
                f"FROM {lay.name} GROUP BY ALL"
            ).fetchall()
        }

    def _regroup(self, lay: Layout, sql: str, params: Any) -> Any:
        """UPDATE/DELETE on a series table: the digests of the groups it changed."""
        with all_cores(self.cur):
            before = self._group_digests(lay)
            res = self._exec(sql, params)
            fetched = res.fetchall()
            after = self._group_digests(lay)
        changed = {
            g: [
                after.get(g, [0, 0])[0] - before.get(g, [0, 0])[0],
                after.get(g, [0, 0])[1] - before.get(g, [0, 0])[1],
            ]
            for g in set(before) | set(after)
            if before.get(g) != after.get(g)
        }
        if changed:
            self.deltas.append({"t": lay.name, "op": "add", "groups": changed})
        return _Projected(fetched)


def baseline(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Deltas that restart the replay from the tables as they are (a digest of each)."""
    out: list[dict[str, Any]] = []
    for name, lay in sorted(table_layout(cur).items()):
        group = SERIES.get(name)
        g = f'CAST("{group}" AS VARCHAR)' if group else "NULL"
        with all_cores(cur):
            got = cur.execute(
                f"SELECT {g}, count(*), sum({lay.digest_sql()}) FROM {name} GROUP BY ALL"
            ).fetchall()
        out.append(
            {
                "t": name,
                "op": "base",
                "groups": {str(r[0]): [int(r[1]), int(r[2] or 0)] for r in got if r[1]},
            }
        )
    return out


def replayable(delta: list[dict[str, Any]] | None) -> bool:
    """Whether a delta carries the rows themselves (not only digests)."""
    return all(d["op"] in ("put", "del") for d in delta or [])


# --------------------------------------------------------------------------- verify
@dataclass
class StateReport:
    """What :func:`verify_state` found."""

    ok: bool
    tables: int
    rows: int
    problem: str | None = None
    table: str | None = None
    row: str | None = None
    column: str | None = None
    event: int | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Table:
    rows: dict[str, tuple[list[Any], int]] = field(default_factory=dict)
    # rows only known by digest: group -> [count, digest sum, last event]
    pool: dict[str, list[int]] = field(default_factory=dict)
    last: int = 0


def _pool_add(t: _Table, group: str, n: int, d: int, seq: int) -> None:
    p = t.pool.setdefault(group, [0, 0, 0])
    p[0] += n
    p[1] += d
    p[2] = seq


def replay(events: Iterable[tuple[int, str | None]]) -> dict[str, _Table]:
    """The covered state rebuilt from ``(seq, delta JSON)`` pairs in order."""
    state: dict[str, _Table] = {}
    for seq, text in events:
        if not text:
            continue
        for d in json.loads(text):
            t = state.setdefault(d["t"], _Table())
            t.last = seq
            op = d["op"]
            if op == "base":
                state[d["t"]] = t = _Table(last=seq)
                for g, (n, dg) in d["groups"].items():
                    _pool_add(t, g, n, dg, seq)
            elif op == "add":
                for g, (n, dg) in d["groups"].items():
                    _pool_add(t, g, n, dg, seq)
            elif op in ("put", "del"):
                # Resolved against the primary key in verify (see _apply_rows).
                t.rows.setdefault("\0pending", ([], 0))[0].append((seq, d))
    return state


def _apply_rows(t: _Table, lay: Layout) -> None:
    """Resolve the ordered put/del deltas of one table against its primary key."""
    pending = t.rows.pop("\0pending", ([], 0))[0]
    kidx = [lay.kept.index(lay.columns.index(k)) for k in lay.key] if lay.key else []
    for seq, d in pending:
        if d["op"] == "put":
            row = d["row"]
            key = json.dumps([row[i] for i in kidx])
            if key not in t.rows and "before_digest" in d:
                # A row first written by a digest (a bulk insert or a baseline).
                _pool_add(t, "None", -1, -int(d["before_digest"]), seq)
            t.rows[key] = (row, seq)
        else:
            key = json.dumps(d["key"])
            if key in t.rows:
                del t.rows[key]
            elif "before_digest" in d:
                _pool_add(t, "None", -1, -int(d["before_digest"]), seq)


def verify_state(
    cur: duckdb.DuckDBPyConnection, events: Iterable[tuple[int, str | None]]
) -> StateReport:
    """Replay the deltas and compare every covered table with the result.

    Every block of every covered table is read on the way (a damaged block
    raises :class:`duckdb.Error`, which the caller reports).
    """
    state = replay(events)
    layouts = table_layout(cur)
    n_rows = 0
    for name in sorted(layouts):
        lay = layouts[name]
        t = state.get(name, _Table())
        _apply_rows(t, lay)
        group = SERIES.get(name)
        g = f'CAST("{group}" AS VARCHAR)' if group else "NULL"
        if group or not t.rows:
            with all_cores(cur):
                got = cur.execute(
                    f"SELECT {g}, count(*), sum({lay.digest_sql()}) FROM {name} GROUP BY ALL"
                ).fetchall()
            found = {str(r[0]): (int(r[1]), int(r[2] or 0)) for r in got}
            n_rows += sum(n for n, _ in found.values())
            bad = _pool_diff(name, t, found)
            if bad:
                return bad
            _read_ignored(cur, lay)
            continue
        seen: set[str] = set()
        pool_n, pool_d = 0, 0
        kidx = [lay.kept.index(lay.columns.index(k)) for k in lay.key]
        cur.execute(f"SELECT *, {lay.digest_sql()} FROM {name}")
        while batch := cur.fetchmany(10_000):
            for r in batch:
                n_rows += 1
                row = _row(lay, r[: len(lay.columns)])
                key = json.dumps([row[i] for i in kidx])
                rec = t.rows.get(key)
                if rec is None:
                    pool_n += 1
                    pool_d += int(r[len(lay.columns)])
                    if not t.pool:
                        return StateReport(
                            False,
                            len(layouts),
                            n_rows,
                            f"{name} row {key} was written by no audit event",
                            name,
                            key,
                            None,
                            t.last or None,
                        )
                    continue
                seen.add(key)
                want, seq = rec
                if row != want:
                    col = next(
                        lay.columns[lay.kept[i]]
                        for i, (a, b) in enumerate(zip(row, want, strict=False))
                        if a != b
                    )
                    i = lay.kept.index(lay.columns.index(col))
                    return StateReport(
                        False,
                        len(layouts),
                        n_rows,
                        f"{name} row {key}: column {col} is {row[i]!r} in the table but "
                        f"{want[i]!r} after audit event {seq}",
                        name,
                        key,
                        col,
                        seq,
                    )
        for key, (_, seq) in t.rows.items():
            if key not in seen:
                return StateReport(
                    False,
                    len(layouts),
                    n_rows,
                    f"{name} row {key} written by audit event {seq} is missing from the table",
                    name,
                    key,
                    None,
                    seq,
                )
        bad = _pool_diff(name, t, {"None": (pool_n, pool_d)} if pool_n else {})
        if bad:
            return bad
        _read_ignored(cur, lay)
    return StateReport(True, len(layouts), n_rows)


def _read_ignored(cur: duckdb.DuckDBPyConnection, lay: Layout) -> None:
    """Read the columns left out of the digest too, so every block is read."""
    ign = [c for c in lay.columns if c in IGNORED.get(lay.name, frozenset())]
    if ign:
        cur.execute(
            "SELECT "
            + ", ".join(f'max(length(CAST("{c}" AS VARCHAR)))' for c in ign)
            + f" FROM {lay.name}"
        ).fetchall()


def _pool_diff(name: str, t: _Table, found: dict[str, tuple[int, int]]) -> StateReport | None:
    want = {g: (p[0], p[1]) for g, p in t.pool.items() if p[0] or p[1]}
    for g in sorted(set(want) | set(found), key=str):
        a, b = found.get(g, (0, 0)), want.get(g, (0, 0))
        if a != b:
            seq = t.pool.get(g, [0, 0, t.last])[2] or t.last or None
            where = "" if g == "None" else f" (group {SERIES.get(name)}={g})"
            if a[0] != b[0]:
                what = f"{a[0]} rows in the table, {b[0]} recorded by the audit events"
            else:
                what = f"{a[0]} rows, but their contents differ from what the events recorded"
            return StateReport(
                False, 0, 0, f"{name}{where}: {what} (last event {seq})", name, g, None, seq
            )
    return None
