"""What the intake door says about one file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelward.core.domain import ModelVersion, RegisterResult
from modelward.core.errors import InvalidInput, RejectedFile

MODEL = "model"
BATCH = "batch"

ACCEPTED = "accepted"
"""A new version or dataset was recorded (one audit event)."""
DUPLICATE = "duplicate"
"""The same bytes were already recorded as this version or dataset: it is returned, no event."""
SEEN = "seen"
"""The caller's ``seen`` check said it had taken these bytes already: nothing was done."""
REFUSED = "refused"

_ROW_FLAGS = {
    "out_of_range": "out of range",
    "infinite": "infinite",
    "outside_classes": "outside classes",
}
"""A check refused the bytes: quarantined with its reason, one ``ingest.rejected`` event."""


def flag_summary(flags: dict[str, dict[str, Any]], flagged_rows: int) -> str:
    """One line on a batch's row-level flags, or ``""`` when no row is flagged.

    Examples
    --------
    >>> flag_summary({"age": {"out_of_range": 2, "row_level": ["out_of_range"]}}, 2)
    '2 flagged (age out of range: 2)'
    """
    if not flagged_rows:
        return ""
    parts = [
        f"{col} {_ROW_FLAGS[key]}: {int(f[key]):,}"
        for col, f in flags.items()
        for key in f.get("row_level", ())
        if key in _ROW_FLAGS
    ]
    return f"{flagged_rows:,} flagged" + (f" ({', '.join(parts)})" if parts else "")


@dataclass(frozen=True)
class IntakeResult:
    """The outcome of presenting one model file or data batch at the door.

    Attributes
    ----------
    kind
        ``"model"`` or ``"batch"``.
    status
        ``accepted``, ``duplicate``, ``seen`` or ``refused``.
    source
        Where the bytes came from, as recorded (a path, ``"bytes"``, a bundle).
    sha256, size
        Of the stored bytes (hashed once, while they were copied in).
    reason, quarantined_to
        For a refusal: why, and the quarantined copy.
    version
        The model version (accepted or duplicate model files).
    dataset_id, rows, schema, monitoring
        For batches: the dataset record, the table's shape, and the champion
        check when there was one (``batch_id``, ``drift_share``, ``verdict``…).
    """

    kind: str
    status: str
    source: str
    sha256: str
    size: int
    reason: str | None = None
    quarantined_to: str | None = None
    version: ModelVersion | None = None
    dataset_id: int | None = None
    rows: int | None = None
    schema: dict[str, str] = field(default_factory=dict)
    monitoring: dict[str, Any] | None = None
    flags: dict[str, dict[str, Any]] = field(default_factory=dict)
    """For batches: column -> readable but implausible values (counts, ``what``)."""
    flagged_rows: int = 0
    """For batches: rows with a row-level flag (left out of the performance figures)."""

    @property
    def flags_line(self) -> str:
        """``12 flagged (age out of range: 10, label outside classes: 2)``, or ``""``."""
        return flag_summary(self.flags, self.flagged_rows)

    @property
    def accepted(self) -> bool:
        """The bytes are in the registry (new or already there)."""
        return self.status in (ACCEPTED, DUPLICATE)

    @property
    def refused(self) -> bool:
        return self.status == REFUSED

    @property
    def created(self) -> bool:
        """A new version or dataset was recorded by this call."""
        return self.status == ACCEPTED

    @property
    def ref(self) -> str | None:
        """``NAME:VERSION`` for a model file, ``dataset:ID`` for a batch."""
        if self.version is not None:
            return self.version.ref
        if self.dataset_id is not None:
            return f"dataset:{self.dataset_id}"
        return None

    def raise_if_refused(self) -> IntakeResult:
        """Return ``self``, or raise :class:`RejectedFile` for a refusal (CLI, API, dialogs)."""
        if self.status == REFUSED:
            raise RejectedFile(
                self.reason or "refused",
                path=self.source,
                quarantined_to=self.quarantined_to,
            )
        return self

    def register_result(self) -> RegisterResult:
        """The accepted model file as a :class:`RegisterResult` (raises for a refusal)."""
        self.raise_if_refused()
        if self.version is None:
            raise InvalidInput(f"{self.source} was not registered as a model version")
        return RegisterResult(self.version, self.created)
