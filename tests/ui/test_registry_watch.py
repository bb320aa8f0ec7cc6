"""The window hears of other processes' writes from the registry file, not from a fixed poll."""

from __future__ import annotations

import time

from support.models import write_joblib


def test_a_change_by_another_process_shows_without_the_poll(
    qtbot, make_main_window, tmp_path, run_cli, monkeypatch, wait_loaded
):
    from modelward.ui import main_window

    monkeypatch.setattr(main_window, "POLL_MS", 3_600_000)  # the safety poll never fires here
    win = make_main_window()
    assert win._poll_timer.interval() == 3_600_000
    assert win.registry_watcher.watching
    wait_loaded(win.versions_model)
    qtbot.waitUntil(lambda: win._head is not None, timeout=10_000)
    heard = []
    win.registry_watcher.sig_changed.connect(lambda: heard.append(time.monotonic()))
    f = write_joblib(tmp_path / "outside.joblib")
    r = run_cli("--registry", str(win.registry.home), "register", str(f), "--name", "outside")
    assert r.returncode == 0, r.stderr
    done = time.monotonic()
    qtbot.waitUntil(lambda: win.versions_model.rowCount() == 1, timeout=10_000)
    shown = time.monotonic()
    assert heard, "the file watcher did not report the write"
    assert win.versions_model.index(0, 0).data() is not None
    # Far below the old 2 s poll even on a busy machine (typically well under 0.5 s).
    assert shown - done < 5.0


def test_a_burst_of_file_changes_is_one_signal(qtbot, make_main_window):
    from modelward.ui.registry_watch import THROTTLE_MS

    win = make_main_window()
    watcher = win.registry_watcher
    qtbot.waitUntil(lambda: not watcher._throttle.isActive(), timeout=5_000)
    count = []
    watcher.sig_changed.connect(lambda: count.append(1))
    with qtbot.waitSignal(watcher.sig_changed, timeout=5_000):
        for _ in range(20):
            watcher._on_change(str(watcher.db_path))
    qtbot.waitUntil(lambda: not watcher._throttle.isActive(), timeout=5_000)
    assert len(count) == 1
    assert THROTTLE_MS <= 250
