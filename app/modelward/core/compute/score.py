"""Batch scoring: a registered model decides a file of rows, and another system reads the result.

``score_file`` resolves the model reference once, loads the model through the
safe loader, then streams the input (CSV through DuckDB, Parquet through
pyarrow) in record batches, so a file larger than memory is scored in bounded
memory. Each batch is converted to the types the model was trained on; rows
that cannot be scored (text in a number column, an infinite value, a missing
value the model cannot take, a value the model refuses) go to
``<out>.rejected.csv`` with the reason, never silently dropped.

Everything is written under temporary names in the output's folder, flushed
to disk and renamed only when the whole input has been scored and the audit
event recorded; a failed or cancelled run leaves nothing behind. The manifest
``<out>.manifest.json`` says which model version scored which bytes into which
bytes, so an output can be traced back to its model and input.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import json
import os
import secrets
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import modelward.core.compute.data as _data
from modelward import __version__
from modelward.core import platform
from modelward.core.artifacts.allowlist import Allowlist
from modelward.core.artifacts.safeload import approved_globals, load_bytes
from modelward.core.clock import utcnow
from modelward.core.compute.decision import stored_threshold
from modelward.core.compute.explain import reason_columns
from modelward.core.compute.parallel import limited_threads
from modelward.core.errors import InvalidInput
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress
from modelward.core.refs import current_user
from modelward.core.registry.predictions import (
    CHAMPION,
    ScoreSummary,
    log_predictions,
    score_column,
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
_NUMERIC = "numeric"
_CATEGORICAL = "categorical"
# Text that means "no value" in a column of numbers (as the training reader reads it).
_MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "?"})
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
            kinds[str(n)] = (
                ""
                if not dt
                else _NUMERIC
                if dt.startswith(("int", "uint", "float", "bool", "Int", "Float", "UInt"))
                else _CATEGORICAL
            )
    classes = getattr(est, "classes_", None)
    final = _final_step(est)
    try:
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
    )


# --------------------------------------------------------------------------- reading
@dataclass
class _Input:
    path: Path
    fmt: str
    columns: list[str]
    types: dict[str, Any]  # pyarrow types of the columns (CSV: all text)
    total_rows: int | None
    batches: Iterator[Any]


def _is_parquet(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror or e}") from None
    if not head:
        raise InvalidInput(f"{path.name} is empty: there are no rows to score")
    return head == b"PAR1"


def _sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextlib.contextmanager
def _open_input(
    path: Path, wanted: Sequence[str], batch_rows: int, threads: int
) -> Iterator[_Input]:
    """The input's columns and a stream of pyarrow record batches of ``wanted`` columns."""
    import pyarrow as pa  # deferred: start-up cost
    import pyarrow.parquet as pq  # deferred: start-up cost

    if _is_parquet(path):
        try:
            # pre_buffer (pyarrow's default) keeps every column chunk it has read until
            # the file is closed: peak memory grew with the file (2.4 GB at 10M rows)
            pf = pq.ParquetFile(path, pre_buffer=False)
            schema = pf.schema_arrow
        except (pa.ArrowException, OSError) as e:
            raise InvalidInput(f"cannot read {path.name} as Parquet: {_first_line(e)}") from None
        columns = [str(n) for n in schema.names]
        present = [c for c in wanted if c in columns]

        def pq_batches() -> Iterator[Any]:
            try:
                yield from pf.iter_batches(batch_size=batch_rows, columns=present, use_threads=True)
            except (pa.ArrowException, OSError) as e:
                raise InvalidInput(f"cannot read {path.name}: {_first_line(e)}") from None

        yield _Input(
            path,
            "parquet",
            columns,
            {str(f.name): f.type for f in schema},
            pf.metadata.num_rows,
            pq_batches(),
        )
        return
    import duckdb  # deferred: start-up cost

    with _data.duck() as con:
        con.execute(f"SET threads = {max(1, int(threads))}")
        # every CSV field as text: the model's types are applied per row, so one
        # bad value rejects one row instead of failing the file
        src = "read_csv(?, all_varchar = true, header = true)"
        try:
            desc = con.execute(f"DESCRIBE SELECT * FROM {src}", [str(path)]).fetchall()
        except duckdb.Error as e:
            raise InvalidInput(f"cannot read {path.name} as CSV: {_first_line(e)}") from None
        columns = [str(r[0]) for r in desc]
        present = [c for c in wanted if c in columns]
        sel = ", ".join(_sql_ident(c) for c in present) or "*"

        def csv_batches() -> Iterator[Any]:
            try:
                result: Any = con.execute(f"SELECT {sel} FROM {src}", [str(path)])
                yield from result.to_arrow_reader(batch_rows)
            except duckdb.Error as e:
                raise InvalidInput(f"cannot read {path.name}: {_first_line(e)}") from None

        yield _Input(path, "csv", columns, dict.fromkeys(columns, pa.string()), None, csv_batches())


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


# --------------------------------------------------------------------------- converting
def _numeric(col: Any, name: str, reasons: np.ndarray) -> np.ndarray:
    """A column as float64; rows with text that is not a number get a reason."""
    import pandas as pd  # deferred: start-up cost
    import pyarrow as pa  # deferred: start-up cost

    t = col.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        values = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    elif (pa.types.is_string(t) or pa.types.is_large_string(t)) and (
        fast := _text_to_float(col)
    ) is not None:
        values = fast
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        text = pd.Series(col.to_numpy(zero_copy_only=False), dtype=object).str.strip()
        missing = text.isna() | text.str.lower().isin(_MISSING_TOKENS)
        values = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(np.isnan(values) & ~missing.to_numpy())
        for i in bad:
            if reasons[i] is None:
                reasons[i] = f"column {name!r} should hold a number, not {str(text.iat[i])[:80]!r}"
    else:
        raise InvalidInput(f"column {name!r} should hold numbers but holds {t}")
    inf = np.flatnonzero(np.isinf(values))
    for i in inf:
        if reasons[i] is None:
            reasons[i] = f"column {name!r} holds an infinite value"
    return values


def _text_to_float(col: Any) -> np.ndarray | None:
    """Text of numbers as float64 in Arrow's kernels; ``None`` when any cell is not a number.

    The usual CSV column: every cell a number or a missing-value token. A
    column with one bad cell takes the slower path that names the bad rows.
    """
    import pyarrow as pa  # deferred: start-up cost
    import pyarrow.compute as pc  # deferred: start-up cost

    trimmed = pc.utf8_trim_whitespace(col)
    missing = pc.or_kleene(
        pc.is_null(trimmed),
        pc.is_in(pc.utf8_lower(trimmed), value_set=_MISSING_ARROW()),
    )
    try:
        numbers = pc.cast(pc.if_else(missing, pa.scalar(None, pa.string()), trimmed), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.float64)


@functools.cache
def _MISSING_ARROW() -> Any:  # noqa: N802 - a constant, built on first use
    import pyarrow as pa  # deferred: start-up cost

    return pa.array(sorted(_MISSING_TOKENS), type=pa.string())


def _categorical(col: Any, name: str) -> np.ndarray:
    import pyarrow as pa  # deferred: start-up cost

    t = col.type
    if pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
        raise InvalidInput(f"column {name!r} holds {t}, which the model cannot take")
    nulls = np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        col = col.cast(pa.string()) if not pa.types.is_floating(t) else col
        values = np.array([str(v) for v in col.to_pylist()], dtype=object)
    else:
        values = np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)
    values[nulls] = np.nan
    return values


def _infer_kinds(model: _Model, inp: _Input) -> None:
    """Columns whose kind the model does not record: numbers by their type (CSV: by their text)."""
    import pyarrow as pa  # deferred: start-up cost

    for c in model.features:
        if model.kinds[c]:
            continue
        t = inp.types[c]
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
            model.kinds[c] = _NUMERIC
        elif inp.fmt == "parquet":
            model.kinds[c] = _CATEGORICAL
        else:
            model.kinds[c] = ""  # decided on the first batch (CSV text)


def _decide_csv_kinds(model: _Model, batch: Any) -> None:
    import pandas as pd  # deferred: start-up cost

    for c in model.features:
        if model.kinds[c]:
            continue
        text = (
            pd.Series(batch.column(c).to_numpy(zero_copy_only=False), dtype=object)
            .dropna()
            .str.strip()
        )
        text = text[~text.str.lower().isin(_MISSING_TOKENS)]
        numbers = pd.to_numeric(text, errors="coerce")
        model.kinds[c] = _NUMERIC if len(text) and numbers.notna().all() else _CATEGORICAL


# --------------------------------------------------------------------------- scoring
def _features_frame(model: _Model, batch: Any, reasons: np.ndarray) -> Any:
    import pandas as pd  # deferred: start-up cost

    cols: dict[str, Any] = {}
    for c in model.features:
        col = batch.column(c)
        if model.kinds[c] == _NUMERIC:
            cols[c] = _numeric(col, c, reasons)
        else:
            cols[c] = _categorical(col, c)
    frame = pd.DataFrame(cols, copy=False)
    if model.rejects_nan:
        for c in model.features:
            s = frame[c]
            missing = np.flatnonzero(s.isna().to_numpy())
            for i in missing:
                if reasons[i] is None:
                    reasons[i] = (
                        f"column {c!r} is missing and the model cannot take a missing value"
                    )
    return frame


def _flagged(reasons: np.ndarray) -> np.ndarray:
    """Rows that already have a reason not to be scored."""
    return np.asarray(np.not_equal(reasons, np.array(None, dtype=object)), dtype=bool)


def _predict(model: _Model, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
    est = model.est
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


def _predict_rows(
    model: _Model, X: Any, reasons: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Predict the rows of ``X`` without a reason; rows the model refuses get one.

    Returns ``(rows, prediction, proba)`` where ``rows`` indexes ``X``.
    """
    ok = np.flatnonzero(~_flagged(reasons))
    if ok.size == 0:
        return ok, np.empty(0), None
    try:
        pred, proba = _predict(model, X.iloc[ok] if ok.size < len(X) else X)
        return ok, pred, proba
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
    """The output under a temporary name, as Parquet or CSV."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = fmt
        self._w: Any = None

    def write(self, table: Any) -> None:
        import pyarrow.csv as pacsv  # deferred: start-up cost
        import pyarrow.parquet as pq  # deferred: start-up cost

        if self._w is None:
            if self.fmt == "parquet":
                self._w = pq.ParquetWriter(self.path, table.schema)
            else:
                self._w = pacsv.CSVWriter(self.path, table.schema)
        self._w.write_table(table)

    def close(self, schema: Any) -> None:
        if self._w is None:  # every row rejected: still a valid, empty table
            self.write(schema.empty_table())
        self._w.close()
        self._w = None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class _Hasher(threading.Thread):
    """The input's SHA-256, computed beside the scoring (it reads the same bytes)."""

    def __init__(self, path: Path) -> None:
        super().__init__(name="modelward-score-hash", daemon=True)
        self.path = path
        self.digest = ""
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.digest = _sha256_file(self.path)
        except BaseException as e:  # reported by the caller
            self.error = e


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
            self.ids.append(ids.to_pylist() if hasattr(ids, "to_pylist") else ids)
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
    batch: Any,
    ids: Sequence[str],
    thr: float | None,
    offset: int,
    schema: Any,
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray | None, list[list[Any]], Any]:
    """One record batch: ``(output table, rows, prediction, proba, rejected rows, id column)``."""
    import pyarrow as pa  # deferred: start-up cost

    n = batch.num_rows
    if any(not k for k in model.kinds.values()):
        _decide_csv_kinds(model, batch)
    reasons = np.full(n, None, dtype=object)
    X = _features_frame(model, batch, reasons)
    rows, pred, proba = _predict_rows(model, X, reasons)
    base = schema if model.reasons is None else model.reasons.base  # without reason columns
    table = _output_table(model, batch, ids, rows, pred, proba, thr, offset, base, pa)
    if model.reasons is not None:
        table = model.reasons.append(table, X.iloc[rows])
    rejected: list[list[Any]] = []
    bad = np.flatnonzero(_flagged(reasons))
    if bad.size:
        id_vals = [batch.column(c).take(bad).to_pylist() for c in ids]
        for k, i in enumerate(bad):
            rejected.append([offset + int(i) + 1, *(v[k] for v in id_vals), reasons[i]])
    return table, rows, pred, proba, rejected, table.column(0)


def _check_log(log: str) -> str:
    if log not in LOG_MODES:
        raise InvalidInput(f"unknown prediction log mode {log!r}: use none, summary or rows")
    return log


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
    version = registry.resolve(ref)  # once: a promotion during the run changes nothing
    path = _data.resolve_source(data, registry)
    out_path, rejected_path, manifest_path = output_paths(out)
    out_path = out_path.absolute()
    rejected_path, manifest_path = rejected_path.absolute(), manifest_path.absolute()
    if out_path.resolve() == path.resolve():
        raise InvalidInput("the output would overwrite the input; choose another output file")
    _check_output_folder(out_path)
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise InvalidInput(f"the threshold must be between 0 and 1, not {threshold}")
    ids = list(dict.fromkeys(str(c) for c in id_columns))

    progress(0.02, "loading the model")
    model_bytes = registry.artifacts.read_bytes(version.sha256)  # verifies the digest
    extra_globals = approved_globals(registry, version.sha256)
    est = load_bytes(model_bytes, version.format, Allowlist(extra_globals))
    if getattr(est, "extra", None) and threads:  # a native model: its library's own threads
        est.n_jobs = threads
    model = _describe_model(version, est)
    if reasons:
        model.reasons = reason_columns(registry, version, est, model.features, reasons, dask)
    stored = stored_threshold(version)
    thr = float(threshold) if threshold is not None else stored
    thr_source = "option" if threshold is not None else ("version" if stored is not None else None)
    if thr is not None and not model.binary:
        if threshold is not None:
            what = (
                "is a regressor" if model.classes is None else f"has {len(model.classes)} classes"
            )
            raise InvalidInput(
                f"a decision threshold applies to a binary classifier; {version.ref} {what}"
            )
        thr, thr_source = None, None  # a stored threshold that does not apply: no decision
    if thr is not None and not model.has_proba:
        raise InvalidInput(f"{version.ref} gives no probabilities, so it has no threshold")
    check(cancel)

    folder = out_path.parent
    tmp_out = _temp_beside(out_path)
    tmp_rej = _temp_beside(rejected_path)
    tmp_man = _temp_beside(manifest_path)
    renamed: list[Path] = []
    hasher = _Hasher(path)
    before = _stamp(path)
    kept = _Kept(
        ScoreSummary(probability=model.has_proba or model.classes is not None),
        keep_rows=log == "rows" or keep_predictions,
    )
    dask_info: dict[str, Any] | None = None
    try:
        with (
            limited_threads(threads),
            warnings.catch_warnings(),
            _open_input(path, [*model.features, *ids], batch_rows, threads) as inp,
        ):
            warnings.simplefilter("ignore")
            missing = [c for c in model.features if c not in inp.columns]
            if missing:
                raise InvalidInput(
                    f"{path.name} lacks the model's column{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(repr(m) for m in missing[:10])}"
                    + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
                )
            missing_ids = [c for c in ids if c not in inp.columns]
            if missing_ids:
                raise InvalidInput(
                    f"{path.name} has no id column{'s' if len(missing_ids) > 1 else ''} "
                    f"{', '.join(repr(m) for m in missing_ids)}"
                )
            if inp.total_rows == 0:
                raise InvalidInput(f"{path.name} has no rows to score")
            hasher.start()
            out_fmt = _output_format(out_path, fmt, inp.fmt)
            _infer_kinds(model, inp)
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
                    writer = _Writer(tmp_out, out_fmt)
                    for batch in inp.batches:
                        check(cancel)
                        n = batch.num_rows
                        if n == 0:
                            continue
                        table, rows, pred, proba, bad, kept_ids = _score_record_batch(
                            model, batch, ids, thr, n_in, schema
                        )
                        writer.write(table)
                        kept.add(kept_ids, pred, proba)
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
                    writer.close(schema)
                rf.flush()
                os.fsync(rf.fileno())
            if n_in == 0:
                raise InvalidInput(f"{path.name} has no rows to score")
            check(cancel)
        _fsync(tmp_out)
        hasher.join()
        if hasher.error is not None:
            raise InvalidInput(f"cannot read {path.name}: {_first_line(hasher.error)}")
        if _stamp(path) != before:  # the hash would not be of the bytes that were scored
            raise InvalidInput(f"{path.name} changed while it was being scored; score it again")
        progress(0.96, "writing the manifest")
        bid = batch_id or hasher.digest[:16]
        out_sha = _sha256_file(tmp_out)
        rej_sha = _sha256_file(tmp_rej) if n_rejected else None
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
            "input": {"path": str(path.absolute()), "sha256": hasher.digest, "format": inp.fmt},
            "output": {
                "path": str(out_path),
                "sha256": out_sha,
                "format": out_fmt,
                "columns": list(schema.names),
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
                summary=kept.summary.to_json(),
            )
        with registry.transaction() as tx:
            seq = tx.audit(
                "score.completed",
                "version",
                version.ref,
                after={
                    "manifest_sha256": man_sha,
                    "output_sha256": out_sha,
                    "input_sha256": hasher.digest,
                    "rows": manifest["rows"],
                    "output": str(out_path),
                    "threshold": thr,
                    "batch_id": bid,
                    "role": role,
                },
            )
    except BaseException:
        for p in (tmp_out, tmp_rej, tmp_man, *renamed):
            with contextlib.suppress(OSError):
                p.unlink()
        raise
    progress(1.0, f"scored {n_scored:,} rows")
    return ScoreResult(
        ref=version.ref,
        name=version.name,
        version=version.version,
        sha256=version.sha256,
        input=str(path),
        input_sha256=hasher.digest,
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
        columns=list(schema.names),
        seconds=time.monotonic() - started,
        audit_seq=int(seq),
        batch_id=bid,
        summary=kept.summary.to_json(),
        predictions=(kept_ids, kept_pred, kept_proba) if keep_predictions else None,
    )


def _output_schema(model: _Model, ids: Sequence[str], inp: _Input, decision: bool) -> Any:
    import pyarrow as pa  # deferred: start-up cost

    fields = [pa.field(c, inp.types[c]) for c in ids] if ids else [pa.field("row", pa.int64())]
    if model.classes is not None:
        label = pa.array(model.classes).type
    else:
        label = pa.float64()
    fields.append(pa.field("prediction", label))
    if model.has_proba:
        assert model.classes is not None
        fields += [pa.field(f"proba_{c}", pa.float64()) for c in model.classes.tolist()]
    if decision:
        fields.append(pa.field("decision", label))
    names = [f.name for f in fields]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InvalidInput(
            f"the id column{'s' if len(dup) > 1 else ''} {', '.join(map(repr, dup))} "
            "would clash with an output column; rename it"
        )
    return pa.schema(fields)


def _output_table(
    model: _Model,
    batch: Any,
    ids: Sequence[str],
    rows: np.ndarray,
    pred: np.ndarray,
    proba: np.ndarray | None,
    thr: float | None,
    offset: int,
    schema: Any,
    pa: Any,
) -> Any:
    take = pa.array(rows, type=pa.int64())
    cols: list[Any] = (
        [batch.column(c).take(take) for c in ids] if ids else [pa.array(rows + offset + 1)]
    )
    label_type = schema.field("prediction").type
    cols.append(pa.array(pred, type=label_type) if rows.size else pa.array([], type=label_type))
    if model.has_proba:
        assert model.classes is not None
        for j in range(len(model.classes)):
            cols.append(pa.array(proba[:, j] if proba is not None else np.empty(0)))
    if thr is not None:
        assert model.classes is not None
        decided = (
            model.classes[(proba[:, 1] >= thr).astype(np.intp)]
            if proba is not None and rows.size
            else np.empty(0, dtype=model.classes.dtype)
        )
        cols.append(pa.array(decided, type=label_type))
    return pa.Table.from_arrays(cols, schema=schema)
