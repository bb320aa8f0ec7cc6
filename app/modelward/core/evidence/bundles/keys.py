"""Signing keys (Ed25519, through ``cryptography``) and the signers a registry trusts.

A registry's key pairs live in the user's own config folder, never in the
registry folder (so they do not travel with every copy and backup of it):
``<user config>/ModelWard/keys/registries/<registry id>/`` holds ``NAME.key``
(the private key, PKCS#8 PEM, readable by its owner only: mode 0600, an
owner-only ACL on Windows) and ``NAME.pub`` (one line, ``modelward-ed25519
<base64 public key> NAME``, safe to hand to anyone). A key's id is the first
16 hex digits of the SHA-256 of its 32 public bytes.

Keys that older versions kept in ``<registry home>/keys/`` are moved there at
first use (:func:`migrate_registry_keys`, audited as ``key.moved``, one
warning line on stderr).

Another machine accepts bundles signed by a key only after someone imported
its ``.pub`` explicitly (:func:`trust_signer`, audited); the public key used
to verify a bundle always comes from that trust list, never from the bundle.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.core import platform
from modelward.core.clock import utcnow
from modelward.core.errors import InvalidInput, NotFound
from modelward.core.identity import key_id_of, registry_id, registry_key_dir

if TYPE_CHECKING:
    from modelward.core.registry import Registry

__all__ = [
    "KeyInfo",
    "Signer",
    "create_key",
    "key_id_of",
    "list_keys",
    "load_registry_signing_key",
    "load_signing_key",
    "migrate_registry_keys",
    "parse_public",
    "trust_signer",
    "trusted_signers",
    "untrust_signer",
]

log = logging.getLogger(__name__)

_KEY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PUB_PREFIX = "modelward-ed25519"


@dataclass(frozen=True)
class KeyInfo:
    """One of this registry's own key pairs."""

    name: str
    key_id: str
    public: str  # the .pub line
    private_path: str
    public_path: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Signer:
    """A public key this registry accepts bundles from."""

    key_id: str
    name: str
    public_key: str  # base64 of the 32 raw bytes
    added_at: str
    added_by: str
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def legacy_keys_dir(registry: Registry) -> Path:
    """Where keys were kept before they moved out of the registry folder."""
    return registry.home / "keys"


def keys_dir(registry: Registry) -> Path:
    """This registry's key folder in the user config folder (moving old keys there first)."""
    d = registry_key_dir(registry_id(registry))
    migrate_registry_keys(registry, d)
    return d


def migrate_registry_keys(registry: Registry, dest: Path | None = None) -> str | None:
    """Move keys kept in ``<registry home>/keys/`` to the user config folder; say so.

    Each private key is re-written owner-only at its new place before the old
    file is removed; a name already taken there is left in place and named.
    Audited as ``key.moved``. Returns the one line said to the user (also
    logged as a warning), or ``None`` when there was nothing to move.
    """
    old = legacy_keys_dir(registry)
    files = sorted(p for p in old.glob("*") if p.suffix in (".key", ".pub")) if old.is_dir() else []
    if not files:
        return None
    dest = dest or registry_key_dir(registry_id(registry))
    dest.mkdir(parents=True, exist_ok=True)
    moved, kept = [], []
    for src in files:
        target = dest / src.name
        if target.exists():
            kept.append(src.name)
            continue
        if src.suffix == ".key":
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(src.read_bytes())
                f.flush()
                os.fsync(f.fileno())
            platform.restrict_to_owner(target)
            src.unlink()
        else:
            shutil.move(src, target)
        moved.append(src.name)
    if moved:
        with registry.transaction() as tx:
            tx.audit(
                "key.moved",
                "registry",
                registry.home.name,
                before={"folder": str(old)},
                after={"folder": str(dest), "files": moved, "left": kept},
            )
    with_left = f"; {', '.join(kept)} left in {old} (a key of that name exists)" if kept else ""
    line = (
        f"modelward: moved this registry's signing key(s) {', '.join(moved)} out of the "
        f"registry folder to {dest} (audited){with_left}"
    )
    log.warning(line)
    if not any(old.iterdir()):
        old.rmdir()
    return line


def _raw_public(private: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization as ser  # deferred: start-up cost

    return bytes(private.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw))


def _pub_line(raw: bytes, name: str) -> str:
    return f"{_PUB_PREFIX} {base64.b64encode(raw).decode()} {name}"


def create_key(registry: Registry, name: str) -> KeyInfo:
    """Create an Ed25519 key pair ``name`` under ``keys/`` (audited as ``key.created``).

    The private key file is created with mode 0600 and never overwritten.
    """
    from cryptography.hazmat.primitives import serialization as ser  # deferred: start-up cost
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,  # deferred: start-up cost
    )

    if not _KEY_NAME_RE.match(name):
        raise InvalidInput(
            f"bad key name {name!r}: letters, digits, '_', '-', '.'; up to 64 characters"
        )
    d = keys_dir(registry)
    d.mkdir(parents=True, exist_ok=True)
    priv_path, pub_path = d / f"{name}.key", d / f"{name}.pub"
    if priv_path.exists() or pub_path.exists():
        raise InvalidInput(f"a key named {name!r} exists already in {d}")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    fd = os.open(priv_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    platform.restrict_to_owner(priv_path)  # whatever the umask said; an ACL on Windows
    raw = _raw_public(key)
    line = _pub_line(raw, name)
    pub_path.write_text(line + "\n", encoding="utf-8")
    kid = key_id_of(raw)
    registry.record_event("key.created", "key", kid, after={"name": name, "public_key": line})
    return KeyInfo(name, kid, line, str(priv_path), str(pub_path))


def list_keys(registry: Registry) -> list[KeyInfo]:
    """This registry's own key pairs (those with a readable ``.pub``)."""
    if registry.read_only and not registry.meta().get("registry_id"):
        return []  # no id can be given to a registry opened read-only: it has no keys yet
    d = keys_dir(registry)
    out = []
    for pub in sorted(d.glob("*.pub")) if d.is_dir() else []:
        try:
            raw, name = parse_public(pub.read_text(encoding="utf-8"))
        except (InvalidInput, OSError):
            continue
        out.append(
            KeyInfo(
                pub.stem,
                key_id_of(raw),
                _pub_line(raw, name),
                str(pub.with_suffix(".key")),
                str(pub),
            )
        )
    return out


def load_registry_signing_key(registry: Registry, name: str | None = None) -> tuple[str, Any]:
    """``(key_id, Ed25519 private key)`` the registry signs with (checkpoints, bundles).

    Its only key, or ``name``; an old key inside the registry folder is moved
    out first. The file is unencrypted (a watcher signs unattended) and
    private to its owner.
    """
    return load_signing_key(registry, name)


def load_signing_key(registry: Registry, name: str | None = None) -> tuple[str, Any]:
    """``(key_id, private key)`` of key ``name``, or of the only key there is."""
    from cryptography.hazmat.primitives import serialization as ser  # deferred: start-up cost
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,  # deferred: start-up cost
    )

    keys = list_keys(registry)
    if name is None:
        if not keys:
            raise NotFound(
                "no signing key yet: create one with 'modelward keys create NAME' "
                "(or export with --unsigned)"
            )
        if len(keys) > 1:
            raise InvalidInput(
                "more than one signing key: name one with --key ("
                + ", ".join(k.name for k in keys)
                + ")"
            )
        name = keys[0].name
    path = keys_dir(registry) / f"{name}.key"
    try:
        key = ser.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise NotFound(f"no private key named {name!r} in {keys_dir(registry)}") from None
    except (ValueError, TypeError):
        raise InvalidInput(f"{path} is not an unencrypted Ed25519 private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{path} is not an Ed25519 key")
    return key_id_of(_raw_public(key)), key


def parse_public(text: str) -> tuple[bytes, str]:
    """``(32 raw bytes, name)`` from a ``.pub`` line."""
    parts = text.strip().split()
    if len(parts) < 2 or parts[0] != _PUB_PREFIX:
        raise InvalidInput(f"not a ModelWard public key (expected '{_PUB_PREFIX} <key> NAME')")
    try:
        raw = base64.b64decode(parts[1], validate=True)
    except ValueError:
        raise InvalidInput("the public key is not valid base64") from None
    if len(raw) != 32:
        raise InvalidInput("the public key is not 32 bytes long (Ed25519)")
    return raw, " ".join(parts[2:]) or "unnamed"


def trust_signer(
    registry: Registry, public: str, *, name: str | None = None, reason: str
) -> Signer:
    """Accept bundles signed by ``public`` (a ``.pub`` file's path or its text). Audited."""

    if not reason or not reason.strip():
        raise InvalidInput("trusting a signer needs a reason (--reason)")
    text = public
    if not public.lstrip().startswith(_PUB_PREFIX):
        try:
            text = Path(public).read_text(encoding="utf-8")
        except OSError as e:
            raise NotFound(f"cannot read the public key {public}: {e.strerror or e}") from None
    raw, pub_name = parse_public(text)
    kid = key_id_of(raw)
    b64 = base64.b64encode(raw).decode()
    name = name or pub_name
    with registry.transaction() as tx:
        tx.q("DELETE FROM trusted_signers WHERE key_id = ?", [kid])
        now = utcnow()
        tx.q(
            "INSERT INTO trusted_signers VALUES (?,?,?,?,?,?)",
            [kid, name, b64, now, tx.actor, reason.strip()],
        )
        tx.audit(
            "signer.trusted",
            "key",
            kid,
            after={"name": name, "public_key": b64},
            reason=reason.strip(),
        )
    return Signer(kid, name, b64, now, registry.actor, reason.strip())


def untrust_signer(registry: Registry, key_id: str, *, reason: str) -> None:
    """Stop accepting bundles signed by ``key_id``. Audited."""
    if not reason or not reason.strip():
        raise InvalidInput("removing a trusted signer needs a reason (--reason)")
    with registry.transaction() as tx:
        rows = tx.q("SELECT name FROM trusted_signers WHERE key_id = ?", [key_id]).fetchall()
        if not rows:
            raise NotFound(f"no trusted signer with key id {key_id!r}")
        tx.q("DELETE FROM trusted_signers WHERE key_id = ?", [key_id])
        tx.audit(
            "signer.untrusted", "key", key_id, before={"name": rows[0][0]}, reason=reason.strip()
        )


def trusted_signers(registry: Registry) -> list[Signer]:
    """Every signer this registry accepts bundles from."""
    with registry.read() as cur:
        rows = cur.execute(
            "SELECT key_id, name, public_key, added_at, added_by, reason FROM trusted_signers "
            "ORDER BY name, key_id"
        ).fetchall()
    return [Signer(*r) for r in rows]


def verify_signature(public_b64: str, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is ``public``'s Ed25519 signature of ``message``."""
    from cryptography.exceptions import InvalidSignature  # deferred: start-up cost
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PublicKey,  # deferred: start-up cost
    )

    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64))
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
