"""The one strict reader of data files: CSV or Parquet, checked before it is used.

Every data path (the inbox, ``train``, ``validate``, ``compare``, ``drift``,
``monitor``, ``score``, the API and the dialogs) opens a file with :func:`open_table`,
which refuses, with one sentence naming the file, what it cannot read without
guessing:

- a size, a column count or a line length above the limits in the settings
  (``data_max_file_bytes``, ``data_max_columns``, ``data_max_field_bytes``),
  checked from the file's size, its header or its metadata before anything
  big is loaded;
- bytes that contradict the name (CSV text named ``.parquet``, gzip named
  ``.csv``), a truncated Parquet file;
- text that is not UTF-8 (a UTF-8 byte-order mark is fine), NUL bytes;
- a delimiter (``,`` ``;`` tab ``|``) or a decimal separator that is ambiguous;
- a header with an empty, duplicated or look-alike name (spaces at the ends,
  invisible characters): names are used exactly as written, never trimmed;
- no rows, rows whose field count differs from the header's, nested
  (list/struct/map) columns, and a column of numbers holding text (``N/A``,
  ``abc``, ``1,234``; with up to five example cells and their row numbers),
  except where the caller rejects those rows one by one (scoring).

:func:`check_signature` checks an open table against a model's columns, and
:func:`scan_table` counts what is readable but implausible (±inf, NaN) so that
a batch can be taken with flags. Rows count from 1, the header not included.
DuckDB does the reading; Python's ``csv`` module only splits the first lines
to decide the delimiter and read the header exactly.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import gzip
import io
import itertools
import numbers
import os
import re
import stat
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.core import duck
from modelward.core.duck import connect as duck_connect
from modelward.core.errors import InvalidInput
from modelward.core.settings import load_settings

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "MISSING_SQL",
    "MISSING_TOKENS",
    "NUMERIC_TYPES",
    "TRIM_SQL",
    "BadTable",
    "Limits",
    "Table",
    "TableScan",
    "check_signature",
    "explain",
    "id_like_columns",
    "id_like_frame",
    "id_like_name",
    "lookalike",
    "not_a_file",
    "open_table",
    "scan_table",
    "text_not_number_sql",
    "token_sql",
    "first_cells_sql",
    "text_number_sql",
    "unreadable",
]

CSV = "csv"
PARQUET = "parquet"

DELIMITERS = (",", ";", "\t", "|")
_DELIM_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
_PARQUET_NAMES = (".parquet", ".pq")
_TEXT_NAMES = (".csv", ".tsv", ".txt")
_HEAD_LINES = 200
_CHUNK = 4 << 20
_EXAMPLES = 5
# DuckDB type names (prefixes) of number columns; monitoring reads them too.
NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
)
# "1,5" or "1.234,5": a number written with a decimal comma.
_DECIMAL_COMMA = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
_DECIMAL_POINT = re.compile(r"^[+-]?\d*\.\d+([eE][+-]?\d+)?$")
# "1,234": a decimal comma or a thousands separator, nobody can tell.
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+$")


BadTable = InvalidInput
"""A data file refused by the strict reader (an :class:`InvalidInput`, so every face
reports it as bad input, exit code 2); the message is one sentence."""


@dataclass(frozen=True)
class Limits:
    """What a data file may hold at most (from the settings by default)."""

    max_columns: int = 2000
    max_field_bytes: int = 1 << 20
    max_file_bytes: int = 8 << 30

    @classmethod
    def from_settings(cls) -> Limits:
        """The limits in the user's settings (``MODELWARD_DATA_MAX_*`` override them)."""
        s = load_settings()
        return cls(
            max_columns=int(s.data_max_columns),
            max_field_bytes=int(s.data_max_field_bytes),
            max_file_bytes=int(s.data_max_file_bytes),
        )


@dataclass(frozen=True)
class Table:
    """A data file that passed the strict reader's checks.

    ``source`` is the DuckDB table expression that reads it with the options
    found (``read_csv(...)`` or ``read_parquet(...)``), ``types`` maps every
    column, in file order and with its exact name, to its DuckDB type.
    """

    path: Path
    label: str
    format: str
    types: dict[str, str]
    source: str
    delimiter: str | None = None
    decimal: str | None = None
    rows: int | None = None
    text_source: str | None = None  # a CSV read with every cell as text, the same options

    @property
    def columns(self) -> list[str]:
        return list(self.types)

    def numeric(self, column: str) -> bool:
        """Whether DuckDB reads ``column`` as numbers."""
        return self.types[column].upper().startswith(NUMERIC_TYPES)

    def source_keeping_words(self, columns: Iterable[str]) -> str:
        """``source``, with those of ``columns`` that a CSV's sniffer typed BOOLEAN read as text.

        DuckDB reads a CSV column of truth words (``yes``/``no``, ``t``/``f``)
        as BOOLEAN; a target read so would make the model's classes
        ``False``/``True`` and its predictions ``true``/``false``, where the
        file, and the system that consumes the decisions, say ``yes``/``no``.
        """
        text = [c for c in columns if self.format == CSV and self.types.get(c) == "BOOLEAN"]
        if not text:
            return self.source
        if not self.source.endswith(")"):  # built here as read_csv(...)
            raise AssertionError(self.source)
        types = ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in text)
        return f"{self.source[:-1]}, types={{{types}}})"


@dataclass
class TableScan:
    """What one pass over a table found: its rows, and flags on readable but odd values."""

    rows: int
    flags: dict[str, dict[str, Any]] = field(default_factory=dict)

    def notes(self) -> list[str]:
        """One line per flag, for the CLI and the batch's result."""
        return [f"{col}: {f['what']}" for col, f in self.flags.items()]


def _mib(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    return f"{n} bytes"


def _lit(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


_BOOL_WORDS = {
    **dict.fromkeys(("true", "t", "yes", "y", "1", "1.0"), True),
    **dict.fromkeys(("false", "f", "no", "n", "0", "0.0"), False),
}


def bool_word(value: object) -> bool | None:
    """The truth value of a truth word in ``value`` (``yes``, ``F``, ``1`` …), else ``None``.

    DuckDB's ``CAST(… AS BOOLEAN)`` words, in any case and with outer spaces
    trimmed (DuckDB's cast trims none; callers' SQL trims first), plus ``1.0``
    and ``0.0`` (a float column's text of 1 and 0).

    DuckDB's CSV reader types a column of such words as BOOLEAN, so a model
    trained on one has the classes ``False``/``True`` while its labels may come
    back as the file's words.
    """
    return _BOOL_WORDS.get(str(value).strip().lower())


def truth_classes(classes: Iterable[Any]) -> dict[bool, Any] | None:
    """Truth value -> class, for two classes that are the two truth values; else ``None``.

    ``False``/``True``, or words such as ``no``/``yes``: a model trained on
    a CSV's yes/no column before its words were kept has the first, one
    trained on a Parquet file or a DataFrame the second, and labels of either
    may come from either source. Numeric classes (``0``/``1``) are numbers,
    not truth values.
    """
    vals = list(classes)
    if len(vals) != 2:
        return None
    if any(isinstance(c, numbers.Number) and not isinstance(c, bool) for c in vals):
        return None  # (NumPy's numbers are numbers.Number; its bool_ is not)
    truth = [bool_word(c) for c in vals]
    if truth[0] is None or truth[1] is None or truth[0] == truth[1]:
        return None
    return {truth[0]: vals[0], truth[1]: vals[1]}


def _shown(name: str) -> str:
    """A column name as Python would write it, invisible characters escaped."""
    out = []
    for ch in name:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Zl", "Zp") or (cat == "Zs" and ch != " "):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "'" + "".join(out).replace("'", "\\'") + "'"


def _fold(name: str) -> str:
    """A name without accents, invisible characters, outer spaces or case (for hints only)."""
    decomposed = unicodedata.normalize("NFKD", name)
    kept = "".join(
        ch
        for ch in decomposed
        if not unicodedata.combining(ch) and unicodedata.category(ch) not in ("Cc", "Cf")
    )
    return kept.strip().casefold()


def lookalike(name: str, expected: Sequence[str]) -> str | None:
    """The expected name that ``name`` resembles without being it, if any."""
    if name in expected:
        return None
    folded = _fold(name)
    for e in expected:
        if _fold(e) == folded:
            return e
    return None


def _odd_name(name: str) -> str | None:
    """Why a header name cannot be used as written, or ``None``."""
    if name == "":
        return "is empty"
    if name != name.strip():
        return "has spaces at its ends"
    for ch in name:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Zl", "Zp") or (cat == "Zs" and ch != " "):
            return f"holds the invisible character U+{ord(ch):04X}"
    return None


def _ascii_lower(name: str) -> str:
    """A name as DuckDB compares names: ASCII letters without case (``é`` and ``É`` differ)."""
    return "".join(ch.lower() if ch.isascii() else ch for ch in name)


def _check_header(label: str, names: Sequence[str], expected: Sequence[str] | None) -> None:
    seen: dict[str, int] = {}
    folded: dict[str, str] = {}
    for i, name in enumerate(names, start=1):
        if name in seen:
            raise BadTable(
                f"{label}: the column name {_shown(name)} appears twice "
                f"(columns {seen[name]} and {i}); names must be unique"
            )
        seen[name] = i
        # DuckDB reads names without regard to case: a CSV's 'age' and 'AGE' stopped
        # it with a Binder Error, a Parquet file's came back as 'AGE_1'.
        other = folded.setdefault(_ascii_lower(name), name)
        if other != name:
            raise BadTable(
                f"{label}: columns {_shown(other)} and {_shown(name)} differ only by case; "
                "rename one"
            )
        why = _odd_name(name)
        if why is not None:
            hint = lookalike(name, expected or ())
            if hint is None and name.strip():
                hint = lookalike(name, [n.strip() for n in names if n != name])
            also = f" (the model expects {_shown(hint)})" if hint else ""
            what = (
                f"column {i} has no name"
                if why == "is empty"
                else f"the column name {_shown(name)} {why}"
            )
            raise BadTable(f"{label}: {what}{also}; names are used exactly as written")


def _refuse_magic(label: str, head: bytes, name: str) -> None:
    kinds = {
        b"PK\x03\x04": "a ZIP archive (an Excel workbook?)",
        b"\xd0\xcf\x11\xe0": "an old Excel or Office file",
        b"BZh": "bzip2 data",
        b"\xfd7zXZ": "xz data",
        b"\x28\xb5\x2f\xfd": "zstd data",
        b"%PDF": "a PDF",
    }
    for magic, what in kinds.items():
        if head.startswith(magic):
            raise BadTable(f"{label} holds {what}, not a CSV or Parquet table")


def not_a_file(mode: int) -> str | None:
    """What a path of this ``st_mode`` is when it is not a regular file: ``"a folder"``,
    ``"a device, a pipe or a socket"`` (a pipe would block every read, a digest's too;
    a device never ends), else ``None``."""
    if stat.S_ISREG(mode):
        return None
    return "a folder" if stat.S_ISDIR(mode) else "a device, a pipe or a socket"


def unreadable(shown: str, e: OSError) -> BadTable:
    """The refusal of a path the system cannot open or look at, in one sentence.

    Every door says it alike (the strict reader, and ``resolve_source`` before
    it): a symbolic link loop used to escape as an unexpected ``OSError``.
    """
    why = e.strerror or str(e)
    if e.errno == errno.ELOOP:
        why += " (a symbolic link that leads back to itself); point the link at the data file"
    return BadTable(f"cannot read {shown}: {why}")


def open_table(
    path: str | os.PathLike[str],
    *,
    label: str | None = None,
    expected: Sequence[str] | None = None,
    limits: Limits | None = None,
    text_in_numbers: bool = True,
) -> Table:
    """Open a CSV or Parquet file strictly: refuse what would have to be guessed.

    Parameters
    ----------
    path
        The file. Its bytes decide the format; a name that says otherwise
        (``.parquet`` holding text, ``.csv`` holding gzip or Parquet) is refused.
        ``.csv.gz``/``.tsv.gz`` names may hold gzip.
    label
        How the file is named in messages (default: its name).
    expected
        Column names a model expects, to name the one a look-alike resembles.
    limits
        Default: :meth:`Limits.from_settings`.
    text_in_numbers
        Refuse a column of numbers holding some text (default). ``False``: the
        caller takes such a file and handles each bad cell's row itself
        (scoring rejects those rows, with their reasons), reading a CSV through
        :attr:`Table.text_source`. Every other check still applies.

    Returns
    -------
    Table

    Raises
    ------
    BadTable
        With one sentence saying why.
    """
    p = Path(path)
    shown = label or p.name
    lim = limits or Limits.from_settings()
    try:
        st = p.stat()
        if (what := not_a_file(st.st_mode)) is not None:
            raise BadTable(f"{shown} is {what}, not a CSV or Parquet file")
        size = st.st_size
        with open(p, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise unreadable(shown, e) from None
    if size == 0:
        raise BadTable(f"{shown} is empty (0 bytes)")
    if size > lim.max_file_bytes:
        raise BadTable(
            f"{shown} is {size} bytes, more than the limit of {_mib(lim.max_file_bytes)} "
            "(data_max_file_bytes)"
        )
    lower = p.name.lower()
    if head.startswith(b"PAR1"):
        if lower.endswith(_TEXT_NAMES) or lower.endswith(".gz"):
            raise BadTable(f"{shown} is named like a CSV file but holds Parquet bytes")
        table = _open_parquet(p, shown, expected, lim)
    elif lower.endswith(_PARQUET_NAMES):
        what = "gzip bytes" if head.startswith(b"\x1f\x8b") else "no Parquet data (text?)"
        raise BadTable(f"{shown} is named .parquet but holds {what}")
    elif head.startswith(b"\x1f\x8b"):
        if not lower.endswith(".gz"):
            raise BadTable(
                f"{shown} holds gzip-compressed bytes but is not named .gz; "
                "name it .csv.gz or decompress it"
            )
        table = _open_csv(p, shown, expected, lim, gz=True)
    else:
        _refuse_magic(shown, head, lower)
        table = _open_csv(p, shown, expected, lim, gz=False)
    if text_in_numbers:
        _check_text_in_numbers(table)
    return table


# --- Parquet ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _ParquetMeta:
    """What the strict reader needs of a Parquet footer (read by DuckDB, not pyarrow)."""

    num_rows: int
    leaves: int  # physical (leaf) columns, what the column limit counts
    names: list[str]  # top-level columns, in file order
    nested: list[str]  # top-level columns that are groups (list, struct, map)
    text: list[str]  # top-level columns of variable-length bytes (text or binary)
    utf8: set[str]  # of those, the ones holding text (their statistics are comparable)
    unpacked: int  # uncompressed bytes of every row group


def _parquet_meta(p: Path, shown: str) -> _ParquetMeta:
    """The footer's counts and schema; :class:`BadTable` when it cannot be read."""
    con = _connection()
    try:
        try:
            rows = con.execute(f"SELECT num_rows FROM parquet_file_metadata({_lit(p)})").fetchall()
        except duck.Error:
            raise BadTable(
                f"{shown} is not a complete Parquet file (its footer is damaged)"
            ) from None
        try:
            schema = con.execute(
                "SELECT name, type, num_children, converted_type, logical_type "
                f"FROM parquet_schema({_lit(p)})"
            ).fetchall()
            unpacked = con.execute(
                "SELECT coalesce(sum(b), 0) FROM (SELECT any_value(row_group_bytes) AS b "
                f"FROM parquet_metadata({_lit(p)}) GROUP BY row_group_id)"
            ).fetchall()[0][0]
        except duck.Error:
            raise BadTable(f"{shown} has a Parquet schema that cannot be read") from None
    finally:
        con.close()
    # the schema is a tree flattened depth first: the root, then each column
    # followed by its children (``num_children`` of them)
    names: list[str] = []
    nested: list[str] = []
    text: list[str] = []
    utf8: set[str] = set()
    leaves = 0
    i = 1
    while i < len(schema):
        name, ptype, children, converted, logical = schema[i]
        names.append(str(name))
        if children:
            nested.append(str(name))
            todo = int(children)
            i += 1
            while todo:  # skip the whole subtree
                todo += int(schema[i][2] or 0) - 1
                leaves += 0 if schema[i][2] else 1
                i += 1
            continue
        leaves += 1
        if ptype == "BYTE_ARRAY" and converted != "DECIMAL":
            text.append(str(name))
            if converted in ("UTF8", "ENUM", "JSON") or "String" in str(logical or ""):
                utf8.add(str(name))
        i += 1
    return _ParquetMeta(int(rows[0][0]), leaves, names, nested, text, utf8, int(unpacked))


def _open_parquet(p: Path, shown: str, expected: Sequence[str] | None, lim: Limits) -> Table:
    with open(p, "rb") as f:
        f.seek(-4, os.SEEK_END)
        tail = f.read(4)
    if tail != b"PAR1":
        raise BadTable(f"{shown} is not a complete Parquet file (truncated or damaged)")
    meta = _parquet_meta(p, shown)
    if meta.leaves > lim.max_columns:
        raise BadTable(
            f"{shown} has {meta.leaves} columns, more than the limit of {lim.max_columns} "
            "(data_max_columns)"
        )
    names = meta.names
    if not names:
        raise BadTable(f"{shown} has no columns")
    _check_header(shown, names, expected)
    nested = meta.nested
    if nested:
        raise BadTable(
            f"{shown}: nested (list, struct or map) column{'s' if len(nested) > 1 else ''} "
            f"{', '.join(_shown(n) for n in nested[:10])} cannot be used; flatten them first"
        )
    if meta.num_rows == 0:
        raise BadTable(f"{shown} has no rows (a Parquet file with 0 rows)")
    if meta.unpacked > lim.max_file_bytes:
        raise BadTable(
            f"{shown} decompresses to {meta.unpacked} bytes, more than the limit of "
            f"{_mib(lim.max_file_bytes)} (data_max_file_bytes)"
        )
    source = f"read_parquet({_lit(p)})"
    types = _describe(source, shown)
    if list(types) != names:
        raise BadTable(f"{shown}: its column names could not be read exactly")
    table = Table(p, shown, PARQUET, types, source, rows=meta.num_rows)
    _check_parquet_fields(table, meta, lim)
    return table


def _check_parquet_fields(table: Table, meta: _ParquetMeta, lim: Limits) -> None:
    """Refuse a text or binary value longer than ``data_max_field_bytes``.

    The metadata decides first: a column whose every chunk is smaller than
    the limit (uncompressed) cannot hold a longer value, and statistics that
    show a longer minimum or maximum refuse at once; only the columns left
    are measured by reading them.
    """
    limit = lim.max_field_bytes
    if not meta.text:
        return
    con = _connection()
    try:
        got = con.execute(
            "SELECT path_in_schema, max(total_uncompressed_size), "
            "max(octet_length(encode(stats_min_value))), "
            "max(octet_length(encode(stats_max_value))) "
            f"FROM parquet_metadata({_lit(table.path)}) GROUP BY path_in_schema"
        ).fetchall()
    except duck.Error as e:
        raise explain(e, table.label, path=table.path) from None
    finally:
        con.close()
    chunks = {str(r[0]): r[1:] for r in got}
    unsure: list[str] = []
    for name in meta.text:
        size, lo, hi = chunks.get(name, (None, None, None))
        if name in meta.utf8:
            longest = max(int(lo or 0), int(hi or 0))
            if longest > limit:
                _field_too_long(table, name, longest, limit)
        if size is not None and int(size) > limit:
            unsure.append(name)
    if not unsure:
        return
    con = _connection()
    try:
        parts = ", ".join(f"max(octet_length(CAST({quote(c)} AS BLOB)))" for c in unsure)
        measured = con.execute(f"SELECT {parts} FROM {table.source}").fetchall()[0]
    except duck.Error as e:
        raise explain(e, table.label, path=table.path) from None
    finally:
        con.close()
    for c, n in zip(unsure, measured, strict=True):
        if n is not None and int(n) > limit:
            _field_too_long(table, c, int(n), limit)


def _field_too_long(table: Table, column: str, size: int, limit: int) -> None:
    raise BadTable(
        f"{table.label}: column {_shown(column)} holds a value of {size} bytes, more than "
        f"the limit of {_mib(limit)} (data_max_field_bytes)"
    )


# --- CSV -------------------------------------------------------------------------------


@contextlib.contextmanager
def _raw(p: Path, gz: bool) -> Iterator[io.BufferedIOBase | gzip.GzipFile]:
    f: Any = gzip.open(p, "rb") if gz else open(p, "rb")
    try:
        yield f
    finally:
        f.close()


def _scan_bytes(p: Path, shown: str, gz: bool, lim: Limits) -> None:
    """Refuse NUL bytes and text that is not UTF-8, reading the whole file in chunks."""
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    total = 0
    try:
        with _raw(p, gz) as f:
            while True:
                chunk = f.read(_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if gz and total > lim.max_file_bytes:
                    raise BadTable(
                        f"{shown} decompresses to more than the limit of "
                        f"{_mib(lim.max_file_bytes)} (data_max_file_bytes)"
                    )
                nul = chunk.find(b"\x00")
                if nul >= 0:
                    raise BadTable(
                        f"{shown} holds a NUL byte (at byte {offset + nul}); "
                        "it is binary or damaged, not CSV text"
                    )
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError as e:
                    raise BadTable(
                        f"{shown} is not UTF-8 text (byte 0x{chunk[e.start]:02x} at offset "
                        f"{offset + e.start}); save it as UTF-8"
                    ) from None
                offset += len(chunk)
            try:
                dec.decode(b"", final=True)
            except UnicodeDecodeError:
                raise BadTable(f"{shown} is not UTF-8 text (it ends inside a character)") from None
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise BadTable(f"{shown} cannot be decompressed: {e}") from None


def _head(p: Path, shown: str, gz: bool, lim: Limits) -> tuple[str, bool]:
    """The first lines of the file as text, and whether they are the whole file."""
    cap = max(lim.max_field_bytes, 1 << 16) + 1
    try:
        with _raw(p, gz) as f:
            data = f.read(cap)
            whole = len(data) < cap
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise BadTable(f"{shown} cannot be decompressed: {e}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadTable(f"{shown} is UTF-16 text; save it as UTF-8")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    first_end = data.find(b"\n")
    if first_end < 0 and not whole:
        raise BadTable(
            f"{shown}: its first line is longer than the limit of {_mib(lim.max_field_bytes)} "
            "(data_max_field_bytes)"
        )
    if b"\x00" in data:
        raise BadTable(f"{shown} holds a NUL byte; it is binary or damaged, not CSV text")
    if not whole:
        data = data[: data.rfind(b"\n") + 1]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadTable(
            f"{shown} is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
            "save it as UTF-8"
        ) from None
    return text, whole


def _split(text: str, delim: str) -> list[list[str]]:
    # Only the first lines decide: a 10,000-row batch was split whole, once per candidate.
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delim, quotechar='"')
    return list(itertools.islice((r for r in rows if r != []), _HEAD_LINES))


def _pick_delimiter(shown: str, text: str) -> tuple[str, list[list[str]]]:
    first = text.split("\n", 1)[0]
    splits = {d: _split(text, d) for d in DELIMITERS if d in first}
    consistent = {d: rows for d, rows in splits.items() if len({len(r) for r in rows}) == 1}
    if len(consistent) > 1:
        # A name may contain another delimiter: keep the ones that split the most.
        widest = max(len(rows[0]) for rows in consistent.values())
        consistent = {d: r for d, r in consistent.items() if len(r[0]) == widest}
    if len(consistent) > 1:
        named = " and ".join(_DELIM_NAMES[d] for d in consistent)
        raise BadTable(
            f"{shown}: the delimiter is ambiguous ({named} both split every line the same way)"
        )
    if consistent:
        d = next(iter(consistent))
        return d, consistent[d]
    if splits:
        # Every candidate gives rows of different widths: name the first ragged row
        # under the delimiter that splits the header the most.
        d = max(splits, key=lambda k: len(splits[k][0]))
        rows = splits[d]
        width = len(rows[0])
        bad = next(i for i, r in enumerate(rows) if len(r) != width)
        raise BadTable(
            f"{shown}: row {bad} has {len(rows[bad])} field(s) but the header has {width} "
            f"(delimiter {_DELIM_NAMES[d]}); every row needs one field per column"
        )
    return ",", _split(text, ",")  # a single column


def _pick_decimal(shown: str, delim: str, rows: list[list[str]]) -> str:
    if delim == ",":
        return "."
    comma = point = thousands = 0
    example = ""
    for r in rows[1:]:
        for cell in r:
            c = cell.strip()
            if _THOUSANDS.match(c) and "." not in c:
                thousands += 1
                example = example or c
            elif _DECIMAL_COMMA.match(c):
                comma += 1
            elif _DECIMAL_POINT.match(c):
                point += 1
    if comma and point:
        raise BadTable(
            f"{shown}: the decimal separator is ambiguous (some numbers use ',' and others '.')"
        )
    if comma:
        return ","
    if thousands and not point:
        raise BadTable(
            f"{shown}: the decimal separator is ambiguous ({example!r} could be a decimal "
            "comma or a thousands separator)"
        )
    return "."


def _open_csv(
    p: Path, shown: str, expected: Sequence[str] | None, lim: Limits, *, gz: bool
) -> Table:
    text, whole = _head(p, shown, gz, lim)
    first = text.split("\n", 1)[0]
    # The column count is known from the header alone, before anything is parsed.
    widest = max((first.count(d) for d in DELIMITERS), default=0) + 1
    if widest > lim.max_columns:
        raise BadTable(
            f"{shown} has about {widest} columns in its header, more than the limit of "
            f"{lim.max_columns} (data_max_columns)"
        )
    if not text.strip():
        raise BadTable(f"{shown} holds no text (only empty lines)")
    delim, rows = _pick_delimiter(shown, text)
    names = rows[0]
    if len(names) > lim.max_columns:
        raise BadTable(
            f"{shown} has {len(names)} columns, more than the limit of {lim.max_columns} "
            "(data_max_columns)"
        )
    _check_header(shown, names, expected)
    if len(rows) < 2 and whole:
        raise BadTable(f"{shown} has a header but no rows")
    decimal = _pick_decimal(shown, delim, rows)
    _scan_bytes(p, shown, gz, lim)
    names_sql = "[" + ", ".join("'" + n.replace("'", "''") + "'" for n in names) + "]"
    delim_sql = "\\t" if delim == "\t" else delim

    def read(typed: str, *, named: bool = True) -> str:
        return (
            f"read_csv({_lit(p)}, delim='{delim_sql}', header=true, quote='\"', escape='\"', "
            f"{typed}, {f'names={names_sql}, ' if named else ''}"
            "strict_mode=true, null_padding=false, "
            f"max_line_size={int(lim.max_field_bytes)}"
            + (", compression='gzip'" if gz else "")
            + ")"
        )

    source = read(f"decimal_separator='{decimal}', sample_size=20480")
    guessed = _plain_numbers(names, rows, text, decimal) if whole else None
    if guessed is not None:
        types = guessed
    else:
        # Every cell as text, the dialect found here, no sniffing: read only when
        # DuckDB's sniffer gives up, to find the row it gave up on.
        columns = "{" + ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names) + "}"
        unsniffed = read(f"auto_detect=false, columns={columns}", named=False)
        types = _describe(source, shown, diagnose=lambda e: _sniff_failure(e, unsniffed, p, shown))
    if list(types) != list(names):
        raise BadTable(f"{shown}: its column names could not be read exactly")
    # A whole file of plain numbers was split here already: its rows are counted (not
    # with a CR: DuckDB refuses mixed line ends, so its own scan must still decide).
    rows_seen = len(rows) - 1 if guessed is not None and "\r" not in text else None
    return Table(
        p,
        shown,
        CSV,
        types,
        source,
        delimiter=delim,
        decimal=decimal,
        rows=rows_seen,
        text_source=read("all_varchar=true"),
    )


_PLAIN_INT = re.compile(r"^-?(0|[1-9][0-9]{0,17})$")
_PLAIN_REAL = re.compile(r"^-?(0|[1-9][0-9]{0,17})\.[0-9]{1,17}$")


def _plain_numbers(
    names: list[str], rows: list[list[str]], text: str, decimal: str
) -> dict[str, str] | None:
    """The column types DuckDB's sniffer gives a small file of plain numbers, without asking it.

    Only for a whole file already split here (fewer than ``_HEAD_LINES``
    lines, no quotes, no blank lines) whose every column holds plain
    integers (``BIGINT``) or plain decimals with a point (``DOUBLE``) and
    some value: DuckDB reads those columns so (tested against it). Anything
    else returns ``None`` and DuckDB describes the file: opening it costs
    several milliseconds, most of a small batch's check.
    """
    if decimal != "." or len(rows) >= _HEAD_LINES or len(rows) < 2 or '"' in text:
        return None
    if "\n\n" in text.replace("\r\n", "\n").strip("\n"):
        return None
    width = len(names)
    kinds = ["BIGINT"] * width
    filled = [False] * width
    for r in rows[1:]:
        if len(r) != width:
            return None
        for i, cell in enumerate(r):
            if cell == "":
                continue
            filled[i] = True
            if _PLAIN_INT.match(cell):
                continue
            if _PLAIN_REAL.match(cell):
                kinds[i] = "DOUBLE"
                continue
            return None
    if not all(filled):
        return None
    return dict(zip(names, kinds, strict=True))


# --- Reading ---------------------------------------------------------------------------


_BASE = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    # A cursor of one in-memory database per thread: opening a database costs
    # ~40 ms, a cursor under 1 ms (a burst of small batches reads three each).
    # Callers close what they get; nothing they create outlives the cursor.
    base = getattr(_BASE, "con", None)
    if base is None:
        base = _BASE.con = duck_connect()
    return base.cursor()


def _describe(
    source: str, shown: str, *, diagnose: Callable[[duck.Error], BadTable] | None = None
) -> dict[str, str]:
    con = _connection()
    try:
        desc = con.execute(f"SELECT * FROM {source} LIMIT 0").description or []
        return {str(d[0]): str(d[1]) for d in desc}
    except duck.Error as e:
        raise (diagnose(e) if diagnose is not None else explain(e, shown)) from None
    finally:
        con.close()


_SNIFF_FAILED = "Error when sniffing file"


def _sniff_failure(e: duck.Error, unsniffed: str, p: Path, shown: str) -> BadTable:
    """Why DuckDB's sniffer gave up on a CSV file, in one sentence.

    The sniffer says only that no dialect fits, and lists every option that
    might help (the maximum line size among them, which read as "a line is
    longer than the limit" for a file of 13 KB). The same file read again with
    the dialect found here, every cell as text, stops at the first row that
    breaks it, with DuckDB's real reason: a row with a field missing, a quote
    never closed, a line end of another kind.
    """
    if _SNIFF_FAILED not in str(e):
        return explain(e, shown, path=p)
    con = _connection()
    try:
        con.execute(f"SELECT count(*) FROM {unsniffed}").fetchall()
    except duck.Error as strict:
        return explain(strict, shown, path=p)
    finally:
        con.close()
    return explain(e, shown, path=p)


_CONVERT = re.compile(r'Could not convert string "(?P<v>.*?)" to .*?', re.S)
_COLUMN = re.compile(
    r'[Cc]olumn(?: at position: \d+)? (?:Name: )?"?(?P<c>[^"\n]+?)"?(?:\n|\s*$|\.)'
)
_LINE = re.compile(r"(?:Line|line): (?P<n>\d+)")
# Only DuckDB's own finding: its "possible fixes" (a sniffer's failure lists them all)
# also say "Be sure that the maximum line size is set …".
_LINE_SIZE = re.compile(r"Maximum line size of \d+ bytes exceeded")
_ORIGINAL = re.compile(r"Original Line: (?P<l>[^\n]*)")


def explain(e: BaseException, shown: str, *, path: Path | None = None) -> BadTable:
    """One sentence for a DuckDB error met while reading ``shown``.

    ``path``, the file itself, lets the sentence say more than DuckDB's text
    does: which line ends are mixed, whether a short last row is a file cut
    short.
    """
    text = str(e)
    first = text.strip().splitlines()[0] if text.strip() else type(e).__name__
    line = _LINE.search(text)
    row = f"row {int(line.group('n')) - 1}" if line else "a row"
    if _LINE_SIZE.search(text):
        limit = _mib(Limits.from_settings().max_field_bytes)
        return BadTable(
            f"{shown}: a line is longer than the limit of {limit} (data_max_field_bytes)"
        )
    if "Expected Number of Columns" in text:
        m = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
        if m:
            original = _ORIGINAL.search(text)
            cut = (
                path is not None
                and original is not None
                and int(m.group(2)) < int(m.group(1))
                and _ends_without_newline(path, original.group("l"))
            )
            return BadTable(
                f"{shown}: {row} has {m.group(2)} field(s) but the header has {m.group(1)}"
                + (
                    ", and it is the last line, without a line end: the file looks cut "
                    "short; copy it again"
                    if cut
                    else "; every row needs one field per column"
                )
            )
    if "unterminated quote" in text:
        return BadTable(
            f"{shown}: a quote opened in {row} is never closed (a '\"' that starts a "
            "field needs one that ends it); close it or remove it"
        )
    if "state machine reached an invalid state" in text:
        mixed = _mixed_line_ends(path) if path is not None else None
        if mixed is not None:
            n, kind, other = mixed
            return BadTable(
                f"{shown} mixes line ends: line 1 ends with {kind} but line {n} with {other}; "
                "save it with one kind of line end"
            )
        return BadTable(
            f"{shown}: a row cannot be split into fields (a stray quote or carriage return?); "
            "save it again as plain CSV"
        )
    conv = _CONVERT.search(text)
    if conv:
        col = re.search(r'converting column "(?P<c>[^"]+)"', text) or re.search(
            r"Name: (?P<c>[^\n]+)", text
        )
        where = f"column {_shown(col.group('c').strip())}" if col else "a column"
        return BadTable(
            f"{shown}: {where} holds numbers, but {row} has the text {conv.group('v')!r}"
        )
    if "Invalid unicode" in text or "UTF" in first:
        return BadTable(f"{shown} is not UTF-8 text; save it as UTF-8")
    if _SNIFF_FAILED in text:
        return BadTable(
            f"{shown}: no CSV layout fits every row (DuckDB could not read it); check that "
            "every row has one field per column and every quote is closed"
        )
    return BadTable(f"cannot read {shown} as a table: {first}")


def _ends_without_newline(path: Path, last: str) -> bool:
    """Whether the file ends with ``last`` and no line end: a last row cut short."""
    if path.name.lower().endswith(".gz"):
        return False  # a compressed file's end is not its text's
    tail = last.encode("utf-8")
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - len(tail) - 1))
            end = f.read()
    except OSError:
        return False
    return bool(tail) and end.endswith(tail) and not end.endswith((b"\n", b"\r"))


_LINE_ENDS = {b"\r\n": "CRLF (\\r\\n)", b"\n": "LF (\\n)"}


def _mixed_line_ends(path: Path) -> tuple[int, str, str] | None:
    """The first line whose end differs from the first line's: (its number, first kind, its kind).

    Read only to explain a failure: DuckDB takes one kind of line end per file.
    """
    try:
        with _raw(path, path.name.lower().endswith(".gz")) as f:
            kind = None
            for n, line in enumerate(f, start=1):
                if not line.endswith(b"\n"):
                    break  # the last line, without an end
                here = b"\r\n" if line.endswith(b"\r\n") else b"\n"
                if kind is None:
                    kind = here
                elif here != kind:
                    return n, _LINE_ENDS[kind], _LINE_ENDS[here]
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    return None


# Text that means "no value" in a column of numbers, compared trimmed and in any case.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "?"})
# The blanks around a number that are no part of it (the spaces of " 49.1 ", a tab).
TRIM_SQL = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"
# The tokens as a SQL list, for ``lower(trim(cell, TRIM_SQL)) IN MISSING_SQL``.
MISSING_SQL = "(" + ", ".join(f"'{t}'" for t in sorted(MISSING_TOKENS)) + ")"


def text_number_sql(q: str) -> str:
    """SQL: a text cell as a number (``DOUBLE``), as training and scoring read one.

    Trimmed; a missing-value token is a missing value (``NULL``, ``nan`` too);
    ``inf`` is infinite; text that is no number is ``NULL`` as well (tell it
    with :func:`text_not_number_sql`). A plain number, nearly every cell,
    skips the trimming: DuckDB's cast ignores blanks around a number itself,
    and a trim with a set of characters costs ~0.4 us a cell.
    """
    trimmed = f"trim({q}, {TRIM_SQL})"
    cast = f"TRY_CAST({q} AS DOUBLE)"
    return (
        f"CASE WHEN {cast} IS NOT NULL AND NOT isnan({cast}) THEN {cast} "
        f"WHEN {token_sql(q)} THEN NULL "
        f"ELSE TRY_CAST({trimmed} AS DOUBLE) END"
    )


def text_not_number_sql(q: str) -> str:
    """SQL: whether a text cell is neither a number nor a missing-value token."""
    return f"({q} IS NOT NULL AND {text_number_sql(q)} IS NULL AND NOT {token_sql(q)})"


def token_sql(q: str, *, written: bool = False) -> str:
    """SQL: whether a text cell is a missing-value token (:data:`MISSING_TOKENS`), trimmed;
    ``written``: one that is written (``NA``, ``-``), not an empty or blank cell."""
    trimmed = f"trim({q}, {TRIM_SQL})"
    token = f"lower({trimmed}) IN {MISSING_SQL}"
    return f"({token} AND {trimmed} <> '')" if written else token


def first_cells_sql(source: str, column: str, where: str, limit: int = 1) -> str:
    """SQL: ``(row, cell)`` of the first ``limit`` rows whose cell ``v`` of ``column`` meets
    ``where`` (a condition on ``v``); rows counted from 1 in the file's order."""
    return (
        f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, {quote(column)} AS v "
        f"FROM {source}) WHERE {where} ORDER BY rn LIMIT {int(limit)}"
    )


# A number written with a comma: a decimal comma ("0,4565", "1.234,5") or a thousands
# separator ("56,748.77", "1,234"). Where the decimal separator is a point (every ','
# file, a Parquet file's text) it is no number to DuckDB, and nobody can tell which.
_COMMA_NUMBER = r"[+-]?((\d{1,3}(\.\d{3})+|\d+),\d+|\d{1,3}(,\d{3})+(\.\d+)?)"


def _comma_number_sql(q: str) -> str:
    # contains() first: the regular expression runs only on cells with a comma
    return f"(contains({q}, ',') AND regexp_full_match(trim({q}), '{_COMMA_NUMBER}'))"


def _check_text_in_numbers(table: Table) -> None:
    """Refuse a text column whose values are mostly numbers: the rest is stray text.

    Numbers written with a comma count as such numbers (where the decimal
    separator is a point): a column of ``"0,4565"`` or ``"56,748.77"``, quoted
    in a ``,`` file, was read as text and trained on as 600 categories.
    """
    text_cols = [c for c, t in table.types.items() if t.upper() == "VARCHAR"]
    if not text_cols:
        return
    commas_too = table.decimal != ","
    width = 3 if commas_too else 2
    parts = []
    for c in text_cols:
        q = quote(c)
        parts.append(f"count({q})")
        parts.append(f"count(TRY_CAST({q} AS DOUBLE))")
        if commas_too:
            parts.append(f"count_if({_comma_number_sql(q)})")
    con = _connection()
    try:
        counts = con.execute(f"SELECT {', '.join(parts)} FROM {table.source}").fetchall()[0]
        for i, c in enumerate(text_cols):
            present, numbers = int(counts[width * i]), int(counts[width * i + 1])
            commas = int(counts[width * i + 2] or 0) if commas_too else 0  # NULL: no cell
            if commas and (numbers + commas) * 2 >= present:
                found = con.execute(
                    first_cells_sql(table.source, c, _comma_number_sql("v"), _EXAMPLES)
                ).fetchall()
                shown = ", ".join(f"row {int(r)}: {str(v)!r}" for r, v in found)
                raise BadTable(
                    f"{table.label}: column {_shown(c)} holds {commas} number(s) written with a "
                    f"comma ({shown}), which could be decimal commas or thousands separators; "
                    "write them with a '.' decimal point and no thousands separator"
                )
            if numbers == 0 or numbers == present or numbers * 2 < present:
                continue
            bad = con.execute(
                first_cells_sql(
                    table.source, c, "v IS NOT NULL AND TRY_CAST(v AS DOUBLE) IS NULL", _EXAMPLES
                )
            ).fetchall()
            n_bad = present - numbers
            shown = ", ".join(f"row {int(r)}: {str(v)!r}" for r, v in bad)
            raise BadTable(
                f"{table.label}: column {_shown(c)} holds numbers, but {n_bad} cell(s) hold text "
                f"({shown})"
            )
    except duck.Error as e:
        raise explain(e, table.label, path=table.path) from None
    finally:
        con.close()


def check_signature(
    table: Table,
    expected: Sequence[str] | Mapping[str, str | None],
    *,
    allow_extra: bool = False,
    allowed_extra: Sequence[str] = (),
    against: str = "the model",
) -> list[str]:
    """Check a table's columns against a model's: missing, extra, wrong type.

    Parameters
    ----------
    table
        An open table.
    expected
        The model's feature names, or a mapping name -> ``numeric`` /
        ``categorical`` / ``None`` (kind unknown).
    allow_extra
        Keep columns the model does not know (they are returned) instead of refusing.
    allowed_extra
        Columns that may be present anyway (the target, an id or label column).
    against
        What the columns come from, in messages (``the model``, ``the reference``).

    Returns
    -------
    list of str
        The extra columns kept (empty unless ``allow_extra``).

    Raises
    ------
    BadTable
        Naming the missing, extra or wrongly typed columns (and, for a
        look-alike, the expected name it resembles).
    """
    kinds: dict[str, str | None] = (
        dict(expected) if isinstance(expected, Mapping) else dict.fromkeys(expected)
    )
    names = list(kinds)
    missing = [n for n in names if n not in table.types]
    if missing:
        hints = []
        for m in missing:
            alike = next((c for c in table.columns if lookalike(c, [m]) == m), None)
            hints.append(
                f"{_shown(m)} (the file has {_shown(alike)} instead)" if alike else _shown(m)
            )
        raise BadTable(
            f"{table.label} lacks {against}'s column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(hints[:10])}{' …' if len(hints) > 10 else ''}"
        )
    extra = [c for c in table.columns if c not in kinds and c not in allowed_extra]
    if extra and not allow_extra:
        raise BadTable(
            f"{table.label} has column{'s' if len(extra) > 1 else ''} {against} does not "
            f"have: {', '.join(_shown(e) for e in extra[:10])}{' …' if len(extra) > 10 else ''} "
            "(allow them with --allow-extra)"
        )
    # A true/false column is a number to a model fitted on it (pandas' bool is 0/1).
    wrong = [
        n
        for n, k in kinds.items()
        if k == "numeric" and not table.numeric(n) and table.types[n].upper() != "BOOLEAN"
    ]
    # Numbers kept as text (codes with leading zeros, a Parquet string column) and
    # truth words (yes/no) are numbers to a model trained on them, as training and
    # scoring read them.
    wrong = [n for n in wrong if not _text_numbers(table, n)]
    if wrong:
        shown = ", ".join(
            f"{_shown(w)} ({table.types[w]}{_first_text(table, w)})" for w in wrong[:10]
        )
        raise BadTable(
            f"{table.label}: {against}'s numeric column{'s' if len(wrong) > 1 else ''} "
            f"{shown} {'do' if len(wrong) > 1 else 'does'} not hold numbers"
        )
    return extra


def _text_numbers(table: Table, column: str) -> bool:
    """Whether a text column's filled cells are all numbers or missing-value tokens, or all
    truth words (or none is filled).

    The cells are read as training, scoring and the monitoring's reader read
    them (:func:`text_number_sql`): trimmed, ``NA``, ``-`` and the other
    :data:`MISSING_TOKENS` missing. A truth word is what DuckDB reads as
    BOOLEAN (:func:`bool_word`): a yes/no column of a CSV was a bool, so a
    number, to the model trained on it.
    """
    if table.types[column].upper() != "VARCHAR":
        return False
    q = f"trim({quote(column)})"
    con = _connection()
    try:
        not_number, not_truth, some = con.execute(
            f"SELECT count_if({text_not_number_sql(quote(column))}), "
            f"count_if({q} <> '' AND TRY_CAST({q} AS BOOLEAN) IS NULL), "
            f"count_if({q} <> '') FROM {table.source}"
        ).fetchall()[0]
    except duck.Error as e:
        raise explain(e, table.label, path=table.path) from None
    finally:
        con.close()
    # all numbers, or all truth words: a stray "n" among numbers is no number; a column
    # left blank in every row holds nothing but missing values, of any kind
    return not some or not not_number or not not_truth


def _first_text(table: Table, column: str) -> str:
    """``", row N: 'text'"``: a text column's first cell that is no number, to show; else ``""``."""
    if table.types[column].upper() != "VARCHAR":
        return ""
    con = _connection()
    try:
        found = con.execute(
            first_cells_sql(table.source, column, text_not_number_sql("v"))
        ).fetchall()
    except duck.Error as e:
        raise explain(e, table.label, path=table.path) from None
    finally:
        con.close()
    return f", row {int(found[0][0])}: {str(found[0][1]).strip()!r}" if found else ""


def scan_table(table: Table, *, columns: Sequence[str] | None = None) -> TableScan:
    """Read the whole table once: count its rows, flag ±inf and NaN in numeric columns.

    Reading every row also makes DuckDB convert every value, so a cell that
    contradicts its column's type anywhere in the file is refused here.

    Raises
    ------
    BadTable
        The table has no rows, or a row cannot be read.
    """
    cols = [c for c in (columns or table.columns) if table.numeric(c)]
    parts = ["count(*)"]
    for c in cols:
        q = quote(c)
        parts.append(f"count_if(isinf(CAST({q} AS DOUBLE)))")
        parts.append(f"count_if(isnan(CAST({q} AS DOUBLE)))")
    others = [quote(c) for c in table.columns if c not in cols]
    # Touch the text columns too, so that a ragged or unreadable row anywhere is found.
    parts.extend(f"count({o})" for o in others[:200])
    con = _connection()
    try:
        got = con.execute(f"SELECT {', '.join(parts)} FROM {table.source}").fetchall()[0]
    except duck.Error as e:
        raise explain(e, table.label, path=table.path) from None
    finally:
        con.close()
    rows = int(got[0])
    if rows == 0:
        raise BadTable(f"{table.label} has no rows")
    flags: dict[str, dict[str, Any]] = {}
    for i, c in enumerate(cols):
        inf, nan = int(got[1 + 2 * i]), int(got[2 + 2 * i])
        if inf or nan:
            what = ", ".join(
                s
                for s in (f"{inf} infinite value(s)" if inf else "", f"{nan} NaN" if nan else "")
                if s
            )
            flags[c] = {"infinite": inf, "nan": nan, "what": what}
    return TableScan(rows, flags)


_ID_NAME = re.compile(r"(^id$|[_ -]id$|^id_|^uuid$|_uuid$|^key$|_key$)", re.IGNORECASE)
_CAMEL_ID = re.compile(r"[a-z0-9]I[dD]$")  # loanId; not "paid" or "valid"


def id_like_name(name: str) -> bool:
    """Whether a column is named like a row identifier (``id``, ``loan_id``, ``loanId``, ``*_key``)."""
    return bool(_ID_NAME.search(name) or _CAMEL_ID.search(name))


def id_like_frame(df: Any, *, exclude: Sequence[str] = ()) -> dict[str, str]:
    """Columns of a DataFrame that look like row identifiers, with why.

    The same rule as :func:`id_like_columns`: named like one, or integers
    (at least 20 rows) that are unique per row and only increase or only
    decrease. A model that learns from an identifier only memorises rows.
    """
    from pandas.api import types as pt  # deferred: start-up cost

    out: dict[str, str] = {}
    for col in df.columns:
        c = str(col)
        if c in exclude:
            continue
        if id_like_name(c):
            out[c] = "named like an identifier"
            continue
        v = df[col]
        if not pt.is_integer_dtype(v) or pt.is_bool_dtype(v):
            continue
        v = v.dropna()
        if len(v) >= 20 and len(v) == len(df) and v.is_unique:
            if v.is_monotonic_increasing or v.is_monotonic_decreasing:
                out[c] = "unique per row and increasing"
    return out


def id_like_columns(table: Table, *, exclude: Sequence[str] = ()) -> dict[str, str]:
    """Columns that look like row identifiers, with why: a model should not learn from them.

    An identifier is named like one (``loan_id``, ``id``, ``*_key``), or holds
    integers that are unique per row and only increase.
    """
    cols = [c for c in table.columns if c not in exclude]
    named = [c for c in cols if id_like_name(c)]
    ints = [
        c
        for c in cols
        if c not in named and table.types[c].upper().rstrip("0123456789").endswith("INT")
    ]
    out: dict[str, str] = {c: "named like an identifier" for c in named}
    if not ints:
        return out
    parts = ["count(*)"]
    for c in ints:
        q = quote(c)
        parts.append(f"count(DISTINCT {q})")
    con = _connection()
    try:
        got = con.execute(f"SELECT {', '.join(parts)} FROM {table.source}").fetchall()[0]
        n = int(got[0])
        for i, c in enumerate(ints):
            if n < 20 or int(got[1 + i]) != n:
                continue
            q = quote(c)
            falls = con.execute(
                f"SELECT count(*) FROM (SELECT {q} - lag({q}) OVER () AS d FROM {table.source}) "
                "WHERE d <= 0"
            ).fetchall()[0][0]
            if int(falls) == 0:
                out[c] = "unique per row and increasing"
    except duck.Error:
        return out  # a hint only: never a reason to fail
    finally:
        con.close()
    return out
