"""Runs (training, validation, monitoring jobs) and their metric time series.

A run is created ``running`` with its owner (host tag and process id) in its
``result`` until it finishes; a run whose owner died without finishing it (a
SIGKILL, a power cut) is closed as ``interrupted`` by :func:`close_dead_runs`
the next time the registry is opened for writing.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from modelward.core import platform
from modelward.core.clock import utcnow
from modelward.core.errors import Cancelled, InvalidInput, ModelWardError
from modelward.core.registry.connection import RegistryConnection
from modelward.core.registry.tx import Tx, _dumps, _first

if TYPE_CHECKING:
    import duckdb

INTERRUPTED = "interrupted"


def run_owner() -> dict[str, Any]:
    """Who runs a run: this machine's tag and this process's id."""
    return {"host": platform.host_tag(), "pid": os.getpid()}


def close_dead_runs(
    con: duckdb.DuckDBPyConnection,
    actor: str,
    commit: Callable[[duckdb.DuckDBPyConnection, Tx], None] | None = None,
    layouts: dict[str, Any] | None = None,
) -> list[int]:
    """Close as ``interrupted`` the runs left ``running`` by a process of this machine that died.

    Runs of a live process, of another machine, or without a recorded owner
    (made by an older ModelWard) are left as they are. One ``run.interrupted``
    audit event per closed run, in one transaction.

    Parameters
    ----------
    con
        An open, writable connection (the registry calls this while opening).
    actor
        Who the audit events name.
    commit
        The registry's commit (it seals the events with the state delta and
        journals them); a bare ``COMMIT`` when ``None`` (tests of this function).
    layouts
        The registry's table layouts, shared with its other transactions.

    Returns
    -------
    list of int
        The ids of the runs closed.
    """
    rows = con.execute("SELECT id, result FROM runs WHERE status = 'running'").fetchall()
    dead: list[tuple[int, dict[str, Any]]] = []
    for rid, result in rows:
        try:
            owner = (json.loads(result or "{}") or {}).get("owner") or {}
        except (ValueError, AttributeError):
            continue
        if owner.get("host") != platform.host_tag() or not isinstance(owner.get("pid"), int):
            continue
        if not platform.process_alive(owner["pid"]):
            dead.append((int(rid), owner))
    if not dead:
        return []
    cur = con.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")
        tx = Tx(cur, actor)
        if layouts is not None:
            tx.changes.layouts = layouts
        now = utcnow()
        for rid, owner in dead:
            error = f"interrupted: its process (pid {owner['pid']}) ended without finishing it"
            tx.q(
                "UPDATE runs SET status = ?, error = ?, finished_at = ?, result = '{}' "
                "WHERE id = ? AND status = 'running'",
                [INTERRUPTED, error, now, rid],
            )
            tx.audit(
                "run.interrupted",
                "run",
                rid,
                before={"status": "running", "owner": owner},
                after={"status": INTERRUPTED, "error": error},
            )
        if commit is not None:
            commit(cur, tx)
        else:
            tx.seal()
            cur.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()
    return [rid for rid, _ in dead]


class RunsMixin(RegistryConnection):
    """Runs and metric series of a :class:`~modelward.core.registry.Registry`."""

    # ------------------------------------------------------------------ metrics time series
    def create_run(self, kind: str, *, params: dict[str, Any] | None = None) -> int:
        with self.transaction() as tx:
            rid = tx.next_id("seq_runs")
            now = utcnow()
            tx.q(
                "INSERT INTO runs (id, kind, status, params, result, created_at, started_at, "
                "created_by) VALUES (?,?,?,?,?,?,?,?)",
                [
                    rid,
                    kind,
                    "running",
                    _dumps(params),
                    _dumps({"owner": run_owner()}),
                    now,
                    now,
                    tx.actor,
                ],
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
                e.audited_as = "run.failed"  # a door does not record it again as a refusal
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
        import numpy as np  # deferred: start-up cost (the CLI opens a registry on every command)

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

    def run_result(self, run_id: int) -> dict[str, Any]:
        """The stored result of run ``run_id`` (``{}`` for an unknown or unfinished run).

        A training run's result carries ``search``: every candidate of its
        parameter search with its mean cross-validated score.
        """
        with self._read() as cur:
            row = cur.execute("SELECT result FROM runs WHERE id = ?", [run_id]).fetchone()
        if not row or not row[0]:
            return {}
        value = json.loads(row[0]) if isinstance(row[0], str) else row[0]
        return value if isinstance(value, dict) else {}

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
