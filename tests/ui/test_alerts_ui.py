"""Alerts in the window: found by the poll, counted in a badge, explained, acknowledged."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from modelward.core.policies import list_alerts, raise_alert, unread_count
from support.policy_ui import protected_registry


@pytest.fixture
def window(make_main_window, qtbot, tmp_path):
    win = make_main_window(protected_registry(tmp_path))
    center = win.policies
    qtbot.waitUntil(lambda: center._last_alert_id is not None, timeout=10_000)
    return win


def test_a_new_alert_shows_with_its_numbers_and_a_badge_and_can_be_acknowledged(window, qtbot):
    center, reg = window.policies, window.registry
    with qtbot.waitSignal(center.sig_new_alerts, timeout=10_000) as new:
        raise_alert(
            reg,
            "m",
            "trigger",
            "m: 62% of the columns drifted",
            numbers={
                "triggers": [
                    {
                        "trigger": "drift_share_above",
                        "value": 0.62,
                        "threshold": 0.5,
                        "detail": "drift share 0.62 above 0.5",
                    }
                ]
            },
        )
    assert [a.kind for a in new.args[0]] == ["trigger"]
    assert center.alerts_badge.count() == 1
    assert "1 unread alert" in center.alerts_button.text()
    assert not center.tray.available  # offscreen: no tray, and nothing breaks

    page = center.alerts_page
    center.alerts_button.click()
    assert window.pages.currentWidget() is page
    page.table.selectRow(0)
    assert "drift_share_above: measured 0.62, threshold 0.5" in page.details.toPlainText()

    qtbot.mouseClick(page.ack_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: center.alerts_badge.count() == 0, timeout=10_000)
    assert unread_count(reg) == 0
    assert list_alerts(reg)[0].acknowledged_by == reg.actor
    assert reg.audit_events(action="alert.acknowledged", limit=1)


def test_acknowledge_all_and_open_the_model(window, qtbot):
    center, reg = window.policies, window.registry
    with qtbot.waitSignal(center.sig_new_alerts, timeout=10_000):
        raise_alert(reg, "m", "gates-failed", "m:2 did not pass the gates")
        raise_alert(reg, "m", "retrain-failed", "retraining failed", severity="critical")
    assert center.alerts_badge.count() == 2
    page = center.alerts_page
    page.table.selectRow(0)
    with qtbot.waitSignal(window.sig_model_page_loaded, timeout=10_000) as opened:
        page.open_button.click()
    assert opened.args == ["m"]
    page.ack_all_button.click()
    qtbot.waitUntil(lambda: center.alerts_badge.count() == 0, timeout=10_000)
    assert unread_count(reg) == 0
