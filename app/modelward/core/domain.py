"""Plain, immutable records that cross every layer (core, CLI, UI, API)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelInfo:
    """A registered model: the name that versions hang under."""

    id: int
    name: str
    task: str | None
    description: str | None
    tags: dict[str, str]
    created_at: str
    created_by: str
    n_versions: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelVersion:
    """One immutable version of a model, with its artifact and metadata."""

    id: int
    model_id: int
    name: str
    version: int
    sha256: str
    size: int
    format: str
    estimator_class: str | None
    params: dict[str, Any]
    signature: dict[str, Any]
    lineage: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    status: str
    created_at: str
    created_by: str
    aliases: tuple[str, ...] = field(default=())

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["aliases"] = list(self.aliases)
        d["ref"] = self.ref
        return d


@dataclass(frozen=True)
class AliasEvent:
    """A move of an alias, for the alias history of a model page."""

    model: str
    alias: str
    version: int | None
    previous_version: int | None
    at: str
    by: str
    reason: str


@dataclass(frozen=True)
class AuditEvent:
    """One link of the hash-chained audit trail."""

    seq: int
    ts: str
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: Any
    after: Any
    reason: str | None
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AuditReport:
    """The result of walking the audit chain."""

    ok: bool
    events: int
    first_broken_seq: int | None = None
    problem: str | None = None
    head_hash: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RegisterResult:
    """What ``register`` did: the version, and whether it was new."""

    version: ModelVersion
    created: bool


# Which way is better for each metric that gates and comparisons accept; monitoring
# and compute both read it, so it lives on the kernel floor.
HIGHER_IS_BETTER: dict[str, bool] = {
    "accuracy": True,
    "balanced_accuracy": True,
    "roc_auc": True,
    "average_precision": True,
    "f1": True,
    "f1_macro": True,
    "log_loss": False,
    "brier_score_loss": False,
    "rmse": False,
    "mae": False,
    "r2": True,
}
