"""A content-addressed, write-once artifact store.

Files live at ``artifacts/<aa>/<sha256>``. They are written to a temporary file
in the same folder, flushed to disk, made read-only and renamed into place, so a
crash never leaves a half-written artifact under a valid name. Every read
verifies the bytes against their name.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from modelward.core import platform
from modelward.core.errors import IntegrityError, InvalidInput, NotFound, RegistryUnwritable

CHUNK = 4 * 1024 * 1024
ProgressFn = Callable[[float, str], None]


def _noop(_f: float, _s: str) -> None:
    pass


def sha256_file(path: str | os.PathLike[str], progress: ProgressFn = _noop) -> tuple[str, int]:
    """Hash a file in chunks; return ``(hex digest, size)``."""
    h = hashlib.sha256()
    size = os.path.getsize(path)
    done = 0
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := f.readinto(buf):
            h.update(view[:n])
            done += n
            if size:
                progress(done / size, "hashing")
    return h.hexdigest(), done


class ArtifactStore:
    """Files addressed by their SHA-256 under ``root``."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise InvalidInput(f"not a SHA-256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put_file(
        self, src: str | os.PathLike[str], progress: ProgressFn = _noop
    ) -> tuple[str, int]:
        """Copy ``src`` into the store, hashing while copying.

        Returns ``(sha256, size)``. Identical bytes are stored once. The copy is
        hashed as it is written, so what is stored is exactly what was hashed
        even if ``src`` changes meanwhile.
        """
        src = Path(src)
        try:
            total = src.stat().st_size
            fin = open(src, "rb", buffering=0)  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise NotFound(f"no such file: {src}") from None
        except IsADirectoryError:
            raise InvalidInput(f"{src} is a folder, not a model file") from None
        except PermissionError:
            raise InvalidInput(f"cannot read {src}: permission denied") from None
        with fin:
            return self._write_stream(fin, total, progress)[:2]

    def put_file_new(
        self, src: BinaryIO, total: int, progress: ProgressFn = _noop
    ) -> tuple[str, int, bool]:
        """Like :meth:`put_file` for an open stream; also says whether the bytes are new here.

        The intake door needs to know, so that a refused file it stored is
        removed again while bytes already kept for something else stay.
        """
        return self._write_stream(src, total, progress)

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        return self._write_stream(io.BytesIO(data), len(data), _noop)[:2]

    def _write_stream(
        self, fin: BinaryIO, total: int, progress: ProgressFn
    ) -> tuple[str, int, bool]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        except OSError as e:
            raise RegistryUnwritable(
                f"cannot write to the artifact store {self.root}: {e.strerror or e}"
            ) from None
        h = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as fout:
                buf = bytearray(CHUNK)
                view = memoryview(buf)
                while n := fin.readinto(buf):  # type: ignore[attr-defined]
                    chunk = view[:n]
                    h.update(chunk)
                    fout.write(chunk)
                    size += n
                    if total:
                        progress(min(size / total, 1.0), "copying")
                fout.flush()
                os.fsync(fout.fileno())
            digest = h.hexdigest()
            dest = self.path_for(digest)
            if dest.is_file():
                os.unlink(tmp)
                return digest, size, False
            dest.parent.mkdir(parents=True, exist_ok=True)
            platform.make_read_only(tmp)
            platform.replace_file(tmp, dest)
            _fsync_dir(dest.parent)
            return digest, size, True
        except OSError as e:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if e.errno == 28:  # ENOSPC
                raise RegistryUnwritable(
                    f"the disk holding {self.root} is full; nothing was registered"
                ) from None
            raise RegistryUnwritable(
                f"cannot write to the artifact store {self.root}: {e.strerror or e}"
            ) from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def verify(self, sha256: str) -> Path:
        """Return the artifact's path after checking its bytes against ``sha256``."""
        path = self.path_for(sha256)
        if not path.is_file():
            raise IntegrityError(f"artifact {sha256[:12]}… is missing from {self.root}")
        actual, _ = sha256_file(path)
        if actual != sha256:
            raise IntegrityError(
                f"artifact {sha256[:12]}… is corrupt: its bytes now hash to {actual[:12]}…"
            )
        return path

    def read_bytes(self, sha256: str) -> bytes:
        """Read an artifact fully, verified. For small artifacts only."""
        path = self.path_for(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise IntegrityError(f"artifact {sha256[:12]}… is missing from {self.root}") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise IntegrityError(f"artifact {sha256[:12]}… is corrupt")
        return data

    def sweep_incoming(self) -> int:
        """Remove temporary files left by a crash mid-write. Returns how many."""
        n = 0
        if self.root.is_dir():
            for p in self.root.glob(".incoming-*"):
                with contextlib.suppress(OSError):
                    p.unlink()
                    n += 1
        return n


def _fsync_dir(path: Path) -> None:
    platform.fsync_dir(path)
