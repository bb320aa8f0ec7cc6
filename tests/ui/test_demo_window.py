"""File → Create demo workspace: the window's own worker writes; the window does not knock."""

from __future__ import annotations

import time
import traceback

from modelward.ui.actions import Ids


def test_the_demo_from_the_window_logs_each_step_as_it_happens_and_never_waits_on_itself(
    qtbot, make_main_window
):
    win = make_main_window()
    qtbot.waitUntil(lambda: not win.versions_model.loading, timeout=10_000)
    qtbot.waitUntil(lambda: win._head is not None, timeout=20_000)  # the first poll answered

    drained: list[int] = []  # collected, not compared in the signal's callback: the
    # reader's thread may emit before submit() has returned the token
    win.reader.sig_read_done.connect(
        lambda ch, tok, _r: drained.append(tok) if ch == "test-drain" else None
    )

    def drain() -> None:
        """Wait until every read queued so far ran (the reader is one FIFO thread)."""
        mine = win.reader.submit("test-drain", lambda: None, stale=False)
        qtbot.waitUntil(lambda: mine in drained, timeout=30_000)

    drain()  # the start-up reads (first page, first poll, policies) …
    drain()  # … and those their answers queued
    # the watcher's start (a timer, then its control thread reads the folders once)
    # is start-up too
    qtbot.waitUntil(lambda: win.watch.service.running, timeout=60_000)
    with qtbot.waitSignal(win.watch.sig_folders_changed, timeout=60_000):
        win.watch._submit(lambda: None)  # one FIFO control thread: runs after the start
    lines: list[tuple[float, str]] = []
    win.jobs.sig_job_logged.connect(lambda _j, line: lines.append((time.monotonic(), line)))
    opened: list[float] = []
    original = win.registry._open_with_retry

    stacks: list[list[str]] = []

    def counting():  # the window's own opens of the file while its worker has it
        # (the job's end releases the reads at once, and the reader thread may
        # open the file before this test's wait returns: those opens are right)
        if win._own_writers:
            opened.append(time.monotonic())
        stacks.append([f.name for f in traceback.extract_stack(limit=12)][-7:-4])
        return original()

    win.registry._open_with_retry = counting
    service = win.policies.service
    rounds: list[tuple[float, bool]] = []
    original_round = service.run_due_once

    def counted_round(**kw):  # the policies' timer rounds, and whether the worker wrote
        rounds.append((time.monotonic(), bool(win._own_writers)))
        return original_round(**kw)

    service.run_due_once = counted_round
    started = time.monotonic()
    with qtbot.waitSignal(win.jobs.sig_job_finished, timeout=240_000):
        win.acts[Ids.DEMO].trigger()
        assert win._own_writers  # the window leaves the file to its worker at once
        # The policies' timer ticks while the worker writes (CI once saw its round
        # open the file then): the round waits for the job's end.
        service.poke()
    end = time.monotonic()
    text = [line for _t, line in lines]
    assert not [t for t in text if "waiting for the registry" in t], text
    # steps arrive one by one while the job runs, not all at the end
    steps = [t for t, line in lines if "checking the batch of" in line]
    assert len(steps) == 12, text
    assert steps[-1] - steps[0] > 0.5 and end - steps[0] > 1.0
    assert any("training logistic regression" in line for line in text)
    # the window read nothing while its worker wrote; then it shows the result
    assert not win._own_writers
    during = [t for t in opened if started < t < end]
    assert not during, ("the window opened the file while its worker wrote", stacks)
    assert not [t for t, writing in rounds if writing], rounds
    # and the round put off runs once the worker is done
    qtbot.waitUntil(lambda: any(t > started and not w for t, w in rounds), timeout=20_000)
    qtbot.waitUntil(lambda: win.versions_model.rowCount() >= 3, timeout=20_000)
