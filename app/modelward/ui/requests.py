"""What the window asks the compute worker to do, typed (the worker's wire format is a dict).

Each request is a frozen dataclass; :meth:`WorkerRequest.to_worker` turns it
into the message ``core.compute.worker`` reads, in one place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class WorkerRequest:
    """Where the worker opens the registry, as whom, and how it treats extra columns."""

    KIND: ClassVar[str] = ""

    registry: str
    actor: str
    busy_timeout: float
    allow_extra: bool

    def to_worker(self) -> dict[str, Any]:
        msg = asdict(self)
        msg["kind"] = self.KIND
        return msg


@dataclass(frozen=True)
class ValidateRequest(WorkerRequest):
    """Validate ``ref`` on the labelled table ``data`` (``target``: None = as trained)."""

    KIND: ClassVar[str] = "validate"

    ref: str
    data: str
    target: str | None


@dataclass(frozen=True)
class CompareRequest(WorkerRequest):
    """Compare ``champion`` and ``challenger`` on ``data`` and check ``gates``."""

    KIND: ClassVar[str] = "compare"

    champion: str
    challenger: str
    data: str
    gates: tuple[str, ...]

    def to_worker(self) -> dict[str, Any]:
        msg = super().to_worker()
        msg["gates"] = list(self.gates)
        return msg
