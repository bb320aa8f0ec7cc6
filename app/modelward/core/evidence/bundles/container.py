"""The file format shared by bundles and backups: a zip with a sealed trailer.

A ModelWard archive is an ordinary zip file whose archive comment is a
fixed-size *seal* of :data:`SEAL_SIZE` bytes. The seal covers every byte of the
file before it (all entries, the central directory and the end record, which
also holds the comment's length), so one flipped byte anywhere in the file is
detected before any entry is read:

``MWSEAL1 ed25519 <key id> <128 hex: Ed25519 signature of the digest>``
    a signed archive (bundles);
``MWSEAL1 sha256 - <64 hex: SHA-256 of the bytes before the seal>``
    an unsigned archive (backups; bundles the user chose not to sign).

The seal line is padded with spaces; the padding is checked too.

Reading is strict and never extracts by name. :func:`open_checked` refuses
entry names outside an allow-list pattern (so no ``..``, absolute paths,
backslashes or drive letters), symbolic links, folders, duplicate names,
entries larger than a limit, totals larger than a limit, and entries whose
declared compression ratio is that of a decompression bomb. :func:`read_entry`
and :func:`hash_entry` stop reading at the declared size.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from modelward.core.errors import InvalidInput, ModelWardError

SEAL_SIZE = 256
_SEAL_RE = re.compile(
    rb"^MWSEAL1 (?:(ed25519) ([0-9a-f]{16}) ([0-9a-f]{128})|(sha256) - ([0-9a-f]{64})) *$"
)
_SIGNED_CONTEXT = b"modelward-archive-v1\n"
CHUNK = 1024 * 1024

__all__ = [
    "SEAL_SIZE",
    "ArchiveRefused",
    "Limits",
    "Seal",
    "file_digest",
    "hash_entry",
    "open_checked",
    "read_entry",
    "read_seal",
    "seal",
    "signed_message",
]


class ArchiveRefused(ModelWardError):
    """A bundle or backup failed a check; nothing was written."""

    exit_code = 4


@dataclass(frozen=True)
class Limits:
    """What an archive may hold before it is refused.

    ``max_ratio`` applies to entries larger than ``ratio_floor`` bytes: a small
    file of zeros compresses a thousandfold and is harmless; a gigabyte that
    does is a decompression bomb.
    """

    max_entries: int = 100_000
    max_entry_bytes: int = 8 * 1024**3
    max_total_bytes: int = 64 * 1024**3
    max_ratio: float = 200.0
    ratio_floor: int = 1024**2
    max_json_bytes: int = 256 * 1024**2


@dataclass(frozen=True)
class Seal:
    """The parsed trailer: ``kind`` is ``"ed25519"`` or ``"sha256"``."""

    kind: str
    key_id: str | None
    value: bytes  # the signature, or the expected digest


def signed_message(digest: bytes) -> bytes:
    """What an Ed25519 seal signs: a context string and the file digest."""
    return _SIGNED_CONTEXT + digest


def file_digest(path: str | os.PathLike[str], *, cancel: Callable[[], None] | None = None) -> bytes:
    """SHA-256 of every byte of the archive before its seal."""
    size = os.path.getsize(path)
    if size < SEAL_SIZE + 22:
        raise ArchiveRefused(f"{Path(path).name} is too short to be a ModelWard archive")
    h = hashlib.sha256()
    left = size - SEAL_SIZE
    with open(path, "rb") as f:
        while left > 0:
            if cancel is not None:
                cancel()
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                raise ArchiveRefused(f"{Path(path).name} changed while it was being read")
            h.update(chunk)
            left -= len(chunk)
    return h.digest()


def read_seal(path: str | os.PathLike[str]) -> Seal:
    """Parse the seal at the end of the archive; refuse a damaged or missing one."""
    name = Path(path).name
    size = os.path.getsize(path)
    if size < SEAL_SIZE + 22:
        raise ArchiveRefused(f"{name} is too short to be a ModelWard archive")
    with open(path, "rb") as f:
        f.seek(size - SEAL_SIZE - 22)
        tail = f.read(SEAL_SIZE + 22)
    eocd, text = tail[:22], tail[22:]
    # The zip end record must sit right before the seal and declare it as the comment.
    if eocd[:4] != b"PK\x05\x06" or int.from_bytes(eocd[20:22], "little") != SEAL_SIZE:
        raise ArchiveRefused(f"{name} is not a ModelWard archive, or its end was damaged")
    m = _SEAL_RE.match(text)
    if not m:
        raise ArchiveRefused(f"the seal at the end of {name} is damaged")
    if m.group(1):
        return Seal("ed25519", m.group(2).decode(), bytes.fromhex(m.group(3).decode()))
    return Seal("sha256", None, bytes.fromhex(m.group(5).decode()))


def seal(path: str | os.PathLike[str], sign: Callable[[bytes], tuple[str, bytes]] | None) -> bytes:
    """Write the seal of an archive written with a placeholder comment.

    Parameters
    ----------
    path
        A zip written with ``comment = b" " * SEAL_SIZE``.
    sign
        ``message -> (key_id, signature)``; ``None`` writes an unsigned seal.

    Returns
    -------
    bytes
        The digest of the bytes before the seal.
    """
    digest = file_digest(path)
    if sign is None:
        line = b"MWSEAL1 sha256 - " + digest.hex().encode()
    else:
        key_id, sig = sign(signed_message(digest))
        line = b"MWSEAL1 ed25519 " + key_id.encode() + b" " + sig.hex().encode()
    line = line.ljust(SEAL_SIZE, b" ")
    with open(path, "r+b") as f:
        f.seek(-SEAL_SIZE, os.SEEK_END)
        if f.read(SEAL_SIZE) != b" " * SEAL_SIZE:
            raise InvalidInput(f"{path} was not written with a seal placeholder")
        f.seek(-SEAL_SIZE, os.SEEK_END)
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
    return digest


@contextlib.contextmanager
def open_checked(
    path: str | os.PathLike[str], allowed: re.Pattern[str], limits: Limits
) -> Iterator[zipfile.ZipFile]:
    """Open an archive after checking every entry's name, type and sizes.

    Raises
    ------
    ArchiveRefused
        With the first problem found, naming the entry.
    """
    name = Path(path).name
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ArchiveRefused(f"{name} is not a readable archive: {e}") from None
    try:
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise ArchiveRefused(f"{name} holds {len(infos)} entries, more than allowed")
        seen: set[str] = set()
        total = 0
        for info in infos:
            _check_entry(info, allowed, limits, seen)
            total += info.file_size
            if total > limits.max_total_bytes:
                raise ArchiveRefused(
                    f"{name} would unpack to more than {limits.max_total_bytes} bytes"
                )
        yield zf
    finally:
        zf.close()


def _check_entry(
    info: zipfile.ZipInfo, allowed: re.Pattern[str], limits: Limits, seen: set[str]
) -> None:
    n = info.filename
    shown = n if len(n) < 80 else n[:77] + "…"
    if n.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", n):
        raise ArchiveRefused(f"refused entry {shown!r}: an absolute path")
    parts = n.replace("\\", "/").split("/")
    if ".." in parts:
        raise ArchiveRefused(f"refused entry {shown!r}: it climbs out of its folder ('..')")
    mode = (info.external_attr >> 16) & 0xFFFF
    if stat.S_ISLNK(mode):
        raise ArchiveRefused(f"refused entry {shown!r}: a symbolic link")
    if info.is_dir() or (mode and not stat.S_ISREG(mode)):
        raise ArchiveRefused(f"refused entry {shown!r}: not a plain file")
    if not allowed.fullmatch(n):
        raise ArchiveRefused(f"refused entry {shown!r}: not a name this archive may hold")
    if n in seen:
        raise ArchiveRefused(f"refused entry {shown!r}: it appears twice")
    seen.add(n)
    if info.flag_bits & 0x1:
        raise ArchiveRefused(f"refused entry {shown!r}: encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchiveRefused(f"refused entry {shown!r}: unsupported compression")
    if info.file_size > limits.max_entry_bytes:
        raise ArchiveRefused(f"refused entry {shown!r}: {info.file_size} bytes is too large")
    if info.file_size > limits.ratio_floor:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio:
            raise ArchiveRefused(
                f"refused entry {shown!r}: it would expand {ratio:.0f}-fold (a decompression bomb)"
            )


def _chunks(zf: zipfile.ZipFile, name: str, limit: int) -> Iterator[bytes]:
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise ArchiveRefused(f"refused entry {name!r}: {info.file_size} bytes is too large")
    got = 0
    try:
        with zf.open(info) as f:
            while chunk := f.read(CHUNK):
                got += len(chunk)
                if got > info.file_size:  # never trust the header alone
                    raise ArchiveRefused(f"refused entry {name!r}: larger than it declares")
                yield chunk
    except ArchiveRefused:
        raise
    except Exception as e:  # BadZipFile (CRC), zlib.error, EOFError from a damaged stream
        raise ArchiveRefused(f"entry {name!r} is damaged: {e}") from None
    if got != info.file_size:
        raise ArchiveRefused(f"entry {name!r} is shorter than it declares")


def read_entry(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """The bytes of one entry, at most ``limit`` of them."""
    return b"".join(_chunks(zf, name, limit))


def hash_entry(
    zf: zipfile.ZipFile,
    name: str,
    limit: int,
    sink: IO[bytes] | None = None,
    on_bytes: Callable[[int], Any] | None = None,
) -> tuple[str, int]:
    """SHA-256 and size of one entry, optionally copying it to ``sink``."""
    h = hashlib.sha256()
    n = 0
    for chunk in _chunks(zf, name, limit):
        h.update(chunk)
        n += len(chunk)
        if sink is not None:
            sink.write(chunk)
        if on_bytes is not None:
            on_bytes(len(chunk))
    return h.hexdigest(), n
