"""The watched-folders panel on real folders: arrivals, rejections with a reason, pause, remove."""

from __future__ import annotations

from PySide6.QtCore import Qt

from support.models import write_joblib


def _add(qtbot, win, path, **kw):
    """Add a folder as the panel's Add… dialog does and wait until the watcher runs it."""
    model = win.watch_folders_model
    win.add_watched_folder(str(path), **kw)

    def row():
        paths = [model.index(r, 0).data() for r in range(model.rowCount())]
        return paths.index(str(path)) if str(path) in paths else -1

    qtbot.waitUntil(lambda: row() >= 0, timeout=20_000)
    row = row()
    qtbot.waitUntil(
        lambda: win.watch_folders_model.index(row, 4).data() == "Active", timeout=20_000
    )
    return row


def _feed(win):
    m = win.watch_feed_model
    return [tuple(m.index(r, c).data() for c in range(5)) for r in range(m.rowCount())]


def test_a_model_dropped_in_a_watched_folder_shows_in_the_feed_and_the_table(
    qtbot, make_main_window, tmp_path, wait_loaded
):
    from modelward.core.watch import list_folders
    from modelward.ui.main_window import Page

    win = make_main_window()
    wait_loaded(win.versions_model)
    win.show_page(Page.WATCH)
    inbox = tmp_path / "inbox"
    row = _add(qtbot, win, inbox)
    model = win.watch_folders_model
    assert model.index(row, 0).data() == str(inbox)
    assert [model.index(row, c).data() for c in (1, 2, 3)] == ["Models", "from file name", "Events"]
    assert [f.path for f in list_folders(win.registry)] == [str(inbox)]
    assert win.settings.watched_folders == []  # the registry keeps them, not the settings

    write_joblib(inbox / "credit scoring.joblib")
    qtbot.waitUntil(lambda: win.watch_feed_model.rowCount() == 1, timeout=30_000)
    assert _feed(win)[0][1:] == (
        "inbox",
        "credit scoring.joblib",
        "✓ Registered",
        "credit-scoring:1",
    )
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 1, timeout=15_000)
    assert win.versions_model.index(0, 0).data() == "credit-scoring"
    win.watch_folders_model.update_status()
    assert model.index(row, 6).data() == "1"  # taken
    assert "registered: credit scoring.joblib" in model.index(row, 5).data()
    assert win.watch_page.count_label.text() == "1 folder"


def test_a_rejected_file_shows_its_reason_and_a_hostile_name_is_escaped(
    qtbot, make_main_window, tmp_path
):
    win = make_main_window()
    inbox = tmp_path / "drop"
    row = _add(qtbot, win, inbox)
    with qtbot.waitSignal(win.sig_watch_event_shown, timeout=30_000) as blocker:
        (inbox / "bad\nname.joblib").write_bytes(b"\x00" * 300)
    assert blocker.args == ["rejected"]
    t, folder, file, result, reason = _feed(win)[0]
    assert (folder, file, result) == ("drop", "bad\\u000aname.joblib", "✗ Rejected")
    assert reason and "\n" not in reason
    m = win.watch_feed_model
    assert m.data(m.index(0, 3), Qt.ItemDataRole.ForegroundRole).name() == "#c8372d"
    assert "Rejected" in win.statusBar().currentMessage()
    win.watch_folders_model.update_status()
    assert win.watch_folders_model.index(row, 7).data() == "1"  # rejected count
    assert win.registry.count_versions() == 0


def test_pause_stops_taking_files_and_resume_takes_them(qtbot, make_main_window, tmp_path):
    win = make_main_window()
    paused_dir, live_dir = tmp_path / "paused", tmp_path / "live"
    _add(qtbot, win, paused_dir)
    _add(qtbot, win, live_dir)
    page = win.watch_page
    page.select_folder(next(f.id for f in win.watch.folders if f.path == str(paused_dir)))
    assert page.pause_button.isEnabled() and not page.resume_button.isEnabled()
    page.pause_button.click()
    prow = win.watch_folders_model.row_of(page.selected_folder().id)
    qtbot.waitUntil(
        lambda: win.watch_folders_model.index(prow, 4).data() == "Paused", timeout=20_000
    )
    assert page.resume_button.isEnabled() and not page.pause_button.isEnabled()

    write_joblib(paused_dir / "waiting.joblib", seed=1)
    write_joblib(live_dir / "taken.joblib", seed=2)
    qtbot.waitUntil(lambda: win.watch_feed_model.rowCount() >= 1, timeout=30_000)
    # The live folder's file came through; the paused folder's did not.
    assert [r[2] for r in _feed(win)] == ["taken.joblib"]
    assert [m.name for m in win.registry.list_models()] == ["taken"]

    page.resume_button.click()
    qtbot.waitUntil(lambda: win.watch_feed_model.rowCount() == 2, timeout=30_000)
    assert _feed(win)[0][2] == "waiting.joblib"
    assert sorted(m.name for m in win.registry.list_models()) == ["taken", "waiting"]


def test_remove_a_folder_and_move_folders_from_old_settings(qtbot, make_main_window, tmp_path):
    from modelward.core.watch import list_folders

    old = tmp_path / "from-settings"
    old.mkdir()
    write_joblib(old / "legacy.joblib")
    win = make_main_window(watched_folders=[str(old)])
    # The folder moved into the registry, and the file already there was taken.
    qtbot.waitUntil(lambda: win.watch_folders_model.rowCount() == 1, timeout=20_000)
    assert win.settings.watched_folders == []
    qtbot.waitUntil(lambda: win.watch_feed_model.rowCount() == 1, timeout=30_000)
    assert _feed(win)[0][4] == "legacy:1"
    win.watch_page.select_folder(win.watch.folders[0].id)
    win.watch_page.remove_button.click()
    qtbot.waitUntil(lambda: win.watch_folders_model.rowCount() == 0, timeout=20_000)
    assert list_folders(win.registry) == []
    assert win.watch_page.empty_label.isVisibleTo(win.watch_page)


def test_a_bad_folder_is_reported_in_the_panel(qtbot, make_main_window, tmp_path):
    win = make_main_window()
    f = tmp_path / "a file"
    f.write_text("not a folder")
    with qtbot.waitSignal(win.watch.sig_watch_failed, timeout=20_000) as blocker:
        win.add_watched_folder(str(f))
    assert "is a file, not a folder" in blocker.args[0]
    qtbot.waitUntil(lambda: win.watch_page.error_label.isVisibleTo(win.watch_page), timeout=5000)


def test_the_welcome_page_watches_through_the_registry(qtbot, make_main_window, tmp_path):
    from modelward.core.watch import list_folders

    inbox = tmp_path / "notebooks"
    inbox.mkdir()
    write_joblib(inbox / "churn.joblib")
    win = make_main_window()
    win.watch_folder(str(inbox))
    qtbot.waitUntil(lambda: win.watch_folders_model.rowCount() == 1, timeout=20_000)
    assert [f.kind for f in list_folders(win.registry)] == ["models"]
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 1, timeout=30_000)
