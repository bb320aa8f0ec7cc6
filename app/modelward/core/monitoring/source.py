"""Tabular data in chunks: CSV or Parquet files through DuckDB, or arrays in memory.

Monitoring never loads a whole file: a :class:`TableSource` yields record
batches of a bounded number of rows, numeric columns as ``float64`` NumPy
arrays (missing values as NaN) and categorical columns as NumPy object arrays
of text (missing values as ``None``). Reading goes through one private
in-memory DuckDB connection per process (a cursor per call), never the
registry's database, and DuckDB hands the rows over as NumPy arrays: no
pyarrow is needed.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelward.core.duck import connect as duck_connect
from modelward.core.errors import InvalidInput, MissingInput
from modelward.core.tables import (
    CSV,
    NUMERIC_TYPES,
    BadTable,
    Table,
    TableScan,
    explain,
    first_cells_sql,
    open_table,
    text_not_number_sql,
    text_number_sql,
    token_sql,
)

NUMERIC = "numeric"
CATEGORICAL = "categorical"
OTHER = "other"

DEFAULT_BATCH_ROWS = 131_072

_CATEGORICAL_TYPES = ("VARCHAR", "BOOLEAN", "ENUM")

_lock = threading.Lock()
_con: Any = None


def _connection() -> Any:
    """A cursor on the process's private in-memory DuckDB (never the registry file)."""
    global _con
    with _lock:
        if _con is None:
            # a bounded buffer pool: it would otherwise keep the blocks of every
            # file read, and memory would grow with the file (see scoring).
            # type_pushdown off: it pushes CAST(x AS VARCHAR) into the CSV reader,
            # which then hands back the file's own text (False, 2.50) in some plans
            # and DuckDB's (false, 2.5) in others; a CSV reference and a Parquet
            # batch of the same rows then disagreed on every value of a boolean
            # column. Off, every source reads the same text (and this reader's
            # CSV scan of 1M rows x 25 columns took 1.5 s instead of 2.2 s).
            _con = duck_connect(
                config={
                    "memory_limit": "512MB",
                    "temp_directory": os.path.join(tempfile.gettempdir(), "modelward-duckdb-spill"),
                    "disabled_optimizers": "type_pushdown",
                }
            )
        return _con.cursor()


def kind_of_sql_type(sql_type: str) -> str:
    """``numeric``, ``categorical`` or ``other`` for a DuckDB type name."""
    t = sql_type.upper()
    if t.startswith(NUMERIC_TYPES):
        return NUMERIC
    if t.startswith(_CATEGORICAL_TYPES):
        return CATEGORICAL
    return OTHER


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def number_sql(column: str, text: bool = False) -> str:
    """SQL: a numeric column's cell as a ``DOUBLE``; ``text``: a column of numbers read as text."""
    return text_number_sql(quote(column)) if text else f"CAST({quote(column)} AS DOUBLE)"


def bool_text(value: Any) -> str:
    """A value as categorical text: booleans as ``true``/``false`` whatever read them."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return str(value)


Batch = dict[str, Any]
"""One chunk of rows: column name -> float64 array (numeric) or object array of text (categorical)."""

_BITS = 62  # columns per bit mask (a BIGINT, kept clear of its sign bit)
_TOUCHED = 200  # other columns touched at most, as the intake's scan does


class IntakeScan:
    """The intake's flag scan, counted inside the one pass that bins the batch.

    What :func:`~modelward.core.tables.scan_table` finds in a read of its own
    (the rows; ±inf and NaN per numeric column; every row converted, so a
    cell that contradicts its column's type is refused) is counted from the
    read the check makes anyway: the file is read once, not twice. For a
    file, each numeric column's ±inf and NaN are one bit each of a few
    ``BIGINT`` masks computed in SQL (a NaN is told from a missing value
    there, not in a float array), and the first 200 other columns are
    touched so that DuckDB converts them too.

    Build one with :meth:`TableSource.intake_scan`.

    Parameters
    ----------
    numeric
        The columns DuckDB reads as numbers, in file order.
    others
        The other columns.
    refuse
        Refuse infinite values after the pass (a model is to score the batch).
    """

    def __init__(self, numeric: Sequence[str], others: Sequence[str], *, refuse: bool = True):
        self.numeric = list(numeric)
        self.others = list(others)[:_TOUCHED]
        self.refuse = refuse
        self.rows = 0
        self.inf = dict.fromkeys(self.numeric, 0)
        self.nan = dict.fromkeys(self.numeric, 0)
        self.text: set[str] = set()  # numeric columns read from text (see TableSource)

    def take_text_numbers(self, columns: Sequence[str]) -> None:
        """Scan ``columns``, numbers read from text, as numbers: their ``inf`` counts as such.

        The source says which (:meth:`TableSource.take_text_as_numbers`), when it
        reads the batch: the scan may have been made before its schema check.
        """
        for c in columns:
            if c in self.text:
                continue
            if self.rows:
                raise RuntimeError("an intake scan takes new numeric columns before its pass")
            self.text.add(c)
            if c not in self.numeric:
                self.numeric.append(c)
                self.inf[c] = self.nan[c] = 0
            if c in self.others:
                self.others.remove(c)

    @property
    def infinite(self) -> bool:
        """Whether an infinite value was seen so far."""
        return any(self.inf.values())

    def result(self, label: str) -> TableScan:
        """The scan as :func:`~modelward.core.tables.scan_table` returns it.

        Raises
        ------
        BadTable
            The table has no rows.
        """
        if self.rows == 0:
            raise BadTable(f"{label} has no rows")
        flags: dict[str, dict[str, Any]] = {}
        for c in self.numeric:
            inf, nan = self.inf[c], self.nan[c]
            if inf or nan:
                what = ", ".join(
                    s
                    for s in (
                        f"{inf} infinite value(s)" if inf else "",
                        f"{nan} NaN" if nan else "",
                    )
                    if s
                )
                flags[c] = {"infinite": inf, "nan": nan, "what": what}
        return TableScan(self.rows, flags)

    def refuse_infinite(self, label: str) -> None:
        """Refuse a table holding ±inf in a numeric column (a model cannot score it).

        Raises
        ------
        InvalidInput
            Naming each column and its count.
        """
        inf = {c: n for c, n in self.inf.items() if n}
        if inf:
            shown = ", ".join(f"{c!r} ({n})" for c, n in inf.items())
            raise InvalidInput(
                f"{label} holds infinite values in column(s) {shown}; a model cannot score them"
            )

    def _masks(self) -> int:
        return -(-len(self.numeric) // _BITS)

    def _sql(self) -> list[str]:
        """Extra select expressions: the inf masks, the NaN masks, the touch of the others."""
        out = []
        for what in ("isinf", "isnan"):
            for k in range(self._masks()):
                part = self.numeric[k * _BITS : (k + 1) * _BITS]
                terms = " + ".join(
                    f"(CASE WHEN {what}({number_sql(c, c in self.text)}) "
                    f"THEN CAST({1 << j} AS BIGINT) ELSE CAST(0 AS BIGINT) END)"
                    for j, c in enumerate(part)
                )
                out.append(f"({terms}) AS __mw_{what}_{k}")
        if self.others:
            touched = " OR ".join(f"{quote(c)} IS NULL" for c in self.others)
            out.append(f"({touched}) AS __mw_touched")
        return out

    def _count_masks(self, n: int, masks: Sequence[np.ndarray]) -> None:
        m = self._masks()
        for into, part in ((self.inf, masks[:m]), (self.nan, masks[m : 2 * m])):
            for k, mask in enumerate(part):
                if not mask.any():
                    continue
                for j, c in enumerate(self.numeric[k * _BITS : (k + 1) * _BITS]):
                    into[c] += int(np.count_nonzero(mask & (1 << j)))
        self.rows += n

    def _count_arrays(self, n: int, arrays: Mapping[str, Any]) -> None:
        for c in self.numeric:
            a = np.asarray(arrays[c], dtype=np.float64)
            if not np.isfinite(a).all():
                self.inf[c] += int(np.count_nonzero(np.isinf(a)))
                self.nan[c] += int(np.count_nonzero(np.isnan(a)))
        self.rows += n


@dataclass
class TableSource:
    """A table to read in chunks.

    Build one with :func:`open_source`. ``kinds`` maps every column to
    ``numeric``, ``categorical`` or ``other`` (dates, lists: not monitored).
    """

    label: str
    kinds: dict[str, str]
    _sql: str | None = None
    _arrays: Mapping[str, Any] | None = None
    _typed_numeric: tuple[str, ...] | None = None  # read as numbers by DuckDB, codes or not
    _types: Mapping[str, str] | None = None  # DuckDB's type of each column, when known
    table: Table | None = None  # the strict reader's table, for a file
    # numeric columns whose cells are text (padded numbers, "NA"): read by text_number_sql
    text_numbers: set[str] = field(default_factory=set)

    @property
    def columns(self) -> list[str]:
        return list(self.kinds)

    @property
    def booleans(self) -> list[str]:
        """The true/false columns (read as ``true``/``false`` text, like every category)."""
        if self._arrays is not None:
            return [c for c in self.kinds if np.asarray(self._arrays[c]).dtype.kind == "b"]
        return [c for c, t in (self._types or {}).items() if t.upper() == "BOOLEAN"]

    def take_empty_as_numbers(self, columns: Sequence[str]) -> list[str]:
        """Read those of ``columns`` that hold no value at all as numbers, every row missing.

        A CSV column left blank in every row has no type to read (DuckDB's reader
        makes it text); where the reference has numbers it is a column gone
        missing, which the check counts as such (its missing rate), not a
        retyped column. One count per column, made only for these columns.
        Returns the columns retyped.
        """
        empty = []
        for c in columns:
            if self._arrays is not None:
                a = np.asarray(self._arrays[c], dtype=object)
                none = all(v is None or (isinstance(v, float) and v != v) for v in a.tolist())
            else:
                cur = _connection()
                try:
                    found = cur.execute(f"SELECT count({quote(c)}) FROM {self._sql}").fetchall()
                except Exception as e:
                    raise explain(
                        e, self.label, path=self.table.path if self.table else None
                    ) from None
                finally:
                    cur.close()
                none = int(found[0][0]) == 0
            if none:
                self.kinds[c] = NUMERIC
                empty.append(c)
        return empty

    def take_text_as_numbers(self, columns: Sequence[str]) -> dict[str, tuple[int, str]]:
        """Read those of ``columns`` whose every cell is a number or a missing-value token
        as numbers; the others' first cell that is neither.

        A CSV column of numbers padded with blanks (``" 49.1 "``) or holding
        ``NA``, ``-``, ``?`` (:data:`~modelward.core.tables.MISSING_TOKENS`)
        is text to DuckDB's reader; where the reference has numbers it is read
        as training and scoring read it: trimmed, a token a missing value
        (:func:`~modelward.core.tables.text_number_sql`). One scan for all
        the columns; a second, to find the row, only for a column refused.
        Returns ``{column: (row, text)}`` (1-based data row) of those not read
        as numbers. Only a CSV's sniffed types are read past so: a Parquet file
        stores its types (numbers stored as text there stay refused), and
        arrays in memory are not converted.
        """
        if not columns or self.table is None or self.table.format != CSV or self._sql is None:
            return {}
        counts = self._count_where([text_not_number_sql(quote(c)) for c in columns])
        bad: dict[str, tuple[int, str]] = {}
        for c, n in zip(columns, counts, strict=True):
            if n:
                row, text = self._first_cell(c, text_not_number_sql("v"))
                bad[c] = (row, text.strip())
            else:
                self.kinds[c] = NUMERIC
                self.text_numbers.add(c)
        return bad

    def take_marked_numbers(self, columns: Sequence[str]) -> list[str]:
        """Read as numbers those of ``columns`` that hold numbers with missing values marked.

        A CSV column of numbers with ``NA`` (or another of
        :data:`~modelward.core.tables.MISSING_TOKENS`) in most rows is text to
        DuckDB's reader, and numbers, those cells missing, to ``train``: a
        reference profile of the model's training data reads it so, not as
        hundreds of categories. A column without a written token (codes like
        ``001``) or with other text keeps its kind. Returns the columns retyped.
        """
        types = self._types or {}
        cols = [
            c
            for c in columns
            if self.kinds.get(c) == CATEGORICAL and str(types.get(c, "")).upper() == "VARCHAR"
        ]
        if not cols or self.table is None or self.table.format != CSV or self._sql is None:
            return []
        counts = self._count_where([token_sql(quote(c), written=True) for c in cols])
        marked = [c for c, n in zip(cols, counts, strict=True) if n]
        words = self.take_text_as_numbers(marked)  # the others' kind is left as it was
        return [c for c in marked if c not in words]

    def _count_where(self, conditions: Sequence[str]) -> list[int]:
        """One scan of a file's rows: how many rows meet each SQL condition."""
        assert self._sql is not None
        cur = _connection()
        try:
            got = cur.execute(
                "SELECT " + ", ".join(f"count_if({c})" for c in conditions) + f" FROM {self._sql}"
            ).fetchall()[0]
        except Exception as e:
            raise explain(e, self.label, path=self.table.path if self.table else None) from None
        finally:
            cur.close()
        return [int(n or 0) for n in got]

    def _first_cell(self, column: str, where: str) -> tuple[int, str]:
        """The first row (from 1) whose cell ``v`` of ``column`` meets ``where``, and the cell."""
        assert self._sql is not None
        cur = _connection()
        try:
            row, text = cur.execute(first_cells_sql(self._sql, column, where)).fetchall()[0]
        except Exception as e:
            raise explain(e, self.label, path=self.table.path if self.table else None) from None
        finally:
            cur.close()
        return int(row), str(text)

    def intake_scan(self, *, refuse: bool = True) -> IntakeScan:
        """An :class:`IntakeScan` of this source's columns (for :meth:`batches`)."""
        if self._typed_numeric is not None:
            numeric = list(self._typed_numeric)
        else:
            numeric = [c for c, k in self.kinds.items() if k == NUMERIC]
        others = [c for c in self.kinds if c not in numeric]
        return IntakeScan(numeric, others, refuse=refuse)

    def count(self) -> int:
        """Number of rows (metadata only for Parquet; a scan for CSV)."""
        if self._arrays is not None:
            first = next(iter(self._arrays.values()), None)
            return 0 if first is None else len(first)
        cur = _connection()
        try:
            return int(cur.execute(f"SELECT count(*) FROM {self._sql}").fetchall()[0][0])
        except Exception as e:
            raise explain(e, self.label, path=self.table.path if self.table else None) from None
        finally:
            cur.close()

    def cheap_count(self) -> int | None:
        """The row count when it costs no scan (arrays, Parquet metadata), else ``None``."""
        if self._arrays is not None or (self._sql or "").startswith("read_parquet"):
            return self.count()
        return None

    def category_counts(
        self, columns: Sequence[str], bounds: Sequence[int] | None = None
    ) -> dict[str, list[tuple[int, str | None, int]]] | None:
        """Each column's values and their counts, counted by DuckDB in one scan per column.

        Rows ``(chunk, value, count)`` per column, values as :meth:`batches`
        gives them (text, ``None`` for missing). ``chunk`` is 0 without
        ``bounds``; with ``bounds`` (row positions ``0 = b0 < b1 < … < bk``) it is
        the ``i`` with ``b[i] <= row < b[i+1]``, the row's position in the file.

        Counting a text column in Python costs about 0.2 s per million rows
        (DuckDB makes each value a Python string, then a ``Counter`` counts
        them); DuckDB's own ``GROUP BY`` takes about 10 ms. A CSV or Parquet
        file only (``None`` for arrays in memory), and row ranges from Parquet
        only: DuckDB numbers a Parquet file's rows, not a CSV file's.
        """
        src = self._sql or ""
        parquet = src.startswith("read_parquet(") and src.endswith(")")
        if not (parquet or src.startswith("read_csv(")):
            return None
        chunk = "0"
        if bounds is not None and len(bounds) > 2:
            if not parquet or "file_row_number" in self.kinds:  # no row numbers, or a clash
                return None
            src = src[:-1] + ", file_row_number = true)"
            cases = " ".join(
                f"WHEN file_row_number < {int(b)} THEN {i}" for i, b in enumerate(bounds[1:-1])
            )
            chunk = f"CASE {cases} ELSE {len(bounds) - 2} END"
        out: dict[str, list[tuple[int, str | None, int]]] = {}
        cur = _connection()
        try:
            for c in columns:
                sql = (
                    f"SELECT {chunk} AS chunk, CAST({quote(c)} AS VARCHAR) AS value, "
                    f"count(*) AS n FROM {src} GROUP BY ALL ORDER BY chunk, n DESC, value"
                )
                try:
                    rows = cur.execute(sql).fetchall()
                except Exception as e:
                    raise explain(
                        e, self.label, path=self.table.path if self.table else None
                    ) from None
                out[c] = [(int(k), v, int(n)) for k, v, n in rows]
        finally:
            cur.close()
        return out

    def batches(
        self,
        columns: Sequence[str],
        *,
        rows: int = DEFAULT_BATCH_ROWS,
        scan: IntakeScan | None = None,
    ) -> Iterator[Batch]:
        """Yield chunks of at most ``rows`` rows with the named columns.

        With ``scan`` (an :class:`IntakeScan` of this source), the intake's
        flags are counted from the same read.
        """
        missing = [c for c in columns if c not in self.kinds]
        if missing:
            raise InvalidInput(f"{self.label} has no column(s) {', '.join(missing)}")
        if scan is not None:
            scan.take_text_numbers(sorted(self.text_numbers))
        if self._arrays is not None:
            yield from self._array_batches(columns, rows, scan)
            return
        yield from self._file_batches(columns, rows, scan)

    def _array_batches(
        self, columns: Sequence[str], rows: int, scan: IntakeScan | None
    ) -> Iterator[Batch]:
        assert self._arrays is not None
        n = self.count()
        for start in range(0, n, rows):
            out: Batch = {}
            for c in columns:
                part = self._arrays[c][start : start + rows]
                if self.kinds[c] == NUMERIC:
                    out[c] = np.asarray(part, dtype=np.float64)
                else:
                    vals = [None if v is None else bool_text(v) for v in np.asarray(part).tolist()]
                    out[c] = np.array(vals, dtype=object)
            if scan is not None:
                part_arrays = {c: self._arrays[c][start : start + rows] for c in scan.numeric}
                scan._count_arrays(min(rows, n - start), part_arrays)
            yield out

    def _file_batches(
        self, columns: Sequence[str], rows: int, scan: IntakeScan | None
    ) -> Iterator[Batch]:
        exprs = []
        for c in columns:
            if self.kinds[c] == NUMERIC:
                exprs.append(f"{number_sql(c, c in self.text_numbers)} AS {quote(c)}")
            else:
                exprs.append(f"CAST({quote(c)} AS VARCHAR) AS {quote(c)}")
        extra = scan._sql() if scan is not None else []
        n_masks = 2 * scan._masks() if scan is not None else 0
        cur = _connection()
        try:
            try:
                result = cur.execute(f"SELECT {', '.join([*exprs, *extra])} FROM {self._sql}")
            except Exception as e:
                raise explain(e, self.label, path=self.table.path if self.table else None) from None
            # DuckDB hands over whole vectors of 2,048 rows
            vectors = max(1, rows // 2048)
            while True:
                try:
                    df = result.fetch_df_chunk(vectors)
                except Exception as e:
                    raise explain(
                        e, self.label, path=self.table.path if self.table else None
                    ) from None
                if len(df) == 0:
                    break
                arrays: Batch = {}
                for i, c in enumerate(columns):
                    col = df.iloc[:, i]
                    if self.kinds[c] == NUMERIC:
                        arrays[c] = col.to_numpy(dtype=np.float64, na_value=np.nan)
                    else:
                        arrays[c] = col.to_numpy(dtype=object, na_value=None)
                if scan is not None:
                    masks = [
                        df.iloc[:, len(columns) + k].to_numpy(dtype=np.int64)
                        for k in range(n_masks)
                    ]
                    scan._count_masks(len(df), masks)
                for start in range(0, len(df), rows):
                    yield {c: a[start : start + rows] for c, a in arrays.items()}
        finally:
            cur.close()


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def open_source(
    data: str | os.PathLike[str] | Mapping[str, Any] | Table,
    *,
    categorical: Sequence[str] = (),
) -> TableSource:
    """Open a CSV/Parquet file, or wrap a mapping of column arrays.

    Parameters
    ----------
    data
        Path to a ``.csv``/``.tsv`` (optionally gzipped) or ``.parquet`` file,
        or a mapping ``{column: array}`` (NumPy arrays; strings or objects
        are categorical), or a :class:`~modelward.core.tables.Table` the
        caller has already opened (its checks are not run again).
    categorical
        Columns to treat as categorical even if they are numeric (codes).

    Raises
    ------
    NotFound
        The file does not exist.
    InvalidInput
        The file cannot be read as a table.
    """
    if isinstance(data, Table):  # already opened (and checked) by the caller: not read again
        return _from_table(data, categorical)
    if isinstance(data, Mapping):
        kinds: dict[str, str] = {}
        lengths = set()
        for name, arr in data.items():
            a = np.asarray(arr)
            lengths.add(len(a))
            kinds[str(name)] = NUMERIC if a.dtype.kind in "iuf" else CATEGORICAL
        if len(lengths) > 1:
            raise InvalidInput("the columns given have different lengths")
        for c in categorical:
            if c in kinds:
                kinds[c] = CATEGORICAL
        return TableSource("data in memory", kinds, _arrays=data)
    path = Path(data)
    if not path.exists():
        raise MissingInput(f"no such file: {path}")
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder, not a CSV or Parquet file")
    name = path.name.lower()
    if not name.endswith((".parquet", ".pq", ".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")):
        raise InvalidInput(f"{path}: use a .csv or .parquet file")
    return _from_table(open_table(path, label=str(path)), categorical)


def _from_table(table: Table, categorical: Sequence[str]) -> TableSource:
    sql = table.source
    cols, types = table.columns, list(table.types.values())
    kinds = {c: kind_of_sql_type(t) for c, t in zip(cols, types, strict=True)}
    for c in categorical:
        if c in kinds:
            kinds[c] = CATEGORICAL
    numeric = tuple(c for c in cols if table.numeric(c))
    return TableSource(
        table.label,
        kinds,
        _sql=sql,
        _typed_numeric=numeric,
        _types=dict(table.types),
        table=table,
    )
