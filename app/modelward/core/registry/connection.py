"""The registry: one DuckDB file owned by one connection, leased per operation.

DuckDB lets one process open a database file at a time; while it does, no other
process can open it, not even read-only. Analysts keep the window open and run
the CLI or a notebook beside it. Each operation leases the connection (opening
it if needed); when the last lease ends the connection is closed at once
(``idle_release=0``) or *held* for up to ``idle_release`` seconds (the window,
``watch``, the notebook API: :data:`HOLD`), so a process that works in bursts
does not pay the reopen (an alias lookup on a held registry takes well under
2 ms; a reopen costs tens of milliseconds). A process that finds the file
locked retries with backoff for up to ``busy_timeout`` seconds and then raises
:class:`RegistryBusy` with the holder's PID; it never surfaces DuckDB's raw error.

A waiting process also *knocks*: it keeps a small ``registry.duckdb.wait`` file
fresh while it waits. A holder lets go when it sees a fresh knock that is not
its own: at the end of its current operation if it is working, or within
:data:`KNOCK_POLL` seconds if it is idle (a small thread watches the knock file
while the connection is held idle), and it gives the waiter a moment to get in
before it opens the file again. So holding costs the others one knock, never
the full idle time, and a window in use (a table being scrolled reads every few
tens of milliseconds) still lets the CLI, a notebook or a training worker in.

``read_only=True`` (``list``, ``show``) opens the file for reading when it can:
no checkpoint on close, no start-up sweep. It falls back to the writable open
(and its recovery) when the file is new, needs a migration, has a damaged log,
is behind its journal, or a crash left something for the start-up sweep.

Inside a process there is one connection; each thread works through its own
``cursor()``. Writes are serialised by a process-wide lock and each runs in one
transaction together with its audit event.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import modelward.core.registry.journal as _journal
import modelward.core.registry.recovery as _recovery
import modelward.core.registry.state as _state
from modelward import __version__
from modelward.core import duck
from modelward.core.clock import utcnow
from modelward.core.duck import connect as duck_connect
from modelward.core.errors import (
    ModelWardError,
    NotARegistry,
    RegistryBusy,
    RegistryCorrupt,
    RegistryError,
    RegistryTooNew,
    RegistryUnwritable,
)
from modelward.core.paths import DB_NAME, resolve_home
from modelward.core.refs import current_user
from modelward.core.registry.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    STORAGE_COMPATIBILITY_VERSION,
)
from modelward.core.registry.tx import Tx, TxGroup, _first, current_group, open_group

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

KNOCK_SUFFIX = ".wait"
KNOCK_FRESH = 2.0
"""Seconds a knock counts: waiters renew theirs at every retry (at most every 0.25 s)."""
GIVE_WAY = 3.0
"""Seconds at most a knocked holder waits before it opens the file again."""
KNOCK_POLL = 0.05
"""Seconds between looks at the knock file while a connection is held idle."""
WAIT_NOTICE = 0.5
"""Seconds of waiting for the file before ``on_wait`` is told: a holder knocked on lets go
within its poll, and a handoff that short is not worth a line ("waiting for the registry")."""
HOLD = 120.0
"""``idle_release`` of the processes that use the registry in bursts (window,
``watch``, the notebook API): they keep the connection this long after their
last operation, and let go at once when another process knocks."""


_HEADS: dict[str, tuple[int, str]] = {}
"""Per database file: the audit chain's ``(seq, hash)`` as this process's last commit left it.

While this process has the file open no other process can write it, so the
next transaction starts from the known head instead of reading the chain's
tail (a query per registration). Kept per file, not per instance, because two
:class:`RegistryConnection` of one process share DuckDB's database; dropped
whenever one of them closes or opens the file, or a transaction fails."""


class _Resolved:
    """Per database file: versions resolved by reference while the file is held.

    Held, the file cannot change but through this process's own transactions,
    and each of those bumps the generation and empties the memo; a lookup that
    raced with a write is not kept (its generation moved on).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = 0
        self.by_ref: dict[str, Any] = {}
        self.epoch = 0
        """Commits of this process to the file other than registrations (see ``models``)."""
        self.models: dict[str, Any] = {}
        """Per model name, what the last registration left (see ``VersionsMixin.add_version``),
        valid while the file stays held and only registrations commit: a registration
        changes nothing of another model, any other commit may change anything."""

    def forget(self) -> None:
        with self.lock:
            self.generation += 1
            self.by_ref.clear()

    def committed(self, registration: bool) -> int:
        """Count one commit; the epoch it leaves."""
        with self.lock:
            if not registration:
                self.epoch += 1
            return self.epoch


_RESOLVED: dict[str, _Resolved] = {}

_OPEN: weakref.WeakSet[RegistryConnection] = weakref.WeakSet()
"""Instances that have opened their file in this process (see :func:`_close_at_exit`)."""


@atexit.register
def _close_at_exit() -> None:
    """Close the registries this process still holds, before the interpreter goes.

    A held connection (:data:`HOLD`) would otherwise be closed by the
    interpreter's teardown, in no set order, or not at all when the CLI leaves
    without one (:func:`modelward.__main__.leave`).
    """
    for reg in list(_OPEN):
        with contextlib.suppress(Exception):
            reg._close_for_exit()


class RegistryConnection:
    """The registry's database file, leased per operation (see the module docstring).

    The connection half of :class:`~modelward.core.registry.Registry`: opening
    with retry and the knock, idle release, startup recovery of a damaged log,
    schema migration, error translation, reads and write transactions. The
    parameters are those of :class:`~modelward.core.registry.Registry`.
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        busy_timeout: float | None = None,
        idle_release: float = 0.0,
        on_wait: Callable[[str], None] | None = None,
        actor: str | None = None,
        read_only: bool = False,
    ):
        self.home = resolve_home(home)
        self.db_path = self.home / DB_NAME
        self._knock_path = self.home / (DB_NAME + KNOCK_SUFFIX)
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
        self._release_timer: threading.Thread | None = None
        self._release_at = 0.0
        self._want_read_only = read_only
        self._prepared = False
        self._closed = False
        self.read_only = False
        # Set when opening had to set a damaged write-ahead log aside (see .recovery).
        self.recovered: dict[str, Any] | None = None
        self._started = False
        self._local = threading.local()
        self.journal = _journal.Journal(self.db_path)
        # Table layouts for the state recorder; emptied when the connection reopens.
        self._layouts: dict[str, Any] = {}
        self._head_key = str(self.db_path)
        self._resolved = _RESOLVED.setdefault(self._head_key, _Resolved())

    def _open_first(self) -> None:
        """Fail early, with a clear message, for a path that cannot be a registry."""
        if self.home.exists() and not self.home.is_dir():
            raise NotARegistry(f"{self.home} is a file, not a registry folder")
        with self._lease():
            pass

    # ------------------------------------------------------------------ connection
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.home)!r})"

    def close(self) -> None:
        """Close the connection (it reopens on the next operation)."""
        with self._lease_lock:
            if self._con is not None and self._refs == 0:
                with contextlib.suppress(Exception):
                    self._con.close()
                self._con = None
                self._layouts = {}
                self._forget()

    @property
    def is_connected(self) -> bool:
        return self._con is not None

    @contextlib.contextmanager
    def session(self) -> Iterator[Self]:
        """Hold the connection for a batch of operations (one open, one close)."""
        with self._lease():
            yield self

    def _close_for_exit(self) -> None:
        """Close the connection if no operation holds it (a busy thread is not waited for long)."""
        if self._lease_lock.acquire(timeout=5.0):
            try:
                if self._refs == 0:
                    self._close_now()
            finally:
                self._lease_lock.release()

    @contextlib.contextmanager
    def _lease(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lease_lock:
            if self._con is None:
                self._con = self._open_with_retry()
                _OPEN.add(self)
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
                        self._release_at = time.monotonic() + self.idle_release
                        if self._release_timer is None:
                            # One watcher per held connection, not one timer per read.
                            t = threading.Thread(
                                target=self._watch_idle, name="modelward-registry-hold", daemon=True
                            )
                            self._release_timer = t
                            t.start()

    def _forget(self) -> None:
        """Drop what is known about the file without reading it (it may change now)."""
        _HEADS.pop(self._head_key, None)
        self._resolved.forget()
        with self._resolved.lock:
            self._resolved.models.clear()

    def _memo_of_held(self) -> _Resolved | None:
        """The memo of resolved references, while this instance holds the file between calls."""
        return self._resolved if self.idle_release > 0 and self._con is not None else None

    def _watch_idle(self) -> None:
        """While the connection is held: let go on a knock or when the idle time is up."""
        while True:
            time.sleep(KNOCK_POLL)
            knocked = self._knocked()  # a stat (and a tiny read) outside the lock
            with self._lease_lock:
                if self._con is None:
                    self._release_timer = None
                    return
                if self._refs != 0:
                    continue  # at work: the lease's end checks the knock itself
                if knocked or time.monotonic() >= self._release_at:
                    self._close_now()
                    self._release_timer = None
                    return

    def _close_now(self) -> None:
        self._layouts = {}
        self._forget()
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
                if (
                    not told
                    and self.on_wait is not None
                    and time.monotonic() - start >= WAIT_NOTICE
                ):
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
            st = self._knock_path.stat()
            if time.time() - st.st_mtime > KNOCK_FRESH or st.st_size == 0:
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
            "storage_compatibility_version": STORAGE_COMPATIBILITY_VERSION,
            **duck.ONE_THREAD,
        }
        self.read_only = False
        recovered = None
        self._forget()  # the file may have changed while it was closed
        if exists and self._want_read_only:
            con_ro = self._open_reading(pinned)
            if con_ro is not None:
                self.read_only = True
                return con_ro
        try:
            try:
                con = duck_connect(str(self.db_path), config=pinned)
            except duck.Error as e:
                if not (exists and _recovery.is_corrupt_wal(e) and os.access(self.home, os.W_OK)):
                    raise
                # A damaged log makes DuckDB refuse the whole file: set the log aside
                # and open the last checkpoint, rather than fail on every start.
                recovered = _recovery.set_aside_wal(self.db_path, e)
                con = duck_connect(str(self.db_path), config=pinned)
        except duck.Error as e:
            err = self._translate_open_error(e)
            if not (exists and isinstance(err, RegistryUnwritable)):
                raise err from None
            # A registry we may read but not write (a colleague's, a shared
            # drive): open it read-only so browsing and verifying still work.
            try:
                con = duck_connect(str(self.db_path), read_only=True, config=pinned)
            except duck.Error as e2:
                raise self._translate_open_error(e2) from None
            self.read_only = True
        try:
            self._prepare(con)
            if not self.read_only and _journal.enabled():
                # The database may be behind its journal (a damaged or cut log, an
                # older copy put back): replay what was acknowledged, name the rest.
                replayed = _recovery.replay_journal(con, self.journal)
                if replayed is not None:
                    recovered = {**(recovered or {}), **replayed}
            if recovered is not None:
                cur = con.cursor()
                try:
                    cur.execute("BEGIN TRANSACTION")
                    tx = Tx(cur, self.actor)
                    _recovery.record_recovery(tx, recovered)
                    self._commit(cur, tx)
                finally:
                    cur.close()
                self.recovered = recovered
            if not self.read_only and not self._started:
                self._started = True
                self._on_first_open(con)
        except duck.Error as e:  # e.g. a damaged block met while checking the schema
            with contextlib.suppress(Exception):
                con.close()
            raise self._translate_open_error(e) from None
        except BaseException:
            with contextlib.suppress(Exception):
                con.close()
            raise
        return con

    def _open_reading(
        self, pinned: dict[str, str | bool | int | float | list[str]]
    ) -> duckdb.DuckDBPyConnection | None:
        """Open for reading only, or ``None`` when the writable open must do its work first.

        That is: a damaged log (recovery sets it aside), a schema to migrate,
        a database behind its journal (replay), or a lost change to record.
        """
        try:
            con = duck_connect(str(self.db_path), read_only=True, config=pinned)
        except duck.Error as e:
            err = self._translate_open_error(e)
            if isinstance(err, RegistryBusy):
                raise err from None
            return None
        try:
            # One statement for every check (each statement costs a read-only
            # open about a millisecond, and duckdb_tables() about 8 ms): a file
            # without these tables (new, or an old schema) fails it and takes
            # the writable open.
            version, running, db_seq = _first(
                con.execute(
                    "SELECT (SELECT value FROM meta WHERE key = ?), "
                    "(SELECT count(*) FROM runs WHERE status = 'running'), "
                    "(SELECT coalesce(max(seq), 0) FROM audit)",
                    [SCHEMA_VERSION_KEY],
                )
            )
            clean = version is not None and int(version) == SCHEMA_VERSION
            if clean and not self._started and self._leftovers_waiting(int(running)):
                clean = False  # the writable open's first-open sweep cleans them
            if clean and _journal.enabled():
                last = self.journal.last_head()
                if last is not None:
                    clean = last[0] <= int(db_seq)
        except duck.Error:
            clean = False
        if not clean:
            with contextlib.suppress(Exception):
                con.close()
            return None
        self._prepared = True
        return con

    def _leftovers_waiting(self, running: int) -> bool:
        """Whether a crash left something the first writable open would clean (see subclasses).

        ``running`` is the number of runs still marked running in the file.
        """
        return False

    def _on_first_open(self, con: duckdb.DuckDBPyConnection) -> None:
        """Called once per instance, the first time the file is opened writable (crash leftovers)."""

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
                f"ModelWard (DuckDB {duck.VERSION}) can read"
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
        try:
            con.execute("BEGIN TRANSACTION")
            for step in range(current, SCHEMA_VERSION):
                for stmt in MIGRATIONS[step]:
                    con.execute(stmt)
            meta = {
                SCHEMA_VERSION_KEY: str(SCHEMA_VERSION),
                "duckdb_version": duck.VERSION,
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
            if current < 7:
                # Where the journal begins: an existing chain is anchored from here on.
                con.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('journal_started', ?)",
                    [str(tx.head()[0])],
                )
            # A migration may rewrite rows: the replay restarts from the tables as they are.
            tx.changes.deltas = _state.baseline(con)
            self._commit(con, tx)
        except duck.Error as e:
            with contextlib.suppress(Exception):
                con.execute("ROLLBACK")
            raise RegistryError(f"could not prepare the registry {self.db_path}: {e}") from None
        self._prepared = True

    # ------------------------------------------------------------------ helpers
    @contextlib.contextmanager
    def _read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if (group := current_group(self._local)) is not None:  # see its own writes
            yield group.tx.cur
            return
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
        if (group := current_group(self._local)) is not None:  # joins self.group()
            with group.join() as tx:
                yield tx
            return
        with self._write_lock, self._lease() as con:
            if self.read_only:
                why = "was opened for reading" if self._want_read_only else "is read-only for you"
                raise RegistryUnwritable(
                    f"the registry {self.home} {why} ({self.actor}); nothing was changed"
                )
            cur = con.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                # known again only once this transaction commits
                tx = Tx(cur, self.actor, tail=_HEADS.pop(self._head_key, None))
                self._resolved.forget()
                tx.changes.layouts = self._layouts
                try:
                    yield tx
                    for wait in tx.before_commit:
                        wait()
                except BaseException:
                    with contextlib.suppress(Exception):
                        cur.execute("ROLLBACK")
                    raise
                try:
                    self._commit(cur, tx)
                except duck.Error as e:
                    with contextlib.suppress(Exception):
                        cur.execute("ROLLBACK")
                    raise self._translate_write_error(e) from None
                self._resolved.forget()
                if (head := tx.known_head()) is not None:
                    _HEADS[self._head_key] = head
                for done in tx.after_commit:
                    done()
            except duck.Error as e:
                raise self._translate_write_error(e) from None
            finally:
                cur.close()

    def _commit(self, cur: duckdb.DuckDBPyConnection, tx: Tx) -> None:
        """Seal the audit events, journal the change (one fsync), then COMMIT.

        The journal is written ahead of DuckDB's commit, so a process killed at
        any moment never leaves a committed change the journal lacks; a commit
        that fails is cancelled in the journal by an ``abort`` line. A change
        journaled but killed before its commit is replayed at the next open,
        as if the commit had landed and only the reply was lost.
        """
        rows = tx.seal()
        records: list[dict[str, Any]] = []
        synced = None
        if (rows or tx.wrote_audit_directly) and _journal.enabled():
            replayable = not tx.wrote_audit_directly and all(
                _state.replayable(json.loads(r[11]) if r[11] else None) for r in rows
            )
            if rows and not self.journal.path.exists():
                records.append({"k": "start", "seq": int(rows[0][0]) - 1, "hash": rows[0][9]})
            records.append(self.journal.tx_record(rows, tx.head(), replayable=replayable))
            try:
                synced = self.journal.append_async(records)
            except OSError as e:
                with contextlib.suppress(Exception):
                    cur.execute("ROLLBACK")
                raise RegistryUnwritable(
                    f"cannot write the journal {self.journal.path}: {e.strerror or e}; "
                    "nothing was changed"
                ) from None
        try:
            cur.execute("COMMIT")
        except BaseException:
            if records:
                with contextlib.suppress(OSError):
                    self.journal.append([{"k": "abort", "seq": records[-1]["seq"]}])
            raise
        finally:
            if synced is not None:
                try:
                    synced.result()  # acknowledged only once the journal is on disk
                except OSError as e:
                    log.error("the journal %s could not be synced: %s", self.journal.path, e)
        tx.commit_epoch = self._resolved.committed(tx.registration is not None)

    def unacknowledged_loss(self) -> dict[str, Any] | None:
        """Changes a recovery could not replay, until someone acknowledges them (or ``None``)."""
        return self.journal.unacknowledged_loss()

    def group(self) -> contextlib.AbstractContextManager[TxGroup]:
        """Commit this thread's transactions until exit as one (see :class:`TxGroup`)."""
        return open_group(self)

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
