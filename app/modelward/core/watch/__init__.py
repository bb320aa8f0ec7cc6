"""Watched folders: model files and data batches that arrive by themselves."""

from __future__ import annotations

from modelward.core.watch.folders import (
    DATA,
    MODELS,
    WatchedFolder,
    add_folder,
    list_folders,
    remove_folder,
    set_paused,
)
from modelward.core.watch.service import WatchService
from modelward.core.watch.watcher import FolderStatus, FolderWatcher, WatchEvent

__all__ = [
    "DATA",
    "MODELS",
    "FolderStatus",
    "FolderWatcher",
    "WatchEvent",
    "WatchService",
    "WatchedFolder",
    "add_folder",
    "list_folders",
    "remove_folder",
    "set_paused",
]
