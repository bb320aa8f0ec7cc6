"""A system-tray message for new alerts, where the desktop has a tray (silently nothing elsewhere)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from modelward.core.policies import Alert


def _icon() -> QIcon:
    app = QApplication.instance()
    icon = app.windowIcon() if isinstance(app, QApplication) else QIcon()
    if not icon.isNull():
        return icon
    pm = QPixmap(32, 32)
    pm.fill(QColor(0, 0, 0, 0))
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor("#3b7dd8"))
    p.setPen(QColor("#3b7dd8"))
    p.drawEllipse(2, 2, 28, 28)
    p.end()
    return QIcon(pm)


class AlertTray(QObject):
    """Shows one tray message per batch of new alerts; clicking it asks to show the list."""

    sig_activated = Signal()
    """the user clicked the tray icon or its message."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.icon: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():  # offscreen and many servers: no tray
            self.icon = QSystemTrayIcon(_icon(), self)
            self.icon.setToolTip("ModelWard")
            self.icon.messageClicked.connect(self.sig_activated)
            self.icon.activated.connect(lambda _reason: self.sig_activated.emit())
            self.icon.show()

    @property
    def available(self) -> bool:
        return self.icon is not None

    def show_alerts(self, alerts: Sequence[Alert]) -> bool:
        """Show a message for ``alerts`` (newest first); False when there is no tray."""
        if self.icon is None or not alerts:
            return False
        critical = any(a.severity == "critical" for a in alerts)
        kind = (
            QSystemTrayIcon.MessageIcon.Critical
            if critical
            else QSystemTrayIcon.MessageIcon.Warning
        )
        if len(alerts) == 1:
            a = alerts[0]
            title, text = f"ModelWard alert: {a.model or 'registry'}", a.message
        else:
            title = f"ModelWard: {len(alerts)} new alerts"
            text = "\n".join(a.message for a in alerts[:3])
        self.icon.showMessage(title, text[:300], kind, 10_000)
        return True

    def set_unread(self, n: int) -> None:
        if self.icon is not None:
            self.icon.setToolTip(f"ModelWard — {n} unread alert{'s' if n != 1 else ''}")

    def shutdown(self) -> None:
        if self.icon is not None:
            self.icon.hide()
            self.icon = None
