"""Reference profiles: what a batch check needs to know about the training data.

A profile is computed once (when a version becomes champion, or on request)
and stored with the version; every batch check reads the profile, never the
raw reference data, so checks are fast and give the same answer every time.

What a profile holds, per monitored column:

* numeric: bin edges at the reference's quantiles (100 bins by default, or
  one bin per distinct value when there are at most that many), and for each
  of ``n_chunks`` consecutive reference chunks the count and the sum of the
  values in every bin, the missing count, and summary statistics;
* categorical: the categories and their count per chunk;
* the moments of the standardised numeric columns and a PCA fitted on them
  (multivariate drift by reconstruction error);
* optionally the model's score distribution, a calibration map of scores to
  probabilities and the realized performance per chunk (see
  :mod:`modelward.core.monitoring.performance`).

The chunk counts give the reference's own variability: any statistic can be
computed for every chunk against the whole reference, and its mean + 3σ
becomes a threshold (see :mod:`modelward.core.monitoring.drift`).

Reading is streamed: a reference that fits comfortably in memory is read
once; a larger one is read twice (a systematic sample for the bin edges, then
the counting pass), never loaded whole.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from modelward.core.errors import InvalidInput
from modelward.core.monitoring.binning import (
    Accumulator,
    BatchCounts,
    Moments,
    NumCounts,
    PCASpec,
    count_numeric,
    slice_batch,
)
from modelward.core.monitoring.performance import ModelKind, reference_model_info
from modelward.core.monitoring.source import (
    CATEGORICAL,
    DEFAULT_BATCH_ROWS,
    NUMERIC,
    TableSource,
    open_source,
)
from modelward.core.monitoring.tails import chi2_isf, norm_isf
from modelward.core.progress import CancelToken, ProgressFn, check, no_progress

if TYPE_CHECKING:
    from modelward.core.tables import Table

PROFILE_FORMAT = 1
SAMPLE_SIZE = 200_000
IN_MEMORY_CELLS = 50_000_000
QUANTILE_LEVELS = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
PCA_VARIANCE = 0.65
EPS = 1e-4  # floor of a proportion in PSI
LENS_TAIL = 1e-4  # each lens's sampling bound is its 99.99 % quantile under no drift
LENS_DRAWS = 200
# batch sizes the sampling bounds are simulated at; between them the constant is
# interpolated in log n (small batches of many-category columns have heavier tails)
LENS_GRID = (100, 400, 2000, 10000)
LINEAR_LENSES = ("psi",)  # noise ~ 1/n; every other lens ~ 1/sqrt(n)
# The fewest reference rows whose lenses can be calibrated. The reference is cut
# into chunks of at least 100 rows (``n_rows // 100``, at most ``n_chunks``), and
# every bound drawn from the reference's own spread (each lens's floor, the
# missing-rate floor, the multivariate threshold: mean + 3σ with ddof=1 over the
# chunks) needs 3 chunks: 3 × 100 rows. With fewer, a column's bound came out 0
# or NaN and ``drift --fail-on-drift`` passed any batch.
MIN_REFERENCE_ROWS = 300

ScoreFn = Callable[[Mapping[str, Any]], np.ndarray]


@dataclass
class NumericProfile:
    """A numeric column of the reference: bins, chunk counts, statistics."""

    name: str
    edges: np.ndarray  # (E,)
    counts: np.ndarray  # (K, E + 1) int64
    sums: np.ndarray  # (K, E + 1) float64
    missing: np.ndarray  # (K,) int64
    stats: dict[str, float]
    kind: str = NUMERIC
    lenses: dict[str, float] = field(default_factory=dict)  # see reference_lenses

    @property
    def total_counts(self) -> np.ndarray:
        return np.asarray(self.counts.sum(axis=0))

    @property
    def total_sums(self) -> np.ndarray:
        return np.asarray(self.sums.sum(axis=0))


@dataclass
class CategoricalProfile:
    """A categorical column of the reference: categories and chunk counts.

    ``counts`` has a last column for categories the reference never saw
    (always zero in the reference itself).
    """

    name: str
    categories: list[str]
    counts: np.ndarray  # (K, C + 1) int64
    missing: np.ndarray  # (K,) int64
    stats: dict[str, float]
    kind: str = CATEGORICAL
    lenses: dict[str, float] = field(default_factory=dict)  # see reference_lenses

    @property
    def total_counts(self) -> np.ndarray:
        return np.asarray(self.counts.sum(axis=0))


@dataclass
class PCAProfile:
    """PCA of the standardised numeric columns and the reference's reconstruction error."""

    columns: list[str]
    mean: np.ndarray
    scale: np.ndarray
    center: np.ndarray  # mean of the standardised reference
    components: np.ndarray  # (p, k)
    explained: float
    error: float  # mean squared reconstruction error over the whole reference
    chunk_errors: np.ndarray  # (K,)

    def spec(self) -> PCASpec:
        return PCASpec(self.columns, self.mean, self.scale)

    def error_of(self, m: Moments) -> float:
        """Mean squared reconstruction error of a batch from its moments."""
        return reconstruction_error(m, self.center, self.components)


@dataclass
class ReferenceProfile:
    """Everything a batch check reads about the reference data."""

    n_rows: int
    chunk_rows: np.ndarray  # (K,)
    features: dict[str, NumericProfile | CategoricalProfile]
    multivariate: PCAProfile | None = None
    score: NumericProfile | None = None
    model: dict[str, Any] = field(default_factory=dict)  # calibration, performance (JSON-able)
    source: str = ""
    fmt: int = PROFILE_FORMAT

    @property
    def n_chunks(self) -> int:
        return len(self.chunk_rows)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (NumPy arrays as lists)."""

        def col(p: NumericProfile | CategoricalProfile) -> dict[str, Any]:
            d: dict[str, Any] = {
                "name": p.name,
                "kind": p.kind,
                "counts": p.counts.tolist(),
                "missing": p.missing.tolist(),
                "stats": p.stats,
                "lenses": p.lenses,
            }
            if isinstance(p, NumericProfile):
                d["edges"] = p.edges.tolist()
                d["sums"] = p.sums.tolist()
            else:
                d["categories"] = p.categories
            return d

        mv = self.multivariate
        return {
            "format": self.fmt,
            "n_rows": self.n_rows,
            "chunk_rows": self.chunk_rows.tolist(),
            "source": self.source,
            "features": [col(p) for p in self.features.values()],
            "score": col(self.score) if self.score is not None else None,
            "multivariate": None
            if mv is None
            else {
                "columns": mv.columns,
                "mean": mv.mean.tolist(),
                "scale": mv.scale.tolist(),
                "center": mv.center.tolist(),
                "components": mv.components.tolist(),
                "explained": mv.explained,
                "error": mv.error,
                "chunk_errors": mv.chunk_errors.tolist(),
            },
            "model": self.model,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ReferenceProfile:
        """Inverse of :meth:`to_json`."""
        if int(d.get("format", 0)) != PROFILE_FORMAT:
            raise InvalidInput("the stored reference profile has an unknown format; rebuild it")

        def col(c: Mapping[str, Any]) -> NumericProfile | CategoricalProfile:
            counts = np.asarray(c["counts"], dtype=np.int64)
            missing = np.asarray(c["missing"], dtype=np.int64)
            # profiles stored before the lenses existed get them on first use
            lenses = {str(k): float(v) for k, v in (c.get("lenses") or {}).items()}
            if c["kind"] == NUMERIC:
                return NumericProfile(
                    c["name"],
                    np.asarray(c["edges"], dtype=np.float64),
                    counts,
                    np.asarray(c["sums"], dtype=np.float64),
                    missing,
                    dict(c["stats"]),
                    lenses=lenses,
                )
            categories = [str(v) for v in c["categories"]]
            if categories and set(categories) <= {"True", "False"}:
                # a boolean column profiled before booleans read as true/false everywhere
                # (a CSV file or arrays gave True/False, Parquet true/false)
                categories = [v.lower() for v in categories]
            return CategoricalProfile(
                c["name"], categories, counts, missing, dict(c["stats"]), lenses=lenses
            )

        mv = d.get("multivariate")
        score = d.get("score")
        return cls(
            n_rows=int(d["n_rows"]),
            chunk_rows=np.asarray(d["chunk_rows"], dtype=np.int64),
            features={c["name"]: col(c) for c in d["features"]},
            multivariate=None
            if mv is None
            else PCAProfile(
                list(mv["columns"]),
                np.asarray(mv["mean"]),
                np.asarray(mv["scale"]),
                np.asarray(mv["center"]),
                np.asarray(mv["components"]).reshape(len(mv["columns"]), -1),
                float(mv["explained"]),
                float(mv["error"]),
                np.asarray(mv["chunk_errors"]),
            ),
            score=col(score) if score is not None else None,  # type: ignore[arg-type]
            model=dict(d.get("model") or {}),
            source=str(d.get("source", "")),
        )


# --------------------------------------------------------------------------- building
def make_edges(sample: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin edges for a numeric column from a (sample of the) reference.

    One bin per distinct value when there are at most ``n_bins`` of them
    (integer codes, counts: exact), else ``n_bins`` bins at the quantiles.
    The first edge sits just below the minimum, so bin 0 is "below range".
    """
    x = sample[~np.isnan(sample)]
    if x.size == 0:
        return np.array([0.0])
    uniq = np.unique(x)
    if uniq.size <= n_bins:
        inner = uniq
    else:
        levels = np.arange(1, n_bins) / n_bins
        inner = np.unique(np.concatenate([np.quantile(x, levels), [uniq[0], uniq[-1]]]))
    return np.concatenate([[np.nextafter(inner[0], -np.inf)], inner])


def reconstruction_error(m: Moments, center: np.ndarray, components: np.ndarray) -> float:
    """Mean squared PCA reconstruction error of standardised rows, from their moments.

    With residual projector ``R = I - W Wᵀ`` and rows ``z`` centred on the
    reference, ``mean ‖R (z - c)‖² = tr(R M)`` where ``M`` is the batch's
    second moment about ``c``; no second pass over the rows is needed.
    """
    if m.n == 0:
        return float("nan")
    zbar = m.zsum / m.n
    second = m.zz / m.n - np.outer(zbar, center) - np.outer(center, zbar) + np.outer(center, center)
    r = np.eye(len(center)) - components @ components.T
    return float(np.trace(r @ second))


def _numeric_stats(
    counts: BatchCounts, name: str, sample: np.ndarray, n_rows: int
) -> dict[str, float]:
    c = counts.numeric[name]
    n = c.n
    stats: dict[str, float] = {"count": float(n), "missing_rate": c.missing / max(n_rows, 1)}
    if n:
        mean = c.total / n
        var = max(c.total_sq / n - mean * mean, 0.0) * n / max(n - 1, 1)
        stats.update(mean=mean, std=math.sqrt(var), min=c.vmin, max=c.vmax)
        x = sample[~np.isnan(sample)]
        if x.size:
            for q, v in zip(QUANTILE_LEVELS, np.quantile(x, QUANTILE_LEVELS), strict=True):
                stats[f"q{round(q * 100):02d}"] = float(v)
    return stats


def build_profile(
    data: str | os.PathLike[str] | Mapping[str, Any] | TableSource | Table,
    *,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
    exclude: Sequence[str] = (),
    n_bins: int = 100,
    n_chunks: int = 10,
    score_fn: ScoreFn | None = None,
    score_columns: Sequence[str] = (),
    label_column: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    model_kind: ModelKind | None = None,
    proba_fn: Callable[[], np.ndarray | None] | None = None,
    min_rows: int = 1,
) -> ReferenceProfile:
    """Profile reference data in streaming chunks.

    Parameters
    ----------
    data
        A CSV/Parquet path, a mapping of column arrays, or an open source.
    features
        Columns to monitor (default: every numeric and categorical column
        except ``exclude`` and ``label_column``).
    categorical
        Numeric columns to treat as categorical (codes).
    n_bins
        Quantile bins per numeric column (KS and Wasserstein are computed on
        them; see :mod:`modelward.core.monitoring.drift` for the error bound).
    n_chunks
        Consecutive reference chunks whose spread gives derived thresholds.
    score_fn
        ``score_fn(batch) -> scores``: the model's score for each row
        (see :class:`~modelward.core.monitoring.scoring.ModelScorer`: the
        positive-class probability, the predicted class index or the
        prediction); the profile then holds the score distribution.
    score_columns
        Extra columns ``score_fn`` needs beyond ``features``.
    label_column
        The target; with ``score_fn`` it calibrates scores and records the
        reference performance per chunk.
    progress, cancel
        Progress callback and cancel token (checked between chunks).
    model_kind
        What the scores are (binary, multiclass, regression): decides the
        metric set stored in ``profile.model`` (default: binary).
    proba_fn
        Returns the class probabilities of every row ``score_fn`` scored so
        far, in order (multiclass log loss and confidence calibration).
    min_rows
        Fewer rows are refused (a reference a check is calibrated on:
        :data:`MIN_REFERENCE_ROWS`; a segment's profile takes fewer).

    Returns
    -------
    ReferenceProfile

    Raises
    ------
    InvalidInput
        No rows (fewer than ``min_rows``), no column to monitor, or a numeric
        column whose values are so large that their variance overflows.
    """
    src = data if isinstance(data, TableSource) else open_source(data, categorical=categorical)
    skip = set(exclude) | ({label_column} if label_column else set())
    if features is None:
        features = [
            c for c, k in src.kinds.items() if k in (NUMERIC, CATEGORICAL) and c not in skip
        ]
    features = list(features)
    if not features:
        raise InvalidInput(f"{src.label} has no numeric or categorical column to monitor")
    unknown = [c for c in features if c not in src.kinds]
    if unknown:
        raise InvalidInput(f"{src.label} has no column(s) {', '.join(unknown)}")
    numeric = [c for c in features if src.kinds[c] == NUMERIC]
    cats = [c for c in features if src.kinds[c] != NUMERIC]
    read_cols = list(
        dict.fromkeys([*features, *score_columns, *([label_column] if label_column else [])])
    )
    progress(0.0, "counting rows")
    n_rows = src.count()
    if n_rows == 0:
        raise InvalidInput(f"{src.label} has no rows")
    if n_rows < min_rows:
        raise InvalidInput(
            f"{src.label} has {n_rows:,} row(s), too few for a reference: drift bounds are "
            f"calibrated on its spread between chunks of 100 rows, which needs at least "
            f"{min_rows:,} rows"
        )
    k = max(1, min(n_chunks, n_rows // 100))
    bounds = np.round(np.linspace(0, n_rows, k + 1)).astype(np.int64)
    # Text columns only counted are counted per chunk by DuckDB after the pass,
    # not as Python strings in it (see TableSource.category_counts).
    kept = {*score_columns, *([label_column] if label_column else [])}
    counted = [] if score_fn is not None else [c for c in cats if c not in kept]
    if len(counted) == len(read_cols) or src.category_counts([], bounds.tolist()) is None:
        counted = []
    read_cols = [c for c in read_cols if c not in counted]

    # Read once if it fits comfortably; else stream twice (sample, then count).
    cached: list[dict[str, Any]] | None = None
    if n_rows * len(read_cols) <= IN_MEMORY_CELLS:
        cached = []
        done = 0
        for b in src.batches(read_cols, rows=batch_rows):
            check(cancel)
            cached.append(b)
            done += len(next(iter(b.values())))
            progress(0.3 * done / n_rows, "reading the reference")

    def stream(cols: Sequence[str]) -> Any:
        if cached is not None:
            return iter(cached)
        return src.batches(cols, rows=batch_rows)

    # Pass 1: a systematic sample of each numeric column (every step-th row).
    step = max(1, math.ceil(n_rows / SAMPLE_SIZE))
    samples: dict[str, list[np.ndarray]] = {c: [] for c in numeric}
    if numeric:
        start = 0
        for b in stream(numeric):
            check(cancel)
            m = len(b[numeric[0]])
            off = (-start) % step
            for c in numeric:
                samples[c].append(np.array(b[c][off::step]))
            start += m
            if cached is None:
                progress(0.3 * start / n_rows, "sampling the reference")
    sample = {c: np.concatenate(v) if v else np.empty(0) for c, v in samples.items()}
    edges = {c: make_edges(sample[c], n_bins) for c in numeric}
    pca_spec = None
    if len(numeric) >= 2:
        mean = np.array(
            [np.nanmean(sample[c]) if np.isfinite(sample[c]).any() else 0.0 for c in numeric]
        )
        scale = np.array(
            [np.nanstd(sample[c]) if np.isfinite(sample[c]).any() else 1.0 for c in numeric]
        )
        scale[~np.isfinite(scale) | (scale <= 0)] = 1.0
        mean[~np.isfinite(mean)] = 0.0
        pca_spec = PCASpec(numeric, mean, scale)

    # Pass 2: count every chunk into the bins.
    accs = [Accumulator(edges, {c: None for c in cats}, pca=pca_spec) for _ in range(k)]
    for a in accs:
        a.elsewhere = set(counted)
    scores: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    start = 0
    for b in stream(read_cols):
        check(cancel)
        m = len(b[read_cols[0]])
        if score_fn is not None:
            scores.append(np.asarray(score_fn(b), dtype=np.float64))
        if label_column:
            lab = b[label_column]
            labels.append(
                lab if isinstance(lab, np.ndarray) else np.asarray(lab.to_pylist(), dtype=object)
            )
        pos = 0
        while pos < m:
            chunk = int(np.searchsorted(bounds, start + pos, side="right") - 1)
            stop = min(m, int(bounds[chunk + 1]) - start)
            part = b if (pos == 0 and stop == m) else slice_batch(b, pos, stop)
            accs[chunk].add(part)
            pos = stop
        start += m
        progress(0.3 + 0.6 * start / n_rows, "profiling the reference")
    if counted:
        found = src.category_counts(counted, bounds.tolist())
        assert found is not None
        for c, rows in found.items():
            for i, a in enumerate(accs):
                mine = [(v, n) for chunk, v, n in rows if chunk == i]
                a.add_counted(c, [v for v, _n in mine], [n for _v, n in mine])
    parts = [a.result() for a in accs]
    total = copy.deepcopy(parts[0])
    for p in parts[1:]:
        _merge_into(total, p)
    for c in numeric:
        _check_variance(src.label, c, total.numeric[c])

    feats: dict[str, NumericProfile | CategoricalProfile] = {}
    for c in features:
        if c in edges:
            cnt = np.stack([p.numeric[c].counts for p in parts])
            sm = np.stack([p.numeric[c].sums for p in parts])
            _widen_to_range(edges[c], cnt, sm, total.numeric[c].vmin, total.numeric[c].vmax)
            feats[c] = NumericProfile(
                c,
                edges[c],
                cnt,
                sm,
                np.array([p.numeric[c].missing for p in parts], dtype=np.int64),
                _numeric_stats(total, c, sample[c], n_rows),
            )
        else:
            learned = total.categorical[c].learned
            categories = sorted(learned, key=lambda v: (-learned[v], v))
            counts = np.zeros((k, len(categories) + 1), dtype=np.int64)
            for i, p in enumerate(parts):
                counts[i, : len(categories)] = [
                    p.categorical[c].learned.get(v, 0) for v in categories
                ]
            miss = np.array([p.categorical[c].missing for p in parts], dtype=np.int64)
            feats[c] = CategoricalProfile(
                c,
                categories,
                counts,
                miss,
                {
                    "count": float(counts.sum()),
                    "missing_rate": float(miss.sum()) / n_rows,
                    "n_categories": float(len(categories)),
                },
            )
    chunk_rows = np.diff(bounds)
    prof = ReferenceProfile(n_rows, chunk_rows, feats, source=src.label)
    add_lenses(prof)
    if pca_spec is not None:
        prof.multivariate = _fit_pca(pca_spec, [p.moments for p in parts])  # type: ignore[misc]
    if scores:
        all_scores = np.concatenate(scores)
        prof.score = score_profile(all_scores, bounds, n_bins)
        prof.score.lenses = reference_lenses(prof.score, n_rows, chunk_rows)
        proba = proba_fn() if proba_fn is not None else None
        if labels:
            y = np.concatenate(labels)
            prof.model = reference_model_info(all_scores, y, bounds, kind=model_kind, proba=proba)
        elif model_kind is not None:
            prof.model = {**model_kind.to_json(), "task": model_kind.kind}
    progress(1.0, "reference profiled")
    return prof


def overflowing(c: NumCounts) -> float | None:
    """The largest value of a counted column when its values' squares overflow, else ``None``.

    Such values (±1e308, a sentinel or a broken export) make the column's
    variance infinite, and with it every bound and statistic scaled by it.
    """
    if c.n == 0 or math.isfinite(c.total_sq):
        return None
    return float(c.vmax if abs(c.vmax) >= abs(c.vmin) else c.vmin)


def _check_variance(label: str, name: str, c: NumCounts) -> None:
    """A reference column whose variance overflows is refused (nothing can be calibrated on it)."""
    v = overflowing(c)
    if v is not None:
        raise InvalidInput(
            f"{label}: column {name!r} holds {v:.4g}; values this large overflow the column's "
            "variance, which every drift bound of a reference is drawn from: remove or cap them"
        )


def _widen_to_range(
    e: np.ndarray, counts: np.ndarray, sums: np.ndarray, vmin: float, vmax: float
) -> None:
    """Move the outer edges to the true reference range (edges came from a sample).

    Reference values below the sample's minimum sat in bin 0 ("below range");
    with the first edge just under the true minimum they belong to bin 1, and
    likewise at the top, so the move is exact and "out of range" means
    outside the whole reference.
    """
    if not np.isfinite(vmin) or len(e) < 2:
        return
    if vmin <= e[0]:
        e[0] = np.nextafter(vmin, -np.inf)
        counts[:, 1] += counts[:, 0]
        sums[:, 1] += sums[:, 0]
        counts[:, 0] = 0
        sums[:, 0] = 0.0
    if vmax > e[-1]:
        e[-1] = vmax
        counts[:, -2] += counts[:, -1]
        sums[:, -2] += sums[:, -1]
        counts[:, -1] = 0
        sums[:, -1] = 0.0


def score_profile(scores: np.ndarray, bounds: np.ndarray, n_bins: int = 100) -> NumericProfile:
    """A numeric profile of the model's scores, chunked at ``bounds``."""
    e = make_edges(scores[:: max(1, len(scores) // SAMPLE_SIZE)], n_bins)
    parts = [count_numeric(scores[a:b], e) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    tot = BatchCounts(numeric={"score": copy.deepcopy(parts[0])})
    for p in parts[1:]:
        tot.numeric["score"].merge(p)
    return NumericProfile(
        "score",
        e,
        np.stack([p.counts for p in parts]),
        np.stack([p.sums for p in parts]),
        np.array([p.missing for p in parts], dtype=np.int64),
        _numeric_stats(tot, "score", scores, len(scores)),
    )


def _merge_into(total: BatchCounts, p: BatchCounts) -> None:
    total.n_rows += p.n_rows
    for c, v in p.numeric.items():
        total.numeric[c].merge(v)
    for c, cc in p.categorical.items():
        tc = total.categorical[c]
        tc.missing += cc.missing
        for val, k in cc.learned.items():
            tc.learned[val] = tc.learned.get(val, 0) + k
    if p.moments is not None and total.moments is not None:
        total.moments = Moments(
            total.moments.n + p.moments.n,
            total.moments.zsum + p.moments.zsum,
            total.moments.zz + p.moments.zz,
        )


def _pca_basis(
    moms: Sequence[Moments], n_comp: int | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    n = sum(m.n for m in moms)
    zsum: np.ndarray = np.sum([m.zsum for m in moms], axis=0)
    zz: np.ndarray = np.sum([m.zz for m in moms], axis=0)
    center: np.ndarray = zsum / n
    vals, vecs = np.linalg.eigh(zz / n - np.outer(center, center))
    order = np.argsort(vals)[::-1]
    vals, vecs = np.clip(vals[order], 0, None), vecs[:, order]
    share = np.cumsum(vals) / max(vals.sum(), 1e-12)
    if n_comp is None:
        n_comp = max(1, min(len(vals) - 1, int(np.searchsorted(share, PCA_VARIANCE)) + 1))
    return center, vecs[:, :n_comp], float(share[n_comp - 1])


def _fit_pca(spec: PCASpec, chunk_moments: list[Moments]) -> PCAProfile:
    """PCA on the whole reference; the reference error and its spread out of sample.

    The error of a chunk under a PCA fitted on that same chunk is biased low
    (the fit chose the subspace for it), and a fresh batch would always look
    worse. So each chunk's error comes from a PCA fitted on the other chunks.
    """
    center, comps, explained = _pca_basis(chunk_moments)
    k = comps.shape[1]
    if len(chunk_moments) >= 2:
        errs = []
        for i, m in enumerate(chunk_moments):
            c_i, w_i, _ = _pca_basis(chunk_moments[:i] + chunk_moments[i + 1 :], k)
            errs.append(reconstruction_error(m, c_i, w_i))
        chunk_errors = np.array(errs)
    else:
        chunk_errors = np.array([reconstruction_error(chunk_moments[0], center, comps)])
    return PCAProfile(
        list(spec.columns),
        spec.mean,
        spec.scale,
        center,
        comps,
        explained,
        float(chunk_errors.mean()),
        chunk_errors,
    )


# --------------------------------------------------------------------------- lenses
def decile_starts(ref_counts: np.ndarray, n_groups: int = 10) -> np.ndarray:
    """Start indices that merge fine bins into (about) ``n_groups`` equal-mass groups."""
    cum = np.cumsum(ref_counts) / max(ref_counts.sum(), 1)
    cuts = np.searchsorted(cum, np.arange(1, n_groups) / n_groups - 1e-12) + 1
    cuts = cuts[cuts < len(ref_counts)]
    return np.unique(np.concatenate([[0], cuts]))


def _rows_props(c: np.ndarray) -> np.ndarray:
    tot = c.sum(axis=-1, keepdims=True).astype(np.float64)
    out: np.ndarray = np.divide(c, tot, out=np.zeros(c.shape), where=tot > 0)
    return out


def js_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon distance (base 2, 0..1) of each row of ``q`` against ``p``.

    The same numbers as SciPy's ``jensenshannon(p, q, base=2, axis=-1)`` (each
    row normalised to sum 1), in NumPy: importing ``scipy.spatial`` costs
    about a second at the start of every check.
    """
    q = np.asarray(q, dtype=np.float64)
    p = np.broadcast_to(np.asarray(p, dtype=np.float64), q.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = p / p.sum(axis=-1, keepdims=True)
        q = q / q.sum(axis=-1, keepdims=True)
        m = (p + q) / 2.0

        def rel(x: np.ndarray) -> np.ndarray:
            pos = x > 0
            ratio = np.where(pos, x, 1.0) / np.where(m > 0, m, 1.0)
            out: np.ndarray = np.where(pos, x * np.log(ratio), 0.0)
            return out

        js = (rel(p).sum(axis=-1) + rel(q).sum(axis=-1)) / (2.0 * math.log(2.0))
    dist: np.ndarray = np.sqrt(np.maximum(js, 0.0))
    return dist


def lens_values(
    prof: NumericProfile | CategoricalProfile, cur: np.ndarray, ref: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Every lens of many current count vectors at once (rows of ``cur``) against ``ref``.

    Used to calibrate the lenses (simulated batches, reference chunks); the
    check itself computes each statistic one column at a time (see
    :func:`modelward.core.monitoring.drift.column_stats`). Wasserstein here
    places every bin's mass at the reference bin mean.
    """
    rc = prof.total_counts if ref is None else ref
    cur = np.atleast_2d(cur)
    out: dict[str, np.ndarray] = {}
    if isinstance(prof, NumericProfile):
        starts = decile_starts(prof.total_counts)
        rg = np.add.reduceat(rc, starts)
        cg = np.add.reduceat(cur, starts, axis=1)
        p, q = _rows_props(rg), _rows_props(cg)
        pe, qe = np.maximum(p, EPS), np.maximum(q, EPS)
        out["psi"] = np.sum((qe - pe) * np.log(qe / pe), axis=1)
        out["jensenshannon"] = js_rows(p, q)
        fr, fc = np.cumsum(_rows_props(rc)), np.cumsum(_rows_props(cur), axis=1)
        out["ks"] = np.max(np.abs(fc - fr), axis=1)
        tc, ts = prof.total_counts, prof.total_sums
        has = tc > 0
        x = ts[has] / tc[has]
        gaps = np.diff(x)
        std = prof.stats.get("std") or 0.0
        w = np.abs(fc[:, has][:, :-1] - fr[has][:-1]) @ gaps
        out["wasserstein"] = w / std if std > 0 else w
    else:
        p, q = _rows_props(rc), _rows_props(cur)
        pe, qe = np.maximum(p, EPS), np.maximum(q, EPS)
        out["psi"] = np.sum((qe - pe) * np.log(qe / pe), axis=1)
        out["jensenshannon"] = js_rows(p, q)
        out["tvd"] = 0.5 * np.sum(np.abs(q - p), axis=1)
    return out


def _tail_constant(t: np.ndarray, tail: float) -> float:
    """Upper ``1 - tail`` quantile of ``t`` from a scaled chi-square with its mean and variance.

    A Satterthwaite fit reaches further into the tail than a few hundred
    draws can, and these statistics are quadratic forms (or close to one).
    """
    t = t[np.isfinite(t)]
    mean, var = float(t.mean()), float(t.var(ddof=1))
    if mean <= 0 or var <= 0:
        return float(np.max(t)) if t.size else 0.0
    g, h = var / (2 * mean), 2 * mean * mean / var
    return float(max(g * chi2_isf(h, tail), np.max(t)))


def _lognormal_tail(t: np.ndarray, tail: float) -> float:
    """Upper ``1 - tail`` quantile of ``t`` from a log-normal with its log-mean and log-σ."""
    t = t[np.isfinite(t) & (t > 0)]
    if t.size < 3:
        return float(np.max(t)) if t.size else 0.0
    lt = np.log(t)
    return float(max(math.exp(lt.mean() + norm_isf(tail) * lt.std(ddof=1)), np.max(t)))


def reference_lenses(
    prof: NumericProfile | CategoricalProfile, n_rows: int, chunk_rows: np.ndarray
) -> dict[str, float]:
    """Calibrate every drift lens of one column; stored with the profile.

    For each lens two numbers:

    * ``<lens>_null_<n>``: its sampling bound. Batches of ``n`` rows (for
      each ``n`` in ``LENS_GRID``) drawn from the reference's own bin
      proportions give the statistic's distribution with no drift; ``c`` is
      the 99.99 % quantile of ``n·stat`` (PSI) or ``√n·stat`` (the
      distances), so a batch of ``n`` rows is held to ``c(n) · (1/n +
      1/N_ref)`` (or its square root), ``c`` interpolated in log n: the bound
      shrinks smoothly as batches grow, with no size at which the method
      changes.
    * ``<lens>_floor``: the reference's own chunk-to-chunk variation, mean +
      3σ of the statistic of each reference chunk against the whole
      reference (scaled from "part of the reference" to a fresh batch of a
      chunk's size). A large batch is never held to a tighter bound than
      this, so shifts the reference itself shows between its chunks are not
      drift.

    Plus ``missing_floor`` (the same for the missing rate), ``chunk_rows``
    and ``n_rows``.
    """
    rc = prof.total_counts
    n_ref = int(rc.sum())
    out: dict[str, float] = {"n_rows": float(n_rows), "chunk_rows": float(np.mean(chunk_rows))}
    if n_ref > 0 and len(rc) > 1:
        rng = np.random.default_rng(20261205)
        pooled: list[np.ndarray] = []
        for n_sim in LENS_GRID:
            # Poisson cells, not a multinomial: the same proportions to well within
            # the fit's error, at a fraction of the cost on 100 bins
            sim = rng.poisson(n_sim * rc / n_ref, size=(LENS_DRAWS, len(rc)))
            for lens, v in lens_values(prof, sim).items():
                if lens in ("ks", "tvd"):
                    continue  # the test's own p-value covers sampling
                if lens == "wasserstein":
                    pooled.append(v * math.sqrt(n_sim))
                    continue
                t = v * n_sim if lens in LINEAR_LENSES else v * v * n_sim
                c = _tail_constant(t, LENS_TAIL)
                out[f"{lens}_null_{n_sim}"] = c if lens in LINEAR_LENSES else math.sqrt(c)
        if pooled:
            # √n·W barely depends on n, and its tail is heavier than a scaled
            # chi-square's: a log-normal fit to every draw of the grid (slightly
            # conservative, measured against 20 000 draws) holds it.
            c = _lognormal_tail(np.concatenate(pooled), LENS_TAIL)
            for n_sim in LENS_GRID:
                out[f"wasserstein_null_{n_sim}"] = c
    k = prof.counts.shape[0]
    m = float(np.mean(chunk_rows))
    denom = 1.0 / m - 1.0 / max(n_rows, 1)
    if k >= 3 and denom > 0 and n_ref > 0:
        fresh = (1.0 / m + 1.0 / n_rows) / denom
        for lens, v in lens_values(prof, prof.counts).items():
            v = v[np.isfinite(v)]
            if v.size < 3:
                continue
            scale = fresh if lens in LINEAR_LENSES else math.sqrt(fresh)
            out[f"{lens}_floor"] = float((v.mean() + 3 * v.std(ddof=1)) * scale)
        rates = prof.missing / np.maximum(np.asarray(chunk_rows, dtype=np.float64), 1)
        dev = np.abs(rates - prof.missing.sum() / n_rows)
        out["missing_floor"] = float((dev.mean() + 3 * dev.std(ddof=1)) * math.sqrt(fresh))
    return out


def null_constant(lenses: Mapping[str, float], lens: str, n: int) -> float:
    """The sampling constant of ``lens`` at ``n`` rows, interpolated in log n on ``LENS_GRID``."""
    grid = [g for g in LENS_GRID if f"{lens}_null_{g}" in lenses]
    if not grid:
        return 0.0
    vals = [lenses[f"{lens}_null_{g}"] for g in grid]
    return float(np.interp(math.log(max(n, 1)), np.log(grid), vals))


def add_lenses(prof: ReferenceProfile) -> None:
    """Calibrate the lenses of every column that has none yet (older stored profiles)."""
    for p in prof.features.values():
        if not p.lenses:
            p.lenses = reference_lenses(p, prof.n_rows, prof.chunk_rows)
    if prof.score is not None and not prof.score.lenses:
        prof.score.lenses = reference_lenses(prof.score, prof.n_rows, prof.chunk_rows)
