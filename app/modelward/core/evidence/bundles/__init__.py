"""Signed bundles: a model version and its evidence in one verifiable file."""

from __future__ import annotations

from modelward.core.evidence.bundles.bundle import (
    ArchiveRefused,
    ImportResult,
    export_bundle,
    import_bundle,
    verify_bundle,
)
from modelward.core.evidence.bundles.keys import (
    create_key,
    list_keys,
    trust_signer,
    trusted_signers,
    untrust_signer,
)

__all__ = [
    "ArchiveRefused",
    "ImportResult",
    "create_key",
    "export_bundle",
    "import_bundle",
    "list_keys",
    "trust_signer",
    "trusted_signers",
    "untrust_signer",
    "verify_bundle",
]
