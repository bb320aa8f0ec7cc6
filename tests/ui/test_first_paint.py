"""``--smoke`` reports the window's first paint (the start-to-window measure)."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QWidget

from modelward.ui.app import FirstPaint, process_started


def test_first_paint_is_reported_once(qtbot, capsys) -> None:  # type: ignore[no-untyped-def]
    w = QWidget()
    qtbot.addWidget(w)
    before = time.time()
    calls: list[float] = []
    watcher = FirstPaint(w, on_paint=lambda: calls.append(time.time()))
    w.show()
    qtbot.waitUntil(lambda: watcher.painted_at is not None, timeout=10_000)
    assert watcher.painted_at is not None and watcher.painted_at >= before
    w.update()
    qtbot.wait(50)
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("first paint at ")]
    assert len(lines) == 1
    assert len(calls) == 1  # --smoke starts its one-second close here
    assert abs(float(lines[0].split()[3].rstrip(",")) - watcher.painted_at) < 0.002


def test_process_started_is_before_now() -> None:
    started = process_started()
    if started is not None:  # Linux: from /proc, in clock ticks
        assert 0 < time.time() - started < 24 * 3600
