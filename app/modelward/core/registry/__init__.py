"""The model registry: one DuckDB file, its schema, and the audit trail.

Storage: it imports the kernel and :mod:`modelward.core.artifacts`, never a
service. The four-eyes guard on aliases is installed from above (see
:mod:`modelward.core.registry.aliases`).
"""

from __future__ import annotations

from modelward.core.registry.aliases import AliasGuard
from modelward.core.registry.registry import Registry
from modelward.core.registry.tx import Tx

__all__ = ["AliasGuard", "Registry", "Tx"]
