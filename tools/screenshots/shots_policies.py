"""Screenshots of the alerts, approvals (with the signature dialog) and policy views.

``python tools/screenshots OUTDIR policies`` runs them alone on a fresh demo
workspace; the whole run calls :func:`policy_views` from ``shots_window``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _with_dialog(win: Any, dlg: Any, app: Any, settle: Any) -> Any:
    """The window with ``dlg`` drawn over its centre (a grab shows one top-level at a time)."""
    from PySide6.QtGui import QColor, QPainter

    dlg.adjustSize()
    settle(app, 20)
    shot = win.grab()
    over = dlg.grab()
    p = QPainter(shot)
    x = (shot.width() - over.width()) // 2
    y = (shot.height() - over.height()) // 2
    p.fillRect(shot.rect(), QColor(0, 0, 0, 70))  # the window dimmed behind a modal dialog
    p.drawPixmap(x, y, over)
    p.end()
    return shot


def policy_views(app: Any, win: Any, outdir: Path, wait: Any, settle: Any) -> None:
    """alerts.png, approvals.png (signature dialog open) and policy.png, from the demo's loop."""
    from modelward.core.demo.policy_loop import LOOP_MODEL, run_demo_loop
    from modelward.core.errors import NotFound
    from modelward.core.policies import pending_approvals

    center = win.policies
    reg = win.registry
    try:
        reg.resolve(f"{LOOP_MODEL}@champion")
    except NotFound:
        # The demo's closed loop: drift fires the policy, whose retraining runs as a job
        # on the window's runner, so its promotion request is still pending afterwards.
        run_demo_loop(reg)
    while win.jobs.runner.active():
        wait(win.jobs.sig_job_finished, 60_000)
    center.refresh()
    wait(center.sig_snapshot_loaded, 20_000)
    settle(app, 20)

    center.show(center.alerts_index)
    page = center.alerts_page
    row = next(
        (i for i, a in enumerate(page._alerts) if a.numbers.get("triggers")),
        0,
    )
    page.table.selectRow(row)
    settle(app, 20)
    win.grab().save(str(outdir / "alerts.png"))

    center.show(center.approvals_index)
    settle(app, 20)
    pending = pending_approvals(reg)
    if pending:
        center.approvals_page.select_request(pending[0].id)
        from modelward.core.identity import ENV_KEYS_DIR, create_personal_key

        # The reviewer's own key, in a throw-away keys folder (never the user's).
        os.environ[ENV_KEYS_DIR] = tempfile.mkdtemp(prefix="modelward-shot-keys-")
        create_personal_key("Second Reviewer", "screenshot-passphrase")
        dlg = center.open_signature_dialog(pending[0].id, True)
        if dlg is not None:
            dlg.passphrase.setText("screenshot-passphrase")
            dlg.reason.setPlainText(
                "Challenger passed the gates on the drifted applications; report reviewed."
            )
            settle(app, 20)
            _with_dialog(win, dlg, app, settle).save(str(outdir / "approvals.png"))
            dlg.reject()
    else:
        win.grab().save(str(outdir / "approvals.png"))

    center.show(center.policies_index)
    settle(app, 20)
    pol = center.policies_page
    pol.policies.selectRow(0)
    settle(app, 20)
    model = pol.selected_policy().model if pol.selected_policy() else ""
    dlg = center.open_policy_dialog(model)
    settle(app, 20)
    _with_dialog(win, dlg, app, settle).save(str(outdir / "policy.png"))
    dlg.reject()
    settle(app)


def main(out: str) -> None:
    from PySide6.QtCore import QSettings

    from modelward.core.registry import Registry
    from modelward.core.settings import Settings
    from modelward.ui.app import make_app
    from modelward.ui.capture import settle, wait
    from modelward.ui.main_window import MainWindow

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="mw-policy-shots-"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp / "qs"))

    app = make_app("light")
    reg = Registry(tmp / "reg", idle_release=1.0)
    win = MainWindow(reg, Settings(theme="light"), save_settings_on_change=False)
    win.resize(1280, 800)
    win.show()
    win.create_demo()
    wait(win.jobs.sig_job_finished, 300_000)
    policy_views(app, win, outdir, wait, settle)
    win.shutdown()
