"""Every DuckDB connection ModelWard opens, configured in one place.

* ``autoinstall/autoload_known_extensions`` off: an unknown function must never
  make DuckDB reach for the network (it would hang on an offline machine).
* ``enable_progress_bar`` off: DuckDB draws its progress bar on stdout for long
  queries, which would corrupt ``--json`` output and scribble on terminals.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

OFFLINE_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def connect(
    database: str = ":memory:",
    *,
    read_only: bool = False,
    config: Mapping[str, str | bool | int | float | list[str]] | None = None,
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` with :data:`OFFLINE_CONFIG` (plus ``config``), progress bar off.

    The progress bar is a per-connection setting (it cannot be given at
    connect time); cursors made from this connection inherit it.
    """
    con = duckdb.connect(database, read_only=read_only, config={**OFFLINE_CONFIG, **(config or {})})
    con.execute("SET enable_progress_bar = false")
    return con
