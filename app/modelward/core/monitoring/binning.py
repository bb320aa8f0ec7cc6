"""The one pass every monitoring check makes: count each column into fixed bins.

Numeric columns are counted into the reference's quantile bins with
``np.searchsorted`` + ``np.bincount`` (plus the sum of the values in each bin,
so that bin means place the mass for Wasserstein); categorical columns are
value-counted by Arrow. The same accumulator builds a reference profile (chunk
by chunk) and summarises a batch, so reference and batch are binned by
exactly the same code.

Bins of a numeric column with edges ``e[0] < … < e[E-1]``: bin ``b`` holds
``e[b-1] < x <= e[b]``; bin 0 is ``x <= e[0]`` (below the reference range, as
``e[0]`` sits just under the reference minimum) and bin ``E`` is ``x > e[E-1]``
(above it). Missing values are counted apart, never binned.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from modelward.core.tables import bool_word


@dataclass
class NumCounts:
    """A numeric column counted into bins."""

    counts: np.ndarray  # (E + 1,) int64
    sums: np.ndarray  # (E + 1,) float64, sum of the values in each bin
    missing: int = 0
    vmin: float = np.inf
    vmax: float = -np.inf
    total: float = 0.0
    total_sq: float = 0.0

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def merge(self, other: NumCounts) -> None:
        self.counts += other.counts
        self.sums += other.sums
        self.missing += other.missing
        self.vmin = min(self.vmin, other.vmin)
        self.vmax = max(self.vmax, other.vmax)
        self.total += other.total
        self.total_sq += other.total_sq


@dataclass
class CatCounts:
    """A categorical column counted per category.

    With known categories, ``counts`` has one slot per category plus a last
    slot for every value the reference never saw (also listed in ``unseen``).
    While learning categories (a reference), ``learned`` holds the counts.
    """

    counts: np.ndarray | None = None
    missing: int = 0
    unseen: dict[str, int] = field(default_factory=dict)
    learned: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        if self.counts is not None:
            return int(self.counts.sum())
        return int(sum(self.learned.values()))


@dataclass
class Moments:
    """Standardised first and second moments of the numeric columns (for PCA)."""

    n: int
    zsum: np.ndarray  # (p,)
    zz: np.ndarray  # (p, p)

    def merge(self, other: Moments) -> None:
        self.n += other.n
        self.zsum += other.zsum
        self.zz += other.zz


@dataclass
class BatchCounts:
    """What one pass learned about a batch (or one reference chunk)."""

    n_rows: int = 0
    numeric: dict[str, NumCounts] = field(default_factory=dict)
    categorical: dict[str, CatCounts] = field(default_factory=dict)
    moments: Moments | None = None
    score: NumCounts | None = None
    collected: dict[str, list[Any]] = field(default_factory=dict)
    scorer: Any = None  # the score function the pass used (a pending model's, once loaded)
    batch_rows: list[int] = field(default_factory=list)  # the rows of each batch, as read

    def to_json(self) -> dict[str, Any]:
        """The counts, exactly (no score, nothing collected): see :meth:`from_json`."""

        def num(c: NumCounts) -> dict[str, Any]:
            return {
                "counts": c.counts.tolist(),
                "sums": c.sums.tolist(),
                "missing": c.missing,
                "vmin": c.vmin,
                "vmax": c.vmax,
                "total": c.total,
                "total_sq": c.total_sq,
            }

        def cat(c: CatCounts) -> dict[str, Any]:
            return {
                "counts": None if c.counts is None else c.counts.tolist(),
                "missing": c.missing,
                "unseen": list(c.unseen.items()),  # pairs: the order is kept
                "learned": list(c.learned.items()),
            }

        m = self.moments
        return {
            "n_rows": self.n_rows,
            "numeric": {k: num(v) for k, v in self.numeric.items()},
            "categorical": {k: cat(v) for k, v in self.categorical.items()},
            "moments": None
            if m is None
            else {"n": m.n, "zsum": m.zsum.tolist(), "zz": m.zz.tolist()},
            "batch_rows": list(self.batch_rows),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> BatchCounts:
        """Inverse of :meth:`to_json` (floats round-trip exactly through JSON)."""
        out = cls(n_rows=int(d["n_rows"]), batch_rows=[int(n) for n in d["batch_rows"]])
        for k, v in d["numeric"].items():
            out.numeric[k] = NumCounts(
                np.asarray(v["counts"], dtype=np.int64),
                np.asarray(v["sums"], dtype=np.float64),
                int(v["missing"]),
                float(v["vmin"]),
                float(v["vmax"]),
                float(v["total"]),
                float(v["total_sq"]),
            )
        for k, v in d["categorical"].items():
            out.categorical[k] = CatCounts(
                None if v["counts"] is None else np.asarray(v["counts"], dtype=np.int64),
                int(v["missing"]),
                {a: int(b) for a, b in v["unseen"]},
                {a: int(b) for a, b in v["learned"]},
            )
        m = d["moments"]
        if m is not None:
            out.moments = Moments(
                int(m["n"]),
                np.asarray(m["zsum"], dtype=np.float64),
                np.asarray(m["zz"], dtype=np.float64).reshape(len(m["zsum"]), len(m["zsum"])),
            )
        return out


@dataclass
class PCASpec:
    """How to standardise the numeric columns before accumulating moments."""

    columns: list[str]
    mean: np.ndarray
    scale: np.ndarray


class Accumulator:
    """Count batches into fixed bins; :meth:`result` returns a :class:`BatchCounts`.

    Parameters
    ----------
    edges
        Numeric column -> bin edges (sorted, strictly increasing).
    categories
        Categorical column -> known categories; ``None`` for a column whose
        categories are being learned (a reference).
    pca
        Standardisation for the moments, or ``None`` to skip them.
    score_edges
        Bin edges for the model's score, if a score is counted.
    """

    def __init__(
        self,
        edges: Mapping[str, np.ndarray],
        categories: Mapping[str, Sequence[str] | None],
        *,
        pca: PCASpec | None = None,
        score_edges: np.ndarray | None = None,
    ):
        self.edges = dict(edges)
        self.cat_index = {
            c: (None if cats is None else category_index(cats)) for c, cats in categories.items()
        }
        self.pca = pca
        self.score_edges = score_edges
        self.elsewhere: set[str] = set()
        """Categorical columns not in the batches: counted by DuckDB (:meth:`add_counted`)."""
        self.out = BatchCounts()
        for c, e in self.edges.items():
            self.out.numeric[c] = _empty_num(e)
        for c, idx in self.cat_index.items():
            cc = CatCounts()
            if idx is not None:
                cc.counts = np.zeros(len(idx) + 1, dtype=np.int64)
            self.out.categorical[c] = cc
        if score_edges is not None:
            self.out.score = _empty_num(score_edges)
        if pca is not None:
            p = len(pca.columns)
            self.out.moments = Moments(0, np.zeros(p), np.zeros((p, p)))

    def add(self, batch: Mapping[str, Any], *, score: np.ndarray | None = None) -> None:
        """Count one batch (numeric arrays as float64, categorical as Arrow arrays)."""
        n = len(next(iter(batch.values()))) if batch else 0
        for c, e in self.edges.items():
            self.out.numeric[c].merge(count_numeric(batch[c], e))
        for c, idx in self.cat_index.items():
            if c not in self.elsewhere:
                _count_categorical(batch[c], idx, self.out.categorical[c])
        if self.pca is not None and self.pca.columns:
            assert self.out.moments is not None
            self.out.moments.merge(moments(batch, self.pca))
        if score is not None and self.score_edges is not None:
            assert self.out.score is not None
            self.out.score.merge(count_numeric(score, self.score_edges))
        self.out.n_rows += n
        self.out.batch_rows.append(n)

    def add_counted(self, column: str, values: Sequence[str | None], counts: Sequence[int]) -> None:
        """Add a categorical column counted elsewhere (by DuckDB, for rows :meth:`add` counts)."""
        count_values(values, counts, self.cat_index[column], self.out.categorical[column])

    def add_score(self, score: np.ndarray) -> None:
        """Count scores of rows already counted by :meth:`add` (scored later, in any order)."""
        if self.score_edges is not None:
            assert self.out.score is not None
            self.out.score.merge(count_numeric(score, self.score_edges))

    def result(self) -> BatchCounts:
        return self.out


class _TruthIndex(dict[str, int]):
    """A true/false column's categories: any truth word finds the category of its value.

    The same yes/no column is ``true``/``false`` where DuckDB's CSV reader typed
    it BOOLEAN and ``yes``/``no`` where a Parquet file or arrays keep the text;
    without this, a CSV reference and a Parquet batch of the same rows saw every
    value as new.
    """

    def __init__(self, categories: Sequence[str]):
        super().__init__({v: i for i, v in enumerate(categories)})
        self.by_truth: dict[bool, int] = {}
        for v, i in self.items():
            b = bool_word(v)
            assert b is not None
            self.by_truth.setdefault(b, i)

    def get(self, value: str, default: Any = None) -> Any:  # type: ignore[override]
        i = super().get(value)
        if i is None and (b := bool_word(value)) is not None:
            i = self.by_truth.get(b)
        return default if i is None else i


def category_index(categories: Sequence[str]) -> dict[str, int]:
    """Each reference category's position; for a true/false column, every truth word's.

    A column is true/false when every category is a truth word (:func:`bool_word`:
    true/false, yes/no, t/f, y/n, 1/0). A batch value that is no truth word stays
    unseen there, as anywhere.
    """
    if categories and all(bool_word(v) is not None for v in categories):
        return _TruthIndex(categories)
    return {v: i for i, v in enumerate(categories)}


def _empty_num(e: np.ndarray) -> NumCounts:
    return NumCounts(np.zeros(len(e) + 1, dtype=np.int64), np.zeros(len(e) + 1))


def count_numeric(x: np.ndarray, edges: np.ndarray) -> NumCounts:
    """Bin one numeric array (NaN counted as missing)."""
    nan = np.isnan(x)
    n_missing = int(nan.sum())
    if n_missing:
        x = x[~nan]
    nb = len(edges) + 1
    if x.size == 0:
        return NumCounts(np.zeros(nb, dtype=np.int64), np.zeros(nb), n_missing)
    idx = np.searchsorted(edges, x, side="left")
    return NumCounts(
        np.bincount(idx, minlength=nb).astype(np.int64, copy=False),
        np.bincount(idx, weights=x, minlength=nb),
        n_missing,
        float(x.min()),
        float(x.max()),
        float(x.sum()),
        # einsum, not np.dot: a threaded BLAS call on a busy 2-core machine costs 100x more here
        float(np.einsum("i,i->", x, x)),
    )


def _count_categorical(arr: Any, index: dict[str, int] | None, into: CatCounts) -> None:
    if isinstance(arr, np.ndarray):  # text as objects, missing as None (the table source)
        found = Counter(arr.tolist())
        values, counts = list(found), list(found.values())
    else:
        vc = arr.value_counts()
        values, counts = vc.field("values").to_pylist(), vc.field("counts").to_numpy().tolist()
    count_values(values, counts, index, into)


def count_values(
    values: Sequence[str | None],
    counts: Sequence[int],
    index: Mapping[str, int] | None,
    into: CatCounts,
) -> None:
    """Add ``counts[i]`` rows of ``values[i]`` (``None``: missing) to a categorical count."""
    for v, k in zip(values, counts, strict=True):
        if v is None:
            into.missing += k
        elif index is None:
            into.learned[v] = into.learned.get(v, 0) + k
        else:
            i = index.get(v)
            assert into.counts is not None
            if i is None:
                into.counts[-1] += k
                into.unseen[v] = into.unseen.get(v, 0) + k
            else:
                into.counts[i] += k


_BLAS: list[ThreadpoolController] = []


def _one_blas_thread() -> Any:
    """Limit BLAS to one thread: a threaded ``zᵀz`` on a busy machine swings 2× in time.

    The controller (a scan of the loaded libraries) is made once per process;
    each limit costs microseconds.
    """
    if not _BLAS:
        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def moments(batch: Mapping[str, Any], spec: PCASpec) -> Moments:
    """Sum and cross-products of the standardised numeric columns (missing -> mean)."""
    z = np.empty((len(batch[spec.columns[0]]), len(spec.columns)), order="F")
    for j, c in enumerate(spec.columns):
        np.subtract(batch[c], spec.mean[j], out=z[:, j])
    z /= spec.scale
    bad = ~np.isfinite(z)
    if bad.any():
        z[bad] = 0.0  # a missing value counts as the reference mean
    with _one_blas_thread():
        zz = z.T @ z
    return Moments(len(z), z.sum(axis=0), zz)


def slice_batch(batch: Mapping[str, Any], start: int, stop: int) -> dict[str, Any]:
    """Rows ``start:stop`` of a batch (views, no copies)."""
    out = {}
    for c, v in batch.items():
        out[c] = v.slice(start, stop - start) if hasattr(v, "slice") else v[start:stop]
    return out
