"""A content-addressed, write-once artifact store.

Files live at ``artifacts/<aa>/<sha256>``. They are written to a temporary file
in the same folder, flushed to disk, made read-only and renamed into place, so a
crash never leaves a half-written artifact under a valid name. Every read
verifies the bytes against their name.

Temporary files (``.incoming-*``) and folders (``.view-*``) carry the maker's
host tag and process id in their name, so that :meth:`ArtifactStore.sweep_leftovers`
removes what a dead process left and never what a live one is writing.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from modelward.core import platform
from modelward.core.errors import IntegrityError, InvalidInput, NotFound, RegistryUnwritable

CHUNK = 4 * 1024 * 1024
TEMP_KINDS = ("incoming", "view")
"""Kinds of temporary entries at the store's root: ``.<kind>-<host>-<pid>-<random>``."""
_TEMP_RE = re.compile(r"^\.(incoming|view)-(?:([0-9a-f]{8})-(\d+)-)?")
FOREIGN_AGE = 24 * 3600.0
"""Seconds after which a temporary entry whose maker cannot be checked (another
machine on a shared folder, a name from an older ModelWard) counts as left over."""
_PLACED_RE = re.compile(r"^\.placed-([0-9a-f]{8})-(\d+)-([0-9a-f]{64})$")
_PLACED: set[Path] = set()
"""This process's placement markers, removed when it exits normally."""


def _drop_markers() -> None:
    for marker in list(_PLACED):
        with contextlib.suppress(OSError):
            marker.unlink()
    _PLACED.clear()


atexit.register(_drop_markers)


def temp_prefix(kind: str) -> str:
    """The name prefix of this process's temporary entries of ``kind`` (see :data:`TEMP_KINDS`)."""
    return f".{kind}-{platform.host_tag()}-{os.getpid()}-"


ProgressFn = Callable[[float, str], None]


def _noop(_f: float, _s: str) -> None:
    pass


def sha256_file(path: str | os.PathLike[str], progress: ProgressFn = _noop) -> tuple[str, int]:
    """Hash a file in chunks; return ``(hex digest, size)``."""
    from hashlib import sha256  # deferred: start-up cost (a reading command hashes nothing)

    h = sha256()
    size = os.path.getsize(path)
    with open(path, "rb", buffering=0) as f:

        def report(done: int) -> bool:
            if size:
                progress(done / size, "hashing")
            return True

        hash_rest(h, f, report)
        done = f.tell()
    return h.hexdigest(), done


def hash_rest(h: Any, f: BinaryIO, go_on: Callable[[int], bool] = lambda _done: True) -> bool:
    """Feed ``h`` the rest of the open, unbuffered file ``f``, a chunk at a time.

    ``go_on(bytes read so far)`` is asked after each chunk; when it says no,
    reading stops there and this returns False (``f.tell()`` is where to go
    on from). Returns True once the file's end is reached.
    """
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while n := f.readinto(buf):  # type: ignore[attr-defined]
        h.update(view[:n])
        if not go_on(f.tell()):
            return False
    return True


class ArtifactStore:
    """Files addressed by their SHA-256 under ``root``."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self._marker_inode: Path | None = None  # a marker of ours that others link to

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
        self, src: BinaryIO, total: int, progress: ProgressFn = _noop, *, durable: bool = True
    ) -> tuple[str, int, bool]:
        """Like :meth:`put_file` for an open stream; also says whether the bytes are new here.

        The intake door needs to know, so that a refused file it stored is
        removed again while bytes already kept for something else stay.
        ``durable=False`` skips the two fsyncs: the caller flushes many files
        at once before it records any of them.
        """
        return self._write_stream(src, total, progress, durable=durable)

    def flush(self, digests: Iterable[str]) -> None:
        """Make bytes stored with ``durable=False`` durable: each file, then each folder once.

        A file that is gone (removed meanwhile) is skipped; other errors raise
        ``OSError``. Where a closed file cannot be flushed by its path
        (Windows), ``durable=False`` flushed it before closing it.
        """
        folders = set()
        for sha in digests:
            path = self.path_for(sha)
            folders.add(path.parent)
            if platform.READ_ONLY_FLUSHABLE:  # else flushed by its writer (see _write_stream)
                platform.fsync_file(path)
        for folder in folders:
            _fsync_dir(folder)

    def flush_later(self, sha256: str) -> Callable[[], None]:
        """:meth:`flush` one stored file on a background thread; returns the wait for it.

        The wait raises :class:`RegistryUnwritable` if the flush failed. A
        registration calls it just before its commit (``Tx.before_commit``), so
        the two fsyncs run while its statements do.
        """
        done = platform.background().submit(self.flush, [sha256])

        def wait() -> None:
            try:
                done.result()
            except OSError as e:
                raise RegistryUnwritable(
                    f"cannot write to the artifact store {self.root}: {e.strerror or e}; "
                    "nothing was registered"
                ) from None

        return wait

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        return self._write_stream(io.BytesIO(data), len(data), _noop)[:2]

    def _write_stream(
        self, fin: BinaryIO, total: int, progress: ProgressFn, *, durable: bool = True
    ) -> tuple[str, int, bool]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=temp_prefix("incoming"), dir=self.root)
        except OSError as e:
            raise RegistryUnwritable(
                f"cannot write to the artifact store {self.root}: {e.strerror or e}"
            ) from None
        from hashlib import sha256  # deferred: start-up cost (see sha256_file)

        h = sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as fout:
                # Sized to the file (a 4 MiB buffer costs more to zero than a small file to copy).
                buf = bytearray(min(CHUNK, max(total + 1, 1 << 16)))
                view = memoryview(buf)
                while n := fin.readinto(buf):  # type: ignore[attr-defined]
                    chunk = view[:n]
                    h.update(chunk)
                    fout.write(chunk)
                    size += n
                    if total:
                        progress(min(size / total, 1.0), "copying")
                fout.flush()
                if durable or not platform.READ_ONLY_FLUSHABLE:
                    os.fsync(fout.fileno())
            digest = h.hexdigest()
            dest = self.path_for(digest)
            self._mark_placed(digest)  # before the bytes are in place, or found there
            if dest.is_file():
                os.unlink(tmp)
                return digest, size, False
            dest.parent.mkdir(parents=True, exist_ok=True)
            platform.make_read_only(tmp)
            platform.replace_file(tmp, dest)
            if durable:
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

    def _marker(self, sha256: str) -> Path:
        return self.root / f".placed-{platform.host_tag()}-{os.getpid()}-{sha256}"

    def _mark_placed(self, sha256: str) -> None:
        """Name this process as the placer of ``sha256`` until a record refers to it.

        A process killed between placing bytes and recording what uses them
        leaves its marker; :meth:`sweep_placed` at the next start removes the
        bytes if no record refers to them. A normal exit drops the markers.
        """
        marker = self._marker(sha256)
        with contextlib.suppress(OSError):
            try:
                # Another name for a marker of ours: a link costs a tenth of a new file.
                os.link(self._marker_inode or marker, marker)
            except FileExistsError:
                pass
            except OSError:  # none yet, settled meanwhile, or no hard links here
                marker.touch()
                self._marker_inode = marker
            _PLACED.add(marker)

    def settle(self, sha256: str) -> None:
        """``sha256`` is recorded (or given up): this process's marker for it goes."""
        marker = self._marker(sha256)
        _PLACED.discard(marker)
        with contextlib.suppress(OSError):
            marker.unlink()

    def _markers(self) -> dict[str, list[tuple[str, int, Path]]]:
        out: dict[str, list[tuple[str, int, Path]]] = {}
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return out
        for e in entries:
            m = _PLACED_RE.match(e.name)
            if m is not None:
                out.setdefault(m.group(3), []).append((m.group(1), int(m.group(2)), Path(e.path)))
        return out

    @staticmethod
    def _dead(host: str, pid: int) -> bool:
        return host == platform.host_tag() and not platform.process_alive(pid)

    def sweep_placed(self, referenced: Callable[[list[str]], set[str]]) -> list[str]:
        """Remove artifacts that ended processes placed and no record refers to.

        ``referenced`` gets candidate digests and returns those a record
        names. An artifact is removed only when every marker of it belongs to
        an ended process of this machine; it is first moved aside, and put
        back if a live process marked it meanwhile (it found the bytes there
        and is about to record them). Returns the digests removed.
        """
        markers = self._markers()
        candidates = [sha for sha, ms in markers.items() if all(self._dead(h, p) for h, p, _ in ms)]
        if not candidates:
            return []
        used = referenced(candidates)
        removed: list[str] = []
        for sha in candidates:
            if sha not in used and self.has(sha):
                aside = self.root / f"{temp_prefix('incoming')}gone-{sha}"
                try:
                    os.replace(self.path_for(sha), aside)
                except OSError:
                    continue
                again = self._markers().get(sha, [])
                if any(not self._dead(h, p) for h, p, _ in again):
                    os.replace(aside, self.path_for(sha))  # in use after all
                    continue
                with contextlib.suppress(OSError):
                    os.chmod(aside, 0o600)
                    os.unlink(aside)
                removed.append(sha)
            for h, p, path in markers[sha]:
                if self._dead(h, p):
                    with contextlib.suppress(OSError):
                        path.unlink()
        return removed

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
        import hashlib  # deferred: start-up cost (see sha256_file)

        if hashlib.sha256(data).hexdigest() != sha256:
            raise IntegrityError(f"artifact {sha256[:12]}… is corrupt")
        return data

    def temp_dir(self, kind: str = "view") -> Path:
        """A new private folder at the store's root, named so a crash's leftover is found."""
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=temp_prefix(kind), dir=self.root))

    def sweep_leftovers(self, *, foreign_age: float = FOREIGN_AGE) -> list[str]:
        """Remove temporary files and folders that a process which has ended left behind.

        An entry made on this machine is removed when its maker's process is
        gone; one whose maker cannot be checked (another host, an older name
        without a process id) when it has not changed for ``foreign_age``
        seconds. An entry of a live process is never touched.

        Returns
        -------
        list of str
            The names removed.
        """
        removed: list[str] = []
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return removed
        now = time.time()
        for entry in entries:
            m = _TEMP_RE.match(entry.name)
            if m is None:
                continue
            host, pid = m.group(2), m.group(3)
            if host == platform.host_tag() and pid is not None:
                if platform.process_alive(int(pid)):
                    continue
            else:
                try:
                    age = now - entry.stat(follow_symlinks=False).st_mtime
                except OSError:
                    continue
                if age < foreign_age:
                    continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
            except FileNotFoundError:
                continue  # its maker finished meanwhile
            except OSError:
                continue  # in use (Windows) or not ours to remove: try again next start
            removed.append(entry.name)
        return removed

    def sweep_incoming(self) -> int:
        """Remove what crashed writers left (see :meth:`sweep_leftovers`). Returns how many."""
        return len(self.sweep_leftovers())

    def remove(self, sha256: str) -> bool:
        """Delete an artifact (only for bytes nothing refers to). Returns whether it was there."""
        path = self.path_for(sha256)
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)  # stored read-only: Windows refuses to delete it otherwise
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def stored_digests(self) -> Iterator[str]:
        """Every artifact's SHA-256 in the store (names that are not a digest are skipped)."""
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if len(sub.name) != 2 or not sub.is_dir():
                continue
            for f in sorted(sub.iterdir()):
                name = f.name
                if len(name) == 64 and name.startswith(sub.name) and _is_hex(name):
                    yield name


def _is_hex(s: str) -> bool:
    return all(c in "0123456789abcdef" for c in s)


def _fsync_dir(path: Path) -> None:
    platform.fsync_dir(path)
