"""Trust boundary for model files from outside.

:func:`inspect_untrusted` is the one door every model file passes before it is
registered: the CLI, the watcher, drag-and-drop, bundle import and conversion
all reach it through the intake door (:mod:`modelward.core.intake`). It triages the
file by its bytes (:mod:`~modelward.core.artifacts.formats`), then has a
sandboxed worker (:mod:`~modelward.core.artifacts.sandbox`) load it with the
exact allowlist and describe it. It returns plain metadata or raises
:class:`~modelward.core.errors.RejectedFile` with the reason; the intake door
quarantines rejected files.

A reviewer may approve specific extra globals for one file's bytes with
:func:`record_override` (``modelward trust``). The approval is an audit event
(``trust.override``: who, when, why, which globals, which SHA-256); it is
never made automatically, applies to those bytes only, and still cannot open
up anything in :data:`~modelward.core.artifacts.allowlist.NEVER_MODULES`.
Files with an override are still loaded by the restricted loaders, in the
sandbox first; the override only widens their allowlist.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from modelward.core.artifacts.allowlist import Pair
from modelward.core.artifacts.formats import FormatInfo, detect_format
from modelward.core.artifacts.overrides import overrides_for
from modelward.core.artifacts.sandbox import default_sandbox

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = ["NEEDS_REVALIDATION", "inspect_untrusted"]

NEEDS_REVALIDATION = "needs_revalidation"


def inspect_untrusted(
    path: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    registry: Registry | None = None,
    extra_globals: Iterable[Pair] = (),
    timeout: float | None = None,
    cancel: Callable[[], bool] | None = None,
) -> tuple[FormatInfo, dict[str, Any]]:
    """Triage ``path`` by its bytes and describe it from a sandboxed load.

    Parameters
    ----------
    path
        The file; normally the artifact store's copy, so that the bytes
        inspected are the bytes kept.
    sha256
        The digest the bytes must have; the worker checks it.
    registry
        Where to look up reviewer overrides for ``sha256``.
    extra_globals
        Further approved globals (``(module, name)`` pairs).
    timeout
        Seconds the worker may take (default: the sandbox's).
    cancel
        Polled while waiting; ``True`` stops the inspection.

    Returns
    -------
    (FormatInfo, dict)
        The format and metadata: ``estimator_class``, ``params`` (with
        ``params``, ``steps`` and ``sklearn_version``), ``signature`` and
        ``status`` (``"ok"`` or ``"needs_revalidation"`` for a file saved by
        another scikit-learn version).

    Raises
    ------
    RejectedFile
        With a specific reason.
    """

    info = detect_format(path)
    if sha256 is None and _looks_like_digest(os.path.basename(path)):
        sha256 = os.path.basename(path)  # an artifact store copy is named by its digest
    extra = list(extra_globals)
    if registry is not None and sha256:
        for ov in overrides_for(registry, sha256):
            extra.extend(tuple(p) for p in ov.get("globals", []))  # type: ignore[misc]
    raw = default_sandbox().inspect(
        path, fmt=info.format, sha256=sha256, extra_globals=extra, timeout=timeout, cancel=cancel
    )
    saved = raw.get("sklearn_version") or raw.get("sklearn_version_running")
    meta: dict[str, Any] = {
        "estimator_class": raw.get("estimator_class"),
        "params": {
            "params": raw.get("params", {}),
            "steps": raw.get("steps", []),
            "sklearn_version": saved,
        },
        "signature": raw.get("signature", {}),
        "status": raw.get("status", "ok"),
        "sklearn_version": saved,
    }
    if raw.get("native"):
        # The library that reads it, and the package extra that brings that library.
        meta["params"]["native"] = raw["native"]
        meta["params"]["sklearn_version"] = None
        meta["sklearn_version"] = None
    if extra:
        meta["params"]["trusted_globals"] = sorted(f"{m}.{n}" for m, n in extra)
    return info, meta


def _looks_like_digest(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)
