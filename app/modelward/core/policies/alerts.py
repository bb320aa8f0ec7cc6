"""Alerts: stored and audited, appended to ``logs/alerts.log``, optionally forwarded.

An alert is one row (``pol_alerts``) and one ``alert.raised`` audit event,
written together. It is also appended as a JSON line to ``logs/alerts.log``
under the registry home, and, when the model's policy names an
``alert_command``, that program runs with the alert as JSON on stdin (an argv
list, never a shell string, with a timeout), so a site can forward alerts to
its mail, chat or ticketing tool. A failing command never stops the caller; it
is recorded as ``alert.command_failed``.

The window's notification list is a view over :func:`list_alerts`,
:func:`unread_count` and :func:`acknowledge_alert`.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from modelward.core.clock import utcnow
from modelward.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = [
    "SEVERITIES",
    "Alert",
    "acknowledge_alert",
    "acknowledge_all",
    "list_alerts",
    "raise_alert",
    "unread_count",
]

log = logging.getLogger(__name__)

INFO, WARNING, CRITICAL = "info", "warning", "critical"
SEVERITIES = (INFO, WARNING, CRITICAL)
ALERTS_LOG = "alerts.log"


@dataclass(frozen=True)
class Alert:
    """One alert: what happened, to which model, with the numbers behind it."""

    id: int
    model: str | None
    severity: str
    kind: str
    message: str
    numbers: dict[str, Any]
    policy_run_id: int | None
    created_at: str
    created_by: str
    acknowledged_at: str | None = None
    acknowledged_by: str | None = None

    @property
    def unread(self) -> bool:
        return self.acknowledged_at is None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["unread"] = self.unread
        return d


_COLS = (
    "id, model_name, severity, kind, message, numbers, policy_run_id, created_at, created_by, "
    "acknowledged_at, acknowledged_by"
)


def _row(r: Sequence[Any]) -> Alert:
    return Alert(
        int(r[0]),
        r[1],
        r[2],
        r[3],
        r[4],
        json.loads(r[5] or "{}"),
        None if r[6] is None else int(r[6]),
        r[7],
        r[8],
        r[9],
        r[10],
    )


def raise_alert(
    registry: Registry,
    model: str | None,
    kind: str,
    message: str,
    *,
    severity: str = WARNING,
    numbers: dict[str, Any] | None = None,
    policy_run_id: int | None = None,
    command: Sequence[str] = (),
    timeout: float = 10.0,
) -> Alert:
    """Store, audit, log and (optionally) forward one alert.

    Parameters
    ----------
    registry
        The registry.
    model
        The model it concerns (``None`` for the registry as a whole).
    kind
        A short machine-readable kind: ``trigger``, ``retrain-failed``,
        ``gates-failed``, ``approval-requested``, ``promoted``, …
    message
        One sentence for a person.
    severity
        ``info``, ``warning`` or ``critical``.
    numbers
        The figures behind it (which trigger, which values, which gates).
    command
        Program and arguments to run with the alert as JSON on stdin.
    timeout
        Seconds the command may take before it is stopped.

    Returns
    -------
    Alert
    """

    if severity not in SEVERITIES:
        raise InvalidInput(f"unknown severity {severity!r}: use {', '.join(SEVERITIES)}")
    nums = json.loads(json.dumps(numbers or {}, default=str))
    now = utcnow()
    with registry.transaction() as tx:
        aid = tx.next_id("seq_pol_alerts")
        tx.q(
            f"INSERT INTO pol_alerts ({_COLS}) VALUES (?,?,?,?,?,?,?,?,?,NULL,NULL)",
            [aid, model, severity, kind, message, json.dumps(nums), policy_run_id, now, tx.actor],
        )
        tx.audit(
            "alert.raised",
            "model" if model else "registry",
            model or "alerts",
            after={
                "alert_id": aid,
                "severity": severity,
                "kind": kind,
                "message": message,
                "numbers": nums,
                "policy_run_id": policy_run_id,
            },
        )
    alert = Alert(aid, model, severity, kind, message, nums, policy_run_id, now, registry.actor)
    _append_log(registry, alert)
    if command:
        _run_command(registry, alert, command, timeout)
    return alert


def _append_log(registry: Registry, alert: Alert) -> None:
    try:
        registry.logs_dir.mkdir(parents=True, exist_ok=True)
        with open(registry.logs_dir / ALERTS_LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps(alert.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
    except OSError as e:  # the alert is stored and audited; the log file is a copy
        log.warning("cannot append to %s: %s", registry.logs_dir / ALERTS_LOG, e)


def _run_command(registry: Registry, alert: Alert, command: Sequence[str], timeout: float) -> None:
    argv = [str(a) for a in command]
    payload = json.dumps(alert.to_json(), ensure_ascii=False)
    problem: str | None = None
    try:
        done = subprocess.run(  # noqa: S603 - an argv list from the policy, never a shell
            argv,
            input=payload,
            text=True,
            capture_output=True,
            timeout=timeout,
            shell=False,
            check=False,
        )
        if done.returncode != 0:
            tail = (done.stderr or "").strip().splitlines()
            problem = f"exited with code {done.returncode}" + (f": {tail[-1]}" if tail else "")
    except subprocess.TimeoutExpired:
        problem = f"did not finish within {timeout:g} s and was stopped"
    except OSError as e:
        problem = f"could not be started: {e.strerror or e}"
    if problem is None:
        return
    try:
        registry.record_event(
            "alert.command_failed",
            "model" if alert.model else "registry",
            alert.model or "alerts",
            after={"alert_id": alert.id, "command": argv[0] if argv else "", "problem": problem},
        )
    except Exception:  # never let forwarding stop the caller
        log.exception("cannot record the failed alert command")


def list_alerts(
    registry: Registry,
    *,
    unread_only: bool = False,
    model: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> list[Alert]:
    """Alerts, newest first (a page of ``limit`` from ``offset``)."""
    clauses, args = [], []
    if unread_only:
        clauses.append("acknowledged_at IS NULL")
    if model:
        clauses.append("model_name = ?")
        args.append(model)
    sql = f"SELECT {_COLS} FROM pol_alerts"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    with registry.read() as cur:
        rows = cur.execute(sql, args).fetchall()
    return [_row(r) for r in rows]


def unread_count(registry: Registry, *, model: str | None = None) -> int:
    """How many alerts nobody acknowledged yet (the badge)."""
    sql = "SELECT count(*) FROM pol_alerts WHERE acknowledged_at IS NULL"
    args: list[Any] = []
    if model:
        sql += " AND model_name = ?"
        args.append(model)
    with registry.read() as cur:
        return int(cur.execute(sql, args).fetchall()[0][0])


def acknowledge_alert(registry: Registry, alert_id: int, *, note: str | None = None) -> Alert:
    """Mark one alert as seen by the registry's user (audited as ``alert.acknowledged``)."""

    with registry.transaction() as tx:
        rows = tx.q(f"SELECT {_COLS} FROM pol_alerts WHERE id = ?", [alert_id]).fetchall()
        if not rows:
            raise NotFound(f"no alert with id {alert_id}")
        a = _row(rows[0])
        if not a.unread:
            return a
        now = utcnow()
        tx.q(
            "UPDATE pol_alerts SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ?",
            [now, tx.actor, alert_id],
        )
        tx.audit(
            "alert.acknowledged",
            "model" if a.model else "registry",
            a.model or "alerts",
            after={"alert_id": alert_id},
            reason=note,
        )
    return Alert(**{**asdict(a), "acknowledged_at": now, "acknowledged_by": registry.actor})


def acknowledge_all(registry: Registry, *, model: str | None = None) -> int:
    """Acknowledge every unread alert (of ``model``); returns how many."""
    ids = [a.id for a in list_alerts(registry, unread_only=True, model=model, limit=None)]
    for aid in ids:
        acknowledge_alert(registry, aid)
    return len(ids)
