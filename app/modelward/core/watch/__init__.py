"""Watched folders: model files and data batches that arrive by themselves."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from modelward.core.watch.folders import (
    DATA,
    MODELS,
    WatchedFolder,
    add_folder,
    list_folders,
    remove_folder,
    set_paused,
)

if TYPE_CHECKING:
    from modelward.core.watch.service import WatchService
    from modelward.core.watch.watcher import FolderStatus, FolderWatcher, WatchEvent

# The service and the watcher import the intake checks, policies and scoring (about
# a third of the window's start, measured, issue 21): loaded when first named, so
# that the folder records above stay a light import.
_LAZY = {
    "WatchService": "service",
    "FolderStatus": "watcher",
    "FolderWatcher": "watcher",
    "WatchEvent": "watcher",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
