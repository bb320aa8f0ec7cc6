"""The checks behind the door: what a stored batch must satisfy to be taken.

:func:`check_batch` is the one place where a data batch is judged before it
is recorded; stricter validation (encodings, types, limits) belongs here, so
that every path a batch can take in meets it. It reads the artifact store's
copy, never the file it came from.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.core import duck
from modelward.core.duck import connect as duck_connect
from modelward.core.errors import NotFound, RejectedFile
from modelward.core.monitoring.profile import NumericProfile
from modelward.core.monitoring.quality import SchemaMismatch
from modelward.core.monitoring.scoring import InfiniteValues
from modelward.core.monitoring.service import check_batch as monitor_check
from modelward.core.monitoring.service import (
    get_profile,
    signature_columns,
    signature_extras,
    stored_kind,
)
from modelward.core.registry import Registry
from modelward.core.tables import (
    BadTable,
    Limits,
    Table,
    check_signature,
    open_table,
    quote,
    scan_table,
)

if TYPE_CHECKING:
    import duckdb

RANGE_MARGIN = 0.1
"""How far past the reference's range a value may lie before its row is flagged,
as a share of that range (``age`` seen from 18 to 80: below 11.8 or above 86.2)."""

_EXAMPLES = 3


@dataclass(frozen=True)
class BatchFacts:
    """What the check learned about a batch.

    Its columns (DuckDB types) and rows; ``flags`` maps a column to what is
    readable but implausible in it (``infinite``/``nan``/``out_of_range``/
    ``outside_classes`` counts, ``examples`` and a ``what`` line); ``extra``
    lists columns the model does not know that were kept. ``flagged_rows``
    counts the rows with a row-level flag (a feature out of the reference's
    range by more than :data:`RANGE_MARGIN`, ±inf in a feature, a label
    outside the trained classes); ``row_mask`` marks them, in file order, so
    that the champion check leaves them out of its performance figures.
    """

    schema: dict[str, str]
    rows: int
    flags: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)
    flagged_rows: int = 0
    row_mask: Any = None
    table: Table | None = None


def _version_of(registry: Registry, model_name: str) -> Any:
    """The champion, else the latest version; ``None`` when the model has none."""
    return _champion_or_latest(registry, model_name)[0]


def _champion_or_latest(registry: Registry, model_name: str) -> tuple[Any, bool]:
    """``(version, is_champion)``: the champion, else the latest; ``(None, False)`` without one."""
    for ref, champion in ((f"{model_name}@champion", True), (model_name, False)):
        try:
            return registry.resolve(ref), champion
        except NotFound:
            continue
    return None, False


def expected_signature(registry: Registry, model_name: str) -> dict[str, str | None] | None:
    """Feature name -> kind (``numeric``/``categorical``/``None``) of the champion, else latest.

    ``None`` when the model or its feature names are unknown.
    """
    version = _version_of(registry, model_name)
    return None if version is None else signature_columns(version)


@dataclass(frozen=True)
class ModelContext:
    """What the checks of a model's batches look up in the registry, looked up once.

    A watched inbox takes many batches for one model in a row; each used to
    resolve the champion six times and read its profile twice. One context
    serves a group of batches (the watcher builds one per group, and drops it
    when a batch's policy acted, since that may have moved the champion).

    ``version`` is the champion, else the latest version (``None`` without
    one); ``champion`` says which; ``profile`` is that version's reference
    profile, or ``None``.
    """

    model_name: str
    version: Any
    champion: bool
    expected: dict[str, str | None] | None
    profile: Any

    @property
    def monitored(self) -> bool:
        """Whether the champion check has something to compare with (a champion's profile)."""
        return self.champion and self.profile is not None


def model_context(registry: Registry, model_name: str) -> ModelContext:
    """Look up, once, what :func:`check_batch` and :func:`monitor_batch` need of ``model_name``."""
    version, champion = _champion_or_latest(registry, model_name)
    if version is None:
        return ModelContext(model_name, None, False, None, None)
    return ModelContext(
        model_name, version, champion, signature_columns(version), get_profile(registry, version.id)
    )


def expected_features(registry: Registry, model_name: str) -> list[str] | None:
    """Feature names the model's champion (else latest version) was trained on, if known."""
    sig = expected_signature(registry, model_name)
    return None if sig is None else list(sig)


def _allowed_extra(version: Any, options: dict[str, Any]) -> list[str]:
    """Columns a batch may carry besides the features: labels, ids, the target, the time."""
    out = [str(options[k]) for k in ("label_column", "id_column") if options.get(k)]
    return out + signature_extras(version)


def check_batch(
    registry: Registry,
    path: Path,
    *,
    model_name: str | None,
    options: dict[str, Any] | None = None,
    allow_extra: bool = False,
    context: ModelContext | None = None,
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
    context
        :func:`model_context` of ``model_name``, when the caller checks many
        batches for it in a row (default: looked up here).

    Returns
    -------
    BatchFacts
        With ``table``, the opened table, for the champion check to read
        without opening the file again.

    Raises
    ------
    RejectedFile
        With the strict reader's sentence (see :mod:`modelward.core.tables`):
        unreadable, ambiguous, empty, limits, or columns missing, extra or of
        the wrong type.
    """
    opts = dict(options or {})
    if model_name is not None and (context is None or context.model_name != model_name):
        context = model_context(registry, model_name)
    ctx = context if model_name is not None else None
    table, extra = _open_checked(path, ctx, opts, allow_extra)
    try:
        scan = scan_table(table)
    except BadTable as e:
        raise RejectedFile(str(e)) from None
    return _facts(ctx, table, extra, scan, opts)


def _open_checked(
    path: Path,
    ctx: ModelContext | None,
    opts: dict[str, Any],
    allow_extra: bool,
    limits: Limits | None = None,
) -> tuple[Table, list[str]]:
    """The strict reader's table and its check against the model's columns (extra ones kept)."""
    expected = ctx.expected if ctx is not None else None
    try:
        table = open_table(path, expected=list(expected) if expected else None, limits=limits)
        extra: list[str] = []
        if expected is not None and ctx is not None:
            # A producer's batch often carries ids or labels the inbox was not told of:
            # kept, and shown in the flags, unless the inbox says allow_extra: false.
            keep = allow_extra or bool(opts.get("allow_extra", True))
            extra = check_signature(
                table,
                expected,
                allow_extra=keep,
                allowed_extra=_allowed_extra(ctx.version, opts),
            )
    except BadTable as e:
        raise RejectedFile(str(e)) from None
    return table, extra


def _facts(
    ctx: ModelContext | None, table: Table, extra: list[str], scan: Any, opts: dict[str, Any]
) -> BatchFacts:
    flags = dict(scan.flags)
    for c in extra:
        flags[c] = {"extra": True, "what": "not a column of the model: kept, not monitored"}
    n_flagged, mask = 0, None
    if ctx is not None and ctx.version is not None:
        features = [c for c in (ctx.expected or {}) if c in table.types]
        n_flagged, mask = _row_flags(ctx.version, ctx.profile, table, features, opts, flags)
    return BatchFacts(table.types, scan.rows, flags, extra, n_flagged, mask, table)


def check_batches(
    registry: Registry,
    paths: list[Path],
    *,
    model_name: str | None,
    options: dict[str, Any] | None = None,
    context: ModelContext | None = None,
) -> list[BatchFacts | RejectedFile]:
    """:func:`check_batch` for many stored batches of one model, in fewer reads.

    Each batch is opened by the strict reader on its own (its delimiter,
    header, types, text in number columns), then CSV batches that read the
    same way (same options and column types) are scanned together: one
    query counts, for each file, its rows, ±inf and NaN, and the row-level
    flags' conditions. A batch with something to report (no rows, a flag)
    or a group whose query fails is checked again alone, so every result,
    refusal sentence and flag is what :func:`check_batch` gives.

    Returns
    -------
    list
        Per path, in order: its :class:`BatchFacts`, or the
        :class:`~modelward.core.errors.RejectedFile` that refuses it.
    """
    opts = dict(options or {})
    if model_name is not None and (context is None or context.model_name != model_name):
        context = model_context(registry, model_name)
    ctx = context if model_name is not None else None
    out: list[BatchFacts | RejectedFile | None] = [None] * len(paths)
    same: dict[tuple[Any, ...], list[tuple[int, Table, list[str]]]] = {}
    limits = Limits.from_settings()  # read once for the group, not once per file
    for k, path in enumerate(paths):
        try:
            table, extra = _open_checked(path, ctx, opts, False, limits)
        except RejectedFile as rej:
            out[k] = rej
            continue
        key = _read_alike(table)
        same.setdefault(key or ("alone", k), []).append((k, table, extra))
    for key, members in same.items():
        clean: dict[int, int] = {}
        if key[0] != "alone" and not _value_flags(ctx, members[0][1], opts):
            # Whole files of plain numbers, split by the strict reader already: counted
            # rows, no ±inf or NaN, no text, no flag to look for; nothing to scan.
            clean = {k: int(t.rows) for k, t, _ in members if t.rows is not None and t.rows > 0}
        rest = [m for m in members if m[0] not in clean]
        if key[0] != "alone" and len(rest) > 1:
            clean.update(_scan_together(ctx, rest, opts))
        for k, table, extra in members:
            rows = clean.get(k)
            if rows is not None:
                # Nothing to flag: what check_batch finds for a clean table.
                flags = {
                    c: {"extra": True, "what": "not a column of the model: kept, not monitored"}
                    for c in extra
                }
                out[k] = BatchFacts(table.types, rows, flags, extra, 0, None, table)
                continue
            try:
                out[k] = _facts(ctx, table, extra, scan_table(table), opts)
            except BadTable as e:
                out[k] = RejectedFile(str(e))
    return [r for r in out if r is not None]


def _read_alike(table: Table) -> tuple[Any, ...] | None:
    """What CSV tables read together must share: the reader's options and the column types."""
    head = "read_csv(" + _literal(table.path) + ", "
    if table.format != "csv" or not table.source.startswith(head) or "compression" in table.source:
        return None
    return ("csv", table.source[len(head) :], tuple(table.types.items()))


def _literal(text: Any) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _value_flags(ctx: ModelContext | None, table: Table, opts: dict[str, Any]) -> bool:
    """Whether the row-level flags of ``table``'s batches look at values (a range, classes).

    Infinite values aside, which plain numbers cannot be.
    """
    if ctx is None or ctx.version is None:
        return False
    features = [c for c in (ctx.expected or {}) if c in table.types]
    conds = _flag_conditions(ctx.version, ctx.profile, table, features, opts)
    return any(key != "infinite" for _, key, _, _ in conds)


def _scan_together(
    ctx: ModelContext | None, members: list[tuple[int, Table, list[str]]], opts: dict[str, Any]
) -> dict[int, int]:
    """Rows of each member table found clean by one query over them all (the rest: absent)."""
    _, first, _ = members[0]
    head = "read_csv(" + _literal(first.path) + ", "
    files = "[" + ", ".join(_literal(t.path) for _, t, _ in members) + "]"
    types = "{" + ", ".join(f"{_literal(c)}: {_literal(t)}" for c, t in first.types.items()) + "}"
    source = f"read_csv({files}, filename='_mw_file', types={types}, " + first.source[len(head) :]
    numeric = [c for c in first.columns if first.numeric(c)]
    parts = []
    for c in numeric:
        d = f"CAST({quote(c)} AS DOUBLE)"
        parts.append(f"count_if(isinf({d}) OR isnan({d}))")
    # Touch the text columns too, as scan_table does: a bad row anywhere fails the query.
    parts.extend(f"count({quote(c)})" for c in first.columns if c not in numeric)
    if ctx is not None and ctx.version is not None:
        features = [c for c in (ctx.expected or {}) if c in first.types]
        conds = _flag_conditions(ctx.version, ctx.profile, first, features, opts)
        parts.extend(f"count_if(coalesce({sql}, false))" for _, _, sql, _ in conds)
    con = _connection()
    try:
        got = con.execute(
            f"SELECT _mw_file, count(*), {', '.join(parts) or '0'} FROM {source} GROUP BY ALL"
        ).fetchall()
    except duck.Error:
        return {}  # each is scanned alone, which names the file and the row
    finally:
        con.close()
    # Columns: ±inf/NaN per number column, then the text columns' counts, then the flags.
    flagged = [i for i in range(len(parts)) if i < len(numeric) or i >= len(first.columns)]
    by_path = {str(t.path): k for k, t, _ in members}
    clean: dict[int, int] = {}
    for row in got:
        k = by_path.get(str(row[0]))
        rows = int(row[1])
        if k is None or rows == 0 or any(int(row[2 + i] or 0) for i in flagged):
            continue
        clean[k] = rows
    return clean


def _label_column(version: Any, table: Table, opts: dict[str, Any]) -> str | None:
    for c in (opts.get("label_column"), (version.signature or {}).get("target")):
        if c and str(c) in table.types:
            return str(c)
    return None


def _classes_sql(column: str, table: Table, classes: list[Any]) -> str:
    """A condition true where ``column`` holds a label that is none of ``classes``."""
    q = quote(column)
    if all(isinstance(c, bool) for c in classes):
        listed = ", ".join(f"'{str(c).lower()}'" for c in classes)
        return f"({q} IS NOT NULL AND lower(CAST({q} AS VARCHAR)) NOT IN ({listed}))"
    if all(isinstance(c, int | float) and not isinstance(c, bool) for c in classes):
        listed = ", ".join(repr(float(c)) for c in classes)
        return f"({q} IS NOT NULL AND coalesce(TRY_CAST({q} AS DOUBLE) NOT IN ({listed}), true))"
    listed = ", ".join("'" + str(c).replace("'", "''") + "'" for c in classes)
    return f"({q} IS NOT NULL AND CAST({q} AS VARCHAR) NOT IN ({listed}))"


def _short(v: Any) -> str:
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= 40 else text[:39] + "…"


def _flag_conditions(
    version: Any, prof: Any, table: Table, features: list[str], opts: dict[str, Any]
) -> list[tuple[str, str, str, str]]:
    """The row-level flags' conditions: ``(column, key, SQL true where flagged, what)``."""
    conds: list[tuple[str, str, str, str]] = []  # (column, key, sql, what)
    for c in features:
        if not table.numeric(c):
            continue
        d = f"CAST({quote(c)} AS DOUBLE)"
        conds.append((c, "infinite", f"isinf({d})", "infinite value(s)"))
        fp = prof.features.get(c) if prof is not None else None
        if isinstance(fp, NumericProfile) and len(fp.edges) >= 2:
            lo, hi = float(fp.edges[0]), float(fp.edges[-1])
            m = RANGE_MARGIN * (hi - lo)
            conds.append(
                (
                    c,
                    "out_of_range",
                    f"(isfinite({d}) AND ({d} < {lo - m!r} OR {d} > {hi + m!r}))",
                    f"value(s) outside the trained range [{lo:g}, {hi:g}] by more than "
                    f"{RANGE_MARGIN:.0%} of it",
                )
            )
    label = _label_column(version, table, opts)
    classes = list((version.signature or {}).get("classes") or [])
    if not classes and prof is not None:
        kind = stored_kind(prof)  # a logged model's classes are in its profile
        if kind is not None and kind.kind != "regression":
            classes = list(kind.classes)
    if label is not None and classes:
        shown = ", ".join(_short(c) for c in classes[:10]) + (" …" if len(classes) > 10 else "")
        conds.append(
            (
                label,
                "outside_classes",
                _classes_sql(label, table, classes),
                f"label(s) outside the trained classes ({shown})",
            )
        )
    return conds


def _row_flags(
    version: Any,
    prof: Any,
    table: Table,
    features: list[str],
    opts: dict[str, Any],
    flags: dict[str, dict[str, Any]],
) -> tuple[int, Any]:
    """Row-level flags against the model: counts and examples into ``flags``; the row mask.

    A numeric feature is flagged where it is ±inf, or beyond the champion's
    reference range by more than :data:`RANGE_MARGIN` of that range; the
    label where it is none of the trained classes. ``prof`` is the
    version's reference profile (``None`` without one).
    """
    conds = _flag_conditions(version, prof, table, features, opts)
    if not conds:
        return 0, None
    con = _connection()
    try:
        counts = con.execute(
            "SELECT "
            + ", ".join(f"count_if(coalesce({sql}, false))" for _, _, sql, _ in conds)
            + f" FROM {table.source}"
        ).fetchall()[0]
        if not any(counts):
            return 0, None
        for (col, key, sql, what), n in zip(conds, counts, strict=True):
            if not n:
                continue
            ex = con.execute(
                f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, {quote(col)} AS v, "
                f"coalesce({sql}, false) AS f FROM {table.source}) WHERE f ORDER BY rn "
                f"LIMIT {_EXAMPLES}"
            ).fetchall()
            examples = [{"row": int(r), "value": _short(v)} for r, v in ex]
            entry = flags.setdefault(col, {})
            rows = ", ".join(f"row {e['row']}: {e['value']}" for e in examples)
            if key in entry:  # ±inf counted by the scan already: add where
                entry["what"] = f"{entry['what']} ({rows})"
            else:
                line = f"{int(n)} {what} ({rows})"
                entry["what"] = f"{entry['what']}; {line}" if entry.get("what") else line
            entry[key] = int(n)
            entry.setdefault("examples", []).extend(examples)
            entry.setdefault("row_level", []).append(key)
        either = " OR ".join(f"coalesce({sql}, false)" for _, _, sql, _ in conds)
        mask = con.execute(f"SELECT ({either}) AS f FROM {table.source}").fetchnumpy()["f"]
    except duck.Error:
        return 0, None  # the table was read already; a flag is a hint, never a refusal
    finally:
        con.close()
    import numpy as np  # deferred: start-up cost

    arr = np.asarray(mask, dtype=bool)
    return int(arr.sum()), arr


_BASE = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    # A cursor of one in-memory database per thread: opening a database costs
    # ~40-70 ms, a cursor under 1 ms (measured: a third of a small batch's time).
    base = getattr(_BASE, "con", None)
    if base is None:
        base = _BASE.con = duck_connect()
    return base.cursor()


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
    exclude: Any = None,
    table: Table | None = None,
    context: ModelContext | None = None,
) -> dict[str, Any] | None:
    """Check the batch against the champion's reference profile, when there is one.

    A batch whose columns or types do not match the reference is refused; a
    model without a champion or a profile yet is simply not checked. Rows
    marked in ``exclude`` (the intake's row-level flags) are left out of the
    performance figures; how many is returned as ``excluded_from_performance``.
    ``table`` is the batch as :func:`check_batch` opened it (the file is then
    not opened and sniffed a second time); ``context`` the model's
    :func:`model_context` (a model without a champion's profile is then not
    looked up again).

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
    if context is not None and context.model_name == model_name and not context.monitored:
        return None  # no champion, or no reference profile yet: nothing to compare with
    label = opts.get("label_column") if opts.get("label_column") in schema else None
    id_col = opts.get("id_column") if opts.get("id_column") in schema else None
    try:
        with _quiet_numbers():
            res = monitor_check(
                registry,
                f"{model_name}@champion",
                # Named by its path, as a path would be (messages, the batch's record).
                path if table is None else dataclasses.replace(table, label=str(path)),
                name=name,
                id_column=id_col,
                label_column=label,
                exclude=exclude,
            )
    except SchemaMismatch as e:
        raise RejectedFile(f"schema mismatch: {e}") from None
    except ValueError as e:
        # The batch is readable but the model cannot score some rows (±inf, or values
        # so large that its arithmetic overflows): taken, flagged, not checked.
        infinite = isinstance(e, InfiniteValues) or "infinity" in str(e)
        why = "a value is infinite or too large" if infinite else "it refused the rows"
        return {
            "batch_id": None,
            "drift_share": None,
            "drifted": None,
            "verdict": f"not checked against the champion: the model cannot score it ({why})",
            "performance": {},
            "excluded_from_performance": 0,
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
    if res.excluded_rows:
        verdict += f"; {res.excluded_rows:,} flagged row(s) left out of the performance figures"
    out = {
        "batch_id": res.batch_id,
        "drift_share": report.drift_share,
        "drifted": report.drifted,
        "verdict": verdict,
        "performance": res.performance,
        "excluded_from_performance": res.excluded_rows,
        "flags": flags,
    }
    crossed = (res.groups or {}).get("crossed")
    if crossed:  # the model's policy step raises a group-gap alert for this batch
        out["group_gaps_crossed"] = list(crossed)
    return out
