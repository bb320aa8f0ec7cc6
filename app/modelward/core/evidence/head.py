"""The signed head of a registry's audit chain: a checkpoint an auditor can keep elsewhere.

:func:`sign_head` signs ``(seq, hash)`` of the newest audit event with the
registry's signing key (:func:`~modelward.core.evidence.bundles.keys.load_signing_key`)
and appends the checkpoint to the journal beside the database
(:mod:`modelward.core.registry.journal`). ``verify``, backups, bundles and
reports call it and print the result, so every one of them carries an outside
copy of the head: a registry rolled back, cut or re-chained later no longer
matches the head printed in an earlier report.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from modelward.core.clock import utcnow
from modelward.core.errors import InvalidInput, NotFound
from modelward.core.registry import journal as _journal

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = ["head_line", "sign_head"]


def sign_head(
    registry: Registry, key: str | None = None, *, only_if_moved: bool = False
) -> dict[str, Any]:
    """Sign the current head and append the checkpoint to the journal.

    Parameters
    ----------
    registry
        The registry.
    key
        The signing key's name (``None``: the registry's only key).
    only_if_moved
        When the journal's newest line is already a checkpoint of this head,
        return that checkpoint instead of writing another (a scheduler that
        runs ``run --once`` every minute does not grow the journal while
        nothing changes).

    Returns
    -------
    dict
        ``seq``, ``hash``, ``ts``, and when a key was there ``key_id``,
        ``public_key`` (base64) and ``signature`` (hex); without a key,
        ``unsigned`` says why. An unsigned head is still printed and worth keeping.
    """
    from cryptography.hazmat.primitives import serialization as ser  # deferred: start-up cost

    from modelward.core.evidence.bundles.keys import load_signing_key

    with registry.read() as cur:
        row = cur.execute(
            "SELECT seq, hash FROM audit WHERE seq = (SELECT max(seq) FROM audit)"
        ).fetchall()
    seq, h = (int(row[0][0]), str(row[0][1])) if row else (0, "0" * 64)
    head: dict[str, Any] = {"seq": seq, "hash": h, "ts": utcnow()}
    if only_if_moved:
        last = _last_checkpoint(registry)
        if last is not None and (last.get("seq"), last.get("hash")) == (seq, h):
            return {k: v for k, v in last.items() if k != "k"}
    try:
        kid, private = load_signing_key(registry, key)
    except (NotFound, InvalidInput) as e:
        head["unsigned"] = str(e)
        return head
    raw = private.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
    head["key_id"] = kid
    head["public_key"] = base64.b64encode(raw).decode()
    head["signature"] = private.sign(_journal.head_message(seq, h)).hex()
    if _journal.enabled() and not registry.read_only:
        registry.journal.append([{"k": "checkpoint", **head}])
    return head


def _last_checkpoint(registry: Registry) -> dict[str, Any] | None:
    """The journal's newest line when it is a signed checkpoint, else ``None``."""
    path = registry.journal.path
    try:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - 4096))
            tail = f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        rec = json.loads(tail)
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and rec.get("k") == "checkpoint" else None


def head_line(head: dict[str, Any]) -> str:
    """The head as one line to print and keep (in a report, a ticket, an e-mail)."""
    sig = (
        f"signed by key {head['key_id']}: {head['signature']}"
        if "signature" in head
        else "unsigned"
    )
    return f"audit head {head['seq']}:{head['hash']} at {head['ts']} ({sig})"
