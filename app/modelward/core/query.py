"""The registry browser's search syntax and its paged SQL, Qt-free.

A search is a list of terms separated by spaces (quote a value that holds
spaces); all terms must match::

    name:credit alias:champion roc_auc>0.8 created>2026-01-01 -status:quarantined

========================  =====================================================
``name:TEXT``             model name contains TEXT (case-insensitive)
``alias:TEXT``            the version carries an alias containing TEXT
``status:TEXT``           status contains TEXT (``ok``, ``needs_revalidation``…)
``by:TEXT``               created by a user whose name contains TEXT
``estimator:TEXT``        estimator class contains TEXT
``format:TEXT``           artifact format (``skops``, ``joblib``, ``pickle``…)
``sha:HEX``               SHA-256 starts with HEX
``version OP N``          version number compare (``version>=3``, ``version:3``)
``created OP DATE``       creation time compare, ISO date or date-time
``METRIC OP NUMBER``      a stored metric compare (``roc_auc>0.8``, ``rmse<=12``)
``param.NAME OP VALUE``   a parameter: one stated at registration (``--param``,
                          ``log_model(params=)``), else the estimator's own
                          (``param.max_depth>=5``, ``param.solver=lbfgs``;
                          ``:`` on text means contains)
``TEXT``                  model name or estimator contains TEXT
``-TERM``                 negates any term
========================  =====================================================

``OP`` is one of ``>``, ``>=``, ``<``, ``<=``, ``=``, ``!=`` (``:`` means ``=``
for numbers and dates). Values are always bound as SQL parameters; only the
column expressions below, which this module owns, are written into SQL.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelward.core.errors import InvalidInput

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = [
    "COLUMNS",
    "SORT_COLUMNS",
    "Filter",
    "TableSpec",
    "count_rows",
    "fetch_page",
    "first_page",
    "has_metric",
    "key_metrics",
    "page_sql",
    "parse_search",
    "warm_up",
]

_OPS = (">=", "<=", "!=", ">", "<", "=", ":")
_TERM_RE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)(?P<op>>=|<=|!=|>|<|=|:)(?P<val>.*)$")
_TEXT_FIELDS = {
    "name": "m.name",
    "status": "v.status",
    "by": "v.created_by",
    "estimator": "coalesce(v.estimator_class, '')",
    "format": "v.format",
}
# Metrics most analysts look at first; other keys follow by how often they occur.
PREFERRED_METRICS = ("roc_auc", "accuracy", "f1", "average_precision", "r2", "rmse", "mae")


@dataclass(frozen=True)
class Filter:
    """A SQL condition over ``versions v JOIN models m`` and its bound parameters."""

    where: str | None = None
    params: tuple[Any, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.where)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _cmp_sql(op: str) -> str:
    return "=" if op == ":" else op


def _number(term: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(f"{term!r}: {value!r} is not a number") from None


def _date(term: str, value: str) -> str:
    v = value.strip()
    if not re.match(r"^\d{4}-\d{2}(-\d{2})?([T ]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?Z?$", v):
        raise InvalidInput(f"{term!r}: {value!r} is not a date (use YYYY-MM-DD)")
    return v.replace(" ", "T").rstrip("Z")


def _term_sql(term: str) -> tuple[str, list[Any]]:
    m = _TERM_RE.match(term)
    if m is None:
        # A bare word: model name or estimator.
        like = _like(term)
        return (
            "(m.name ILIKE ? ESCAPE '\\' OR coalesce(v.estimator_class, '') ILIKE ? ESCAPE '\\')",
            [like, like],
        )
    key, op, val = m.group("key"), m.group("op"), m.group("val")
    lkey = key.lower()
    if val == "":
        raise InvalidInput(f"{term!r}: a value is missing after {op!r}")
    if lkey in _TEXT_FIELDS:
        if op == ":":
            return f"{_TEXT_FIELDS[lkey]} ILIKE ? ESCAPE '\\'", [_like(val)]
        if op in ("=", "!="):
            return f"lower({_TEXT_FIELDS[lkey]}) {op} lower(?)", [val]
        raise InvalidInput(f"{term!r}: {key} takes ':' or '=', not {op!r}")
    if lkey == "alias":
        if op not in (":", "=", "!="):
            raise InvalidInput(f"{term!r}: alias takes ':' or '=', not {op!r}")
        if op == ":":
            cond, arg = "a.alias ILIKE ? ESCAPE '\\'", _like(val)
        else:
            cond, arg = "lower(a.alias) = lower(?)", val
        sql = f"EXISTS (SELECT 1 FROM aliases a WHERE a.version_id = v.id AND {cond})"
        return (f"NOT {sql}" if op == "!=" else sql), [arg]
    if lkey == "sha":
        if op != ":":
            raise InvalidInput(f"{term!r}: use sha:HEX")
        return "starts_with(v.sha256, lower(?))", [val]
    if lkey == "version":
        n = _number(term, val)
        if n != int(n):
            raise InvalidInput(f"{term!r}: a version is a whole number")
        return f"v.version {_cmp_sql(op)} ?", [int(n)]
    if lkey in ("created", "created_at"):
        d = _date(term, val)
        if op in (":", "="):
            return "starts_with(v.created_at, ?)", [d]
        if op == "!=":
            return "NOT starts_with(v.created_at, ?)", [d]
        if op in ("<=", ">") and len(d) == 10:
            # ``created<=2026-01-31`` includes that whole day; ``>`` starts the day after.
            return f"v.created_at {'<' if op == '<=' else '>='} (? || 'U')", [d]
        return f"v.created_at {op} ?", [d]
    if lkey.startswith("param.") and len(key) > 6:
        return _param_sql(term, key[6:], op, val)
    # Anything else compares a metric.
    if op == ":":
        op = "="
    value = _number(term, val)
    return (
        "EXISTS (SELECT 1 FROM version_metrics mx WHERE mx.version_id = v.id "
        f"AND mx.key = ? AND mx.value {op} ?)",
        [key, value],
    )


def _param_sql(term: str, name: str, op: str, val: str) -> tuple[str, list[Any]]:
    """``param.NAME OP VALUE``: the stated parameter, else the estimator's own of that name."""
    # Stated parameters live under params.logged, the estimator's under params.params.
    path = '"' + name.replace('"', "") + '"'
    expr = (
        "coalesce(json_extract_string(v.params, '$.logged.' || ?), "
        "json_extract_string(v.params, '$.params.' || ?))"
    )
    args: list[Any] = [path, path]
    try:
        number: float | None = float(val)
    except ValueError:
        number = None
    if number is not None or op in (">", ">=", "<", "<="):
        value = _number(term, val)
        cmp = "=" if op == ":" else op
        return f"TRY_CAST({expr} AS DOUBLE) {cmp} ?", [*args, value]
    if op == ":":
        return f"{expr} ILIKE ? ESCAPE '\\'", [*args, _like(val)]
    return f"lower({expr}) {op} lower(?)", [*args, val]


def parse_search(text: str) -> Filter:
    """Turn a search box text into a :class:`Filter`.

    Parameters
    ----------
    text
        The search text, e.g. ``"name:credit alias:champion roc_auc>0.8"``.

    Returns
    -------
    Filter
        ``where`` is ``None`` for an empty search.

    Raises
    ------
    InvalidInput
        A term cannot be understood; the message names the term.

    Examples
    --------
    >>> parse_search("name:credit roc_auc>0.8").params
    ('%credit%', 'roc_auc', 0.8)
    """
    try:
        terms = shlex.split(text, posix=True)
    except ValueError:
        raise InvalidInput("a quote is not closed in the search") from None
    clauses: list[str] = []
    params: list[Any] = []
    for raw in terms:
        negate = raw.startswith("-") and len(raw) > 1
        term = raw[1:] if negate else raw
        sql, args = _term_sql(term)
        clauses.append(f"NOT ({sql})" if negate else sql)
        params.extend(args)
    if not clauses:
        return Filter()
    return Filter(" AND ".join(clauses), tuple(params))


# --------------------------------------------------------------------- table pages
COLUMNS: tuple[str, ...] = (
    "name",
    "version",
    "aliases",
    "status",
    "estimator",
    "created_at",
    "created_by",
)
"""The fixed columns of a page row, after ``id``; metric columns follow."""

_SORT_SQL = {
    "name": "m.name",
    "version": "v.version",
    "aliases": "al.aliases",  # joined only when sorting by it (see page_sql)
    "status": "v.status",
    "estimator": "v.estimator_class",
    "created_at": "v.created_at",
    "created_by": "v.created_by",
}
SORT_COLUMNS = frozenset(_SORT_SQL)
"""The fixed columns a :class:`TableSpec` sorts by (``metric:KEY`` sorts by a metric)."""


@dataclass(frozen=True)
class TableSpec:
    """What the versions table shows: filter, metric columns, sort (immutable, for workers)."""

    filter: Filter = field(default_factory=Filter)
    metric_keys: tuple[str, ...] = ()
    sort: str = "name"
    descending: bool = False

    def order_sql(self) -> str:
        if self.sort.startswith("metric:"):
            key = self.sort[len("metric:") :]
            if key not in self.metric_keys:
                raise InvalidInput(f"cannot sort by {key!r}: not a column")
            expr = "mx0.value"
        elif self.sort in _SORT_SQL:
            expr = _SORT_SQL[self.sort]
        else:
            raise InvalidInput(f"cannot sort by {self.sort!r}")
        direction = "DESC" if self.descending else "ASC"
        # Ties break on name and version so pages never overlap.
        return f"{expr} {direction} NULLS LAST, m.name, v.version"


def page_sql(
    spec: TableSpec, limit: int, offset: int, *, with_total: bool = False
) -> tuple[str, list[Any]]:
    """SQL and parameters for the ids and fixed columns of one page of the versions table.

    Each row is ``(id, name, version, status, estimator_class, created_at,
    created_by)``, then the sorted metric's value when sorting by a metric,
    then, ``with_total``, how many versions match in all (a window count over
    the filtered rows: one statement for the count and the page, about 5 ms
    less than two at 100,000 versions). Only what the filter and the sort need
    is joined: the alias and other metric columns of the page are read
    afterwards for its rows alone (:func:`fetch_page`), so a page of 100,000
    versions never pivots every metric or aggregates every alias.
    """
    params: list[Any] = []
    joins = ""
    extra = ""
    if spec.sort == "aliases":
        joins = (
            "LEFT JOIN (SELECT version_id, string_agg(alias, ', ' ORDER BY alias) AS aliases "
            "FROM aliases GROUP BY version_id) al ON al.version_id = v.id "
        )
    elif spec.sort.startswith("metric:"):
        spec.order_sql()  # validates the key
        joins = "LEFT JOIN version_metrics mx0 ON mx0.version_id = v.id AND mx0.key = ? "
        params.append(spec.sort[len("metric:") :])
        extra = ", mx0.value"
    if with_total:
        extra += ", count(*) OVER ()"
    sql = (
        "SELECT v.id, m.name, v.version, v.status, v.estimator_class, v.created_at, "
        f"v.created_by{extra} FROM versions v JOIN models m ON m.id = v.model_id "
        f"{joins}"
    )
    if spec.filter.where:
        sql += f"WHERE {spec.filter.where} "
        params.extend(spec.filter.params)
    sql += f"ORDER BY {spec.order_sql()} LIMIT {int(limit)} OFFSET {int(offset)}"
    return sql, params


def fetch_page(
    registry: Registry, spec: TableSpec, offset: int, limit: int
) -> list[tuple[Any, ...]]:
    """One page of rows; run it off the GUI thread.

    Each row is ``(id, name, version, aliases, status, estimator_class,
    created_at, created_by, metric_0, …)`` with one metric per
    ``spec.metric_keys`` (``None`` where a version lacks it).
    """
    return _page(registry, spec, offset, limit, with_total=False)[1]


def first_page(
    registry: Registry, spec: TableSpec, limit: int
) -> tuple[int, list[tuple[Any, ...]]]:
    """How many versions match ``spec`` and the first ``limit`` rows (as :func:`fetch_page`).

    What a table or ``modelward list`` shows first, with the count and the page
    in one statement.
    """
    return _page(registry, spec, 0, limit, with_total=True)


def _page(
    registry: Registry, spec: TableSpec, offset: int, limit: int, *, with_total: bool
) -> tuple[int, list[tuple[Any, ...]]]:
    sql, params = page_sql(spec, limit, offset, with_total=with_total)
    keys = list(spec.metric_keys)
    sorted_key = spec.sort[len("metric:") :] if spec.sort.startswith("metric:") else None
    fixed = 7  # id … created_by
    metrics: dict[tuple[int, str], float | None] = {}
    with registry._read() as cur:
        rows = cur.execute(sql, params).fetchall()
        if not rows:  # with_total reads the first page: no row, no match
            return 0, []
        total = int(rows[0][-1]) if with_total else 0
        # The page's ids are the database's own integers: written into the statement.
        # (Binding a Python list makes DuckDB import decimal and uuid, about 3 ms of
        # a `list` process.)
        ids = ", ".join(str(int(r[0])) for r in rows)
        aliases = dict(
            cur.execute(
                "SELECT version_id, string_agg(alias, ', ' ORDER BY alias) FROM aliases "
                f"WHERE version_id IN ({ids}) GROUP BY version_id"
            ).fetchall()
        )
        if sorted_key is not None:  # the page query read the sorted metric already
            metrics.update(((r[0], sorted_key), r[fixed]) for r in rows)
        others = [k for k in keys if k != sorted_key]
        if others:
            for vid, key, value in cur.execute(
                "SELECT version_id, key, value FROM version_metrics "
                f"WHERE version_id IN ({ids}) AND key IN ({', '.join('?' * len(others))})",
                others,
            ).fetchall():
                metrics[(vid, key)] = value
    return total, [
        (r[0], r[1], r[2], aliases.get(r[0]), *r[3:fixed], *(metrics.get((r[0], k)) for k in keys))
        for r in rows
    ]


def warm_up(registry: Registry) -> None:
    """Open the registry's connection now (if closed), so that the next query finds it open."""
    with registry._read():
        pass


def count_rows(registry: Registry, spec: TableSpec) -> int:
    """How many versions match ``spec.filter``."""
    return registry.count_versions(spec.filter.where, spec.filter.params)


def has_metric(registry: Registry, key: str) -> bool:
    """Whether any version has a metric named ``key``."""
    with registry._read() as cur:
        return (
            cur.execute("SELECT 1 FROM version_metrics WHERE key = ? LIMIT 1", [key]).fetchone()
            is not None
        )


def key_metrics(registry: Registry, limit: int = 3) -> tuple[str, ...]:
    """The metric keys worth a column: preferred ones first, then the most frequent."""
    with registry._read() as cur:
        rows = cur.execute(
            "SELECT key, count(*) AS n FROM version_metrics GROUP BY key ORDER BY n DESC, key"
        ).fetchall()
    present = [str(r[0]) for r in rows]
    ordered = [k for k in PREFERRED_METRICS if k in present]
    ordered += [k for k in present if k not in ordered]
    return tuple(ordered[:limit])


# --------------------------------------------------------------------- audit pages
AUDIT_COLUMNS = ("seq", "ts", "actor", "action", "entity_type", "entity_id", "reason", "after")


def audit_filter(
    *,
    entity: str = "",
    action: str = "",
    actor: str = "",
    since: str = "",
    until: str = "",
) -> Filter:
    """A filter over the audit trail (all parts optional, combined with AND).

    ``entity`` matches the entity id or type (contains, case-insensitive),
    ``action`` is a prefix (``alias`` matches ``alias.set``), ``actor`` contains,
    ``since``/``until`` are ISO dates or date-times (``until`` is exclusive).
    """
    clauses: list[str] = []
    params: list[Any] = []
    if entity.strip():
        clauses.append("(entity_id ILIKE ? ESCAPE '\\' OR entity_type ILIKE ? ESCAPE '\\')")
        params += [_like(entity.strip()), _like(entity.strip())]
    if action.strip():
        clauses.append("starts_with(lower(action), lower(?))")
        params.append(action.strip())
    if actor.strip():
        clauses.append("actor ILIKE ? ESCAPE '\\'")
        params.append(_like(actor.strip()))
    if since.strip():
        clauses.append("ts >= ?")
        params.append(_date("since", since))
    if until.strip():
        clauses.append("ts < ?")
        params.append(_date("until", until))
    return Filter(" AND ".join(clauses) or None, tuple(params))


def count_audit(registry: Registry, flt: Filter) -> int:
    """How many audit events match ``flt``."""
    sql = "SELECT count(*) FROM audit" + (f" WHERE {flt.where}" if flt.where else "")
    with registry._read() as cur:
        return int(cur.execute(sql, list(flt.params)).fetchall()[0][0])


def fetch_audit_page(
    registry: Registry, flt: Filter, offset: int, limit: int
) -> list[tuple[Any, ...]]:
    """Audit events newest first, as tuples in :data:`AUDIT_COLUMNS` order."""
    sql = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit"
    if flt.where:
        sql += f" WHERE {flt.where}"
    sql += f" ORDER BY seq DESC LIMIT {int(limit)} OFFSET {int(offset)}"
    with registry._read() as cur:
        return [tuple(r) for r in cur.execute(sql, list(flt.params)).fetchall()]
