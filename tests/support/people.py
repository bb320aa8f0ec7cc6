"""People with personal keys, trusted by a registry, each on their own OS account.

Tests run under one OS account; :func:`account` makes the platform module
report another one for the duration, which is how two people on two
accounts look to ModelWard.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from modelward.core import platform
from modelward.core.identity import SigningIdentity, create_personal_key, unlock
from modelward.core.policies.keys import approve_key_trust, bootstrap_key, request_key_trust


def passphrase(name: str) -> str:
    return f"{name.split()[0].lower()}-passphrase"


@contextlib.contextmanager
def account(who: str) -> Iterator[str]:
    """Act as the OS account ``test:<who>`` (the name is kept; only the account id changes)."""
    real = platform.user_id
    acct = f"test:{who.split()[0].lower()}"
    platform.user_id = lambda: acct  # type: ignore[assignment]
    try:
        yield acct
    finally:
        platform.user_id = real  # type: ignore[assignment]


def person(name: str) -> SigningIdentity:
    """A new personal key for ``name``, unlocked."""
    return unlock(create_personal_key(name, passphrase(name)), passphrase(name))


def enrol(registry, *names: str) -> dict[str, SigningIdentity]:
    """Keys for ``names``, trusted by ``registry``: the first bootstraps, it approves the rest."""
    out: dict[str, SigningIdentity] = {}
    for i, name in enumerate(names):
        me = person(name)
        with account(name):
            if i == 0 and not _trusts_any(registry):
                bootstrap_key(registry, me, reason="first key of the test registry")
            else:
                request_key_trust(registry, me, reason="joins the model risk team")
        if me.key.key_id not in {k.key_id for k in _trusted(registry)}:
            first = next(iter(out.values()))
            with account(first.key.name):
                approve_key_trust(registry, me.key.key_id, first, reason="known colleague")
        out[name] = me
    return out


def _trusted(registry):
    from modelward.core.policies.keys import trusted_keys

    return trusted_keys(registry, status="trusted")


def _trusts_any(registry) -> bool:
    return bool(_trusted(registry))
