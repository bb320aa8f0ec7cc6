"""Dataset fingerprints: a stable SHA-256 of the data's content and shape."""

from __future__ import annotations

import hashlib
from typing import Any


def fingerprint_arrays(X: Any, y: Any = None) -> dict[str, Any]:
    """Fingerprint in-memory data (numpy arrays or DataFrames): hash, rows, columns."""
    import numpy as np

    h = hashlib.sha256()
    rows = None
    n_cols = None
    for part in (X, y):
        if part is None:
            continue
        values = part.to_numpy() if hasattr(part, "to_numpy") else np.asarray(part)
        rows = int(values.shape[0]) if rows is None else rows
        if values.ndim == 2 and n_cols is None:
            n_cols = int(values.shape[1])
        h.update(str(values.shape).encode())
        h.update(str(values.dtype).encode())
        if values.dtype == object:
            h.update(repr(values.tolist()).encode())
        else:
            h.update(np.ascontiguousarray(values).tobytes())
    return {"fingerprint": h.hexdigest(), "rows": rows, "columns": n_cols}
