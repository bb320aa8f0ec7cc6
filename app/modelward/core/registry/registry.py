"""The registry: one DuckDB file owned by one connection, leased per operation.

DuckDB lets one process open a database file at a time; while it does, no other
process can open it, not even read-only. Analysts keep the window open and run
the CLI or a notebook beside it, so a registry holds its connection only while
it works: each operation leases the connection (opening it if needed) and the
connection is closed when the last lease ends (or after ``idle_release``
seconds, for the window, which reads often). A process that finds the file
locked retries with backoff for up to ``busy_timeout`` seconds and then raises
:class:`RegistryBusy` with the holder's PID; it never surfaces DuckDB's raw error.

A waiting process also *knocks*: it keeps a small ``registry.duckdb.wait`` file
fresh while it waits. A holder that keeps its connection between operations
(``idle_release``) closes it at the end of its current operation when it sees a
fresh knock that is not its own, and gives the waiter a moment to get in before
it opens the file again. Without this a window in use (a table being scrolled
reads every few tens of milliseconds) would never be idle long enough for the
CLI, a notebook or a training worker to register anything.

Inside a process there is one connection; each thread works through its own
``cursor()``. Writes are serialised by a process-wide lock and each runs in one
transaction together with its audit event.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

from modelward.core import platform
from modelward.core.artifacts.store import ArtifactStore, ProgressFn, _noop
from modelward.core.domain import (
    AliasEvent,
    AuditEvent,
    AuditReport,
    ModelInfo,
    ModelVersion,
    RegisterResult,
)
from modelward.core.duck import connect as duck_connect
from modelward.core.errors import (
    Cancelled,
    InvalidInput,
    ModelWardError,
    NotARegistry,
    NotFound,
    RegistryBusy,
    RegistryCorrupt,
    RegistryError,
    RegistryTooNew,
    RegistryUnwritable,
    RejectedFile,
)
from modelward.core.paths import DB_NAME, resolve_home
from modelward.core.registry import audit as _audit
from modelward.core.registry.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    STORAGE_COMPATIBILITY_VERSION,
)

_NAME_RE = re.compile(r"^[^\s:@/\\][^:@/\\]{0,199}$")
_ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")

_VERSION_COLS = (
    "v.id, v.model_id, m.name, v.version, v.sha256, v.size, v.format, v.estimator_class, "
    "v.params, v.signature, v.lineage, v.tags, v.status, v.created_at, v.created_by"
)


def utcnow() -> str:
    """UTC time as ISO 8601 with microseconds and a ``Z``: sortable as text."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def current_user() -> str:
    """The OS user, the *who* of every audit event."""
    return platform.user_name()


def parse_ref(ref: str) -> tuple[str, int | None, str | None]:
    """Split ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS``."""
    ref = ref.strip()
    if "@" in ref:
        name, alias = ref.rsplit("@", 1)
        if not name or not alias:
            raise InvalidInput(f"bad model reference {ref!r}: use NAME, NAME:VERSION or NAME@ALIAS")
        return name, None, alias
    if ":" in ref:
        name, ver = ref.rsplit(":", 1)
        if not name or not ver.isdigit():
            raise InvalidInput(
                f"bad model reference {ref!r}: the version after ':' must be a number"
            )
        return name, int(ver), None
    if not ref:
        raise InvalidInput("empty model reference")
    return ref, None, None


def _first(result: Any) -> Any:
    """The first row of a result, consuming it (DuckDB 2 refuses new work on a
    connection whose previous result was not fully fetched)."""
    rows = result.fetchall()
    return rows[0] if rows else None


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else {}


def _dumps(value: Any) -> str:
    return json.dumps(value or {}, sort_keys=True, ensure_ascii=False, default=str)


class Tx:
    """A write transaction: a cursor and the audit writer that shares it."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, actor: str):
        self.cur = cur
        self.actor = actor
        self._tail: tuple[int, str] | None = None

    def q(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        return self.cur.execute(sql, params) if params is not None else self.cur.execute(sql)

    def next_id(self, seq: str) -> int:
        return int(_first(self.q(f"SELECT nextval('{seq}')"))[0])

    def audit(
        self,
        action: str,
        entity_type: str,
        entity_id: str | int,
        *,
        before: Any = None,
        after: Any = None,
        reason: str | None = None,
    ) -> int:
        """Append one audit event in this transaction; returns its ``seq``."""
        if self._tail is None:
            # max(seq) then a key lookup: ORDER BY ... LIMIT 1 sorts the whole table.
            row = _first(
                self.q("SELECT seq, hash FROM audit WHERE seq = (SELECT max(seq) FROM audit)")
            )
            self._tail = (int(row[0]), str(row[1])) if row else (0, _audit.GENESIS)
        seq, prev = self._tail[0] + 1, self._tail[1]
        ts = utcnow()
        b, a = _audit.canonical_json(before), _audit.canonical_json(after)
        h = _audit.event_hash(
            seq, ts, self.actor, action, entity_type, str(entity_id), b, a, reason, prev
        )
        self.q(
            "INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [seq, ts, self.actor, action, entity_type, str(entity_id), b, a, reason, prev, h],
        )
        self._tail = (seq, h)
        return seq


KNOCK_SUFFIX = ".wait"
KNOCK_FRESH = 2.0
"""Seconds a knock counts: waiters renew theirs at every retry (at most every 0.25 s)."""
GIVE_WAY = 3.0
"""Seconds at most a knocked holder waits before it opens the file again."""


class Registry:
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
        closes it at once (CLI, notebooks); the window uses about a second.
    on_wait
        Called once with a message when we start waiting for another process.
    actor
        Overrides the OS user recorded in audit events (tests, services).

    Examples
    --------
    >>> reg = Registry("/tmp/reg")                       # doctest: +SKIP
    >>> reg.register_file("model.skops", name="credit")  # doctest: +SKIP
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        busy_timeout: float | None = None,
        idle_release: float = 0.0,
        on_wait: Callable[[str], None] | None = None,
        actor: str | None = None,
    ):
        self.home = resolve_home(home)
        self.db_path = self.home / DB_NAME
        self._knock_path = self.home / (DB_NAME + KNOCK_SUFFIX)
        self.artifacts = ArtifactStore(self.home / "artifacts")
        self.quarantine_dir = self.home / "quarantine"
        self.logs_dir = self.home / "logs"
        if busy_timeout is None:
            busy_timeout = float(os.environ.get("MODELWARD_BUSY_TIMEOUT", "30"))
        self.busy_timeout = busy_timeout
        self.idle_release = idle_release
        self.on_wait = on_wait
        self.actor = actor or current_user()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._refs = 0
        self._lease_lock = threading.RLock()
        self._write_lock = threading.RLock()
        self._release_timer: threading.Timer | None = None
        self._release_at = 0.0
        self._prepared = False
        self._closed = False
        self.read_only = False
        # Set when opening had to set a damaged write-ahead log aside (see core.backup).
        self.recovered: dict[str, Any] | None = None
        self._local = threading.local()
        # Fail early, with a clear message, for a path that cannot be a registry.
        if self.home.exists() and not self.home.is_dir():
            raise NotARegistry(f"{self.home} is a file, not a registry folder")
        with self._lease():
            pass

    # ------------------------------------------------------------------ connection
    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({str(self.home)!r})"

    def close(self) -> None:
        """Close the connection (it reopens on the next operation)."""
        with self._lease_lock:
            if self._release_timer is not None:
                self._release_timer.cancel()
                self._release_timer = None
            if self._con is not None and self._refs == 0:
                with contextlib.suppress(Exception):
                    self._con.close()
                self._con = None

    @property
    def is_connected(self) -> bool:
        return self._con is not None

    @contextlib.contextmanager
    def session(self) -> Iterator[Registry]:
        """Hold the connection for a batch of operations (one open, one close)."""
        with self._lease():
            yield self

    @contextlib.contextmanager
    def _lease(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lease_lock:
            if self._con is None:
                self._con = self._open_with_retry()
            self._refs += 1
            con = self._con
        try:
            yield con
        finally:
            with self._lease_lock:
                self._refs -= 1
                if self._refs == 0:
                    if self.idle_release <= 0 or self._knocked():
                        self._close_now()
                    else:
                        # One timer per idle period, not one per read: a timer
                        # that fires early re-arms itself for the time left.
                        self._release_at = time.monotonic() + self.idle_release
                        if self._release_timer is None:
                            self._arm_release(self.idle_release)

    def _arm_release(self, delay: float) -> None:
        t = threading.Timer(delay, self._release_if_idle)
        t.daemon = True
        self._release_timer = t
        t.start()

    def _release_if_idle(self) -> None:
        with self._lease_lock:
            self._release_timer = None
            if self._refs != 0 or self._con is None:
                return
            left = self._release_at - time.monotonic()
            if left > 0.005:
                self._arm_release(left)
            else:
                self._close_now()

    def _close_now(self) -> None:
        if self._con is not None:
            with contextlib.suppress(Exception):
                self._con.close()
            self._con = None
            self._local = threading.local()

    def _cursor(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        return con.cursor()

    def _open_with_retry(self) -> duckdb.DuckDBPyConnection:
        start = time.monotonic()
        deadline = start + self.busy_timeout
        delay = 0.02
        told = False
        knocked = False
        # A holder that keeps its connection lets a knocking process in first.
        while self.idle_release > 0 and time.monotonic() < start + GIVE_WAY and self._knocked():
            time.sleep(0.02)
        while True:
            try:
                con = self._open_once()
            except RegistryBusy as busy:
                self._knock()
                knocked = True
                if time.monotonic() >= deadline:
                    self._unknock()
                    raise RegistryBusy(
                        f"the registry {self.home} is in use by {busy.args[0]} and did not become "
                        f"free within {self.busy_timeout:g} s; close that program or try again"
                    ) from None
                if not told and self.on_wait is not None:
                    self.on_wait(f"waiting for the registry, in use by {busy.args[0]}…")
                    told = True
                time.sleep(delay)
                delay = min(delay * 1.6, 0.25)
                continue
            if knocked:
                self._unknock()
            return con

    def _knock(self) -> None:
        """Ask the process holding the file to let go (see the module docstring)."""
        with contextlib.suppress(OSError):  # a read-only folder: we can only wait
            self._knock_path.write_text(str(os.getpid()))

    def _unknock(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if int(self._knock_path.read_text()) == os.getpid():
                self._knock_path.unlink()

    def _knocked(self) -> bool:
        """Whether another process is waiting for the file (a fresh knock not ours)."""
        try:
            if time.time() - self._knock_path.stat().st_mtime > KNOCK_FRESH:
                return False
            pid = int(self._knock_path.read_text() or 0)
        except (OSError, ValueError):
            return False
        return pid != os.getpid()

    def _open_once(self) -> duckdb.DuckDBPyConnection:
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RegistryUnwritable(
                f"cannot create the registry folder {self.home}: {e.strerror or e}"
            ) from None
        exists = self.db_path.exists()
        if exists and self.db_path.is_dir():
            raise NotARegistry(f"{self.db_path} is a folder, not a registry database")
        if not exists and not os.access(self.home, os.W_OK):
            raise RegistryUnwritable(f"the registry folder {self.home} is read-only")
        pinned: dict[str, str | bool | int | float | list[str]] = {
            "storage_compatibility_version": STORAGE_COMPATIBILITY_VERSION
        }
        self.read_only = False
        recovered = None
        try:
            try:
                con = duck_connect(str(self.db_path), config=pinned)
            except duckdb.Error as e:
                from modelward.core import backup as _backup

                if not (exists and _backup.is_corrupt_wal(e) and os.access(self.home, os.W_OK)):
                    raise
                # A damaged log makes DuckDB refuse the whole file: set the log aside
                # and open the last checkpoint, rather than fail on every start.
                recovered = _backup.set_aside_wal(self.db_path, e)
                con = duck_connect(str(self.db_path), config=pinned)
        except duckdb.Error as e:
            err = self._translate_open_error(e)
            if not (exists and isinstance(err, RegistryUnwritable)):
                raise err from None
            # A registry we may read but not write (a colleague's, a shared
            # drive): open it read-only so browsing and verifying still work.
            try:
                con = duck_connect(str(self.db_path), read_only=True, config=pinned)
            except duckdb.Error as e2:
                raise self._translate_open_error(e2) from None
            self.read_only = True
        try:
            self._prepare(con)
            if recovered is not None:
                from modelward.core import backup as _backup

                _backup.record_recovery(con, self.actor, recovered)
                self.recovered = recovered
        except duckdb.Error as e:  # e.g. a damaged block met while checking the schema
            with contextlib.suppress(Exception):
                con.close()
            raise self._translate_open_error(e) from None
        except BaseException:
            with contextlib.suppress(Exception):
                con.close()
            raise
        return con

    def _translate_open_error(self, e: Exception) -> ModelWardError:
        msg = str(e)
        if "Could not set lock" in msg or "Conflicting lock" in msg:
            m = re.search(r"\(PID (\d+)\)", msg)
            prog = re.search(r"lock is held in (.+?) \(PID", msg)
            who = "another process"
            if m:
                who = f"process {m.group(1)}"
                if prog:
                    who += f" ({Path(prog.group(1)).name})"
            return RegistryBusy(who)
        if "Corrupt database file" in msg or "replaying WAL" in msg:
            return RegistryCorrupt(
                f"the registry database {self.db_path} is damaged ({msg.splitlines()[0][:160]}); "
                "it was left untouched — restore it from a backup with "
                "'modelward restore BACKUP --replace'"
            )
        if "not a valid DuckDB database" in msg:
            return NotARegistry(
                f"{self.db_path} is not a ModelWard registry (not a DuckDB database)"
            )
        if "Permission denied" in msg or "Read-only file system" in msg:
            return RegistryUnwritable(f"cannot open {self.db_path} for writing: permission denied")
        if "version" in msg.lower() and "storage" in msg.lower():
            return RegistryTooNew(
                f"{self.db_path} was written by a newer DuckDB storage format than this "
                f"ModelWard (DuckDB {duckdb.__version__}) can read"
            )
        first = msg.splitlines()[0] if msg else type(e).__name__
        return RegistryError(f"cannot open the registry {self.db_path}: {first}")

    def _prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Check the schema version; migrate an older or empty file."""
        # duckdb_tables(), not information_schema: ~1 ms instead of ~15 ms on every open.
        has_meta = _first(
            con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'meta'")
        )[0]
        current = 0
        if has_meta:
            row = _first(con.execute("SELECT value FROM meta WHERE key = ?", [SCHEMA_VERSION_KEY]))
            current = int(row[0]) if row else 0
        else:
            n_tables = _first(con.execute("SELECT count(*) FROM duckdb_tables()"))[0]
            if n_tables:
                raise NotARegistry(
                    f"{self.db_path} is a DuckDB database but not a ModelWard registry"
                )
        if current > SCHEMA_VERSION:
            from modelward import __version__

            raise RegistryTooNew(
                f"the registry {self.home} has schema version {current}, newer than the "
                f"version {SCHEMA_VERSION} this ModelWard {__version__} understands; it was "
                "not modified — upgrade ModelWard to use it"
            )
        if current == SCHEMA_VERSION:
            self._prepared = True
            return
        if self.read_only:
            raise RegistryUnwritable(
                f"the registry {self.home} needs an upgrade (schema {current} → "
                f"{SCHEMA_VERSION}) but you may only read it"
            )
        from modelward import __version__

        try:
            con.execute("BEGIN TRANSACTION")
            for step in range(current, SCHEMA_VERSION):
                for stmt in MIGRATIONS[step]:
                    con.execute(stmt)
            meta = {
                SCHEMA_VERSION_KEY: str(SCHEMA_VERSION),
                "duckdb_version": duckdb.__version__,
                "storage_compatibility_version": STORAGE_COMPATIBILITY_VERSION,
                "modelward_version": __version__,
            }
            if current == 0:
                meta["created_at"] = utcnow()
            for k, v in meta.items():
                con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [k, v])
            tx = Tx(con, self.actor)
            tx.audit(
                "registry.migrated",
                "registry",
                "schema",
                before={"schema_version": current},
                after={"schema_version": SCHEMA_VERSION},
            )
            con.execute("COMMIT")
        except duckdb.Error as e:
            with contextlib.suppress(Exception):
                con.execute("ROLLBACK")
            raise RegistryError(f"could not prepare the registry {self.db_path}: {e}") from None
        self._prepared = True

    # ------------------------------------------------------------------ helpers
    @contextlib.contextmanager
    def _read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lease() as con:
            cur = con.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def read(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A cursor for reads on this thread, with the connection leased meanwhile."""
        return self._read()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One write transaction plus audit events, committed together or not at all."""
        with self._write_lock, self._lease() as con:
            if self.read_only:
                raise RegistryUnwritable(
                    f"the registry {self.home} is read-only for you ({self.actor}); "
                    "nothing was changed"
                )
            cur = con.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                tx = Tx(cur, self.actor)
                try:
                    yield tx
                except BaseException:
                    with contextlib.suppress(Exception):
                        cur.execute("ROLLBACK")
                    raise
                try:
                    cur.execute("COMMIT")
                except duckdb.Error as e:
                    with contextlib.suppress(Exception):
                        cur.execute("ROLLBACK")
                    raise self._translate_write_error(e) from None
            except duckdb.Error as e:
                raise self._translate_write_error(e) from None
            finally:
                cur.close()

    def _translate_write_error(self, e: Exception) -> ModelWardError:
        msg = str(e)
        if "No space left" in msg or "disk is full" in msg.lower():
            return RegistryUnwritable(f"the disk holding {self.home} is full; nothing was changed")
        if "Permission denied" in msg or "read-only" in msg.lower():
            return RegistryUnwritable(f"cannot write to {self.db_path}: permission denied")
        first = msg.splitlines()[0] if msg else type(e).__name__
        return RegistryError(f"the registry could not save the change: {first}")

    def meta(self) -> dict[str, str]:
        with self._read() as cur:
            return dict(cur.execute("SELECT key, value FROM meta").fetchall())

    # ------------------------------------------------------------------ models
    def _model_id(self, cur: Any, name: str) -> int | None:
        row = _first(cur.execute("SELECT id FROM models WHERE name = ?", [name]))
        return int(row[0]) if row else None

    def ensure_model(
        self,
        tx: Tx,
        name: str,
        *,
        task: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> int:
        """The id of model ``name``, creating it (audited) inside ``tx`` if needed."""
        validate_name(name)
        mid = self._model_id(tx.cur, name)
        if mid is not None:
            return mid
        mid = tx.next_id("seq_models")
        now = utcnow()
        tx.q(
            "INSERT INTO models VALUES (?,?,?,?,?,?,?)",
            [mid, name, task, description, _dumps(tags), now, tx.actor],
        )
        tx.audit(
            "model.created", "model", name, after={"name": name, "task": task, "tags": tags or {}}
        )
        return mid

    def list_models(self) -> list[ModelInfo]:
        with self._read() as cur:
            rows = cur.execute(
                """SELECT m.id, m.name, m.task, m.description, m.tags, m.created_at,
                          m.created_by, count(v.id)
                   FROM models m LEFT JOIN versions v ON v.model_id = m.id
                   GROUP BY ALL ORDER BY m.name"""
            ).fetchall()
        return [
            ModelInfo(r[0], r[1], r[2], r[3], _loads(r[4]), r[5], r[6], int(r[7])) for r in rows
        ]

    # ------------------------------------------------------------------ versions
    def _versions_from_rows(self, cur: Any, rows: list[tuple[Any, ...]]) -> list[ModelVersion]:
        if not rows:
            return []
        ids = [int(r[0]) for r in rows]
        metrics: dict[int, dict[str, float]] = {i: {} for i in ids}
        aliases: dict[int, list[str]] = {i: [] for i in ids}
        id_list = ",".join(str(i) for i in ids)
        for vid, key, value in cur.execute(
            f"SELECT version_id, key, value FROM version_metrics WHERE version_id IN ({id_list})"
        ).fetchall():
            metrics[int(vid)][key] = value
        for vid, alias in cur.execute(
            f"SELECT version_id, alias FROM aliases WHERE version_id IN ({id_list}) ORDER BY alias"
        ).fetchall():
            aliases[int(vid)].append(alias)
        out = []
        for r in rows:
            vid = int(r[0])
            out.append(
                ModelVersion(
                    id=vid,
                    model_id=int(r[1]),
                    name=r[2],
                    version=int(r[3]),
                    sha256=r[4],
                    size=int(r[5]),
                    format=r[6],
                    estimator_class=r[7],
                    params=_loads(r[8]),
                    signature=_loads(r[9]),
                    lineage=_loads(r[10]),
                    metrics=metrics[vid],
                    tags=_loads(r[11]),
                    status=r[12],
                    created_at=r[13],
                    created_by=r[14],
                    aliases=tuple(aliases[vid]),
                )
            )
        return out

    def get_version_by_id(self, version_id: int) -> ModelVersion:
        with self._read() as cur:
            rows = cur.execute(
                f"SELECT {_VERSION_COLS} FROM versions v JOIN models m ON m.id = v.model_id "
                "WHERE v.id = ?",
                [version_id],
            ).fetchall()
            found = self._versions_from_rows(cur, rows)
        if not found:
            raise NotFound(f"no model version with id {version_id}")
        return found[0]

    def resolve(self, ref: str) -> ModelVersion:
        """The version named by ``NAME`` (latest), ``NAME:VERSION`` or ``NAME@ALIAS``."""
        name, number, alias = parse_ref(ref)
        with self._read() as cur:
            mid = self._model_id(cur, name)
            if mid is None:
                raise NotFound(f"no model named {name!r} in {self.home}")
            base = f"SELECT {_VERSION_COLS} FROM versions v JOIN models m ON m.id = v.model_id "
            if alias is not None:
                rows = cur.execute(
                    base
                    + "JOIN aliases a ON a.version_id = v.id WHERE a.model_id = ? AND a.alias = ?",
                    [mid, alias],
                ).fetchall()
                if not rows:
                    raise NotFound(f"model {name!r} has no alias {alias!r}")
            elif number is not None:
                rows = cur.execute(
                    base + "WHERE v.model_id = ? AND v.version = ?", [mid, number]
                ).fetchall()
                if not rows:
                    raise NotFound(f"model {name!r} has no version {number}")
            else:
                rows = cur.execute(
                    base + "WHERE v.model_id = ? ORDER BY v.version DESC LIMIT 1", [mid]
                ).fetchall()
                if not rows:
                    raise NotFound(f"model {name!r} has no versions yet")
            return self._versions_from_rows(cur, rows)[0]

    def list_versions(
        self,
        name: str | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        where: str | None = None,
        params: Sequence[Any] = (),
        order_by: str = "m.name, v.version",
    ) -> list[ModelVersion]:
        """Versions in pages. ``where`` is trusted SQL built by core query code only."""
        clauses = []
        args: list[Any] = []
        if name is not None:
            clauses.append("m.name = ?")
            args.append(name)
        if where:
            clauses.append(f"({where})")
            args.extend(params)
        sql = f"SELECT {_VERSION_COLS} FROM versions v JOIN models m ON m.id = v.model_id"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {order_by}"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        with self._read() as cur:
            rows = cur.execute(sql, args).fetchall()
            return self._versions_from_rows(cur, rows)

    def count_versions(self, where: str | None = None, params: Sequence[Any] = ()) -> int:
        sql = "SELECT count(*) FROM versions v JOIN models m ON m.id = v.model_id"
        if where:
            sql += f" WHERE {where}"
        with self._read() as cur:
            return int(_first(cur.execute(sql, list(params)))[0])

    def find_by_sha(self, name: str, sha256: str) -> ModelVersion | None:
        with self._read() as cur:
            rows = cur.execute(
                f"SELECT {_VERSION_COLS} FROM versions v JOIN models m ON m.id = v.model_id "
                "WHERE m.name = ? AND v.sha256 = ? ORDER BY v.version LIMIT 1",
                [name, sha256],
            ).fetchall()
            found = self._versions_from_rows(cur, rows)
        return found[0] if found else None

    def add_version(
        self,
        name: str,
        *,
        sha256: str,
        size: int,
        format: str,
        estimator_class: str | None = None,
        params: dict[str, Any] | None = None,
        signature: dict[str, Any] | None = None,
        lineage: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        tags: dict[str, str] | None = None,
        status: str = "ok",
        task: str | None = None,
        description: str | None = None,
    ) -> RegisterResult:
        """Record a version whose artifact is already in the store.

        Identical bytes under the same model return the existing version.
        """
        if not self.artifacts.has(sha256):
            raise NotFound(f"artifact {sha256[:12]}… is not in the store; store it first")
        # One lease for the write and the read-back, and as few statements as possible:
        # a notebook or CLI without a session pays one open/close per call.
        with self._lease(), self.transaction() as tx:
            mid = self.ensure_model(tx, name, task=task, description=description)
            existing, number = _first(
                tx.q(
                    # One scan; correlated subqueries here cost several times more.
                    "SELECT arg_min(id, version) FILTER (WHERE sha256 = $sha), "
                    "coalesce(max(version), 0) + 1 FROM versions WHERE model_id = $mid",
                    {"mid": mid, "sha": sha256},
                )
            )
            if existing is not None:
                return RegisterResult(self.get_version_by_id(int(existing)), False)
            now = utcnow()
            texts = [_dumps(params), _dumps(signature), _dumps(lineage), _dumps(tags)]
            new_id = int(
                _first(
                    tx.q(
                        "INSERT INTO versions VALUES "
                        "(nextval('seq_versions'),?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                        [mid, number, sha256, size, format, estimator_class, *texts]
                        + [status, now, tx.actor],
                    )
                )[0]
            )
            clean_metrics = {str(k): float(v) for k, v in (metrics or {}).items()}
            if clean_metrics:  # a handful of rows, one statement
                tx.q(
                    "INSERT INTO version_metrics VALUES "
                    + ",".join(["(?, ?, ?)"] * len(clean_metrics)),
                    [x for kv in clean_metrics.items() for x in (new_id, *kv)],
                )
            tx.audit(
                "version.registered",
                "version",
                f"{name}:{number}",
                after={
                    "sha256": sha256,
                    "size": size,
                    "format": format,
                    "estimator_class": estimator_class,
                    "status": status,
                    "lineage": lineage or {},
                    "metrics": clean_metrics,
                },
            )
        # Built from what was written (no read-back); the JSON round trip matches a read.
        version = ModelVersion(
            id=new_id,
            model_id=mid,
            name=name,
            version=int(number),
            sha256=sha256,
            size=int(size),
            format=format,
            estimator_class=estimator_class,
            params=_loads(texts[0]),
            signature=_loads(texts[1]),
            lineage=_loads(texts[2]),
            metrics=clean_metrics,
            tags=_loads(texts[3]),
            status=status,
            created_at=now,
            created_by=tx.actor,
        )
        return RegisterResult(version, True)

    def register_file(
        self,
        path: str | os.PathLike[str],
        name: str,
        *,
        lineage: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        progress: ProgressFn = _noop,
    ) -> RegisterResult:
        """Register a model file from outside, without executing it.

        The file is triaged by its bytes and inspected through the trust
        boundary (:mod:`modelward.core.artifacts.trust`), copied into the
        artifact store and recorded as a new version with its audit event.
        Identical bytes registered again return the existing version.

        Raises
        ------
        RejectedFile
            The file failed a trust check; it was copied to ``quarantine/``
            with a reason file and an ``ingest.rejected`` audit event.
        """
        from modelward.core.artifacts.trust import inspect_untrusted

        validate_name(name)
        src = Path(path)
        if not src.exists():
            raise NotFound(f"no such file: {src}")
        if src.is_dir():
            raise InvalidInput(f"{src} is a folder, not a model file")
        if not os.access(src, os.R_OK):
            raise InvalidInput(f"cannot read {src}: permission denied")
        # Copy first, then check the copy: the bytes we inspect are the bytes we keep.
        sha, size = self.artifacts.put_file(src, progress=lambda f, s: progress(f * 0.5, s))
        stored = self.artifacts.path_for(sha)
        try:
            info, meta = inspect_untrusted(stored, sha256=sha, registry=self)
        except RejectedFile as rej:
            self.quarantine(stored, source=str(src), reason=rej.reason, sha256=sha)
            raise RejectedFile(
                rej.reason, path=str(src), quarantined_to=str(self.quarantine_dir)
            ) from None
        progress(0.9, "recording")
        full_lineage = {"source": str(src.absolute())}
        full_lineage.update(lineage or {})
        result = self.add_version(
            name,
            sha256=sha,
            size=size,
            format=info.format,
            estimator_class=meta.get("estimator_class"),
            params=meta.get("params"),
            signature=meta.get("signature"),
            lineage=full_lineage,
            metrics=metrics,
            tags=tags,
            status=meta.get("status", "ok"),
            description=description,
        )
        progress(1.0, "registered")
        return result

    def quarantine(
        self, path: str | os.PathLike[str], *, source: str, reason: str, sha256: str | None = None
    ) -> Path:
        """Keep a rejected file aside with a reason file and an audit event.

        The bytes are copied into ``quarantine/`` (the original is left where it
        was); if they came from the artifact store and no version uses them,
        they are removed from the store.
        """
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().replace(":", "").replace("-", "").replace(".", "")
        stem = (sha256 or "unhashed")[:16]
        dest = self.quarantine_dir / f"{stamp}-{stem}.bin"
        try:
            shutil.copyfile(path, dest)
        except OSError:
            dest = self.quarantine_dir / f"{stamp}-{stem}.missing"
            dest.write_text("")
        (dest.with_suffix(".reason.txt")).write_text(
            f"source: {source}\nsha256: {sha256 or '-'}\nat: {utcnow()}\nby: {self.actor}\n"
            f"reason: {reason}\n",
            encoding="utf-8",
        )
        with self.transaction() as tx:
            qid = int(_first(tx.q("SELECT coalesce(max(id), 0) + 1 FROM quarantine"))[0])
            tx.q(
                "INSERT INTO quarantine VALUES (?,?,?,?,?,?,?)",
                [qid, sha256, source, str(dest), reason, utcnow(), tx.actor],
            )
            tx.audit(
                "ingest.rejected",
                "file",
                source,
                after={"sha256": sha256, "quarantined_to": dest.name},
                reason=reason,
            )
            in_use = (
                sha256 is not None
                and _first(tx.q("SELECT count(*) FROM versions WHERE sha256 = ?", [sha256]))[0]
            )
        if sha256 and not in_use:
            stored = self.artifacts.path_for(sha256)
            if Path(path) == stored:
                with contextlib.suppress(OSError):
                    stored.unlink()
        return dest

    def set_status(self, ref: str, status: str, reason: str) -> ModelVersion:
        v = self.resolve(ref)
        with self.transaction() as tx:
            tx.q("UPDATE versions SET status = ? WHERE id = ?", [status, v.id])
            tx.audit(
                "version.status",
                "version",
                v.ref,
                before={"status": v.status},
                after={"status": status},
                reason=reason,
            )
        return self.get_version_by_id(v.id)

    # ------------------------------------------------------------------ aliases
    def set_alias(
        self, ref: str, alias: str, reason: str, *, approval_id: int | None = None
    ) -> ModelVersion:
        """Point ``alias`` of the model at the version named by ``ref``.

        An alias the model's policy protects with four-eyes moves only with
        ``approval_id``, an approved request for exactly this move; the check
        and the move share one transaction, and a request is used once.

        Raises
        ------
        ApprovalRequired
            The alias is protected and no matching approval was given.
        """
        if not _ALIAS_RE.match(alias):
            raise InvalidInput(
                f"bad alias {alias!r}: start with a letter; letters, digits, '_', '-', '.' only"
            )
        if not reason or not reason.strip():
            raise InvalidInput("setting an alias needs a reason (--reason)")
        v = self.resolve(ref)
        from modelward.core.policies.guard import check_alias_move

        with self.transaction() as tx:
            approval = check_alias_move(tx, v.name, v.id, alias, approval_id)
            prev = _first(
                tx.q(
                    "SELECT v.version FROM aliases a JOIN versions v ON v.id = a.version_id "
                    "WHERE a.model_id = ? AND a.alias = ?",
                    [v.model_id, alias],
                )
            )
            tx.q(
                "INSERT OR REPLACE INTO aliases VALUES (?,?,?,?,?,?)",
                [v.model_id, alias, v.id, utcnow(), tx.actor, reason.strip()],
            )
            tx.audit(
                "alias.set",
                "alias",
                f"{v.name}@{alias}",
                before={"version": prev[0]} if prev else None,
                after={"version": v.version, **(approval or {})},
                reason=reason.strip(),
            )
        return self.get_version_by_id(v.id)

    def remove_alias(self, name: str, alias: str, reason: str) -> None:
        if not reason or not reason.strip():
            raise InvalidInput("removing an alias needs a reason (--reason)")
        with self.transaction() as tx:
            mid = self._model_id(tx.cur, name)
            if mid is None:
                raise NotFound(f"no model named {name!r}")
            prev = _first(
                tx.q(
                    "SELECT v.version FROM aliases a JOIN versions v ON v.id = a.version_id "
                    "WHERE a.model_id = ? AND a.alias = ?",
                    [mid, alias],
                )
            )
            if prev is None:
                raise NotFound(f"model {name!r} has no alias {alias!r}")
            tx.q("DELETE FROM aliases WHERE model_id = ? AND alias = ?", [mid, alias])
            tx.audit(
                "alias.removed",
                "alias",
                f"{name}@{alias}",
                before={"version": prev[0]},
                after=None,
                reason=reason.strip(),
            )

    def alias_history(self, name: str) -> list[AliasEvent]:
        """Every move of every alias of ``name``, oldest first, from the audit trail."""
        out = []
        with self._read() as cur:
            rows = cur.execute(
                "SELECT entity_id, before, after, ts, actor, reason FROM audit "
                "WHERE entity_type = 'alias' AND starts_with(entity_id, ?) ORDER BY seq",
                [name + "@"],
            ).fetchall()
        for eid, before, after, ts, actor, reason in rows:
            mname, alias = eid.rsplit("@", 1)
            if mname != name:
                continue
            b = json.loads(before) if before else None
            a = json.loads(after) if after else None
            out.append(
                AliasEvent(
                    mname,
                    alias,
                    a.get("version") if a else None,
                    b.get("version") if b else None,
                    ts,
                    actor,
                    reason or "",
                )
            )
        return out

    # ------------------------------------------------------------------ metrics time series
    def create_run(self, kind: str, *, params: dict[str, Any] | None = None) -> int:
        with self.transaction() as tx:
            rid = tx.next_id("seq_runs")
            now = utcnow()
            tx.q(
                "INSERT INTO runs (id, kind, status, params, created_at, started_at, created_by) "
                "VALUES (?,?,?,?,?,?,?)",
                [rid, kind, "running", _dumps(params), now, now, tx.actor],
            )
            tx.audit("run.started", "run", rid, after={"kind": kind, "params": params or {}})
        return rid

    def finish_run(
        self,
        run_id: int,
        status: str,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        version_id: int | None = None,
    ) -> None:
        with self.transaction() as tx:
            tx.q(
                "UPDATE runs SET status = ?, result = ?, error = ?, finished_at = ?, "
                "progress = CASE WHEN ? = 'finished' THEN 1 ELSE progress END, "
                "version_id = coalesce(?, version_id) WHERE id = ?",
                [status, _dumps(result), error, utcnow(), status, version_id, run_id],
            )
            tx.audit("run." + status, "run", run_id, after={"status": status, "error": error})

    @contextlib.contextmanager
    def recording_failure(
        self,
        run_id: int | None,
        *,
        wrap: Callable[[str], ModelWardError] | None = None,
    ) -> Iterator[None]:
        """Close ``run_id`` as ``cancelled`` or ``failed`` when the body raises, then re-raise.

        ``wrap`` turns an unexpected (non-ModelWard) error's one-line summary
        into the error the user sees; without it the original propagates.
        """
        try:
            yield
        except Cancelled:
            if run_id is not None:
                self.finish_run(run_id, "cancelled", error="cancelled by the user")
            raise
        except ModelWardError as e:
            if run_id is not None:
                self.finish_run(run_id, "failed", error=str(e))
            raise
        except Exception as e:
            first = str(e).splitlines()[0] if str(e) else ""
            msg = f"{type(e).__name__}: {first}"
            if run_id is not None:
                self.finish_run(run_id, "failed", error=msg)
            if wrap is None:
                raise
            raise wrap(msg) from e

    def append_metrics(
        self,
        run_id: int,
        key: str,
        values: Any,
        *,
        steps: Any = None,
        timestamps: Any = None,
    ) -> int:
        """Append a metric series in one columnar insert (numpy arrays in, no row loop)."""
        import numpy as np

        vals = np.asarray(values, dtype=np.float64).ravel()
        n = int(vals.size)
        if n == 0:
            return 0
        with self.transaction() as tx:
            if steps is None:
                start = int(
                    _first(
                        tx.q(
                            "SELECT coalesce(max(step) + 1, 0) FROM metric_points "
                            "WHERE run_id = ? AND key = ?",
                            [run_id, key],
                        )
                    )[0]
                )
                st = np.arange(start, start + n, dtype=np.int64)
            else:
                st = np.asarray(steps, dtype=np.int64).ravel()
                if st.size != n:
                    raise InvalidInput("steps and values differ in length")
            if timestamps is None:
                ts = np.full(n, np.datetime64(utcnow()[:-1], "us"))
            else:
                ts = np.asarray(timestamps, dtype="datetime64[us]").ravel()
            cols = {"step": st, "ts": ts, "value": vals}
            value_sql = "value"
            if np.isnan(vals).any():  # numpy NaN reaches DuckDB as NULL: keep it a NaN
                cols["nan"] = np.isnan(vals)
                value_sql = "CASE WHEN nan THEN 'NaN'::DOUBLE ELSE value END"
            tx.cur.register("_mw_points", cols)
            tx.q(
                f"INSERT INTO metric_points SELECT ?, ?, step, ts, {value_sql} FROM _mw_points",
                [run_id, key],
            )
            tx.cur.unregister("_mw_points")
            tx.audit(
                "metrics.appended",
                "run",
                run_id,
                after={"key": key, "points": n, "first_step": int(st[0]), "last_step": int(st[-1])},
            )
        return n

    def metric_history(self, run_id: int, key: str) -> dict[str, Any]:
        """A metric series as numpy arrays ``step``, ``ts``, ``value``, ordered by step."""
        with self._read() as cur:
            return dict(
                cur.execute(
                    "SELECT step, ts, value FROM metric_points WHERE run_id = ? AND key = ? "
                    "ORDER BY step",
                    [run_id, key],
                ).fetchnumpy()
            )

    # ------------------------------------------------------------------ audit
    def audit_events(
        self,
        *,
        limit: int | None = 100,
        offset: int = 0,
        entity_type: str | None = None,
        entity_prefix: str | None = None,
        action: str | None = None,
        actor: str | None = None,
        since: str | None = None,
        until: str | None = None,
        newest_first: bool = True,
    ) -> list[AuditEvent]:
        clauses, args = [], []
        if entity_type:
            clauses.append("entity_type = ?")
            args.append(entity_type)
        if entity_prefix:
            clauses.append("starts_with(entity_id, ?)")
            args.append(entity_prefix)
        if action:
            clauses.append("starts_with(action, ?)")
            args.append(action)
        if actor:
            clauses.append("actor = ?")
            args.append(actor)
        if since:
            clauses.append("ts >= ?")
            args.append(since)
        if until:
            clauses.append("ts < ?")
            args.append(until)
        sql = "SELECT * FROM audit"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY seq " + ("DESC" if newest_first else "ASC")
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        with self._read() as cur:
            rows = cur.execute(sql, args).fetchall()
        return [
            AuditEvent(
                int(r[0]),
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                json.loads(r[6]) if r[6] else None,
                json.loads(r[7]) if r[7] else None,
                r[8],
                r[9],
                r[10],
            )
            for r in rows
        ]

    def audit_head(self) -> int:
        """The newest audit ``seq``: a cheap change counter for views that poll."""
        with self._read() as cur:
            return int(_first(cur.execute("SELECT coalesce(max(seq), 0) FROM audit"))[0])

    def verify_audit(self) -> AuditReport:
        """Walk the whole chain; name the first broken event, if any."""
        with self._read() as cur:
            cur.execute(
                "SELECT seq, ts, actor, action, entity_type, entity_id, before, after, reason, "
                "prev_hash, hash FROM audit ORDER BY seq"
            )

            def rows() -> Iterator[tuple[Any, ...]]:
                while batch := cur.fetchmany(10_000):
                    yield from batch

            return _audit.verify_rows(rows())

    def record_event(
        self,
        action: str,
        entity_type: str,
        entity_id: str,
        *,
        after: Any = None,
        reason: str | None = None,
    ) -> int:
        """Append a stand-alone audit event (e.g. an override decision)."""
        with self.transaction() as tx:
            return tx.audit(action, entity_type, entity_id, after=after, reason=reason)


def validate_name(name: str) -> None:
    """Model names: up to 200 characters, no ':', '@', slashes or surrounding spaces."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or name != name.strip():
        raise InvalidInput(
            f"bad model name {name!r}: 1–200 characters, no ':', '@', '/', '\\' "
            "and no leading or trailing spaces"
        )
