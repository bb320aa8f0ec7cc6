"""Every DuckDB connection ModelWard opens, configured in one place.

* ``autoinstall/autoload_known_extensions`` off: an unknown function must never
  make DuckDB reach for the network (it would hang on an offline machine).
* ``enable_progress_bar`` off: DuckDB draws its progress bar on stdout for long
  queries, which would corrupt ``--json`` output and scribble on terminals.

The registry talks to DuckDB's engine alone (:data:`engine`, the ``_duckdb``
extension module that the ``duckdb`` package re-exports). Importing the
package costs about 100 ms more per process (its relational API, expression
classes and version metadata, which it attaches to the connection class): a
third of a whole ``modelward list``. Code that uses the relational API
(``con.sql``, ``read_parquet``) gets its connection from :func:`connect`,
which imports the package; the registry's connections come from
:func:`connect_engine` and use SQL only (``execute``, ``fetch*``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

try:
    import _duckdb as engine
except ImportError:  # a duckdb packaged without the separate extension module
    import duckdb as engine  # type: ignore[no-redef]

if TYPE_CHECKING:
    import duckdb

Error = engine.Error
"""Every DuckDB error (the same class as ``duckdb.Error``)."""

VERSION: str = engine.__version__

OFFLINE_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

Config = Mapping[str, str | bool | int | float | list[str]]


def connect(
    database: str = ":memory:", *, read_only: bool = False, config: Config | None = None
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` with :data:`OFFLINE_CONFIG` (plus ``config``), progress bar off.

    The progress bar is a per-connection setting (it cannot be given at
    connect time); cursors made from this connection inherit it.
    """
    import duckdb  # noqa: F401, F811  # attaches the relational API to every connection

    return connect_engine(database, read_only=read_only, config=config)


def connect_engine(
    database: str = ":memory:", *, read_only: bool = False, config: Config | None = None
) -> duckdb.DuckDBPyConnection:
    """:func:`connect` without importing the ``duckdb`` package: SQL only."""
    con = engine.connect(database, read_only=read_only, config={**OFFLINE_CONFIG, **(config or {})})
    con.execute("SET enable_progress_bar = false")
    return con
