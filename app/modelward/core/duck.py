"""Every DuckDB connection ModelWard opens, configured in one place.

* ``autoinstall/autoload_known_extensions`` off: an unknown function must never
  make DuckDB reach for the network (it would hang on an offline machine).
* ``enable_progress_bar`` off: DuckDB draws its progress bar on stdout for long
  queries, which would corrupt ``--json`` output and scribble on terminals.

ModelWard talks to DuckDB's engine alone (:data:`engine`, the ``_duckdb``
extension module that the ``duckdb`` package re-exports) and runs SQL only
(``execute``, ``fetch*``, ``register`` of NumPy and pandas columns). Importing
the package costs 50-100 ms more per process (its relational API,
expression classes and version metadata, which it attaches to the connection
class): a third of a whole ``modelward list``, and part of every command's
start. One path imports it: a scoring run that writes an output, whose
batches reach DuckDB's ``COPY`` as an Arrow stream that the relational API
makes (``modelward.core.compute.score._convert_cursor``); everything else
hands DuckDB NumPy arrays and pandas frames only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
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
    con = engine.connect(database, read_only=read_only, config={**OFFLINE_CONFIG, **(config or {})})
    con.execute("SET enable_progress_bar = false")
    return con


ONE_THREAD: dict[str, str | bool | int | float | list[str]] = {"threads": 1}
"""For a database of small statements (the registry): DuckDB's worker threads
cost each statement more than they save (an INSERT of one row 0.35 against
0.27 ms, a COMMIT 0.33 against 0.30 ms, measured on two cores). Its few heavy
statements take every core inside :func:`all_cores`."""


@contextlib.contextmanager
def all_cores(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Every core for the statements inside, on a database opened with :data:`ONE_THREAD`.

    ``threads`` is a setting of the whole database: another thread's heavy
    statement that ends meanwhile sets it back to one, which costs speed only.
    A ``SET`` costs about 0.13 ms: meant for statements over many rows (a
    columnar insert, a table's digest), not for every statement.
    """
    cores = os.cpu_count() or 1
    if cores > 1:
        con.execute(f"SET threads = {cores}")
    try:
        yield
    finally:
        if cores > 1:
            with contextlib.suppress(Error):
                con.execute("SET threads = 1")
