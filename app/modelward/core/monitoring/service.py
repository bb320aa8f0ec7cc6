"""Monitoring a registered version: profile its reference, check batches, attach late labels.

``check_batch`` runs schema check -> one pass over the batch (drift counts,
quality, model scores) -> drift verdict -> performance (realized with labels,
estimated without) -> one transaction that stores the batch, its per-feature
results, its performance points and its predictions, with an audit event.

The metric set follows the model's kind (binary, multiclass, regression; see
:mod:`modelward.core.monitoring.performance`), decided from the model when
its reference is profiled and stored in the profile, so a regressor is never
given a classification metric.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from modelward.core.artifacts.safeload import load_artifact, load_bytes, verified_bytes
from modelward.core.artifacts.store import sha256_file
from modelward.core.clock import utcnow
from modelward.core.errors import Cancelled, InvalidInput, NotFound
from modelward.core.monitoring.binning import Accumulator, BatchCounts
from modelward.core.monitoring.drift import (
    DriftReport,
    ScorerNeedsColumns,
    compare,
    summarize,
)
from modelward.core.monitoring.performance import (
    BINARY,
    KINDS,
    REGRESSION,
    ModelKind,
    check_labels,
    encode_labels,
    estimate_for,
    kind_of,
    realized_metrics,
    realized_notes,
)
from modelward.core.monitoring.profile import (
    MIN_REFERENCE_ROWS,
    NumericProfile,
    ReferenceProfile,
    build_profile,
)
from modelward.core.monitoring.quality import SchemaMismatch, check_schema, quality_of
from modelward.core.monitoring.scoring import (
    LoggedScorer,
    LogMismatch,
    ModelScorer,
    PendingScorer,
)
from modelward.core.monitoring.segments import (
    MIN_SEGMENT_ROWS,
    check_date_column,
    column_time,
    data_time_of,
    date_in_name,
    filtered,
    group_gaps,
    prediction_summary,
    segments_of,
)
from modelward.core.monitoring.source import NUMERIC, TableSource, open_source
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress, sub_progress
from modelward.core.registry.predictions import (
    KEPT_PASS,
    LoggedBatch,
    logged_scores,
    read_predictions,
)
from modelward.core.registry.refusals import door
from modelward.core.tables import Table, TableScan, check_signature

if TYPE_CHECKING:
    from modelward.core.domain import ModelVersion
    from modelward.core.registry import Registry

__all__ = [
    "BatchResult",
    "KeptPass",
    "attach_labels",
    "check_batch",
    "logged_candidates",
    "get_profile",
    "kept_pass_may_stand",
    "logged_batch_key",
    "profile_version",
    "set_data_time",
    "set_protected",
    "stored_kind",
]


@dataclass
class BatchResult:
    """A stored batch check."""

    batch_id: int
    version_ref: str
    name: str
    report: DriftReport
    performance: dict[str, dict[str, float]]  # kind (realized/estimated) -> metric -> value
    model_kind: str = BINARY  # binary | multiclass | regression: decides the metric set
    performance_notes: list[str] = field(default_factory=list)  # how estimated, what is undefined
    data_time: str = ""  # when the rows happened (the charts' time axis)
    data_time_source: str = "arrival"  # "file name", "column NAME", "arrival" or "given"
    predictions: dict[str, Any] = field(default_factory=dict)  # summary; "rows_logged" when per row
    segments: dict[str, Any] = field(default_factory=dict)  # see :func:`_segment_results`
    groups: dict[str, Any] = field(default_factory=dict)  # see :func:`~.segments.group_gaps`
    excluded_rows: int = 0  # rows flagged at intake, left out of the performance figures
    scores_from_log: str | None = None  # the log's batch id when the scores were read back
    counted_when_scored: bool = False  # the pass ``score`` kept was used: the file was not read
    intake: TableScan | None = None  # the intake's flags counted in the pass (``intake_scan``)
    extra_columns: list[str] = field(default_factory=list)  # kept, not the model's: not monitored

    def to_json(self) -> dict[str, Any]:
        d = self.report.to_json()
        d.update(
            scores_from_log=self.scores_from_log,
            counted_when_scored=self.counted_when_scored,
            batch_id=self.batch_id,
            version=self.version_ref,
            name=self.name,
            performance=self.performance,
            model_kind=self.model_kind,
            performance_notes=self.performance_notes,
            data_time=self.data_time,
            data_time_source=self.data_time_source,
            predictions=self.predictions,
            segments=self.segments,
            groups=self.groups,
            excluded_rows=self.excluded_rows,
            extra_columns=self.extra_columns,
        )
        return d

    @property
    def model_name(self) -> str:
        """The checked model's name (``version_ref`` is always ``NAME:VERSION``)."""
        return self.version_ref.rpartition(":")[0]

    def notes(self) -> list[str]:
        """What the check kept but did not judge, one line each (the CLI prints them as flags)."""
        return [f"{c}: not a column of the model: kept, not monitored" for c in self.extra_columns]


# --------------------------------------------------------------------------- model scoring
def _scorer(
    reg: Registry,
    v: ModelVersion,
    src: TableSource,
    skip: Sequence[str],
    kind: ModelKind | None = None,
) -> ModelScorer:
    """The scorer of the version's model (its kind derived from the model unless given)."""

    model = load_artifact(reg.artifacts, v.sha256, v.format, registry=reg)
    return _scorer_of(model, v, src, skip, kind)


def _scorer_of(
    model: Any,
    v: ModelVersion,
    src: TableSource,
    skip: Sequence[str],
    kind: ModelKind | None,
) -> ModelScorer:
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        cols = [str(c) for c in names]
    elif v.tags.get("features"):
        cols = [c for c in v.tags["features"].split(",") if c]
    else:
        cols = [c for c, k in src.kinds.items() if k == NUMERIC and c not in skip]
    n_in = getattr(model, "n_features_in_", None)
    if n_in is not None and len(cols) != int(n_in):
        raise InvalidInput(
            f"{v.ref} expects {n_in} input columns but {len(cols)} were found in "
            f"{src.label}; name them with features=... (CLI: --features a,b,c)"
        )
    missing = [c for c in cols if c not in src.kinds]
    if missing:
        raise SchemaMismatch(
            f"{src.label} does not match the model: missing input column(s) {', '.join(missing)}"
        )
    kinds = {str(f.get("name")): f.get("kind") for f in (v.signature or {}).get("features") or []}
    numbers = [
        c
        for c in cols
        if src.kinds.get(c) != NUMERIC
        and (kinds.get(c) == "numeric" or (c in src.booleans and kinds.get(c) != "categorical"))
    ]
    return ModelScorer(
        model,
        kind or kind_of(v.signature, model),
        cols,
        by_name=names is not None,
        numbers=numbers,
        label=src.label,
    )


def _pending_scorer(
    reg: Registry,
    v: ModelVersion,
    src: TableSource,
    skip: Sequence[str],
    kind: ModelKind | None,
    prof: ReferenceProfile,
) -> PendingScorer:
    """The version's scorer, its model loading on a thread while the batch is read.

    The artifact's bytes are read and checked against their SHA-256, and the
    reviewer-approved globals read from the registry, here on the caller's
    thread; the thread runs the same restricted load on exactly those bytes.
    The pass reads every column the scorer could need (the profile's, the
    version's recorded features, the numeric ones), a scorer needing another
    makes the pass run again.
    """
    data, allow = verified_bytes(reg.artifacts, v.sha256, registry=reg)
    fmt = v.format

    def make() -> ModelScorer:
        return _scorer_of(load_bytes(data, fmt, allow), v, src, skip, kind)

    tagged = [c for c in (v.tags.get("features") or "").split(",") if c]
    numeric = [c for c, k in src.kinds.items() if k == NUMERIC and c not in skip]
    guess = [c for c in dict.fromkeys([*prof.features, *tagged, *numeric]) if c in src.kinds]
    return PendingScorer(make, guess)


def stored_kind(prof: ReferenceProfile) -> ModelKind | None:
    """The model kind recorded in a profile (``None``: a profile from before kinds were kept)."""
    return ModelKind.from_json(prof.model) if prof.model.get("kind") in KINDS else None


def _model_info(prof: ReferenceProfile, kind: ModelKind) -> dict[str, Any]:
    """The profile's calibration and reference metrics when they were made for ``kind``.

    Profiles from before kinds were kept scored every model as binary; their
    numbers are kept only for a binary model.
    """
    made_for = prof.model.get("kind") or prof.model.get("task")
    return dict(prof.model) if made_for == kind.kind else {}


# --------------------------------------------------------------------------- profiles
@door("profile", source="reference")
def profile_version(
    reg: Registry,
    ref: str,
    reference: str | os.PathLike[str] | Mapping[str, Any],
    *,
    target: str | None = None,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
    exclude: Sequence[str] = (),
    protected: str | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> ReferenceProfile:
    """Profile the reference data of a version (with its model's scores) and store it.

    Replaces an earlier profile of the same version; audited as ``monitor.profiled``.
    ``protected`` names a protected attribute kept with the profile: every
    later batch check reports the gaps between its groups.
    """

    v = reg.resolve(ref)
    src = open_source(reference, categorical=categorical)
    skip = [*exclude, *([target] if target else [])]
    scorer = _scorer(reg, v, src, skip)
    # the model's numbers that the file marks missing with "NA": numbers, as train read them
    src.take_marked_numbers([c for c in scorer.numbers if c not in categorical])
    prof = build_profile(
        src,
        features=features,
        exclude=skip,
        score_fn=scorer,
        score_columns=scorer.columns,
        label_column=target,
        progress=sub_progress(progress, 0.0, 0.95),
        cancel=cancel,
        model_kind=scorer.kind,
        proba_fn=scorer.take_proba,
        min_rows=MIN_REFERENCE_ROWS,
    )
    check(cancel)
    if protected:
        if protected not in src.kinds:
            raise InvalidInput(f"{src.label} has no column {protected!r}")
        prof.model["protected"] = protected
    text = json.dumps(prof.to_json(), separators=(",", ":"))
    with reg.transaction() as tx:
        tx.q("DELETE FROM mon_profiles WHERE version_id = ?", [v.id])
        tx.q(
            "INSERT INTO mon_profiles VALUES (?,?,?,?,?,?)",
            [v.id, src.label, prof.n_rows, text, utcnow(), tx.actor],
        )
        tx.audit(
            "monitor.profiled",
            "version",
            v.ref,
            after={
                "source": src.label,
                "rows": prof.n_rows,
                "features": list(prof.features),
                "model_kind": scorer.kind.kind,
            },
        )
    progress(1.0, "reference profiled")
    return prof


def get_profile(reg: Registry, version_id: int) -> ReferenceProfile | None:
    """The stored profile of a version, or ``None``."""
    got = _profile_row(reg, version_id)
    return got[0] if got is not None else None


def _profile_row(reg: Registry, version_id: int) -> tuple[ReferenceProfile, str] | None:
    """The stored profile of a version and the SHA-256 of its stored text, or ``None``."""
    with reg._read() as cur:
        rows = cur.execute(
            "SELECT profile FROM mon_profiles WHERE version_id = ?", [version_id]
        ).fetchall()
    if not rows:
        return None
    text = str(rows[0][0])
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return ReferenceProfile.from_json(json.loads(text)), digest


# --------------------------------------------------------------------------- a pass kept with the log
@dataclass
class _Kept:
    """A kept pass, read back: what the check's own pass over the same bytes would give."""

    counts: BatchCounts
    intake: TableScan
    columns: list[str]
    extra_columns: list[str]
    column_time: tuple[str, str] | None  # the earliest date of the first date column


class KeptPass:
    """The check's pass over a batch file, made while ``score`` scores it, kept with its log.

    A batch that ``score`` logs row by row is checked later without being
    read again: what a check's own pass over the file would find (the
    drift counts, the intake's flags, the columns the model does not take,
    the earliest date of a date column) is counted here by the same code
    (:func:`~modelward.core.monitoring.drift.summarize` over the strict
    reader's table, as a check scoring the batch counts it), on a thread of
    its own while the rows are scored. :meth:`finish` stores it as a JSON
    artifact that the logged batch names, with the SHA-256 of the profile it
    was counted against.

    A check finds the logged batch by the file's SHA-256 (the log's key), so
    the pass stands only for those bytes; a profile stored since, or a check
    that needs more than the pass counted (labels, ids, segments, a
    protected attribute, a named date column, strict columns), reads the
    file as before. Any failure of the pass (a schema the profile refuses,
    an infinite value) only means no pass is kept: the check then reads the
    file and says what is wrong, as it always did.

    Start one with :meth:`start` (``None`` when the version has no profile).
    """

    def __init__(self, prof: ReferenceProfile, digest: str, v: ModelVersion, path: Path):
        self.digest = digest
        self._cancel = CancelToken()
        self._doc: bytes | None = None
        self._thread = threading.Thread(
            target=self._run, args=(prof, v, path), name="modelward-score-pass", daemon=True
        )

    @classmethod
    def start(cls, reg: Registry, v: ModelVersion, path: Path) -> KeptPass | None:
        """Start counting ``path`` against ``v``'s profile; ``None`` when it has none."""
        got = _profile_row(reg, v.id)
        if got is None:
            return None
        kept = cls(got[0], got[1], v, path)
        kept._thread.start()
        return kept

    def _run(self, prof: ReferenceProfile, v: ModelVersion, path: Path) -> None:
        try:
            src = open_source(path)
            # the profile's columns are monitored, the model's read: the others are extra
            extra = (
                model_columns(v, src.table, allowed=list(prof.features))
                if src.table is not None
                else []
            )
            scan = src.intake_scan()
            counts = summarize(src, prof, scan=scan, cancel=self._cancel, as_scored=True)
            intake = scan.result(src.label)
            doc = {
                "format": 1,
                "profile": self.digest,
                "counts": counts.to_json(),
                "intake": {"rows": intake.rows, "flags": intake.flags},
                "columns": list(src.kinds),
                "extra_columns": extra,
                "column_time": column_time(src),
            }
            self._doc = json.dumps(doc, separators=(",", ":")).encode("utf-8")
        except Exception:  # no pass kept: the check reads the file and says what is wrong
            self._doc = None

    def stop(self) -> None:
        """Stop counting (a failed or cancelled run) and wait for the thread."""
        self._cancel.cancel()
        self._thread.join()

    def wait(self) -> None:
        """Wait for the pass to end."""
        self._thread.join()

    def finish(self, reg: Registry) -> dict[str, str] | None:
        """Wait for the pass and store it: the summary entry that names it, or ``None``."""
        self.wait()
        if self._doc is None:
            return None
        sha, _ = reg.artifacts.put_bytes(self._doc)
        return {"sha256": sha, "profile": self.digest}


def kept_pass_may_stand(
    *,
    id_column: str | None = None,
    label_column: str | None = None,
    segment_by: str | None = None,
    protected: str | None = None,
    date_column: str | None = None,
    strict_columns: bool = False,
    exclude: Any = None,
) -> bool:
    """Whether a check with these options may take a kept pass for the file (they need
    nothing but the pass counted); :func:`check_batch` decides, the CLI asks first."""
    wanted = (id_column, label_column, segment_by, protected, date_column)
    return not any(wanted) and not strict_columns and exclude is None


def _read_kept(reg: Registry, logged: LoggedScorer, digest: str) -> _Kept | None:
    """The pass kept with a logged batch, if it was counted against this profile."""
    entry = logged.kept_pass
    if not entry or entry.get("profile") != digest:
        return None
    try:
        doc = json.loads(reg.artifacts.read_bytes(str(entry["sha256"])))  # verified
        if doc.get("format") != 1:
            return None
        ct = doc.get("column_time")
        return _Kept(
            BatchCounts.from_json(doc["counts"]),
            TableScan(int(doc["intake"]["rows"]), dict(doc["intake"]["flags"])),
            [str(c) for c in doc["columns"]],
            [str(c) for c in doc["extra_columns"]],
            (str(ct[0]), str(ct[1])) if ct else None,
        )
    except (OSError, ValueError, KeyError, TypeError, NotFound):
        return None  # gone or unreadable: the file is read instead


# --------------------------------------------------------------------------- batches
def _file_key(path: Path, progress: ProgressFn = no_progress) -> str:
    """The prediction log's key of a batch file: the first 16 hex digits of its SHA-256."""
    return sha256_file(path, progress)[0][:16]


def _logged_scorer(
    reg: Registry,
    v: ModelVersion,
    batch: Any,
    kind: ModelKind | None,
    scored_batch: str | None,
) -> LoggedScorer | None:
    """Scores of this batch from the prediction log, when ``score`` logged its rows.

    The batch is found by ``scored_batch`` (the log's batch id; one the log
    lacks is refused) or else by its file's SHA-256, the key ``score`` logs
    it under. ``None`` when the version never logged this batch's rows, or
    its kind needs more than one score per row (multiclass): the model
    scores the batch then.
    """
    if kind is None or kind.kind not in (BINARY, REGRESSION):
        return None
    # a binary model's logged score must be its probability (what the check bins), not a label
    logged = [
        b
        for b in read_predictions(reg, v.name, version=v.version)
        if b.rows_sha256 is not None
        and (kind.kind != BINARY or b.summary.get("score_is_probability", False))
    ]
    if scored_batch:
        if not any(b.batch_id == scored_batch for b in logged):
            raise NotFound(
                f"{v.ref} has no row-level predictions logged for batch {scored_batch!r} "
                "(score it with --log-rows)"
            )
        key = scored_batch
    else:
        path = getattr(batch, "path", None) or (
            Path(batch) if isinstance(batch, (str, os.PathLike)) else None
        )
        if not logged or path is None or not Path(path).is_file():
            return None
        size = Path(path).stat().st_size
        if not any(_same_size(b, size) for b in logged):
            return None  # no logged batch of this file's size: it cannot be one of them
        key = _file_key(Path(path))
        if not any(b.batch_id == key for b in logged):
            return None
    found = next(b for b in logged if b.batch_id == key)
    scores = logged_scores(reg, found)
    if len(scores) == 0 or not np.isfinite(scores).all():
        return None  # no score per row (a classifier without probabilities)
    return LoggedScorer(scores, kind, key, found.summary.get(KEPT_PASS))


def logged_batch_key(
    reg: Registry, ref: str, path: str | os.PathLike[str], *, cancel: CancelToken | None = None
) -> str | None:
    """The log's batch id of ``path`` when ``score`` logged its rows for ``ref``, else ``None``.

    Cheap when no batch of this file's size was logged row by row (``score``
    logs the input's size; no file is hashed then); the
    CLI asks first, so that it does not start loading the model for a batch
    whose scores are in the log. ``cancel`` is checked between the hash's
    chunks: a cancelled lookup stops reading and gives ``None`` (the CLI
    cancels it when the batch it hashes beside is refused).
    """
    logged = logged_candidates(reg, ref, path)
    if not logged:
        return None
    try:
        key = _file_key(Path(path), lambda _f, _s: check(cancel))
    except Cancelled:
        return None
    return key if key in logged else None


def logged_candidates(
    reg: Registry, ref: str, path: str | os.PathLike[str]
) -> dict[str, LoggedBatch]:
    """The logged batches (by id) that may be ``path``'s bytes: logged row by row, of its size.

    No file is read: empty means ``path`` was not scored with its rows logged.
    """
    p = Path(path)
    if not p.is_file():
        return {}
    v = reg.resolve(ref)
    size = p.stat().st_size
    return {
        b.batch_id: b
        for b in read_predictions(reg, v.name, version=v.version)
        if b.rows_sha256 is not None and _same_size(b, size)
    }


def _same_size(b: LoggedBatch, size: int) -> bool:
    """Whether a logged batch may be this file's bytes: the same size, or a size not logged."""
    logged = b.summary.get("input_bytes")
    return logged is None or int(logged) == size


def signature_columns(v: ModelVersion) -> dict[str, str | None] | None:
    """Feature name -> kind (``numeric``/``categorical``/``None``) the version records, if any."""
    sig = v.signature or {}
    if sig.get("features"):
        return {str(c["name"]): c.get("kind") for c in sig["features"]}
    if sig.get("feature_names"):
        return dict.fromkeys(str(x) for x in sig["feature_names"])
    if sig.get("columns"):
        return {str(c["name"]): c.get("kind") for c in sig["columns"]}
    return None


def signature_extras(v: ModelVersion | None) -> list[str]:
    """Columns a batch may carry besides the features: the target, the time, those dropped
    by the training (ids)."""
    sig = (v.signature if v is not None else None) or {}
    out = [str(sig[k]) for k in ("target", "time_column") if sig.get(k)]
    return out + [str(c) for c in sig.get("dropped") or {}]


def model_columns(
    v: ModelVersion, table: Table, *, allowed: Sequence[str | None] = (), strict: bool = False
) -> list[str]:
    """Check a batch's columns against the version's features, by kind, before anything is read.

    The columns of :func:`signature_extras` and ``allowed`` (ids, labels,
    segments) may be present besides the features. Returns the other columns,
    kept (refused when ``strict``). A version that records no feature names is
    not checked. The data inbox checks a batch with the same two functions.

    Raises
    ------
    InvalidInput
        One sentence naming the missing, wrongly typed (or, ``strict``, extra) columns.
    """
    expected = signature_columns(v)
    if expected is None:
        return []
    also = signature_extras(v) + [str(x) for x in allowed if x]
    return check_signature(table, expected, allow_extra=not strict, allowed_extra=also)


@door("monitor", source="batch")
def check_batch(
    reg: Registry,
    ref: str,
    batch: str | os.PathLike[str] | Mapping[str, Any] | Table,
    *,
    name: str | None = None,
    batch_time: str | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: str = "auto",
    segment_by: str | None = None,
    protected: str | None = None,
    gap_thresholds: Mapping[str, float] | None = None,
    date_column: str | None = None,
    log_rows: bool | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    exclude: np.ndarray | None = None,
    scored_batch: str | None = None,
    reuse_log: bool = True,
    intake_scan: bool = False,
    strict_columns: bool = False,
) -> BatchResult:
    """Check one batch for a registered version and store the results.

    Parameters
    ----------
    reg, ref
        The registry and the version (``NAME@champion``, ``NAME:3``, …).
    batch
        CSV/Parquet path, column arrays, or a table the caller already opened
        (:func:`~modelward.core.tables.open_table`; not read again to open it).
    name
        How the batch is shown (default: the file name).
    batch_time
        The batch's data time, when given; else it is read from a date in the
        file name, then the earliest value of a date column (``date_column``
        or the first one), then the arrival time (see ``data_time_source``).
    id_column
        Row ids, stored with the scores so late labels can be joined.
    segment_by
        A column whose values (or quartile bands, for a numeric column with
        many values) split the batch: drift and performance per segment.
    protected
        A protected attribute (default: the one stored with the profile):
        the gaps between its groups (selection-rate ratio, true-positive-rate
        difference, calibration difference) against ``gap_thresholds``
        (default :data:`~modelward.core.monitoring.segments.GAP_THRESHOLDS`).
    log_rows
        Store every row's prediction (needed to attach late labels). Default:
        only when ``id_column`` is given; otherwise a summary is stored
        (``predictions`` of the result).
    label_column
        Labels in the batch itself: performance is realized, not estimated.
        The metrics are those of the model's kind; ``performance_notes`` of
        the result says how an estimate was made, or why a metric is missing.
    exclude
        One boolean per row, in file order: rows the intake flagged as
        implausible, left out of the performance figures (drift still sees them).
    scored_batch, reuse_log
        A batch that ``score`` already scored with this version and logged
        row by row is not scored again: its scores are read from the
        prediction log and the model is not loaded (``scores_from_log`` of
        the result). The batch is found by ``scored_batch`` (the log's batch
        id; one the log lacks is refused) or by its file's SHA-256;
        ``reuse_log=False`` scores it anyway. A log that does not line up
        with the batch's rows (scoring rejected some), or a multiclass model
        (the log keeps one score per row), is scored again.
    strict_columns
        Refuse a batch with a column that is not one of the model's features,
        the profile's, its target, time column or a column named here
        (default: kept, listed in ``extra_columns`` of the result, not monitored).
    intake_scan
        Count the intake's flags (:func:`~modelward.core.tables.scan_table`:
        rows, ±inf and NaN per numeric column, every row converted) in the
        check's own read of the batch instead of a read of their own
        (``intake`` of the result); a batch with no rows or with an infinite
        value is refused after that read, before the model's errors and
        before anything is stored.

    The model loads on a thread while the batch is read (see
    :class:`~modelward.core.monitoring.scoring.PendingScorer`).

    Raises
    ------
    NotFound
        The version has no reference profile (``profile_version`` first).
    SchemaMismatch
        The batch lacks monitored columns or changed their type.
    """

    v = reg.resolve(ref)
    got = _profile_row(reg, v.id)
    if got is None:
        raise NotFound(
            f"{v.ref} has no reference profile yet; profile its training data first "
            "(modelward monitor REF --reference PATH)"
        )
    prof, prof_digest = got
    logged: LoggedScorer | None = None
    if prof.score is not None and (reuse_log or scored_batch):
        logged = _logged_scorer(reg, v, batch, stored_kind(prof), scored_batch)
    kept: _Kept | None = None
    if logged is not None and kept_pass_may_stand(
        id_column=id_column,
        label_column=label_column,
        segment_by=segment_by,
        protected=protected,
        date_column=date_column,
        strict_columns=strict_columns,
        exclude=exclude,
    ):
        kept = _read_kept(reg, logged, prof_digest)
        if kept is not None and (
            kept.counts.n_rows != len(logged.scores)
            or (prof.model.get("protected") or None) in kept.columns
        ):
            kept = None  # the log does not line up, or the pass lacks the protected column
    src: TableSource | None = None
    if kept is not None:
        # what the check's pass would count, kept when ``score`` read these bytes
        assert logged is not None
        # named as open_source names it (a table by its label, a file by its path)
        assert not isinstance(batch, Mapping)  # arrays have no file to find in the log
        label = batch.label if isinstance(batch, Table) else str(Path(batch))
        counts = kept.counts
        acc = Accumulator({}, {}, score_edges=prof.score.edges if prof.score else None)
        parts = np.split(logged.scores, np.cumsum(counts.batch_rows)[:-1])
        for part in parts:
            acc.add_score(part)  # batch by batch, as the pass adds them
        counts.score = acc.result().score
        counts.collected = {"__score__": parts}
        scorer = logged
        extra = kept.extra_columns
        intake = kept.intake if intake_scan else None
        progress(0.9, "batch counted when it was scored")
    else:
        src, counts, scorer, extra, intake = _batch_pass(
            reg,
            v,
            prof,
            batch,
            logged,
            id_column=id_column,
            label_column=label_column,
            segment_by=segment_by,
            protected=protected,
            date_column=date_column,
            dates_read=not batch_time,
            intake_scan=intake_scan,
            strict_columns=strict_columns,
            progress=sub_progress(progress, 0.0, 0.8 if segment_by else 0.9),
            cancel=cancel,
        )
        label = src.label
        protected = protected or _batch_protected(prof, src)
    end = 0.8 if segment_by else 0.9
    from_log = scorer.batch_id if isinstance(scorer, LoggedScorer) else None
    report = compare(prof, counts, methods=methods, thresholds=thresholds)
    report.quality = quality_of(prof, counts)
    check(cancel)
    scores = (
        np.concatenate(counts.collected["__score__"])
        if "__score__" in counts.collected
        else np.empty(0)
    )
    kind = scorer.kind if scorer is not None else (stored_kind(prof) or ModelKind(BINARY))
    proba = scorer.take_proba() if scorer is not None else None
    if label_column:
        raw = np.concatenate(counts.collected[label_column])
        if exclude is not None and exclude.shape == raw.shape and exclude.any():
            # rows a data inbox flagged (a label outside the classes among them) are
            # left out of the performance, and said so: the others must be labels it knows
            labelled = np.flatnonzero(~exclude)
            check_labels(
                raw[labelled], kind, source=label, column=label_column, rows=labelled.tolist()
            )
        else:
            check_labels(raw, kind, source=label, column=label_column)
        labels = encode_labels(raw, kind)
    else:
        labels = np.full(len(scores), np.nan)
    model_info = _model_info(prof, kind)
    thr = float(model_info.get("threshold", 0.5))
    p_scores, p_labels, p_proba = scores, labels, proba
    excluded = 0
    if exclude is not None and exclude.shape == scores.shape and exclude.any():
        keep = ~exclude
        excluded = int(exclude.sum())
        p_scores, p_labels = scores[keep], labels[keep]
        p_proba = proba[keep] if proba is not None else None
    perf, notes = _performance(
        kind, p_scores, p_labels if label_column else None, p_proba, model_info
    )
    if excluded:
        notes.insert(0, f"{excluded} flagged row(s) left out of the performance figures")
    unscored = int(getattr(scorer, "unscored", 0))
    if unscored:
        notes.insert(
            0,
            f"{unscored} row(s) not scored: a value the model needs is missing and it cannot "
            "take a missing value; the prediction drift counts their scores as missing, the "
            "performance figures and group gaps leave them out (the feature drift counts them)",
        )
    segs: dict[str, Any] = {}
    if segment_by:
        assert src is not None  # a kept pass never stands for a check by segment
        segs = _segment_results(
            src,
            prof,
            segment_by,
            np.concatenate(counts.collected[segment_by]),
            scorer,
            label_column,
            kind,
            model_info,
            methods=methods,
            thresholds=thresholds,
            progress=sub_progress(progress, end, 0.9),
            cancel=cancel,
        )
    groups: dict[str, Any] = {}
    if protected and scores.size:
        if kind.kind == BINARY:
            has = np.isfinite(scores)  # rows the model could not score are in no group's rates
            groups = group_gaps(
                np.concatenate(counts.collected[protected])[has],
                scores[has],
                labels[has] if label_column else None,
                thr,
                thresholds=gap_thresholds,
            )
        else:
            groups = {"note": f"group gaps are defined for binary classifiers, not {kind.kind}"}
        groups["column"] = protected
    rows_logged = bool(id_column) if log_rows is None else bool(log_rows)
    summary = prediction_summary(scores, kind.kind, kind.classes, thr) if scores.size else {}
    summary["rows_logged"] = rows_logged and bool(scores.size)
    ids = np.empty(0, dtype=object)
    if rows_logged and id_column:
        ids = np.array(
            [str(x) for x in np.concatenate(counts.collected[id_column]).tolist()], dtype=object
        )
    elif rows_logged:
        ids = np.arange(len(scores)).astype(str).astype(object)
    bname = name or label.replace("\\", "/").rsplit("/", 1)[-1]
    now = utcnow()
    if batch_time:
        when, when_source = batch_time, "given"
    elif src is not None:
        when, when_source = data_time_of(src, now, column=date_column)
    else:  # a kept pass: the name as the file is called now, then the date it counted
        assert kept is not None
        found = date_in_name(label)
        named = (found, "file name") if found else None
        when, when_source = named or kept.column_time or (now, "arrival")
    doc = report.to_json()
    doc.update(
        data_time_source=when_source,
        predictions=summary,
        segments=segs,
        groups=groups,
        model_kind=kind.kind,
        scores_from_log=from_log,
        counted_when_scored=kept is not None,
    )
    with reg.transaction() as tx:
        bid = tx.next_id("seq_mon_batches")
        mv = report.multivariate or {}
        pred = report.prediction
        tx.q(
            "INSERT INTO mon_batches VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                bid,
                v.id,
                bname,
                label,
                when,
                now,
                tx.actor,
                counts.n_rows,
                report.drift_share,
                report.drifted,
                pred.statistic if pred else None,
                pred.drifted if pred else None,
                mv.get("statistic"),
                mv.get("threshold"),
                mv.get("drifted"),
                bool(label_column),
                json.dumps(doc, default=str),
            ],
        )
        _insert_features(tx, bid, report, counts)
        _insert_performance(tx, bid, perf, now, len(p_scores))
        if scores.size and rows_logged:
            tx.cur.register(
                "_mw_pred", {"row_id": ids, "score": scores, "label": labels.astype(np.float64)}
            )
            tx.q("INSERT INTO mon_predictions SELECT ?, row_id, score, label FROM _mw_pred", [bid])
            tx.cur.unregister("_mw_pred")
        after: dict[str, Any] = {
            "batch_id": bid,
            "batch": bname,
            "rows": counts.n_rows,
            "drift_share": report.drift_share,
            "drifted": report.drifted,
            "data_time": when,
        }
        if excluded:
            after["excluded_from_performance"] = excluded
        if groups.get("crossed"):
            after["group_gaps_crossed"] = groups["crossed"]
        if from_log:
            after["scores_from_log"] = from_log
        if kept is not None:
            after["counted_when_scored"] = True
        tx.audit("monitor.checked", "version", v.ref, after=after)
    progress(1.0, "batch checked")
    return BatchResult(
        bid,
        v.ref,
        bname,
        report,
        perf,
        kind.kind,
        notes,
        data_time=when,
        data_time_source=when_source,
        predictions=summary,
        segments=segs,
        groups=groups,
        excluded_rows=excluded,
        scores_from_log=from_log,
        counted_when_scored=kept is not None,
        intake=intake,
        extra_columns=extra,
    )


def _batch_protected(prof: ReferenceProfile, src: TableSource) -> str | None:
    """The protected attribute stored with the profile, when the batch has its column."""
    stored = prof.model.get("protected") or None
    return stored if stored in src.kinds else None


def _batch_pass(
    reg: Registry,
    v: ModelVersion,
    prof: ReferenceProfile,
    batch: str | os.PathLike[str] | Mapping[str, Any] | Table,
    logged: LoggedScorer | None,
    *,
    id_column: str | None,
    label_column: str | None,
    segment_by: str | None,
    protected: str | None,
    date_column: str | None,
    dates_read: bool,
    intake_scan: bool,
    strict_columns: bool,
    progress: ProgressFn,
    cancel: CancelToken | None,
) -> tuple[TableSource, BatchCounts, Any, list[str], TableScan | None]:
    """The check's one pass over the batch: its source, counts, scorer, extra columns, flags."""
    src = open_source(batch)
    extra = (
        model_columns(
            v,
            src.table,
            allowed=(*prof.features, id_column, label_column, segment_by, protected, date_column),
            strict=strict_columns,
        )
        if src.table is not None
        else []
    )
    check_schema(prof, src)
    if id_column and id_column not in src.kinds:
        raise InvalidInput(f"{src.label} has no id column {id_column!r}")
    if label_column and label_column not in src.kinds:
        raise InvalidInput(f"{src.label} has no label column {label_column!r}")
    if date_column and dates_read:  # (a time given for the batch: the column is not read)
        check_date_column(src, date_column)
    # declared with the profile; a batch without its column is not measured by group
    protected = protected or _batch_protected(prof, src)
    for what, col in (("segment", segment_by), ("protected", protected)):
        if col and col not in src.kinds:
            raise InvalidInput(f"{src.label} has no {what} column {col!r}")
    scorer: ModelScorer | LoggedScorer | PendingScorer | None = logged
    skip = [c for c in (id_column, label_column) if c]
    if prof.score is not None and scorer is None:
        # the model loads on a thread while the pass reads the batch
        scorer = _pending_scorer(reg, v, src, skip, stored_kind(prof), prof)
    collect = list(dict.fromkeys(c for c in (id_column, label_column, segment_by, protected) if c))
    scan = src.intake_scan() if intake_scan else None
    try:
        try:
            counts = summarize(
                src,
                prof,
                score_fn=scorer,
                score_columns=scorer.columns if scorer is not None else (),
                collect=collect,
                progress=progress,
                cancel=cancel,
                scan=scan,
            )
        finally:
            if isinstance(scorer, PendingScorer):
                scorer.close()
        scorer = counts.scorer
        if isinstance(scorer, LoggedScorer):
            scorer.check_used_up()
    except (ScorerNeedsColumns, LogMismatch) as e:
        # The loaded model reads a column the pass left out, or the log does not line
        # up with the rows (scoring rejected some): read the batch again, scored here.
        scorer = e.scorer if isinstance(e, ScorerNeedsColumns) else None
        if scorer is None:
            scorer = _scorer(reg, v, src, skip, stored_kind(prof))
        scan = src.intake_scan() if intake_scan else None
        counts = summarize(
            src,
            prof,
            score_fn=scorer,
            score_columns=scorer.columns,
            collect=collect,
            progress=progress,
            cancel=cancel,
            scan=scan,
        )
    assert not isinstance(scorer, PendingScorer)
    intake = scan.result(src.label) if scan is not None else None
    return src, counts, scorer, extra, intake


def _performance(
    kind: ModelKind,
    scores: np.ndarray,
    labels: np.ndarray | None,
    proba: np.ndarray | None,
    model_info: Mapping[str, Any],
) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Realized metrics with labels, an estimate (or a note saying why none) without.

    Rows without a score (NaN: the model could not take one of their values)
    are left out.
    """
    scored = np.isfinite(scores)
    if not scored.all():
        scores = scores[scored]
        labels = labels[scored] if labels is not None else None
        proba = proba[scored] if proba is not None else None
    perf: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    thr = float(model_info.get("threshold", 0.5))
    if scores.size and labels is not None:
        perf["realized"] = realized_metrics(labels, scores, thr, kind=kind, proba=proba)
        notes += realized_notes(labels, scores, kind, proba is not None)
    elif scores.size:
        est, how = estimate_for(kind, scores, proba, model_info, thr)
        if est:
            perf["estimated"] = est
        notes.append(how)
    return perf, notes


def _segment_results(
    src: TableSource,
    prof: ReferenceProfile,
    column: str,
    values: np.ndarray,
    scorer: ModelScorer | LoggedScorer | None,
    label_column: str | None,
    kind: ModelKind,
    model_info: Mapping[str, Any],
    *,
    methods: Mapping[str, str] | None,
    thresholds: str,
    progress: ProgressFn,
    cancel: CancelToken | None,
) -> dict[str, Any]:
    """Drift and performance of each segment of ``column`` (each read as a batch of its own).

    Returns ``{"column", "segments": [{segment, rows, drift_share, drifted,
    drifted_features, performance, notes}]}``; a segment under
    :data:`~modelward.core.monitoring.segments.MIN_SEGMENT_ROWS` rows is listed
    with its row count only.
    """
    segs = segments_of(column, values, src.kinds[column])
    out: list[dict[str, Any]] = []
    for i, seg in enumerate(segs):
        check(cancel)
        n = int(seg.mask(values).sum())
        entry: dict[str, Any] = {"segment": seg.label, "rows": n}
        out.append(entry)
        if n < MIN_SEGMENT_ROWS:
            entry["note"] = f"fewer than {MIN_SEGMENT_ROWS} rows: not measured"
            continue
        part = filtered(src, column, seg)
        seg_scorer = scorer.subset(seg.mask(values)) if isinstance(scorer, LoggedScorer) else scorer
        c = summarize(
            part,
            prof,
            score_fn=seg_scorer,
            score_columns=scorer.columns if scorer is not None else (),
            collect=[label_column] if label_column else [],
        )
        rep = compare(prof, c, methods=methods, thresholds=thresholds)
        sc = np.concatenate(c.collected["__score__"]) if "__score__" in c.collected else np.empty(0)
        proba = scorer.take_proba() if scorer is not None else None
        lab = (
            encode_labels(np.concatenate(c.collected[label_column]), kind) if label_column else None
        )
        perf, notes = _performance(kind, sc, lab, proba, model_info)
        entry.update(
            drift_share=rep.drift_share,
            drifted=rep.drifted,
            drifted_features=[f.name for f in rep.features if f.drifted],
            performance=perf,
            notes=notes,
        )
        progress((i + 1) / len(segs), f"segment {seg.label}")
    return {"column": column, "segments": out}


def set_data_time(reg: Registry, batch_id: int, when: str) -> str:
    """Change the data time of a checked batch (charts place it there); audited.

    ``when`` is an ISO date or time (``2025-03-01``). Returns the time stored.
    """
    import datetime as dt

    text = when.strip()
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"not a date or time: {when!r} (use YYYY-MM-DD)") from None
    with reg.transaction() as tx:
        row = tx.q("SELECT batch_time, report FROM mon_batches WHERE id = ?", [batch_id]).fetchall()
        if not row:
            raise NotFound(f"no monitored batch with id {batch_id}")
        doc = json.loads(row[0][1] or "{}")
        doc["data_time_source"] = "given"
        tx.q(
            "UPDATE mon_batches SET batch_time = ?, report = ? WHERE id = ?",
            [text, json.dumps(doc, default=str), batch_id],
        )
        tx.audit(
            "monitor.data_time_set",
            "batch",
            batch_id,
            before={"data_time": row[0][0]},
            after={"data_time": text},
        )
    return text


def set_protected(reg: Registry, ref: str, column: str | None) -> None:
    """Declare (or clear, with ``None``) the protected attribute of a profiled version; audited."""
    v = reg.resolve(ref)
    prof = get_profile(reg, v.id)
    if prof is None:
        raise NotFound(f"{v.ref} has no reference profile yet")
    before = prof.model.get("protected")
    if column:
        prof.model["protected"] = column
    else:
        prof.model.pop("protected", None)
    text = json.dumps(prof.to_json(), separators=(",", ":"))
    with reg.transaction() as tx:
        tx.q("UPDATE mon_profiles SET profile = ? WHERE version_id = ?", [text, v.id])
        tx.audit(
            "monitor.protected_set",
            "version",
            v.ref,
            before={"protected": before},
            after={"protected": column},
        )


def _insert_features(tx: Any, bid: int, report: DriftReport, counts: Any) -> None:
    fs = report.features
    q = {c.name: c for c in (report.quality.columns if report.quality else [])}

    def hist(name: str) -> str:
        c = counts.numeric.get(name) or counts.categorical.get(name)
        return json.dumps(c.counts.tolist()) if c is not None and c.counts is not None else "[]"

    def f(vals: list[Any]) -> np.ndarray:
        return np.array([np.nan if x is None else float(x) for x in vals])

    cols = {
        "feature": np.array([x.name for x in fs], dtype=object),
        "kind": np.array([x.kind for x in fs], dtype=object),
        "method": np.array([x.method for x in fs], dtype=object),
        "statistic": f([x.statistic for x in fs]),
        "p_value": f([x.p_value for x in fs]),
        "p_adjusted": f([x.p_adjusted for x in fs]),
        "threshold": f([x.threshold for x in fs]),
        "threshold_source": np.array([x.threshold_source for x in fs], dtype=object),
        "drifted": np.array([x.drifted for x in fs], dtype=bool),
        "severity": np.array([x.severity for x in fs], dtype=object),
        "n_reference": np.array([x.n_reference for x in fs], dtype=np.int64),
        "n_current": np.array([x.n_current for x in fs], dtype=np.int64),
        "missing_rate": f([q[x.name].missing_rate if x.name in q else None for x in fs]),
        "unseen": np.array([x.unseen for x in fs], dtype=np.int64),
        "counts": np.array([hist(x.name) for x in fs], dtype=object),
    }
    tx.cur.register("_mw_fd", cols)
    # NaN (no p-value) is stored as NULL
    tx.q(
        "INSERT INTO mon_feature_drift SELECT ?, feature, kind, method, "
        "nullif(statistic, 'NaN'::DOUBLE), nullif(p_value, 'NaN'::DOUBLE), "
        "nullif(p_adjusted, 'NaN'::DOUBLE), threshold, threshold_source, drifted, severity, "
        "n_reference, n_current, nullif(missing_rate, 'NaN'::DOUBLE), unseen, counts FROM _mw_fd",
        [bid],
    )
    tx.cur.unregister("_mw_fd")


def _insert_performance(
    tx: Any, bid: int, perf: Mapping[str, Mapping[str, float]], now: str, n: int
) -> None:
    for kind, metrics in perf.items():
        for metric, value in metrics.items():  # a handful of rows
            tx.q(
                "INSERT OR REPLACE INTO mon_performance VALUES (?,?,?,?,?,?)",
                [bid, metric, kind, float(value), n, now],
            )


@door("labels", source="labels", ref="batch_id")
def attach_labels(
    reg: Registry,
    batch_id: int,
    labels: str | os.PathLike[str] | Mapping[str, Any],
    *,
    id_column: str,
    label_column: str,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> dict[str, float]:
    """Join late labels to a checked batch by id; its performance becomes realized.

    Returns the realized metrics. Ids that match no stored row are ignored;
    the estimate stays stored beside the realized value.
    """

    src = open_source(labels)
    for c in (id_column, label_column):
        if c not in src.kinds:
            raise InvalidInput(f"{src.label} has no column {c!r}")
    with reg._read() as cur:
        row = cur.execute("SELECT version_id FROM mon_batches WHERE id = ?", [batch_id]).fetchall()
    if not row:
        raise NotFound(f"no monitored batch with id {batch_id}")
    prof = get_profile(reg, int(row[0][0]))
    kind = (stored_kind(prof) if prof else None) or _kind_of_version(reg, int(row[0][0]))
    info = _model_info(prof, kind) if prof else {}
    thr = float(info.get("threshold", 0.5))
    ids: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    seen = 0
    for b in src.batches([id_column, label_column]):
        check(cancel)
        i, y = b[id_column], b[label_column]
        ids.append(
            np.array(
                [str(x) for x in (i.tolist() if isinstance(i, np.ndarray) else i.to_pylist())],
                dtype=object,
            )
        )
        raw = y if isinstance(y, np.ndarray) else np.asarray(y.to_pylist(), dtype=object)
        check_labels(raw, kind, source=src.label, column=label_column, first_row=seen)
        seen += len(raw)
        ys.append(encode_labels(raw, kind))
    progress(0.5, "joining labels")
    with reg.transaction() as tx:
        tx.cur.register(
            "_mw_labels",
            {
                "row_id": np.concatenate(ids) if ids else np.empty(0, dtype=object),
                "label": np.concatenate(ys) if ys else np.empty(0),
            },
        )
        tx.q(
            "UPDATE mon_predictions p SET label = l.label FROM _mw_labels l "
            "WHERE p.batch_id = ? AND p.row_id = l.row_id",
            [batch_id],
        )
        tx.cur.unregister("_mw_labels")
        got = tx.q(
            "SELECT score, label FROM mon_predictions WHERE batch_id = ? AND label IS NOT NULL",
            [batch_id],
        ).fetchnumpy()
        score = np.asarray(got["score"], dtype=np.float64)
        y = np.asarray(got["label"], dtype=np.float64)
        if y.size == 0:
            logged = tx.q(
                "SELECT count(*) FROM mon_predictions WHERE batch_id = ?", [batch_id]
            ).fetchall()[0][0]
            if not logged:
                raise InvalidInput(
                    f"batch {batch_id} kept a summary of its predictions, not each row: "
                    "check batches with an id column (CLI: --id-column) to attach labels later"
                )
            raise InvalidInput(f"no id in {src.label} matches a row of batch {batch_id}")
        # per-row class probabilities are not stored: multiclass log loss stays unrealized
        metrics = realized_metrics(y, score, thr, kind=kind)
        _insert_performance(tx, batch_id, {"realized": metrics}, utcnow(), int(y.size))
        tx.q("UPDATE mon_batches SET has_labels = true WHERE id = ?", [batch_id])
        tx.audit(
            "monitor.labels_attached",
            "batch",
            batch_id,
            after={"source": src.label, "labelled_rows": int(y.size), "metrics": metrics},
        )
    progress(1.0, "labels attached")
    return metrics


def _kind_of_version(reg: Registry, version_id: int) -> ModelKind:
    """The kind of a version whose profile predates kinds: its signature, else its model."""

    v = reg.get_version_by_id(version_id)
    sig = v.signature or {}
    if sig.get("classes") or sig.get("task") == "regression":
        return kind_of(sig)
    return kind_of(sig, load_artifact(reg.artifacts, v.sha256, v.format, registry=reg))


def reference_histogram(prof: ReferenceProfile, feature: str) -> NumericProfile | Any:
    """The profile of one monitored column (for charts)."""
    if feature == "score" and prof.score is not None:
        return prof.score
    if feature not in prof.features:
        raise NotFound(f"column {feature!r} is not monitored")
    return prof.features[feature]
