"""Batch scoring: a registered model decides a file of rows, and another system reads the result.

``score_file`` resolves the model reference once, loads the model through the
safe loader, then streams the input (CSV or Parquet, both read by DuckDB) in
batches, so a file larger than memory is scored in bounded memory. Each
batch is converted to the types the model was trained on; rows that cannot
be scored (text in a number column, an infinite value, a missing value the
model cannot take, a value the model refuses) go to
``<out>.rejected.csv`` with the reason, never silently dropped.

DuckDB writes the output too (Parquet or CSV): scoring needs no pyarrow.

Everything is written under temporary names in the output's folder, flushed
to disk and renamed only when the whole input has been scored and the audit
event recorded; a failed or cancelled run leaves nothing behind. The manifest
``<out>.manifest.json`` says which model version scored which bytes into which
bytes, so an output can be traced back to its model and input.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import functools
import gc
import hashlib
import io
import json
import os
import queue
import secrets
import shutil
import stat
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

import modelward.core.compute.data as _data
from modelward import __version__
from modelward.core import duck, platform
from modelward.core.artifacts.allowlist import Allowlist
from modelward.core.artifacts.safeload import approved_globals, load_bytes
from modelward.core.artifacts.store import hash_rest, sha256_file
from modelward.core.clock import utcnow
from modelward.core.compute.decision import stored_threshold
from modelward.core.compute.explain import reason_columns
from modelward.core.compute.parallel import limited_threads
from modelward.core.duck import connect as duck_connect
from modelward.core.errors import InvalidInput
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress
from modelward.core.refs import current_user
from modelward.core.registry.predictions import (
    CHAMPION,
    KEPT_PASS,
    ScoreSummary,
    log_predictions,
    score_column,
)
from modelward.core.registry.refusals import door
from modelward.core.tables import (
    MISSING_SQL,
    NUMERIC_TYPES,
    PARQUET,
    TRIM_SQL,
    check_signature,
    explain,
    open_table,
)

__all__ = [
    "FORMATS",
    "LOG_MODES",
    "ScoreResult",
    "output_paths",
    "read_manifest",
    "score_file",
    "stored_threshold",
]

FORMATS = ("csv", "parquet")
_NUMERIC = _data.NUMERIC
_CATEGORICAL = _data.CATEGORICAL
_BATCH_ROWS = 65_536


@dataclass(frozen=True)
class ScoreResult:
    """What one scoring run read, wrote and recorded.

    ``rejected`` is ``None`` when every row was scored. ``threshold_source`` is
    ``"version"`` (stored with the model), ``"option"`` (given for this run) or
    ``None`` (no decision column).
    """

    ref: str
    name: str
    version: int
    sha256: str
    input: str
    input_sha256: str
    output: str
    output_sha256: str
    format: str
    rejected: str | None
    manifest: str
    manifest_sha256: str
    rows_in: int
    rows_scored: int
    rows_rejected: int
    threshold: float | None
    threshold_source: str | None
    columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    audit_seq: int | None = None
    batch_id: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    predictions: tuple[Any, Any, Any] | None = field(default=None, repr=False, compare=False)
    """``(ids, prediction, proba)`` when asked for (``keep_predictions``); not in the JSON."""

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "input": self.input,
            "input_sha256": self.input_sha256,
            "output": self.output,
            "output_sha256": self.output_sha256,
            "format": self.format,
            "rejected": self.rejected,
            "manifest": self.manifest,
            "manifest_sha256": self.manifest_sha256,
            "rows": {
                "in": self.rows_in,
                "scored": self.rows_scored,
                "rejected": self.rows_rejected,
            },
            "threshold": self.threshold,
            "threshold_source": self.threshold_source,
            "columns": self.columns,
            "seconds": round(self.seconds, 3),
            "audit_seq": self.audit_seq,
            "batch_id": self.batch_id,
            "summary": self.summary,
        }


def output_paths(out: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    """``(output, rejected rows, manifest)`` for the output path ``out``."""
    p = Path(out)
    return p, p.with_name(p.name + ".rejected.csv"), p.with_name(p.name + ".manifest.json")


def read_manifest(out: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest beside the output ``out``, or ``None`` when there is none (or it is unreadable)."""
    try:
        doc = json.loads(output_paths(out)[2].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


# --------------------------------------------------------------------------- the model
@dataclass
class _Model:
    """The loaded model and how it is fed and read."""

    est: Any
    features: list[str]
    kinds: dict[str, str]
    classes: np.ndarray | None
    has_proba: bool
    argmax_predicts: bool
    rejects_nan: bool
    reasons: Any = None  # a reasons.ReasonColumns when reason codes are asked for
    # features fitted on bools (DuckDB's CSV reader types yes/no, True/False BOOLEAN):
    # their text is read as truth words, 1/0. From the recorded dtypes, or, where
    # none are recorded, from the first batch
    truth: set[str] = field(default_factory=set)

    @property
    def binary(self) -> bool:
        return self.classes is not None and len(self.classes) == 2


def _final_step(est: Any) -> Any:
    steps = getattr(est, "steps", None)
    return steps[-1][1] if steps else est


def _describe_model(version: Any, est: Any) -> _Model:
    sig = version.signature or {}
    kinds: dict[str, str] = {}
    if sig.get("features"):
        for f in sig["features"]:
            kinds[str(f["name"])] = f.get("kind") or ""
    else:
        names = sig.get("feature_names") or [
            str(n) for n in list(getattr(est, "feature_names_in_", []) or [])
        ]
        if not names:
            raise InvalidInput(
                f"{version.ref} does not record its feature names, so its columns cannot be "
                "matched to the data"
            )
        dtypes = {str(c["name"]): str(c.get("dtype", "")) for c in sig.get("columns") or []}
        for n in names:
            dt = dtypes.get(str(n), "")
            # validation's rule; a dtype that is neither (a timestamp) is scored as text
            kinds[str(n)] = "" if not dt else (_data.kind_of_dtype(dt) or _CATEGORICAL)
    recorded = [*(sig.get("features") or []), *(sig.get("columns") or [])]
    truth = {str(f["name"]) for f in recorded if str(f.get("dtype", "")) == "bool"}
    classes = getattr(est, "classes_", None)
    final = _final_step(est)
    try:
        # a native model says so itself (its tags would import scikit-learn for ONNX)
        allow_nan = getattr(est, "takes_missing", None)
        if allow_nan is None:
            allow_nan = bool(est.__sklearn_tags__().input_tags.allow_nan)
    except Exception:  # an estimator without tags: find out by scoring
        allow_nan = True
    return _Model(
        est=est,
        features=list(kinds),
        kinds=kinds,
        classes=None if classes is None else np.asarray(classes),
        has_proba=classes is not None and hasattr(est, "predict_proba"),
        # SVC's predict is not the argmax of its (Platt-scaled) probabilities
        argmax_predicts=type(final).__name__ not in {"SVC", "NuSVC"},
        # a pipeline's tags speak for its first step only; it may impute later
        rejects_nan=not allow_nan and not hasattr(est, "steps"),
        truth=truth & set(kinds),
    )


# --------------------------------------------------------------------------- reading
_NUMERIC_SQL = (*NUMERIC_TYPES, "BOOLEAN")
# id columns of these types come to Python as they are (NumPy or pandas' nullable
# arrays) and go back unchanged; any other type travels as DuckDB's text of it
# and is cast back on the way out, so every id keeps its exact type and value
_NATIVE_IDS = (*NUMERIC_TYPES[:10], "FLOAT", "DOUBLE", "VARCHAR", "BOOLEAN")


@dataclass
class _Input:
    path: Path
    fmt: str
    columns: list[str]
    types: dict[str, str]  # DuckDB types of the columns (CSV: all VARCHAR)
    total_rows: int | None
    source: str  # the DuckDB table expression that reads the file
    con: Any  # the reading connection (a private in-memory DuckDB)
    decimal: str = "."  # a CSV's decimal separator, as the strict reader found it

    def batches(
        self, select: str, batch_rows: int, prepare: Callable[[Any], Any] | None = None
    ) -> Iterator[Any]:
        """DataFrames of at most ``batch_rows`` rows of ``SELECT select FROM source``.

        Read one batch ahead on a thread of its own: DuckDB lets go of the
        GIL while it reads and converts, so the model predicts meanwhile.
        ``prepare(batch)``, if given, runs on that thread too, and its result
        is what is yielded (the features' frame, built while the model predicts).
        """
        sql = f"SELECT {select} FROM {self.source}"
        raw = _batches(self.con, sql, batch_rows, self.path)
        return _ahead(raw if prepare is None else _mapped(prepare, raw))


def _frozen_heap(items: Iterator[Any]) -> Iterator[Any]:
    """``items``, with every object alive before the first left out of the collector's passes.

    The batches allocate many small objects; each of the collector's full
    passes then walked the whole heap of the loaded libraries (scikit-learn,
    SciPy, pandas), on the predicting thread and holding the lock the
    reading and writing threads need.
    """
    gc.freeze()
    try:
        yield from items
    finally:
        gc.unfreeze()


def _mapped(f: Callable[[Any], Any], items: Iterator[Any]) -> Iterator[Any]:
    """``f`` of each item; closing it closes ``items``."""
    try:
        for item in items:
            yield f(item)
    finally:
        with contextlib.suppress(Exception):
            items.close()  # type: ignore[attr-defined]


def _ahead(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """``items``, produced on a thread of their own up to ``depth`` ahead of the consumer."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("end", None))
        except BaseException as e:  # raised in the consumer
            q.put(("error", e))
        finally:
            with contextlib.suppress(Exception):
                items.close()  # type: ignore[attr-defined]

    t = threading.Thread(target=produce, name="modelward-score-read", daemon=True)
    t.start()
    try:
        while True:
            kind, item = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                q.get_nowait()
        t.join()


def _batches(con: Any, sql: str, batch_rows: int, path: Path) -> Iterator[Any]:

    cur = con.cursor()  # a streaming result holds its connection: one cursor per stream
    try:
        try:
            result = cur.execute(sql)
        except duck.Error as e:
            raise explain(e, path.name, path=path) from None  # the strict reader's sentence
        vectors = max(1, -(-batch_rows // 2048))  # DuckDB hands over vectors of 2,048 rows
        # a small first batch: the model starts while the next, full one is read
        first = min(vectors, 4)
        while True:
            try:
                df = result.fetch_df_chunk(first or vectors)
                first = 0
            except duck.Error as e:  # found past the reader's first look (a row late on)
                raise explain(e, path.name, path=path) from None
            n = len(df)
            if n == 0:
                return
            if n <= batch_rows:
                yield df
                continue
            for start in range(0, n, batch_rows):
                yield df.iloc[start : start + batch_rows]
    finally:
        cur.close()


_DUCK_LOCK = threading.Lock()
_DUCK: list[Any] = []


@contextlib.contextmanager
def _duck() -> Iterator[Any]:
    """A cursor of the process's private in-memory DuckDB (opened once: an open costs ~40 ms)."""
    cur = _duck_cursor()
    try:
        yield cur
    finally:
        cur.close()


# DuckDB's buffer pool keeps the blocks it has read while memory allows (80% of
# RAM by default): reading a 1.5M-row file peaked 490 MB against 345 MB for
# 300,000 rows. Streaming needs a few batches in and a few row groups out, so
# the pool is capped; anything larger (a sort, a wide row group) spills
# to a folder of this process in the system's temporary folder (never the
# user's working folder). DuckDB deletes a spill folder it created when it
# closes, whoever else spills there, so each process has its own folder; a
# crashed process's folder is removed by the next process that opens one.
_DUCK_MEMORY = "512MB"
_SPILL_ROOT = "modelward-score-spill"


def _spill_folder() -> str:
    """This process's spill folder (DuckDB makes only the last level of the path)."""
    root = Path(tempfile.gettempdir()) / _SPILL_ROOT
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        st = root.lstat()
        # a shared temporary folder: someone else's folder (or a link) under our name
        # is not used; a private one of our own is made instead
        if not stat.S_ISDIR(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
            return tempfile.mkdtemp(prefix=_SPILL_ROOT + "-")
    except OSError:
        return tempfile.mkdtemp(prefix=_SPILL_ROOT + "-")
    with contextlib.suppress(OSError):
        for old in root.iterdir():
            if old.name.isdigit() and not platform.process_alive(int(old.name)):
                shutil.rmtree(old, ignore_errors=True)
    return str(root / str(os.getpid()))


def _duck_cursor() -> Any:
    with _DUCK_LOCK:
        if not _DUCK:
            config: dict[str, str | bool | int | float | list[str]] = {
                "memory_limit": _DUCK_MEMORY,
                "temp_directory": _spill_folder(),
            }
            con = duck_connect(config=config)
            # Prefetching reads a whole row group before its first rows come
            # out: a 1M-row group (pandas' default) held 170 MB and kept the
            # model waiting 0.6 s for its first batch. Pages are read as needed.
            con.execute("SET GLOBAL disable_parquet_prefetching = true")
            _DUCK.append(con)
            atexit.register(con.close)  # DuckDB removes its spill folder when it closes
        return _DUCK[0].cursor()


def _sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@contextlib.contextmanager
def _open_input(
    path: Path, threads: int, features: Sequence[str], ids: Sequence[str]
) -> Iterator[_Input]:
    """The input's columns, types and row count, and a DuckDB connection to stream it.

    The file is opened by the strict reader (:func:`~modelward.core.tables.open_table`),
    as every other data path opens one: what it cannot read without guessing (an
    ambiguous delimiter or decimal separator, a NUL byte, text that is not UTF-8,
    a duplicate or look-alike column name, a limit passed) is refused in one
    sentence before a row is scored. A cell of text in a column of numbers is
    not the file's fault: its row is rejected, with its reason, and the others
    are scored; so a CSV is read with every cell as text, with the delimiter
    and decimal separator the reader found.
    """
    table = open_table(path, label=path.name, expected=list(features), text_in_numbers=False)
    # the model's columns (a look-alike named) and the ids; other columns are ignored
    check_signature(table, list(features), allow_extra=True)
    missing_ids = [c for c in ids if c not in table.types]
    if missing_ids:
        raise InvalidInput(
            f"{path.name} has no id column{'s' if len(missing_ids) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing_ids)}"
        )
    with _duck() as con:
        con.execute(f"SET threads = {max(1, int(threads))}")
        if table.format == PARQUET:
            fmt, src, types, total_rows = "parquet", table.source, dict(table.types), table.rows
        else:
            assert table.text_source is not None
            fmt, src, total_rows = "csv", table.text_source, table.rows
            types = dict.fromkeys(table.types, "VARCHAR")
        yield _Input(path, fmt, list(types), types, total_rows, src, con, table.decimal or ".")


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _none_scored(rejected: Path, n_in: int, name: str) -> str:
    """The sentence of an input whose every row was rejected: the count, the first reason."""
    first = ""
    with contextlib.suppress(OSError, StopIteration, IndexError):
        with open(rejected, encoding="utf-8", newline="") as f:
            rows = csv.reader(f)
            next(rows)  # the header
            row = next(rows)
            first = f" (row {row[0]}: {row[-1]})"
    return f"none of the {n_in:,} rows of {name} could be scored{first}"


# --------------------------------------------------------------------------- converting
def _is_numeric_sql(t: str) -> bool:
    return t.upper().startswith(_NUMERIC_SQL)


def _is_text_sql(t: str) -> bool:
    return t.upper() == "VARCHAR"


@dataclass
class _Plan:
    """How each batch is selected and turned into features, ids and the output's types.

    ``select`` is the SQL select list; each feature and id names its columns
    by position in it (``how``: ``num``, ``text_num`` (value, bad text),
    ``cat``, ``cat_float``), so nothing depends on the column names.
    """

    select: str
    features: list[tuple[str, str, list[int]]]
    ids: list[tuple[str, str, int]]  # name, DuckDB type, position


def _plan(model: _Model, inp: _Input, ids: Sequence[str]) -> _Plan:
    exprs: list[str] = []

    def add(expr: str) -> int:
        exprs.append(expr)
        return len(exprs) - 1

    features: list[tuple[str, str, list[int]]] = []
    for c in model.features:
        q, t = _sql_ident(c), inp.types[c]
        up = t.upper()
        if model.kinds[c] == _NUMERIC:
            if _is_numeric_sql(t):
                features.append((c, "num", [add(f"CAST({q} AS DOUBLE)")]))
            elif _is_text_sql(t):
                cell = _as_number_text(q, inp)
                trimmed = f"trim({cell}, {TRIM_SQL})"
                given = f"CASE WHEN lower({trimmed}) IN {MISSING_SQL} THEN NULL ELSE {trimmed} END"
                as_type = "BOOLEAN" if c in model.truth else "DOUBLE"
                value = f"CAST(TRY_CAST({given} AS {as_type}) AS DOUBLE)"
                bad = (
                    f"CASE WHEN {trimmed} IS NOT NULL AND lower({trimmed}) NOT IN {MISSING_SQL} "
                    f"AND {value} IS NULL THEN {q} END"
                )
                # A cell that is a plain number (nearly all) skips the above: DuckDB's
                # trim with a set of characters costs ~0.4 us a cell, 4/5 of a 1M x 20
                # CSV's conversion. CASE evaluates a branch only for the rows it takes.
                # (A NaN cast from "nan" takes the long way: a missing-value token.)
                cast = f"TRY_CAST({cell} AS DOUBLE)"
                plain = f"{cast} IS NOT NULL AND NOT isnan({cast})"
                value = f"CASE WHEN {plain} THEN {cast} ELSE {value} END"
                bad = f"CASE WHEN {plain} THEN NULL ELSE {bad} END"
                features.append((c, "text_num", [add(value), add(bad)]))
            else:
                raise InvalidInput(f"column {c!r} should hold numbers but holds {t}")
        else:
            if (
                up in ("BLOB", "BIT")
                or up.endswith("]")
                or up.startswith(("STRUCT", "MAP", "UNION"))
            ):
                raise InvalidInput(f"column {c!r} holds {t}, which the model cannot take")
            if up in ("FLOAT", "DOUBLE"):
                features.append((c, "cat_float", [add(f"CAST({q} AS DOUBLE)")]))
            elif _is_text_sql(t):
                features.append((c, "cat", [add(q)]))
            else:
                features.append((c, "cat", [add(f"CAST({q} AS VARCHAR)")]))
    id_cols: list[tuple[str, str, int]] = []
    for c in ids:
        q, t = _sql_ident(c), inp.types[c]
        native = t.upper() in _NATIVE_IDS
        id_cols.append((c, t, add(q if native else f"CAST({q} AS VARCHAR)")))
    return _Plan(", ".join(exprs) or "1", features, id_cols)


def _as_number_text(q: str, inp: _Input) -> str:
    """A text cell as DuckDB reads numbers: a decimal comma (the file's separator) as a point."""
    return f"replace({q}, ',', '.')" if inp.decimal == "," else q


def _infer_kinds(model: _Model, inp: _Input, batch_rows: int) -> None:
    """Columns whose kind the model does not record: numbers by their type (CSV: by their text).

    A CSV column is numeric when every cell of the first batch that is not
    a missing-value token reads as a number (and there is at least one). A
    column whose cells are all truth words (``True``, ``no``, ``f``: what
    DuckDB's CSV reader types BOOLEAN, a bool to the model fitted on it) is
    numeric too, read as 1/0 (:attr:`_Model.truth`).
    """
    undecided = []
    for c in model.features:
        if model.kinds[c]:
            continue
        t = inp.types[c]
        if _is_numeric_sql(t):
            model.kinds[c] = _NUMERIC
        elif inp.fmt == "parquet":
            model.kinds[c] = _CATEGORICAL
        else:
            undecided.append(c)
    if not undecided:
        return
    parts = []
    for c in undecided:
        trimmed = f"trim({_as_number_text(_sql_ident(c), inp)}, {TRIM_SQL})"
        given = f"{trimmed} IS NOT NULL AND lower({trimmed}) NOT IN {MISSING_SQL}"
        parts.append(f"count(*) FILTER (WHERE {given})")
        parts.append(f"count(*) FILTER (WHERE {given} AND TRY_CAST({trimmed} AS DOUBLE) IS NULL)")
        parts.append(f"count(*) FILTER (WHERE {given} AND TRY_CAST({trimmed} AS BOOLEAN) IS NULL)")
    got = inp.con.execute(
        f"SELECT {', '.join(parts)} FROM (SELECT * FROM {inp.source} LIMIT {int(batch_rows)})"
    ).fetchall()[0]
    for k, c in enumerate(undecided):
        given, not_number, not_truth = got[3 * k : 3 * k + 3]
        # all truth words, some not numbers (1/0 alone are numbers): as DuckDB's CSV
        # reader types such a column BOOLEAN; a stray "n" among numbers stays an error
        if given and not_number and not not_truth:
            model.truth.add(c)
            model.kinds[c] = _NUMERIC
        else:
            model.kinds[c] = _NUMERIC if given and not not_number else _CATEGORICAL


# --------------------------------------------------------------------------- scoring
def _numbers(col: Any) -> np.ndarray:
    """A column of numbers as float64, missing values as NaN (no copy when it already is)."""
    if col.dtype == np.float64:
        return np.asarray(col.to_numpy())
    return np.asarray(col.to_numpy(dtype=np.float64, na_value=np.nan))


@dataclass
class _Features:
    """A batch with the model's features taken out of it, and each row's reason not to score it."""

    batch: Any
    X: Any
    reasons: np.ndarray
    finite: bool  # every feature a number, none missing or infinite: nothing for a model to check


def _features(model: _Model, plan: _Plan, batch: Any) -> _Features:
    reasons = np.full(len(batch), None, dtype=object)
    X, finite = _features_frame(model, plan, batch, reasons)
    return _Features(batch, X, reasons, finite)


def _features_frame(
    model: _Model, plan: _Plan, batch: Any, reasons: np.ndarray
) -> tuple[Any, bool]:
    """The model's features of ``batch`` (rows with a bad value get a reason), and
    whether they are all numbers, none missing or infinite."""
    import pandas as pd  # deferred: start-up cost

    numeric = all(how in ("num", "text_num") for _, how, _ in plan.features)
    # Numbers only: one float64 block (column-major, as pyarrow hands a table to
    # pandas), so the model's ``np.asarray(X)`` is a view; a frame of separate
    # columns is copied into one array on every call (twice per batch for a pipeline)
    block = _float_block(plan, batch) if numeric else None
    given = block is not None  # the batch's own block: nothing to copy into it
    if numeric and plan.features and block is None:
        block = np.empty((len(plan.features), len(batch)))
    cols: dict[str, Any] = {}
    for j, (c, how, pos) in enumerate(plan.features if not given else ()):
        col = batch.iloc[:, pos[0]]
        if how in ("num", "text_num"):
            values = _numbers(col)
            if how == "text_num":
                bad_text = batch.iloc[:, pos[1]]
                for i in np.flatnonzero(bad_text.notna().to_numpy()):
                    if reasons[i] is None:
                        text = str(bad_text.iat[i]).strip()
                        reasons[i] = f"column {c!r} should hold a number, not {text[:80]!r}"
            if block is not None:
                block[j] = values  # checked below, all columns in one pass
            else:
                _flag_infinite(values, c, reasons)
                cols[c] = values
        elif how == "cat_float":
            v = col.to_numpy(dtype=np.float64, na_value=np.nan)
            out = np.array([str(x) for x in v.tolist()], dtype=object)
            out[np.isnan(v)] = np.nan
            cols[c] = out
        else:
            cols[c] = col.to_numpy(dtype=object, na_value=np.nan)
    finite = False
    if block is not None:
        frame = pd.DataFrame(block.T, columns=[c for c, _, _ in plan.features], copy=False)
        finite = bool(np.isfinite(block).all())
        if not finite:
            for j, (c, _, _) in enumerate(plan.features):
                _flag_infinite(block[j], c, reasons)
    else:
        frame = pd.DataFrame(cols, copy=False)
    if model.rejects_nan and not finite:
        for j, c in enumerate(model.features):
            isna = np.isnan(block[j]) if block is not None else frame[c].isna().to_numpy()
            for i in np.flatnonzero(isna):
                if reasons[i] is None:
                    reasons[i] = (
                        f"column {c!r} is missing and the model cannot take a missing value"
                    )
    return frame, finite


def _float_block(plan: _Plan, batch: Any) -> np.ndarray | None:
    """The features as a ``(features, rows)`` view of the batch's own float64 block, or None.

    DuckDB hands a batch to pandas with its DOUBLE columns in one consolidated
    block, and the plan selects the features first, in the model's order: when
    every feature is such a column, that block is the model's input as it
    stands (copying it out again cost a second pass over every value, and
    page faults, per batch).
    """
    k = len(plan.features)
    if not k or any(how != "num" or pos != [j] for j, (_, how, pos) in enumerate(plan.features)):
        return None
    part = batch.iloc[:, :k]
    if not all(t == np.float64 for t in part.dtypes):
        return None
    values = part.to_numpy()  # a view when the columns share one block, else a copy
    return np.asarray(values.T)


def _flag_infinite(values: np.ndarray, name: str, reasons: np.ndarray) -> None:
    for i in np.flatnonzero(np.isinf(values)):
        if reasons[i] is None:
            reasons[i] = f"column {name!r} holds an infinite value"


def _flagged(reasons: np.ndarray) -> np.ndarray:
    """Rows that already have a reason not to be scored."""
    return np.asarray(np.not_equal(reasons, np.array(None, dtype=object)), dtype=bool)


def _predict(model: _Model, X: Any, finite: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """``finite``: every feature is a number, none missing or infinite (checked by
    :func:`_features_frame`), so scikit-learn need not scan the batch for them again."""
    est = model.est
    with _assuming_finite(finite):
        if model.has_proba:
            proba = np.asarray(est.predict_proba(X), dtype=np.float64)
            assert model.classes is not None
            pred = (
                model.classes[proba.argmax(axis=1)]
                if model.argmax_predicts
                else np.asarray(est.predict(X))
            )
            return pred, proba
        return np.asarray(est.predict(X)), None


def _assuming_finite(finite: bool) -> contextlib.AbstractContextManager[Any]:
    sklearn = sys.modules.get("sklearn")  # never imported for this: an ONNX model needs none
    if not finite or sklearn is None:
        return contextlib.nullcontext()
    return sklearn.config_context(assume_finite=True)  # type: ignore[no-any-return]


def _predict_rows(
    model: _Model, X: Any, reasons: np.ndarray, finite: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Predict the rows of ``X`` without a reason; rows the model refuses get one.

    Returns ``(rows, prediction, proba)`` where ``rows`` indexes ``X``.
    """
    ok = np.flatnonzero(~_flagged(reasons))
    if ok.size == 0:
        return ok, np.empty(0), None
    try:
        pred, proba = _predict(model, X.iloc[ok] if ok.size < len(X) else X, finite)
        return _without_nan_scores(X, ok, pred, proba, reasons)
    except Exception as first:
        # Missing values are the usual cause: name them and try the rest.
        nan_rows = X.iloc[ok].isna().to_numpy()
        if nan_rows.any():
            for j, row in zip(ok, nan_rows, strict=True):
                if row.any():
                    col = X.columns[int(np.flatnonzero(row)[0])]
                    reasons[j] = f"column {col!r} is missing and the model cannot take it"
            return _predict_rows(model, X, reasons)
        # Otherwise find the rows the model refuses by halving. If rows spread
        # over the batch all fail on their own, the model itself cannot score
        # this data: that is an error, found without scoring row by row.
        sample = ok[np.linspace(0, ok.size - 1, num=min(8, ok.size)).astype(np.intp)]
        if not any(_predicts(model, X.iloc[[int(i)]]) for i in np.unique(sample)):
            raise InvalidInput(f"the model cannot score these rows: {_first_line(first)}") from None
        pieces = _bisect(model, X, ok, reasons)
        if not pieces:
            raise InvalidInput(f"the model cannot score these rows: {_first_line(first)}") from None
        rows = np.concatenate([p[0] for p in pieces])
        pred = np.concatenate([p[1] for p in pieces])
        probas = [p[2] for p in pieces]
        return rows, pred, None if probas[0] is None else np.concatenate(probas)  # type: ignore[arg-type]


def _without_nan_scores(
    X: Any, rows: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, reasons: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The scored rows less those whose score came out NaN, each given its reason.

    A model may answer a value it cannot take with NaN instead of an error (an
    ONNX graph of a linear model fed a missing value): such a row is set aside
    like one the model refused, never written out as a score.
    """
    values = proba if proba is not None else pred
    if values.dtype.kind != "f" or np.isfinite(values).all():  # one flat pass: 17 µs a batch
        return rows, pred, proba
    good = np.isfinite(values).all(axis=1) if values.ndim == 2 else np.isfinite(values)
    for i in rows[~good]:
        gaps = [str(c) for c, v in X.iloc[int(i)].items() if v is None or v != v]
        why = f"column {gaps[0]!r} is missing" if gaps else "it is not a number"
        reasons[int(i)] = f"the model gave no score for this row: {why}"
    return rows[good], pred[good], None if proba is None else proba[good]


def _predicts(model: _Model, X: Any) -> bool:
    try:
        _predict(model, X)
    except Exception:
        return False
    return True


def _bisect(
    model: _Model, X: Any, rows: np.ndarray, reasons: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    try:
        pred, proba = _predict(model, X.iloc[rows])
        return [(rows, pred, proba)]
    except Exception as e:
        if rows.size == 1:
            reasons[int(rows[0])] = f"the model refused the row: {_first_line(e)[:200]}"
            return []
        mid = rows.size // 2
        return _bisect(model, X, rows[:mid], reasons) + _bisect(model, X, rows[mid:], reasons)


# --------------------------------------------------------------------------- writing
class _Writer:
    """The output under a temporary name, as Parquet or CSV, written by DuckDB as it comes.

    One ``COPY`` on a thread of its own reads the batches as an Arrow stream
    (:class:`_ArrowFeed`) while the next ones are read and predicted, so the
    file is written alongside the scoring, never held whole: memory stays
    bounded whatever the input's size, and nothing is left to write once the
    last batch is scored. DuckDB turns each batch into Arrow (the output's
    types, nulls, text), and reads the stream back into its own writer.

    Parquet parts written elsewhere (a Dask worker's) are taken with
    :meth:`add_part` instead, and joined into the output by :meth:`close`.
    """

    def __init__(self, path: Path, fmt: str, schema: Sequence[tuple[str, str]]) -> None:
        self.path = path
        self.fmt = fmt
        self.schema = list(schema)
        self.rows = 0
        self._parts: list[Path] = []
        self._batches = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def _options(self) -> str:
        if self.fmt == "parquet":
            return "FORMAT parquet"
        text = [_sql_ident(n) for n, t in self.schema if t.upper() == "VARCHAR"]
        opts = "FORMAT csv, HEADER true"
        if text:  # text quoted, as the CSV writer before DuckDB did
            opts += f", FORCE_QUOTE ({', '.join(text)})"
        return opts

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._stream, name="modelward-score-write", daemon=True
        )
        self._thread.start()

    def _stream(self) -> None:
        con = None
        feed: _ArrowFeed | None = None
        try:
            feed = _ArrowFeed(self.schema, self._queue)
            con = _duck_cursor()  # its threads as the reading set them (a database setting)
            con.register("mw_feed", feed)
            done = con.execute(
                f"COPY (SELECT * FROM mw_feed) TO {_sql_text(str(self.path))} ({self._options()})"
            ).fetchall()
            written = int(done[0][0]) if done else -1
            if feed.error is not None:
                raise feed.error
            if written != feed.rows:  # a batch taken but not written: never a short output
                raise RuntimeError(
                    f"the output has {written:,} rows of the {feed.rows:,} scored; score again"
                )
        except BaseException as e:  # the caller raises it on its next call
            self._error = feed.error if feed is not None and feed.error is not None else e
            if feed is None or not feed.ended:
                while self._queue.get() is not None:  # let the scoring thread go on to its end
                    pass
        finally:
            if feed is not None:
                feed.cursor.close()
            if con is not None:
                con.close()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, columns: dict[str, Any], then: Callable[[], None] | None = None) -> None:
        """Queue one batch of output columns (``name -> array``, in schema order).

        ``then`` runs once DuckDB has taken the batch (the summary of what was
        scored); an error in it fails the output.
        """
        import pandas as pd  # deferred: start-up cost

        self._check()
        if self._parts:
            raise RuntimeError("an output takes either batches or parts, not both")
        frame = pd.DataFrame(columns, copy=False)
        if self._thread is None:
            self._start()
        self._batches += 1
        self.rows += len(frame)
        self._queue.put((frame, then))

    def add_part(self, part: Path) -> None:
        """Take a Parquet part written elsewhere (a Dask worker's), in order."""
        self._check()
        if self._batches:
            raise RuntimeError("an output takes either batches or parts, not both")
        self._parts.append(part)

    def close(self) -> None:
        """Finish the output file (every row rejected: still a valid, empty table)."""
        if self._parts:
            con = _duck_cursor()
            try:
                files = ", ".join(_sql_text(str(p)) for p in self._parts)
                con.execute(
                    f"COPY (SELECT * FROM read_parquet([{files}])) TO "
                    f"{_sql_text(str(self.path))} ({self._options()})"
                )
            finally:
                con.close()
            return
        if not self._batches:
            self.write(
                {n: np.empty(0, dtype=_EMPTY.get(t.upper(), object)) for n, t in self.schema}
            )
        self._queue.put(None)
        assert self._thread is not None
        self._thread.join()
        self._check()

    def discard(self) -> None:
        """Stop the writing thread and drop what it holds (a failed or cancelled run)."""
        if self._thread is not None and self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=60)
            self._thread.join(timeout=60)


class _ArrowFeed:
    """The batches of one output as an Arrow stream (the PyCapsule interface) for DuckDB.

    The stream is Arrow's IPC format read by nanoarrow from :class:`_IpcReader`,
    which takes each batch from the queue when DuckDB asks for it and has
    DuckDB itself turn it into Arrow with the output's types (a private
    in-memory database, so the conversion never waits on the ``COPY`` it
    feeds). DuckDB asks for the stream once to learn its schema and once to
    read it: each stream begins with the schema, and only reading a batch
    takes one from the queue.
    """

    def __init__(self, schema: Sequence[tuple[str, str]], batches: queue.Queue[Any]) -> None:
        from nanoarrow import ipc  # deferred: start-up cost (a reading command writes nothing)

        self.batches = batches
        self.rows = 0
        self.ended = False  # the end of the batches was taken from the queue
        self.error: BaseException | None = None
        self.cursor = _convert_cursor()
        self.select = ", ".join(
            f"CAST({_sql_ident(n)} AS {t}) AS {_sql_ident(n)}" for n, t in schema
        )
        empty = ", ".join(f"CAST(NULL AS {t}) AS {_sql_ident(n)}" for n, t in schema)
        self.head = self._ipc(self.cursor.sql(f"SELECT {empty} LIMIT 0"), schema=True)
        self._ipc_lib = ipc

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        reader = self._ipc_lib.InputStream.from_readable(_IpcReader(self))
        return reader.__arrow_c_stream__(requested_schema)

    @staticmethod
    def _ipc(relation: Any, *, schema: bool = False) -> bytes:
        import nanoarrow as na  # deferred: start-up cost
        from nanoarrow import ipc

        stream = na.c_array_stream(relation)
        sink = io.BytesIO()
        writer = ipc.StreamWriter.from_writable(sink)
        try:
            if schema:
                writer.write_stream(stream)  # the schema message (no rows)
            else:
                for array in stream:
                    writer.write_array(array, write_schema=False)
        finally:
            writer.release()  # no end-of-stream marker: more batches follow
        return sink.getvalue()

    def next_bytes(self) -> bytes | None:
        """The next batch as Arrow IPC bytes; None at the end."""
        try:
            item = self.batches.get()
            if item is None:
                self.ended = True
                return None
            frame, then = item
            self.cursor.register("mw_batch", frame)
            try:
                data = self._ipc(self.cursor.sql(f"SELECT {self.select} FROM mw_batch"))
            finally:
                self.cursor.unregister("mw_batch")
            self.rows += len(frame)
            if then is not None:
                then()
            return data
        except BaseException as e:  # DuckDB sees only a failed read: the error is kept
            self.error = e
            raise


class _IpcReader(io.RawIOBase):
    """A readable of one Arrow IPC stream: the schema, then each batch as it is taken."""

    _END = b"\xff\xff\xff\xff\x00\x00\x00\x00"  # Arrow's end-of-stream marker

    def __init__(self, feed: _ArrowFeed) -> None:
        super().__init__()
        self.feed = feed
        self.pending = memoryview(feed.head)
        self.ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending:
            if self.ended:
                return 0
            data = self.feed.next_bytes()
            if data is None:
                self.ended = True
                data = self._END
            self.pending = memoryview(data)
        out = memoryview(buffer).cast("B")
        n = min(len(out), len(self.pending))
        out[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


_CONVERT: list[Any] = []


def _convert_cursor() -> Any:
    """A cursor of a second private in-memory DuckDB, for turning batches into Arrow.

    Arrow comes out of DuckDB through its relational API, which the ``duckdb``
    package adds to the engine's connections (50-70 ms to import, once per
    process; the rest of ModelWard runs on the engine alone, see
    :mod:`modelward.core.duck`).
    """
    import duckdb  # noqa: F401  (deferred: only a scoring that writes an output needs it)

    with _DUCK_LOCK:
        if not _CONVERT:
            con = duck_connect(config={"threads": 1})
            _CONVERT.append(con)
            atexit.register(con.close)
        return _CONVERT[0].cursor()


_EMPTY = {"BIGINT": np.int64, "DOUBLE": np.float64, "BOOLEAN": np.bool_, "INTEGER": np.int32}


class _Hasher(threading.Thread):
    """A file's SHA-256 on a thread of its own (the input's beside the load and the scoring).

    With ``idle`` the thread runs at the lowest priority (nice 19 on Linux,
    ``THREAD_PRIORITY_LOWEST`` on Windows): it reads the file on whatever a
    core is not using for the prediction, whose threads wait for one another
    and lose more to a stolen slice than the hash gains. :meth:`result` takes
    over where the thread got to and reads the rest at the caller's own
    priority, so a machine that is busy elsewhere never leaves the digest to
    a thread that gets no time.
    """

    def __init__(self, path: Path, *, idle: bool = False) -> None:
        super().__init__(name="modelward-score-hash", daemon=True)
        self.path = path
        self.idle = idle
        self.error: BaseException | None = None
        self._hash = hashlib.sha256()
        self._offset = 0
        self._done = False
        self._stopping = threading.Event()  # a failed run: stop reading
        self._handing_over = threading.Event()  # the caller takes the rest

    def run(self) -> None:
        if self.idle:
            platform.lower_thread_priority(19)
        try:
            with open(self.path, "rb", buffering=0) as f:
                self._done = hash_rest(
                    self._hash,
                    f,
                    lambda _n: not (self._stopping.is_set() or self._handing_over.is_set()),
                )
                self._offset = f.tell()
        except BaseException as e:  # reported by the caller
            self.error = e

    def result(self) -> str:
        """The file's SHA-256: the rest of it read on the calling thread."""
        self._handing_over.set()
        self.join()
        if self.error is not None:
            raise self.error
        if not self._done:
            with open(self.path, "rb", buffering=0) as f:
                f.seek(self._offset)
                hash_rest(self._hash, f)
            self._done = True
        return self._hash.hexdigest()

    def stop(self) -> None:
        """Stop reading (a failed run): the thread ends at its next chunk."""
        self._stopping.set()


def _output_format(out: Path, fmt: str | None, input_fmt: str) -> str:
    if fmt:
        f = fmt.lower().lstrip(".")
        if f not in FORMATS:
            raise InvalidInput(f"unknown output format {fmt!r}: use csv or parquet")
        return f
    suffix = out.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    return input_fmt


def _check_output_folder(out: Path) -> None:
    folder = out.parent
    if not folder.is_dir():
        raise InvalidInput(f"the output folder {folder} does not exist")
    if out.is_dir():
        raise InvalidInput(f"the output {out} is a folder; name a file")
    try:
        fd, probe = tempfile.mkstemp(prefix=".modelward-probe-", dir=folder)
    except OSError as e:
        raise InvalidInput(
            f"cannot write in the output folder {folder}: {e.strerror or e}"
        ) from None
    os.close(fd)
    os.unlink(probe)


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _temp_beside(path: Path) -> Path:
    """A new empty file next to ``path`` (same folder, so the rename is atomic).

    Created with the user's umask, not ``mkstemp``'s 0600: the output is for
    another system to read.
    """
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.partial")
        try:
            with open(tmp, "xb"):
                return tmp
        except FileExistsError:
            continue
    raise InvalidInput(f"cannot create a temporary file beside {path}")


# --------------------------------------------------------------------------- the run
LOG_MODES = ("none", "summary", "rows")


@dataclass
class _Kept:
    """What one run keeps of its predictions: the log's summary, and rows when asked."""

    summary: ScoreSummary
    keep_rows: bool
    ids: list[Any] = field(default_factory=list)
    preds: list[np.ndarray] = field(default_factory=list)
    probas: list[np.ndarray] = field(default_factory=list)

    def add(self, ids: Any, pred: np.ndarray, proba: np.ndarray | None) -> None:
        score, _ = score_column(proba, pred)
        self.summary.add(pred, score)
        if self.keep_rows:
            self.ids.append(
                ids.to_numpy(dtype=object, na_value=None).tolist()
                if hasattr(ids, "to_numpy")
                else np.asarray(ids).tolist()
            )
            self.preds.append(np.asarray(pred))
            if proba is not None:
                self.probas.append(proba)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        ids = (
            np.concatenate([np.asarray(i, dtype=object) for i in self.ids])
            if self.ids
            else (np.empty(0, dtype=object))
        )
        pred = np.concatenate(self.preds) if self.preds else np.empty(0)
        proba = np.concatenate(self.probas) if self.probas else None
        return ids, pred, proba


def _score_record_batch(
    model: _Model,
    plan: _Plan,
    batch: Any,
    thr: float | None,
    offset: int,
    schema: Sequence[tuple[str, str]],
    features: _Features | None = None,
) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray | None, list[list[Any]], Any]:
    """One batch: ``(output columns, rows, prediction, proba, rejected rows, id column)``.

    ``features``: the batch's :func:`_features`, when the reader built them.
    """
    n = len(batch)
    f = features if features is not None else _features(model, plan, batch)
    X, reasons = f.X, f.reasons
    rows, pred, proba = _predict_rows(model, X, reasons, f.finite)
    cols = _output_columns(model, plan, batch, rows, pred, proba, thr, offset, schema)
    if model.reasons is not None:
        model.reasons.append(cols, X.iloc[rows])
    rejected: list[list[Any]] = []
    # every row not scored has a reason: when all were scored, none has
    bad = np.flatnonzero(_flagged(reasons)) if rows.size < n else np.empty(0, dtype=np.intp)
    if bad.size:
        id_vals = [
            batch.iloc[bad, pos].to_numpy(dtype=object, na_value=None).tolist()
            for _, _, pos in plan.ids
        ]
        for k, i in enumerate(bad):
            rejected.append([offset + int(i) + 1, *(v[k] for v in id_vals), reasons[i]])
    return cols, rows, pred, proba, rejected, next(iter(cols.values()))


class InputPass(Protocol):
    """Work on a scoring's input, made beside it, kept with its row-level log."""

    def wait(self) -> None:
        """Wait for the work to end (it read the bytes the input's stamp vouches for)."""

    def finish(self, registry: Any) -> dict[str, str] | None:
        """Store the work; the entry the log keeps, or ``None``."""

    def stop(self) -> None:
        """Stop the work (a failed or cancelled run)."""


LogPass = Callable[[Any, Any, Path], "InputPass | None"]
"""``(registry, version, path) -> InputPass | None`` (see ``score_file``'s ``log_pass``)."""


def _check_log(log: str) -> str:
    if log not in LOG_MODES:
        raise InvalidInput(f"unknown prediction log mode {log!r}: use none, summary or rows")
    return log


@door("score", source="data")
def score_file(
    registry: Any,
    ref: str,
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    id_columns: Sequence[str] = (),
    fmt: str | None = None,
    threshold: float | None = None,
    threads: int = 1,
    batch_rows: int = _BATCH_ROWS,
    log: str = "summary",
    batch_id: str | None = None,
    role: str = CHAMPION,
    keep_predictions: bool = False,
    manifest_extra: dict[str, Any] | None = None,
    dask: str | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    reasons: int = 0,
    log_pass: LogPass | None = None,
) -> ScoreResult:
    """Score the rows of ``data`` with the model ``ref`` and write them to ``out``.

    Parameters
    ----------
    registry
        The registry.
    ref
        ``NAME``, ``NAME:VERSION`` or ``NAME@ALIAS``; resolved once, before any row is read.
    data
        A CSV or Parquet file (recognised by its bytes), or ``dataset:ID``.
    out
        The output file. Beside it: ``<out>.manifest.json`` and, when rows were
        rejected, ``<out>.rejected.csv`` (``row``, the id columns, ``reason``).
    id_columns
        Columns passed through to the output (and the rejected rows). Without
        them the output carries ``row``, the input row number (from 1).
    fmt
        ``csv`` or ``parquet``; default by the output's extension, else the input's format.
    threshold
        Decision threshold on the probability of the second class of a binary
        classifier; default the one stored with the version (tag or signature
        ``decision_threshold``). With neither, there is no ``decision`` column.
    threads
        BLAS/OpenMP and reader threads of this job.
    batch_rows
        Rows per record batch (memory is bounded by a few batches).
    log
        The prediction log (:mod:`modelward.core.registry.predictions`):
        ``summary`` (default) keeps a summary of the predictions, ``rows`` the
        rows too (id, prediction, score; late labels join them by id),
        ``none`` nothing.
    batch_id
        The batch's key in the log; default the first 16 hex digits of the input's SHA-256.
    role
        ``champion`` or ``shadow`` (as logged).
    keep_predictions
        Return the predictions in :attr:`ScoreResult.predictions` (a shadow
        challenger is compared with them).
    manifest_extra
        More keys for the manifest (a scoring folder records its inbox).
    dask
        ``tcp://host:port`` of a Dask scheduler: a Parquet input is split by
        row groups across the workers, each writes its part, and the parts
        are assembled here (see :func:`modelward.core.compute.score_dask.score_partitions`).
    reasons
        Add each row's ``reasons`` top reason codes (``reason_1``,
        ``reason_1_value``, …; see :mod:`modelward.core.compute.reasons`).
    log_pass
        With a row-level log (and no Dask): started on the input once the
        model is loaded, ``log_pass(registry, version, path)``, to run beside
        the scoring; what its :meth:`InputPass.finish` gives is kept in the
        logged batch's summary under ``KEPT_PASS``. The commands, the API and
        the scoring folders pass :func:`modelward.core.monitoring.kept_pass`
        (the check's own pass over the file), so that a later check of the
        batch reads neither the model nor the file. Not kept when a row was
        rejected.
    progress, cancel
        Reported and checked between record batches.

    Returns
    -------
    ScoreResult
        What was written, with the manifest's SHA-256 and the audit event's sequence number.

    Raises
    ------
    InvalidInput
        Missing columns, an empty or unreadable input, an output folder that
        cannot be written, a threshold that does not apply; nothing is written.
    NotFound, RejectedFile, Cancelled
    """

    _check_log(log)
    started = time.monotonic()
    started_at = utcnow()
    progress(0.0, "resolving the model")
    hasher: _Hasher | None = None
    kept_pass: InputPass | None = None  # ``log_pass``'s work beside the scoring
    try:
        # one open of the registry for the model's lookups (not one per lookup)
        with registry.session():
            version = registry.resolve(ref)  # once: a promotion during the run changes nothing
            path = _data.resolve_source(data, registry)
            out_path, rejected_path, manifest_path = output_paths(out)
            out_path = out_path.absolute()
            rejected_path, manifest_path = rejected_path.absolute(), manifest_path.absolute()
            if out_path.resolve() == path.resolve():
                raise InvalidInput(
                    "the output would overwrite the input; choose another output file"
                )
            _check_output_folder(out_path)
            if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
                raise InvalidInput(f"the threshold must be between 0 and 1, not {threshold}")
            ids = list(dict.fromkeys(str(c) for c in id_columns))
            # The input's SHA-256 (the manifest's) is read from here on, beside the
            # model's load (scikit-learn's imports keep one core busy for a second
            # or more) and then the scoring, on what the prediction leaves idle
            # (see _Hasher); a run that fails stops it.
            before = _stamp(path)
            hasher = _Hasher(path, idle=True)
            hasher.start()

            progress(0.02, "loading the model")
            model_bytes = registry.artifacts.read_bytes(version.sha256)  # verifies the digest
            extra_globals = approved_globals(registry, version.sha256)
            est = load_bytes(model_bytes, version.format, Allowlist(extra_globals))
            if getattr(est, "extra", None) and threads:  # a native model: its library's own threads
                est.n_jobs = threads
            model = _describe_model(version, est)
            if reasons:
                model.reasons = reason_columns(
                    registry, version, est, model.features, reasons, dask
                )
            if log == "rows" and dask is None and log_pass is not None:
                kept_pass = log_pass(registry, version, path)
        stored = stored_threshold(version)
        thr = float(threshold) if threshold is not None else stored
        thr_source = (
            "option" if threshold is not None else ("version" if stored is not None else None)
        )
        if thr is not None and not model.binary:
            if threshold is not None:
                what = (
                    "is a regressor"
                    if model.classes is None
                    else f"has {len(model.classes)} classes"
                )
                raise InvalidInput(
                    f"a decision threshold applies to a binary classifier; {version.ref} {what}"
                )
            thr, thr_source = None, None  # a stored threshold that does not apply: no decision
        if thr is not None and not model.has_proba:
            raise InvalidInput(f"{version.ref} gives no probabilities, so it has no threshold")
        check(cancel)
    except BaseException:
        if hasher is not None:
            hasher.stop()
        if kept_pass is not None:
            kept_pass.stop()
        raise

    folder = out_path.parent
    tmp_out = _temp_beside(out_path)
    tmp_rej = _temp_beside(rejected_path)
    tmp_man = _temp_beside(manifest_path)
    renamed: list[Path] = []
    kept = _Kept(
        ScoreSummary(probability=model.has_proba or model.classes is not None),
        keep_rows=log == "rows" or keep_predictions,
    )
    dask_info: dict[str, Any] | None = None
    writer: _Writer | None = None
    try:
        with (
            limited_threads(threads),
            warnings.catch_warnings(),
            _open_input(path, threads, model.features, ids) as inp,
        ):
            warnings.simplefilter("ignore")
            if inp.total_rows == 0:
                raise InvalidInput(f"{path.name} has no rows to score")
            out_fmt = _output_format(out_path, fmt, inp.fmt)
            _infer_kinds(model, inp, batch_rows)
            plan = _plan(model, inp, ids)
            schema = _output_schema(model, ids, inp, thr is not None)
            if model.reasons is not None:
                schema = model.reasons.extend(schema)
            n_in = n_scored = n_rejected = 0
            with open(tmp_rej, "w", encoding="utf-8", newline="") as rf:
                rej = csv.writer(rf)
                rej.writerow(["row", *ids, "reason"])
                if dask is not None:
                    if inp.fmt != "parquet":
                        raise InvalidInput("scoring on a Dask cluster takes a Parquet input")
                    from modelward.core.compute import score_dask  # deferred: Dask is optional

                    counts, dask_info = score_dask.score_partitions(
                        dask,
                        impl=(_Model, _Writer, _score_record_batch),
                        plan=plan,
                        payload=(version.sha256, version.format, model_bytes, extra_globals),
                        model=model,
                        path=path,
                        ids=ids,
                        thr=thr,
                        schema=schema,
                        out_path=tmp_out,
                        out_fmt=out_fmt,
                        batch_rows=batch_rows,
                        kept=kept,
                        rejected=rej,
                        progress=progress,
                        cancel=cancel,
                    )
                    n_in, n_scored, n_rejected = counts
                else:
                    writer = _Writer(tmp_out, out_fmt, schema)
                    # the features are taken out on the reading thread, the summary
                    # kept as the writer takes each batch: this thread predicts
                    for f in _frozen_heap(
                        inp.batches(plan.select, batch_rows, lambda b: _features(model, plan, b))
                    ):
                        check(cancel)
                        batch = f.batch
                        n = len(batch)
                        if n == 0:
                            continue
                        table, rows, pred, proba, bad, kept_ids = _score_record_batch(
                            model, plan, batch, thr, n_in, schema, f
                        )
                        writer.write(table, then=functools.partial(kept.add, kept_ids, pred, proba))
                        rej.writerows(bad)
                        n_in += n
                        n_scored += int(rows.size)
                        n_rejected += len(bad)
                        if inp.total_rows:
                            progress(
                                0.05 + 0.9 * n_in / inp.total_rows,
                                f"scored {n_in:,} of {inp.total_rows:,} rows",
                            )
                        else:
                            progress(0.5, f"scored {n_in:,} rows")
                    writer.close()
                rf.flush()
                os.fsync(rf.fileno())
            if n_in == 0:
                raise InvalidInput(f"{path.name} has no rows to score")
            if n_scored == 0:  # an output of a header alone is a failure, not a result
                raise InvalidInput(_none_scored(tmp_rej, n_in, path.name))
            check(cancel)
        # the output's digest is read while it is flushed to disk (it is in the page cache)
        out_hasher = _Hasher(tmp_out)
        out_hasher.start()
        platform.fsync_file(tmp_out)
        try:
            in_sha = hasher.result()
        except Exception as e:
            raise InvalidInput(f"cannot read {path.name}: {_first_line(e)}") from e
        if kept_pass is not None:
            kept_pass.wait()  # it read the bytes the stamp below vouches for
        if _stamp(path) != before:  # the hash would not be of the bytes that were scored
            raise InvalidInput(f"{path.name} changed while it was being scored; score it again")
        progress(0.96, "writing the manifest")
        bid = batch_id or in_sha[:16]
        out_sha = out_hasher.result()
        rej_sha = sha256_file(tmp_rej)[0] if n_rejected else None
        manifest = {
            "modelward_version": __version__,
            "model": {
                "name": version.name,
                "version": version.version,
                "ref": version.ref,
                "requested": ref,
                "sha256": version.sha256,
                "format": version.format,
            },
            "input": {"path": str(path.absolute()), "sha256": in_sha, "format": inp.fmt},
            "output": {
                "path": str(out_path),
                "sha256": out_sha,
                "format": out_fmt,
                "columns": [n for n, _ in schema],
            },
            "rejected": ({"path": str(rejected_path), "sha256": rej_sha} if n_rejected else None),
            "rows": {"in": n_in, "scored": n_scored, "rejected": n_rejected},
            "id_columns": ids,
            "threshold": {"value": thr, "source": thr_source, "stored": stored},
            "batch_id": bid,
            "prediction_log": log,
            "started_at": started_at,
            "finished_at": utcnow(),
            "user": current_user(),
        }
        if dask_info is not None:
            manifest["dask"] = dask_info
        if model.reasons is not None:
            manifest["reasons"] = model.reasons.describe()
        manifest.update(manifest_extra or {})
        man_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        with open(tmp_man, "wb") as f:
            f.write(man_bytes)
            f.flush()
            os.fsync(f.fileno())
        man_sha = hashlib.sha256(man_bytes).hexdigest()
        check(cancel)
        # The outputs appear together, the manifest last; a rejected-rows file
        # from an earlier run of the same output would mislead, so it goes.
        if n_rejected:
            os.replace(tmp_rej, rejected_path)
            renamed.append(rejected_path)
        else:
            tmp_rej.unlink()
            with contextlib.suppress(FileNotFoundError):
                rejected_path.unlink()
        os.replace(tmp_out, out_path)
        renamed.append(out_path)
        os.replace(tmp_man, manifest_path)
        renamed.append(manifest_path)
        platform.fsync_dir(folder)
        kept_ids, kept_pred, kept_proba = kept.arrays() if kept.keep_rows else (None, None, None)
        summary = kept.summary.to_json()
        if log == "rows" and ids and kept_ids is not None and len(kept_ids):
            import pandas as pd  # deferred: start-up cost

            # late labels join the logged rows by id: an id on several rows joins each
            given = pd.Series(kept_ids, dtype=object).dropna()
            repeated = int(len(given) - given.nunique())
            if repeated:
                summary["repeated_ids"] = repeated
        # the log and the audit event: one open, one commit
        with registry.session(), registry.group():
            logged_extra: dict[str, Any] = {"input_bytes": before[0]}
            if kept_pass is not None and not n_rejected:  # a rejected row: the check scores
                entry = kept_pass.finish(registry)
                if entry is not None:
                    logged_extra[KEPT_PASS] = entry
            if log != "none":
                log_predictions(
                    registry,
                    version.name,
                    version.version,
                    bid,
                    kept_ids,
                    kept_pred if kept_pred is not None else np.empty(0),
                    kept_proba,
                    rows=log == "rows",
                    role=role,
                    id_column=ids[0] if ids else "row",
                    source=str(path),
                    summary=summary,
                    # a batch check hashes a file to find it here only when its size matches
                    extra=logged_extra,
                )
            with registry.transaction() as tx:
                seq = tx.audit(
                    "score.completed",
                    "version",
                    version.ref,
                    after={
                        "manifest_sha256": man_sha,
                        "output_sha256": out_sha,
                        "input_sha256": in_sha,
                        "rows": manifest["rows"],
                        "output": str(out_path),
                        "threshold": thr,
                        "batch_id": bid,
                        "role": role,
                    },
                )
    except BaseException:
        hasher.stop()
        if kept_pass is not None:
            kept_pass.stop()
        if writer is not None:  # its COPY ends before the file it writes is removed
            writer.discard()
        for p in (tmp_out, tmp_rej, tmp_man, *renamed):
            with contextlib.suppress(OSError):
                p.unlink()
        raise
    finally:
        if writer is not None:
            writer.discard()
    progress(1.0, f"scored {n_scored:,} rows")
    return ScoreResult(
        ref=version.ref,
        name=version.name,
        version=version.version,
        sha256=version.sha256,
        input=str(path),
        input_sha256=in_sha,
        output=str(out_path),
        output_sha256=out_sha,
        format=out_fmt,
        rejected=str(rejected_path) if n_rejected else None,
        manifest=str(manifest_path),
        manifest_sha256=man_sha,
        rows_in=n_in,
        rows_scored=n_scored,
        rows_rejected=n_rejected,
        threshold=thr,
        threshold_source=thr_source,
        columns=[n for n, _ in schema],
        seconds=time.monotonic() - started,
        audit_seq=int(seq),
        batch_id=bid,
        summary=summary,
        predictions=(kept_ids, kept_pred, kept_proba) if keep_predictions else None,
    )


def _sql_type_of(values: np.ndarray) -> str:
    """The DuckDB type of a column of labels (what pyarrow would have inferred)."""
    kind, size = values.dtype.kind, values.dtype.itemsize
    if kind == "b":
        return "BOOLEAN"
    if kind == "i":
        return {1: "TINYINT", 2: "SMALLINT", 4: "INTEGER"}.get(size, "BIGINT")
    if kind == "u":
        return {1: "UTINYINT", 2: "USMALLINT", 4: "UINTEGER"}.get(size, "UBIGINT")
    if kind == "f":
        return "FLOAT" if size == 4 else "DOUBLE"
    if kind == "O" and len(values):
        items = values.tolist()
        if all(isinstance(v, (bool, np.bool_)) for v in items):
            return "BOOLEAN"
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
            return "BIGINT"
        if all(isinstance(v, (float, np.floating)) for v in items):
            return "DOUBLE"
    return "VARCHAR"


def _output_schema(
    model: _Model, ids: Sequence[str], inp: _Input, decision: bool
) -> list[tuple[str, str]]:
    fields = [(c, inp.types[c]) for c in ids] if ids else [("row", "BIGINT")]
    label = "DOUBLE" if model.classes is None else _sql_type_of(model.classes)
    fields.append(("prediction", label))
    if model.has_proba:
        assert model.classes is not None
        fields += [(f"proba_{c}", "DOUBLE") for c in model.classes.tolist()]
    if decision:
        fields.append(("decision", label))
    names = [f[0] for f in fields]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InvalidInput(
            f"the id column{'s' if len(dup) > 1 else ''} {', '.join(map(repr, dup))} "
            "would clash with an output column; rename it"
        )
    return fields


def _labels(values: np.ndarray, sql_type: str) -> np.ndarray:
    """Labels as the array DuckDB writes as ``sql_type``."""
    if sql_type == "VARCHAR":
        return np.array([None if v is None else str(v) for v in values.tolist()], dtype=object)
    return values


def _output_columns(
    model: _Model,
    plan: _Plan,
    batch: Any,
    rows: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray | None,
    thr: float | None,
    offset: int,
    schema: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    cols: dict[str, Any] = {}
    if plan.ids:
        for name, _, pos in plan.ids:
            col = batch.iloc[rows, pos] if rows.size < len(batch) else batch.iloc[:, pos]
            cols[name] = col.reset_index(drop=True)
    else:
        cols["row"] = rows.astype(np.int64) + offset + 1
    label_type = dict(schema)["prediction"]
    if model.classes is None:
        cols["prediction"] = np.asarray(pred, dtype=np.float64)
    else:
        cols["prediction"] = _labels(np.asarray(pred), label_type)
    if model.has_proba:
        assert model.classes is not None
        for j, c in enumerate(model.classes.tolist()):
            cols[f"proba_{c}"] = proba[:, j] if proba is not None else np.empty(0)
    if thr is not None:
        assert model.classes is not None
        decided = (
            model.classes[(proba[:, 1] >= thr).astype(np.intp)]
            if proba is not None and rows.size
            else np.empty(0, dtype=model.classes.dtype)
        )
        cols["decision"] = _labels(decided, label_type)
    return cols
