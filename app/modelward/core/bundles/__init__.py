"""Moved to :mod:`modelward.core.evidence.bundles`.

Temporary: kept only so the faces import until the lead applies FACES.sed after
merging issue 13; delete this file then. Core, tests and bench import the new home.
"""

from modelward.core.evidence.bundles import (
    ArchiveRefused,
    ImportResult,
    create_key,
    export_bundle,
    import_bundle,
    list_keys,
    trust_signer,
    trusted_signers,
    untrust_signer,
    verify_bundle,
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
