"""Qt-free core of ModelWard: registry, artifacts, trust, jobs.

Nothing in this package imports Qt; an import-linter contract and a test check it.
"""

from __future__ import annotations

from modelward.core.errors import ModelWardError

__all__ = ["ModelWardError"]
