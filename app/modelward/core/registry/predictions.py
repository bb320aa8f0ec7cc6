"""The prediction log, shadow challengers and late labels: what scoring leaves for monitoring.

Every scored batch leaves one row in ``pred_log`` per model version that
scored it (the champion, whose output another system reads, and each shadow
challenger, whose output nobody reads): a summary (row count, class counts,
mean score, a score histogram) always, and, when asked, the rows themselves
(id, prediction, score) as a Parquet file in the artifact store, so labels
that arrive later join by id and turn estimates into realized metrics.

The tables are created on first use (``CREATE TABLE IF NOT EXISTS``), so a
registry that never scored keeps its schema; they sit on the storage floor,
below both scoring (compute) and monitoring, which read the log through
:func:`read_predictions` without knowing each other.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np

from modelward.core.clock import utcnow
from modelward.core.duck import connect as duck_connect
from modelward.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from modelward.core.registry.registry import Registry
    from modelward.core.registry.tx import Tx

__all__ = [
    "CHAMPION",
    "KEPT_PASS",
    "SHADOW",
    "LoggedBatch",
    "ScoreSummary",
    "add_shadow",
    "list_shadows",
    "log_predictions",
    "logged_scores",
    "prune_predictions",
    "read_labels",
    "read_predictions",
    "remove_shadow",
    "store_labels",
]

CHAMPION = "champion"
SHADOW = "shadow"
HIST_BINS = 20

_TABLES = (
    """CREATE TABLE IF NOT EXISTS pred_log (
        batch_id VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        role VARCHAR NOT NULL,
        rows BIGINT NOT NULL,
        summary VARCHAR NOT NULL,
        rows_sha256 VARCHAR,
        id_column VARCHAR,
        source VARCHAR,
        logged_at VARCHAR NOT NULL,
        PRIMARY KEY (batch_id, model, version))""",
    """CREATE TABLE IF NOT EXISTS pred_shadows (
        model VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        added_at VARCHAR NOT NULL,
        added_by VARCHAR NOT NULL,
        PRIMARY KEY (model, version))""",
    """CREATE TABLE IF NOT EXISTS pred_labels (
        model VARCHAR NOT NULL,
        id VARCHAR NOT NULL,
        label VARCHAR,
        arrived_at VARCHAR NOT NULL,
        PRIMARY KEY (model, id))""",
)


KEPT_PASS = "monitor_pass"
"""The key of a logged batch's summary that names the monitoring pass ``score`` kept of
it (:class:`~modelward.core.monitoring.service.KeptPass`): ``{"sha256", "profile"}``."""


def _ensure(tx: Tx) -> None:
    for sql in _TABLES:
        tx.q(sql)


def _exists(registry: Registry, table: str) -> bool:
    with registry.read() as cur:
        rows = cur.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [table]
        ).fetchall()
    return bool(rows)


# --------------------------------------------------------------------------- summaries
@dataclass
class ScoreSummary:
    """A batch's predictions in a few numbers, built batch by batch (bounded memory).

    ``score`` is the probability of the second class of a binary classifier,
    the top probability of a multi-class one, or a regressor's prediction.
    """

    rows: int = 0
    classes: dict[str, int] = field(default_factory=dict)
    score_sum: float = 0.0
    score_sq: float = 0.0
    score_min: float = math.inf
    score_max: float = -math.inf
    hist: list[int] = field(default_factory=lambda: [0] * HIST_BINS)
    probability: bool = True

    def add(self, predictions: Any, score: Any) -> None:
        pred = np.asarray(predictions)
        self.rows += int(pred.size)
        if pred.size and pred.dtype.kind in "OUSbiu":
            whole = pred.dtype.kind in "biu"
            lo, hi = (int(pred.min()), int(pred.max())) if whole else (0, 0)
            if whole and -(2**62) < lo and hi < 2**62 and hi - lo < 65_536:
                # whole-number labels: counted without sorting (np.unique sorts each batch)
                tally = np.bincount((pred.astype(np.int64).ravel() - lo).astype(np.intp))
                seen = np.flatnonzero(tally)
                vals, counts = pred.dtype.type(seen + lo), tally[seen]
            else:
                vals, counts = np.unique(pred, return_counts=True)
            for v, c in zip(vals.tolist(), counts.tolist(), strict=True):
                self.classes[str(v)] = self.classes.get(str(v), 0) + int(c)
        s = np.asarray(score, dtype=np.float64) if score is not None else np.empty(0)
        s = s[np.isfinite(s)]
        if not s.size:
            return
        self.score_sum += float(s.sum())
        self.score_sq += float((s * s).sum())
        self.score_min = min(self.score_min, float(s.min()))
        self.score_max = max(self.score_max, float(s.max()))
        if self.probability:
            h, _ = np.histogram(np.clip(s, 0.0, 1.0), bins=HIST_BINS, range=(0.0, 1.0))
            self.hist = [a + int(b) for a, b in zip(self.hist, h.tolist(), strict=True)]

    def to_json(self) -> dict[str, Any]:
        n = sum(self.hist) if self.probability else self.rows
        mean = self.score_sum / n if n else None
        var = (self.score_sq / n - mean * mean) if n and mean is not None else None
        return {
            "rows": self.rows,
            "classes": self.classes,
            "score_mean": mean,
            "score_std": math.sqrt(max(var, 0.0)) if var is not None else None,
            "score_min": self.score_min if n else None,
            "score_max": self.score_max if n else None,
            "score_hist": self.hist if self.probability else None,
            "score_is_probability": self.probability,
        }


def score_column(proba: Any, predictions: Any) -> tuple[np.ndarray | None, bool]:
    """The one number per row the log keeps, and whether it is a probability."""
    if proba is not None:
        p = np.asarray(proba, dtype=np.float64)
        if p.ndim == 2:
            return (p[:, 1] if p.shape[1] == 2 else p.max(axis=1)), True
        return p, True
    pred = np.asarray(predictions)
    if pred.dtype.kind in "fiu":
        return pred.astype(np.float64), False
    return None, False


# --------------------------------------------------------------------------- the log
@dataclass(frozen=True)
class LoggedBatch:
    """One model version's predictions for one batch, as logged."""

    batch_id: str
    model: str
    version: int
    role: str
    rows: int
    summary: dict[str, Any]
    rows_sha256: str | None
    id_column: str | None
    source: str | None
    logged_at: str

    @property
    def ref(self) -> str:
        return f"{self.model}:{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "ref": self.ref,
            "role": self.role,
            "rows": self.rows,
            "summary": self.summary,
            "row_level": self.rows_sha256 is not None,
            "id_column": self.id_column,
            "source": self.source,
            "logged_at": self.logged_at,
        }


def log_predictions(
    registry: Registry,
    model: str,
    version: int,
    batch_id: str,
    ids: Sequence[Any] | np.ndarray | None,
    predictions: Sequence[Any] | np.ndarray,
    proba: np.ndarray | None,
    rows: bool = False,
    *,
    role: str = CHAMPION,
    id_column: str | None = None,
    source: str | None = None,
    summary: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> LoggedBatch:
    """Log one version's predictions for one batch (again for the same batch: replaced,
    but a summary-only log keeps the rows an earlier log of that batch stored).

    Parameters
    ----------
    registry
        The registry.
    model, version
        Who scored.
    batch_id
        The batch's key (scoring uses the first 16 hex digits of the input's SHA-256).
    ids
        One id per prediction (the batch's id column, or row numbers); needed
        only when ``rows`` is true.
    predictions, proba
        The predictions and, for a classifier, the class probabilities
        (``rows × classes``).
    rows
        Keep the rows (id, prediction, score) as Parquet in the artifact
        store, not only the summary.
    role
        ``champion`` (its output was written) or ``shadow``.
    id_column, source
        What the ids are and where the batch came from (shown).
    summary
        A summary built while streaming (:class:`ScoreSummary`); default: from the arrays.
    extra
        More numbers for the summary (a shadow's agreement with the champion).

    Returns
    -------
    LoggedBatch
    """
    if role not in (CHAMPION, SHADOW):
        raise InvalidInput(f"unknown role {role!r}")
    pred = np.asarray(predictions)
    score, is_prob = score_column(proba, pred)
    if summary is None:
        s = ScoreSummary(probability=is_prob)
        s.add(pred, score)
        summary = s.to_json()
    summary = {**summary, **(extra or {})}
    rows_sha: str | None = None
    if rows:
        if ids is None or len(ids) != len(pred):
            raise InvalidInput("row-level logging needs one id per prediction")
        rows_sha = _store_rows(registry, ids, pred, score)
    now = utcnow()
    n = int(summary.get("rows", len(pred)))
    with registry.transaction() as tx:
        _ensure(tx)
        if rows_sha is None:
            # The same bytes scored again by the same version with only a summary:
            # the rows logged before stay (the labels that joined them by id, the
            # check's kept pass), with what the earlier log knew that this one does not.
            before = tx.q(
                "SELECT summary, rows_sha256, id_column FROM pred_log "
                "WHERE batch_id = ? AND model = ? AND version = ? AND rows_sha256 IS NOT NULL",
                [batch_id, model, int(version)],
            ).fetchone()
            if before is not None:
                summary = {**json.loads(before[0]), **summary}
                rows_sha, id_column = before[1], before[2]
        tx.q(
            "INSERT OR REPLACE INTO pred_log VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                batch_id,
                model,
                int(version),
                role,
                n,
                json.dumps(summary, default=float),
                rows_sha,
                id_column,
                source,
                now,
            ],
        )
    return LoggedBatch(
        batch_id, model, int(version), role, n, summary, rows_sha, id_column, source, now
    )


def _store_rows(registry: Registry, ids: Any, pred: np.ndarray, score: np.ndarray | None) -> str:
    import pandas as pd  # deferred: start-up cost

    frame = pd.DataFrame(
        {
            "id": np.array([None if v is None else str(v) for v in ids], dtype=object),
            "prediction": pred.astype(str) if pred.dtype.kind not in "fiub" else pred,
            "score": (
                np.asarray(score, dtype=np.float64)
                if score is not None
                else np.zeros(len(pred), dtype=np.float64)
            ),
        },
        copy=False,
    )
    # no score (a classifier without probabilities): a column of nulls, as before
    score_sql = "score" if score is not None else "CAST(NULL AS DOUBLE) AS score"
    with tempfile.TemporaryDirectory(prefix="modelward-log-") as tmp:
        part = Path(tmp) / "rows.parquet"
        con = duck_connect()
        try:
            con.register("mw_rows", frame)
            con.execute(
                f"COPY (SELECT CAST(id AS VARCHAR) AS id, prediction, {score_sql} FROM mw_rows) "
                f"TO '{_sql_path(part)}' (FORMAT parquet, COMPRESSION zstd)"
            )
        finally:
            con.close()
        sha, _ = registry.artifacts.put_bytes(part.read_bytes())
    return sha


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


@overload
def read_predictions(
    registry: Registry,
    model: str,
    *,
    version: int | None = ...,
    batch_id: str | None = ...,
    role: str | None = ...,
    rows: Literal[False] = ...,
) -> list[LoggedBatch]: ...


@overload
def read_predictions(
    registry: Registry,
    model: str,
    *,
    version: int | None = ...,
    batch_id: str | None = ...,
    role: str | None = ...,
    rows: Literal[True],
) -> Any: ...


def read_predictions(
    registry: Registry,
    model: str,
    *,
    version: int | None = None,
    batch_id: str | None = None,
    role: str | None = None,
    rows: bool = False,
) -> list[LoggedBatch] | Any:
    """The logged batches of ``model`` (newest first), or with ``rows`` their rows.

    Returns
    -------
    list of LoggedBatch, or pandas.DataFrame
        With ``rows``: one frame of ``batch_id``, ``version``, ``role``, ``id``,
        ``prediction`` (as text) and ``score``, from the batches logged at row level.
    """
    if not _exists(registry, "pred_log"):
        found: list[LoggedBatch] = []
    else:
        sql = (
            "SELECT batch_id, model, version, role, rows, summary, rows_sha256, id_column,"
            " source, logged_at FROM pred_log WHERE model = ?"
        )
        params: list[Any] = [model]
        for col, val in (("version", version), ("batch_id", batch_id), ("role", role)):
            if val is not None:
                sql += f" AND {col} = ?"
                params.append(val)
        with registry.read() as cur:
            got = cur.execute(sql + " ORDER BY logged_at DESC, version", params).fetchall()
        found = [
            LoggedBatch(r[0], r[1], int(r[2]), r[3], int(r[4]), json.loads(r[5]), *r[6:])
            for r in got
        ]
    if not rows:
        return found
    import pandas as pd  # deferred: start-up cost

    columns = ["batch_id", "version", "role", "id", "prediction", "score"]
    parts = []
    with tempfile.TemporaryDirectory(prefix="modelward-log-") as tmp:
        con = duck_connect()
        try:
            for k, b in enumerate(found):
                if b.rows_sha256 is None:
                    continue
                part = Path(tmp) / f"{k}.parquet"
                part.write_bytes(registry.artifacts.read_bytes(b.rows_sha256))
                parts.append(
                    con.execute(
                        "SELECT ?::VARCHAR AS batch_id, ?::INTEGER AS version, ?::VARCHAR AS role,"
                        " CAST(id AS VARCHAR) AS id, CAST(prediction AS VARCHAR) AS prediction,"
                        f" CAST(score AS DOUBLE) AS score FROM read_parquet('{_sql_path(part)}')",
                        [b.batch_id, b.version, b.role],
                    ).df()
                )
        finally:
            con.close()
    if not parts:
        return pd.DataFrame(
            {
                "batch_id": pd.Series([], dtype=object),
                "version": pd.Series([], dtype=np.int32),
                "role": pd.Series([], dtype=object),
                "id": pd.Series([], dtype=object),
                "prediction": pd.Series([], dtype=object),
                "score": pd.Series([], dtype=np.float64),
            }
        )[columns]
    return pd.concat(parts, ignore_index=True)[columns]


def logged_scores(registry: Registry, batch: LoggedBatch) -> np.ndarray:
    """The score of each row of one batch logged at row level, in the order it was scored.

    Only the scores (NaN where a row has none): what a batch check reads back
    instead of scoring the batch again. :func:`read_predictions` with ``rows``
    also builds the ids and predictions as text, which for a million rows costs
    more than the check's own pass over the file.
    """
    if batch.rows_sha256 is None:
        raise InvalidInput(f"batch {batch.batch_id} was not logged row by row")
    with tempfile.TemporaryDirectory(prefix="modelward-log-") as tmp:
        part = Path(tmp) / "rows.parquet"
        part.write_bytes(registry.artifacts.read_bytes(batch.rows_sha256))  # verified
        con = duck_connect()
        try:
            got = con.execute(
                f"SELECT CAST(score AS DOUBLE) AS score FROM read_parquet('{_sql_path(part)}')"
            ).fetchnumpy()["score"]
        finally:
            con.close()
    return np.ma.filled(np.ma.asarray(got, dtype=np.float64), np.nan)


def prune_predictions(tx: Tx, cutoff: str) -> int:
    """Delete log entries logged before ``cutoff`` in ``tx`` (retention); returns how many.

    The row files they named stay in the artifact store until the store's
    own sweep; nothing else points at them.
    """
    if not tx.q("SELECT 1 FROM information_schema.tables WHERE table_name = 'pred_log'").fetchall():
        return 0
    n = tx.q("SELECT count(*) FROM pred_log WHERE logged_at < ?", [cutoff]).fetchall()[0][0]
    tx.q("DELETE FROM pred_log WHERE logged_at < ?", [cutoff])
    return int(n)


# --------------------------------------------------------------------------- shadows
def list_shadows(registry: Registry, model: str) -> list[int]:
    """The versions of ``model`` that score its batches in the shadow."""
    if not _exists(registry, "pred_shadows"):
        return []
    with registry.read() as cur:
        got = cur.execute(
            "SELECT version FROM pred_shadows WHERE model = ? ORDER BY version", [model]
        ).fetchall()
    return [int(r[0]) for r in got]


def add_shadow(registry: Registry, model: str, version: int, *, reason: str | None = None) -> str:
    """Let ``model:version`` score the model's batches in the shadow (audited); returns the ref."""
    v = registry.resolve(f"{model}:{int(version)}")
    with registry.transaction() as tx:
        _ensure(tx)
        if tx.q(
            "SELECT 1 FROM pred_shadows WHERE model = ? AND version = ?", [model, v.version]
        ).fetchall():
            return v.ref
        tx.q("INSERT INTO pred_shadows VALUES (?,?,?,?)", [model, v.version, utcnow(), tx.actor])
        tx.audit("shadow.added", "version", v.ref, after={"shadow": True}, reason=reason)
    return v.ref


def remove_shadow(
    registry: Registry, model: str, version: int, *, reason: str | None = None
) -> str:
    """Stop ``model:version`` scoring in the shadow (audited)."""
    ref = f"{model}:{int(version)}"
    if int(version) not in list_shadows(registry, model):
        raise NotFound(f"{ref} is not a shadow challenger")
    with registry.transaction() as tx:
        tx.q("DELETE FROM pred_shadows WHERE model = ? AND version = ?", [model, int(version)])
        tx.audit("shadow.removed", "version", ref, before={"shadow": True}, reason=reason)
    return ref


# --------------------------------------------------------------------------- labels
def store_labels(
    registry: Registry, model: str, ids: Sequence[Any], labels: Sequence[Any], *, source: str
) -> int:
    """Keep labels that arrived for ``model``'s scored rows (a later label for an id replaces it).

    Audited once (``labels.added``, with the count and the source). Returns the count.
    """
    import pandas as pd  # deferred: start-up cost

    if len(ids) != len(labels):
        raise InvalidInput("one label per id")
    now = utcnow()
    table = pd.DataFrame(
        {
            "model": np.full(len(ids), model, dtype=object),
            "id": np.array([str(i) for i in ids], dtype=object),
            "label": np.array([None if v is None else str(v) for v in labels], dtype=object),
            "arrived_at": np.full(len(ids), now, dtype=object),
        },
        copy=False,
    )
    with registry.transaction() as tx:
        _ensure(tx)
        tx.cur.register("mw_labels_in", table)
        try:
            tx.q(
                "INSERT OR REPLACE INTO pred_labels "
                "SELECT CAST(model AS VARCHAR), CAST(id AS VARCHAR), last(CAST(label AS VARCHAR)),"
                " last(CAST(arrived_at AS VARCHAR)) FROM mw_labels_in GROUP BY 1, 2"
            )
        finally:
            tx.cur.unregister("mw_labels_in")
        tx.audit("labels.added", "model", model, after={"rows": len(ids), "source": source})
    return len(ids)


def read_labels(registry: Registry, model: str) -> dict[str, str | None]:
    """Id → label of the labels that arrived for ``model``."""
    if not _exists(registry, "pred_labels"):
        return {}
    with registry.read() as cur:
        got = cur.execute("SELECT id, label FROM pred_labels WHERE model = ?", [model]).fetchall()
    return {str(r[0]): r[1] for r in got}
