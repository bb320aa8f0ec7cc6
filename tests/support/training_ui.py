"""The training dialog reached as a user reaches it: the Train action, then a typed path."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def training_dialog(qtbot: Any, win: Any, csv: Path) -> Any:
    """Trigger the window's Train action, type ``csv`` into the dialog, wait for its preview."""
    from PySide6.QtCore import Qt

    from modelward.ui.actions import Ids
    from modelward.ui.dialogs.training import TrainingDialog

    win.acts[Ids.TRAIN].trigger()
    dlg = win.findChild(TrainingDialog)
    assert dlg is not None and dlg.isVisible()
    with qtbot.waitSignal(dlg.sig_preview_loaded, timeout=20_000):
        dlg.data_edit.setFocus()
        dlg.data_edit.clear()
        qtbot.keyClicks(dlg.data_edit, str(csv))
        qtbot.keyClick(dlg.data_edit, Qt.Key.Key_Return)
    return dlg
