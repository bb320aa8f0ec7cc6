"""Reviewer overrides: a person's recorded decision to allow extra globals for one file.

An override is an audit event on the file's bytes (``trust.override``); the
safe loader and the trust boundary read them back with :func:`overrides_for`.
Kept apart from both so that neither imports the other for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from modelward.core.artifacts.allowlist import Pair, never_allowed, parse_global
from modelward.core.errors import InvalidInput

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = ["OVERRIDE_ACTION", "overrides_for", "record_override"]

OVERRIDE_ACTION = "trust.override"


def record_override(
    registry: Registry,
    sha256: str,
    *,
    globals: Iterable[str | Pair],
    reviewer: str,
    reason: str,
    source: str | None = None,
) -> int:
    """Record a reviewer's decision to allow extra globals for one file's bytes.

    Parameters
    ----------
    registry
        The registry whose audit trail records it (the OS user is the *who*).
    sha256
        The exact bytes the decision is about.
    globals
        ``"module:name"`` strings or pairs; none may be in the never-allowed set.
    reviewer
        The reviewer's name, as they sign it.
    reason
        Why; required.
    source
        Where the file came from, for the record.

    Returns
    -------
    int
        The audit event's ``seq``.

    Raises
    ------
    InvalidInput
        Missing reviewer or reason, no globals, or a global that can never be allowed.
    """
    if not reviewer or not reviewer.strip():
        raise InvalidInput("a trust override needs the reviewer's name (--reviewer)")
    if not reason or not reason.strip():
        raise InvalidInput("a trust override needs a reason (--reason)")
    if len(sha256) != 64:
        raise InvalidInput(f"not a SHA-256 digest: {sha256!r}")
    pairs: list[Pair] = []
    for g in globals:
        try:
            pair = parse_global(g) if isinstance(g, str) else (str(g[0]), str(g[1]))
        except ValueError as e:
            raise InvalidInput(str(e)) from None
        if never_allowed(*pair):
            raise InvalidInput(
                f"global {pair[0]}.{pair[1]} can never be allowed: it can run programs, "
                "touch files or load other pickles"
            )
        pairs.append(pair)
    if not pairs:
        raise InvalidInput("name at least one global to allow (--allow module:name)")
    return registry.record_event(
        OVERRIDE_ACTION,
        "artifact",
        sha256,
        after={
            "sha256": sha256,
            "globals": sorted([list(p) for p in pairs]),
            "reviewer": reviewer.strip(),
            "source": source,
        },
        reason=reason.strip(),
    )


def overrides_for(registry: Registry, sha256: str) -> list[dict[str, Any]]:
    """Every reviewer override recorded for these bytes (oldest first)."""
    events = registry.audit_events(
        limit=None,
        action=OVERRIDE_ACTION,
        entity_type="artifact",
        entity_prefix=sha256,
        newest_first=False,
    )
    out = []
    for e in events:
        if e.entity_id == sha256 and isinstance(e.after, dict):
            item = dict(e.after)
            item.update({"actor": e.actor, "ts": e.ts, "reason": e.reason, "seq": e.seq})
            out.append(item)
    return out
