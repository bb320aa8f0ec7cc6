"""Personal signing keys: who signs an approval, proved by a key only that person holds.

Each person who requests or approves promotions holds an Ed25519 key pair,
created once (``modelward keys init``) in their own OS config folder, never
in a registry folder: ``<user config>/ModelWard/keys/people/<key id>.key``
(PKCS#8 PEM encrypted with a passphrase, readable by the owner only: mode
0600 on POSIX, an owner-only ACL on Windows) beside ``<key id>.json`` (the
public key, the person's name, their OS account). ``MODELWARD_KEYS_DIR``
moves the whole folder (tests, a demo workspace).

The passphrase comes from the caller (a prompt, the window's dialog), else
from ``MODELWARD_KEY_PASSPHRASE`` (automation). A record is signed as its
canonical JSON (sorted keys, no spaces, UTF-8), so that anyone holding the
public key can re-check it later (:func:`verify_record`).

The registry's own signing key (bundles, checkpoints) lives beside the
personal keys, per registry id (:func:`registry_key_dir`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from modelward.core import platform
from modelward.core.clock import utcnow
from modelward.core.errors import InvalidInput, ModelWardError, NotFound

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from modelward.core.registry import Registry

__all__ = [
    "ENV_KEYS_DIR",
    "ENV_PASSPHRASE",
    "PersonalKey",
    "SigningIdentity",
    "WrongPassphrase",
    "canonical_json",
    "create_personal_key",
    "find_personal_key",
    "key_id_of",
    "keys_home",
    "list_personal_keys",
    "registry_id",
    "registry_key_dir",
    "unlock",
    "verify_record",
    "write_private_key",
]

ENV_KEYS_DIR = "MODELWARD_KEYS_DIR"
"""Overrides the folder holding personal and registry keys (default: the user config folder)."""
ENV_PASSPHRASE = "MODELWARD_KEY_PASSPHRASE"
"""A passphrase for automation, used when none is given (never stored)."""

MIN_PASSPHRASE = 8
_ID_RE = re.compile(r"^[0-9a-f]{16}$")


class WrongPassphrase(InvalidInput):
    """The passphrase does not open the key."""


@dataclass(frozen=True)
class PersonalKey:
    """The public half of a person's key, and where its private half is kept."""

    key_id: str
    name: str
    public_key: str  # base64 of the 32 raw bytes
    os_user: str
    os_account: str  # uid:N on POSIX, the SID on Windows
    created_at: str
    path: str  # the encrypted private key file

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def label(self) -> str:
        """``Name (key id)``: how the key is named to a person."""
        return f"{self.name} ({self.key_id})"


@dataclass(frozen=True)
class SigningIdentity:
    """An unlocked personal key: it signs records for the person who unlocked it."""

    key: PersonalKey
    private: Ed25519PrivateKey

    def sign(self, record: Mapping[str, Any]) -> str:
        """The base64 Ed25519 signature of ``record``'s canonical JSON."""
        return base64.b64encode(self.private.sign(canonical_json(record))).decode()


def keys_home() -> Path:
    """The folder of personal and registry keys: ``MODELWARD_KEYS_DIR`` or ``<user config>/keys``."""
    explicit = os.environ.get(ENV_KEYS_DIR)
    if explicit:
        return Path(explicit).expanduser().absolute()
    return Path(platformdirs.user_config_dir("ModelWard", appauthor=False)) / "keys"


def _people(home: Path | None) -> Path:
    return (home or keys_home()) / "people"


def key_id_of(raw_public: bytes) -> str:
    """The fingerprint of a public key: 16 hex digits of the SHA-256 of its 32 bytes."""
    return hashlib.sha256(raw_public).hexdigest()[:16]


def canonical_json(record: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def verify_record(public_b64: str, record: Mapping[str, Any], signature_b64: str | None) -> bool:
    """True when ``signature_b64`` is the key's signature of ``record`` (False on any malformation)."""
    from cryptography.exceptions import InvalidSignature  # deferred: start-up cost (70 ms)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PublicKey,  # deferred: start-up cost
    )

    if not signature_b64:
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), canonical_json(record))
    except (InvalidSignature, ValueError):
        return False
    return True


def _passphrase(passphrase: str | None, what: str) -> bytes:
    value = passphrase if passphrase is not None else os.environ.get(ENV_PASSPHRASE)
    if not value:
        raise InvalidInput(f"{what} needs a passphrase (or {ENV_PASSPHRASE} for automation)")
    return value.encode("utf-8")


def write_private_key(path: Path, private: Ed25519PrivateKey, passphrase: bytes | None) -> None:
    """Write ``private`` as PKCS#8 PEM to a new file readable by its owner only.

    Encrypted with ``passphrase`` when one is given. The file is created with
    mode 0600 and never overwritten; on Windows it gets an owner-only ACL
    (:func:`modelward.core.platform.restrict_to_owner`).
    """
    from cryptography.hazmat.primitives import serialization as ser  # deferred: start-up cost

    enc: ser.KeySerializationEncryption = (
        ser.BestAvailableEncryption(passphrase) if passphrase else ser.NoEncryption()
    )
    pem = private.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, enc)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        platform.restrict_to_owner(path)  # whatever the umask said; an ACL on Windows
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def create_personal_key(
    name: str, passphrase: str | None = None, *, home: Path | None = None
) -> PersonalKey:
    """Create this person's Ed25519 key, encrypted with ``passphrase``.

    Parameters
    ----------
    name
        The person's full name, as it should appear on what they sign.
    passphrase
        At least 8 characters; ``None`` reads ``MODELWARD_KEY_PASSPHRASE``.
    home
        The keys folder (default :func:`keys_home`).

    Returns
    -------
    PersonalKey
        The new key's public half (its private half is on disk, encrypted).

    Raises
    ------
    InvalidInput
        No name, or a missing or short passphrase.
    """
    from cryptography.hazmat.primitives import serialization as ser  # deferred: start-up cost
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,  # deferred: start-up cost
    )

    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("a personal key needs the name of the person who holds it")
    secret = _passphrase(passphrase, "a personal key")
    if len(secret) < MIN_PASSPHRASE:
        raise InvalidInput(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
    kid = key_id_of(raw)
    folder = _people(home)
    key_path = folder / f"{kid}.key"
    write_private_key(key_path, private, secret)
    key = PersonalKey(
        kid,
        name,
        base64.b64encode(raw).decode(),
        platform.user_name(),
        platform.user_id(),
        utcnow(),
        str(key_path),
    )
    meta = {k: v for k, v in key.to_json().items() if k != "path"}
    (folder / f"{kid}.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return key


def list_personal_keys(home: Path | None = None) -> list[PersonalKey]:
    """The personal keys held in this OS account's keys folder, by name."""
    folder = _people(home)
    out: list[PersonalKey] = []
    for meta in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            d = json.loads(meta.read_text(encoding="utf-8"))
            key = PersonalKey(
                str(d["key_id"]),
                str(d["name"]),
                str(d["public_key"]),
                str(d.get("os_user", "")),
                str(d.get("os_account", "")),
                str(d.get("created_at", "")),
                str(meta.with_suffix(".key")),
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _ID_RE.match(key.key_id) and Path(key.path).is_file():
            out.append(key)
    return sorted(out, key=lambda k: (k.name.casefold(), k.key_id))


def find_personal_key(who: str | None = None, *, home: Path | None = None) -> PersonalKey:
    """One of this account's keys: by key id (or its prefix), name (or its start); ``None``: the only one.

    Raises
    ------
    NotFound
        No such key (or no key at all: create one with ``modelward keys init``).
    InvalidInput
        ``who`` matches more than one key, or is ``None`` and there are several.
    """
    keys = list_personal_keys(home)
    if not keys:
        raise NotFound(
            "you have no personal key yet: create one with 'modelward keys init --name "
            '"Your Name"\''
        )
    if who is None or not who.strip():
        if len(keys) > 1:
            raise InvalidInput(
                "you hold more than one personal key: choose one with --key ("
                + ", ".join(k.label for k in keys)
                + ")"
            )
        return keys[0]
    w = " ".join(who.split()).casefold()
    hits = [k for k in keys if k.key_id.startswith(w) or k.name.casefold() == w]
    if not hits:  # a unique start of the name will do ("bob" for "Bob Checker")
        hits = [k for k in keys if k.name.casefold().startswith(w)]
    if not hits:
        raise NotFound(f"no personal key {who!r} in {_people(home)}")
    if len(hits) > 1:
        raise InvalidInput(
            f"{who!r} names more than one key: give its key id ("
            + ", ".join(k.key_id for k in hits)
            + ")"
        )
    return hits[0]


def unlock(
    key: PersonalKey | str | None = None,
    passphrase: str | None = None,
    *,
    home: Path | None = None,
) -> SigningIdentity:
    """Open a personal key with its passphrase, ready to sign.

    Parameters
    ----------
    key
        The key, or its id or name (see :func:`find_personal_key`).
    passphrase
        ``None`` reads ``MODELWARD_KEY_PASSPHRASE``.

    Raises
    ------
    WrongPassphrase
        The passphrase does not open the key (one sentence, no detail).
    """
    from cryptography.hazmat.primitives import serialization as ser  # deferred: start-up cost
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,  # deferred: start-up cost
    )

    pk = key if isinstance(key, PersonalKey) else find_personal_key(key, home=home)
    secret = _passphrase(passphrase, f"opening {pk.name}'s key")
    try:
        data = Path(pk.path).read_bytes()
    except OSError as e:
        raise NotFound(f"cannot read {pk.name}'s key {pk.path}: {e.strerror or e}") from None
    try:
        private = ser.load_pem_private_key(data, password=secret)
    except (ValueError, TypeError):
        raise WrongPassphrase(
            f"the passphrase for {pk.name}'s key ({pk.key_id}) is wrong"
        ) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise InvalidInput(f"{pk.path} is not an Ed25519 key")
    raw = private.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
    if key_id_of(raw) != pk.key_id:
        raise ModelWardError(f"{pk.path} does not hold the key {pk.key_id} its file names")
    return SigningIdentity(pk, private)


# ----------------------------------------------------------------------------- registries
_REGISTRY_ID = "registry_id"


def registry_id(registry: Registry) -> str:
    """The registry's id (created once, kept in its ``meta`` table, audited when created)."""
    meta = registry.meta()
    rid = meta.get(_REGISTRY_ID)
    if rid:
        return rid
    new = uuid.uuid4().hex
    with registry.transaction() as tx:
        row = tx.q("SELECT value FROM meta WHERE key = ?", [_REGISTRY_ID]).fetchall()
        if row:
            return str(row[0][0])
        tx.q("INSERT INTO meta VALUES (?, ?)", [_REGISTRY_ID, new])
        tx.audit("registry.id_assigned", "registry", new, after={"registry_id": new})
    return new


def registry_key_dir(rid: str, *, home: Path | None = None) -> Path:
    """Where a registry's own signing keys live: ``<keys home>/registries/<registry id>``."""
    if not re.match(r"^[0-9a-f]{32}$", rid):
        raise InvalidInput(f"bad registry id {rid!r}")
    return (home or keys_home()) / "registries" / rid
