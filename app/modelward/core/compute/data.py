"""Tables for training and validation: reading through DuckDB, column kinds, checks.

Every table is read by DuckDB (CSV or Parquet, chosen by the file's bytes) into
a pandas DataFrame. The checks here turn bad input into one clear sentence that
names the column, and the row where there is one (rows count from 1, the header
not included), before any model sees the data.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.core.duck import Error as DuckError
from modelward.core.duck import connect as duck_connect
from modelward.core.errors import InvalidInput, MissingInput
from modelward.core.tables import (
    CSV,
    MISSING_TOKENS,  # text that means "no value" in a column of numbers
    Table,
    explain,
    not_a_file,
    open_table,
    quote,
    scan_table,
    unreadable,
)

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

__all__ = [
    "NUMERIC",
    "CATEGORICAL",
    "DATETIME",
    "check_columns",
    "check_target",
    "column_kinds",
    "feature_frame",
    "kind_of_dtype",
    "fingerprint_frame",
    "preview",
    "read_table",
    "resolve_source",
    "write_parquet",
]

NUMERIC = "numeric"
CATEGORICAL = "categorical"
DATETIME = "datetime"

# The largest magnitude whose square is finite. Past it a variance, a scaler, a
# linear model's gradient or a regression's RMSE overflows, and what is reported
# is the infinity or NaN the overflow made, not the value that made it.
SQUARE_MAX = 1.3e154
# A text column with more distinct values than this (and mostly unique) is an
# identifier or free text: one-hot encoding it would explode, so it is left out.
_MAX_AUTO_CATEGORIES = 1000


@contextlib.contextmanager
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    """A private in-memory DuckDB connection that never reaches for the network."""
    con = duck_connect()
    try:
        yield con
    finally:
        con.close()


def resolve_source(data: str | os.PathLike[str], registry: Any = None) -> Path:
    """The file behind ``data``: a path, or ``dataset:ID`` for a registered dataset.

    Raises
    ------
    NotFound
        The file or the dataset does not exist.
    InvalidInput
        The path is not a regular file, or cannot be looked at (a symlink loop,
        no permission).
    """
    text = str(data)
    if text.startswith("dataset:"):
        if registry is None:
            raise InvalidInput(f"{text} names a registered dataset, but no registry was given")
        key = text.split(":", 1)[1]
        with registry.read() as cur:
            if key.isdigit():
                rows = cur.execute(
                    "SELECT source FROM datasets WHERE id = ?", [int(key)]
                ).fetchall()
            else:
                rows = cur.execute(
                    "SELECT source FROM datasets WHERE name = ? ORDER BY id DESC LIMIT 1", [key]
                ).fetchall()
        if not rows:
            raise MissingInput(f"no registered dataset {key!r}")
        if not rows[0][0]:
            raise MissingInput(f"the registered dataset {key!r} has no source file")
        text = str(rows[0][0])
    path = Path(text)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise MissingInput(f"no such data file: {path}") from None
    except OSError as e:
        # A symlink loop, a path through a file, no permission: refused in the strict
        # reader's words (what monitor and drift, which open the file with it, say).
        raise unreadable(str(path), e) from None
    if (what := not_a_file(mode)) is not None:
        raise InvalidInput(f"{path} is {what}, not a CSV or Parquet file")
    return path


def _open(path: Path, label: str | None = None) -> Table:
    """The strict reader's checks (:mod:`modelward.core.tables`) on a data file."""
    return open_table(path, label=label)


def read_table(
    path: str | os.PathLike[str], *, limit: int | None = None, label: str | None = None
) -> pd.DataFrame:
    """Read a CSV or Parquet file through the strict reader into a DataFrame.

    Parameters
    ----------
    path
        The file; its format is recognised by its bytes, and a name that
        contradicts them is refused.
    limit
        Read only the first ``limit`` rows (for previews).
    label
        How messages name the file (default: its name); training reads a
        snapshot of the user's file, and names the user's file.

    Raises
    ------
    InvalidInput
        One sentence from the strict reader: empty, unreadable, ambiguous,
        over a limit, a bad header, ragged rows, text in a column of numbers.
    """

    p = Path(path)
    return _read(_open(p, label), p, limit)


def _read(table: Table, p: Path, limit: int | None) -> pd.DataFrame:
    sql = f"SELECT * FROM {table.source}" + (f" LIMIT {int(limit)}" if limit is not None else "")
    with duck() as con:
        try:
            df = con.execute(sql).df()
        except DuckError as e:
            raise explain(e, table.label, path=table.path) from None
    if df.shape[1] == 0:
        raise InvalidInput(f"{table.label} has no columns")
    if len(df) == 0:
        raise InvalidInput(f"{table.label} has no rows")
    _refuse_infinite(df, table.label)
    return df


def _refuse_infinite(df: pd.DataFrame, label: str) -> None:
    """A model can neither be fitted nor scored on ±inf: name the column and the rows.

    A column of numbers kept as text counts too: DuckDB's CSV sniffer types a
    column holding the word ``inf`` as text, which training and validation
    then read as numbers, ``inf`` among them (an ``Input X contains infinity``
    from scikit-learn, after the run had started).
    """
    import numpy as np  # deferred: start-up cost
    import pandas as pd  # deferred: start-up cost

    for col in df.columns:
        s = df[col]
        if s.dtype.kind == "f":
            values = s.to_numpy()
        elif s.dtype.kind in "OSU" or pd.api.types.is_string_dtype(s):
            if not _is_numeric_text(s):
                continue
            text = s.astype("string").str.strip()
            values = pd.to_numeric(
                text.where(~text.str.lower().isin(MISSING_TOKENS)), errors="coerce"
            ).to_numpy(dtype="float64", na_value=np.nan)
        else:
            continue
        bad = np.isinf(values)
        if bad.any():
            rows = ", ".join(str(int(i) + 1) for i in bad.nonzero()[0][:5])
            raise InvalidInput(
                f"{label}: column {str(col)!r} holds {int(bad.sum())} infinite value(s) "
                f"(rows {rows}); a model can use only finite numbers"
            )


def preview(path: str | os.PathLike[str], rows: int = 100) -> pd.DataFrame:
    """The first ``rows`` rows of a table, for the training dialog's data preview.

    A CSV column of truth words (``yes``/``no``), which DuckDB types BOOLEAN,
    keeps its type (the kind the dialog proposes for it), and its words are in
    ``frame.attrs["words"]`` (column -> the texts, row by row) to be shown as
    the file says them, as a model trained on it would predict them.
    """
    p = Path(path)
    table = _open(p)
    df = _read(table, p, rows)
    words = [c for c, t in table.types.items() if table.format == CSV and t == "BOOLEAN"]
    if words:
        cols = ", ".join(quote(c) for c in words)
        sql = f"SELECT {cols} FROM {table.source_keeping_words(words)} LIMIT {int(rows)}"
        with duck() as con:
            try:
                got = con.execute(sql).fetchall()
            except DuckError as e:
                raise explain(e, table.label, path=table.path) from None
        df.attrs["words"] = {c: [r[i] for r in got] for i, c in enumerate(words)}
    return df


def write_parquet(
    src: str | os.PathLike[str], dest: str | os.PathLike[str], *, words: Sequence[str] = ()
) -> int:
    """Copy a CSV or Parquet table to a Parquet file with DuckDB; return the row count.

    Row order is kept, so a model trained on the copy sees exactly the same rows.
    The columns ``words`` (a training target) keep a CSV's truth words as text
    (:meth:`~modelward.core.tables.Table.source_keeping_words`).
    """

    p = Path(src)
    table = _open(p)
    with duck() as con:
        try:
            con.execute(
                f"COPY (SELECT * FROM {table.source_keeping_words(words)}) TO '{_sql_path(dest)}' "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
            rows = con.execute(f"SELECT count(*) FROM read_parquet('{_sql_path(dest)}')").fetchall()
        except DuckError as e:
            raise explain(e, table.label, path=table.path) from None
    # ±inf is refused here, naming the user's file rather than the copy read later.
    for col, flag in scan_table(open_table(dest, label=table.label)).flags.items():
        if flag.get("infinite"):
            raise InvalidInput(
                f"{table.label}: column {col!r} holds {flag['infinite']} infinite value(s); "
                "a model can use only finite numbers"
            )
    return int(rows[0][0])


def frame_to_parquet(df: pd.DataFrame, dest: str | os.PathLike[str]) -> None:
    """Write a DataFrame to Parquet with DuckDB (predictions, snapshots of frames)."""
    with duck() as con:
        con.register("_mw_frame", df)
        con.execute(
            f"COPY (SELECT * FROM _mw_frame) TO '{_sql_path(dest)}' (FORMAT parquet, COMPRESSION zstd)"
        )
        con.unregister("_mw_frame")


def _sql_path(path: str | os.PathLike[str]) -> str:
    return str(path).replace("'", "''")


def fingerprint_frame(df: pd.DataFrame) -> str:
    """A SHA-256 of a table's column names, types and values (row order included)."""
    import pandas as pd  # deferred: start-up cost

    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    h.update(str(len(df)).encode())
    for col in df.columns:
        h.update(pd.util.hash_pandas_object(df[col], index=False).to_numpy().tobytes())
    return h.hexdigest()


def _row(index: int) -> int:
    return int(index) + 1


def _text_in_numbers(series: pd.Series) -> tuple[int, str] | None:
    """For a text column that mostly holds numbers: the first row with other text."""
    import pandas as pd  # deferred: start-up cost

    head = series.dropna().head(1000)
    if (
        head.empty
        or pd.to_numeric(head.astype(str).str.strip(), errors="coerce").notna().mean() < 0.5
    ):
        return None  # a column of words: no need to look at every row
    text = series.dropna().astype(str).str.strip()
    missing = text.str.lower().isin(MISSING_TOKENS)
    values = text[~missing]
    if values.empty:
        return None
    numbers = pd.to_numeric(values, errors="coerce")
    ok = numbers.notna()
    if ok.mean() < 0.5 or ok.all():
        return None
    bad = values[~ok]
    return int(bad.index[0]), str(bad.iloc[0])


def _is_numeric_text(series: pd.Series) -> bool:
    """A text column whose non-missing values are all numbers ("1.5", "NA", "3")."""
    import pandas as pd  # deferred: start-up cost

    head = series.dropna().head(1000).astype(str).str.strip()
    if (
        pd.to_numeric(head, errors="coerce").isna().sum()
        > head.str.lower().isin(MISSING_TOKENS).sum()
    ):
        return False  # text that is not a number or a missing marker, already in the first rows
    text = series.dropna().astype(str).str.strip()
    values = text[~text.str.lower().isin(MISSING_TOKENS)]
    return bool(len(values)) and bool(pd.to_numeric(values, errors="coerce").notna().all())


def column_kinds(
    df: pd.DataFrame, columns: Sequence[str], *, explicit: bool = False
) -> tuple[dict[str, str], dict[str, str]]:
    """Decide how each feature column is preprocessed.

    Returns ``(kinds, dropped)``: ``kinds`` maps a column to ``numeric`` or
    ``categorical``; ``dropped`` maps columns left out of an automatic feature
    list to the reason (timestamps, identifiers).

    Raises
    ------
    InvalidInput
        A column is entirely empty, or holds numbers with stray text in some row.
    """
    import pandas as pd  # deferred: start-up cost
    from pandas.api import types as pt  # deferred: start-up cost

    kinds: dict[str, str] = {}
    dropped: dict[str, str] = {}
    for col in columns:
        s = df[col]
        if s.isna().all():
            raise InvalidInput(
                f"column {col!r} has no values (all {len(s)} rows are empty); "
                "leave it out of the features"
            )
        if pt.is_bool_dtype(s) or pt.is_numeric_dtype(s):
            kinds[col] = NUMERIC
        elif pt.is_datetime64_any_dtype(s) or isinstance(s.dtype, pd.PeriodDtype):
            if explicit:
                raise InvalidInput(
                    f"column {col!r} holds timestamps, which cannot be a feature; "
                    "use it as the time column of a time-based split"
                )
            dropped[col] = "timestamp"
        else:
            bad = _text_in_numbers(s)
            if bad is not None:
                row, value = bad
                raise InvalidInput(
                    f"column {col!r} holds numbers, but row {_row(row)} has the text {value!r}"
                )
            if _is_numeric_text(s):
                kinds[col] = NUMERIC
                continue
            n_unique = int(s.nunique(dropna=True))
            if not explicit and n_unique > _MAX_AUTO_CATEGORIES and n_unique > 0.5 * len(s):
                dropped[col] = f"identifier or free text ({n_unique} distinct values)"
                continue
            kinds[col] = CATEGORICAL
    return kinds, dropped


def kind_of_dtype(dtype: str) -> str | None:
    """The kind of a feature fitted on a pandas column of ``dtype`` (a model's recorded
    signature): ``numeric`` (numbers, bools), ``categorical`` (text, categories), else
    ``None`` (timestamps and the rest, given to the model as the file has them).

    The rule scoring follows for a version that records dtypes but no kinds.
    """
    if dtype.startswith(("int", "uint", "float", "bool", "Int", "UInt", "Float", "boolean")):
        return NUMERIC
    if dtype in ("object", "string", "str", "category") or dtype.startswith("string"):
        return CATEGORICAL
    return None


def feature_frame(df: pd.DataFrame, kinds: Mapping[str, str | None]) -> pd.DataFrame:
    """The feature columns in training order, in the types the pipeline expects.

    Numbers become float64 (text like ``"NA"`` becomes NaN), categories become
    Python strings with NaN for missing (a category the file holds as numbers,
    ``0``, becomes ``"0"``, as scoring reads it), so the same input always gives
    the same matrix, at training and at validation time. A column of kind
    ``None`` (unknown) is passed as it is.
    """
    import numpy as np  # deferred: start-up cost
    import pandas as pd  # deferred: start-up cost

    out: dict[str, Any] = {}
    for col, kind in kinds.items():
        s = df[col]
        if kind is None:
            out[col] = s
        elif kind == NUMERIC:
            if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
                out[col] = s.astype("float64")
            else:
                out[col] = pd.to_numeric(s.astype("string").str.strip(), errors="coerce").astype(
                    "float64"
                )
        else:
            missing = s.isna().to_numpy()
            obj = s.astype(object) if pd.api.types.is_string_dtype(s) else s.astype(str)
            out[col] = obj.astype(object).where(~missing, np.nan)
    return pd.DataFrame(out, index=df.index)


def check_columns(
    df: pd.DataFrame,
    expected: Sequence[dict[str, Any]],
    *,
    allowed_extra: Sequence[str] = (),
    allow_extra: bool = False,
) -> None:
    """Check a table against a model's feature schema before scoring.

    Parameters
    ----------
    df
        The table to score.
    expected
        The model's features: ``[{"name": ..., "kind": "numeric"|"categorical"}, ...]``.
    allowed_extra
        Columns that may be present besides the features (target, time column).
    allow_extra
        Accept any other extra column (it is ignored).

    Raises
    ------
    InvalidInput
        Missing columns, unexpected columns, or a numeric feature holding text,
        each named.
    """
    from pandas.api import types as pt  # deferred: start-up cost

    names = [str(c["name"]) for c in expected]
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise InvalidInput(
            f"the data lacks the model's column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)}"
        )
    extra = [str(c) for c in df.columns if c not in names and c not in allowed_extra]
    if extra and not allow_extra:
        raise InvalidInput(
            f"the data has {'columns' if len(extra) > 1 else 'a column'} the model was not "
            f"trained on: {', '.join(repr(e) for e in extra)} (allow them with --allow-extra)"
        )
    for c in expected:
        name, kind = str(c["name"]), c.get("kind")
        s = df[name]
        if kind == NUMERIC and not (pt.is_numeric_dtype(s) or pt.is_bool_dtype(s)):
            if pt.is_datetime64_any_dtype(s):
                raise InvalidInput(f"column {name!r} should hold numbers but holds timestamps")
            bad = _text_in_numbers(s)
            if bad is not None or not _is_numeric_text(s) and s.notna().any():
                row, value = bad if bad is not None else _first_text(s)
                raise InvalidInput(
                    f"column {name!r} should hold numbers, but row {_row(row)} has the text "
                    f"{value!r}"
                )


def _first_text(s: pd.Series) -> tuple[int, str]:
    import pandas as pd  # deferred: start-up cost

    text = s.dropna().astype(str)
    bad = text[pd.to_numeric(text.str.strip(), errors="coerce").isna()]
    return int(bad.index[0]), str(bad.iloc[0])


def _cell(value: Any) -> str:
    """A cell as a message shows it: ``3.0``, ``'yes'`` (never ``np.float64(3.0)``)."""
    item = getattr(value, "item", None)
    return repr(item() if callable(item) else value)


def check_target(df: pd.DataFrame, target: str, task: str) -> None:
    """Check the target column exists, is complete, and fits the task.

    Raises
    ------
    InvalidInput
        No such column, empty rows, a single class, text for a regression, or
        continuous values for a classification; the message names the column
        and the first offending row.
    """
    from pandas.api import types as pt  # deferred: start-up cost

    if target not in df.columns:
        cols = ", ".join(repr(str(c)) for c in list(df.columns)[:20])
        raise InvalidInput(f"the data has no target column {target!r}; its columns are {cols}")
    y = df[target]
    empty = y.isna()
    if empty.any():
        raise InvalidInput(
            f"the target column {target!r} is empty in {int(empty.sum())} row(s), "
            f"first in row {_row(int(empty.to_numpy().nonzero()[0][0]))}"
        )
    if task == "classification":
        if pt.is_float_dtype(y) and not (y == y.round()).all():
            row = int((y != y.round()).to_numpy().nonzero()[0][0])
            raise InvalidInput(
                f"the target column {target!r} holds continuous values (row {_row(row)}: "
                f"{_cell(y.iloc[row])}); choose a regressor, or a target with classes"
            )
        n = int(y.nunique())
        if n < 2:
            raise InvalidInput(
                f"the target column {target!r} has a single class ({_cell(y.iloc[0])}); "
                "a classifier needs at least two"
            )
    elif not (pt.is_numeric_dtype(y) or pt.is_bool_dtype(y)):
        bad = _text_in_numbers(y)
        row, value = bad if bad is not None else (0, str(y.iloc[0]))
        raise InvalidInput(
            f"the target column {target!r} holds text (row {_row(row)}: {value!r}); "
            "a regressor needs numbers — choose a classifier"
        )
