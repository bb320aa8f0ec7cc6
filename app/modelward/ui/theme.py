"""Light and dark themes: Fusion, a palette, and a small style sheet (``resources/style.qss``)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from modelward.core.paths import resource
from modelward.core.settings import Theme

LIGHT = {
    "window": "#f6f7f9",
    "nav": "#eef0f3",
    "base": "#ffffff",
    "alt": "#f7f8fa",
    "header": "#f3f4f6",
    "button": "#ffffff",
    "hover": "#e6e9ee",
    "border": "#d9dde3",
    "text": "#1f2328",
    "muted": "#667085",
    "accent": "#2f6fde",
    "accent_hover": "#255fc4",
    "accent_soft": "#dce7fb",
    "accent_text": "#1a4fae",
    "danger": "#c8372d",
    "warning": "#b7791f",
    "success": "#1f8a4c",
    "scroll": "#c3c8d0",
    "check_border": "#8a93a3",
}
DARK = {
    "window": "#1d1f23",
    "nav": "#181a1d",
    "base": "#24272c",
    "alt": "#292c32",
    "header": "#2a2d33",
    "button": "#2c3036",
    "hover": "#343941",
    "border": "#3a3f47",
    "text": "#e4e6ea",
    "muted": "#9aa3b2",
    "accent": "#4a86f0",
    "accent_hover": "#5b93f3",
    "accent_soft": "#263a5e",
    "accent_text": "#bcd2fb",
    "danger": "#f0766c",
    "warning": "#e0b25a",
    "success": "#5cc98a",
    "scroll": "#4a505a",
    "check_border": "#8b94a3",
}


def system_is_dark() -> bool:
    """Whether the OS asks for a dark appearance (Qt 6.5+); unknown counts as light."""
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def resolve(theme: str) -> str:
    if theme == Theme.SYSTEM:
        return Theme.DARK if system_is_dark() else Theme.LIGHT
    return theme if theme in (Theme.LIGHT, Theme.DARK) else Theme.LIGHT


def colors(theme: str) -> dict[str, str]:
    return DARK if resolve(theme) == Theme.DARK else LIGHT


def _palette(c: dict[str, str]) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    pairs = {
        role.Window: c["window"],
        role.WindowText: c["text"],
        role.Base: c["base"],
        role.AlternateBase: c["alt"],
        role.Text: c["text"],
        role.Button: c["button"],
        role.ButtonText: c["text"],
        role.Highlight: c["accent"],
        role.HighlightedText: "#ffffff",
        role.ToolTipBase: c["base"],
        role.ToolTipText: c["text"],
        role.PlaceholderText: c["muted"],
        role.Link: c["accent"],
        role.Mid: c["border"],
        role.Midlight: c["hover"],
        role.Dark: c["border"],
    }
    for r, value in pairs.items():
        p.setColor(r, QColor(value))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.Text, role.WindowText, role.ButtonText):
        p.setColor(disabled, r, QColor(c["muted"]))
    return p


def style_sheet(c: dict[str, str]) -> str:
    text = resource("style.qss").read_text("utf-8")
    # The check images: a forward-slash path is what QSS url() reads on every platform.
    text = text.replace("{icons}", resource("icons/check.png").parent.as_posix())
    for key, value in c.items():
        text = text.replace("{" + key + "}", value)
    return text


def apply_theme(app: QApplication, theme: str) -> str:
    """Apply ``theme`` (``system``, ``light`` or ``dark``); returns the one in effect."""
    if app.style().name().lower() != "fusion":
        app.setStyle(QStyleFactory.create("Fusion"))
    c = colors(theme)
    app.setPalette(_palette(c))
    app.setStyleSheet(style_sheet(c))
    return resolve(theme)
