"""Bursts in watched folders: events the OS drops, and placement markers made cheaply."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from watchdog.events import EventsLostEvent

from modelward import api
from modelward.core.artifacts.store import ArtifactStore
from modelward.core.registry import Registry
from modelward.core.watch import DATA, FolderWatcher, add_folder

COLS = "age,income,debt_ratio"


def _data_inbox(tmp_path):
    reg = Registry(tmp_path / "reg", idle_release=0.2)
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 3)), columns=COLS.split(","))
    api.log_model(LogisticRegression().fit(X, X["age"] > 0), "scorer", X=X, registry=reg)
    inbox = tmp_path / "inbox"
    folder = add_folder(reg, inbox, DATA, model_name="scorer")
    return reg, inbox, folder


def test_events_the_os_dropped_make_the_folder_rescanned_at_once(tmp_path):
    """Under a burst inotify's queue overflows: watchdog says so, and the folder is listed again."""
    reg, inbox, folder = _data_inbox(tmp_path)
    w = FolderWatcher(reg, settle=0.1, rescan_interval=3600)  # no periodic rescan to save us
    w.start()
    try:
        # A first file through the observer: the watcher is past its first scan.
        (inbox / "first.csv").write_text(f"{COLS}\n1.5,2.5,0.5\n")
        assert w.wait_for(lambda r: len(r) >= 1, 60)
        observer = w._observers[folder.id]
        handlers = {h for hs in observer._handlers.values() for h in hs}  # type: ignore[attr-defined]
        observer.unschedule_all()  # type: ignore[attr-defined]
        # Files whose events never arrive, as when the kernel's queue overflowed.
        for i in range(5):
            (inbox / f"b{i}.csv").write_text(f"{COLS}\n1.5,2.5,0.5\n{i}.5,1.25,0.75\n")
        for h in handlers:
            h.dispatch(EventsLostEvent(str(inbox), is_directory=True))
        assert w.wait_for(lambda r: len(r) >= 6, 60)
        assert sorted(r.status for r in w.results) == ["registered"] * 6
    finally:
        w.stop()
        reg.close()


def test_placement_markers_of_one_process_share_one_file(tmp_path):
    """A marker per stored file, made as a link to one of ours (a tenth of a new file's cost)."""
    store = ArtifactStore(tmp_path / "store")
    digests = [store.put_bytes(f"batch {i}".encode())[0] for i in range(4)]
    markers = [store._marker(d) for d in digests]
    assert all(m.is_file() for m in markers)
    assert len({m.stat().st_ino for m in markers}) == 1
    assert markers[0].stat().st_nlink == 4
    # Settling the first (the one the others link to) leaves the others; the next is new.
    store.settle(digests[0])
    assert not markers[0].exists() and markers[1].stat().st_nlink == 3
    d5 = store.put_bytes(b"batch 5")[0]
    assert store._marker(d5).stat().st_nlink == 1
    for d in [*digests[1:], d5]:
        store.settle(d)
    assert not list(store.root.glob(".placed-*"))


def test_the_door_names_a_folder_and_a_missing_file(tmp_path):
    """The door opens a file first and asks after (no looks before it), with the same sentences."""
    from modelward.core.errors import InvalidInput, NotFound
    from modelward.core.intake import accept_batch

    reg = Registry(tmp_path / "reg")
    try:
        (tmp_path / "a-folder").mkdir()
        with pytest.raises(InvalidInput, match="is a folder, not a model file"):
            accept_batch(reg, tmp_path / "a-folder", model_name=None)
        with pytest.raises(NotFound, match="no such file"):
            accept_batch(reg, tmp_path / "nothing.csv", model_name=None)
        (tmp_path / "dangling.csv").symlink_to(tmp_path / "gone.csv")
        with pytest.raises(NotFound, match="no such file"):
            accept_batch(reg, tmp_path / "dangling.csv", model_name=None)
        assert not list(reg.artifacts.root.glob(".incoming-*"))
    finally:
        reg.close()
