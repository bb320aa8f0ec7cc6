"""The intake door: every model file and data batch enters the registry here.

* :func:`accept_model_file` — a model file from the CLI, the API, a drop on
  the window, a watched folder, a bundle, a conversion;
* :func:`accept_batch` — a data batch (CSV/Parquet) from a data inbox or a dialog.

Each copies the bytes once into the artifact store (hashing them while
copying), checks the stored bytes, and records exactly one audit event,
accepted or refused (refused bytes are quarantined with their reason).
"""

from __future__ import annotations

from modelward.core.intake.checks import BatchFacts, check_batch, expected_features
from modelward.core.intake.door import (
    Incoming,
    SeenFn,
    Stored,
    accept_batch,
    accept_model_file,
    model_name_for,
    stored_view,
)
from modelward.core.intake.quarantine import quarantine
from modelward.core.intake.result import (
    ACCEPTED,
    BATCH,
    DUPLICATE,
    MODEL,
    REFUSED,
    SEEN,
    IntakeResult,
    flag_summary,
)

__all__ = [
    "ACCEPTED",
    "BATCH",
    "DUPLICATE",
    "MODEL",
    "REFUSED",
    "SEEN",
    "BatchFacts",
    "Incoming",
    "IntakeResult",
    "SeenFn",
    "Stored",
    "accept_batch",
    "accept_model_file",
    "check_batch",
    "expected_features",
    "flag_summary",
    "model_name_for",
    "quarantine",
    "stored_view",
]
