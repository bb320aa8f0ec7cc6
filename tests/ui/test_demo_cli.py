"""The README's run command on a machine without a display: the main job, headless."""

from __future__ import annotations

import os
import subprocess
import sys


def _env_without_display() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(key, None)
    return env


def test_demo_without_display_builds_checks_reports_and_screenshots(tmp_path):
    reg = tmp_path / "reg"
    proc = subprocess.run(
        [sys.executable, "-m", "modelward", "demo", "--registry", str(reg)],
        capture_output=True,
        text=True,
        timeout=600,
        env=_env_without_display(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "running headless" in proc.stdout
    assert "registry check: ok" in proc.stdout
    (run,) = (reg / "reports").iterdir()
    summary = (run / "summary.txt").read_text()
    assert "12 monthly batches checked" in summary
    assert "closed loop: drift -> alert -> retrain -> approval -> promotion" in summary
    _signed_by_demo_keys(reg)
    card = (run / "model-card.html").read_text(encoding="utf-8")
    assert "credit-risk" in card
    assert "percentile bootstrap" in card  # the demo validated its champion: metrics with intervals
    for external in ('src="http', 'href="http', "url(http", "@import"):  # self-contained
        assert external not in card
    shots = sorted(p.name for p in (run / "screenshots").glob("*.png"))
    assert {"registry.png", "model-page.png", "audit.png"} <= set(shots)
    assert all((run / "screenshots" / s).stat().st_size > 10_000 for s in shots)

    again = subprocess.run(  # a second run keeps the workspace and is quick
        [sys.executable, "-m", "modelward", "demo", "--no-gui", "--registry", str(reg)],
        capture_output=True,
        text=True,
        timeout=600,
        env=_env_without_display(),
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert "monthly batches already checked" in again.stdout


def _signed_by_demo_keys(home) -> None:
    """The loop's approval is signed by a throw-away demo key; the one-account setting audited."""
    from modelward.core.identity import list_personal_keys
    from modelward.core.policies.keys import trusted_keys, verify_approvals
    from modelward.core.registry import Registry

    reg = Registry(home)
    try:
        assert verify_approvals(reg) == []
        assert {k.name for k in trusted_keys(reg, status="trusted")} == {
            "Model Owner",
            "Second Reviewer",
        }
        (ev,) = reg.audit_events(action="approvals.same_account")
        assert ev.after == {"allowed": True} and "demo" in ev.reason
        (signed,) = reg.audit_events(action="approval.approved")
        assert signed.after["signed_by"] == "Second Reviewer" and signed.after["signature"]
    finally:
        reg.close()
    assert list_personal_keys() == []  # the demo keys were never the user's, and are gone
    assert not [p for p in home.rglob("*") if p.suffix in (".key", ".pem")]


def test_plain_modelward_without_display_says_so(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "modelward", "--registry", str(tmp_path / "reg")],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env_without_display(),
    )
    assert proc.returncode == 0, proc.stderr
    assert "running headless" in proc.stdout
    assert "audit chain: intact" in proc.stdout
