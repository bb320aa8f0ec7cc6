"""Loading stored model artifacts without trusting them.

Every path that turns an artifact into a Python object comes through
:func:`load_artifact`: the bytes are verified against their SHA-256 first.
"""

from __future__ import annotations

from typing import Any

from modelward.core.artifacts.store import ArtifactStore
from modelward.core.errors import RejectedFile


def load_artifact(store: ArtifactStore, sha256: str, fmt: str) -> Any:
    """Load a verified artifact as a Python object."""
    path = store.verify(sha256)
    if fmt == "skops":
        import skops.io as sio

        untrusted = sio.get_untrusted_types(file=str(path))
        bad = [t for t in untrusted if not t.startswith(("sklearn.", "numpy."))]
        if bad:
            raise RejectedFile(f"skops file uses types that are not allowed: {', '.join(bad)}")
        return sio.load(str(path), trusted=untrusted)
    raise RejectedFile(f"loading {fmt} files is not supported yet")
