"""Watch folders with watchdog and take each complete file exactly once.

Events only say *where to look*; the decision to take a file rests on what the
file system says when we look:

* a write-close (``FileClosedEvent``) or the rename that ends an atomic save
  makes a file ready at once;
* a file renamed into the folder from elsewhere is complete too, and is taken
  at once (on Linux the observer reports it as a move, not a creation);
* anything else (a polling observer, a copy tool that never closes, a move
  the OS reports as a creation) makes it ready once its size and mtime have
  been stable for ``settle`` seconds;
* a periodic rescan lists every folder, so files that arrived while ModelWard
  was closed, or whose events watchdog dropped under a burst, are found too;
* a folder that disappears (unplugged drive, lost share) is reported and is
  watched again when it comes back.

Observer callbacks run on watchdog's threads; they only enqueue paths. One
worker thread owns the pending set and does the ingesting, so nothing here
needs a lock beyond the queue. Qt never appears: the window subscribes through
``on_event``, re-emitted as signals by its bridge.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from modelward.core.artifacts.mlflow_folder import folder_state
from modelward.core.artifacts.sandbox import default_sandbox
from modelward.core.registry import Registry
from modelward.core.watch.folders import DATA, MODELS, WatchedFolder, display_name, list_folders
from modelward.core.watch.ingest import (
    IGNORED,
    GroupLookups,
    IngestResult,
    already_taken,
    flush_records,
    ingest_data_files,
    ingest_file,
    is_temporary,
    taken_digests,
)

if TYPE_CHECKING:
    from watchdog.observers import ObserverType
    from watchdog.observers.api import BaseObserver

    from modelward.core.jobs import JobRunner

log = logging.getLogger(__name__)

GROUP_SIZE = 200
"""Files recorded per registry commit when many are ready at once."""
GROUP_SECONDS = 1.0
"""A group commits after this long even if not full: files become visible soon."""
BURST = 500
"""Ready files in one pass that make the watcher rescan its folders afterwards."""
EVENTS_LOST = "events_lost"
"""watchdog's event type when the OS dropped events (inotify's queue overflowed,
Windows' change buffer): the folder is rescanned at once."""


@dataclass(frozen=True)
class WatchEvent:
    """Something the watcher wants a person (or a log) to know."""

    kind: str  # ingested | rejected | error | folder-missing | folder-back | started | stopped
    folder: str
    path: str | None = None
    detail: str = ""
    ref: str | None = None
    at: float = field(default_factory=time.time)


@dataclass
class _Pending:
    folder: WatchedFolder
    ready_now: bool
    writing: bool = False
    size: int = -1
    mtime: float = -1.0
    stable_since: float = field(default_factory=time.monotonic)


@dataclass
class FolderStatus:
    """Live state of one folder, for the window's panel and ``watch`` output."""

    folder: WatchedFolder
    present: bool = True
    last_event: str = ""
    taken: int = 0
    rejected: int = 0
    backlog: int = 0


def _native_observer(default: ObserverType) -> BaseObserver:
    """The OS's observer; on Linux one that reports a file moved in from elsewhere as a move.

    inotify's plain emitter reports a rename from outside the folder as a
    creation, which looks like a file still being written and waits
    ``settle`` seconds. A rename delivers the whole file at once, so the
    full-events emitter (``FileMovedEvent("", dest)``) lets it be taken now.
    """
    try:
        from watchdog.observers.inotify import InotifyObserver  # deferred: start-up cost
    except ImportError:  # not Linux
        return default()
    if default is InotifyObserver:
        return InotifyObserver(generate_full_events=True)
    return default()


class FolderWatcher:
    """Watch the registry's folders (or the ones given) until :meth:`stop`.

    Parameters
    ----------
    registry
        Where files are registered. Use ``idle_release`` > 0 so other
        processes can get in between files.
    folders
        Folders to watch; ``None`` reads them from the registry.
    on_event
        Called from the worker thread for each :class:`WatchEvent`.
    settle
        Seconds a file's size and mtime must stay unchanged when no
        close/rename event says it is complete.
    rescan_interval
        Seconds between full rescans (catches dropped events, returning folders).
    write_timeout
        Seconds a file that a writer modified but never closed must stay
        unchanged before it is taken anyway (a lost close event).
    runner
        Runs the jobs a data inbox's policy starts (retraining); ``None``
        runs them inline on the worker thread.
    group_size, group_seconds
        When several files are ready at once, up to ``group_size`` of them
        (or as many as ``group_seconds`` allow) are recorded in one registry
        transaction: one commit instead of one per file. ``1`` turns it off.
    """

    def __init__(
        self,
        registry: Registry,
        folders: list[WatchedFolder] | None = None,
        *,
        on_event: Callable[[WatchEvent], None] | None = None,
        settle: float = 1.0,
        rescan_interval: float = 10.0,
        write_timeout: float = 30.0,
        runner: JobRunner | None = None,
        group_size: int = GROUP_SIZE,
        group_seconds: float = GROUP_SECONDS,
    ):
        self.registry = registry
        self.group_size = group_size
        self.group_seconds = group_seconds
        self.runner = runner
        self._folders = folders
        self.on_event = on_event or (lambda e: None)
        self.settle = settle
        self.rescan_interval = rescan_interval
        self.write_timeout = write_timeout
        self.status: dict[int, FolderStatus] = {}
        self._queue: queue.Queue[tuple[int, str, str]] = queue.Queue()
        self._stop = threading.Event()
        self._rescan_now = threading.Event()
        self._thread: threading.Thread | None = None
        self._observers: dict[int, object] = {}
        self._taken: dict[int, dict[str, tuple[int, float]]] = {}
        self._pending: dict[str, _Pending] = {}
        self.processed = threading.Condition()
        self.results: list[IngestResult] = []

    # ------------------------------------------------------------------ lifecycle
    def _prepare(self, *, observe: bool) -> None:
        folders = self._folders if self._folders is not None else list_folders(self.registry)
        for f in folders:
            if f.paused:
                continue
            self.status[f.id] = FolderStatus(f)
            self._taken[f.id] = already_taken(self.registry, f.id)
            # Observe before the first scan, so no write between the two is missed.
            if observe and Path(f.path).is_dir():
                self._schedule(f)

    def start(self) -> None:
        self._prepare(observe=True)
        if any(st.folder.kind == MODELS for st in self.status.values()):
            # The first model file must not wait for the trust sandbox to start.
            default_sandbox().warm_up_in_background()
        self._thread = threading.Thread(target=self._run, name="modelward-watcher", daemon=True)
        self._thread.start()

    def run_once(self) -> list[IngestResult]:
        """Take every file waiting in every folder now, on the calling thread, and return.

        No observers, no settling: what is in the folders is taken as it is
        (for a scheduled job or a test, not while files are being written).
        A missing folder is reported as ``folder-missing``.

        Returns
        -------
        list of IngestResult
            One per file looked at, in order.
        """
        if self.running:
            raise RuntimeError("run_once() on a watcher that is running")
        self._prepare(observe=False)
        first = len(self.results)
        for st in self.status.values():
            if not Path(st.folder.path).is_dir():
                st.present = False
                st.last_event = "folder missing"
                self._emit(
                    WatchEvent("folder-missing", st.folder.path, detail="the folder is gone")
                )
                continue
            self._scan(st.folder)
        for pend in self._pending.values():
            pend.ready_now = True
        self._take_ready()
        with self.processed:
            return list(self.results[first:])

    def stop(self, timeout: float = 10.0) -> None:
        """Stop observers and the worker, in that order; waits for the file in hand."""
        self._stop.set()
        self._rescan_now.set()
        for fid in list(self._observers):
            self._unschedule(fid)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def rescan(self) -> None:
        """Ask for a full rescan now (e.g. the user pressed *Rescan*)."""
        self._rescan_now.set()

    def backlog(self) -> int:
        return len(self._pending) + self._queue.qsize()

    # ------------------------------------------------------------------ observers
    def _schedule(self, folder: WatchedFolder) -> bool:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        q = self._queue

        class Handler(FileSystemEventHandler):
            # Runs on watchdog's thread: enqueue only, never touch the registry.
            def on_any_event(self, event: FileSystemEvent) -> None:
                kind = event.event_type
                if kind in ("deleted", "opened", "closed_no_write"):
                    return
                if kind == EVENTS_LOST:
                    # The OS dropped events (a burst overflowed its queue): look at
                    # the folder itself rather than wait for the periodic rescan.
                    q.put((folder.id, folder.path, EVENTS_LOST))
                    return
                if kind == "moved":
                    if event.dest_path:  # "" is a file moved out of the folder
                        q.put((folder.id, os.fsdecode(event.dest_path), "moved"))
                    return
                if event.is_directory and kind != "created":
                    return
                q.put((folder.id, os.fsdecode(event.src_path), kind))

        observer = PollingObserver(timeout=1.0) if folder.polling else _native_observer(Observer)
        try:
            observer.schedule(Handler(), folder.path, recursive=folder.kind == MODELS)
            observer.daemon = True
            observer.start()
        except OSError as e:
            log.warning("cannot watch %s: %s", display_name(folder.path), e)
            return False
        self._observers[folder.id] = observer
        return True

    def _unschedule(self, fid: int) -> None:
        observer = self._observers.pop(fid, None)
        if observer is None:
            return
        with contextlib.suppress(Exception):
            observer.stop()  # type: ignore[attr-defined]
            observer.join(5)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ worker
    def _emit(self, event: WatchEvent) -> None:
        try:
            self.on_event(event)
        except Exception:  # a broken subscriber must not stop the watcher
            log.exception("watch event handler failed")
        with self.processed:  # wake wait_for(): its condition may depend on events
            self.processed.notify_all()

    def _run(self) -> None:
        for st in self.status.values():
            self._emit(WatchEvent("started", st.folder.path))
        next_scan = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_scan or self._rescan_now.is_set():
                self._rescan_now.clear()
                self._scan_all()
                next_scan = time.monotonic() + self.rescan_interval
            self._drain(timeout=0.05 if self._pending else 0.25)
            self._take_ready()
        for st in self.status.values():
            self._emit(WatchEvent("stopped", st.folder.path))

    def _drain(self, timeout: float) -> None:
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            self._note(*item)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return

    def _note(self, fid: int, path: str, kind: str) -> None:
        st = self.status.get(fid)
        if st is None:
            return
        if kind == EVENTS_LOST:
            log.info("events were lost in %s; rescanning it", display_name(st.folder.path))
            self._rescan_now.set()
            return
        folder = st.folder
        # A close or the rename that ends an atomic save: complete now. A
        # modification without a close yet: a writer is at work, wait for it.
        ready_now = kind in ("closed", "moved")
        writing = kind == "modified" and not folder.polling
        p = Path(path)
        try:
            rel = p.relative_to(folder.path)
        except ValueError:
            return
        if folder.kind == MODELS and len(rel.parts) > 1:
            # A file inside an MLflow model folder: the folder is the candidate.
            p = Path(folder.path) / rel.parts[0]
            ready_now = writing = False
        if any(is_temporary(part) for part in p.relative_to(folder.path).parts):
            return
        key = str(p)
        pend = self._pending.get(key)
        if pend is None:
            self._pending[key] = _Pending(folder, ready_now, writing=writing)
        else:
            if ready_now:
                pend.ready_now, pend.writing = True, False
            elif kind == "modified":
                pend.ready_now, pend.writing = False, writing
            pend.stable_since = time.monotonic()

    def _candidate_stat(self, folder: WatchedFolder, p: Path) -> tuple[int, float] | None:
        """Size and mtime of a candidate, or ``None`` if it is not one (gone, link, …)."""
        try:
            st = p.lstat()
        except OSError:
            return None
        if stat.S_ISLNK(st.st_mode):
            # Never followed (they can loop or leave the folder), but never
            # skipped in silence either: the link itself gets a verdict.
            return st.st_size, st.st_mtime
        if stat.S_ISDIR(st.st_mode):
            if folder.kind != MODELS:
                return None
            return folder_state(p)  # None until its MLmodel and model file are there
        if not stat.S_ISREG(st.st_mode):
            return None
        return st.st_size, st.st_mtime

    def _take_ready(self) -> None:
        now = time.monotonic()
        ready: list[tuple[WatchedFolder, Path, tuple[int, float]]] = []
        for key, pend in list(self._pending.items()):
            if self._stop.is_set():
                break
            p = Path(key)
            cur = self._candidate_stat(pend.folder, p)
            if cur is None:
                del self._pending[key]
                continue
            if cur != (pend.size, pend.mtime):
                first_look = pend.size < 0
                pend.size, pend.mtime = cur
                if not pend.ready_now:
                    if not first_look:
                        pend.stable_since = now
                    continue
            wait = self.write_timeout if pend.writing else self.settle
            if not pend.ready_now and now - pend.stable_since < wait:
                continue
            del self._pending[key]
            if self._taken.get(pend.folder.id, {}).get(key) == cur:
                continue
            ready.append((pend.folder, p, cur))
        self._ingest_all(ready)
        if len(ready) >= BURST:
            # Under a burst of tens of thousands of files watchdog drops events
            # (the kernel's queue overflows): look at the folders themselves.
            self._rescan_now.set()

    def _ingest_all(self, ready: list[tuple[WatchedFolder, Path, tuple[int, float]]]) -> None:
        """Take ``ready`` files, many per registry commit when there are many.

        A group's files are recorded together (one transaction, one commit)
        and reported only once it committed; a group that fails as a whole
        is taken again file by file, so each file is still taken exactly once.
        """
        i = 0
        while i < len(ready) and not self._stop.is_set():
            if len(ready) - i == 1 or self.group_size <= 1:
                folder, p, cur = ready[i]
                # Held for the file: with idle_release, a check that takes longer than
                # the release delay would otherwise close and reopen the registry
                # between its steps (measured: three opens for one 10,000-row batch).
                with self._held():
                    result = self._ingest_one(folder, p)
                self._apply(folder, p, cur, result)
                i += 1
                continue
            done: list[tuple[WatchedFolder, Path, tuple[int, float], IngestResult]] = []
            started = time.monotonic()
            chunk = self._chunk(ready, i)
            together = self._batched(*chunk[0][:2])
            try:
                with self._held():
                    # What the group's files share is looked up once: which of them were
                    # taken before (one query, not one per file), each model's context.
                    lookups = GroupLookups(
                        taken_digests(self.registry, [(f.id, str(q)) for f, q, _ in chunk])
                    )
                    with self.registry.group():
                        if together:
                            # A data inbox's files: checked one by one, recorded together
                            # (one flush of the store, columnar writes, one commit).
                            folder = chunk[0][0]
                            taken = ingest_data_files(
                                self.registry,
                                folder,
                                [q for _, q, _ in chunk],
                                lookups=lookups,
                                runner=self.runner,
                            )
                            done = [(f, q, c, r) for (f, q, c), r in zip(chunk, taken, strict=True)]
                        else:
                            for folder, p, cur in chunk:
                                done.append((folder, p, cur, self._ingest_one(folder, p, lookups)))
                                if (
                                    self._stop.is_set()
                                    or time.monotonic() - started > self.group_seconds
                                ):
                                    break  # keep a group short: visible soon, others get their turn
                        flush_records(self.registry, lookups)
            except Exception as e:  # a group rolled back, or its commit failed
                log.warning(
                    "a group of %d files was rolled back (%s); taking them one by one",
                    len(done) or len(chunk),
                    e,
                )
                again = [(f, p, c) for f, p, c, _ in done] or (chunk if together else [ready[i]])
                done = [(f, p, c, self._ingest_one(f, p)) for f, p, c in again]
            for folder, p, cur, result in done:
                self._apply(folder, p, cur, result)
            i += len(done)

    @staticmethod
    def _batched(folder: WatchedFolder, p: Path) -> bool:
        """Whether ``p`` is taken with the other files of its data inbox (a plain file)."""
        if folder.kind != DATA or folder.model_name is None:
            return False
        try:
            return stat.S_ISREG(os.lstat(p).st_mode)  # a plain file, not a link (one call)
        except OSError:
            return False

    def _chunk(
        self, ready: list[tuple[WatchedFolder, Path, tuple[int, float]]], i: int
    ) -> list[tuple[WatchedFolder, Path, tuple[int, float]]]:
        """The next group from ``ready[i]``: up to ``group_size`` files, a data inbox's alone."""
        end = min(len(ready), i + self.group_size)
        first = self._batched(*ready[i][:2])
        j = i + 1
        while j < end:
            folder, p, _ = ready[j]
            batched = self._batched(folder, p)
            if (batched and folder.id == ready[i][0].id) if first else not batched:
                j += 1
                continue
            break
        return ready[i:j]

    @contextlib.contextmanager
    def _held(self) -> Iterator[None]:
        """The registry held open for a file or a group (one open, however long it takes)."""
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(self.registry.session())
            except Exception as e:  # cannot open: each file's own attempt reports why
                log.debug("cannot hold the registry open: %s", e)
            yield

    def _ingest_one(
        self, folder: WatchedFolder, p: Path, lookups: GroupLookups | None = None
    ) -> IngestResult:
        try:
            return ingest_file(self.registry, folder, p, runner=self.runner, lookups=lookups)
        except Exception as e:  # never let one file stop the watcher
            log.exception("ingesting %s failed", display_name(p))
            return IngestResult(folder.id, str(p), "", "error", f"{type(e).__name__}: {e}")

    def _apply(
        self, folder: WatchedFolder, p: Path, cur: tuple[int, float], result: IngestResult
    ) -> None:
        """Note and report one file's result (after its registration committed)."""
        st = self.status[folder.id]
        if result.status in ("registered", "duplicate", "rejected", IGNORED, "skipped"):
            self._taken.setdefault(folder.id, {})[str(p)] = cur
        if result.status == "registered":
            st.taken += 1
            kind = "ingested"
        elif result.status == "rejected":
            st.rejected += 1
            kind = "rejected"
        elif result.status == IGNORED:
            kind = IGNORED
            log.warning("ignored %s: %s", display_name(p), result.detail)
        elif result.status == "error":
            kind = "error"
        else:
            kind = ""
        st.backlog = self.backlog()
        if kind:
            st.last_event = f"{kind}: {display_name(p.name)}"
            self._emit(WatchEvent(kind, folder.path, str(p), result.detail, result.ref))
        with self.processed:
            self.results.append(result)
            self.processed.notify_all()

    def _scan_all(self) -> None:
        for st in self.status.values():
            folder = st.folder
            present = Path(folder.path).is_dir()
            if not present:
                if st.present:
                    st.present = False
                    self._unschedule(folder.id)
                    st.last_event = "folder missing"
                    self._emit(
                        WatchEvent(
                            "folder-missing",
                            folder.path,
                            detail="the folder is gone; ModelWard resumes when it comes back",
                        )
                    )
                continue
            if not st.present:
                st.present = True
                st.last_event = "folder back"
                self._emit(WatchEvent("folder-back", folder.path, detail="watching again"))
            if folder.id not in self._observers:
                self._schedule(folder)
            self._scan(folder)
            st.backlog = self.backlog()

    def _scan(self, folder: WatchedFolder) -> None:
        taken = self._taken.setdefault(folder.id, {})
        try:
            entries = list(os.scandir(folder.path))
        except OSError:
            return
        for entry in entries:
            if is_temporary(entry.name):
                continue
            key = os.path.join(folder.path, entry.name)
            if key in self._pending:
                continue
            cur = self._candidate_stat(folder, Path(key))
            if cur is None or taken.get(key) == cur:
                continue
            self._pending[key] = _Pending(folder, ready_now=False)

    # ------------------------------------------------------------------ waiting (tests, CLI)
    def wait_for(self, predicate: Callable[[list[IngestResult]], bool], timeout: float) -> bool:
        """Block until ``predicate(results)`` holds or ``timeout`` passes.

        Re-checked after every result and every event.
        """
        deadline = time.monotonic() + timeout
        with self.processed:
            while not predicate(self.results):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.processed.wait(left)
        return True
