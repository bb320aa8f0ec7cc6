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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modelward.core.duck import connect as duck_connect
from modelward.core.errors import InvalidInput, NotFound
from modelward.core.tables import NUMERIC_TYPES, Table, explain, open_table

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
            # file read, and memory would grow with the file (see scoring)
            _con = duck_connect(
                config={
                    "memory_limit": "512MB",
                    "temp_directory": os.path.join(tempfile.gettempdir(), "modelward-duckdb-spill"),
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


Batch = dict[str, Any]
"""One chunk of rows: column name -> float64 array (numeric) or object array of text (categorical)."""


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

    @property
    def columns(self) -> list[str]:
        return list(self.kinds)

    def count(self) -> int:
        """Number of rows (metadata only for Parquet; a scan for CSV)."""
        if self._arrays is not None:
            first = next(iter(self._arrays.values()), None)
            return 0 if first is None else len(first)
        cur = _connection()
        try:
            return int(cur.execute(f"SELECT count(*) FROM {self._sql}").fetchall()[0][0])
        except Exception as e:
            raise explain(e, self.label) from None
        finally:
            cur.close()

    def cheap_count(self) -> int | None:
        """The row count when it costs no scan (arrays, Parquet metadata), else ``None``."""
        if self._arrays is not None or (self._sql or "").startswith("read_parquet"):
            return self.count()
        return None

    def batches(self, columns: Sequence[str], *, rows: int = DEFAULT_BATCH_ROWS) -> Iterator[Batch]:
        """Yield chunks of at most ``rows`` rows with the named columns."""
        missing = [c for c in columns if c not in self.kinds]
        if missing:
            raise InvalidInput(f"{self.label} has no column(s) {', '.join(missing)}")
        if self._arrays is not None:
            yield from self._array_batches(columns, rows)
            return
        yield from self._file_batches(columns, rows)

    def _array_batches(self, columns: Sequence[str], rows: int) -> Iterator[Batch]:
        assert self._arrays is not None
        n = self.count()
        for start in range(0, n, rows):
            out: Batch = {}
            for c in columns:
                part = self._arrays[c][start : start + rows]
                if self.kinds[c] == NUMERIC:
                    out[c] = np.asarray(part, dtype=np.float64)
                else:
                    vals = [None if v is None else str(v) for v in np.asarray(part).tolist()]
                    out[c] = np.array(vals, dtype=object)
            yield out

    def _file_batches(self, columns: Sequence[str], rows: int) -> Iterator[Batch]:
        exprs = []
        for c in columns:
            cast = "DOUBLE" if self.kinds[c] == NUMERIC else "VARCHAR"
            exprs.append(f"CAST({quote(c)} AS {cast}) AS {quote(c)}")
        cur = _connection()
        try:
            try:
                result = cur.execute(f"SELECT {', '.join(exprs)} FROM {self._sql}")
            except Exception as e:
                raise explain(e, self.label) from None
            # DuckDB hands over whole vectors of 2,048 rows
            vectors = max(1, rows // 2048)
            while True:
                try:
                    df = result.fetch_df_chunk(vectors)
                except Exception as e:
                    raise explain(e, self.label) from None
                if len(df) == 0:
                    break
                arrays: Batch = {}
                for i, c in enumerate(columns):
                    col = df.iloc[:, i]
                    if self.kinds[c] == NUMERIC:
                        arrays[c] = col.to_numpy(dtype=np.float64, na_value=np.nan)
                    else:
                        arrays[c] = col.to_numpy(dtype=object, na_value=None)
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
        raise NotFound(f"no such file: {path}")
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
    return TableSource(table.label, kinds, _sql=sql)
