"""Data quality of a batch: schema, missing values, out-of-range values, unseen categories.

The schema check runs first and stops the check with a message naming the
columns; the rest is read off the counts of the same single pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from modelward.core.errors import InvalidInput
from modelward.core.monitoring.binning import BatchCounts
from modelward.core.monitoring.profile import NumericProfile, ReferenceProfile
from modelward.core.monitoring.source import NUMERIC, TableSource


class SchemaMismatch(InvalidInput):
    """The batch's columns do not match the reference's."""


def check_schema(profile: ReferenceProfile, source: TableSource) -> None:
    """Raise :class:`SchemaMismatch` naming every missing or retyped column."""
    missing = [c for c in profile.features if c not in source.kinds]

    retyped = [
        c
        for c, p in profile.features.items()
        if c in source.kinds and p.kind == NUMERIC and source.kinds[c] != NUMERIC
    ]
    if retyped:  # a column left blank in every row is numbers, every value missing
        blank = source.take_empty_as_numbers(retyped)
        retyped = [c for c in retyped if c not in blank]
    # numbers read as text (padded, or with "NA"): numbers, unless a cell is other text
    texts = source.take_text_as_numbers(retyped)
    retyped = [c for c in retyped if c not in texts and source.kinds[c] != NUMERIC]
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    for c, (row, text) in texts.items():
        problems.append(f"column {c!r} should hold numbers, but row {row} has the text {text!r}")
    if retyped:
        problems.append(f"column(s) {', '.join(retyped)} are numeric in the reference but not here")
    if problems:
        raise SchemaMismatch(f"{source.label} does not match the reference: {'; '.join(problems)}")


@dataclass(frozen=True)
class ColumnQuality:
    """Quality figures of one column in one batch."""

    name: str
    kind: str
    missing_rate: float
    reference_missing_rate: float
    out_of_range: int = 0  # numeric: values outside the reference's range
    unseen: int = 0  # categorical: values the reference never saw
    unseen_examples: tuple[str, ...] = ()


@dataclass
class QualityReport:
    """Quality figures of a batch."""

    n_rows: int
    columns: list[ColumnQuality] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        cols = []
        for c in self.columns:
            d = asdict(c)
            d["unseen_examples"] = list(c.unseen_examples)
            cols.append(d)
        return {"n_rows": self.n_rows, "columns": cols}


def quality_of(profile: ReferenceProfile, counts: BatchCounts) -> QualityReport:
    """Missing rates, out-of-range counts and unseen categories from a batch's counts.

    Out of range means outside the first and last bin edge (the reference's
    minimum and maximum; for references over 200 000 rows, those of its
    systematic sample, so a few reference rows may fall outside too).
    """
    rep = QualityReport(counts.n_rows)
    n = max(counts.n_rows, 1)
    for name, prof in profile.features.items():
        ref_missing = float(prof.stats.get("missing_rate", 0.0))
        if isinstance(prof, NumericProfile):
            c = counts.numeric[name]
            oor = int(c.counts[0] + c.counts[-1])
            rep.columns.append(ColumnQuality(name, prof.kind, c.missing / n, ref_missing, oor))
        else:
            cc = counts.categorical[name]
            top = sorted(cc.unseen, key=lambda v: -cc.unseen[v])[:10]
            rep.columns.append(
                ColumnQuality(
                    name,
                    prof.kind,
                    cc.missing / n,
                    ref_missing,
                    unseen=int(sum(cc.unseen.values())),
                    unseen_examples=tuple(top),
                )
            )
    return rep
