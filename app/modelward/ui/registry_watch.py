"""Hear of other processes' writes by the registry file's change, not by a fixed poll.

DuckDB writes ``registry.duckdb`` and its ``.wal`` (created and removed as it
checkpoints) in the registry folder. A :class:`QFileSystemWatcher` on the folder
and on both files tells us within milliseconds that something was written;
bursts (a transaction touches both files several times) are throttled to one
signal per :data:`THROTTLE_MS`. What changed is then read off the GUI thread by
the window (:func:`modelward.ui.tasks.poll_changes`: a stat, then the audit head).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

THROTTLE_MS = 100


class RegistryFileWatcher(QObject):
    """Emits :attr:`sig_changed` (at most once per :data:`THROTTLE_MS`) when the registry's
    database files change."""

    sig_changed = Signal()
    """the database or its write-ahead log was written, created or removed."""

    def __init__(self, db_path: str | Path, parent: QObject | None = None):
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.wal_path = self.db_path.with_name(self.db_path.name + ".wal")
        self._watcher = QFileSystemWatcher(self)
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(THROTTLE_MS)
        self._throttle.timeout.connect(self.sig_changed)
        self._watcher.fileChanged.connect(self._on_change)
        self._watcher.directoryChanged.connect(self._on_change)
        self._watch_paths()

    @property
    def watching(self) -> bool:
        """Whether the platform watches anything (else the window's slow poll covers it)."""
        return bool(self._watcher.files() or self._watcher.directories())

    def _watch_paths(self) -> None:
        # Files that are replaced or removed drop out of the watch: add them again.
        want = [str(p) for p in (self.db_path.parent, self.db_path, self.wal_path) if p.exists()]
        have = set(self._watcher.files()) | set(self._watcher.directories())
        missing = [p for p in want if p not in have]
        if missing:
            self._watcher.addPaths(missing)

    def _on_change(self, _path: str) -> None:
        self._watch_paths()
        if not self._throttle.isActive():
            self._throttle.start()  # the first change of a burst sets the time

    def stop(self) -> None:
        self._throttle.stop()
        paths = self._watcher.files() + self._watcher.directories()
        if paths:
            self._watcher.removePaths(paths)
