"""The model registry: one DuckDB file, its schema, and the audit trail."""

from __future__ import annotations

from modelward.core.registry.registry import Registry

__all__ = ["Registry"]
