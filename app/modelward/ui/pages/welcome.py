"""First run: an empty registry shows what to do next."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from modelward.ui.widgets import label


class WelcomePage(QWidget):
    """Three ways to start: a demo workspace, a model file, a watched folder."""

    sig_demo_requested = Signal()
    """The user asked for the demo workspace."""
    sig_register_requested = Signal()
    """The user wants to pick model files to register."""
    sig_watch_requested = Signal()
    """The user wants to pick a folder to watch."""

    def __init__(self, registry_path: str, parent: QWidget | None = None):
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(48, 48, 48, 48)
        outer.addStretch(2)
        col = QVBoxLayout()
        col.setSpacing(10)
        title = label("Welcome to ModelWard", "PageTitle")
        title.setStyleSheet("font-size: 26px;")
        col.addWidget(title, 0, Qt.AlignmentFlag.AlignHCenter)
        sub = label(
            "This registry is empty. Start with a demo, register a model file,\n"
            "or let ModelWard watch a folder your notebooks save models into.",
            "Muted",
        )
        sub.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        col.addWidget(sub, 0, Qt.AlignmentFlag.AlignHCenter)
        col.addSpacing(24)
        cards = QHBoxLayout()
        cards.setSpacing(16)
        self.demo_button = self._card(
            "Create demo workspace",
            "Credit-risk models, a champion, a year\nof monitored batches and a retraining loop.",
        )
        self.register_button = self._card(
            "Register a model…", "Pick .skops, .joblib or .pkl files.\nThey are checked, never run."
        )
        self.watch_button = self._card(
            "Watch a folder…", "New model files dropped there are\nregistered automatically."
        )
        self.demo_button.setProperty("primary", False)
        for b in (self.demo_button, self.register_button, self.watch_button):
            cards.addWidget(b)
        col.addLayout(cards)
        col.addSpacing(18)
        hint = label(
            f"Tip: drag model files or a folder onto this window.  Registry: {registry_path}",
            "Muted",
            wrap=True,
        )
        hint.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        hint.setFixedWidth(720)
        col.addWidget(hint, 0, Qt.AlignmentFlag.AlignHCenter)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addLayout(col, 0)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(3)
        self.demo_button.clicked.connect(self.sig_demo_requested)
        self.register_button.clicked.connect(self.sig_register_requested)
        self.watch_button.clicked.connect(self.sig_watch_requested)

    def _card(self, title: str, text: str) -> QPushButton:
        b = QPushButton(f"{title}\n\n{text}")
        b.setToolTip(text.replace("\n", " "))
        b.setObjectName("Card")
        b.setMinimumSize(230, 118)
        b.setCursor(Qt.CursorShape.PointingHandCursor)
        return b
