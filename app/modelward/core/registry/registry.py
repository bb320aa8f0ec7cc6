"""The registry: one DuckDB file, its artifact store, and the audit trail.

:class:`Registry` is assembled from one module per concern, each a mixin
over the leased connection:

- :mod:`~modelward.core.registry.connection`: open with retry, the knock,
  idle release, startup recovery (:mod:`~modelward.core.registry.recovery`),
  error translation, reads and write transactions (:class:`Tx`);
- :mod:`~modelward.core.registry.versions`: models, versions, model-file intake;
- :mod:`~modelward.core.registry.aliases`: alias moves with the four-eyes hook;
- :mod:`~modelward.core.registry.runs`: runs and metric series;
- :mod:`~modelward.core.registry.audit_log`: reading and verifying the trail.

Storage imports no service: the four-eyes guard is installed from above.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from modelward.core.artifacts.store import ArtifactStore
from modelward.core.registry.aliases import AliasesMixin, AliasGuard
from modelward.core.registry.audit_log import AuditLogMixin
from modelward.core.registry.runs import RunsMixin, close_dead_runs

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

__all__ = ["Registry"]


def referenced_digests(cur: duckdb.DuckDBPyConnection) -> set[str]:
    """Every SHA-256 the database names anywhere: a conservative set of artifacts in use.

    Every text column of every table is searched (versions, datasets,
    validations, lineage JSON with snapshots and bundle evidence, monitoring
    profiles and reports, policy data, the audit trail), so an artifact any
    record points at, in any column, is never called unreferenced.
    """
    cols = cur.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND data_type = 'VARCHAR' AND NOT internal"
    ).fetchall()
    found: set[str] = set()
    for table, col in cols:
        q = f'"{table}"."{col}"'
        rows = cur.execute(
            f"SELECT DISTINCT unnest(regexp_extract_all({q}, '[0-9a-f]{{64}}')) "
            f'FROM "{table}" WHERE {q} IS NOT NULL'
        ).fetchall()
        found.update(r[0] for r in rows)
    return found


def _referenced(con: duckdb.DuckDBPyConnection, shas: list[str]) -> set[str]:
    """Which of ``shas`` any text column of any table names (a conservative search)."""
    return referenced_digests(con) & set(shas)


class Registry(AliasesMixin, RunsMixin, AuditLogMixin):
    """A ModelWard registry home: ``registry.duckdb``, ``artifacts/``, ``quarantine/``, ``logs/``.

    Parameters
    ----------
    home
        Registry folder (or its ``registry.duckdb``); ``None`` resolves
        ``MODELWARD_HOME`` then the OS user data folder.
    busy_timeout
        Seconds to keep retrying while another process holds the database
        (default ``MODELWARD_BUSY_TIMEOUT`` or 30).
    idle_release
        Seconds the connection stays open after the last operation. ``0``
        closes it at once (most CLI commands); the window, ``watch`` and the
        notebook API hold it (:data:`~modelward.core.registry.connection.HOLD`)
        and let go as soon as another process knocks.
    on_wait
        Called once with a message when we start waiting for another process.
    actor
        Overrides the OS user recorded in audit events (tests, services).
    read_only
        Open for reading only when the file allows it (no checkpoint on close,
        no start-up sweep); a file that needs recovery or a migration is
        opened writable first. Writes then raise ``RegistryUnwritable``.
    alias_guard
        The four-eyes check for protected aliases (see
        :mod:`modelward.core.registry.aliases`). Without one, protected
        aliases do not move; ``modelward.core.policies.open_registry`` opens a
        registry with the policy service's guard installed.

    Examples
    --------
    >>> reg = Registry("/tmp/reg")                                       # doctest: +SKIP
    >>> from modelward.core.intake import accept_model_file              # doctest: +SKIP
    >>> accept_model_file(reg, "model.skops", name="credit").version     # doctest: +SKIP
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        busy_timeout: float | None = None,
        idle_release: float = 0.0,
        on_wait: Callable[[str], None] | None = None,
        actor: str | None = None,
        alias_guard: AliasGuard | None = None,
        read_only: bool = False,
    ):
        super().__init__(
            home,
            busy_timeout=busy_timeout,
            idle_release=idle_release,
            on_wait=on_wait,
            actor=actor,
            read_only=read_only,
        )
        self.artifacts = ArtifactStore(self.home / "artifacts")
        self.quarantine_dir = self.home / "quarantine"
        self.logs_dir = self.home / "logs"
        self.leftovers: dict[str, list[str] | list[int]] = {}
        """What the first writable open cleaned: ``temp_files`` and ``interrupted_runs``."""
        if alias_guard is not None:
            self.install_alias_guard(alias_guard)
        self._open_first()

    def _leftovers_waiting(self, running: int) -> bool:
        """Temporary files or markers in the store, or runs still marked running.

        A read-only open (``list``, ``show``) then opens writable once, so that
        the first command after a crash still cleans up, as it always did.
        """
        try:
            with os.scandir(self.artifacts.root) as entries:
                if any(e.name.startswith(".") for e in entries):
                    return True
        except OSError:
            pass
        return running > 0

    def _on_first_open(self, con: duckdb.DuckDBPyConnection) -> None:
        """Clean what a crashed process left: its temporary files, its unfinished runs.

        Runs on the first writable open of every face (CLI, watcher, window,
        worker). A failure here is logged and never stops the registry from
        opening: the leftovers wait for the next start.
        """
        try:
            self.leftovers["temp_files"] = self.artifacts.sweep_leftovers()
        except Exception:  # a cleanup must never stop the open
            log.exception("removing crash leftovers from %s failed", self.artifacts.root)
        try:
            self.leftovers["orphans"] = self.artifacts.sweep_placed(
                lambda shas: _referenced(con, shas)
            )
        except Exception:
            log.exception("removing artifacts of ended processes in %s failed", self.home)
        try:
            self.leftovers["interrupted_runs"] = close_dead_runs(
                con, self.actor, commit=self._commit, layouts=self._layouts
            )
        except Exception:
            log.exception("closing the runs of ended processes in %s failed", self.home)
